//! `--bootstrap` on the commands and `compare --paired`: verdicts on sets
//! drawn from one distribution and from a shifted one, intervals per branch
//! of `eval` and per variant of `ablation`, and the refusals.
//!
//! The paired test's claims are about decisions, not digits: two sets of
//! 2,000 draws of one 32-d Gaussian give "no difference" on every metric,
//! a set shifted by 0.15 in every coordinate (‖δ‖² = 0.72, about twenty
//! times FID's bootstrap spread here) gives "different" on FID and KID. The
//! replicate values themselves are checked against numpy in
//! `metrics_bootstrap`.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2};
use ndarray_npy::{NpzWriter, write_npy};
use serde_json::Value;

use crate::util::{
    Refusal, assert_ok, demo_model, fixture, generate_demo, json, s, temp_dir, tool,
};
use stackgan_eval::rng::NumpyRandomState;

const CPU: [&str; 2] = ["--device", "cpu"];

/// `n × d` standard normals plus `shift`, from numpy's `RandomState(seed)`, as `.npy`.
fn gaussian_file(dir: &Path, name: &str, seed: u32, shift: f32) -> PathBuf {
    let mut rng = NumpyRandomState::new(seed);
    let x = Array2::from_shape_simple_fn((2000, 32), || rng.standard_normal() as f32 + shift);
    let path = dir.join(name);
    write_npy(&path, &x).unwrap();
    path
}

/// `score` of `fake` against `real` with 100 replicates of seed `seed`.
fn scored(dir: &Path, real: &Path, fake: &Path, seed: &str) -> PathBuf {
    let stem = fake.file_stem().unwrap().to_string_lossy();
    let out = dir.join(format!("{stem}-seed{seed}.json"));
    assert_ok(&tool(&[
        "score",
        "--real",
        s(real),
        "--fake",
        s(fake),
        "--metrics",
        "fid,kid,prdc",
        "--kid-subsets",
        "10",
        "--kid-subset-size",
        "500",
        "--bootstrap",
        "100",
        "--bootstrap-seed",
        seed,
        "--json",
        s(&out),
        "--quiet",
    ]));
    out
}

/// `compare A B --paired --out dir/name`: the verdicts by metric, and the rules used.
fn paired(a: &Path, b: &Path, out: &Path) -> Vec<(String, String, String)> {
    assert_ok(&tool(&[
        "compare",
        s(a),
        s(b),
        "--paired",
        "--out",
        s(out),
        "--quiet",
    ]));
    for file in ["paired.csv", "paired.md", "paired.json", "compare.csv"] {
        assert!(out.join(file).is_file(), "{file} written");
    }
    let details = json(out.join("paired.json"));
    details["details"][0]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let text = |key: &str| v[key].as_str().unwrap().to_string();
            (text("metric"), text("verdict"), text("rule"))
        })
        .collect()
}

#[test]
fn paired_comparison_tells_one_distribution_from_a_shifted_one() {
    let dir = temp_dir();
    let real = gaussian_file(dir.path(), "real.npy", 1, 0.0);
    let same_a = gaussian_file(dir.path(), "same_a.npy", 2, 0.0);
    let same_b = gaussian_file(dir.path(), "same_b.npy", 3, 0.0);
    let shifted = gaussian_file(dir.path(), "shifted.npy", 4, 0.15);
    let (a, b, c) = (
        scored(dir.path(), &real, &same_a, "0"),
        scored(dir.path(), &real, &same_b, "0"),
        scored(dir.path(), &real, &shifted, "0"),
    );
    let same = paired(&a, &b, &dir.path().join("same"));
    assert_eq!(same.len(), 6, "fid, kid_mean and the four PR-DC: {same:?}");
    for (metric, verdict, rule) in &same {
        assert_eq!(verdict, "no difference", "{metric}: one distribution");
        assert_eq!(
            rule, "replicate_differences",
            "{metric}: same seed and counts pair"
        );
    }
    let apart = paired(&a, &c, &dir.path().join("apart"));
    for metric in ["fid", "kid_mean"] {
        let (_, verdict, _) = apart.iter().find(|(m, _, _)| m == metric).unwrap();
        assert_eq!(
            verdict, "different",
            "{metric}: shifted by 0.15 per coordinate"
        );
    }
    // Replicates drawn with another seed cannot be paired: the overlap rule, said so.
    let other_seed = scored(dir.path(), &real, &same_b, "1");
    let unpaired = paired(&a, &other_seed, &dir.path().join("unpaired"));
    assert!(
        unpaired
            .iter()
            .all(|(_, _, rule)| rule == "interval_overlap"),
        "{unpaired:?}"
    );
    let markdown = std::fs::read_to_string(dir.path().join("unpaired/paired.md")).unwrap();
    assert!(
        markdown.contains("Not paired: bootstrap seeds differ (0 and 1)."),
        "{markdown}"
    );
}

