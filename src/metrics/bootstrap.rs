//! The bootstrap's arithmetic: which rows each replicate resamples, the
//! statistics of a resampled set without copying its rows, and the
//! percentile interval of the replicate values.
//!
//! Indices come from numpy's legacy `RandomState(seed)`: replicate by
//! replicate, side by side (the reference set first when there is one),
//! `randint(0, n, n)` — so a Python script draws the very same resamples.
//! A resample is kept as the distinct rows it picked and how often it
//! picked each ([`Resample`]): FID's mean and covariance are then weighted
//! sums over the distinct rows (one BLAS product, no copies of repeated
//! rows), and PR-DC sees each distinct row once with its multiplicity as a
//! weight (`prdc_weighted` in the PR-DC module says why).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::metrics::stats::{FidStats, StatsError};
use crate::rng::NumpyRandomState;

/// One resample of `n` rows with replacement: the rows in the order drawn,
/// and the distinct ones with how often each was drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resample {
    /// `randint(0, n, n)`, in draw order.
    pub drawn: Vec<usize>,
    /// The distinct rows drawn, ascending.
    pub distinct: Vec<usize>,
    /// How often each of `distinct` was drawn (sums to `drawn.len()`).
    pub weights: Vec<u32>,
}

impl Resample {
    /// Resample of `n` rows drawn from `rng` as `rng.randint(0, n, n)`.
    pub fn draw(rng: &mut NumpyRandomState, n: usize) -> Resample {
        let drawn = rng.randint(n, n);
        let mut counts = vec![0u32; n];
        for &i in &drawn {
            counts[i] += 1;
        }
        let (distinct, weights) = counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (i, c))
            .unzip();
        Resample {
            drawn,
            distinct,
            weights,
        }
    }

    /// The rows of `x` in draw order (a copy: for metrics that need the set itself).
    pub fn rows(&self, x: ArrayView2<f32>) -> Array2<f32> {
        x.select(Axis(0), &self.drawn)
    }

    /// The distinct rows of `x`, once each.
    pub fn distinct_rows(&self, x: ArrayView2<f32>) -> Array2<f32> {
        x.select(Axis(0), &self.distinct)
    }
}

/// Every replicate's resamples: for replicate `b`, one [`Resample`] per
/// entry of `sizes` (rows of each side, in order), from one
/// `RandomState(seed)` stream. Cheap next to the metrics, so drawn up front.
pub fn draw_resamples(seed: u32, sizes: &[usize], replicates: usize) -> Vec<Vec<Resample>> {
    let mut rng = NumpyRandomState::new(seed);
    (0..replicates)
        .map(|_| sizes.iter().map(|&n| Resample::draw(&mut rng, n)).collect())
        .collect()
}

/// Mean and unbiased covariance of the resampled rows of `x`, from its
/// distinct rows weighted by their multiplicities: `μ = Σ wᵢxᵢ / n`,
/// `Σ = Σ wᵢ(xᵢ − μ)(xᵢ − μ)ᵀ / (n − 1)` — what `np.cov` gives on the
/// repeated rows, up to float64 rounding.
pub fn resampled_stats(x: ArrayView2<f32>, resample: &Resample) -> Result<FidStats, StatsError> {
    let n: u64 = resample.weights.iter().map(|&w| u64::from(w)).sum();
    if n < 2 {
        return Err(StatsError::TooFewSamples { count: n });
    }
    let dim = x.ncols();
    let mut mean = Array1::<f64>::zeros(dim);
    for (&i, &w) in resample.distinct.iter().zip(&resample.weights) {
        let w = f64::from(w);
        mean.zip_mut_with(&x.row(i), |m, &v| *m += w * f64::from(v));
    }
    mean /= n as f64;
    // Rows centred and scaled by √w, so that CᵀC = Σ wᵢ(xᵢ − μ)(xᵢ − μ)ᵀ.
    let mut centred = Array2::<f64>::zeros((resample.distinct.len(), dim));
    for ((mut row, &i), &w) in centred
        .rows_mut()
        .into_iter()
        .zip(&resample.distinct)
        .zip(&resample.weights)
    {
        let scale = f64::from(w).sqrt();
        for ((c, &v), &m) in row.iter_mut().zip(x.row(i)).zip(&mean) {
            *c = (f64::from(v) - m) * scale;
        }
    }
    let mut m2 = Array2::<f64>::zeros((dim, dim));
    general_mat_mul(1.0, &centred.t(), &centred, 0.0, &mut m2);
    let scale = 1.0 / (n - 1) as f64;
    let sigma = Array2::from_shape_fn((dim, dim), |(i, j)| 0.5 * (m2[[i, j]] + m2[[j, i]]) * scale);
    Ok(FidStats {
        mu: mean,
        sigma,
        count: Some(n),
    })
}

