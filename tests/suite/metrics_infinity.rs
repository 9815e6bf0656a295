//! FID∞ and IS∞ (Chong & Forsyth, CVPR 2020).
//!
//! References: tests/fixtures/infinity/reference.json, made by
//! tests/reference/check_infinity.py — the authors' procedure reimplemented in
//! numpy (the same `RandomState(seed).shuffle` subsets), scipy `sqrtm` FID as
//! pytorch-fid 0.3.0, IS in one split of float64 softmax probabilities,
//! scikit-learn's `LinearRegression`, scipy's `linregress` for the standard
//! error — on the fixture of tests/fixtures/infinity/make.py. FID∞, IS∞, their
//! residuals, standard errors and every subset's value agree to 1e-6 relative
//! (measured: 2e-12); the counts exactly.
//!
//! Synthetic Gaussian features whose true Fréchet distance is known
//! analytically check the extrapolation itself (see that test for its bound).

use std::ffi::OsStr;
use std::path::Path;

use crate::util::*;
use ndarray::{Array1, Array2};
use serde_json::Value;
use stackgan_eval::metrics::{FidStats, InfinityConfig, fid_infinity};
use stackgan_eval::rng::NumpyRandomState;

const TOLERANCE: f64 = 1e-6;

fn infinity(name: &str) -> &'static str {
    fixture(&format!("infinity/{name}"))
}

