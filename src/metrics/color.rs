//! Colour consistency between generator branches, as StackGAN-v2 regularises it.
//!
//! For each image (3 channels, H×W pixels) the colour moments are the per-channel
//! mean μ and the population covariance Σ = (x−μ)(x−μ)ᵀ / (H·W) (StackGAN-v2's
//! `compute_mean_covariance`). Between two scales of the same sample the paper
//! measures ‖μ_i − μ_{i−1}‖² and ‖Σ_i − Σ_{i−1}‖²_F; its trainer's loss is
//! `50·MSE(μ) + 250·MSE(Σ)`, the MSE averaging over samples and over the 3 (μ) or
//! 9 (Σ) entries.
//!
//! Everything is accumulated in float64, each image in a fixed order (mean first,
//! then centred products), and per-sample distances are summed in sample order, so
//! results do not depend on batch sizes or thread count.

use ndarray::{ArrayView3, ArrayView4, Axis};
use rayon::prelude::*;

/// StackGAN-v2's weight of the mean term (`COEFF.COLOR_LOSS` in its bird configs).
const MEAN_WEIGHT: f64 = 50.0;
/// StackGAN-v2's weight of the covariance term (5 × `COEFF.COLOR_LOSS`).
const COVARIANCE_WEIGHT: f64 = 250.0;

/// Per-channel mean and population covariance of one RGB image.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ColorMoments {
    /// Mean of each channel over the H·W pixels.
    pub mean: [f64; 3],
    /// Channel covariance, divided by H·W (not H·W − 1), symmetric.
    pub covariance: [[f64; 3]; 3],
}

impl ColorMoments {
    /// ‖μ_a − μ_b‖² and ‖Σ_a − Σ_b‖²_F.
    fn squared_distances(&self, other: &ColorMoments) -> (f64, f64) {
        let mut mean = 0.0;
        let mut covariance = 0.0;
        for c in 0..3 {
            mean += (self.mean[c] - other.mean[c]).powi(2);
            for d in 0..3 {
                covariance += (self.covariance[c][d] - other.covariance[c][d]).powi(2);
            }
        }
        (mean, covariance)
    }
}

/// Colour consistency over all sample pairs added to a [`ColorConsistencyAccumulator`].
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ColorConsistency {
    /// Sample pairs (lower scale, higher scale) compared.
    pub pairs: usize,
    /// Mean over samples of ‖μ_higher − μ_lower‖².
    pub mean_distance: f64,
    /// Mean over samples of ‖Σ_higher − Σ_lower‖²_F.
    pub covariance_distance: f64,
    /// StackGAN-v2's colour loss `50·MSE(μ) + 250·MSE(Σ)` over all samples.
    pub loss: f64,
}

/// Why colour moments could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ColorError {
    #[error(
        "colour consistency needs RGB images, but the {which} image has {channels} channels; pass NCHW batches with C=3"
    )]
    Channels {
        which: &'static str,
        channels: usize,
    },
    #[error(
        "colour consistency compares the same samples at two scales, but the lower batch has {lower} images and the higher {higher}; pass both branches of one generator batch"
    )]
    BatchMismatch { lower: usize, higher: usize },
    #[error("the {which} image has no pixels (H×W = {height}×{width}); pass non-empty images")]
    Empty {
        which: &'static str,
        height: usize,
        width: usize,
    },
    #[error("the {which} image contains NaN or infinity; check the generator output")]
    NonFinite { which: &'static str },
}

/// Colour moments of one image (C=3, H, W), any value range.
pub fn color_moments(image: ArrayView3<f32>) -> Result<ColorMoments, ColorError> {
    check_image("given", image)?;
    Ok(moments(image))
}

fn check_image(which: &'static str, image: ArrayView3<f32>) -> Result<(), ColorError> {
    let (channels, height, width) = image.dim();
    if channels != 3 {
        return Err(ColorError::Channels { which, channels });
    }
    if height * width == 0 {
        return Err(ColorError::Empty {
            which,
            height,
            width,
        });
    }
    if !image.iter().all(|v| v.is_finite()) {
        return Err(ColorError::NonFinite { which });
    }
    Ok(())
}