#[test]
fn eval_and_ablation_carry_an_interval_per_branch_and_per_variant() {
    let dir = temp_dir();
    let real = dir.path().join("real");
    generate_demo(
        &real,
        &["--images", "8", "--seed", "100", "--branches", "64"],
    );
    let report = dir.path().join("eval.json");
    let csv = dir.path().join("eval.csv");
    let mut args = vec![
        "eval",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--images",
        "8",
        "--branches",
        "64,256",
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--real",
        s(&real),
        "--metrics",
        "fid,is",
        "--splits",
        "2",
        "--bootstrap",
        "8",
        "--json",
        s(&report),
        "--csv",
        s(&csv),
        "--quiet",
    ];
    args.extend(CPU);
    assert_ok(&tool(&args));
    let report = json(&report);
    // The CSV row of each branch carries the JSON's interval, to the last digit.
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    for (branch, row) in report["branches"].as_array().unwrap().iter().zip(&rows) {
        for key in ["fid", "is_mean"] {
            let ci = &branch[format!("{key}_ci")];
            assert!(
                ci[0].as_f64().unwrap() <= ci[1].as_f64().unwrap(),
                "{key}: {branch}"
            );
            assert_eq!(
                branch["bootstrap"]["values"][key].as_array().unwrap().len(),
                8
            );
            for (end, side) in ["low", "high"].iter().enumerate() {
                let column = header
                    .iter()
                    .position(|h| *h == format!("{key}_ci_{side}"))
                    .unwrap_or_else(|| panic!("{key}_ci_{side} in {header:?}"));
                let cell: f64 = row[column].parse().unwrap();
                assert_eq!(cell, ci[end].as_f64().unwrap(), "{key}_ci_{side}");
            }
        }
    }

    let config = dir.path().join("ablation.toml");
    std::fs::write(
        &config,
        format!(
            "title = \"bootstrap ablation\"\nextractor = \"{}\"\nreal = \"real/64\"\nmetrics = [\"fid\"]\n\
             [bootstrap]\nreplicates = 6\nseed = 2\nlevel = 0.8\n\
             [[variant]]\nname = \"folder\"\nfolder = \"real/64\"\n",
            demo_model("demo-extractor.onnx")
        ),
    )
    .unwrap();
    let out = dir.path().join("ablation");
    let mut args = vec![
        "ablation",
        "--config",
        s(&config),
        "--out",
        s(&out),
        "--quiet",
    ];
    args.extend(CPU);
    assert_ok(&tool(&args));
    let csv = std::fs::read_to_string(out.join("ablation.csv")).unwrap();
    let header = csv.lines().next().unwrap();
    assert!(
        header.starts_with("label,fid,fid_std,fid_ci_low,fid_ci_high,"),
        "{header}"
    );
    let details = json(out.join("ablation.json"));
    let text = details.to_string();
    assert!(
        text.contains("\"fid_ci\"") && text.contains("\"level\":0.8"),
        "{text}"
    );
    let markdown = std::fs::read_to_string(out.join("ablation.md")).unwrap();
    assert!(
        markdown.contains(" ["),
        "the interval in the Markdown table: {markdown}"
    );
}

