//! t-SNE maps, their PCA and trustworthiness.
//!
//! References (tests/fixtures/tsne/make.py): PCA scores from numpy's SVD (within
//! 1e-10 of the largest score), trustworthiness from scikit-learn (within 1e-12).
//! t-SNE itself has no bit-level reference (scikit-learn's optimiser differs), so it
//! is checked by what a map must show: separated clusters, high trustworthiness,
//! the same bits for the same seed, and the perplexity limit checked up front.

use ndarray::{Array2, ArrayView2, Axis, concatenate, s};
use stackgan_eval::analysis::{
    PcaError, TrustworthinessError, TsneConfig, TsneError, embed, largest_perplexity,
    principal_components, trustworthiness,
};
use stackgan_eval::rng::NumpyRandomState;

use crate::util::{fixture, json, npz_array, with_threads};

fn npz_f32(file: &str, name: &str) -> Array2<f32> {
    npz_array(fixture(&format!("tsne/{file}")), name)
}

fn npz_f64(file: &str, name: &str) -> Array2<f64> {
    npz_array(fixture(&format!("tsne/{file}")), name)
}

/// `per_cluster` points around each of `clusters` centres in `dim` dimensions:
/// centres 10 apart on average, unit noise; rows grouped by cluster.
fn gaussian_clusters(seed: u32, clusters: usize, per_cluster: usize, dim: usize) -> Array2<f32> {
    let mut rng = NumpyRandomState::new(seed);
    let centres = Array2::from_shape_simple_fn((clusters, dim), || rng.standard_normal() * 7.0);
    Array2::from_shape_fn((clusters * per_cluster, dim), |(i, j)| {
        (centres[[i / per_cluster, j]] + rng.standard_normal()) as f32
    })
}

/// Fraction of points whose nearest map neighbour carries the same label.
fn nearest_neighbour_agreement(map: ArrayView2<f64>, labels: &[usize]) -> f64 {
    let n = map.nrows();
    let agree = (0..n)
        .filter(|&i| {
            let nearest = (0..n)
                .filter(|&j| j != i)
                .min_by(|&a, &b| {
                    let da = (&map.row(a) - &map.row(i)).mapv(|v| v * v).sum();
                    let db = (&map.row(b) - &map.row(i)).mapv(|v| v * v).sum();
                    da.total_cmp(&db)
                })
                .unwrap();
            labels[nearest] == labels[i]
        })
        .count();
    agree as f64 / n as f64
}

fn assert_close(got: &Array2<f64>, expected: &Array2<f64>, tol: f64, what: &str) {
    assert_eq!(got.dim(), expected.dim(), "{what}: shape");
    let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let worst = (got - expected).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(
        worst <= tol * scale,
        "{what}: max |diff| {worst} vs scale {scale}"
    );
}

#[test]
fn pca_scores_match_numpy_svd_on_both_routes() {
    let tall = npz_f32("pca.npz", "tall");
    let scores = principal_components(tall.view(), 5).unwrap();
    assert_close(
        &scores,
        &npz_f64("pca.npz", "tall_scores"),
        1e-10,
        "60×12, scatter route",
    );

    let wide = npz_f32("pca.npz", "wide");
    let scores = principal_components(wide.view(), 6).unwrap();
    assert_close(
        &scores,
        &npz_f64("pca.npz", "wide_scores"),
        1e-10,
        "10×30, Gram route",
    );
}

unsafe extern "C" {
    fn openblas_set_num_threads(threads: std::ffi::c_int);
}

