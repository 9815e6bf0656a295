//! The settings of the metrics, one type each for the flags and for the
//! sections of an ablation config (`[is]`, `[kid]`, `[prdc]`, `[bootstrap]`),
//! with their one default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::metric::{Metric, Requirements};
use crate::features::IsSetup;
use crate::metrics::{InfinityConfig, IsConfig, KidConfig, PrdcConfig};

pub use crate::models::IsProtocol;

impl IsProtocol {
    /// The metric's settings for this protocol.
    fn preset(self) -> IsConfig {
        match self {
            IsProtocol::TorchFidelity => IsConfig::torch_fidelity(),
            IsProtocol::Stackgan => IsConfig::stackgan(),
        }
    }
}

/// Inception Score settings: the IS flags and the `[is]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IsOptions {
    /// Number of splits.
    pub splits: usize,
    /// How splits are formed; `None`: the scoring protocol's rule.
    pub protocol: Option<IsProtocol>,
    /// Output (or feature-file array) holding the logits; `None`: the model's choice.
    pub logits: Option<String>,
    /// Columns dropped before the softmax; `None`: the model's choice.
    pub drop_columns: Option<Vec<usize>>,
    /// Shuffle before splitting with numpy's `RandomState(seed)`; `None`: the protocol's choice.
    pub shuffle_seed: Option<u32>,
    /// Keep the file order (no shuffle before splitting).
    pub no_shuffle: bool,
}

impl Default for IsOptions {
    /// torch-fidelity's 10 splits, everything else from the scoring protocol and the model.
    fn default() -> Self {
        IsOptions {
            splits: IsProtocol::TorchFidelity.preset().splits,
            protocol: None,
            logits: None,
            drop_columns: None,
            shuffle_seed: None,
            no_shuffle: false,
        }
    }
}

impl IsOptions {
    /// Refuses settings that contradict each other.
    pub fn check(&self) -> Result<(), String> {
        if self.no_shuffle && self.shuffle_seed.is_some() {
            return Err("`shuffle_seed` and `no_shuffle` exclude each other; keep one".to_string());
        }
        if self.splits == 0 {
            return Err("`splits` must be at least 1".to_string());
        }
        Ok(())
    }

    /// The split rule in force: the flag's, else the one `model` (the
    /// scoring protocol and manifest of the model that made the logits) gives.
    pub fn protocol(&self, model: &IsSetup) -> IsProtocol {
        self.protocol.unwrap_or(model.protocol)
    }

    /// The metric's settings: the split rule's preset with these options
    /// over it; the drop columns `model` gives apply unless columns were given.
    pub fn config(&self, model: &IsSetup) -> IsConfig {
        let mut config = self.protocol(model).preset();
        config.splits = self.splits;
        if let Some(columns) = self.drop_columns.clone().or(model.drop_columns.clone()) {
            config.drop_columns = columns;
        }
        if self.no_shuffle {
            config.shuffle_seed = None;
        } else if let Some(seed) = self.shuffle_seed {
            config.shuffle_seed = Some(seed);
        }
        config
    }
}

/// Collapse statistics settings: the PR-DC flags and the `[prdc]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrdcOptions {
    /// Neighbours defining each sample's k-NN ball (5, as Naeem et al.).
    pub k: usize,
    /// Quantile of the real set's nearest-neighbour distances below which
    /// two samples are near-duplicates.
    pub duplicate_quantile: f64,
}

impl Default for PrdcOptions {
    fn default() -> Self {
        PrdcOptions {
            k: PrdcConfig::default().k,
            duplicate_quantile: 0.05,
        }
    }
}

impl PrdcOptions {
    /// The metric's settings.
    pub fn config(&self) -> PrdcConfig {
        PrdcConfig { k: self.k }
    }
}

/// Bootstrap settings: the `--bootstrap`, `--bootstrap-seed` and
/// `--ci-level` flags and an ablation's `[bootstrap]` section.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapOptions {
    /// Replicates B (each resamples every side once).
    pub replicates: usize,
    /// Seed of numpy's `RandomState` that draws every replicate's rows.
    pub seed: u32,
    /// Confidence level of the percentile interval, strictly between 0 and 1.
    pub level: f64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            replicates: 100,
            seed: 0,
            level: 0.95,
        }
    }
}

impl BootstrapOptions {
    /// The fewest replicates an interval is formed from.
    pub const MIN_REPLICATES: usize = 2;

    /// Refuses a replicate count below [`Self::MIN_REPLICATES`]; the fix in words.
    pub fn check_replicates(replicates: usize) -> Result<(), String> {
        if replicates < Self::MIN_REPLICATES {
            return Err(format!(
                "{replicates} replicates form no interval; give at least {} (100 to 1000 is usual)",
                Self::MIN_REPLICATES
            ));
        }
        Ok(())
    }

