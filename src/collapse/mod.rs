//! Mode collapse made visible (the `tsne` command, an ablation's `[tsne]`
//! section, the demo's figure): several sets — image folders, `generate`
//! runs, feature files — through one extractor, one PCA + Barnes-Hut t-SNE
//! map of them all, and each set's collapse statistics (precision, recall,
//! density, coverage, near-duplicate rate) and failure triage against a
//! reference set.

mod sets;

use std::path::PathBuf;

use anyhow::{Context, bail};
use ndarray::{Array2, Axis, concatenate};
use serde::{Deserialize, Serialize};

use crate::analysis::{TsneConfig, embed};
use crate::metrics::{
    DuplicateThreshold, Triage, TriageConfig, TriageInput, calibrate_duplicate_threshold,
    near_duplicate_rate, prdc_per_sample, triage,
};
use crate::progress::Progress;
use crate::scoring::{ModelRun, PrdcOptions, Scorer};
use sets::SetPlan;

/// The map's settings: the t-SNE flags and the `[tsne]` section of an
/// ablation config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MapOptions {
    pub perplexity: f64,
    /// Barnes-Hut opening angle.
    pub theta: f64,
    pub iterations: usize,
    /// Principal components kept before t-SNE.
    pub pca_dims: usize,
    /// Seed of the map and of the subsampling.
    pub seed: u64,
    /// At most this many samples per set, drawn with `seed`, kept in file order.
    pub samples: Option<usize>,
    /// Cells per side of the image maps.
    pub grid: usize,
    /// Thumbnail side in the image maps, in pixels.
    pub thumbnail: u32,
}

impl Default for MapOptions {
    /// scikit-learn's t-SNE settings; a 30 × 30 map of 32-px thumbnails.
    fn default() -> Self {
        let tsne = TsneConfig::default();
        MapOptions {
            perplexity: tsne.perplexity,
            theta: tsne.theta,
            iterations: tsne.iterations,
            pca_dims: tsne.pca_dims,
            seed: tsne.seed,
            samples: None,
            grid: 30,
            thumbnail: 32,
        }
    }
}

impl MapOptions {
    pub fn tsne(&self) -> TsneConfig {
        TsneConfig {
            perplexity: self.perplexity,
            theta: self.theta,
            iterations: self.iterations,
            pca_dims: self.pca_dims,
            seed: self.seed,
        }
    }
}

/// The sets to map and how.
#[derive(Debug, Clone)]
pub struct CollapseConfig {
    /// (name, source) in the order given.
    pub sets: Vec<(String, PathBuf)>,
    /// The set the statistics compare against (default: `real`, else the first).
    pub reference: Option<String>,
    pub extractor: Option<PathBuf>,
    pub map: MapOptions,
    pub prdc: PrdcOptions,
}

/// Collapse statistics of one set against the reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Collapse {
    pub set: String,
    pub samples: usize,
    pub precision: f64,
    pub recall: f64,
    pub density: f64,
    pub coverage: f64,
    pub near_duplicate_rate: f64,
    /// Severe and moderate failures (the map reads pool features only, so
    /// no IS logits judge a sample mild: `confidence_threshold` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triage: Option<Triage>,
}

/// One set on the map: its samples' image files (where known) and places.
#[derive(Debug, Clone)]
pub struct MappedSet {
    pub name: String,
    pub files: Vec<Option<PathBuf>>,
    pub points: Vec<(f64, f64)>,
}

/// The map and the statistics.
#[derive(Debug, Clone)]
pub struct CollapseReport {
    pub sets: Vec<MappedSet>,
    pub collapse: Vec<Collapse>,
    /// The reference set's name.
    pub reference: String,
    pub threshold: DuplicateThreshold,
    pub prdc_k: usize,
    pub tsne: TsneConfig,
    /// The extractor, when a set was made of images.
    pub extractor: Option<ModelRun>,
}

/// The sets checked as a whole before any model runs.
struct Plan {
    sets: Vec<(String, SetPlan)>,
    reference: usize,
    total: usize,
}

