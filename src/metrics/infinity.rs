//! FID∞ and IS∞: the metric extrapolated to infinitely many samples, after
//! Chong & Forsyth, "Effectively Unbiased FID and Inception Score and where
//! to find them" (CVPR 2020), as their `score_infinity.py` computes it.
//!
//! FID and IS computed from N samples are biased, and the bias is close to
//! linear in 1/N, so numbers from different N are not comparable. Their
//! procedure: sample counts `np.linspace(5000, N, 15).astype('int32')`; for
//! each count in turn, `np.random.shuffle` the N feature rows (the shuffles
//! compound: each one shuffles the previous order) and take the first
//! `count` rows; FID of those rows against the reference statistics of the
//! whole real set, or IS of their predictions in one split; an ordinary
//! least-squares line of the metric against 1/count; its value at 1/N = 0.
//!
//! Here the shuffles come from numpy's legacy `RandomState(seed)` (bit-exact,
//! so a numpy script takes the very same subsets), the subsets' metrics run
//! in parallel (each one computed alone, so the numbers do not depend on the
//! thread count), and the fit also reports how well the line fits (the RMS of
//! its residuals) and the standard error of the intercept.

use ndarray::{ArrayView2, Axis};
use rayon::prelude::*;

use crate::metrics::fid::{FidError, FrechetDistance, frechet_distance};
use crate::metrics::inception_score::{IsConfig, IsError, SplitRule, inception_score};
use crate::metrics::stats::{FidStats, StatsAccumulator, StatsError};
use crate::rng::NumpyRandomState;

/// From this many samples on, the authors' counts rule applies as is.
pub const AUTHORS_RULE_FROM: usize = 10_000;
/// The authors' smallest sample count.
pub const AUTHORS_MIN_SAMPLES: usize = 5_000;
/// Fewer counts leave no degree of freedom for the residual.
pub const MIN_POINTS: usize = 3;

/// Feature rows folded into a subset's statistics at a time (bounds memory).
const ROWS_PER_CHUNK: usize = 1024;

/// How FID∞ and IS∞ choose their subsets: the `--inf-*` flags and an
/// ablation config's `[infinity]` section.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InfinityConfig {
    /// Sample counts the metric is computed at (the authors: 15).
    pub points: usize,
    /// The smallest count; `None`: 5,000 from 10,000 samples on (the
    /// authors' rule), half the samples below (the same ratio at 10,000).
    pub min_samples: Option<usize>,
    /// Seed of numpy's `RandomState` whose `shuffle` draws the subsets.
    pub seed: u32,
}

impl Default for InfinityConfig {
    fn default() -> Self {
        InfinityConfig {
            points: 15,
            min_samples: None,
            seed: 0,
        }
    }
}

impl InfinityConfig {
    /// Refuses settings no set could honour, before any model runs.
    pub fn check(&self) -> Result<(), InfinityError> {
        if self.points < MIN_POINTS {
            return Err(InfinityError::Points(self.points));
        }
        if let Some(min) = self.min_samples.filter(|&m| m < 2) {
            return Err(InfinityError::MinSamples(min));
        }
        Ok(())
    }

    /// The smallest sample count for a set of `n`.
    pub fn min_samples(&self, n: usize) -> usize {
        self.min_samples.unwrap_or(if n >= AUTHORS_RULE_FROM {
            AUTHORS_MIN_SAMPLES
        } else {
            n / 2
        })
    }

    /// The sample counts for a set of `n`: `np.linspace(min, n,
    /// points).astype('int32')`, bit for bit; refused unless they are
    /// `points` distinct counts of at least 2 samples.
    pub fn counts(&self, n: usize) -> Result<Vec<usize>, InfinityError> {
        self.check()?;
        let min = self.min_samples(n);
        if min > n {
            return Err(InfinityError::MinAboveSet { min, n });
        }
        let step = (n - min) as f64 / (self.points - 1) as f64;
        let counts: Vec<usize> = (0..self.points)
            .map(|i| {
                if i + 1 == self.points {
                    n
                } else {
                    // numpy: `arange(num) * step + start`, then truncation.
                    (i as f64 * step + min as f64) as usize
                }
            })
            .collect();
        if min < 2 || counts.windows(2).any(|w| w[0] == w[1]) {
            return Err(InfinityError::TooFewSamples {
                n,
                min,
                points: self.points,
            });
        }
        Ok(counts)
    }

    /// The row subsets, one per count: the first `count` rows after each
    /// of the compounding shuffles of `np.random.RandomState(seed)`.
    pub fn subsets(&self, n: usize) -> Result<Vec<Vec<usize>>, InfinityError> {
        let counts = self.counts(n)?;
        let mut rng = NumpyRandomState::new(self.seed);
        let mut order: Vec<usize> = (0..n).collect();
        Ok(counts
            .iter()
            .map(|&count| {
                rng.shuffle(&mut order);
                order[..count].to_vec()
            })
            .collect())
    }
}