#[test]
fn pca_is_bit_identical_whatever_the_blas_thread_count() {
    // Large enough for OpenBLAS to thread the eigen-solver's matrix-vector products,
    // whose sums then depend on the thread count.
    let features = gaussian_clusters(9, 8, 100, 700);
    let with_threads = |threads| {
        // SAFETY: sets OpenBLAS's global thread count.
        unsafe { openblas_set_num_threads(threads) };
        principal_components(features.view(), 50).unwrap()
    };
    let one = with_threads(1);
    for threads in [2, 3] {
        let again = with_threads(threads);
        let same = one
            .iter()
            .zip(again.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{threads} BLAS threads changed the PCA scores");
    }
}

#[test]
fn pca_keeps_at_most_the_available_dimensions() {
    let wide = npz_f32("pca.npz", "wide");
    assert_eq!(
        principal_components(wide.view(), 50).unwrap().dim(),
        (10, 10)
    );
    let tall = npz_f32("pca.npz", "tall");
    assert_eq!(
        principal_components(tall.view(), 50).unwrap().dim(),
        (60, 12)
    );
    assert!(matches!(
        principal_components(tall.view(), 0),
        Err(PcaError::NoComponents)
    ));
}

#[test]
fn trustworthiness_matches_sklearn() {
    let high = npz_f32("trust.npz", "high");
    let low = npz_f64("trust.npz", "low");
    let json = json(fixture("tsne/reference.json"));
    let reference = json["trustworthiness"].as_object().unwrap();
    assert_eq!(reference.len(), 5);
    for (k, expected) in reference {
        let k: usize = k.parse().unwrap();
        let expected = expected.as_f64().unwrap();
        let got = trustworthiness(high.view(), low.view(), k).unwrap();
        assert!(
            (got - expected).abs() <= 1e-12,
            "k = {k}: {got} vs sklearn {expected}"
        );
    }
}

#[test]
fn trustworthiness_is_one_for_an_isometric_map() {
    // Points that live in a plane, mapped by a rotation and a shift: every map
    // neighbour is a true neighbour.
    let mut rng = NumpyRandomState::new(3);
    let plane = Array2::from_shape_simple_fn((50, 2), || rng.standard_normal());
    let mut high = Array2::<f32>::zeros((50, 6));
    high.slice_mut(s![.., 1..3])
        .assign(&plane.mapv(|v| v as f32));
    let (c, s_) = (0.6f64, 0.8f64);
    let low = Array2::from_shape_fn((50, 2), |(i, j)| {
        let (x, y) = (f64::from(high[[i, 1]]), f64::from(high[[i, 2]]));
        if j == 0 {
            c * x - s_ * y + 5.0
        } else {
            s_ * x + c * y - 1.0
        }
    });
    assert_eq!(trustworthiness(high.view(), low.view(), 7).unwrap(), 1.0);
}

#[test]
fn trustworthiness_rejects_bad_inputs() {
    let high = npz_f32("trust.npz", "high");
    let low = npz_f64("trust.npz", "low");
    let err = trustworthiness(high.view(), low.view(), 60).unwrap_err();
    assert!(
        matches!(err, TrustworthinessError::Neighbours { max: 59, .. }),
        "{err}"
    );
    assert!(trustworthiness(high.view(), low.view(), 0).is_err());
    let err = trustworthiness(high.view(), low.slice(s![..100, ..]), 5).unwrap_err();
    assert!(
        matches!(err, TrustworthinessError::RowMismatch { .. }),
        "{err}"
    );
}

#[test]
fn tsne_separates_three_gaussian_clusters() {
    let features = gaussian_clusters(11, 3, 100, 64);
    let labels: Vec<usize> = (0..300).map(|i| i / 100).collect();
    let map = embed(features.view(), &TsneConfig::default()).unwrap();
    assert_eq!(map.dim(), (300, 2));
    assert!(map.iter().all(|v| v.is_finite()));
    let agreement = nearest_neighbour_agreement(map.view(), &labels);
    assert!(
        agreement > 0.95,
        "1-NN label agreement in the map: {agreement}"
    );
    let trust = trustworthiness(features.view(), map.view(), 10).unwrap();
    assert!(trust > 0.9, "trustworthiness {trust}");
}

#[test]
fn tsne_is_bit_identical_for_a_seed_whatever_the_thread_count() {
    // Duplicated rows (as a collapsed generator gives) are the case where neighbour
    // searches can tie.
    let base = gaussian_clusters(5, 2, 40, 16);
    let features = concatenate(Axis(0), &[base.view(), base.slice(s![..20, ..])]).unwrap();
    let cfg = TsneConfig {
        perplexity: 10.0,
        iterations: 300,
        seed: 42,
        ..TsneConfig::default()
    };
    let run = |threads: usize| with_threads(threads, || embed(features.view(), &cfg).unwrap());
    let first = run(1);
    for threads in [1, 2, 3] {
        let again = run(threads);
        let same = first
            .iter()
            .zip(again.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{threads} threads gave a different map");
    }
    let other_seed = embed(
        features.view(),
        &TsneConfig {
            seed: 43,
            ..cfg.clone()
        },
    )
    .unwrap();
    assert!(
        other_seed != first,
        "a different seed must give a different map"
    );
}

#[test]
fn perplexity_too_large_is_refused_before_any_work() {
    // 40 samples allow at most (40 − 1) / 3 = 13 — and NaN features are not even
    // looked at, so the check comes first.
    let features = Array2::from_elem((40, 8), f32::NAN);
    let cfg = TsneConfig {
        perplexity: 13.5,
        ..TsneConfig::default()
    };
    let err = embed(features.view(), &cfg).unwrap_err();
    assert!(
        matches!(err, TsneError::PerplexityTooLarge { samples: 40, largest, .. } if largest == 13.0),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains("--perplexity") && message.contains("13"),
        "{message}"
    );
    assert_eq!(largest_perplexity(100), 33.0);
    assert_eq!(largest_perplexity(102), 33.66);
}

#[test]
fn invalid_settings_and_features_are_errors() {
    let features = gaussian_clusters(1, 2, 20, 8);
    let with = |cfg: TsneConfig| embed(features.view(), &cfg).unwrap_err();
    let base = TsneConfig {
        perplexity: 5.0,
        ..TsneConfig::default()
    };
    assert!(matches!(
        with(TsneConfig {
            perplexity: 0.5,
            ..base.clone()
        }),
        TsneError::Perplexity { .. }
    ));
    assert!(matches!(
        with(TsneConfig {
            theta: 0.0,
            ..base.clone()
        }),
        TsneError::Theta { .. }
    ));
    assert!(matches!(
        with(TsneConfig {
            iterations: 100,
            ..base.clone()
        }),
        TsneError::Iterations { .. }
    ));
    assert!(matches!(
        with(TsneConfig {
            pca_dims: 1,
            ..base.clone()
        }),
        TsneError::PcaDims { .. }
    ));

    let mut bad = features.clone();
    bad[[7, 3]] = f32::INFINITY;
    let err = embed(bad.view(), &base).unwrap_err();
    assert!(
        matches!(
            err,
            TsneError::NonFinite {
                row: 7,
                column: 3,
                ..
            }
        ),
        "{err}"
    );

    let same = Array2::from_elem((40, 8), 0.25f32);
    assert!(matches!(
        embed(same.view(), &base).unwrap_err(),
        TsneError::IdenticalSamples { .. }
    ));
    let tiny = Array2::from_elem((3, 8), 0.25f32);
    assert!(matches!(
        embed(tiny.view(), &base).unwrap_err(),
        TsneError::TooFewSamples { .. }
    ));
}
