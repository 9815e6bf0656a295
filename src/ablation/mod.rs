//! Ablations: every variant of a config — a generator (generated and scored
//! in one stream, one branch) or a folder of samples — scored through one
//! [`Scorer`] against one reference side computed once, so each number is
//! what the single `eval` or `score` command gives; optionally a t-SNE map
//! of the reference set and every variant.

mod config;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

pub use config::{Ablation, PaperEntry, Variant, VariantSource, read};

use crate::collapse::{self, CollapseConfig, CollapseReport};
use crate::features::FeatureFile;
use crate::progress::Progress;
use crate::scoring::{EvalReport, Input, ScoreReport, Scorer, Side};

/// What a variant scored.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum VariantScores {
    /// A generator variant: its `eval` report, one branch.
    Generator(Box<EvalReport>),
    /// A folder variant: its `score` report.
    Folder(Box<ScoreReport>),
}

/// One variant's result.
#[derive(Debug, Clone, Serialize)]
pub struct VariantResult {
    pub variant: String,
    pub report: VariantScores,
}

/// Every variant's scores, and what was computed once for all of them.
#[derive(Debug, Clone)]
pub struct AblationReport {
    /// The reference folder's features (every output of the extractor), when
    /// the reference is an image folder.
    pub reference_features: Option<FeatureFile>,
    pub variants: Vec<VariantResult>,
    /// The t-SNE map of the reference set and every variant (`[tsne]`).
    pub tsne: Option<CollapseReport>,
}

/// Scores every variant. With a `[tsne]` section, generator variants write
/// their samples to `samples_root/NN/` (cleared first), for the maps.
pub fn run(
    ablation: &Ablation,
    scorer: &mut Scorer,
    samples_root: Option<&Path>,
    progress: &dyn Progress,
) -> anyhow::Result<AblationReport> {
    if let Some(batch_size) = ablation.batch_size {
        scorer.set_batch_size(batch_size);
    }
    if let Some(protocol) = &ablation.protocol {
        scorer.default_protocol(protocol);
    }
    let (reference_features, real) = reference(ablation, scorer, progress)?;
    let mut variants = Vec::new();
    // The sets of the t-SNE map: the reference folder, then every variant's samples.
    let mut sets: Vec<(String, PathBuf)> = Vec::new();
    if let Some(real) = ablation.real.as_ref().filter(|r| r.is_dir()) {
        sets.push(("real".to_string(), real.clone()));
    }
    for (i, variant) in ablation.variants.iter().enumerate() {
        progress.note(&format!(
            "ablation: [{}/{}] {}",
            i + 1,
            ablation.variants.len(),
            variant.name
        ));
        let report = match &variant.source {
            VariantSource::Generator { job } => {
                let samples = samples_root
                    .filter(|_| ablation.tsne.is_some())
                    .map(|root| root.join(format!("{:02}", i + 1)));
                if let Some(folder) = &samples {
                    sets.push((variant.name.clone(), folder.clone()));
                    if folder.exists() {
                        std::fs::remove_dir_all(folder)
                            .with_context(|| format!("cannot clear {}", folder.display()))?;
                    }
                }
                let report = scorer.eval_against(
                    &ablation.scoring,
                    real.as_ref(),
                    job,
                    samples.as_deref(),
                    progress,
                )?;
                VariantScores::Generator(Box::new(report))
            }
            VariantSource::Folder(folder) => {
                sets.push((variant.name.clone(), folder.clone()));
                let input = Input::new("folder", folder);
                let report =
                    scorer.score_against(&ablation.scoring, real.as_ref(), &input, progress)?;
                VariantScores::Folder(Box::new(report))
            }
        };
        variants.push(VariantResult {
            variant: variant.name.clone(),
            report,
        });
    }
    let tsne = match &ablation.tsne {
        Some(map) => {
            let config = CollapseConfig {
                sets,
                reference: None,
                extractor: ablation.scoring.extractor.clone(),
                map: map.clone(),
                prdc: ablation.scoring.prdc,
            };
            Some(collapse::compute(&config, scorer, progress)?)
        }
        None => None,
    };
    Ok(AblationReport {
        reference_features,
        variants,
        tsne,
    })
}

/// The reference side, once for every variant. A folder is extracted (every
/// output, kept for the report folder) and scored from those features: the
/// numbers equal those from the folder itself.
fn reference(
    ablation: &Ablation,
    scorer: &mut Scorer,
    progress: &dyn Progress,
) -> anyhow::Result<(Option<FeatureFile>, Option<Side>)> {
    let needs = ablation.scoring.requirements().real;
    let Some(real) = ablation.real.as_ref().filter(|_| needs.any()) else {
        return Ok((None, None));
    };
    let input = Input::new("real", real);
    if !real.is_dir() {
        // A statistics or feature file: read as `--real` would be.
        let mut report = ScoreReport::new(scorer.batch_size());
        let side = scorer.reference(&ablation.scoring, Some(&input), progress, &mut report)?;
        return Ok((None, side));
    }
    progress.note(&format!(
        "ablation: features of the reference set {}",
        real.display()
    ));
    let extraction = scorer.extract(ablation.scoring.extractor.as_deref(), real, progress)?;
    let side = Side::from_features(
        input.label(),
        &extraction.features,
        real,
        needs,
        &ablation.scoring.is,
    )?;
    Ok((Some(extraction.features), Some(side)))
}
