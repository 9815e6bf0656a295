//! Bootstrap intervals (`--bootstrap`) against an independent numpy/scipy
//! reference, and the properties an interval must have.
//!
//! Reference: tests/reference/check_bootstrap.py draws the same resamples
//! (numpy `RandomState(7).randint`, replicate by replicate, real then fake)
//! and computes each replicate's FID (scipy `sqrtm`, as pytorch-fid 0.3.0),
//! IS and KID (torch-fidelity 0.4's definitions) and PR-DC (radii over the
//! distinct rows, multiplicities as weights) on tests/fixtures/bootstrap/,
//! then `np.percentile` intervals. Tolerances: FID 1e-8 relative (an
//! eigen-solver against `sqrtm` on 16-d statistics), IS and KID 1e-9
//! relative, PR-DC 1e-12 relative (counts over sample counts), the interval
//! ends as their values.
//!
//! Properties: the same seed gives byte-identical JSON with 1 and 2 threads,
//! another seed another interval; FID's and IS's interval widths shrink by
//! 4× ± 35% from N = 1k to 16k (1/√N, for a shifted fake set, where FID's
//! noise is that of its linear term).

use std::path::Path;

use ndarray::Array2;
use ndarray_npy::NpzWriter;
use serde_json::Value;

use crate::util::{assert_ok, assert_rel, command, fixture, json, s, temp_dir};
use stackgan_eval::rng::NumpyRandomState;

/// `score` over the fixture with the reference script's metric settings, plus `extra`.
fn score_fixture(json_out: &Path, extra: &[&str]) -> std::process::Command {
    let mut args = vec![
        "score",
        "--real",
        fixture("bootstrap/real.npz"),
        "--fake",
        fixture("bootstrap/fake.npz"),
        "--metrics",
        "fid,is,kid,prdc",
        "--kid-subsets",
        "10",
        "--kid-subset-size",
        "50",
        "--json",
        s(json_out),
        "--quiet",
    ];
    args.extend(extra);
    command(&args)
}

fn tolerance(metric: &str) -> f64 {
    match metric {
        "fid" => 1e-8,
        "is_mean" | "kid_mean" => 1e-9,
        _ => 1e-12,
    }
}

#[test]
fn replicates_and_intervals_match_the_numpy_reference() {
    let dir = temp_dir();
    let out = dir.path().join("score.json");
    let reference_flags = [
        "--bootstrap",
        "20",
        "--bootstrap-seed",
        "7",
        "--ci-level",
        "0.9",
    ];
    assert_ok(&score_fixture(&out, &reference_flags).output().unwrap());
    let (got, reference) = (json(&out), json(fixture("bootstrap/reference.json")));
    assert_eq!(got["bootstrap"]["replicates"], 20);
    assert_eq!(got["bootstrap"]["seed"], 7);
    assert_eq!(got["bootstrap"]["level"], 0.9);
    for (metric, expected) in reference["values"].as_object().unwrap() {
        let values = got["bootstrap"]["values"][metric].as_array().unwrap();
        let expected = expected.as_array().unwrap();
        assert_eq!(values.len(), expected.len(), "{metric}");
        for (b, (v, e)) in values.iter().zip(expected).enumerate() {
            let what = format!("{metric} replicate {b}");
            assert_rel(
                v.as_f64().unwrap(),
                e.as_f64().unwrap(),
                tolerance(metric),
                &what,
            );
        }
        let interval = &reference["intervals"][metric];
        for end in 0..2 {
            assert_rel(
                got[format!("{metric}_ci")][end].as_f64().unwrap(),
                interval[end].as_f64().unwrap(),
                tolerance(metric),
                &format!("{metric}_ci[{end}]"),
            );
        }
    }
    for (metric, expected) in reference["point"].as_object().unwrap() {
        let what = format!("point {metric}");
        assert_rel(
            got[metric].as_f64().unwrap(),
            expected.as_f64().unwrap(),
            1e-8,
            &what,
        );
        let bias = got["bootstrap"]["bias"][metric].as_f64().unwrap();
        let expected_bias = reference["bias"][metric].as_f64().unwrap();
        assert_rel(bias, expected_bias, 1e-7, &format!("bias of {metric}"));
    }
}

#[test]
fn the_same_seed_gives_the_same_bytes_whatever_the_thread_count() {
    let dir = temp_dir();
    let run = |threads: &str, seed: &str| {
        let out = dir.path().join(format!("t{threads}-s{seed}.json"));
        let mut command = score_fixture(&out, &["--bootstrap", "30", "--bootstrap-seed", seed]);
        command.env("RAYON_NUM_THREADS", threads);
        command.env("OPENBLAS_NUM_THREADS", threads);
        assert_ok(&command.output().unwrap());
        std::fs::read_to_string(&out).unwrap()
    };
    let one = run("1", "3");
    assert!(
        one == run("2", "3"),
        "1 and 2 threads, seed 3: not the same bytes"
    );
    let other: Value = serde_json::from_str(&run("2", "4")).unwrap();
    let one: Value = serde_json::from_str(&one).unwrap();
    for key in ["fid_ci", "is_mean_ci", "kid_mean_ci", "density_ci"] {
        assert_ne!(one[key], other[key], "{key}: seeds 3 and 4");
        assert!(one[key].is_array(), "{key}: {one}");
    }
}

/// Gaussian features: `n × d` standard normals plus `shift` (numpy's
/// `RandomState(seed)`), and `n × 10` logits of scale 2.
fn gaussian(seed: u32, n: usize, d: usize, shift: f32) -> (Array2<f32>, Array2<f32>) {
    let mut rng = NumpyRandomState::new(seed);
    let pool = Array2::from_shape_simple_fn((n, d), || rng.standard_normal() as f32 + shift);
    let logits = Array2::from_shape_simple_fn((n, 10), || 2.0 * rng.standard_normal() as f32);
    (pool, logits)
}

fn write_features(path: &Path, pool: &Array2<f32>, logits: &Array2<f32>) {
    let mut npz = NpzWriter::new(std::fs::File::create(path).unwrap());
    npz.add_array("pool", pool).unwrap();
    npz.add_array("logits", logits).unwrap();
    npz.finish().unwrap();
}

#[test]
fn interval_widths_shrink_as_one_over_the_root_of_n() {
    let dir = temp_dir();
    let width = |n: usize| -> (f64, f64) {
        let (real, real_logits) = gaussian(1, n, 64, 0.0);
        let (fake, fake_logits) = gaussian(2, n, 64, 0.5);
        let (a, b) = (dir.path().join("real.npz"), dir.path().join("fake.npz"));
        write_features(&a, &real, &real_logits);
        write_features(&b, &fake, &fake_logits);
        let out = dir.path().join(format!("n{n}.json"));
        assert_ok(
            &command(&[
                "score",
                "--real",
                s(&a),
                "--fake",
                s(&b),
                "--metrics",
                "fid,is",
                "--bootstrap",
                "60",
                "--json",
                s(&out),
                "--quiet",
            ])
            .output()
            .unwrap(),
        );
        let report = json(&out);
        let w = |key: &str| report[key][1].as_f64().unwrap() - report[key][0].as_f64().unwrap();
        (w("fid_ci"), w("is_mean_ci"))
    };
    let (fid_1k, is_1k) = width(1000);
    let (fid_16k, is_16k) = width(16000);
    for (metric, ratio) in [("FID", fid_1k / fid_16k), ("IS", is_1k / is_16k)] {
        assert!(
            (2.6..=5.4).contains(&ratio),
            "{metric}: width at 1k / width at 16k = {ratio}, expected √16 = 4 ± 35%"
        );
    }
}