/// A metric extrapolated to 1/N = 0.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Extrapolation {
    /// The line's value at 1/N = 0: FID∞ or IS∞.
    pub value: f64,
    /// The line's slope against 1/N (the bias per unit of 1/N).
    pub slope: f64,
    /// Root mean square of the fit's residuals, `√(Σ rᵢ² / points)`, in the
    /// metric's units: how far the subsets' values stray from the line.
    pub residual_rms: f64,
    /// Standard error of the intercept under the usual OLS assumptions,
    /// `s·√(1/n + x̄²/Σ(xᵢ − x̄)²)` with `s² = Σ rᵢ² / (points − 2)`.
    pub stderr: f64,
    /// The sample counts.
    pub counts: Vec<usize>,
    /// The metric at each count, in order.
    pub values: Vec<f64>,
}

/// A least-squares line `y = intercept + slope·x`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineFit {
    pub intercept: f64,
    pub slope: f64,
    /// `√(Σ rᵢ² / n)`.
    pub residual_rms: f64,
    /// Standard error of the intercept (`s² = Σ rᵢ² / (n − 2)`).
    pub intercept_stderr: f64,
}

/// Ordinary least squares of `y` on `x` with an intercept (sklearn's
/// `LinearRegression`); needs three or more points and two distinct `x`.
pub fn fit_line(x: &[f64], y: &[f64]) -> Result<LineFit, InfinityError> {
    let n = x.len();
    if n != y.len() || n < MIN_POINTS {
        return Err(InfinityError::Points(n.min(y.len())));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (x_mean, y_mean) = (mean(x), mean(y));
    let sxx: f64 = x.iter().map(|xi| (xi - x_mean) * (xi - x_mean)).sum();
    let sxy: f64 = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| (xi - x_mean) * (yi - y_mean))
        .sum();
    if sxx <= 0.0 {
        return Err(InfinityError::Points(1));
    }
    let slope = sxy / sxx;
    let intercept = y_mean - slope * x_mean;
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(xi, yi)| {
            let r = yi - (intercept + slope * xi);
            r * r
        })
        .sum();
    let s2 = rss / (n - 2) as f64;
    Ok(LineFit {
        intercept,
        slope,
        residual_rms: (rss / n as f64).sqrt(),
        intercept_stderr: (s2 * (1.0 / n as f64 + x_mean * x_mean / sxx)).sqrt(),
    })
}

/// The line in 1/N through the subsets' `values` and its intercept.
fn extrapolate(subsets: &[Vec<usize>], values: Vec<f64>) -> Result<Extrapolation, InfinityError> {
    let counts: Vec<usize> = subsets.iter().map(Vec::len).collect();
    let x: Vec<f64> = counts.iter().map(|&c| 1.0 / c as f64).collect();
    let fit = fit_line(&x, &values)?;
    Ok(Extrapolation {
        value: fit.intercept,
        slope: fit.slope,
        residual_rms: fit.residual_rms,
        stderr: fit.intercept_stderr,
        counts,
        values,
    })
}

/// FID∞ of the feature rows `fake` against `real`, the statistics of the
/// whole reference set (as the authors' `gt_path`); with the warnings of
/// the smallest subset's FID. Subsets run in parallel, each alone.
pub fn fid_infinity(
    real: &FidStats,
    fake: ArrayView2<f32>,
    config: &InfinityConfig,
) -> Result<(Extrapolation, Vec<String>), InfinityError> {
    let subsets = config.subsets(fake.nrows())?;
    let distances = subsets
        .par_iter()
        .map(|rows| {
            let mut accumulator = StatsAccumulator::new(fake.ncols());
            for chunk in rows.chunks(ROWS_PER_CHUNK) {
                accumulator.add(fake.select(Axis(0), chunk).view())?;
            }
            Ok(frechet_distance(real, &accumulator.finish()?)?)
        })
        .collect::<Result<Vec<FrechetDistance>, InfinityError>>()?;
    let warnings = distances[0]
        .warnings
        .iter()
        .map(|w| format!("FID∞, subset of {} samples: {w}", subsets[0].len()))
        .collect();
    let values = distances.iter().map(|d| d.fid).collect();
    Ok((extrapolate(&subsets, values)?, warnings))
}

