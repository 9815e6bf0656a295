//! FidStats I/O and StatsAccumulator against numpy (`mean`, `np.cov`), with the
//! fixtures of tests/fixtures/metrics/make.py. Tolerance vs numpy: 1e-12 relative
//! to the largest magnitude of the array.

use std::path::Path;

use ndarray::{Array1, Array2, ArrayView2, Axis, s};
use stackgan_eval::metrics::{FidStats, StatsAccumulator, StatsError};

use crate::util::{assert_rel, fixture, json, npz_array, synthetic_features, temp_dir};

fn ref_stats(which: &str) -> (Array1<f64>, Array2<f64>) {
    let file = fixture("metrics/stats64_ref.npz");
    (
        npz_array(file, &format!("mu_{which}")),
        npz_array(file, &format!("sigma_{which}")),
    )
}

fn features(which: &str) -> Array2<f32> {
    ndarray_npy::read_npy(fixture(&format!("metrics/feats64_{which}.npy"))).unwrap()
}

fn max_rel_diff<'a>(
    a: impl IntoIterator<Item = &'a f64>,
    b: impl IntoIterator<Item = &'a f64>,
) -> f64 {
    let pairs: Vec<(f64, f64)> = a.into_iter().copied().zip(b.into_iter().copied()).collect();
    let scale = pairs.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    pairs.iter().map(|(x, y)| (x - y).abs()).fold(0.0, f64::max) / scale
}

fn accumulate(x: ArrayView2<f32>, batch: usize) -> FidStats {
    let mut acc = StatsAccumulator::new(x.ncols());
    for chunk in x.axis_chunks_iter(Axis(0), batch) {
        acc.add(chunk).unwrap();
    }
    acc.finish().unwrap()
}

#[test]
fn accumulated_stats_match_numpy_mean_and_cov() {
    for which in ["a", "b"] {
        let stats = accumulate(features(which).view(), 64);
        let (mu, sigma) = ref_stats(which);
        assert!(max_rel_diff(&stats.mu, &mu) < 1e-12, "mu {which}");
        assert!(max_rel_diff(&stats.sigma, &sigma) < 1e-12, "sigma {which}");
        assert_eq!(stats.count, Some(features(which).nrows() as u64));
    }
}

#[test]
fn batch_size_does_not_change_a_single_bit() {
    let x = features("a");
    let whole = accumulate(x.view(), x.nrows());
    for batch in [1, 7, 50, 256, 300] {
        let s = accumulate(x.view(), batch);
        assert_eq!(s.mu, whole.mu, "batch {batch}");
        assert_eq!(s.sigma, whole.sigma, "batch {batch}");
    }
}

#[test]
fn merged_shards_equal_the_whole() {
    let x = features("b");
    let whole = accumulate(x.view(), 100);
    let mut merged = StatsAccumulator::new(64);
    for (lo, hi) in [(0, 37), (37, 300), (300, 400)] {
        let mut shard = StatsAccumulator::new(64);
        shard.add(x.slice(s![lo..hi, ..])).unwrap();
        merged.merge(&shard).unwrap();
    }
    assert_eq!(merged.count(), 400);
    let merged = merged.finish().unwrap();
    assert!(max_rel_diff(&merged.mu, &whole.mu) < 1e-14);
    assert!(max_rel_diff(&merged.sigma, &whole.sigma) < 1e-13);
}

#[test]
fn large_offset_features_keep_their_digits() {
    // Centring by blocks (no E[xxᵀ] − μμᵀ): a 1e4 offset must not change the covariance.
    let x = features("a");
    let shifted = x.mapv(|v| v + 1.0e4);
    let base = accumulate(x.view(), 50);
    let moved = accumulate(shifted.view(), 50);
    // f32 rounding of x + 1e4 moves each value by up to ~5e-4; compare against the
    // covariance of the rounded data itself, computed densely in f64.
    let xs = shifted.mapv(f64::from);
    let mean = xs.mean_axis(Axis(0)).unwrap();
    let c = &xs - &mean;
    let dense = c.t().dot(&c) / (xs.nrows() as f64 - 1.0);
    assert!(max_rel_diff(&moved.sigma, &dense) < 1e-10);
    assert!(max_rel_diff(&moved.sigma, &base.sigma) < 1e-3);
}

