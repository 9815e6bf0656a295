//! FID against pytorch-fid 0.3.0's `calculate_frechet_distance` (scipy sqrtm) on the
//! same statistics (tests/fixtures/metrics/make.py); tolerance 1e-5 relative.
//! Plus invariants: FID(x, x) ≈ 0, symmetry, a pure mean shift gives ‖δ‖².

use ndarray::{Array1, Array2, Axis};
use stackgan_eval::linalg::{SqrtRoute, trace_sqrt_by_eigen};
use stackgan_eval::metrics::{FidError, FidStats, StatsAccumulator, frechet_distance};
use stackgan_eval::rng::NumpyRandomState;

use crate::util::{assert_rel, fixture, json, npz_array, synthetic_features};

fn reference(key: &str) -> f64 {
    json(fixture("metrics/reference.json"))[key]
        .as_f64()
        .unwrap()
}

fn stats64(which: &str) -> FidStats {
    let file = fixture("metrics/stats64_ref.npz");
    FidStats {
        mu: npz_array(file, &format!("mu_{which}")),
        sigma: npz_array(file, &format!("sigma_{which}")),
        count: None,
    }
}

/// Statistics of make.py's `synthetic_features` (2048 columns), in one batch.
fn synthetic_stats(seed: u32, n: usize, square: bool) -> FidStats {
    let x = synthetic_features(seed, n, 2048, square);
    let mut acc = StatsAccumulator::new(2048);
    acc.add(x.view()).unwrap();
    acc.finish().unwrap()
}

/// make.py's `ill_conditioned_features`: column scales from 1e3 down to 1e-3.
fn ill_conditioned_stats(seed: u32, n: usize) -> FidStats {
    let mut rng = NumpyRandomState::new(seed);
    let t = Array2::from_shape_simple_fn((n, 2048), || rng.random_sample());
    let x = Array2::from_shape_fn((n, 2048), |(i, j)| {
        (t[[i, j]] * 10f64.powf(3.0 - 6.0 * j as f64 / 2048.0)) as f32
    });
    let mut acc = StatsAccumulator::new(2048);
    acc.add(x.view()).unwrap();
    acc.finish().unwrap()
}

#[test]
fn fid_64d_matches_pytorch_fid_and_is_symmetric() {
    let (a, b) = (stats64("a"), stats64("b"));
    let ab = frechet_distance(&a, &b).unwrap();
    let ba = frechet_distance(&b, &a).unwrap();
    assert_rel(ab.fid, reference("fid64_ab"), 1e-5, "FID(a,b)");
    assert_rel(ba.fid, reference("fid64_ba"), 1e-5, "FID(b,a)");
    assert_rel(ab.fid, ba.fid, 1e-12, "symmetry");
    assert_rel(ab.fid, ab.mean_term + ab.trace_term, 1e-15, "parts");
    assert!(ab.eps_added.is_none() && ab.warnings.is_empty());
}

#[test]
fn fid_of_identical_stats_is_float_noise_no_larger_than_pytorch_fids() {
    let a = stats64("a");
    let aa = frechet_distance(&a, &a).unwrap();
    assert_eq!(aa.mean_term, 0.0);
    // pytorch-fid gives -7.7e-13 here; allow the same order of float noise.
    assert!(
        aa.fid.abs() <= reference("fid64_aa").abs().max(1e-12) * 10.0,
        "{}",
        aa.fid
    );
}

#[test]
fn pure_mean_shift_gives_squared_norm() {
    let a = stats64("a");
    let delta = Array1::from_shape_fn(64, |i| 0.01 * i as f64 - 0.2);
    let shifted = FidStats {
        mu: &a.mu + &delta,
        ..a.clone()
    };
    let d = frechet_distance(&a, &shifted).unwrap();
    let expected = delta.dot(&delta);
    assert_rel(d.mean_term, expected, 1e-12, "mean term");
    assert!((d.fid - expected).abs() < 1e-9, "{} vs {expected}", d.fid);
}

