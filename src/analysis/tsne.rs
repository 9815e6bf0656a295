//! Seeded Barnes-Hut t-SNE maps of feature sets (the StackGAN++ mode-collapse
//! figures): PCA to ~50 dimensions, exact nearest neighbours, then the
//! Barnes-Hut optimiser of the `bhtsne` crate with scikit-learn's settings.
//!
//! Not `linfa-tsne`: its bhtsne 0.4 finds neighbours with a vantage-point tree
//! built from an unseeded `thread_rng` whose median split selects the wrong
//! element, so a few percent of the neighbour lists are wrong and differ from
//! run to run (the same seed gave different maps), and it is ~10× slower. bhtsne 0.7 takes the
//! neighbour lists and the starting map from the caller, which makes the map a
//! function of the data and the seed alone. The only user of bhtsne.

use ndarray::{Array2, ArrayView2};

use crate::rng::NumpyRandomState;

use super::neighbours::nearest_neighbours;
use super::pca::{PcaError, principal_components};

/// Iterations with exaggerated attractions at the start (bhtsne and
/// scikit-learn use 250); runs must be at least this long.
const EXAGGERATION_ITERATIONS: usize = 250;

/// Settings of a t-SNE run; the defaults are scikit-learn's.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TsneConfig {
    /// Effective number of neighbours each sample's Gaussian covers (≥ 1;
    /// 3·perplexity ≤ samples − 1).
    pub perplexity: f64,
    /// Barnes-Hut opening angle (> 0): smaller is more exact and slower.
    pub theta: f64,
    /// Gradient-descent iterations (≥ 250).
    pub iterations: usize,
    /// Principal components kept before t-SNE (≥ 2; fewer when the features have fewer).
    pub pca_dims: usize,
    /// Seed of the initial map (the draw scikit-learn's `init='random'` makes
    /// with `random_state=seed`): the same seed gives the same map, bit for bit.
    pub seed: u64,
}

impl Default for TsneConfig {
    fn default() -> Self {
        TsneConfig {
            perplexity: 30.0,
            theta: 0.5,
            iterations: 1000,
            pca_dims: 50,
            seed: 0,
        }
    }
}

/// Why a t-SNE map could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TsneError {
    #[error("t-SNE needs at least 4 samples, got {samples}; add samples")]
    TooFewSamples { samples: usize },
    #[error("t-SNE needs features with at least 2 columns, got {columns}")]
    TooFewColumns { columns: usize },
    #[error("--perplexity must be a finite number ≥ 1, got {perplexity}")]
    Perplexity { perplexity: f64 },
    #[error(
        "--perplexity {perplexity} is too large for {samples} samples: Barnes-Hut t-SNE needs 3·perplexity ≤ samples − 1, so the largest allowed is {largest}; lower --perplexity or add samples"
    )]
    PerplexityTooLarge {
        perplexity: f64,
        samples: usize,
        largest: f64,
    },
    #[error(
        "--theta must be a finite number > 0 (0.5 is usual; smaller is more exact and slower), got {theta}"
    )]
    Theta { theta: f64 },
    #[error(
        "--iterations must be at least {EXAGGERATION_ITERATIONS} (the early-exaggeration phase), got {iterations}"
    )]
    Iterations { iterations: usize },
    #[error("--pca-dims must be at least 2, got {pca_dims}")]
    PcaDims { pca_dims: usize },
    #[error("feature row {row}, column {column} is {value}; t-SNE needs finite features")]
    NonFinite {
        row: usize,
        column: usize,
        value: f32,
    },
    #[error("all {samples} samples have identical features: there is nothing to map")]
    IdenticalSamples { samples: usize },
    #[error(transparent)]
    Pca(#[from] PcaError),
    #[error("the t-SNE optimiser failed: {0}")]
    Optimiser(String),
}

impl TsneConfig {
    /// Checks the settings against a data set of `samples` × `columns` before any work.
    pub fn validate(&self, samples: usize, columns: usize) -> Result<(), TsneError> {
        if !(self.perplexity.is_finite() && self.perplexity >= 1.0) {
            return Err(TsneError::Perplexity {
                perplexity: self.perplexity,
            });
        }
        if !(self.theta.is_finite() && self.theta > 0.0) {
            return Err(TsneError::Theta { theta: self.theta });
        }
        if self.iterations < EXAGGERATION_ITERATIONS {
            return Err(TsneError::Iterations {
                iterations: self.iterations,
            });
        }
        if self.pca_dims < 2 {
            return Err(TsneError::PcaDims {
                pca_dims: self.pca_dims,
            });
        }
        if samples < 4 {
            return Err(TsneError::TooFewSamples { samples });
        }
        if columns < 2 {
            return Err(TsneError::TooFewColumns { columns });
        }
        // The Barnes-Hut rule (bhtsne panics on n − 1 < 3·⌊perplexity⌋, linfa-tsne
        // refuses n − 1 < 3·perplexity; scikit-learn only asks perplexity < n): each
        // sample's 3·perplexity nearest neighbours must exist.
        if 3.0 * self.perplexity > (samples - 1) as f64 {
            return Err(TsneError::PerplexityTooLarge {
                perplexity: self.perplexity,
                samples,
                largest: largest_perplexity(samples),
            });
        }
        Ok(())
    }
}

