//! `curve`: training curves over checkpoints. Six stand-in checkpoints (the
//! demo v2 and v1 generators under `netG_<iteration>.onnx` names,
//! alternating, so the numbers change along the curve) give one row each per
//! branch in iteration order, each number equal (bit for bit) to `eval` of
//! the same generator with the same flags; PyTorch checkpoints (the tiny
//! StackGAN-v2 stand-ins of `tests/fixtures/convert_stackgan`) go through
//! the native conversion and equal `models convert` then `eval`. A second
//! run does no work, a corrupt checkpoint is named without losing the other
//! rows, and two shards then the final run give the single run's table.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::SystemTime;

use serde_json::Value;
use stackgan_eval::report::plot::LINE_CHART_SIZE;

use crate::util::{
    Refusal, assert_ok, demo_model, fixture, generate_demo, json, s, synthetic_features, temp_dir,
    tool,
};

/// The six iterations, in file-name order (10000 before 1500 as text).
const ITERATIONS: [u64; 6] = [500, 1000, 1500, 2000, 2500, 10000];

/// The demo generator (stem in `models/demo`) an iteration's stand-in is.
fn generator_of(iteration: u64) -> &'static str {
    match ITERATIONS.iter().position(|&i| i == iteration) {
        Some(n) if n % 2 == 1 => "demo-generator-v1",
        _ => "demo-generator",
    }
}

/// The stand-in checkpoints in `dir/checkpoints`, each with its manifest.
fn stand_ins(dir: &Path) -> PathBuf {
    let folder = dir.join("checkpoints");
    std::fs::create_dir_all(&folder).unwrap();
    for iteration in ITERATIONS {
        let stem = generator_of(iteration);
        for ext in ["onnx", "toml"] {
            std::fs::copy(
                demo_model(&format!("{stem}.{ext}")),
                folder.join(format!("netG_{iteration}.{ext}")),
            )
            .unwrap();
        }
    }
    folder
}

/// The reference set: the 256 branch of the demo generator at another seed.
fn reference(dir: &Path) -> PathBuf {
    let real = dir.join("real");
    generate_demo(
        &real,
        &["--seed", "100", "--branches", "256", "--device", "cpu"],
    );
    real.join("256")
}

/// The evaluation flags `curve` and `eval` share here.
fn evaluation(real: &Path, embeddings: &str) -> Vec<String> {
    [
        "--embeddings",
        embeddings,
        "--extractor",
        demo_model("demo-extractor.onnx"),
        "--real",
        s(real),
        "--kid-subset-size",
        "50",
        "--kid-subsets",
        "10",
        "--seed",
        "5",
        "--batch-size",
        "16",
        "--device",
        "cpu",
        "--quiet",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}

fn curve(checkpoints: &[&Path], out: &Path, evaluation: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<String> = vec!["curve".into(), "--checkpoints".into()];
    args.extend(checkpoints.iter().map(|c| s(c).to_string()));
    args.extend(["--out".to_string(), s(out).to_string()]);
    args.extend(evaluation.iter().cloned());
    args.extend(extra.iter().map(|a| a.to_string()));
    tool(&args)
}

/// `eval` of `model` with the same flags; its JSON report.
fn eval(model: &Path, evaluation: &[String], json_path: &Path) -> Value {
    let mut args: Vec<String> = vec!["eval".into(), "--model".into(), s(model).into()];
    args.extend(evaluation.iter().cloned());
    args.extend(["--json".to_string(), s(json_path).to_string()]);
    assert_ok(&tool(&args));
    json(json_path)
}

const METRICS: [&str; 5] = ["fid", "is_mean", "is_std", "kid_mean", "kid_std"];

/// Every metric of every branch of `report` (a `curve.json` row's) equals
/// `eval`'s to the last bit, and so does the rest of each branch's report
/// (sample counts, models, protocol) and the colour consistency.
fn assert_equal_to_eval(report: &Value, eval: &Value, what: &str) {
    assert_eq!(report["branches"], eval["branches"], "{what}");
    assert_eq!(
        report["color_consistency"], eval["color_consistency"],
        "{what}"
    );
    let (ours, theirs) = (
        report["branches"].as_array().unwrap(),
        eval["branches"].as_array().unwrap(),
    );
    assert_eq!(ours.len(), theirs.len(), "{what}: branches");
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a["resolution"], b["resolution"], "{what}");
        for key in METRICS {
            let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "{what} {}² {key}: curve {x} vs eval {y}",
                a["resolution"]
            );
        }
    }
}