#[test]
fn fid_2048d_singular_matches_pytorch_fid_and_warns() {
    let (a, b) = (
        synthetic_stats(11, 300, false),
        synthetic_stats(12, 300, true),
    );
    let ab = frechet_distance(&a, &b).unwrap();
    assert_rel(
        ab.fid,
        reference("fid2048_singular_ab"),
        1e-5,
        "singular FID(a,b)",
    );
    assert!(
        ab.warnings.iter().any(|w| w.contains("N=300 < D=2048")),
        "{:?}",
        ab.warnings
    );
    assert_eq!(ab.sqrt_route, SqrtRoute::Eigen);
    let aa = frechet_distance(&a, &a).unwrap();
    // scipy's sqrtm gives -1.5e-5 here; dropping eigenvalues under n·ε·λmax keeps us near 0.
    assert!(
        aa.fid.abs() <= reference("fid2048_singular_aa").abs(),
        "FID(a,a) = {}",
        aa.fid
    );
    assert!(aa.fid.abs() < 1e-9, "FID(a,a) = {}", aa.fid);
}

#[test]
fn fid_2048d_positive_definite_matches_pytorch_fid_on_every_route() {
    let (a, b) = (
        synthetic_stats(21, 2100, false),
        synthetic_stats(22, 2100, true),
    );
    let ab = frechet_distance(&a, &b).unwrap();
    assert_rel(ab.fid, reference("fid2048_pd_ab"), 1e-5, "PD FID(a,b)");
    assert_eq!(ab.sqrt_route, SqrtRoute::CholeskyFirst);
    let via_cholesky = (a.sigma.diag().sum() + b.sigma.diag().sum() - ab.trace_term) / 2.0;
    let eigen = trace_sqrt_by_eigen(a.sigma.view(), b.sigma.view()).unwrap();
    assert_rel(eigen.trace, via_cholesky, 1e-10, "Cholesky vs eigen route");
}

/// Real Inception features have covariances with condition numbers of 1e10 and
/// more; small eigenvalues of the product are real signal there, not noise.
#[test]
fn fid_2048d_ill_conditioned_matches_pytorch_fid() {
    let (a, b) = (
        ill_conditioned_stats(31, 2100),
        ill_conditioned_stats(32, 2100),
    );
    assert!(reference("fid2048_illcond_condition") > 1e9);
    let ab = frechet_distance(&a, &b).unwrap();
    assert_rel(
        ab.fid,
        reference("fid2048_illcond_ab"),
        1e-5,
        "ill-conditioned FID(a,b)",
    );
    let ba = frechet_distance(&b, &a).unwrap();
    // Condition ~1e14: the two factorisations agree to rounding amplified by it.
    assert_rel(ba.fid, ab.fid, 1e-7, "symmetry");
}

#[test]
fn mismatched_or_non_finite_stats_are_errors() {
    let a = stats64("a");
    let small = FidStats {
        mu: a.mu.slice(ndarray::s![..10]).to_owned(),
        sigma: a.sigma.slice(ndarray::s![..10, ..10]).to_owned(),
        count: None,
    };
    let err = frechet_distance(&a, &small).unwrap_err();
    assert!(matches!(err, FidError::Dimension { a: 64, b: 10 }));
    assert!(err.to_string().contains("D=64") && err.to_string().contains("D=10"));
    let mut nan = a.clone();
    nan.sigma[[2, 2]] = f64::NAN;
    assert!(matches!(
        frechet_distance(&a, &nan),
        Err(FidError::NonFinite { which: "second" })
    ));
}

#[test]
fn non_psd_input_is_reported_not_hidden() {
    let a = stats64("a");
    let mut bent = a.clone();
    let v = bent.sigma.index_axis(Axis(0), 0).to_owned();
    // Subtract a large rank-one term so sigma gets a clearly negative eigenvalue.
    let outer = v
        .view()
        .insert_axis(Axis(1))
        .dot(&v.view().insert_axis(Axis(0)));
    bent.sigma = &bent.sigma - &(outer * (4.0 / v[0]));
    let d = frechet_distance(&a, &bent).unwrap();
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("negative eigenvalues")),
        "{:?}",
        d.warnings
    );
}