/// The percentile interval of `values` at confidence `level` (0 < level < 1):
/// the `(1 − level)/2` and `(1 + level)/2` quantiles with numpy's default
/// linear interpolation (`np.percentile`). `None` when `values` is empty.
pub fn percentile_interval(values: &[f64], level: f64) -> Option<[f64; 2]> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Some([
        numpy_linear_quantile(&sorted, tail),
        numpy_linear_quantile(&sorted, 1.0 - tail),
    ])
}

/// The percentile interval of `values` moved by the bootstrap's estimate of
/// its bias, `mean(values) − value`: `[q_low − bias, q_high − bias]`.
///
/// A resample repeats about a third of its rows, and the repeats shift the
/// metrics (FID and KID grow: a covariance from fewer distinct rows,
/// self-pairs in KID's kernel sums; at 10k × 2048-d the plain percentile
/// interval of a FID of 87 lies near 160). Moving the interval by the bias
/// keeps its width, which is the sampling noise, and centres it on the value
/// measured.
/// `None` when `values` is empty.
pub fn recentred_interval(values: &[f64], value: f64, level: f64) -> Option<[f64; 2]> {
    let [low, high] = percentile_interval(values, level)?;
    let bias = values.iter().sum::<f64>() / values.len() as f64 - value;
    Some([low - bias, high - bias])
}

/// `np.quantile(sorted, q)` with the default `method="linear"`, including
/// numpy's two-sided interpolation (`_lerp`); `sorted` is ascending, not empty.
pub fn numpy_linear_quantile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n - 1) as f64 * q;
    let previous = virtual_index.floor();
    let (lo, hi) = if virtual_index >= (n - 1) as f64 {
        (n - 1, n - 1)
    } else {
        (previous as usize, previous as usize + 1)
    };
    let (a, b) = (sorted[lo], sorted[hi]);
    let gamma = virtual_index - previous;
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::StatsAccumulator;

    #[test]
    fn weighted_statistics_equal_those_of_the_repeated_rows() {
        let mut rng = NumpyRandomState::new(5);
        let x = Array2::from_shape_simple_fn((40, 6), || rng.random_sample() as f32);
        let resample = &draw_resamples(3, &[40], 1)[0][0];
        assert_eq!(resample.weights.iter().sum::<u32>(), 40);
        assert!(resample.distinct.len() < 40, "a resample repeats rows");
        let weighted = resampled_stats(x.view(), resample).unwrap();
        let mut copies = StatsAccumulator::new(6);
        copies.add(resample.rows(x.view()).view()).unwrap();
        let copied = copies.finish().unwrap();
        for (a, b) in weighted.sigma.iter().zip(&copied.sigma) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1e-3), "{a} vs {b}");
        }
        for (a, b) in weighted.mu.iter().zip(&copied.mu) {
            assert!((a - b).abs() <= 1e-12, "{a} vs {b}");
        }
    }

    #[test]
    fn percentiles_interpolate_as_numpy() {
        // np.percentile([1, 2, 3, 4, 10], [2.5, 97.5]) = [1.1, 9.4]
        let [low, high] = percentile_interval(&[4.0, 1.0, 10.0, 3.0, 2.0], 0.95).unwrap();
        assert!((low - 1.1).abs() < 1e-12 && (high - 9.4).abs() < 1e-12);
        assert_eq!(percentile_interval(&[], 0.9), None);
    }
}