    /// Refuses a level outside (0, 1); the fix in words.
    pub fn check_level(level: f64) -> Result<(), String> {
        if !(level > 0.0 && level < 1.0) {
            return Err(format!(
                "confidence level {level} is not strictly between 0 and 1; give e.g. 0.95"
            ));
        }
        Ok(())
    }

    /// Refuses settings no bootstrap could honour.
    pub fn check(&self) -> Result<(), String> {
        Self::check_replicates(self.replicates)?;
        Self::check_level(self.level)
    }
}

/// What to score and with which models: what `score`, `eval` and every
/// variant of an ablation share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringOptions {
    pub metrics: Vec<Metric>,
    /// The feature extractor (FID, KID, PR-DC, and IS unless `classifier` is given).
    pub extractor: Option<PathBuf>,
    /// A separate model for IS (e.g. StackGAN's fine-tuned classifier).
    pub classifier: Option<PathBuf>,
    pub is: IsOptions,
    pub kid: KidConfig,
    pub prdc: PrdcOptions,
    /// How FID∞ and IS∞ choose their subsets.
    pub infinity: InfinityConfig,
    /// Bootstrap confidence intervals; `None`: none.
    #[serde(default)]
    pub bootstrap: Option<BootstrapOptions>,
}

impl Default for ScoringOptions {
    fn default() -> Self {
        ScoringOptions {
            metrics: Metric::DEFAULT_SET.to_vec(),
            extractor: None,
            classifier: None,
            is: IsOptions::default(),
            kid: KidConfig::default(),
            prdc: PrdcOptions::default(),
            infinity: InfinityConfig::default(),
            bootstrap: None,
        }
    }
}

impl ScoringOptions {
    /// What the metrics need from each side.
    pub fn requirements(&self) -> Requirements {
        let mut requirements = Requirements::of(&self.metrics, self.classifier.is_some());
        // FID's bootstrap resamples the feature vectors behind the statistics.
        if self.bootstrap.is_some() && self.wants(Metric::Fid) {
            requirements.real.pool = true;
            requirements.fake.pool = true;
        }
        requirements
    }

    /// Refuses settings no run could honour, before any model loads.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.metrics.is_empty() {
            anyhow::bail!(
                "--metrics names no metric; name at least one of {}",
                Metric::NAMES.join(", ")
            );
        }
        if let Some(bootstrap) = &self.bootstrap {
            bootstrap
                .check()
                .map_err(|e| anyhow::anyhow!("--bootstrap: {e}"))?;
        }
        self.is
            .check()
            .map_err(|e| anyhow::anyhow!("IS settings: {e}"))?;
        if self.wants(Metric::FidInf) || self.wants(Metric::IsInf) {
            self.infinity.check()?;
        }
        Ok(())
    }

    /// Whether `metric` is asked for.
    pub fn wants(&self, metric: Metric) -> bool {
        self.metrics.contains(&metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_options_lay_the_flags_over_the_protocol() {
        let columns = |c: Option<Vec<usize>>| IsSetup {
            drop_columns: c,
            ..IsSetup::default()
        };
        let stackgan = IsOptions {
            protocol: Some(IsProtocol::Stackgan),
            ..IsOptions::default()
        };
        let config = stackgan.config(&columns(None));
        assert_eq!(config.drop_columns, vec![0]);
        assert_eq!(config.whole_batches_of, Some(64));
        assert_eq!(config.shuffle_seed, None);
        let torch = IsOptions::default().config(&columns(Some(vec![3])));
        assert_eq!(torch.shuffle_seed, Some(2020));
        assert_eq!(torch.drop_columns, vec![3], "the model's columns");
        let given = IsOptions {
            drop_columns: Some(vec![1]),
            no_shuffle: true,
            splits: 4,
            ..IsOptions::default()
        };
        let config = given.config(&columns(Some(vec![3])));
        assert_eq!(
            (config.drop_columns, config.shuffle_seed, config.splits),
            (vec![1], None, 4)
        );
        assert_eq!(
            IsOptions {
                shuffle_seed: Some(7),
                ..IsOptions::default()
            }
            .config(&columns(None))
            .shuffle_seed,
            Some(7)
        );
        // Without the flag, the split rule is the one the model's protocol gives.
        let from_model = IsSetup {
            protocol: IsProtocol::Stackgan,
            ..IsSetup::default()
        };
        assert_eq!(
            IsOptions::default().protocol(&from_model),
            IsProtocol::Stackgan
        );
        assert_eq!(
            IsOptions::default().config(&from_model).whole_batches_of,
            Some(64)
        );
    }

    #[test]
    fn contradictory_is_options_are_refused() {
        let both = IsOptions {
            shuffle_seed: Some(1),
            no_shuffle: true,
            ..IsOptions::default()
        };
        assert!(both.check().unwrap_err().contains("no_shuffle"));
        let none = IsOptions {
            splits: 0,
            ..IsOptions::default()
        };
        assert!(none.check().unwrap_err().contains("splits"));
    }
}