/// `score --metrics fid_inf,is_inf` on the fixture with `flags`, its JSON.
fn score_args(out: &Path, flags: &[String]) -> Vec<String> {
    let mut args: Vec<String> = [
        "score",
        "--real",
        infinity("real_stats.npz"),
        "--fake",
        infinity("fake.npz"),
        "--metrics",
        "fid_inf,is_inf",
        "--quiet",
        "--json",
        s(out),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    args.extend(flags.iter().cloned());
    args
}

fn case_flags(case: &Value) -> Vec<String> {
    let mut flags = vec![
        "--inf-points".to_string(),
        case["points"].to_string(),
        "--inf-seed".to_string(),
        case["seed"].to_string(),
    ];
    if let Some(min) = case["min"].as_u64() {
        flags.extend(["--inf-min".to_string(), min.to_string()]);
    }
    flags
}

#[test]
fn fid_inf_and_is_inf_equal_the_authors_procedure_on_the_same_subsets() {
    let reference = json(infinity("reference.json"));
    let dir = temp_dir();
    for name in ["default", "flags"] {
        let case = &reference[name];
        let out = dir.path().join(format!("{name}.json"));
        assert_ok(&tool(&score_args(&out, &case_flags(case))));
        let got = json(&out);
        for metric in ["fid_inf", "is_inf"] {
            assert_eq!(
                got[format!("{metric}_counts")],
                case["counts"],
                "{name} {metric} counts"
            );
            for key in ["", "_residual", "_stderr"] {
                let key = format!("{metric}{key}");
                let (g, e) = (got[&key].as_f64(), case[&key].as_f64());
                assert_rel(g.unwrap(), e.unwrap(), TOLERANCE, &format!("{name} {key}"));
            }
            let values = format!("{metric}_values");
            let (g, e) = (got[&values].as_array(), case[&values].as_array());
            for (i, (g, e)) in g.unwrap().iter().zip(e.unwrap()).enumerate() {
                let what = format!("{name} {values}[{i}]");
                assert_rel(g.as_f64().unwrap(), e.as_f64().unwrap(), TOLERANCE, &what);
            }
        }
        assert_eq!(got["inf_seed"], case["seed"]);
    }
}

#[test]
fn the_report_is_the_same_bytes_whatever_the_thread_count() {
    let dir = temp_dir();
    let bytes: Vec<Vec<u8>> = ["1", "2"]
        .iter()
        .map(|threads| {
            let out = dir.path().join(format!("threads-{threads}.json"));
            let mut command = command(&score_args(&out, &[]));
            command.env("RAYON_NUM_THREADS", OsStr::new(threads));
            assert_ok(&command.output().expect("the binary runs"));
            std::fs::read(&out).unwrap()
        })
        .collect();
    assert_eq!(bytes[0], bytes[1], "RAYON_NUM_THREADS 1 and 2 differ");
}

/// Features are `N(mean, diag(variances))`: rows of numpy's
/// `RandomState(seed).standard_normal((n, d)) * sqrt(variances) + mean` in float32.
fn gaussian(seed: u32, n: usize, mean: &Array1<f64>, variances: &Array1<f64>) -> Array2<f32> {
    let mut rng = NumpyRandomState::new(seed);
    let d = mean.len();
    Array2::from_shape_fn((n, d), |(_, j)| {
        (rng.standard_normal() * variances[j].sqrt() + mean[j]) as f32
    })
}

/// The reference side is the population itself (exact μ and Σ, as a
/// pytorch-fid statistics file holds them); the evaluated side 20,000 draws
/// of 64-d Gaussians with the same diagonal covariance and the mean moved by
/// 0.1 along one axis: the true Fréchet distance is exactly 0.1² = 0.01.
/// The authors' rule applies (counts 5,000 … 20,000, 15 points).
///
/// FID at N = 5,000 is ≈ 0.27, its bias, more than 10·k standard errors
/// away; FID∞ must remove nine tenths of that bias and lie within k = 3
/// standard errors of 0.01 — for at least 7 of 8 independent draws: the standard error
/// is the fit's, and the subsets all come from one draw of 20,000, whose own
/// sampling noise it does not see (numpy on the same draws, 12 seeds: 11 within
/// 3, the worst at 3.8 standard errors; the bias at 5k was 56–197 of them).
#[test]
fn fid_inf_removes_the_bias_of_a_known_frechet_distance() {
    let d = 64;
    let variances = Array1::linspace(0.5, 2.0, d);
    let real = FidStats {
        mu: Array1::zeros(d),
        sigma: Array2::from_diag(&variances),
        count: None,
    };
    let mut shifted = Array1::zeros(d);
    shifted[0] = 0.1;
    let truth = 0.01;
    let k = 3.0;
    let config = InfinityConfig::default();
    let mut within = 0;
    for seed in 0..8 {
        let fake = gaussian(seed, 20_000, &shifted, &variances);
        let (fit, _) = fid_infinity(&real, fake.view(), &config).unwrap();
        assert_eq!(fit.counts.first(), Some(&5000));
        let fid_5k = fit.values[0];
        assert!(
            fid_5k - truth > 10.0 * k * fit.stderr,
            "seed {seed}: FID at 5k {fid_5k} should be biased by many standard errors ({})",
            fit.stderr
        );
        assert!(
            (fit.value - truth).abs() < (fid_5k - truth) / 10.0,
            "seed {seed}: FID∞ {} should remove most of the bias of {fid_5k}",
            fit.value
        );
        if (fit.value - truth).abs() <= k * fit.stderr {
            within += 1;
        }
    }
    assert!(
        within >= 7,
        "only {within} of 8 draws within {k} standard errors"
    );
}

#[test]
fn sets_too_small_and_statistics_only_sides_are_refused() {
    let dir = temp_dir();
    let out = dir.path().join("scores.json");
    let with = |flags: &[&str]| {
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        score_args(&out, &flags)
    };
    let stats_only = vec![
        "score",
        "--real",
        infinity("real_stats.npz"),
        "--fake",
        infinity("real_stats.npz"),
        "--metrics",
        "fid_inf",
        "--json",
        s(&out),
    ];
    let no_real = vec![
        "score",
        "--fake",
        infinity("fake.npz"),
        "--metrics",
        "fid_inf",
        "--json",
        s(&out),
    ];
    // 600 samples: counts from 300 to 600 give at most 301 distinct ones.
    let too_many_points = with(&["--inf-points", "302"]);
    let above_the_set = with(&["--inf-min", "700"]);
    let two_points = with(&["--inf-points", "2"]);
    let one_sample = with(&["--inf-min", "1"]);
    let rows = [
        (
            &too_many_points,
            "--inf-points",
            &["600 samples", "--inf-min"][..],
        ),
        (&above_the_set, "--inf-min", &["700", "600"][..]),
        (&two_points, "--inf-points", &["at least 3"][..]),
        (&one_sample, "--inf-min", &["2 samples"][..]),
    ];
    let owned: Vec<Vec<&str>> = rows
        .iter()
        .map(|(args, _, _)| args.iter().map(String::as_str).collect())
        .collect();
    let mut table: Vec<Refusal> = owned
        .iter()
        .zip(rows)
        .map(|(args, (_, names, also))| Refusal {
            args: args.clone(),
            output: &out,
            names,
            also,
        })
        .collect();
    table.push(Refusal {
        args: stats_only,
        output: &out,
        names: "real_stats.npz",
        also: &["FID∞", "feature file"],
    });
    table.push(Refusal {
        args: no_real,
        output: &out,
        names: "--real",
        also: &["FID∞"],
    });
    for row in table {
        row.check();
    }
}