/// The largest perplexity allowed for `samples` samples, `(samples − 1) / 3`,
/// rounded down to two decimals so that the printed value is itself allowed.
pub fn largest_perplexity(samples: usize) -> f64 {
    (samples.saturating_sub(1) as f64 / 3.0 * 100.0).floor() / 100.0
}

/// The 2-d t-SNE map (N × 2) of `features` (N × D): principal components,
/// then Barnes-Hut t-SNE seeded by `cfg.seed`.
pub fn embed(features: ArrayView2<f32>, cfg: &TsneConfig) -> Result<Array2<f64>, TsneError> {
    let (samples, columns) = features.dim();
    cfg.validate(samples, columns)?;
    if let Some(((row, column), &value)) = features.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(TsneError::NonFinite { row, column, value });
    }
    let scores = principal_components(features, cfg.pca_dims)?;
    if scores.iter().all(|&v| v == 0.0) {
        return Err(TsneError::IdenticalSamples { samples });
    }
    run_barnes_hut(scores.view(), cfg)
}

/// Exact neighbour lists, a seeded start and bhtsne's Barnes-Hut optimiser.
///
/// bhtsne parallelises its gradient with float reductions whose order follows
/// rayon's work stealing, so it runs in a one-thread pool: the map is then the
/// same bits whatever the caller's thread count (measured: ~8 s for 5,000
/// samples, several times faster than scikit-learn on two cores).
fn run_barnes_hut(scores: ArrayView2<f64>, cfg: &TsneConfig) -> Result<Array2<f64>, TsneError> {
    let samples = scores.nrows();
    let neighbours: Vec<Vec<bhtsne::Neighbor<f64>>> =
        nearest_neighbours(scores, neighbour_count(cfg.perplexity, samples))
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|n| bhtsne::Neighbor {
                        index: n.index,
                        distance: n.squared_distance.sqrt(),
                    })
                    .collect()
            })
            .collect();
    let start = initial_map(samples, cfg.seed);
    // bhtsne reads only the number of samples from its data; the neighbours carry the rest.
    let rows: Vec<usize> = (0..samples).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| TsneError::Optimiser(e.to_string()))?;
    let map = pool.install(|| {
        let mut tsne: bhtsne::tSNE<f64, usize> = bhtsne::tSNE::new(&rows);
        tsne.perplexity(cfg.perplexity)
            .epochs(cfg.iterations)
            .learning_rate(learning_rate(samples))
            .initial_embedding(start)
            .barnes_hut_with_neighbors(cfg.theta, &neighbours);
        tsne.embedding()
    });
    Array2::from_shape_vec((samples, 2), map).map_err(|e| TsneError::Optimiser(e.to_string()))
}

/// Neighbours per sample in the sparse affinities: scikit-learn's
/// `min(samples − 1, ⌊3·perplexity + 1⌋)`.
fn neighbour_count(perplexity: f64, samples: usize) -> usize {
    ((3.0 * perplexity + 1.0) as usize).min(samples - 1)
}

/// scikit-learn's step: its `learning_rate='auto'`, `max(N / 12 / 4, 50)`, applies
/// to a gradient it multiplies by 4 (the Student-t factor `2(ν + 1)/ν`), which
/// bhtsne's gradient lacks, so bhtsne gets four times that rate. (bhtsne's own
/// default is the unscaled rate; on the 5,000-sample bench it left the map
/// under-expanded: trustworthiness 0.977 instead of 0.986.)
fn learning_rate(samples: usize) -> f64 {
    4.0 * (samples as f64 / 12.0 / 4.0).max(50.0)
}

/// The starting map: `1e-4 · standard_normal((samples, 2))` in float32 from numpy's
/// `RandomState(seed)` — the draws of scikit-learn's `init='random'` for seeds
/// below 2³² (larger seeds key the generator with both 32-bit halves).
fn initial_map(samples: usize, seed: u64) -> Vec<f64> {
    let mut rng = match u32::try_from(seed) {
        Ok(seed) => NumpyRandomState::new(seed),
        Err(_) => NumpyRandomState::from_key(&[seed as u32, (seed >> 32) as u32]),
    };
    let mut draws = vec![0f32; samples * 2];
    rng.fill_standard_normal(&mut draws);
    draws.iter().map(|&v| f64::from(v * 1e-4f32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The starting map equals scikit-learn's `init='random'` draw for the same
    /// seed, bit for bit (both are one float32 product per value), from
    /// tests/fixtures/tsne/make.py.
    #[test]
    fn initial_map_is_sklearns_random_init() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tsne/init.npz");
        let mut npz = ndarray_npy::NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
        for seed in [0u64, 42] {
            let expected: Array2<f32> = npz.by_name(&format!("seed{seed}")).unwrap();
            let expected: Vec<f64> = expected.iter().map(|&v| f64::from(v)).collect();
            assert_eq!(expected.len(), 10);
            assert_eq!(initial_map(5, seed), expected, "seed {seed}");
        }
    }

    #[test]
    fn neighbour_count_and_learning_rate_follow_sklearn() {
        assert_eq!(neighbour_count(30.0, 5000), 91);
        assert_eq!(neighbour_count(30.0, 80), 79);
        assert_eq!(learning_rate(5000), 5000.0 / 12.0);
        assert_eq!(learning_rate(300), 200.0);
    }
}
