//! The ablation config (`ablation.toml`): shared settings, the variants, and
//! published values to show beside the measured ones. Read and checked as a
//! whole — unknown keys, missing files, a conditional generator without
//! embeddings — before any model runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::score::{IsProtocol, Metric};
use crate::analysis::TsneConfig;
use crate::generate::{BranchSelection, JobSpec, PlanRequest, Protocol};
use crate::models::GeneratorManifest;
use crate::report::PaperStatus;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AblationFile {
    pub title: String,
    /// Feature extractor for FID, KID (and IS unless `classifier` is given).
    pub extractor: PathBuf,
    /// A separate IS classifier (StackGAN's fine-tuned Inception).
    #[serde(default)]
    pub classifier: Option<PathBuf>,
    /// Reference set: image folder, statistics `.npz` or feature file.
    #[serde(default)]
    pub real: Option<PathBuf>,
    /// `fid`, `is`, `kid`, `prdc`.
    #[serde(default = "default_metrics")]
    pub metrics: Vec<String>,
    /// Noise seed of generator variants.
    #[serde(default)]
    pub seed: u32,
    #[serde(default)]
    pub batch_size: Option<usize>,
    #[serde(default)]
    pub is: IsSection,
    #[serde(default)]
    pub kid: KidSection,
    #[serde(default)]
    pub prdc: PrdcSection,
    /// t-SNE maps of the reference set and every variant (see `stackgan-eval tsne`).
    #[serde(default)]
    pub tsne: Option<TsneSection>,
    #[serde(rename = "variant")]
    pub variants: Vec<VariantEntry>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TsneSection {
    pub perplexity: Option<f64>,
    /// At most this many samples per set.
    pub samples: Option<usize>,
    pub seed: Option<u64>,
    pub iterations: Option<usize>,
    pub grid: Option<usize>,
}

impl TsneSection {
    pub fn config(&self) -> TsneConfig {
        let defaults = TsneConfig::default();
        TsneConfig {
            perplexity: self.perplexity.unwrap_or(defaults.perplexity),
            iterations: self.iterations.unwrap_or(defaults.iterations),
            seed: self.seed.unwrap_or(defaults.seed),
            ..defaults
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsSection {
    pub splits: Option<usize>,
    /// `torch-fidelity` or `stackgan`.
    pub protocol: Option<String>,
    pub drop_columns: Option<Vec<usize>>,
    pub shuffle_seed: Option<u32>,
    #[serde(default)]
    pub no_shuffle: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KidSection {
    pub subsets: Option<usize>,
    pub subset_size: Option<usize>,
    pub seed: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrdcSection {
    pub k: Option<usize>,
    pub duplicate_quantile: Option<f64>,
}

/// One variant: a generator (with embeddings when conditional) or a folder of samples.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantEntry {
    pub name: String,
    #[serde(default)]
    pub generator: Option<PathBuf>,
    #[serde(default)]
    pub embeddings: Option<PathBuf>,
    /// `plain`, `stackgan-v2-cub`, `stackgan-v2-uncond`.
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub images: Option<usize>,
    #[serde(default)]
    pub captions: Option<usize>,
    #[serde(default)]
    pub samples_per_caption: Option<usize>,
    #[serde(default)]
    pub samples: Option<usize>,
    /// The branch scored (default: the highest resolution).
    #[serde(default)]
    pub branch: Option<u32>,
    /// A folder of samples instead of a generator.
    #[serde(default)]
    pub folder: Option<PathBuf>,
    /// Published values by metric (`fid`, `is`, `kid`).
    #[serde(default)]
    pub paper: BTreeMap<String, PaperEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperEntry {
    pub value: f64,
    #[serde(default)]
    pub std: Option<f64>,
    pub status: PaperStatus,
    /// Where the number is printed (paper table, release README); required for `sourced`.
    #[serde(default)]
    pub source: String,
}

fn default_metrics() -> Vec<String> {
    vec!["fid".into(), "is".into()]
}

/// What a variant is evaluated from.
#[derive(Debug, Clone)]
pub enum VariantSource {
    Generator { job: JobSpec },
    Folder(PathBuf),
}

/// A checked variant.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub source: VariantSource,
    pub paper: BTreeMap<String, PaperEntry>,
}

/// A checked config: paths resolved against the config's folder, files present.
#[derive(Debug, Clone)]
pub struct Ablation {
    pub file: AblationFile,
    pub metrics: Vec<Metric>,
    /// `None`: the scoring protocol's split rule.
    pub is_protocol: Option<IsProtocol>,
    pub variants: Vec<Variant>,
}

/// Reads and checks `path`; every error names the config, the variant and the fix.
pub fn read(path: &Path) -> anyhow::Result<Ablation> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read ablation config {}; check the path",
            path.display()
        )
    })?;
    let mut file: AblationFile = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "ablation config {}: {}; see examples/ablation/*.toml for the keys",
            path.display(),
            e.to_string()
                .lines()
                .collect::<Vec<_>>()
                .join(" ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = tidy(&base.join(&*p));
        }
    };
    resolve(&mut file.extractor);
    file.classifier.iter_mut().for_each(resolve);
    file.real.iter_mut().for_each(resolve);
    let config = path.display().to_string();
    let must_exist = |what: &str, p: &Path| -> anyhow::Result<()> {
        if !p.exists() {
            bail!(
                "ablation config {config}: {what} {} does not exist; fix the path (relative paths start at the config's folder)",
                p.display()
            );
        }
        Ok(())
    };
    must_exist("extractor", &file.extractor)?;
    if let Some(c) = &file.classifier {
        must_exist("classifier", c)?;
    }
    if let Some(r) = &file.real {
        must_exist("real", r)?;
    }
    let metrics = file
        .metrics
        .iter()
        .map(|m| match m.as_str() {
            "fid" => Ok(Metric::Fid),
            "is" => Ok(Metric::Is),
            "kid" => Ok(Metric::Kid),
            "prdc" => Ok(Metric::Prdc),
            other => {
                bail!("ablation config {config}: unknown metric `{other}`; use fid, is, kid, prdc")
            }
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if metrics.iter().any(|m| *m != Metric::Is) && file.real.is_none() {
        bail!(
            "ablation config {config}: FID and KID need `real` (a folder, statistics .npz or feature file)"
        );
    }
    let is_protocol = match file.is.protocol.as_deref() {
        None => None,
        Some("torch-fidelity") => Some(IsProtocol::TorchFidelity),
        Some("stackgan") => Some(IsProtocol::Stackgan),
        Some(other) => bail!(
            "ablation config {config}: [is] protocol `{other}`; use torch-fidelity or stackgan"
        ),
    };
    if file.variants.is_empty() {
        bail!("ablation config {config}: no [[variant]]; add at least one");
    }
    let mut variants = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for entry in &file.variants {
        let name = entry.name.clone();
        if !names.insert(name.clone()) {
            bail!("ablation config {config}: two variants are called `{name}`; names must differ");
        }
        let fail = |reason: String| {
            anyhow::anyhow!("ablation config {config}, variant `{name}`: {reason}")
        };
        let mut resolved = entry.clone();
        resolved.generator.iter_mut().for_each(resolve);
        resolved.embeddings.iter_mut().for_each(resolve);
        resolved.folder.iter_mut().for_each(resolve);
        let source = match (&resolved.generator, &resolved.folder) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(fail(
                    "give either `generator` (with `embeddings` if it is conditional) or `folder`"
                        .into(),
                ));
            }
            (None, Some(folder)) => {
                if !folder.is_dir() {
                    return Err(fail(format!("folder {} does not exist", folder.display())));
                }
                let generator_only = [
                    ("embeddings", resolved.embeddings.is_some()),
                    ("protocol", resolved.protocol.is_some()),
                    ("branch", resolved.branch.is_some()),
                    ("images", resolved.images.is_some()),
                    ("captions", resolved.captions.is_some()),
                    (
                        "samples",
                        resolved.samples.is_some() || resolved.samples_per_caption.is_some(),
                    ),
                ];
                if let Some((key, _)) = generator_only.iter().find(|(_, set)| *set) {
                    return Err(fail(format!(
                        "`{key}` is for generator variants; a folder variant takes the images as they are"
                    )));
                }
                VariantSource::Folder(folder.clone())
            }
            (Some(model), None) => {
                if !model.is_file() {
                    return Err(fail(format!(
                        "generator {} does not exist",
                        model.display()
                    )));
                }
                let manifest =
                    GeneratorManifest::read_beside(model).map_err(|e| fail(e.to_string()))?;
                match (manifest.text_input(), &resolved.embeddings) {
                    (Some(text), None) => {
                        return Err(fail(format!(
                            "generator {} is conditional (text_embedding [N, {}]) and needs `embeddings`",
                            model.display(),
                            text.width()
                        )));
                    }
                    (None, Some(_)) => {
                        return Err(fail(format!(
                            "generator {} is unconditional; drop `embeddings`",
                            model.display()
                        )));
                    }
                    (_, Some(e)) if !e.is_file() => {
                        return Err(fail(format!("embeddings {} do not exist", e.display())));
                    }
                    _ => {}
                }
                if let Some(branch) = resolved.branch
                    && !manifest
                        .image_outputs()
                        .iter()
                        .any(|o| o.resolution == Some(branch))
                {
                    return Err(fail(format!(
                        "the generator has no {branch}×{branch} branch"
                    )));
                }
                let protocol: Protocol = resolved
                    .protocol
                    .as_deref()
                    .unwrap_or("plain")
                    .parse()
                    .map_err(fail)?;
                let job = JobSpec {
                    model: model.clone(),
                    embeddings: resolved.embeddings.clone(),
                    noise: None,
                    seed: file.seed,
                    protocol,
                    plan: PlanRequest {
                        images: resolved.images,
                        captions: resolved.captions,
                        samples_per_caption: resolved.samples_per_caption,
                        samples: resolved.samples,
                    },
                    branches: match resolved.branch {
                        Some(b) => BranchSelection::Resolutions(vec![b]),
                        None => BranchSelection::Last,
                    },
                };
                // Embeddings, protocol and sample counts, checked now, not halfway through.
                job.check().map_err(|e| fail(e.to_string()))?;
                VariantSource::Generator { job }
            }
        };
        for (metric, paper) in &resolved.paper {
            if !["fid", "is", "kid"].contains(&metric.as_str()) {
                return Err(fail(format!(
                    "paper.{metric}: published values are for fid, is or kid"
                )));
            }
            if paper.status == PaperStatus::Sourced && paper.source.trim().is_empty() {
                return Err(fail(format!(
                    "paper.{metric} is marked sourced but names no `source`; name it, or mark it unverified"
                )));
            }
        }
        variants.push(Variant {
            name,
            source,
            paper: resolved.paper.clone(),
        });
    }
    if let Some(section) = &file.tsne {
        // Every set's sample count is known now: a perplexity too large for
        // them is refused before any model runs.
        let cap = |n: usize| section.samples.map_or(n, |s| s.min(n));
        let mut total = 0;
        if let Some(real) = file.real.as_ref().filter(|r| r.is_dir()) {
            total += cap(crate::images::list_images(real)
                .map_err(|e| anyhow::anyhow!("ablation config {config}: real: {e}"))?
                .len());
        }
        for variant in &variants {
            total += cap(match &variant.source {
                VariantSource::Generator { job } => job.check().map(|plan| plan.len()).unwrap_or(0),
                VariantSource::Folder(folder) => crate::images::list_images(folder)
                    .map(|f| f.len())
                    .unwrap_or(0),
            });
        }
        section.config().validate(total, 2).map_err(|e| {
            anyhow::anyhow!(
                "ablation config {config}, [tsne]: {e} (perplexity is set in the config)"
            )
        })?;
    }
    Ok(Ablation {
        file,
        metrics,
        is_protocol,
        variants,
    })
}

/// `a/b/../../c` → `c`, without touching the file system (for messages and reports).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}
