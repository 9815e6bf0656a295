//! `ablation` and `compare`: every number in the table is what the single
//! command gives for that variant; bad configs fail before any model runs.

use std::path::Path;

use serde_json::Value;

use crate::util::{
    Refusal, assert_ok, demo_model, fixture, generate_demo, json, s, temp_dir, tool,
};

/// Reads a CSV into rows of (header → field).
fn csv_rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

const FLAGS: [&str; 4] = ["--device", "cpu", "--batch-size", "20"];

#[test]
fn every_ablation_number_is_what_the_single_command_gives() {
    let dir = temp_dir();
    let real = dir.path().join("real");
    let folder = dir.path().join("folder");
    for (out, seed) in [(&real, "100"), (&folder, "200")] {
        let mut flags = vec!["--images", "4", "--seed", seed, "--branches", "256"];
        flags.extend(FLAGS);
        generate_demo(out, &flags);
    }
    let config = dir.path().join("ablation.toml");
    std::fs::write(
        &config,
        format!(
            r#"title = "test ablation"
extractor = "{extractor}"
real = "real/256"
metrics = ["fid", "is", "kid"]
seed = 3
batch_size = 20
[kid]
subset_size = 20
subsets = 10
[tsne]
grid = 15
[[variant]]
name = "v2"
generator = "{v2}"
embeddings = "{emb}"
images = 4
paper.fid = {{ value = 15.30, status = "sourced", source = "a table" }}
[[variant]]
name = "v2 at 64"
generator = "{v2}"
embeddings = "{emb}"
images = 4
branch = 64
[[variant]]
name = "v1"
generator = "{v1}"
embeddings = "{emb}"
images = 4
paper.is = {{ value = 3.7, std = 0.04, status = "unverified" }}
[[variant]]
name = "folder"
folder = "folder/256"
"#,
            extractor = demo_model("demo-extractor.onnx"),
            v2 = demo_model("demo-generator.onnx"),
            v1 = demo_model("demo-generator-v1.onnx"),
            emb = demo_model("demo-embeddings.npy"),
        ),
    )
    .unwrap();
    let out = dir.path().join("report");
    let mut args = vec![
        "ablation",
        "--config",
        s(&config),
        "--out",
        s(&out),
        "--quiet",
    ];
    args.extend(FLAGS);
    assert_ok(&tool(&args));
    for file in [
        "ablation.csv",
        "ablation.md",
        "ablation.json",
        "ablation-fid.png",
        "ablation-kid.png",
        "real-features.npz",
        "tsne/tsne-scatter.png",
        "tsne/tsne-map-all.png",
        "tsne/collapse.csv",
    ] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let rows = csv_rows(&out.join("ablation.csv"));
    assert_eq!(rows.len(), 4);

    // The same variants through the single commands.
    let kid = ["--kid-subset-size", "20", "--kid-subsets", "10"];
    let single = |name: &str, extra: &[&str]| -> Value {
        let out = dir.path().join(format!("{name}.json"));
        let real_256 = real.join("256");
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--extractor",
            demo_model("demo-extractor.onnx"),
            "--real",
            s(&real_256),
        ]);
        args.extend(kid);
        args.extend(FLAGS);
        args.extend(["--quiet", "--json", s(&out)]);
        assert_ok(&tool(&args));
        let value = json(&out);
        match value.get("branches") {
            Some(branches) => branches[0].clone(),
            None => value,
        }
    };
    let v2 = demo_model("demo-generator.onnx");
    let v1 = demo_model("demo-generator-v1.onnx");
    let emb = demo_model("demo-embeddings.npy");
    let eval = |model: &'static str, branch: &'static str| {
        [
            "eval",
            "--model",
            model,
            "--embeddings",
            emb,
            "--images",
            "4",
            "--seed",
            "3",
            "--branches",
            branch,
        ]
    };
    let folder_256 = folder.join("256");
    let expected = [
        ("v2", single("v2", &eval(v2, "256"))),
        ("v2 at 64", single("v2-64", &eval(v2, "64"))),
        ("v1", single("v1", &eval(v1, "256"))),
        (
            "folder",
            single("folder", &["score", "--fake", s(&folder_256)]),
        ),
    ];
    for (row, (name, reference)) in rows.iter().zip(&expected) {
        assert_eq!(&row["label"], name);
        for (column, key) in [
            ("fid", "fid"),
            ("is", "is_mean"),
            ("is_std", "is_std"),
            ("kid", "kid_mean"),
            ("kid_std", "kid_std"),
        ] {
            let table: f64 = row[column].parse().unwrap();
            let single = reference[key].as_f64().unwrap();
            assert_eq!(
                table.to_bits(),
                single.to_bits(),
                "{name} {column}: ablation {table} vs single command {single}"
            );
        }
        assert_eq!(row["n_fake"], reference["n_fake"].to_string());
    }
    assert_eq!(rows[0]["paper_fid"], "15.3");
    assert_eq!(rows[0]["paper_fid_status"], "sourced");
    assert_eq!(rows[2]["paper_is_status"], "unverified");
    let markdown = std::fs::read_to_string(out.join("ablation.md")).unwrap();
    assert!(
        markdown.contains("15.3000 *") && markdown.contains("3.7000 ± 0.0400 †"),
        "{markdown}"
    );
}