#[test]
fn synthetic_2048_features_match_numpy_stats() {
    let json = json(fixture("metrics/reference.json"));
    let stats = accumulate(synthetic_features(11, 300, 2048, false).view(), 50);
    let check = |got: f64, key: &str, tol: f64| {
        assert_rel(got, json[key].as_f64().unwrap(), tol, key);
    };
    check(
        stats.sigma.diag().sum(),
        "stats2048_singular_a_trace",
        1e-12,
    );
    check(stats.mu.sum(), "stats2048_singular_a_mu_sum", 1e-12);
    check(stats.sigma[[0, 5]], "stats2048_singular_a_sigma_0_5", 1e-10);
}

#[test]
fn reads_float32_plain_and_float64_compressed_npz() {
    let (mu_a, sigma_a) = ref_stats("a");
    let a = FidStats::read_npz(Path::new(fixture("metrics/stats64_a_f32.npz"))).unwrap();
    assert!(max_rel_diff(&a.mu, &mu_a) < 1e-6);
    assert!(max_rel_diff(&a.sigma, &sigma_a) < 1e-6);
    assert_eq!(a.count, None);
    let (mu_b, sigma_b) = ref_stats("b");
    let b = FidStats::read_npz(Path::new(fixture("metrics/stats64_b_compressed.npz"))).unwrap();
    assert_eq!(b.mu, mu_b);
    assert_eq!(b.sigma, sigma_b);
    assert_eq!(b.dim(), 64);
}

#[test]
fn write_then_read_round_trips_exactly() {
    let dir = temp_dir();
    let path = dir.path().join("stats.npz");
    let stats = accumulate(features("a").view(), 64);
    stats.write_npz(&path).unwrap();
    let back = FidStats::read_npz(&path).unwrap();
    assert_eq!(back.mu, stats.mu);
    assert_eq!(back.sigma, stats.sigma);
    assert_eq!(back.count, Some(500));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "temporary file left behind"
    );
}

fn read_err(name: &str) -> StatsError {
    FidStats::read_npz(Path::new(fixture(&format!("metrics/{name}")))).unwrap_err()
}

#[test]
fn malformed_files_give_errors_that_name_the_file() {
    let cases = [
        ("stats_truncated.npz", "not a readable .npz"),
        ("stats_wrong_shape.npz", "`mu` has shape (5,)"),
        ("stats_missing_sigma.npz", "no array `sigma`"),
        ("stats_nan.npz", "NaN"),
        ("does_not_exist.npz", "cannot open"),
    ];
    for (name, fragment) in cases {
        let msg = read_err(name).to_string();
        assert!(
            msg.contains(name) && msg.contains(fragment),
            "{name}: {msg}"
        );
    }
}

#[test]
fn accumulator_rejects_bad_input() {
    let mut acc = StatsAccumulator::new(64);
    assert!(matches!(
        acc.finish(),
        Err(StatsError::TooFewSamples { count: 0 })
    ));
    acc.add(features("a").slice(s![0..1, ..])).unwrap();
    assert!(matches!(
        acc.finish(),
        Err(StatsError::TooFewSamples { count: 1 })
    ));
    let wrong = Array2::<f32>::zeros((3, 10));
    assert!(matches!(
        acc.add(wrong.view()),
        Err(StatsError::Dimension {
            expected: 64,
            got: 10
        })
    ));
    let mut nan = Array2::<f32>::zeros((2, 64));
    nan[[1, 3]] = f32::NAN;
    assert!(matches!(
        acc.add(nan.view()),
        Err(StatsError::NonFiniteFeatures)
    ));
    assert!(acc.merge(&StatsAccumulator::new(8)).is_err());
}
