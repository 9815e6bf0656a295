//! The failure triage (severe / moderate / mild) against an independent numpy
//! and scipy reference (tests/reference/check_triage.py, on the feature files
//! of tests/fixtures/triage/make.py), and on the demo's synthetic sets.
//!
//! Kinds, counts, example indices and files must agree exactly; scores (a
//! float64 distance, a distance ratio, a softmax probability computed two ways)
//! to 1e-12 relative, as the near-duplicate threshold.

use std::path::Path;

use serde_json::Value;
use stackgan_eval::metrics::{
    PrdcConfig, TriageConfig, TriageInput, calibrate_duplicate_threshold, max_probabilities,
    prdc_per_sample, triage,
};
use stackgan_eval::scoring::ReportFile;
use stackgan_eval::synthetic::{SetKind, draw_set};

use crate::util::{
    assert_ok, assert_rel, command, demo_model, fixture, json, npz_array, s, temp_dir, tool,
    with_threads,
};

const TOLERANCE: f64 = 1e-12;

/// `score --metrics prdc,is` of the fixture's fake set against its real set.
fn score_fixture(out: &Path, threads: &str) -> Value {
    let output = command(&[
        "score",
        "--real",
        fixture("triage/real.npz"),
        "--fake",
        fixture("triage/fake.npz"),
        "--metrics",
        "prdc,is",
        "--json",
        s(out),
        "--quiet",
    ])
    .env("RAYON_NUM_THREADS", threads)
    .output()
    .expect("the binary runs");
    assert_ok(&output);
    json(out)
}

#[test]
fn triage_matches_the_numpy_reference() {
    let dir = temp_dir();
    let report = score_fixture(&dir.path().join("score.json"), "2");
    let reference = json(fixture("triage/reference.json"));
    let got = &report["triage"];
    assert_eq!(got["counts"], reference["counts"], "{got}");
    for key in [
        "k",
        "worst_per_kind",
        "confidence_threshold",
        "duplicate_quantile",
    ] {
        assert_eq!(got[key], reference[key], "{key}");
    }
    assert_rel(
        got["duplicate_distance"].as_f64().unwrap(),
        reference["duplicate_distance"].as_f64().unwrap(),
        TOLERANCE,
        "duplicate_distance",
    );
    // Moderate is precision's criterion: the reference's share of samples
    // inside some real ball is the report's precision.
    assert_rel(
        report["precision"].as_f64().unwrap(),
        reference["precision"].as_f64().unwrap(),
        1e-15,
        "precision",
    );
    let (got, expected) = (
        got["examples"].as_array().unwrap(),
        reference["examples"].as_array().unwrap(),
    );
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(expected) {
        for key in ["kind", "index", "file"] {
            assert_eq!(g[key], e[key], "{key} of {e}");
        }
        assert_rel(
            g["score"].as_f64().unwrap(),
            e["score"].as_f64().unwrap(),
            TOLERANCE,
            &format!("score of {e}"),
        );
    }
    // Every kind occurs in the fixture, and every sample is counted once.
    let counts = &reference["counts"];
    let total: u64 = ["severe", "moderate", "mild", "fine"]
        .iter()
        .map(|k| counts[k].as_u64().unwrap())
        .inspect(|&n| assert!(n > 0, "{counts}"))
        .sum();
    assert_eq!(total, 60);
}

#[test]
fn triage_is_byte_identical_whatever_the_thread_count() {
    let dir = temp_dir();
    let one = score_fixture(&dir.path().join("1.json"), "1");
    let three = score_fixture(&dir.path().join("3.json"), "3");
    assert!(one["triage"].is_object());
    assert_eq!(
        std::fs::read(dir.path().join("1.json")).unwrap(),
        std::fs::read(dir.path().join("3.json")).unwrap(),
        "{one} vs {three}"
    );
    // The library alone, in pools of 1 and 4 threads.
    let real: ndarray::Array2<f32> = npz_array(fixture("triage/real.npz"), "pool");
    let fake: ndarray::Array2<f32> = npz_array(fixture("triage/fake.npz"), "pool");
    let logits: ndarray::Array2<f32> = npz_array(fixture("triage/fake.npz"), "logits");
    let run = || {
        let (_, neighbours) =
            prdc_per_sample(real.view(), fake.view(), &PrdcConfig::default()).expect("prdc");
        let threshold = calibrate_duplicate_threshold(real.view(), 0.05).expect("threshold");
        let confidence = max_probabilities(logits.view(), &[]).expect("confidence");
        let input = TriageInput {
            neighbours: &neighbours,
            threshold: &threshold,
            k: 5,
            confidence: Some(&confidence),
            files: &[],
        };
        let result = triage(&input, &TriageConfig::default()).expect("triage");
        serde_json::to_string(&result).unwrap()
    };
    assert_eq!(with_threads(1, run), with_threads(4, run));
}

