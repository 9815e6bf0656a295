//! Scoring a curve: the checkpoints of this shard that have no row yet go
//! through `eval` (PyTorch checkpoints converted first), against one
//! reference side computed once; a checkpoint that fails is recorded with
//! its reason and the others go on.

use std::path::PathBuf;

use super::CurveError;
use super::checkpoints::{Checkpoint, CheckpointFormat, discover};
use super::settings::{Settings, SettingsOf};
use super::store::{CurveRow, CurveStore};
use crate::convert::{ModelKind, StackganKind, convert, read_checkpoint};
use crate::generate::JobSpec;
use crate::models::file_sha256;
use crate::progress::Progress;
use crate::scoring::{Input, ScoreReport, Scorer, ScoringOptions, Side};
use crate::shard::Shard;

/// What a curve evaluates, and which part of it this process does.
#[derive(Debug, Clone)]
pub struct CurveConfig {
    /// Glob patterns, folders or files (`--checkpoints`).
    pub checkpoints: Vec<PathBuf>,
    /// How PyTorch checkpoints are converted (`--kind`).
    pub kind: Option<StackganKind>,
    pub scoring: ScoringOptions,
    /// The samples every checkpoint draws; its `model` is each checkpoint's.
    pub job: JobSpec,
    /// The reference set (`--real`).
    pub real: Option<Input>,
}

/// A checkpoint that could not be scored.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub checkpoint: String,
    pub iteration: u64,
    /// Why, in one line.
    pub reason: String,
}

/// What a run did, and every row kept for the listed checkpoints.
#[derive(Debug, Clone)]
pub struct CurveRun {
    /// The evaluation every row went through.
    pub settings: Settings,
    /// Every checkpoint listed, in iteration order.
    pub checkpoints: Vec<Checkpoint>,
    pub shard: Shard,
    /// Checkpoints scored by this run, by file name.
    pub scored: Vec<String>,
    /// This shard's checkpoints already scored with the same settings.
    pub skipped: Vec<String>,
    pub failed: Vec<Failure>,
    /// The rows kept for the listed checkpoints (other shards' too), in
    /// iteration order; none for a checkpoint that failed in this run.
    pub rows: Vec<CurveRow>,
}

/// The reference side, computed when the first checkpoint needs it.
type Reference = (Option<Side>, ScoreReport);

/// Scores the checkpoints of `shard` that have no row with these settings.
pub fn run(
    config: &CurveConfig,
    shard: Shard,
    store: &CurveStore,
    scorer: &mut Scorer,
    progress: &dyn Progress,
) -> anyhow::Result<CurveRun> {
    config.scoring.check()?;
    let checkpoints = discover(&config.checkpoints)?;
    if config.kind.is_none()
        && let Some(checkpoint) = checkpoints
            .iter()
            .find(|c| c.format == CheckpointFormat::PyTorch)
    {
        return Err(CurveError::NoKind {
            path: checkpoint.path.clone(),
        }
        .into());
    }
    let settings = Settings::new(SettingsOf {
        scoring: &config.scoring,
        images: scorer.images(),
        job: &config.job,
        real: config.real.as_ref(),
        batch_size: scorer.batch_size(),
        kind: config.kind,
    });
    // Rows of other settings are refused before any work.
    let mut kept = Vec::new();
    for checkpoint in &checkpoints {
        kept.push(kept_row(store, checkpoint, &settings)?);
    }
    let mine = shard.range(checkpoints.len());
    let mut run = CurveRun {
        settings: settings.clone(),
        checkpoints: checkpoints.clone(),
        shard,
        scored: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
        rows: Vec::new(),
    };
    let mut reference: Option<Reference> = None;
    let stage = progress.stage_of("curve", mine.len(), "checkpoints");
    for (n, index) in mine.clone().enumerate() {
        let checkpoint = &checkpoints[index];
        let name = checkpoint.name();
        let sha256 = match file_sha256(&checkpoint.path) {
            Ok(sha256) => sha256,
            Err(error) => {
                run.failed.push(failure(checkpoint, &error.into()));
                stage.advance(1);
                continue;
            }
        };
        match &kept[index] {
            Some(row) if row.checkpoint_sha256 == sha256 => {
                run.skipped.push(name);
                stage.advance(1);
                continue;
            }
            Some(_) => progress.note(&format!(
                "curve: {name} changed since it was scored; scoring it again"
            )),
            None => {}
        }
        progress.note(&format!(
            "curve: [{}/{}] {name} (iteration {})",
            n + 1,
            mine.len(),
            checkpoint.iteration
        ));
        if reference.is_none() {
            let mut base = ScoreReport::new(scorer.batch_size());
            let side =
                scorer.reference(&config.scoring, config.real.as_ref(), progress, &mut base)?;
            reference = Some((side, base));
        }
        let Some((side, base)) = &reference else {
            continue;
        };
        match score(
            config,
            store,
            scorer,
            checkpoint,
            &sha256,
            side.as_ref(),
            base,
            progress,
        ) {
            Ok((report, converted)) => {
                let row = CurveRow {
                    iteration: checkpoint.iteration,
                    checkpoint: checkpoint.path.display().to_string(),
                    checkpoint_sha256: sha256,
                    converted: converted.map(|p| p.display().to_string()),
                    settings: settings.clone(),
                    report,
                };
                store.write_row(checkpoint, &row)?;
                run.scored.push(name);
            }
            Err(error) => run.failed.push(failure(checkpoint, &error)),
        }
        stage.advance(1);
    }
    drop(stage);
    for checkpoint in &checkpoints {
        let failed = run.failed.iter().any(|f| f.checkpoint == checkpoint.name());
        if let (false, Some(row)) = (failed, kept_row(store, checkpoint, &settings)?) {
            run.rows.push(row);
        }
    }
    Ok(run)
}

