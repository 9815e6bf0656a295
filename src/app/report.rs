//! The result of a scoring run: one flat JSON object (metric values, counts
//! and the provenance needed to trace a number) and a short summary.

use std::path::Path;

use serde::Serialize;

use crate::atomic::write_bytes_atomically;

/// What `fid`, `is`, `kid` and `score` produce. Absent metrics are omitted
/// from the JSON.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoreReport {
    /// Fréchet Inception Distance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid: Option<f64>,
    /// Regulariser added to both covariances when the eigen-solver needed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fid_eps_added: Option<f64>,
    /// Inception Score: mean and standard deviation over the splits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_splits: Option<usize>,
    /// `torch-fidelity` or `stackgan`: how splits and the std are formed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_protocol: Option<String>,
    /// Kernel Inception Distance: mean and standard deviation over subsets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_mean: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_std: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_subsets: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_subset_size: Option<usize>,
    /// Precision, recall, density and coverage (k-NN manifolds) against the real side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub density: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prdc_k: Option<usize>,
    /// Share of samples whose nearest other sample is closer than `duplicate_distance`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_duplicate_rate: Option<f64>,
    /// The `duplicate_quantile` quantile of the real set's nearest-neighbour distances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_distance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_quantile: Option<f64>,
    /// Samples behind the real side and the fake side.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_real: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_fake: Option<usize>,
    /// Images behind a single-set metric (IS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_images: Option<usize>,
    /// Unreadable images skipped under `--skip-bad`.
    pub skipped_images: usize,
    /// The extractor model (FID, KID, and IS unless a classifier is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extractor: Option<ModelProvenance>,
    /// The classifier used for IS, when it is not the extractor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classifier: Option<ModelProvenance>,
    /// Scoring protocol the images were fed under (`pytorch-fid`, `clean-fid`,
    /// `torch-fidelity`, `stackgan-is` or the model's own); absent when no image went through a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Resize mode used on images (`legacy-pytorch`, `clean`, `legacy-tf`, `pil-bilinear`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize: Option<String>,
    /// Execution provider that ran the models.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// ONNX Runtime version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onnxruntime: Option<String>,
    /// Seeds of KID's subsets and IS's shuffle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid_seed: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_shuffle_seed: Option<u32>,
    pub batch_size: usize,
    pub tool: &'static str,
    pub tool_version: &'static str,
    /// Things a reader of the number should know (small N, singular covariance, …).
    pub warnings: Vec<String>,
}

/// Which model produced a number, exactly.
#[derive(Debug, Clone, Serialize)]
pub struct ModelProvenance {
    pub path: String,
    pub name: String,
    pub sha256: String,
    /// The protocol this model was run under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

impl ScoreReport {
    pub fn new(batch_size: usize) -> Self {
        ScoreReport {
            batch_size,
            tool: "stackgan-eval",
            tool_version: env!("CARGO_PKG_VERSION"),
            ..Default::default()
        }
    }

    /// Writes the JSON object, atomically.
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        write_bytes_atomically(path, text.as_bytes()).map_err(|e| {
            anyhow::anyhow!(
                "--json {}: cannot write ({e}); check that the folder exists and is writable",
                path.display()
            )
        })
    }

    /// The human-readable lines for stdout.
    pub fn summary(&self) -> String {
        let mut lines = Vec::new();
        if let Some(fid) = self.fid {
            lines.push(format!(
                "FID  {fid:.6}   (real {} · fake {})",
                count(self.n_real),
                count(self.n_fake)
            ));
        }
        if let (Some(mean), Some(std)) = (self.is_mean, self.is_std) {
            lines.push(format!(
                "IS   {mean:.6} ± {std:.6}   ({}, {} splits, {})",
                count(self.n_images),
                self.is_splits.unwrap_or(0),
                self.is_protocol.as_deref().unwrap_or("")
            ));
        }
        if let (Some(mean), Some(std)) = (self.kid_mean, self.kid_std) {
            lines.push(format!(
                "KID  {mean:.6} ± {std:.6}   ({} subsets of {})",
                self.kid_subsets.unwrap_or(0),
                self.kid_subset_size.unwrap_or(0)
            ));
        }
        if let (Some(p), Some(r), Some(d), Some(c)) =
            (self.precision, self.recall, self.density, self.coverage)
        {
            lines.push(format!(
                "PRDC precision {p:.4} · recall {r:.4} · density {d:.4} · coverage {c:.4}   (k = {})",
                self.prdc_k.unwrap_or(0)
            ));
        }
        if let Some(rate) = self.near_duplicate_rate {
            lines.push(format!(
                "near-duplicates {rate:.4}   (nearest neighbour closer than {:.6}, the {} quantile of the real set's)",
                self.duplicate_distance.unwrap_or(f64::NAN),
                self.duplicate_quantile.unwrap_or(f64::NAN)
            ));
        }
        if let Some(model) = &self.extractor {
            lines.push(format!(
                "extractor {} (sha256 {})",
                model.path,
                &model.sha256[..12.min(model.sha256.len())]
            ));
        }
        if let Some(model) = &self.classifier {
            lines.push(format!(
                "classifier {} (sha256 {})",
                model.path,
                &model.sha256[..12.min(model.sha256.len())]
            ));
        }
        if let (Some(resize), Some(provider)) = (&self.resize, &self.provider) {
            let protocol = self.protocol.as_deref().unwrap_or("custom");
            lines.push(format!("protocol {protocol}: resize {resize}, {provider}"));
        }
        if self.skipped_images > 0 {
            lines.push(format!(
                "skipped {} unreadable images (--skip-bad)",
                self.skipped_images
            ));
        }
        lines.join("\n")
    }
}

fn count(n: Option<usize>) -> String {
    n.map_or_else(|| "?".to_string(), |n| format!("{n} images"))
}
