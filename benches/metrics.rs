//! Criterion benches of the numeric core at Inception's 2048 dimensions.
//!
//! Run briefly: `cargo bench --bench metrics -- --sample-size 10`.
//! The FID inputs are also written to `target/bench-data/*.npz` so that
//! `benches/peer/fid_peer.py` can time pytorch-fid on exactly the same statistics.
//! The PR-DC features are `np.random.RandomState(seed).random_sample((2000, 2048))`
//! cast to float32 (seeds 41 and 42: two draws of one distribution, so all four
//! statistics are away from 0 and 1), so the `prdc` package can be timed on the
//! same inputs.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::{Array2, Axis};
use stackgan_eval::linalg::{trace_sqrt_by_eigen, trace_sqrt_product};
use stackgan_eval::metrics::{
    FidStats, KidConfig, PrdcConfig, StatsAccumulator, calibrate_duplicate_threshold,
    draw_resamples, frechet_distance, kernel_inception_distance, near_duplicate_rate, prdc,
    resampled_stats,
};
use stackgan_eval::rng::NumpyRandomState;

const D: usize = 2048;

/// Uniform features, squared and shifted for the second set (same recipe as the tests).
fn features(seed: u32, n: usize, square: bool) -> Array2<f32> {
    let mut rng = NumpyRandomState::new(seed);
    Array2::from_shape_simple_fn((n, D), || {
        let u = rng.random_sample();
        (if square { u * u * 1.5 + 0.1 } else { u }) as f32
    })
}

fn stats(x: &Array2<f32>) -> FidStats {
    let mut acc = StatsAccumulator::new(x.ncols());
    for batch in x.axis_chunks_iter(Axis(0), 50) {
        acc.add(batch).expect("bench features are finite");
    }
    acc.finish().expect("bench sets have ≥ 2 rows")
}

/// The two FID cases: positive definite (N = 2100 > D) and singular (N = 300 < D).
fn fid_cases() -> Vec<(&'static str, FidStats, FidStats)> {
    let cases = vec![
        (
            "pd",
            stats(&features(21, 2100, false)),
            stats(&features(22, 2100, true)),
        ),
        (
            "singular",
            stats(&features(11, 300, false)),
            stats(&features(12, 300, true)),
        ),
    ];
    let dir = Path::new("target/bench-data");
    if std::fs::create_dir_all(dir).is_ok() {
        for (name, a, b) in &cases {
            let _ = a.write_npz(&dir.join(format!("fid2048_{name}_a.npz")));
            let _ = b.write_npz(&dir.join(format!("fid2048_{name}_b.npz")));
        }
    }
    cases
}

fn bench_stats(c: &mut Criterion) {
    let x = features(1, 2000, false);
    let mut group = c.benchmark_group("stats_accumulate");
    group.sample_size(10);
    group.bench_function(BenchmarkId::new("n2000", D), |b| {
        b.iter(|| stats(black_box(&x)))
    });
    group.finish();
}

fn bench_trace_sqrt(c: &mut Criterion) {
    let cases = fid_cases();
    let mut group = c.benchmark_group("trace_sqrt_product");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for (name, a, b) in &cases {
        group.bench_function(BenchmarkId::new("auto", name), |bench| {
            bench.iter(|| trace_sqrt_product(a.sigma.view(), b.sigma.view()).expect("PSD inputs"))
        });
        group.bench_function(BenchmarkId::new("eigen_route", name), |bench| {
            bench.iter(|| trace_sqrt_by_eigen(a.sigma.view(), b.sigma.view()).expect("PSD inputs"))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("frechet_distance");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    for (name, a, b) in &cases {
        group.bench_function(BenchmarkId::new("d2048", name), |bench| {
            bench.iter(|| frechet_distance(a, b).expect("valid stats"))
        });
    }
    group.finish();
}

fn bench_kid(c: &mut Criterion) {
    let (real, fake) = (features(31, 2000, false), features(32, 2000, true));
    let cfg = KidConfig::default();
    let mut group = c.benchmark_group("kid");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.bench_function("default_2x2000x2048", |b| {
        b.iter(|| {
            kernel_inception_distance(real.view(), fake.view(), &cfg).expect("valid features")
        })
    });
    group.finish();
}

fn bench_prdc(c: &mut Criterion) {
    let (real, fake) = (features(41, 2000, false), features(42, 2000, false));
    let cfg = PrdcConfig::default();
    let mut group = c.benchmark_group("prdc");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.bench_function("k5_2x2000x2048", |b| {
        b.iter(|| prdc(real.view(), fake.view(), &cfg).expect("valid features"))
    });
    group.bench_function("near_duplicates_2x2000x2048", |b| {
        b.iter(|| {
            let threshold =
                calibrate_duplicate_threshold(real.view(), 0.05).expect("valid features");
            near_duplicate_rate(fake.view(), &threshold).expect("valid features")
        })
    });
    group.finish();
}

/// One FID bootstrap replicate at N = 10,000 per side, D = 2048: the
/// weighted statistics of both resamples (one gemm each) and the distance.
/// `--bootstrap B` costs B of these, run in parallel one per core.
fn bench_bootstrap_fid(c: &mut Criterion) {
    let (real, fake) = (features(51, 10_000, false), features(52, 10_000, true));
    let resamples = draw_resamples(0, &[10_000, 10_000], 1);
    let [r, f] = [&resamples[0][0], &resamples[0][1]];
    let mut group = c.benchmark_group("bootstrap_fid");
    group.sample_size(10).warm_up_time(Duration::from_secs(1));
    group.bench_function("replicate_2x10000x2048", |b| {
        b.iter(|| {
            let a = resampled_stats(real.view(), r).expect("valid features");
            let b = resampled_stats(fake.view(), f).expect("valid features");
            frechet_distance(&a, &b).expect("valid stats")
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_stats,
    bench_trace_sqrt,
    bench_kid,
    bench_prdc,
    bench_bootstrap_fid
);
criterion_main!(benches);