#[test]
fn bootstrap_settings_and_reports_without_one_are_refused() {
    let dir = temp_dir();
    let out = dir.path().join("out.json");
    let feats = fixture("metrics/feats64_a.npy");
    let stats_path = dir.path().join("stats64.npz");
    let mut npz = NpzWriter::new(std::fs::File::create(&stats_path).unwrap());
    npz.add_array("mu", &Array1::<f64>::zeros(64)).unwrap();
    npz.add_array("sigma", &Array2::<f64>::eye(64)).unwrap();
    npz.finish().unwrap();
    let stats = s(&stats_path);
    let plain = dir.path().join("plain.json");
    assert_ok(&tool(&[
        "fid",
        "--real",
        feats,
        "--fake",
        feats,
        "--json",
        s(&plain),
        "--quiet",
    ]));
    let boot = fixture("bootstrap/report-b5.json");
    let fid = |extra: &[&'static str]| {
        let mut args = vec!["fid", "--real", stats, "--fake", feats, "--json", s(&out)];
        args.extend(extra);
        args
    };
    let config = dir.path().join("ablation.toml");
    std::fs::write(
        &config,
        format!(
            "title = \"t\"\nreal = \"{feats}\"\nmetrics = [\"kid\"]\n[bootstrap]\nreplicates = 1\n\
             [[variant]]\nname = \"v\"\nfolder = \"{}\"\n",
            fixture("e2e/fake")
        ),
    )
    .unwrap();
    let ablation_out = dir.path().join("ablation");
    for row in [
        Refusal {
            args: fid(&["--bootstrap", "10"]),
            output: &out,
            names: "--bootstrap",
            also: &["stats64.npz", "feature file", "extract"],
        },
        Refusal {
            args: fid(&["--bootstrap", "0"]),
            output: &out,
            names: "--bootstrap",
            also: &["at least 2"],
        },
        Refusal {
            args: fid(&["--bootstrap", "10", "--ci-level", "1.5"]),
            output: &out,
            names: "--ci-level",
            also: &["between 0 and 1"],
        },
        Refusal {
            args: fid(&["--ci-level", "0.9"]),
            output: &out,
            names: "--bootstrap",
            also: &[],
        },
        Refusal {
            args: vec!["compare", s(&plain), boot, "--paired"],
            output: &out,
            names: "plain.json",
            also: &["--bootstrap"],
        },
        Refusal {
            args: vec!["compare", boot, boot, boot, "--paired"],
            output: &out,
            names: "--paired",
            also: &["exactly two"],
        },
        Refusal {
            args: vec![
                "ablation",
                "--config",
                s(&config),
                "--out",
                s(&ablation_out),
            ],
            output: &ablation_out,
            names: "[bootstrap]",
            also: &["at least 2"],
        },
    ] {
        row.check();
    }
    let _: Value = json(boot);
}

#[test]
fn a_training_curve_carries_an_interval_per_checkpoint_and_branch() {
    let dir = temp_dir();
    let checkpoints = dir.path().join("checkpoints");
    std::fs::create_dir(&checkpoints).unwrap();
    let mut paths = Vec::new();
    for iteration in [500, 1000] {
        for ext in ["onnx", "toml"] {
            let to = checkpoints.join(format!("netG_{iteration}.{ext}"));
            std::fs::copy(demo_model(&format!("demo-generator.{ext}")), &to).unwrap();
        }
        paths.push(checkpoints.join(format!("netG_{iteration}.onnx")));
    }
    let real = dir.path().join("real");
    generate_demo(
        &real,
        &["--images", "8", "--seed", "100", "--branches", "64"],
    );
    let out = dir.path().join("curve");
    let mut args = vec!["curve", "--checkpoints", s(&paths[0]), s(&paths[1])];
    args.extend([
        "--out",
        s(&out),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
    ]);
    args.extend([
        "--images",
        "8",
        "--extractor",
        demo_model("demo-extractor.onnx"),
    ]);
    let real_64 = real.join("64");
    args.extend([
        "--real",
        s(&real_64),
        "--metrics",
        "fid",
        "--bootstrap",
        "5",
        "--quiet",
    ]);
    args.extend(CPU);
    assert_ok(&tool(&args));
    let csv = std::fs::read_to_string(out.join("curve.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let low = header
        .iter()
        .position(|h| *h == "fid_ci_low")
        .expect("fid_ci_low");
    let high = header
        .iter()
        .position(|h| *h == "fid_ci_high")
        .expect("fid_ci_high");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 2 * 3, "two checkpoints, three branches");
    for row in rows {
        let (a, b): (f64, f64) = (row[low].parse().unwrap(), row[high].parse().unwrap());
        assert!(a <= b, "{row:?}");
    }
}
