//! KID against torch-fidelity 0.4's `kid_features_to_metric` on the same features
//! and seeds (tests/fixtures/metrics/make.py).
//!
//! We compute kernels in float64. Against torch-fidelity fed float64 features the
//! tolerance is 1e-10 relative. torch-fidelity's native float32 kernels carry float32
//! rounding (measured gap on these fixtures: ≤ 1e-6 relative on the mean, ≤ 6e-6 on
//! the std), so that comparison uses 5e-6 (mean) and 2e-5 (std).

use ndarray::Array2;
use stackgan_eval::metrics::{KidConfig, KidError, kernel_inception_distance};

use crate::util::{assert_rel, fixture, json, with_threads};

fn reference(key: &str) -> (f64, f64) {
    let json = json(fixture("metrics/reference.json"));
    (
        json[key][0].as_f64().unwrap(),
        json[key][1].as_f64().unwrap(),
    )
}

fn features(name: &str) -> Array2<f32> {
    ndarray_npy::read_npy(fixture(&format!("metrics/kid_{name}.npy"))).unwrap()
}

fn default_like() -> KidConfig {
    KidConfig {
        subsets: 20,
        subset_size: 100,
        ..KidConfig::default()
    }
}

fn alt() -> KidConfig {
    KidConfig {
        subsets: 10,
        subset_size: 50,
        degree: 2,
        gamma: Some(0.05),
        coef0: 0.5,
        seed: 7,
    }
}

#[test]
fn kid_matches_torch_fidelity_on_float64_features() {
    let (real, fake) = (features("real"), features("fake"));
    // default_like takes the all-pairs Gram route, alt the per-subset route.
    for (cfg, key) in [
        (default_like(), "kid_default_like_f64"),
        (alt(), "kid_alt_f64"),
    ] {
        let kid = kernel_inception_distance(real.view(), fake.view(), &cfg).unwrap();
        let (mean, std) = reference(key);
        assert_rel(kid.mean, mean, 1e-10, &format!("{key} mean"));
        assert_rel(kid.std, std, 1e-10, &format!("{key} std"));
        assert_eq!(
            (kid.subsets, kid.subset_size),
            (cfg.subsets, cfg.subset_size)
        );
    }
}

#[test]
fn kid_is_within_float32_noise_of_torch_fidelity_native() {
    let (real, fake) = (features("real"), features("fake"));
    for (cfg, key) in [
        (default_like(), "kid_default_like_f32"),
        (alt(), "kid_alt_f32"),
    ] {
        let kid = kernel_inception_distance(real.view(), fake.view(), &cfg).unwrap();
        let (mean, std) = reference(key);
        assert_rel(kid.mean, mean, 5e-6, &format!("{key} mean"));
        assert_rel(kid.std, std, 2e-5, &format!("{key} std"));
    }
}

#[test]
fn kid_of_a_set_with_itself_is_near_zero_and_thread_count_does_not_matter() {
    let real = features("real");
    let same = kernel_inception_distance(real.view(), real.view(), &default_like()).unwrap();
    // Unbiased estimator: zero in expectation; with 20 subsets of 100 the subset noise
    // stays an order of magnitude below the real-vs-fake distance.
    assert!(
        same.mean.abs() < 0.1 * reference("kid_default_like_f64").0,
        "{}",
        same.mean
    );
    let fake = features("fake");
    let run = |threads| {
        with_threads(threads, || {
            kernel_inception_distance(real.view(), fake.view(), &alt()).unwrap()
        })
    };
    let (one, four) = (run(1), run(4));
    assert_eq!(one.mean.to_bits(), four.mean.to_bits());
    assert_eq!(one.std.to_bits(), four.std.to_bits());
}

#[test]
fn too_few_samples_names_the_flag_and_the_fix() {
    let (real, fake) = (features("real"), features("fake"));
    let cfg = KidConfig {
        subset_size: 260,
        ..default_like()
    };
    let err = kernel_inception_distance(real.view(), fake.view(), &cfg).unwrap_err();
    assert!(matches!(
        err,
        KidError::TooFewSamples {
            which: "fake",
            n: 250,
            subset_size: 260
        }
    ));
    let msg = err.to_string();
    assert!(
        msg.contains("--kid-subset-size") && msg.contains("at most 250"),
        "{msg}"
    );
    let narrow = Array2::<f32>::zeros((300, 8));
    assert!(matches!(
        kernel_inception_distance(real.view(), narrow.view(), &default_like()),
        Err(KidError::Dimension { real: 64, fake: 8 })
    ));
}