/// A checkpoint's kept row, refused when it was scored with other settings.
fn kept_row(
    store: &CurveStore,
    checkpoint: &Checkpoint,
    settings: &Settings,
) -> Result<Option<CurveRow>, CurveError> {
    let row = store.read_row(checkpoint)?;
    if let Some(setting) = row.as_ref().and_then(|r| r.settings.difference(settings)) {
        return Err(CurveError::OtherSettings {
            path: store.row_path(checkpoint),
            setting,
        });
    }
    Ok(row)
}

/// One checkpoint through `eval`; returns the report and the converted
/// generator when the checkpoint was a PyTorch one.
#[allow(clippy::too_many_arguments)]
fn score(
    config: &CurveConfig,
    store: &CurveStore,
    scorer: &mut Scorer,
    checkpoint: &Checkpoint,
    sha256: &str,
    reference: Option<&Side>,
    base: &ScoreReport,
    progress: &dyn Progress,
) -> anyhow::Result<(crate::scoring::EvalReport, Option<PathBuf>)> {
    let converted = match (checkpoint.format, config.kind) {
        (CheckpointFormat::Onnx, _) => None,
        (CheckpointFormat::PyTorch, Some(kind)) => {
            let onnx = store.converted_path(checkpoint, sha256, kind)?;
            if !CurveStore::is_converted(&onnx) {
                progress.note(&format!("curve: converting {} ({kind})", checkpoint.name()));
                let weights = read_checkpoint(&checkpoint.path)?;
                convert(&weights, &ModelKind::Stackgan(kind), &onnx)?;
            }
            Some(onnx)
        }
        (CheckpointFormat::PyTorch, None) => {
            return Err(CurveError::NoKind {
                path: checkpoint.path.clone(),
            }
            .into());
        }
    };
    let spec = JobSpec {
        model: converted.clone().unwrap_or_else(|| checkpoint.path.clone()),
        ..config.job.clone()
    };
    let report =
        scorer.eval_with_reference(&config.scoring, reference, base, &spec, None, progress)?;
    Ok((report, converted))
}

fn failure(checkpoint: &Checkpoint, error: &anyhow::Error) -> Failure {
    Failure {
        checkpoint: checkpoint.name(),
        iteration: checkpoint.iteration,
        reason: format!("{error:#}").replace('\n', " "),
    }
}
