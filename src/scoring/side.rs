//! What one side of a comparison yields — statistics, pool features, IS
//! logits — and the accumulator that collects it batch by batch, the same
//! for a folder streamed through the extractor and for generated samples.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ndarray::Array2;

use super::metric::Needs;
use super::options::IsOptions;
use crate::features::{FeatureFile, FeatureStore, Features, IsSetup};
use crate::metrics::{FidStats, StatsAccumulator};

/// The evaluated images' logits and what the model that produced them (its
/// scoring protocol and manifest) gives the Inception Score; the defaults for
/// logits read from a feature file.
#[derive(Debug, Clone)]
pub struct IsLogits {
    pub values: Features,
    pub model: IsSetup,
}

/// What one side yields.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// How messages name this side (`--real cub/`, `the 64×64 branch`).
    pub label: String,
    /// Samples behind this side; unknown for a statistics file without `count`.
    pub count: Option<usize>,
    pub stats: Option<FidStats>,
    /// Feature vectors (KID, PRDC), in memory or spilled to a mapped file.
    pub pool: Option<Features>,
    pub logits: Option<IsLogits>,
    /// The image file of each sample, in order, where known (the failure
    /// triage names its examples by them); empty when none is.
    pub files: Vec<Option<PathBuf>>,
}

impl Side {
    /// A pytorch-fid statistics file.
    pub fn from_stats(label: String, stats: FidStats) -> Side {
        Side {
            label,
            count: stats.count.map(|c| c as usize),
            stats: Some(stats),
            ..Side::default()
        }
    }

    /// Features from `extract` (read from `path`, or held in memory).
    pub fn from_features(
        label: String,
        file: &FeatureFile,
        path: &Path,
        needs: Needs,
        is: &IsOptions,
    ) -> anyhow::Result<Side> {
        let mut side = Side {
            label,
            count: Some(file.len()),
            ..Side::default()
        };
        if needs.pool_output() {
            let pool = file.require(path, "pool")?;
            if needs.stats {
                let mut accumulator = StatsAccumulator::new(pool.ncols());
                accumulator.add(pool.view())?;
                side.stats = Some(
                    accumulator
                        .finish()
                        .with_context(|| format!("{}: cannot form statistics", path.display()))?,
                );
            }
            if needs.pool {
                side.pool = Some(Features::Memory(pool.clone()));
                side.files = file.files.iter().cloned().map(Some).collect();
            }
        }
        if needs.logits {
            let name = is.logits.clone().unwrap_or_else(|| {
                if file.array("logits_unbiased").is_some() {
                    "logits_unbiased"
                } else {
                    "logits"
                }
                .into()
            });
            side.logits = Some(IsLogits {
                values: Features::Memory(file.require(path, &name)?.clone()),
                model: IsSetup::default(),
            });
        }
        Ok(side)
    }
}

/// Collects a side batch by batch: statistics accumulate exactly (batch-size
/// independent), feature vectors and logits are kept in order, in a
/// [`FeatureStore`] each (spilled to a file past its threshold).
pub struct SideAccumulator {
    needs: Needs,
    stats: Option<StatsAccumulator>,
    pools: FeatureStore,
    logits: FeatureStore,
    count: usize,
    files: Vec<Option<PathBuf>>,
}

impl SideAccumulator {
    pub fn new(needs: Needs) -> SideAccumulator {
        SideAccumulator {
            needs,
            stats: None,
            pools: FeatureStore::default(),
            logits: FeatureStore::default(),
            count: 0,
            files: Vec::new(),
        }
    }

    /// Adds one batch's pool features (used when statistics or vectors are needed).
    pub fn add_pool(&mut self, pool: &Array2<f32>) -> anyhow::Result<()> {
        if self.needs.stats {
            self.stats
                .get_or_insert_with(|| StatsAccumulator::new(pool.ncols()))
                .add(pool.view())?;
        }
        if self.needs.pool {
            self.pools.push(pool.view())?;
        }
        Ok(())
    }

    /// Adds one batch's IS logits (from the extractor or the classifier).
    pub fn add_logits(&mut self, logits: &Array2<f32>) -> anyhow::Result<()> {
        Ok(self.logits.push(logits.view())?)
    }

    /// Records the image files of the next samples (kept with the feature
    /// vectors, which the triage that names them needs).
    pub fn add_files(&mut self, files: impl IntoIterator<Item = Option<PathBuf>>) {
        if self.needs.pool {
            self.files.extend(files);
        }
    }

    /// Counts `samples` more behind this side.
    pub fn count(&mut self, samples: usize) {
        self.count += samples;
    }

    /// The side; `model` is what the model that made the logits gives the IS.
    pub fn finish(self, label: String, model: IsSetup) -> anyhow::Result<Side> {
        let stats = self
            .stats
            .map(|accumulator| accumulator.finish())
            .transpose()
            .with_context(|| format!("{label}: cannot form statistics"))?;
        let pool = self.pools.finish()?;
        let logits = self
            .logits
            .finish()?
            .map(|values| IsLogits { values, model });
        Ok(Side {
            label,
            count: Some(self.count),
            stats,
            pool,
            logits,
            files: self.files,
        })
    }
}