/// Two passes in row-major pixel order: channel sums, then centred products.
fn moments(image: ArrayView3<f32>) -> ColorMoments {
    let pixels = (image.dim().1 * image.dim().2) as f64;
    let mut mean = [0.0; 3];
    for (c, plane) in image.outer_iter().enumerate() {
        mean[c] = plane.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels;
    }
    let [r, g, b] = [0, 1, 2].map(|c| image.index_axis(Axis(0), c));
    let mut products = [[0.0; 3]; 3];
    for ((&r, &g), &b) in r.iter().zip(g.iter()).zip(b.iter()) {
        let centred = [
            f64::from(r) - mean[0],
            f64::from(g) - mean[1],
            f64::from(b) - mean[2],
        ];
        for c in 0..3 {
            for d in c..3 {
                products[c][d] += centred[c] * centred[d];
            }
        }
    }
    let mut covariance = [[0.0; 3]; 3];
    for c in 0..3 {
        for d in c..3 {
            covariance[c][d] = products[c][d] / pixels;
            covariance[d][c] = covariance[c][d];
        }
    }
    ColorMoments { mean, covariance }
}

/// Running sums of per-sample colour distances between two generator scales;
/// batches may be any size, the result is the same.
#[derive(Clone, Debug, Default)]
pub struct ColorConsistencyAccumulator {
    pairs: usize,
    mean_sum: f64,
    covariance_sum: f64,
}

impl ColorConsistencyAccumulator {
    /// An empty accumulator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a batch of the same samples at a lower and a higher scale (NCHW, C=3;
    /// the two may differ in H×W).
    pub fn add(
        &mut self,
        lower: ArrayView4<f32>,
        higher: ArrayView4<f32>,
    ) -> Result<(), ColorError> {
        let distances = Self::distances(lower, higher)?;
        self.add_distances(&distances);
        Ok(())
    }

    /// Each sample's squared distances (means, covariances) between the two
    /// scales, in order: what [`add`](Self::add) sums, kept apart so that a
    /// run split into shards sums them in the single run's order.
    pub fn distances(
        lower: ArrayView4<f32>,
        higher: ArrayView4<f32>,
    ) -> Result<Vec<(f64, f64)>, ColorError> {
        if lower.len_of(Axis(0)) != higher.len_of(Axis(0)) {
            return Err(ColorError::BatchMismatch {
                lower: lower.len_of(Axis(0)),
                higher: higher.len_of(Axis(0)),
            });
        }
        for (which, batch) in [("lower-scale", lower), ("higher-scale", higher)] {
            batch
                .outer_iter()
                .into_par_iter()
                .try_for_each(|image| check_image(which, image))?;
        }
        Ok((0..lower.len_of(Axis(0)))
            .into_par_iter()
            .map(|i| {
                let low = moments(lower.index_axis(Axis(0), i));
                let high = moments(higher.index_axis(Axis(0), i));
                high.squared_distances(&low)
            })
            .collect())
    }

    /// Adds samples' distances (from [`distances`](Self::distances)), in order.
    pub fn add_distances(&mut self, distances: &[(f64, f64)]) {
        for &(mean, covariance) in distances {
            self.mean_sum += mean;
            self.covariance_sum += covariance;
        }
        self.pairs += distances.len();
    }

    /// The aggregates so far; `None` before any sample was added.
    pub fn finish(&self) -> Option<ColorConsistency> {
        if self.pairs == 0 {
            return None;
        }
        let n = self.pairs as f64;
        Some(ColorConsistency {
            pairs: self.pairs,
            mean_distance: self.mean_sum / n,
            covariance_distance: self.covariance_sum / n,
            loss: MEAN_WEIGHT * self.mean_sum / (3.0 * n)
                + COVARIANCE_WEIGHT * self.covariance_sum / (9.0 * n),
        })
    }
}