#[test]
fn bad_ablation_configs_fail_before_any_model_runs() {
    let dir = temp_dir();
    let out = dir.path().join("report");
    let write = |name: &str, body: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let head = format!(
        "title = \"t\"\nextractor = \"{}\"\nmetrics = [\"is\"]\n",
        demo_model("demo-extractor.onnx")
    );
    let cases = [
        (
            "unknown-key.toml",
            format!("{head}colour = 1\n[[variant]]\nname = \"a\"\nfolder = \".\"\n"),
            "colour",
        ),
        (
            "missing-file.toml",
            format!("{head}[[variant]]\nname = \"a\"\nfolder = \"no-such-folder\"\n"),
            "no-such-folder",
        ),
        (
            "no-embeddings.toml",
            format!(
                "{head}[[variant]]\nname = \"cond\"\ngenerator = \"{}\"\n",
                demo_model("demo-generator.onnx")
            ),
            "embeddings",
        ),
        (
            "unknown-variant-key.toml",
            format!("{head}[[variant]]\nname = \"a\"\nfolder = \".\"\nbrnach = 64\n"),
            "brnach",
        ),
        (
            "sourced-without-source.toml",
            format!(
                "{head}[[variant]]\nname = \"a\"\nfolder = \".\"\npaper.is = {{ value = 4.0, status = \"sourced\" }}\n"
            ),
            "source",
        ),
        (
            "perplexity.toml",
            format!(
                "{head}[tsne]\nperplexity = 500\n[[variant]]\nname = \"c\"\ngenerator = \"{}\"\nembeddings = \"{}\"\n",
                demo_model("demo-generator.onnx"),
                demo_model("demo-embeddings.npy")
            ),
            "perplexity",
        ),
        (
            "too-many-captions.toml",
            format!(
                "{head}[[variant]]\nname = \"c\"\ngenerator = \"{}\"\nembeddings = \"{}\"\ncaptions = 11\n",
                demo_model("demo-generator.onnx"),
                demo_model("demo-embeddings.npy")
            ),
            "--captions",
        ),
    ];
    for (name, body, names) in cases {
        let config = write(name, body);
        // The error names the config too.
        Refusal {
            args: vec![
                "ablation",
                "--config",
                s(&config),
                "--out",
                s(&out),
                "--device",
                "cpu",
            ],
            output: &out,
            names,
            also: &[name],
        }
        .check();
    }
}

#[test]
fn compare_puts_reports_from_separate_runs_in_one_table() {
    let dir = temp_dir();
    let reports =
        ["score-real.json", "score-diverse.json"].map(|f| Path::new(fixture("compare")).join(f));
    let out = dir.path().join("cmp");
    assert_ok(&tool(&[
        "compare",
        s(&reports[0]),
        s(&reports[1]),
        "--labels",
        "a,b",
        "--out",
        s(&out),
        "--quiet",
    ]));
    let rows = csv_rows(&out.join("compare.csv"));
    assert_eq!(rows.len(), 2);
    for (row, path) in rows.iter().zip(&reports) {
        let report = json(path);
        assert_eq!(
            row["fid"].parse::<f64>().unwrap().to_bits(),
            report["fid"].as_f64().unwrap().to_bits()
        );
        assert_eq!(
            row["is"].parse::<f64>().unwrap().to_bits(),
            report["is_mean"].as_f64().unwrap().to_bits()
        );
        assert_eq!(
            row["extractor_sha256"],
            report["extractor"]["sha256"].as_str().unwrap()
        );
    }
    let not_a_report = dir.path().join("x.json");
    std::fs::write(&not_a_report, "{\"fid\": 1}").unwrap();
    let again = out.join("again");
    Refusal {
        args: vec!["compare", s(&not_a_report), "--out", s(&again)],
        output: &again,
        names: "x.json",
        also: &[],
    }
    .check();
}