/// IS∞ of the evaluated images' `logits`: each subset's Inception Score in
/// one split (the authors' `calculate_inception_score(pred, num_splits=1)`),
/// softmax in float64 after dropping `drop_columns`. Subsets run in
/// parallel, each alone.
pub fn is_infinity(
    logits: ArrayView2<f32>,
    drop_columns: &[usize],
    config: &InfinityConfig,
) -> Result<Extrapolation, InfinityError> {
    let one_split = IsConfig {
        splits: 1,
        split_rule: SplitRule::Contiguous,
        drop_columns: drop_columns.to_vec(),
        shuffle_seed: None,
        std_ddof: 0,
        whole_batches_of: None,
    };
    let subsets = config.subsets(logits.nrows())?;
    let values = subsets
        .par_iter()
        .map(|rows| Ok(inception_score(logits.select(Axis(0), rows).view(), &one_split)?.mean))
        .collect::<Result<Vec<f64>, InfinityError>>()?;
    extrapolate(&subsets, values)
}

/// Why FID∞ or IS∞ could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum InfinityError {
    #[error(
        "--inf-points {0} is too few: the line through the sample counts needs at least 3 points for a residual and a standard error"
    )]
    Points(usize),
    #[error("--inf-min {0} is too small: a covariance needs at least 2 samples")]
    MinSamples(usize),
    #[error(
        "--inf-min {min} is more than the {n} samples of the set; give at most {n}, or more samples"
    )]
    MinAboveSet { min: usize, n: usize },
    #[error(
        "{n} samples are too few for FID∞/IS∞: {points} distinct sample counts from {min} to {n} (of at least 2 samples) are needed; give more samples, or lower --inf-points (at least 3) or --inf-min"
    )]
    TooFewSamples { n: usize, min: usize, points: usize },
    #[error(transparent)]
    Stats(#[from] StatsError),
    #[error(transparent)]
    Fid(#[from] FidError),
    #[error(transparent)]
    Is(#[from] IsError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_authors_rule_and_the_scaled_one() {
        let config = InfinityConfig::default();
        // np.linspace(5000, 50000, 15).astype('int32')
        assert_eq!(
            config.counts(50_000).unwrap(),
            vec![
                5000, 8214, 11428, 14642, 17857, 21071, 24285, 27500, 30714, 33928, 37142, 40357,
                43571, 46785, 50000
            ]
        );
        // np.linspace(100, 200, 15).astype('int32')
        assert_eq!(
            config.counts(200).unwrap(),
            vec![
                100, 107, 114, 121, 128, 135, 142, 150, 157, 164, 171, 178, 185, 192, 200
            ]
        );
        assert_eq!(config.min_samples(10_000), 5_000);
        assert_eq!(config.min_samples(9_999), 4_999);
        // 27 samples hold exactly 15 distinct counts from 13 on; 26 do not.
        assert_eq!(config.counts(27).unwrap(), (13..=27).collect::<Vec<_>>());
        assert!(matches!(
            config.counts(26),
            Err(InfinityError::TooFewSamples { .. })
        ));
        let small = InfinityConfig {
            points: 3,
            ..config.clone()
        };
        assert_eq!(small.counts(4).unwrap(), vec![2, 3, 4]);
        assert!(small.counts(3).is_err());
        let above = InfinityConfig {
            min_samples: Some(300),
            ..config
        };
        assert!(matches!(
            above.counts(200),
            Err(InfinityError::MinAboveSet { .. })
        ));
    }

    #[test]
    fn a_line_is_fitted_exactly_and_its_noise_measured() {
        let x = [0.1, 0.2, 0.3, 0.4];
        let exact: Vec<f64> = x.iter().map(|v| 2.0 - 3.0 * v).collect();
        let fit = fit_line(&x, &exact).unwrap();
        assert!((fit.intercept - 2.0).abs() < 1e-14 && (fit.slope + 3.0).abs() < 1e-13);
        assert!(fit.residual_rms < 1e-14 && fit.intercept_stderr < 1e-13);
        // Residuals ±0.1 alternating: RSS 0.04, RMS 0.1.
        let noisy: Vec<f64> = exact
            .iter()
            .zip([0.1, -0.1, -0.1, 0.1])
            .map(|(y, r)| y + r)
            .collect();
        let fit = fit_line(&x, &noisy).unwrap();
        assert!((fit.residual_rms - 0.1).abs() < 1e-12, "{fit:?}");
        // s² = 0.04 / 2; x̄ = 0.25; Sxx = 0.05: se² = 0.02 · (1/4 + 1.25).
        assert!((fit.intercept_stderr - (0.02f64 * 1.5).sqrt()).abs() < 1e-12);
        assert!(fit_line(&x[..2], &exact[..2]).is_err());
    }

    #[test]
    fn subsets_compound_the_shuffles() {
        let config = InfinityConfig {
            points: 3,
            min_samples: Some(4),
            seed: 5,
        };
        let subsets = config.subsets(8).unwrap();
        let mut rng = NumpyRandomState::new(5);
        let mut order: Vec<usize> = (0..8).collect();
        for (subset, count) in subsets.iter().zip([4, 6, 8]) {
            rng.shuffle(&mut order);
            assert_eq!(subset, &order[..count]);
        }
    }
}
