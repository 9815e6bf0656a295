//! The HTML page: `report` on hand-made run files (tests/fixtures/report/:
//! escaping, a bootstrap interval, published values, a triage example whose
//! image is gone, refusals, byte-identical reruns), `--html` on `eval`,
//! `tsne` and `ablation`, and the demo's `index.html` opened in headless
//! Chromium (Debian's package, started and stopped by the test through the
//! DevTools protocol): no console errors, every image loads, no address
//! outside the page's folder, and the tables hold the JSON reports' numbers
//! exactly (each cell keeps its unrounded value in `data-value`). A broken
//! copy of the page proves the browser check sees what it looks for.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headless_chrome::protocol::cdp::Log::LogEntryLevel;
use headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption;
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::{Browser, LaunchOptions};
use serde_json::Value;

use crate::util::{
    Refusal, assert_ok, demo_model, files_under, fixture, generate_demo, json, s, temp_dir, tool,
};

/// What the browser saw on a page.
#[derive(Debug, Default)]
struct Seen {
    /// Console errors, uncaught exceptions and error log entries (failed loads).
    errors: Vec<String>,
    images: usize,
    /// `src` of every image that did not load (naturalWidth 0).
    broken: Vec<String>,
    /// Addresses that leave the page's folder (http:, https:, //).
    remote: Vec<String>,
    /// Every numeric cell: (table index, row label, column key) → value.
    cells: BTreeMap<(usize, String, String), f64>,
    /// Every section heading, in order.
    headings: Vec<String>,
}

/// Runs in the page: images, outside addresses, numeric cells, headings.
const PROBE: &str = r#"JSON.stringify({
  images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0]),
  remote: Array.from(document.querySelectorAll('[src],[href]'))
    .map(e => e.getAttribute('src') || e.getAttribute('href'))
    .filter(a => /^(https?:|\/\/)/.test(a)),
  cells: Array.from(document.querySelectorAll('table.report')).flatMap((t, ti) =>
    Array.from(t.querySelectorAll('tbody tr')).flatMap(tr => {
      const label = (tr.querySelector('th[scope=row]') || {}).textContent || '';
      return Array.from(tr.querySelectorAll('td[data-value]'))
        .map(td => [ti, label.trim(), td.dataset.key, td.dataset.value]);
    })),
  headings: Array.from(document.querySelectorAll('h2')).map(h => h.textContent),
  ready: document.readyState,
})"#;

