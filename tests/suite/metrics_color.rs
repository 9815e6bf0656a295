//! Colour consistency against numpy moments and StackGAN-v2's colour loss restated
//! in torch (tests/fixtures/color/make.py): moments and aggregates within 1e-9
//! relative of the float64 references; the trainer's float32 loss differs from
//! ours by float32 rounding (measured ≤ 1.2e-7 relative on this fixture; 1e-6 here).

use ndarray::{Array2, Array3, Array4, Axis, s};
use stackgan_eval::metrics::{
    ColorConsistency, ColorConsistencyAccumulator, ColorError, color_moments,
};
use stackgan_eval::rng::NumpyRandomState;

use crate::util::{assert_rel, fixture, json, npz_array};

const PAIRS: [(usize, usize); 2] = [(8, 16), (16, 32)];

fn images(size: usize) -> Array4<f32> {
    npz_array(fixture("color/images.npz"), &format!("x{size}"))
}

fn reference_moments(size: usize) -> (Array2<f64>, Array3<f64>) {
    let moments = fixture("color/moments.npz");
    (
        npz_array(moments, &format!("mean{size}")),
        npz_array(moments, &format!("cov{size}")),
    )
}

fn reference(lo: usize, hi: usize, field: &str) -> f64 {
    json(fixture("color/reference.json"))[format!("{lo}_{hi}")][field]
        .as_f64()
        .unwrap()
}

fn consistency(lower: &Array4<f32>, higher: &Array4<f32>, batch: usize) -> ColorConsistency {
    let mut acc = ColorConsistencyAccumulator::new();
    let n = lower.len_of(Axis(0));
    for start in (0..n).step_by(batch) {
        let end = (start + batch).min(n);
        acc.add(
            lower.slice(s![start..end, .., .., ..]),
            higher.slice(s![start..end, .., .., ..]),
        )
        .unwrap();
    }
    acc.finish().unwrap()
}

#[test]
fn moments_match_numpy() {
    for size in [8, 16, 32] {
        let x = images(size);
        let (mean, cov) = reference_moments(size);
        for (i, image) in x.outer_iter().enumerate() {
            let m = color_moments(image).unwrap();
            for c in 0..3 {
                assert_rel(
                    m.mean[c],
                    mean[[i, c]],
                    1e-9,
                    &format!("mean {size} {i} {c}"),
                );
                for d in 0..3 {
                    assert_rel(
                        m.covariance[c][d],
                        cov[[i, c, d]],
                        1e-9,
                        &format!("cov {size} {i} {c}{d}"),
                    );
                }
            }
        }
    }
}

#[test]
fn aggregates_match_numpy_and_the_stackgan_v2_loss() {
    for (lo, hi) in PAIRS {
        let got = consistency(&images(lo), &images(hi), 5);
        assert_eq!(got.pairs, 5);
        let what = format!("{lo}->{hi}");
        assert_rel(
            got.mean_distance,
            reference(lo, hi, "mean_distance"),
            1e-9,
            &what,
        );
        assert_rel(
            got.covariance_distance,
            reference(lo, hi, "covariance_distance"),
            1e-9,
            &what,
        );
        assert_rel(got.loss, reference(lo, hi, "loss"), 1e-9, &what);
        assert_rel(
            got.loss,
            reference(lo, hi, "loss_upstream_float32"),
            1e-6,
            &what,
        );
    }
}

#[test]
fn batch_split_does_not_change_a_bit() {
    for (lo, hi) in PAIRS {
        let (lower, higher) = (images(lo), images(hi));
        let whole = consistency(&lower, &higher, 5);
        for batch in [1, 3] {
            let split = consistency(&lower, &higher, batch);
            assert_eq!(split.mean_distance.to_bits(), whole.mean_distance.to_bits());
            assert_eq!(
                split.covariance_distance.to_bits(),
                whole.covariance_distance.to_bits()
            );
            assert_eq!(split.loss.to_bits(), whole.loss.to_bits());
            assert_eq!(split.pairs, whole.pairs);
        }
    }
}