#[test]
fn a_report_with_triage_reads_back_and_compares() {
    let dir = temp_dir();
    let path = dir.path().join("score.json");
    let written = score_fixture(&path, "2");
    let ReportFile::Score(report) = ReportFile::read(&path).expect("reads back") else {
        panic!("a score report");
    };
    let triage = report.triage.as_ref().expect("triage read back");
    assert_eq!(serde_json::to_value(triage).unwrap(), written["triage"]);
    // Written again, the report is the same JSON.
    assert_eq!(serde_json::to_value(&*report).unwrap(), written);
    let out = dir.path().join("compare");
    assert_ok(&tool(&[
        "compare",
        s(&path),
        s(&path),
        "--labels",
        "a,b",
        "--out",
        s(&out),
        "--quiet",
    ]));
}

/// The demo's synthetic sets (200 each, the demo's seeds) scored with the
/// demo extractor against the real set: the collapsed set is severe, the
/// diverse set far less so, the real set against itself mostly fine.
#[test]
fn the_demo_sets_fall_where_the_paper_puts_them() {
    let dir = temp_dir();
    let folder = |name: &str| dir.path().join("images").join(name);
    draw_set(&folder("real"), SetKind::Real, 2017, 200).unwrap();
    draw_set(&folder("diverse"), SetKind::Diverse, 2018, 200).unwrap();
    draw_set(&folder("collapsed"), SetKind::Collapsed, 2018, 200).unwrap();
    let counts = |name: &str| {
        let out = dir.path().join(format!("{name}.json"));
        assert_ok(&tool(&[
            "score",
            "--real",
            s(&folder("real")),
            "--fake",
            s(&folder(name)),
            "--extractor",
            demo_model("demo-extractor.onnx"),
            "--metrics",
            "prdc,is",
            "--device",
            "cpu",
            "--json",
            s(&out),
            "--quiet",
        ]));
        let report = json(&out);
        let triage = report["triage"].clone();
        // Examples name the image files as the command line gave the folder.
        let first = triage["examples"][0]["file"].as_str().unwrap().to_string();
        assert!(
            first.starts_with(s(&folder(name))) && first.ends_with(".png"),
            "{first}"
        );
        assert!(Path::new(&first).is_file(), "{first}");
        let n = |kind: &str| triage["counts"][kind].as_u64().unwrap();
        (n("severe"), n("moderate"), n("mild"), n("fine"))
    };
    let (severe, ..) = counts("collapsed");
    assert!(severe >= 190, "collapsed: {severe} of 200 severe");
    let (diverse_severe, ..) = counts("diverse");
    assert!(
        diverse_severe * 4 < severe,
        "diverse: {diverse_severe} severe, collapsed {severe}"
    );
    let (real_severe, real_moderate, _, real_fine) = counts("real");
    assert_eq!(real_moderate, 0, "every real sample lies in its own ball");
    assert!(real_fine >= 150, "real: {real_fine} of 200 fine");
    // The near-duplicate threshold is the real set's 0.05 quantile: about 5 %.
    assert!(real_severe <= 20, "real: {real_severe} severe");
}

/// `tsne` triages each set against the reference without logits: its severe
/// and moderate counts are the reference's (mild comes after both), and no
/// confidence threshold is claimed.
#[test]
fn tsne_triages_each_set_without_mild() {
    let dir = temp_dir();
    let out = dir.path().join("tsne");
    let real = format!("real={}", fixture("triage/real.npz"));
    let fake = format!("fake={}", fixture("triage/fake.npz"));
    assert_ok(&tool(&[
        "tsne",
        "--set",
        &real,
        "--set",
        &fake,
        "--perplexity",
        "10",
        "--iterations",
        "250",
        "--out",
        s(&out),
        "--quiet",
    ]));
    let collapse = json(out.join("collapse.json"));
    let fake = &collapse["details"]["collapse"][1];
    assert_eq!(fake["set"], "fake");
    let (triage, reference) = (&fake["triage"], json(fixture("triage/reference.json")));
    for kind in ["severe", "moderate"] {
        assert_eq!(triage["counts"][kind], reference["counts"][kind], "{kind}");
    }
    assert_eq!(triage["counts"]["mild"], 0);
    assert!(triage.get("confidence_threshold").is_none(), "{triage}");
    let table = std::fs::read_to_string(out.join("collapse.csv")).unwrap();
    assert!(table.lines().next().unwrap().contains("severe"), "{table}");
}

/// `eval --out` names each example by the PNG it wrote (index = sample number).
#[test]
fn eval_examples_name_the_pngs_it_wrote() {
    let dir = temp_dir();
    let (out, report) = (dir.path().join("samples"), dir.path().join("eval.json"));
    assert_ok(&tool(&[
        "eval",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--real",
        fixture("e2e/real"),
        "--metrics",
        "prdc,is",
        "--splits",
        "2",
        "--seed",
        "3",
        "--device",
        "cpu",
        "--out",
        s(&out),
        "--json",
        s(&report),
        "--quiet",
    ]));
    let report = json(&report);
    for branch in report["branches"].as_array().unwrap() {
        let examples = branch["triage"]["examples"].as_array().unwrap();
        assert!(!examples.is_empty(), "{branch}");
        for example in examples {
            let file = example["file"].as_str().unwrap();
            let index = example["index"].as_u64().unwrap();
            let expected = out
                .join(branch["resolution"].to_string())
                .join(format!("{index:06}.png"));
            assert_eq!(Path::new(file), expected, "{example}");
            assert!(expected.is_file(), "{file}");
        }
    }
}
