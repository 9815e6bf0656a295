//! The scoring core from the command line: each metric asks each side for
//! what it uses and nothing else, output targets are checked before any model
//! loads, and flags a command does not honour are refused.

use std::path::Path;

use crate::util::*;

const CPU: [&str; 2] = ["--device", "cpu"];

/// `generate` 4 images × 10 captions of the demo generator at 64² into `out`.
fn generate(out: &Path, seed: &str) {
    let mut args = vec![
        "generate",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "4",
        "--seed",
        seed,
        "--branches",
        "64",
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend(CPU);
    assert_ok(&tool(&args));
}

#[test]
fn eval_computes_collapse_statistics_alone() {
    let dir = temp_dir();
    let real = dir.path().join("real");
    generate(&real, "100");
    let report_path = dir.path().join("eval.json");
    let mut args = vec![
        "eval",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "4",
        "--branches",
        "64",
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--real",
        s(&real),
        "--metrics",
        "prdc",
        "--quiet",
        "--json",
        s(&report_path),
    ];
    args.extend(CPU);
    assert_ok(&tool(&args));
    let report = json(&report_path);
    let branch = &report["branches"][0];
    for key in [
        "precision",
        "recall",
        "density",
        "coverage",
        "near_duplicate_rate",
    ] {
        let value = branch[key].as_f64().unwrap_or(f64::NAN);
        assert!((0.0..=10.0).contains(&value), "{key} = {value}");
    }
    assert_eq!(branch["n_fake"], 40);
    assert_eq!(branch["n_real"], 40);
    assert!(branch.get("fid").is_none() && branch.get("is_mean").is_none());
    assert_eq!(report["sampling_protocol"], "plain");
}

#[test]
fn a_reference_the_metrics_do_not_use_is_not_read() {
    let dir = temp_dir();
    let out = dir.path().join("is.json");
    // An unreadable reference: reading it would fail.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::write(real.join("broken.png"), b"not a png").unwrap();
    let mut args = vec![
        "score",
        "--real",
        s(&real),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--metrics",
        "is",
        "--splits",
        "2",
        "--json",
        s(&out),
    ];
    args.extend(CPU);
    let output = tool(&args);
    assert_ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is not read"), "{stderr}");
    let report = json(&out);
    assert!(report["is_mean"].as_f64().is_some());
    assert!(report.get("n_real").is_none());
}

#[test]
fn output_targets_are_refused_before_any_model_loads() {
    let dir = temp_dir();
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let missing = dir.path().join("no-such-folder/result.json");
    let full = dir.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("old.png"), b"x").unwrap();
    let csv = dir.path().join("other.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    // A model that does not exist: loading it would be the first error.
    let no_model = dir.path().join("no-model.onnx");
    let eval = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = ["eval", "--model", s(&no_model), "--extractor", s(&no_model)]
            .map(String::from)
            .to_vec();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    // (arguments, what the error names)
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            [
                "score",
                "--fake",
                fixture("e2e/fake"),
                "--extractor",
                s(&no_model),
                "--json",
                s(&missing),
            ]
            .map(String::from)
            .to_vec(),
            "--json".into(),
        ),
        (
            [
                "stats",
                "--images",
                fixture("e2e/fake"),
                "--extractor",
                s(&no_model),
                "--out",
                s(&blocker.join("s.npz")),
            ]
            .map(String::from)
            .to_vec(),
            "--out".into(),
        ),
        (eval(&["--csv", s(&csv)]), "other columns".into()),
        (eval(&["--out", s(&full)]), "old.png".into()),
        (
            ["generate", "--model", s(&no_model), "--out", s(&full)]
                .map(String::from)
                .to_vec(),
            "--resume".into(),
        ),
        (
            ["tsne", "--set", "a=x", "--out", s(&blocker.join("maps"))]
                .map(String::from)
                .to_vec(),
            "a-file".into(),
        ),
    ];
    for (args, names) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let stderr = assert_refused(&args, &names, &dir.path().join("never"));
        assert!(
            !stderr.contains("no-model.onnx"),
            "refused before the model: {stderr}"
        );
        assert!(
            !stderr.contains("sampling:"),
            "no sampling plan printed: {stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "a,b\n1,2\n");
}

#[test]
fn counts_and_flags_a_command_does_not_honour_are_refused_naming_the_flag() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    // (arguments, what the error names)
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "generate",
                "--model",
                "g.onnx",
                "--out",
                s(&out),
                "--images",
                "-1",
            ],
            "--images",
        ),
        (
            &[
                "generate",
                "--model",
                "g.onnx",
                "--out",
                s(&out),
                "--samples",
                "ten",
            ],
            "--samples",
        ),
        (
            &["score", "--fake", "f", "--kid-subset-size", "-3"],
            "--kid-subset-size",
        ),
        (
            &["tsne", "--set", "a=b", "--out", s(&out), "--skip-bad"],
            "--skip-bad",
        ),
        (
            &[
                "stats",
                "--images",
                "f",
                "--extractor",
                "e",
                "--out",
                s(&out),
                "--json",
                "x",
            ],
            "--json",
        ),
        (
            &[
                "generate",
                "--model",
                "g.onnx",
                "--out",
                s(&out),
                "--protocol",
                "plain",
            ],
            "--protocol",
        ),
    ];
    for (args, names) in cases {
        assert_refused(args, names, &out);
    }
}