fn rows(out: &Path) -> Vec<Value> {
    json(out.join("curve.json"))["rows"]
        .as_array()
        .unwrap()
        .clone()
}

fn modified(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

fn row_times(out: &Path) -> Vec<(PathBuf, SystemTime)> {
    let mut times: Vec<_> = std::fs::read_dir(out.join("rows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), modified(&p)))
        .collect();
    times.sort();
    times
}

#[test]
fn each_checkpoint_gives_its_eval_numbers_per_branch_in_iteration_order_and_a_rerun_skips_them() {
    let dir = temp_dir();
    let real = reference(dir.path());
    let checkpoints = stand_ins(dir.path());
    let flags = evaluation(&real, demo_model("demo-embeddings.npy"));
    let out = dir.path().join("curve");
    assert_ok(&curve(&[&checkpoints], &out, &flags, &[]));

    let evals: Vec<(&str, Value)> = ["demo-generator", "demo-generator-v1"]
        .into_iter()
        .map(|stem| {
            let model = PathBuf::from(demo_model(&format!("{stem}.onnx")));
            let report = eval(&model, &flags, &dir.path().join(format!("{stem}.json")));
            (stem, report)
        })
        .collect();
    let rows = rows(&out);
    let iterations: Vec<u64> = rows
        .iter()
        .map(|r| r["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, ITERATIONS);
    for row in &rows {
        let iteration = row["iteration"].as_u64().unwrap();
        let (_, expected) = evals
            .iter()
            .find(|(stem, _)| *stem == generator_of(iteration))
            .unwrap();
        assert_equal_to_eval(&row["report"], expected, &format!("iteration {iteration}"));
    }

    // curve.csv: one line per checkpoint and branch, in iteration order, the same numbers.
    let csv = std::fs::read_to_string(out.join("curve.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[..9],
        [
            "iteration",
            "checkpoint",
            "branch",
            "fid",
            "fid_std",
            "is",
            "is_std",
            "kid",
            "kid_std"
        ]
    );
    let records: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let expected_rows: Vec<(u64, u64, f64)> = rows
        .iter()
        .flat_map(|row| {
            let iteration = row["iteration"].as_u64().unwrap();
            row["report"]["branches"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |b| {
                    (
                        iteration,
                        b["resolution"].as_u64().unwrap(),
                        b["fid"].as_f64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(
        records.len(),
        3 * 3 + 3 * 2,
        "v2 has three branches, v1 two"
    );
    for (record, (iteration, resolution, fid)) in records.iter().zip(&expected_rows) {
        assert_eq!(record[0], iteration.to_string());
        assert_eq!(record[1], format!("netG_{iteration}.onnx"));
        assert_eq!(record[2], resolution.to_string());
        assert_eq!(record[3].parse::<f64>().unwrap().to_bits(), fid.to_bits());
    }

    for metric in ["fid", "is", "kid"] {
        let png = image::open(out.join(format!("curve-{metric}.png"))).unwrap();
        assert_eq!((png.width(), png.height()), LINE_CHART_SIZE, "{metric}");
    }

    // Again: nothing is scored, no row rewritten, the same table.
    let before = row_times(&out);
    assert_eq!(before.len(), 6);
    assert_ok(&curve(&[&checkpoints], &out, &flags, &[]));
    let report = json(out.join("curve.json"));
    assert_eq!(report["scored"].as_array().unwrap().len(), 0);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 6);
    assert_eq!(row_times(&out), before);
    assert_eq!(std::fs::read_to_string(out.join("curve.csv")).unwrap(), csv);
}

#[test]
fn a_corrupt_checkpoint_is_named_and_the_others_rows_are_kept() {
    let dir = temp_dir();
    let real = reference(dir.path());
    let checkpoints = stand_ins(dir.path());
    std::fs::write(checkpoints.join("netG_1200.onnx"), b"not an onnx model").unwrap();
    std::fs::copy(
        demo_model("demo-generator.toml"),
        checkpoints.join("netG_1200.toml"),
    )
    .unwrap();
    let flags = evaluation(&real, demo_model("demo-embeddings.npy"));
    let out = dir.path().join("curve");
    let run = curve(&[&checkpoints], &out, &flags, &[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let last = stderr.lines().last().unwrap();
    assert!(
        last.starts_with("error:") && last.contains("netG_1200.onnx"),
        "{stderr}"
    );
    let report = json(out.join("curve.json"));
    let failed = report["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["checkpoint"], "netG_1200.onnx");
    assert_eq!(failed[0]["iteration"], 1200);
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(!reason.is_empty() && !reason.contains('\n'), "{reason}");
    let iterations: Vec<u64> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, ITERATIONS);
    let csv = std::fs::read_to_string(out.join("curve.csv")).unwrap();
    assert!(!csv.contains("netG_1200"), "{csv}");
}

#[test]
fn two_shards_then_the_final_run_give_the_single_runs_curve() {
    let dir = temp_dir();
    let real = reference(dir.path());
    let checkpoints = stand_ins(dir.path());
    let flags = evaluation(&real, demo_model("demo-embeddings.npy"));
    let single = dir.path().join("single");
    assert_ok(&curve(&[&checkpoints], &single, &flags, &[]));

    let sharded = dir.path().join("sharded");
    // Each shard scores its half and writes rows only; the pattern form.
    let pattern = checkpoints.join("netG_*");
    assert_ok(&curve(&[&pattern], &sharded, &flags, &["--shard", "0/2"]));
    assert_eq!(row_times(&sharded).len(), 3);
    assert!(!sharded.join("curve.csv").exists());
    assert_ok(&curve(&[&pattern], &sharded, &flags, &["--shard", "1/2"]));
    assert_eq!(row_times(&sharded).len(), 6);
    assert!(!sharded.join("curve.csv").exists());
    let before = row_times(&sharded);
    assert_ok(&curve(&[&pattern], &sharded, &flags, &[]));
    assert_eq!(row_times(&sharded), before, "the final run scores nothing");
    assert_eq!(
        std::fs::read_to_string(sharded.join("curve.csv")).unwrap(),
        std::fs::read_to_string(single.join("curve.csv")).unwrap()
    );
    for (a, b) in rows(&sharded).iter().zip(&rows(&single)) {
        assert_equal_to_eval(&a["report"], &b["report"], "sharded vs single");
    }
}

#[test]
fn pytorch_checkpoints_are_converted_once_and_score_as_models_convert_then_eval() {
    let dir = temp_dir();
    let real = reference(dir.path());
    // The tiny v2-birds stand-in reads 32-dimensional text embeddings.
    let embeddings = dir.path().join("embeddings.npy");
    ndarray_npy::write_npy(&embeddings, &synthetic_features(7, 60, 32, false)).unwrap();
    let flags = evaluation(&real, s(&embeddings));
    let checkpoints = dir.path().join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    // Both serialisations torch.save writes, of the same weights.
    for (source, name) in [
        ("v2-birds.legacy.pth", "netG_100.pth"),
        ("v2-birds.zip.pth", "netG_200.pth"),
    ] {
        std::fs::copy(
            fixture(&format!("convert_stackgan/{source}")),
            checkpoints.join(name),
        )
        .unwrap();
    }
    let out = dir.path().join("curve");
    assert_ok(&curve(
        &[&checkpoints],
        &out,
        &flags,
        &["--kind", "v2-birds"],
    ));

    let converted = dir.path().join("converted.onnx");
    assert_ok(&tool(&[
        "models",
        "convert",
        "--checkpoint",
        fixture("convert_stackgan/v2-birds.legacy.pth"),
        "--kind",
        "v2-birds",
        "--out",
        s(&converted),
        "--quiet",
    ]));
    let expected = eval(&converted, &flags, &dir.path().join("eval.json"));
    let rows = rows(&out);
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_equal_to_eval(
            &row["report"],
            &expected,
            row["checkpoint"].as_str().unwrap(),
        );
        assert_eq!(row["report"]["branches"].as_array().unwrap().len(), 3);
    }

    // Without the rows, the checkpoints are scored again from the kept conversions.
    let onnx: Vec<(PathBuf, SystemTime)> = std::fs::read_dir(out.join("converted"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), modified(&p)))
        .collect();
    assert_eq!(onnx.len(), 4, "two models and their manifests: {onnx:?}");
    std::fs::remove_dir_all(out.join("rows")).unwrap();
    assert_ok(&curve(
        &[&checkpoints],
        &out,
        &flags,
        &["--kind", "v2-birds"],
    ));
    assert_eq!(
        json(out.join("curve.json"))["scored"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for (path, time) in onnx {
        assert_eq!(
            modified(&path),
            time,
            "{} was converted again",
            path.display()
        );
    }
}

#[test]
fn bad_checkpoints_flags_and_changed_settings_are_refused_in_one_line() {
    let dir = temp_dir();
    let real = reference(dir.path());
    let flags = evaluation(&real, demo_model("demo-embeddings.npy"));
    let one = dir.path().join("one");
    std::fs::create_dir_all(&one).unwrap();
    for ext in ["onnx", "toml"] {
        std::fs::copy(
            demo_model(&format!("demo-generator.{ext}")),
            one.join(format!("netG_500.{ext}")),
        )
        .unwrap();
    }
    let unnumbered = dir.path().join("netG_final.onnx");
    std::fs::copy(demo_model("demo-generator.onnx"), &unnumbered).unwrap();
    let same = dir.path().join("same");
    std::fs::create_dir_all(&same).unwrap();
    for name in ["netG_500.onnx", "model_500.pth"] {
        std::fs::write(same.join(name), b"x").unwrap();
    }
    let pth = dir.path().join("pth");
    std::fs::create_dir_all(&pth).unwrap();
    std::fs::write(pth.join("netG_100.pth"), b"x").unwrap();
    let text = dir.path().join("netG_7.txt");
    std::fs::write(&text, b"x").unwrap();
    let out = dir.path().join("out");
    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, b"x").unwrap();
    let under_a_file = a_file.join("out");

    let args = |checkpoint: &Path, out: &Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "curve".to_string(),
            "--checkpoints".into(),
            s(checkpoint).into(),
            "--out".into(),
            s(out).into(),
        ];
        args.extend(flags.iter().cloned());
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let none = dir.path().join("none_*.onnx");
    let rows: Vec<(Vec<String>, &Path, &str, &[&str])> = vec![
        (
            args(&unnumbered, &out, &[]),
            &out,
            "netG_final.onnx",
            &["rename"],
        ),
        (args(&none, &out, &[]), &out, "none_*.onnx", &["matches no"]),
        (args(&same, &out, &[]), &out, "iteration 500", &["keep one"]),
        (args(&pth, &out, &[]), &out, "--kind", &["netG_100.pth"]),
        (
            args(&text, &out, &[]),
            &out,
            "netG_7.txt",
            &["not a checkpoint"],
        ),
        (
            args(&one, &out, &["--shard", "2/2"]),
            &out,
            "--shard",
            &["I/N"],
        ),
        (args(&one, &under_a_file, &[]), &under_a_file, "--out", &[]),
        (
            args(&one, &out, &["--kind", "v3"]),
            &out,
            "--kind",
            &["v2-birds"],
        ),
    ];
    for (args, output, names, also) in &rows {
        Refusal {
            args: args.iter().map(String::as_str).collect(),
            output,
            names,
            also,
        }
        .check();
    }

    // A folder scored with other settings is refused, naming the row and the setting.
    assert_ok(&tool(&args(&one, &out, &[])));
    let never = out.join("never");
    let changed = args(&one, &out, &["--splits", "5"]);
    Refusal {
        args: changed.iter().map(String::as_str).collect(),
        output: &never,
        names: "netG_500.json",
        also: &["splits", "another --out"],
    }
    .check();
}