/// Whether this process runs as root (Chromium's sandbox refuses root).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Opens `page` from disk in a fresh headless Chromium (a temporary
/// profile; the browser is closed when this returns or panics) and reports
/// what it saw once the page and its images have loaded.
fn browse(page: &Path) -> Seen {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .map(PathBuf::from)
        .into_iter()
        .find(|p| p.is_file())
        .expect("Debian's chromium is installed (scripts/setup.sh installs it)");
    let profile = temp_dir();
    let options = LaunchOptions::default_builder()
        .path(Some(chromium))
        .headless(true)
        .sandbox(!is_root())
        .user_data_dir(Some(profile.path().to_path_buf()))
        .window_size(Some((1400, 1000)))
        .args(vec![
            OsStr::new("--disable-gpu"),
            OsStr::new("--no-first-run"),
        ])
        .idle_browser_timeout(Duration::from_secs(120))
        .build()
        .expect("launch options");
    let browser = Browser::new(options).expect("chromium starts");
    let tab = browser.new_tab().expect("a tab");
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&errors);
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let error = match event {
            Event::LogEntryAdded(e) if e.params.entry.level == LogEntryLevel::Error => Some(
                format!("{} ({:?})", e.params.entry.text, e.params.entry.url),
            ),
            Event::RuntimeConsoleAPICalled(e)
                if matches!(
                    e.params.Type,
                    ConsoleAPICalledEventTypeOption::Error
                        | ConsoleAPICalledEventTypeOption::Assert
                ) =>
            {
                Some(format!("console: {:?}", e.params.args))
            }
            Event::RuntimeExceptionThrown(e) => {
                Some(format!("exception: {}", e.params.exception_details.text))
            }
            _ => None,
        };
        if let Some(error) = error {
            sink.lock().unwrap().push(error);
        }
    }))
    .unwrap();
    tab.enable_log().unwrap();
    tab.enable_runtime().unwrap();
    let url = format!("file://{}", std::path::absolute(page).unwrap().display());
    tab.navigate_to(&url)
        .unwrap()
        .wait_until_navigated()
        .unwrap();
    // Wait until the document and every image have finished (loaded or failed).
    let start = Instant::now();
    let probe = loop {
        let result = tab.evaluate(PROBE, false).expect("the probe runs");
        let text = result
            .value
            .and_then(|v| v.as_str().map(String::from))
            .unwrap();
        let probe: Value = serde_json::from_str(&text).unwrap();
        let settled = probe["ready"] == "complete";
        if settled || start.elapsed() > Duration::from_secs(30) {
            break probe;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    // Log entries of failed loads arrive as events; give them a moment.
    std::thread::sleep(Duration::from_millis(500));
    let mut seen = Seen {
        errors: errors.lock().unwrap().clone(),
        ..Seen::default()
    };
    for image in probe["images"].as_array().unwrap() {
        seen.images += 1;
        if image[1] != true {
            seen.broken
                .push(image[0].as_str().unwrap_or("").to_string());
        }
    }
    seen.remote = probe["remote"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.to_string())
        .collect();
    for cell in probe["cells"].as_array().unwrap() {
        let key = (
            cell[0].as_u64().unwrap() as usize,
            cell[1].as_str().unwrap().to_string(),
            cell[2].as_str().unwrap().to_string(),
        );
        let value: f64 = cell[3].as_str().unwrap().parse().unwrap();
        seen.cells.insert(key, value);
    }
    seen.headings = probe["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_string())
        .collect();
    drop(tab);
    drop(browser);
    seen
}

/// The value of `key` in the row labelled `label` of table `table`.
fn cell(seen: &Seen, table: usize, label: &str, key: &str) -> f64 {
    *seen
        .cells
        .get(&(table, label.to_string(), key.to_string()))
        .unwrap_or_else(|| {
            panic!(
                "no cell {key} in row {label} of table {table}: {:?}",
                seen.cells.keys()
            )
        })
}

/// Triage examples in a report (at any depth) that name an image file.
fn kept_examples(report: &Value) -> usize {
    match report {
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| match (key.as_str(), value.get("examples")) {
                ("triage", Some(Value::Array(examples))) => {
                    examples.iter().filter(|e| e.get("file").is_some()).count()
                }
                _ => kept_examples(value),
            })
            .sum(),
        Value::Array(items) => items.iter().map(kept_examples).sum(),
        _ => 0,
    }
}

/// A score report's numbers under the page's column keys.
fn score_numbers(report: &Value) -> Vec<(&'static str, f64)> {
    [
        ("fid", "fid"),
        ("is", "is_mean"),
        ("kid", "kid_mean"),
        ("precision", "precision"),
        ("recall", "recall"),
        ("density", "density"),
        ("coverage", "coverage"),
        ("near_duplicate_rate", "near_duplicate_rate"),
    ]
    .into_iter()
    .filter_map(|(key, field)| Some((key, report.get(field)?.as_f64()?)))
    .collect()
}

#[test]
fn the_demo_page_loads_in_chromium_with_every_image_and_the_reports_numbers() {
    let dir = temp_dir();
    let out = dir.path().join("demo");
    assert_ok(&tool(&["demo", "--out", s(&out), "--quiet"]));
    let page = out.join("index.html");
    let seen = browse(&page);
    assert!(seen.errors.is_empty(), "console errors: {:?}", seen.errors);
    assert!(
        seen.broken.is_empty(),
        "images that did not load: {:?}",
        seen.broken
    );
    assert!(
        seen.remote.is_empty(),
        "addresses outside the page: {:?}",
        seen.remote
    );
    // Scatter, all-sets map and one per set (4); 8 ablation charts; a 4 × 3
    // branch grid; a thumbnail per triage example whose image the run kept.
    let thumbnails: usize = [
        "score-real.json",
        "score-diverse.json",
        "score-collapsed.json",
    ]
    .iter()
    .chain(&["eval-generator.json", "ablation/ablation.json"])
    .map(|name| kept_examples(&json(out.join(name))))
    .sum();
    assert!(thumbnails >= 3 * 8, "every drawn set has triage examples");
    // The collapsed set is all severe, in its report and on the page.
    let collapsed = json(out.join("score-collapsed.json"));
    assert_eq!(collapsed["triage"]["counts"]["severe"], 200);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("data-key=\"triage_severe\" data-value=\"200\""));
    assert_eq!(
        seen.images,
        2 + 4 + 8 + 4 * 3 + thumbnails,
        "images on the page"
    );
    assert_eq!(
        seen.headings,
        [
            "Scores",
            "Generator demo-generator-untrained: every branch scored",
            "Demo: StackGAN-v1 against StackGAN-v2 (bundled untrained models)",
            "t-SNE map and mode collapse"
        ]
    );
    // Table 0: the drawn sets, one row per score-NAME.json, every metric exact.
    for name in ["real", "diverse", "collapsed"] {
        let report = json(out.join(format!("score-{name}.json")));
        let numbers = score_numbers(&report);
        assert_eq!(numbers.len(), 8, "{name}: every metric");
        for (key, value) in numbers {
            assert_eq!(cell(&seen, 0, name, key), value, "{name} {key}");
        }
    }
    // Table 1: eval-generator.json, one row per branch.
    let eval = json(out.join("eval-generator.json"));
    for branch in eval["branches"].as_array().unwrap() {
        let label = format!("{}²", branch["resolution"]);
        for (key, value) in score_numbers(branch) {
            assert_eq!(cell(&seen, 1, &label, key), value, "{label} {key}");
        }
    }
    // Table 3 (after the colour table): ablation.json's own table, cell for cell.
    let ablation = json(out.join("ablation/ablation.json"));
    let table = &ablation["table"];
    let keys: Vec<&str> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["key"].as_str().unwrap())
        .collect();
    let mut checked = 0;
    for row in table["rows"].as_array().unwrap() {
        let label = row[0].as_str().unwrap();
        for (key, cell_value) in keys.iter().zip(row.as_array().unwrap()) {
            if let Some(value) = cell_value.get("value").and_then(Value::as_f64) {
                assert_eq!(cell(&seen, 3, label, key), value, "{label} {key}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 5 * 8, "{checked} ablation cells");
    // Table 4: collapse.json's.
    let collapse = json(out.join("tsne/collapse.json"));
    for entry in collapse["details"]["collapse"].as_array().unwrap() {
        let set = entry["set"].as_str().unwrap();
        for key in ["precision", "recall", "coverage", "near_duplicate_rate"] {
            assert_eq!(
                cell(&seen, 4, set, key),
                entry[key].as_f64().unwrap(),
                "{set} {key}"
            );
        }
    }

    // The check sees a missing image and the error it logs.
    let broken = out.join("broken.html");
    let html = std::fs::read_to_string(&page).unwrap();
    std::fs::write(
        &broken,
        html.replace("</main>", "<img src=\"gone.png\" alt=\"\"></main>"),
    )
    .unwrap();
    let seen = browse(&broken);
    assert_eq!(seen.broken, ["gone.png"]);
    assert!(
        seen.errors
            .iter()
            .any(|e| e.contains("gone.png") || e.contains("ERR_FILE_NOT_FOUND")),
        "the failed load is logged: {:?}",
        seen.errors
    );
}

#[test]
fn report_escapes_user_text_marks_missing_images_and_writes_the_same_bytes_again() {
    let dir = temp_dir();
    let run = |out: &Path| {
        let output = tool(&[
            "report",
            fixture("report/score-triage.json"),
            fixture("report/ablation.json"),
            "--out",
            s(out),
            "--title",
            "Runs <i>&",
        ]);
        assert_ok(&output);
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let first = dir.path().join("a");
    let stderr = run(&first);
    assert!(
        stderr.contains("1 triage example(s) of score-triage could not be read"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(first.join("index.html")).unwrap();
    for raw in ["<b>&\"", "<i>&", "a table <x>", "a&b.toml"] {
        assert!(!html.contains(raw), "{raw} unescaped");
    }
    for shown in [
        "<title>Runs &lt;i&gt;&amp;</title>",
        "&lt;b&gt;&amp;&quot;",
        "title=\"a table &lt;x&gt;\"",
        // the exact value, the interval, the published marks
        "data-value=\"15.300000000000002\">15.3000 <span class=\"ci\" data-low=\"14.875\" data-high=\"15.8125\">[14.8750, 15.8125]</span>",
        "15.3000 *</td>",
        "3.7000 ± 0.0400 †</td>",
        // counts per kind and how each is decided
        "data-key=\"triage_severe\" data-value=\"12\"",
        "nearest other sample is closer than the duplicate distance 0.104458",
        "outside every real sample&#x27;s k-NN ball (k = 5)",
        "confidence is below 0.500000",
        // the missing example is marked, not dropped
        "<span class=\"thumb missing\"",
    ] {
        assert!(html.contains(shown), "{shown} not on the page");
    }
    // The two readable examples as thumbnails no larger than 96 pixels.
    let thumbs: Vec<_> = std::fs::read_dir(first.join("assets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(thumbs.len(), 2, "{thumbs:?}");
    for thumb in &thumbs {
        let (w, h) = image::image_dimensions(thumb).unwrap();
        assert!(w <= 96 && h <= 96 && w.max(h) >= 7, "{w}×{h}");
    }
    let second = dir.path().join("b");
    run(&second);
    assert_eq!(
        files_under(&first),
        files_under(&second),
        "same inputs, same bytes"
    );
}

#[test]
fn report_refuses_what_it_cannot_read_in_one_line_and_writes_nothing() {
    let dir = temp_dir();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let stamp = "\"tool\": \"stackgan-eval\", \"tool_version\": \"0.1.0\"";
    let garbage = write("garbage.json", "not json {");
    let foreign = write("foreign.json", "{\"fid\": 1.0}");
    let ragged = write(
        "ragged.json",
        &format!(
            "{{\"table\": {{\"title\": \"t\", \"notes\": [], \"columns\": [{{\"key\": \"a\", \"heading\": \"a\", \"kind\": \"label\"}}], \"rows\": [[\"x\", \"y\"]]}}, \"details\": [], {stamp}}}"
        ),
    );
    let bad_kind = write(
        "bad-kind.json",
        &format!(
            "{{\"skipped_images\": 0, \"batch_size\": 1, \"warnings\": [], \"triage\": {{\"examples\": [{{\"kind\": \"awful\", \"index\": 0}}]}}, {stamp}}}"
        ),
    );
    let out = dir.path().join("page");
    let missing = dir.path().join("missing.json");
    let no_samples = dir.path().join("empty");
    std::fs::create_dir(&no_samples).unwrap();
    let rows: [(&Path, &str, &[&str]); 5] = [
        (&garbage, "garbage.json", &["not JSON"]),
        (&foreign, "foreign.json", &["not a stackgan-eval file"]),
        (&ragged, "ragged.json", &["row 1", "2 cells for 1 columns"]),
        (&bad_kind, "bad-kind.json", &["triage", "awful"]),
        (&missing, "missing.json", &["check the path"]),
    ];
    for (input, names, also) in rows {
        Refusal {
            args: vec![
                "report",
                fixture("report/ablation.json"),
                s(input),
                "--out",
                s(&out),
            ],
            output: &out,
            names,
            also,
        }
        .check();
    }
    Refusal {
        args: vec![
            "report",
            fixture("report/ablation.json"),
            "--samples",
            s(&no_samples),
            "--out",
            s(&out),
        ],
        output: &out,
        names: "--samples",
        also: &["samples.csv"],
    }
    .check();
}

#[test]
fn html_flags_write_the_runs_page_beside_its_files() {
    let dir = temp_dir();
    let flags = ["--device", "cpu", "--batch-size", "20", "--quiet"];
    // eval --html: the branch grid from the samples it wrote.
    let samples = dir.path().join("eval");
    let mut args = vec![
        "eval",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "2",
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--metrics",
        "is",
        "--out",
        s(&samples),
        "--html",
    ];
    args.extend(flags);
    assert_ok(&tool(&args));
    let html = std::fs::read_to_string(samples.join("index.html")).unwrap();
    assert!(
        html.contains("<th>64×64</th><th>128×128</th><th>256×256</th>"),
        "{html}"
    );
    assert_eq!(
        html.matches("<img src=\"assets/").count(),
        4 * 3,
        "4 samples × 3 branches"
    );
    Refusal {
        args: vec![
            "eval",
            "--model",
            demo_model("demo-generator.onnx"),
            "--html",
        ],
        output: &dir.path().join("nothing"),
        names: "--html",
        also: &["--out"],
    }
    .check();

    // tsne --html: the collapse table and the maps it drew.
    let real = dir.path().join("real");
    generate_demo(&real, &["--images", "4", "--seed", "5", "--branches", "64"]);
    let out = dir.path().join("tsne");
    let real_set = format!("real={}", s(&real.join("64")));
    let generated_set = format!("generated={}", s(&samples.join("64")));
    let mut args = vec![
        "tsne",
        "--set",
        &real_set,
        "--set",
        &generated_set,
        "--perplexity",
        "5",
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--out",
        s(&out),
        "--html",
    ];
    args.extend(flags);
    assert_ok(&tool(&args));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for linked in [
        "src=\"tsne-scatter.png\"",
        "src=\"tsne-map-all.png\"",
        "src=\"tsne-map-real.png\"",
    ] {
        assert!(html.contains(linked), "{linked}: {html}");
    }
    let collapse = json(out.join("collapse.json"));
    let recall = collapse["details"]["collapse"][1]["recall"]
        .as_f64()
        .unwrap();
    assert!(
        html.contains(&format!("data-key=\"recall\" data-value=\"{recall}\"")),
        "{html}"
    );
}

#[test]
fn ablation_html_shows_the_variants_side_by_side_when_it_keeps_their_samples() {
    let dir = temp_dir();
    let real = dir.path().join("real");
    generate_demo(&real, &["--images", "3", "--seed", "9", "--branches", "64"]);
    let config = dir.path().join("ablation.toml");
    std::fs::write(
        &config,
        format!(
            r#"title = "v1 <against> v2"
extractor = "{extractor}"
real = "real/64"
metrics = ["fid"]
[tsne]
perplexity = 5
grid = 10
[[variant]]
name = "v2"
generator = "{v2}"
embeddings = "{emb}"
images = 2
branch = 64
[[variant]]
name = "v1"
generator = "{v1}"
embeddings = "{emb}"
images = 2
"#,
            extractor = demo_model("demo-extractor.onnx"),
            v2 = demo_model("demo-generator.onnx"),
            v1 = demo_model("demo-generator-v1.onnx"),
            emb = demo_model("demo-embeddings.npy"),
        ),
    )
    .unwrap();
    let out = dir.path().join("report");
    let args = [
        "ablation",
        "--config",
        s(&config),
        "--out",
        s(&out),
        "--html",
        "--quiet",
        "--device",
        "cpu",
    ];
    assert_ok(&tool(&args));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<h1>v1 &lt;against&gt; v2</h1>"), "{html}");
    assert!(
        html.contains("<thead><tr><th></th><th>v2</th><th>v1</th></tr></thead>"),
        "{html}"
    );
    // Each variant's own branch at its native size: v2 at 64², v1 at 256².
    assert_eq!(
        html.matches("width=\"64\" height=\"64\" alt=\"sample")
            .count(),
        4
    );
    assert_eq!(
        html.matches("width=\"256\" height=\"256\" alt=\"sample")
            .count(),
        4
    );
    assert!(html.contains("src=\"ablation-fid.png\""), "{html}");
    assert!(html.contains("src=\"tsne/tsne-map-all.png\""), "{html}");
    let ablation = json(out.join("ablation.json"));
    let fid = ablation["table"]["rows"][1][1]["value"].as_f64().unwrap();
    assert!(
        html.contains(&format!("data-key=\"fid\" data-value=\"{fid}\"")),
        "{html}"
    );
}

#[test]
fn report_shows_a_training_curve_with_its_plots() {
    let dir = temp_dir();
    let checkpoints = dir.path().join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    for (iteration, stem) in [(100, "demo-generator"), (200, "demo-generator-v1")] {
        for ext in ["onnx", "toml"] {
            let target = checkpoints.join(format!("netG_{iteration}.{ext}"));
            std::fs::copy(demo_model(&format!("{stem}.{ext}")), target).unwrap();
        }
    }
    let out = dir.path().join("curve");
    let pattern = format!("{}/netG_*.onnx", s(&checkpoints));
    let args = [
        "curve",
        "--checkpoints",
        &pattern,
        "--out",
        s(&out),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "2",
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--metrics",
        "is",
        "--device",
        "cpu",
        "--quiet",
    ];
    assert_ok(&tool(&args));
    let page = dir.path().join("page");
    assert_ok(&tool(&[
        "report",
        s(&out.join("curve.json")),
        "--out",
        s(&page),
        "--quiet",
    ]));
    let html = std::fs::read_to_string(page.join("index.html")).unwrap();
    assert!(html.contains("<h2>Training curve</h2>"), "{html}");
    assert!(html.contains("src=\"assets/curve-is.png\""), "{html}");
    let curve = json(out.join("curve.json"));
    for row in curve["rows"].as_array().unwrap() {
        for branch in row["report"]["branches"].as_array().unwrap() {
            let is = branch["is_mean"].as_f64().unwrap();
            assert!(
                html.contains(&format!("data-key=\"is\" data-value=\"{is}\"")),
                "{is}: {html}"
            );
        }
    }
}