/// Checks everything that needs no model: names, sources, the perplexity
/// against the sample count, the reference, k against each set's size.
fn plan(config: &CollapseConfig) -> anyhow::Result<Plan> {
    if config.sets.is_empty() {
        bail!("tsne needs at least one --set NAME=SOURCE");
    }
    let mut names = std::collections::BTreeSet::new();
    for (name, _) in &config.sets {
        if !names.insert(name) {
            bail!("--set {name} is given twice; give each set its own name");
        }
    }
    let mut sets = Vec::new();
    for (name, source) in &config.sets {
        let set = SetPlan::read(name, source, config.map.samples, config.map.seed)?;
        sets.push((name.clone(), set));
    }
    let total: usize = sets.iter().map(|(_, p)| p.len()).sum();
    config
        .map
        .tsne()
        .validate(total, 2)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let reference = match &config.reference {
        Some(name) => sets
            .iter()
            .position(|(n, _)| n == name)
            .with_context(|| format!("--reference {name} is not one of the --set names"))?,
        None => sets.iter().position(|(n, _)| n == "real").unwrap_or(0),
    };
    let k = config.prdc.k;
    if let Some((name, set)) = sets.iter().find(|(_, p)| p.len() <= k) {
        bail!(
            "--set {name} has {} samples, too few for k = {k} nearest neighbours; add samples or lower --prdc-k",
            set.len()
        );
    }
    Ok(Plan {
        sets,
        reference,
        total,
    })
}

/// A set's name, the image file of each sample (where known) and its features.
type SetFeatures = (String, Vec<Option<PathBuf>>, Array2<f32>);

/// The features of every set, in order, with their files; and whether the
/// extractor ran (some set was made of images).
fn features(
    config: &CollapseConfig,
    plan: Plan,
    scorer: &mut Scorer,
    progress: &dyn Progress,
) -> anyhow::Result<(Vec<SetFeatures>, bool)> {
    let mut sets = Vec::new();
    let mut extracted = false;
    for (name, set) in plan.sets {
        let (files, features) = match set {
            SetPlan::Images(files) => {
                let features = scorer.pool_features(
                    config.extractor.as_deref(),
                    files.clone(),
                    &name,
                    progress,
                )?;
                extracted = true;
                (files.into_iter().map(Some).collect(), features)
            }
            SetPlan::Features { features, files } => (files, features),
        };
        sets.push((name, files, features));
    }
    let dims: Vec<usize> = sets.iter().map(|(_, _, f)| f.ncols()).collect();
    if dims.windows(2).any(|w| w[0] != w[1]) {
        bail!(
            "the sets' features have different dimensions ({dims:?}); make them with one extractor"
        );
    }
    Ok((sets, extracted))
}

/// The map of every set and their collapse statistics against the reference.
pub fn compute(
    config: &CollapseConfig,
    scorer: &mut Scorer,
    progress: &dyn Progress,
) -> anyhow::Result<CollapseReport> {
    let plan = plan(config)?;
    let (reference, total) = (plan.reference, plan.total);
    let (sets, extracted) = features(config, plan, scorer, progress)?;
    let real = sets[reference].2.view();
    let threshold = calibrate_duplicate_threshold(real, config.prdc.duplicate_quantile)?;
    let mut collapse = Vec::new();
    for (name, files, features) in &sets {
        let (scores, neighbours) = prdc_per_sample(real, features.view(), &config.prdc.config())?;
        let input = TriageInput {
            neighbours: &neighbours,
            threshold: &threshold,
            k: config.prdc.k,
            confidence: None,
            files,
        };
        collapse.push(Collapse {
            set: name.clone(),
            samples: features.nrows(),
            precision: scores.precision,
            recall: scores.recall,
            density: scores.density,
            coverage: scores.coverage,
            near_duplicate_rate: near_duplicate_rate(features.view(), &threshold)?,
            triage: Some(triage(&input, &TriageConfig::default())?),
        });
    }
    let tsne = config.map.tsne();
    progress.note(&format!(
        "tsne: PCA to {} dimensions and Barnes-Hut t-SNE of {total} samples",
        tsne.pca_dims
    ));
    let views: Vec<_> = sets.iter().map(|(_, _, f)| f.view()).collect();
    let map = embed(concatenate(Axis(0), &views)?.view(), &tsne)?;
    let mut offset = 0;
    let mut mapped = Vec::new();
    for (name, files, features) in sets {
        let n = features.nrows();
        let points = (offset..offset + n)
            .map(|i| (map[[i, 0]], map[[i, 1]]))
            .collect();
        offset += n;
        mapped.push(MappedSet {
            name,
            files,
            points,
        });
    }
    let extractor = match extracted {
        true => Some(scorer.describe(config.extractor.as_deref())?),
        false => None,
    };
    Ok(CollapseReport {
        reference: mapped[reference].name.clone(),
        sets: mapped,
        collapse,
        threshold,
        prdc_k: config.prdc.k,
        tsne,
        extractor,
    })
}
