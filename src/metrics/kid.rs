//! Kernel Inception Distance, matching torch-fidelity 0.4 (`kid_features_to_metric`):
//! the same seeded subsets, polynomial kernel, unbiased MMD² estimator and `np.std`.
//!
//! One deliberate difference: kernels are computed in float64. torch-fidelity
//! computes them in the features' dtype (float32 from its extractor), so its
//! per-subset MMD² carries float32 rounding noise; with float64 features the two
//! agree to ~1e-12 (see tests/suite/metrics_kid.rs for the measured float32 gap).

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::rng::NumpyRandomState;

/// Above this many Gram entries (all pairs of both sets) subsets get their own kernels.
const FULL_GRAM_MAX_ENTRIES: usize = 64 << 20;

/// KID settings; the defaults are torch-fidelity's. Also the `[kid]`
/// section of an ablation config (keys as the fields, each defaulted).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KidConfig {
    /// Number of random subsets (torch-fidelity: 100).
    pub subsets: usize,
    /// Samples per subset, drawn without replacement from each set (torch-fidelity: 1000).
    pub subset_size: usize,
    /// Polynomial kernel degree (3).
    pub degree: u32,
    /// Kernel scale; `None` means 1/D.
    pub gamma: Option<f64>,
    /// Kernel offset (1).
    pub coef0: f64,
    /// Seed of numpy's `RandomState` that draws the subsets (torch-fidelity's `rng_seed`: 2020).
    pub seed: u32,
}

impl Default for KidConfig {
    fn default() -> Self {
        KidConfig {
            subsets: 100,
            subset_size: 1000,
            degree: 3,
            gamma: None,
            coef0: 1.0,
            seed: 2020,
        }
    }
}

/// Mean and std (ddof 0) of the MMD² estimates over subsets.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KernelInceptionDistance {
    /// Mean MMD²; slightly negative values mean very similar distributions.
    pub mean: f64,
    /// `np.std` of the per-subset MMD².
    pub std: f64,
    /// Subsets used.
    pub subsets: usize,
    /// Samples per subset.
    pub subset_size: usize,
}

/// Why KID could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum KidError {
    #[error(
        "KID subset size {subset_size} is larger than the {which} set ({n} samples); set --kid-subset-size to at most {n}"
    )]
    TooFewSamples {
        which: &'static str,
        n: usize,
        subset_size: usize,
    },
    #[error("--kid-subset-size must be at least 2 (got {0})")]
    SubsetSize(usize),
    #[error("--kid-subsets must be at least 1")]
    NoSubsets,
    #[error(
        "feature dimensions differ: real D={real}, fake D={fake}; use features of the same extractor layer"
    )]
    Dimension { real: usize, fake: usize },
    #[error("{which} features contain NaN or infinity; check the extractor output")]
    NonFinite { which: &'static str },
}

/// KID between `real` (N1, D) and `fake` (N2, D) features.
pub fn kernel_inception_distance(
    real: ArrayView2<f32>,
    fake: ArrayView2<f32>,
    cfg: &KidConfig,
) -> Result<KernelInceptionDistance, KidError> {
    validate(real, fake, cfg)?;
    let subsets = draw_subsets(real.nrows(), fake.nrows(), cfg);
    let kernel = PolyKernel {
        gamma: cfg.gamma.unwrap_or(1.0 / real.ncols() as f64),
        coef0: cfg.coef0,
        degree: cfg.degree,
    };
    // Float64 copies of whole sets only when they are small enough for the
    // full Gram matrices; otherwise of each subset's rows (800 MB of f32
    // features at 100k images would be 1.6 GB as f64).
    let all_pairs = (real.nrows() + fake.nrows()).pow(2);
    let per_subset = 3 * cfg.subsets * cfg.subset_size * cfg.subset_size;
    let mmds: Vec<f64> = if all_pairs <= FULL_GRAM_MAX_ENTRIES && all_pairs <= per_subset {
        let real = real.mapv(f64::from);
        let fake = fake.mapv(f64::from);
        let grams = [
            gram(real.view(), real.view()),
            gram(real.view(), fake.view()),
            gram(fake.view(), fake.view()),
        ];
        subsets
            .par_iter()
            .map(|(x, y)| {
                let [xx, xy, yy] = &grams;
                mmd2_unbiased(
                    x.len(),
                    &kernel,
                    |i, j| xx[[x[i], x[j]]],
                    |i, j| xy[[x[i], y[j]]],
                    |i, j| yy[[y[i], y[j]]],
                )
            })
            .collect()
    } else {
        subsets
            .par_iter()
            .map(|(x, y)| {
                let xs = real.select(Axis(0), x).mapv(f64::from);
                let ys = fake.select(Axis(0), y).mapv(f64::from);
                let (xx, xy, yy) = (
                    gram(xs.view(), xs.view()),
                    gram(xs.view(), ys.view()),
                    gram(ys.view(), ys.view()),
                );
                mmd2_unbiased(
                    x.len(),
                    &kernel,
                    |i, j| xx[[i, j]],
                    |i, j| xy[[i, j]],
                    |i, j| yy[[i, j]],
                )
            })
            .collect()
    };
    let k = mmds.len() as f64;
    let mean = mmds.iter().sum::<f64>() / k;
    let std = (mmds.iter().map(|m| (m - mean) * (m - mean)).sum::<f64>() / k).sqrt();
    Ok(KernelInceptionDistance {
        mean,
        std,
        subsets: cfg.subsets,
        subset_size: cfg.subset_size,
    })
}