#[test]
fn collapse_statistics_separate_a_collapsed_set_and_agree_with_feature_files() {
    let dir = temp_dir();
    let generate = |seed: &str, out: &Path| {
        let mut flags = vec!["--seed", seed, "--branches", "64"];
        flags.extend(FLAGS);
        generate_demo(out, &flags);
    };
    let (real, diverse) = (dir.path().join("real"), dir.path().join("diverse"));
    generate("100", &real);
    generate("200", &diverse);
    // A collapsed "generator": four of the diverse samples, each repeated 20 times.
    let collapsed = dir.path().join("collapsed");
    std::fs::create_dir(&collapsed).unwrap();
    for i in 0..80 {
        let source = diverse.join(format!("64/{:06}.png", i % 4));
        std::fs::copy(source, collapsed.join(format!("{i:03}.png"))).unwrap();
    }
    let extractor = demo_model("demo-extractor.onnx");
    let score = |fake: &Path, real: &Path, name: &str| -> Value {
        let out = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "score",
            "--real",
            s(real),
            "--fake",
            s(fake),
            "--extractor",
            extractor,
            "--metrics",
            "prdc",
            "--quiet",
            "--json",
            s(&out),
        ];
        args.extend(FLAGS);
        assert_ok(&tool(&args));
        json(&out)
    };
    let real_64 = real.join("64");
    let good = score(&diverse.join("64"), &real_64, "diverse");
    let bad = score(&collapsed, &real_64, "collapsed");
    for key in ["recall", "coverage"] {
        assert!(
            bad[key].as_f64().unwrap() < 0.5 * good[key].as_f64().unwrap(),
            "{key}: collapsed {} vs diverse {}",
            bad[key],
            good[key]
        );
    }
    assert!(bad["near_duplicate_rate"].as_f64().unwrap() > 0.99, "{bad}");
    assert!(
        good["near_duplicate_rate"].as_f64().unwrap() < 0.3,
        "{good}"
    );

    // The same numbers from feature files made by `extract`.
    let features = |folder: &Path, name: &str| {
        let out = dir.path().join(format!("{name}.npz"));
        let mut args = vec![
            "extract",
            "--images",
            s(folder),
            "--extractor",
            extractor,
            "--out",
            s(&out),
            "--quiet",
        ];
        args.extend(FLAGS);
        assert_ok(&tool(&args));
        out
    };
    let from_files = score(
        &features(&collapsed, "collapsed-features"),
        &features(&real_64, "real-features"),
        "from-files",
    );
    for key in [
        "precision",
        "recall",
        "density",
        "coverage",
        "near_duplicate_rate",
        "duplicate_distance",
    ] {
        assert_eq!(
            from_files[key].as_f64().unwrap().to_bits(),
            bad[key].as_f64().unwrap().to_bits(),
            "{key}"
        );
    }
}

#[test]
fn tsne_writes_the_map_files_repeatably_and_checks_perplexity_first() {
    let dir = temp_dir();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    for (out, seed) in [(&a, "1"), (&b, "2")] {
        let mut flags = vec!["--seed", seed, "--branches", "64"];
        flags.extend(FLAGS);
        generate_demo(out, &flags);
    }
    let set_a = format!("real={}", s(&a));
    let set_b = format!("gen={}", s(&b.join("64")));
    /// `tsne` of two sets into `out`.
    fn tsne<'a>(sets: [&'a str; 2], out: &'a Path, perplexity: &'a str) -> Vec<&'a str> {
        let mut args = vec![
            "tsne",
            "--set",
            sets[0],
            "--set",
            sets[1],
            "--extractor",
            demo_model("demo-extractor.onnx"),
            "--perplexity",
            perplexity,
            "--grid",
            "12",
            "--out",
            s(out),
            "--quiet",
        ];
        args.extend(FLAGS);
        args
    }
    let run = |out: &Path, perplexity: &str| tool(&tsne([&set_a, &set_b], out, perplexity));
    let first = dir.path().join("first");
    assert_ok(&run(&first, "20"));
    for file in [
        "tsne-scatter.png",
        "tsne-map-real.png",
        "tsne-map-gen.png",
        "tsne-map-all.png",
    ] {
        let image = image::open(first.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(image.width() >= 300 && image.height() >= 300, "{file}");
    }
    let coordinates = std::fs::read_to_string(first.join("tsne-coordinates.csv")).unwrap();
    assert_eq!(coordinates.lines().count(), 1 + 160);
    let rows = csv_rows(&first.join("collapse.csv"));
    assert_eq!(rows[0]["recall"], "1", "the reference against itself");
    let second = dir.path().join("second");
    assert_ok(&run(&second, "20"));
    assert_eq!(
        coordinates,
        std::fs::read_to_string(second.join("tsne-coordinates.csv")).unwrap()
    );
    assert_eq!(
        std::fs::read(first.join("tsne-map-all.png")).unwrap(),
        std::fs::read(second.join("tsne-map-all.png")).unwrap()
    );
    // 160 samples allow a perplexity of at most (160 − 1) / 3 = 53.
    let refused = dir.path().join("refused");
    Refusal {
        args: tsne([&set_a, &set_b], &refused, "60"),
        output: &refused,
        names: "--perplexity",
        also: &["53"],
    }
    .check();
}
