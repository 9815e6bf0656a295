//! PR-DC and the near-duplicate rate against the authors' `prdc` package
//! (`compute_prdc`, version in reference.json) and numpy (`np.quantile` over scipy
//! `cdist` nearest-neighbour distances), on the seeded sets of
//! tests/fixtures/prdc/make.py.
//!
//! The statistics are counts divided by sample counts, so they must agree exactly;
//! the tolerance is 1e-9 relative (1e-12 for the threshold distance, an
//! interpolation of two float64 distances). The package is checked both on float64
//! features and on float32 ones (float32 distances): on these fixtures all agree.

use ndarray::{Array2, Axis, concatenate, s};
use serde_json::Value;
use stackgan_eval::metrics::{
    DuplicateThreshold, Prdc, PrdcConfig, PrdcError, calibrate_duplicate_threshold,
    near_duplicate_rate, prdc,
};

use crate::util::{assert_rel, fixture, json, npz_array, with_threads};

fn features(name: &str) -> Array2<f32> {
    npz_array(fixture("prdc/features.npz"), name)
}

fn reference() -> Value {
    json(fixture("prdc/reference.json"))
}

fn fields(p: &Prdc) -> [(&'static str, f64); 4] {
    [
        ("precision", p.precision),
        ("recall", p.recall),
        ("density", p.density),
        ("coverage", p.coverage),
    ]
}

#[test]
fn prdc_matches_the_prdc_package() {
    let json = reference();
    let cases = json["prdc"].as_object().unwrap();
    assert_eq!(cases.len(), 24);
    for (name, case) in cases {
        let real = features(case["real"].as_str().unwrap());
        let fake = features(case["fake"].as_str().unwrap());
        let k = case["k"].as_u64().unwrap() as usize;
        let got = prdc(real.view(), fake.view(), &PrdcConfig { k }).unwrap();
        assert_eq!(
            (got.k, got.n_real, got.n_fake),
            (k, real.nrows(), fake.nrows())
        );
        for variant in ["prdc_f64", "prdc_f32"] {
            for (field, value) in fields(&got) {
                let expected = case[variant][field].as_f64().unwrap();
                assert_rel(value, expected, 1e-9, &format!("{name} {variant} {field}"));
            }
        }
    }
}

#[test]
fn duplicate_threshold_and_rates_match_numpy() {
    let json = reference();
    let cases = json["duplicates"].as_object().unwrap();
    assert_eq!(cases.len(), 6);
    for (name, case) in cases {
        let real = features(case["set"].as_str().unwrap());
        let q = case["quantile"].as_f64().unwrap();
        let threshold = calibrate_duplicate_threshold(real.view(), q).unwrap();
        assert_eq!((threshold.quantile, threshold.dim), (q, real.ncols()));
        let expected = case["distance"].as_f64().unwrap();
        assert_rel(threshold.distance, expected, 1e-12, name);
        for (set, rate) in case["rates"].as_object().unwrap() {
            let got = near_duplicate_rate(features(set).view(), &threshold).unwrap();
            assert_rel(got, rate.as_f64().unwrap(), 1e-9, &format!("{name} {set}"));
        }
    }
}

#[test]
fn a_set_against_itself_is_fully_precise_and_covered() {
    for d in [8, 64] {
        let x = features(&format!("real{d}"));
        for k in [1, 3, 5, 10] {
            let p = prdc(x.view(), x.view(), &PrdcConfig { k }).unwrap();
            // Without tied distances each real ball holds exactly k samples: density 1.
            for (field, value) in fields(&p) {
                assert_eq!(value, 1.0, "D={d} k={k} {field}");
            }
        }
    }
}

#[test]
fn collapse_is_visible_in_recall_coverage_and_near_duplicates() {
    for d in [8, 64] {
        let real = features(&format!("real{d}"));
        let cfg = PrdcConfig::default();
        let heldout = prdc(real.view(), features(&format!("heldout{d}")).view(), &cfg).unwrap();
        let collapsed = prdc(real.view(), features(&format!("collapsed{d}")).view(), &cfg).unwrap();
        assert!(
            heldout.recall > 0.7 && heldout.coverage > 0.9,
            "{heldout:?}"
        );
        assert!(
            collapsed.recall < 0.1 && collapsed.coverage < 0.2,
            "{collapsed:?}"
        );

        let threshold = calibrate_duplicate_threshold(real.view(), 0.05).unwrap();
        let rate = |name: &str| {
            near_duplicate_rate(features(&format!("{name}{d}")).view(), &threshold).unwrap()
        };
        assert!((rate("real") - 0.05).abs() <= 0.01, "real {}", rate("real"));
        assert!(rate("heldout") <= 0.1, "heldout {}", rate("heldout"));
        assert!(rate("collapsed") >= 0.99, "collapsed {}", rate("collapsed"));
    }
}

#[test]
fn results_are_bit_identical_for_any_thread_count_and_layout() {
    // 200 and 150 rows span several 64-row blocks; D = 67 exercises the lane tail.
    let widen = |x: Array2<f32>| concatenate![Axis(1), x, x.slice(s![.., ..3])];
    let (real, fake) = (widen(features("real64")), widen(features("collapsed64")));
    let run = |real: ndarray::ArrayView2<f32>, fake: ndarray::ArrayView2<f32>| {
        let p = prdc(real, fake, &PrdcConfig { k: 4 }).unwrap();
        let t = calibrate_duplicate_threshold(real, 0.05).unwrap();
        let rate = near_duplicate_rate(fake, &t).unwrap();
        (
            fields(&p).map(|(_, v)| v.to_bits()),
            t.distance.to_bits(),
            rate.to_bits(),
        )
    };
    let one = with_threads(1, || run(real.view(), fake.view()));
    let four = with_threads(4, || run(real.view(), fake.view()));
    assert_eq!(one, four);
    // A column-major copy takes the copying path and must not change a bit.
    let (real_f, fake_f) = (real.t().to_owned(), fake.t().to_owned());
    let transposed = with_threads(3, || run(real_f.t(), fake_f.t()));
    assert_eq!(one, transposed);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let real = features("real8");
    let cfg = PrdcConfig::default();
    let err = |r: Result<Prdc, PrdcError>| r.unwrap_err().to_string();

    let msg = err(prdc(real.view(), real.slice(s![..5, ..]), &cfg));
    assert!(
        msg.contains("k = 5") && msg.contains("fake set, which has 5"),
        "{msg}"
    );
    let msg = err(prdc(real.view(), real.view(), &PrdcConfig { k: 0 }));
    assert!(msg.contains("at least 1"), "{msg}");
    let msg = err(prdc(real.slice(s![..0, ..]), real.view(), &cfg));
    assert!(msg.contains("real feature set is empty"), "{msg}");
    let msg = err(prdc(real.view(), features("real64").view(), &cfg));
    assert!(msg.contains("real D=8, fake D=64"), "{msg}");
    let mut nan = real.clone();
    nan[[7, 3]] = f32::NAN;
    let msg = err(prdc(real.view(), nan.view(), &cfg));
    assert!(msg.contains("fake features contain NaN"), "{msg}");
    assert!(prdc(real.view(), real.slice(s![..6, ..]), &cfg).is_ok());

    for q in [0.0, 1.0, -0.1, f64::NAN] {
        let msg = calibrate_duplicate_threshold(real.view(), q)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("strictly between 0 and 1"), "{msg}");
    }
    let msg = calibrate_duplicate_threshold(real.slice(s![..1, ..]), 0.05)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("at least 2 samples"), "{msg}");
    let threshold = calibrate_duplicate_threshold(real.view(), 0.05).unwrap();
    let msg = near_duplicate_rate(features("real64").view(), &threshold)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("D=8") && msg.contains("D=64"), "{msg}");
    let msg = near_duplicate_rate(nan.view(), &threshold)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("NaN"), "{msg}");
    let broken = DuplicateThreshold {
        distance: f64::NAN,
        ..threshold
    };
    let msg = near_duplicate_rate(real.view(), &broken)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("threshold distance"), "{msg}");
}
