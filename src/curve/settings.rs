//! The identity of a curve's evaluation: every setting that changes a
//! checkpoint's numbers. Each kept row records it; a run with other
//! settings is refused, naming the first setting that differs, so that one
//! table never mixes numbers computed two ways. Paths count as given: shard
//! runs and the final run must name the same files the same way.

use serde::{Deserialize, Serialize};

use crate::convert::StackganKind;
use crate::generate::{JobSpec, PlanRequest};
use crate::metrics::{InfinityConfig, KidConfig};
use crate::options::ImageOptions;
use crate::scoring::{Input, IsOptions, Metric, PrdcOptions, ScoringOptions};

/// Every setting of the evaluation a checkpoint goes through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub metrics: Vec<Metric>,
    pub extractor: Option<String>,
    pub classifier: Option<String>,
    pub is: IsOptions,
    pub kid: KidConfig,
    pub prdc: PrdcOptions,
    /// FID∞/IS∞ subsets (absent in rows kept before they existed).
    #[serde(default)]
    pub infinity: InfinityConfig,
    pub protocol: Option<String>,
    pub resize: Option<String>,
    pub skip_bad: bool,
    /// The reference set.
    pub real: Option<String>,
    pub embeddings: Option<String>,
    pub noise: Option<String>,
    pub seed: u32,
    pub sampling: String,
    pub plan: PlanRequest,
    pub branches: String,
    pub batch_size: usize,
    /// How PyTorch checkpoints are converted.
    pub kind: Option<StackganKind>,
}

/// The parts of a curve's configuration the settings are read from.
pub struct SettingsOf<'a> {
    pub scoring: &'a ScoringOptions,
    pub images: &'a ImageOptions,
    pub job: &'a JobSpec,
    pub real: Option<&'a Input>,
    pub batch_size: usize,
    pub kind: Option<StackganKind>,
}

impl Settings {
    pub fn new(of: SettingsOf) -> Settings {
        let path = |p: Option<&std::path::PathBuf>| p.map(|p| p.display().to_string());
        Settings {
            metrics: of.scoring.metrics.clone(),
            extractor: path(of.scoring.extractor.as_ref()),
            classifier: path(of.scoring.classifier.as_ref()),
            is: of.scoring.is.clone(),
            kid: of.scoring.kid.clone(),
            prdc: of.scoring.prdc,
            infinity: of.scoring.infinity.clone(),
            protocol: of.images.protocol.as_ref().map(|p| p.to_string()),
            resize: of.images.resize.map(|r| r.to_string()),
            skip_bad: of.images.skip_bad,
            real: path(of.real.map(|r| &r.path)),
            embeddings: path(of.job.embeddings.as_ref()),
            noise: path(of.job.noise.as_ref()),
            seed: of.job.seed,
            sampling: of.job.sampling.to_string(),
            plan: of.job.plan.clone(),
            branches: format!("{:?}", of.job.branches),
            batch_size: of.batch_size,
            kind: of.kind,
        }
    }

    /// The first setting in which these (now) differ from `kept` (a kept
    /// row's), in words; `None` when equal.
    pub fn difference(&self, kept: &Settings) -> Option<String> {
        let (Ok(serde_json::Value::Object(mine)), Ok(serde_json::Value::Object(theirs))) =
            (serde_json::to_value(self), serde_json::to_value(kept))
        else {
            return (self != kept).then(|| "the settings differ".to_string());
        };
        mine.iter()
            .find(|(key, value)| theirs.get(*key) != Some(value))
            .map(|(key, value)| {
                let then = theirs.get(key).cloned().unwrap_or_default();
                format!("{key} was {then}, is {value} now")
            })
    }
}