fn validate(real: ArrayView2<f32>, fake: ArrayView2<f32>, cfg: &KidConfig) -> Result<(), KidError> {
    if cfg.subsets == 0 {
        return Err(KidError::NoSubsets);
    }
    if cfg.subset_size < 2 {
        return Err(KidError::SubsetSize(cfg.subset_size));
    }
    if real.ncols() != fake.ncols() {
        return Err(KidError::Dimension {
            real: real.ncols(),
            fake: fake.ncols(),
        });
    }
    for (which, set) in [("real", real), ("fake", fake)] {
        if set.nrows() < cfg.subset_size {
            return Err(KidError::TooFewSamples {
                which,
                n: set.nrows(),
                subset_size: cfg.subset_size,
            });
        }
        if !set.iter().all(|v| v.is_finite()) {
            return Err(KidError::NonFinite { which });
        }
    }
    Ok(())
}

/// Subset indices in torch-fidelity's order: per subset, real then fake, one stream.
fn draw_subsets(n_real: usize, n_fake: usize, cfg: &KidConfig) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut rng = NumpyRandomState::new(cfg.seed);
    (0..cfg.subsets)
        .map(|_| {
            let x = rng.choice_without_replacement(n_real, cfg.subset_size);
            let y = rng.choice_without_replacement(n_fake, cfg.subset_size);
            (x, y)
        })
        .collect()
}

/// Inner products `A Bᵀ` (BLAS gemm).
fn gram(a: ArrayView2<f64>, b: ArrayView2<f64>) -> Array2<f64> {
    let mut g = Array2::zeros((a.nrows(), b.nrows()));
    general_mat_mul(1.0, &a, &b.t(), 0.0, &mut g);
    g
}

/// `k(x, y) = (γ xᵀy + c)^d` applied to an inner product.
struct PolyKernel {
    gamma: f64,
    coef0: f64,
    degree: u32,
}

impl PolyKernel {
    fn apply(&self, inner: f64) -> f64 {
        (inner * self.gamma + self.coef0).powi(self.degree as i32)
    }
}

/// Unbiased MMD²: off-diagonal means of K_XX and K_YY minus twice the mean of K_XY.
fn mmd2_unbiased(
    m: usize,
    kernel: &PolyKernel,
    xx: impl Fn(usize, usize) -> f64,
    xy: impl Fn(usize, usize) -> f64,
    yy: impl Fn(usize, usize) -> f64,
) -> f64 {
    let (mut sum_xx, mut sum_yy, mut sum_xy) = (0.0, 0.0, 0.0);
    for i in 0..m {
        for j in 0..m {
            if i != j {
                sum_xx += kernel.apply(xx(i, j));
                sum_yy += kernel.apply(yy(i, j));
            }
            sum_xy += kernel.apply(xy(i, j));
        }
    }
    let m = m as f64;
    (sum_xx + sum_yy) / (m * (m - 1.0)) - 2.0 * sum_xy / (m * m)
}
