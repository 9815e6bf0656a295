//! Typed results of scoring: one flat [`ScoreReport`] per scored set (the
//! JSON of `fid`, `is`, `kid`, `score`), an [`EvalReport`] per `eval` run,
//! and reading them back for `compare`. Absent metrics are omitted from the
//! JSON.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::metrics::{ColorConsistency, Triage};
use crate::report::Stamp;

/// What `fid`, `is`, `kid` and `score` produce: the numbers and the
/// provenance needed to trace each one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    /// Fréchet Inception Distance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<f64>,
    /// Bootstrap percentile interval of `fid` (`--bootstrap`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_ci: Option<[f64; 2]>,
    /// Regulariser added to both covariances when the eigen-solver needed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_eps_added: Option<f64>,
    /// Inception Score: mean and standard deviation over the splits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mean: Option<f64>,
    /// Bootstrap percentile interval of `is_mean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_mean_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_splits: Option<usize>,
    /// `torch-fidelity` or `stackgan`: how splits and the std are formed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_protocol: Option<String>,
    /// Kernel Inception Distance: mean and standard deviation over subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_mean: Option<f64>,
    /// Bootstrap percentile interval of `kid_mean`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_mean_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_subsets: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_subset_size: Option<usize>,
    /// Precision, recall, density and coverage (k-NN manifolds) against the real side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    /// Bootstrap percentile intervals of precision, recall, density, coverage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recall_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub density_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage_ci: Option<[f64; 2]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prdc_k: Option<usize>,
    /// Share of samples whose nearest other sample is closer than `duplicate_distance`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub near_duplicate_rate: Option<f64>,
    /// The `duplicate_quantile` quantile of the real set's nearest-neighbour distances.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_distance: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_quantile: Option<f64>,
    /// The paper's failure kinds (severe, moderate, mild) of the evaluated
    /// samples, when PRDC and IS were both computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<Triage>,
    /// FID∞ (Chong & Forsyth): the line through the FIDs of `fid_inf_counts`
    /// random subsets of the evaluated samples, against 1/N, at 1/N = 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_inf: Option<f64>,
    /// Root mean square of that line's residuals (FID units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_inf_residual: Option<f64>,
    /// Standard error of `fid_inf`, the intercept, from the fit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_inf_stderr: Option<f64>,
    /// The subsets' sample counts and FIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_inf_counts: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid_inf_values: Option<Vec<f64>>,
    /// IS∞: the same extrapolation of the subsets' Inception Scores (one split each).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inf: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inf_residual: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inf_stderr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inf_counts: Option<Vec<usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_inf_values: Option<Vec<f64>>,
    /// Seed of the `RandomState` whose shuffles drew the FID∞/IS∞ subsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inf_seed: Option<u32>,
    /// Samples behind the real side and the fake side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_real: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_fake: Option<usize>,
    /// Images behind a single-set metric (IS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_images: Option<usize>,
    /// Unreadable images skipped under `--skip-bad`.
    pub skipped_images: usize,
    /// The extractor model (FID, KID, and IS unless a classifier is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extractor: Option<ModelProvenance>,
    /// The classifier used for IS, when it is not the extractor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classifier: Option<ModelProvenance>,
    /// Scoring protocol the images were fed under (`pytorch-fid`,
    /// `clean-fid`, `torch-fidelity`, `stackgan-is` or the model's own);
    /// absent when no image went through a model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Resize mode used on images (`legacy-pytorch`, `clean`, `legacy-tf`, `pil-bilinear`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resize: Option<String>,
    /// Execution provider that ran the models.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The devices a run spread over (`--devices`), when more than one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
    /// ONNX Runtime version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onnxruntime: Option<String>,
    /// Seeds of KID's subsets and IS's shuffle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid_seed: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shuffle_seed: Option<u32>,
    pub batch_size: usize,
    /// The bootstrap behind the `*_ci` intervals: settings and replicate values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<BootstrapSummary>,
    #[serde(flatten)]
    pub stamp: Stamp,
    /// Things a reader of the number should know (small N, singular covariance, …).
    pub warnings: Vec<String>,
}

impl ScoreReport {
    pub fn new(batch_size: usize) -> Self {
        ScoreReport {
            batch_size,
            ..Default::default()
        }
    }
}

/// What a report records of its bootstrap: the settings and every
/// replicate's value per metric (in replicate order), so that two runs can
/// be compared replicate by replicate (`compare --paired`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootstrapSummary {
    pub replicates: usize,
    pub seed: u32,
    pub level: f64,
    /// Replicate values by metric key (`fid`, `is_mean`, `kid_mean`, `precision`, …).
    pub values: BTreeMap<String, Vec<f64>>,
    /// Mean of the replicates minus the value, by metric key: how far the
    /// resampling moved the metric (large and positive for FID and KID,
    /// whose percentile interval then lies above the value).
    #[serde(default)]
    pub bias: BTreeMap<String, f64>,
}

/// Which model produced a number, exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelProvenance {
    pub path: String,
    pub name: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// Which generator produced the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorProvenance {
    pub path: String,
    pub name: String,
    pub sha256: String,
    pub family: String,
    pub config: String,
}

/// The scores of one branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchReport {
    pub resolution: u32,
    pub output: String,
    #[serde(flatten)]
    pub scores: ScoreReport,
}

/// Colour consistency between two kept branches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ColorPair {
    pub from: u32,
    pub to: u32,
    #[serde(flatten)]
    pub result: ColorConsistency,
}

/// What `eval` produces.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    pub generator: GeneratorProvenance,
    /// SHA-256 of the embeddings or noise file.
    pub inputs_sha256: Option<String>,
    pub seed: Option<u32>,
    /// How the samples were chosen: `plain`, `stackgan-v2-cub`, `stackgan-v2-uncond`.
    pub sampling_protocol: String,
    /// What was drawn, in words.
    pub sampling: String,
    pub samples: usize,
    pub branches: Vec<BranchReport>,
    pub color_consistency: Vec<ColorPair>,
    #[serde(flatten)]
    pub stamp: Stamp,
}

/// A report file written with `--json`, read back.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum ReportFile {
    Score(Box<ScoreReport>),
    Eval(Box<EvalReport>),
}

impl ReportFile {
    /// Reads a `--json` report of `fid`, `is`, `kid`, `score` or `eval`.
    pub fn read(path: &Path) -> anyhow::Result<ReportFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report {}; check the path", path.display()))?;
        let value: serde_json::Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON; pass files written by --json",
                path.display()
            )
        })?;
        let ours = serde_json::from_value::<Stamp>(value.clone()).is_ok_and(|s| s.is_ours());
        if !ours {
            bail!(
                "{} is not a stackgan-eval report (no \"tool\": \"stackgan-eval\"); pass files written by --json",
                path.display()
            );
        }
        let unreadable = |e: serde_json::Error| {
            anyhow::anyhow!(
                "{}: not a score or eval report ({e}); pass files written by --json of fid, is, kid, score or eval",
                path.display()
            )
        };
        if value.get("branches").is_some() {
            let report = serde_json::from_value(value).map_err(unreadable)?;
            Ok(ReportFile::Eval(Box::new(report)))
        } else {
            let report = serde_json::from_value(value).map_err(unreadable)?;
            Ok(ReportFile::Score(Box::new(report)))
        }
    }
}