/// Seeded images whose values are multiples of 1/1024 in [-1, 1), so adding
/// 0.25 in float32 is exact.
fn quantised_images(n: usize, size: usize) -> Array4<f32> {
    let mut rng = NumpyRandomState::new(5);
    Array4::from_shape_simple_fn((n, 3, size, size), || {
        ((rng.random_sample() * 2048.0).floor() as f32 - 1024.0) / 1024.0
    })
}

fn upsample2(x: &Array4<f32>) -> Array4<f32> {
    let (n, c, h, w) = x.dim();
    Array4::from_shape_fn((n, c, 2 * h, 2 * w), |(i, ch, y, z)| {
        x[[i, ch, y / 2, z / 2]]
    })
}

#[test]
fn identical_content_at_both_scales_is_consistent() {
    let lower = quantised_images(4, 16);
    let got = consistency(&lower, &upsample2(&lower), 4);
    assert!(got.mean_distance.abs() < 1e-12, "{got:?}");
    assert!(got.covariance_distance.abs() < 1e-12, "{got:?}");
    assert!(got.loss.abs() < 1e-12, "{got:?}");
}

#[test]
fn a_channel_offset_moves_only_the_mean() {
    let c = 0.25;
    let lower = quantised_images(4, 16);
    let mut higher = upsample2(&lower);
    higher
        .slice_mut(s![.., 1, .., ..])
        .mapv_inplace(|v| v + c as f32);
    let got = consistency(&lower, &higher, 4);
    assert!((got.mean_distance - c * c).abs() < 1e-12, "{got:?}");
    assert!(got.covariance_distance.abs() < 1e-12, "{got:?}");
    assert!((got.loss - 50.0 * c * c / 3.0).abs() < 1e-10, "{got:?}");
}

#[test]
fn covariance_is_symmetric_and_population() {
    // Two pixels per channel: values ±1 give variance 1 (divided by H·W = 2).
    let image = Array3::from_shape_vec((3, 1, 2), vec![1.0, -1.0, 2.0, 0.0, -1.0, 1.0]).unwrap();
    let m = color_moments(image.view()).unwrap();
    assert_eq!(m.mean, [0.0, 1.0, 0.0]);
    assert_eq!(
        m.covariance,
        [[1.0, 1.0, -1.0], [1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    );
}

#[test]
fn nothing_added_gives_none() {
    assert!(ColorConsistencyAccumulator::new().finish().is_none());
}

#[test]
fn mismatched_or_bad_batches_are_errors() {
    let x8 = images(8);
    let x16 = images(16);
    let mut acc = ColorConsistencyAccumulator::new();
    let err = acc
        .add(x8.slice(s![..4, .., .., ..]), x16.view())
        .unwrap_err();
    assert!(matches!(
        err,
        ColorError::BatchMismatch {
            lower: 4,
            higher: 5
        }
    ));
    let err = acc
        .add(
            x8.slice(s![.., ..2, .., ..]),
            x16.slice(s![.., ..2, .., ..]),
        )
        .unwrap_err();
    assert!(matches!(err, ColorError::Channels { channels: 2, .. }));
    let err = acc
        .add(x8.view(), x16.slice(s![.., .., ..0, ..]))
        .unwrap_err();
    assert!(matches!(err, ColorError::Empty { height: 0, .. }));
    let mut bad = x16.clone();
    bad[[2, 0, 3, 3]] = f32::NAN;
    let err = acc.add(x8.view(), bad.view()).unwrap_err();
    assert!(matches!(
        err,
        ColorError::NonFinite {
            which: "higher-scale"
        }
    ));
    assert!(err.to_string().contains("generator output"));
    assert!(acc.finish().is_none(), "failed adds must not count");
}
