//! Inception Score against torch-fidelity 0.4's `isc_features_to_metric`, against
//! torch.chunk splits computed in torch, and against a numpy transcription of
//! StackGAN's `inception_score.py` (tests/fixtures/metrics/make.py), all on the same
//! float32 logits. Tolerance 1e-9 relative (float64 throughout; the brief's bound is 1e-6).

use ndarray::Array2;
use stackgan_eval::metrics::{IsConfig, IsError, SplitRule, inception_score};

use crate::util::{assert_rel, fixture, json};

const TOL: f64 = 1e-9;

/// `[mean, std]` or `[mean, std, [split scores]]` of one reference case.
fn reference(key: &str) -> Vec<serde_json::Value> {
    json(fixture("metrics/reference.json"))[key]
        .as_array()
        .unwrap()
        .clone()
}

fn logits() -> Array2<f64> {
    let l: Array2<f32> = ndarray_npy::read_npy(fixture("metrics/is_logits.npy")).unwrap();
    l.mapv(f64::from)
}

fn check(cfg: &IsConfig, key: &str) {
    let score = inception_score(logits().view(), cfg).unwrap();
    let expected = reference(key);
    let value = |v: &serde_json::Value| v.as_f64().unwrap();
    assert_rel(score.mean, value(&expected[0]), TOL, &format!("{key} mean"));
    assert_rel(score.std, value(&expected[1]), TOL, &format!("{key} std"));
    if let Some(splits) = expected.get(2) {
        let splits = splits.as_array().unwrap();
        assert_eq!(score.split_scores.len(), splits.len(), "{key} parts");
        for (i, (got, exp)) in score.split_scores.iter().zip(splits).enumerate() {
            assert_rel(*got, value(exp), TOL, &format!("{key} split {i}"));
        }
    }
}

#[test]
fn torch_fidelity_preset_matches_torch_fidelity() {
    check(&IsConfig::torch_fidelity(), "is_tf_shuffle_s10");
}

#[test]
fn torch_fidelity_without_shuffle_and_with_other_seed_and_splits() {
    check(
        &IsConfig {
            shuffle_seed: None,
            ..IsConfig::torch_fidelity()
        },
        "is_tf_noshuffle_s10",
    );
    check(
        &IsConfig {
            shuffle_seed: Some(3),
            splits: 7,
            ..IsConfig::torch_fidelity()
        },
        "is_tf_shuffle_s7_seed3",
    );
}

#[test]
fn chunk_rule_matches_torch_chunk_including_fewer_parts() {
    for splits in [12, 60] {
        let cfg = IsConfig {
            splits,
            split_rule: SplitRule::Chunk,
            shuffle_seed: None,
            ..IsConfig::torch_fidelity()
        };
        check(&cfg, &format!("is_chunk_s{splits}"));
    }
}

#[test]
fn stackgan_preset_matches_its_script() {
    let score = inception_score(logits().view(), &IsConfig::stackgan()).unwrap();
    assert_eq!(score.n, 192, "250 images in whole batches of 64");
    check(&IsConfig::stackgan(), "is_stackgan");
}

#[test]
fn identical_confident_predictions_score_one_and_uniform_spread_scores_classes() {
    // Known answers: every image the same class → IS 1; each class equally often
    // with certainty → IS = number of classes.
    let mut same = Array2::<f64>::zeros((20, 5));
    same.column_mut(2).fill(60.0);
    let one = inception_score(
        same.view(),
        &IsConfig {
            splits: 2,
            ..IsConfig::torch_fidelity()
        },
    )
    .unwrap();
    assert!((one.mean - 1.0).abs() < 1e-12 && one.std < 1e-12);
    let spread = Array2::from_shape_fn((20, 5), |(i, j)| if i % 5 == j { 60.0 } else { 0.0 });
    let cfg = IsConfig {
        splits: 2,
        shuffle_seed: None,
        ..IsConfig::torch_fidelity()
    };
    let five = inception_score(spread.view(), &cfg).unwrap();
    assert!((five.mean - 5.0).abs() < 1e-9, "{}", five.mean);
}

#[test]
fn bad_inputs_are_errors() {
    let l = logits();
    let few = l.slice(ndarray::s![..5, ..]);
    let err = inception_score(few, &IsConfig::torch_fidelity()).unwrap_err();
    assert!(matches!(err, IsError::TooFewImages { n: 5, splits: 10 }));
    assert!(err.to_string().contains("--splits"));
    let cfg = IsConfig {
        drop_columns: vec![51],
        ..IsConfig::stackgan()
    };
    assert!(matches!(
        inception_score(l.view(), &cfg),
        Err(IsError::DropColumn {
            column: 51,
            classes: 51
        })
    ));
    let mut nan = l.clone();
    nan[[7, 3]] = f64::INFINITY;
    assert!(matches!(
        inception_score(nan.view(), &IsConfig::torch_fidelity()),
        Err(IsError::NonFinite { row: _ })
    ));
    let zero = IsConfig {
        splits: 0,
        ..IsConfig::torch_fidelity()
    };
    assert!(matches!(
        inception_score(l.view(), &zero),
        Err(IsError::NoSplits)
    ));
}
