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
use crate::scoring::{EvalReport, Input, ScoreReport, Scorer, ScoringOptions, Side};
use crate::shard::Shard;

/// What a curve evaluates (which part of it a process does is its `Shard`).
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
    let mut run = CurveRun {
        settings,
        checkpoints,
        shard,
        scored: Vec::new(),
        skipped: Vec::new(),
        failed: Vec::new(),
        rows: Vec::new(),
    };
    let mine = shard.range(run.checkpoints.len());
    let mut session = Session {
        config,
        store,
        scorer,
        settings: &run.settings,
        progress,
        reference: None,
    };
    let stage = progress.stage_of("curve", mine.len(), "checkpoints");
    for (n, index) in mine.clone().enumerate() {
        let checkpoint = &run.checkpoints[index];
        let position = format!("[{}/{}]", n + 1, mine.len());
        match session.checkpoint(checkpoint, kept[index].as_ref(), &position)? {
            Outcome::Scored => run.scored.push(checkpoint.name()),
            Outcome::Skipped => run.skipped.push(checkpoint.name()),
            Outcome::Failed(failure) => run.failed.push(failure),
        }
        stage.advance(1);
    }
    drop(stage);
    for checkpoint in &run.checkpoints {
        let failed = run.failed.iter().any(|f| f.checkpoint == checkpoint.name());
        if let (false, Some(row)) = (failed, kept_row(store, checkpoint, &run.settings)?) {
            run.rows.push(row);
        }
    }
    Ok(run)
}

/// What became of one checkpoint.
enum Outcome {
    Scored,
    /// Kept from before, its file unchanged.
    Skipped,
    Failed(Failure),
}

/// What every checkpoint of a run is scored with, and the reference side
/// once the first checkpoint has needed it.
struct Session<'a> {
    config: &'a CurveConfig,
    store: &'a CurveStore,
    scorer: &'a mut Scorer,
    settings: &'a Settings,
    progress: &'a dyn Progress,
    reference: Option<(Option<Side>, ScoreReport)>,
}

impl Session<'_> {
    /// Skips a checkpoint whose kept row has its content, else scores it
    /// and keeps its row. A failure of the checkpoint is an outcome; one of
    /// the reference or the output folder ends the run.
    fn checkpoint(
        &mut self,
        checkpoint: &Checkpoint,
        kept: Option<&CurveRow>,
        position: &str,
    ) -> anyhow::Result<Outcome> {
        let sha256 = match file_sha256(&checkpoint.path) {
            Ok(sha256) => sha256,
            Err(error) => return Ok(Outcome::Failed(failure(checkpoint, &error.into()))),
        };
        match kept {
            Some(row) if row.checkpoint_sha256 == sha256 => return Ok(Outcome::Skipped),
            Some(_) => self.progress.note(&format!(
                "curve: {} changed since it was scored; scoring it again",
                checkpoint.name()
            )),
            None => {}
        }
        self.progress.note(&format!(
            "curve: {position} {} (iteration {})",
            checkpoint.name(),
            checkpoint.iteration
        ));
        let (report, converted) = match self.score(checkpoint, &sha256)? {
            Ok(scored) => scored,
            Err(error) => return Ok(Outcome::Failed(failure(checkpoint, &error))),
        };
        let row = CurveRow {
            iteration: checkpoint.iteration,
            checkpoint: checkpoint.path.display().to_string(),
            checkpoint_sha256: sha256,
            converted: converted.map(|p| p.display().to_string()),
            settings: self.settings.clone(),
            report,
        };
        self.store.write_row(checkpoint, &row)?;
        Ok(Outcome::Scored)
    }

    /// One checkpoint through `eval` (converted first when it is a PyTorch
    /// one): the report and the converted generator, or why the checkpoint
    /// failed. The outer error is the reference's.
    fn score(
        &mut self,
        checkpoint: &Checkpoint,
        sha256: &str,
    ) -> anyhow::Result<anyhow::Result<(EvalReport, Option<PathBuf>)>> {
        if self.reference.is_none() {
            let mut base = ScoreReport::new(self.scorer.batch_size());
            let (options, real) = (&self.config.scoring, self.config.real.as_ref());
            let side = self
                .scorer
                .reference(options, real, self.progress, &mut base)?;
            self.reference = Some((side, base));
        }
        let converted = match self.convert(checkpoint, sha256) {
            Ok(converted) => converted,
            Err(error) => return Ok(Err(error)),
        };
        let spec = JobSpec {
            model: converted.clone().unwrap_or_else(|| checkpoint.path.clone()),
            ..self.config.job.clone()
        };
        let Some((side, base)) = &self.reference else {
            return Ok(Err(anyhow::anyhow!("the reference side is missing")));
        };
        let report = self.scorer.eval_with_reference(
            &self.config.scoring,
            side.as_ref(),
            base,
            &spec,
            None,
            self.progress,
        );
        Ok(report.map(|report| (report, converted)))
    }

    /// The ONNX generator of a PyTorch checkpoint, converted unless a
    /// conversion of the same file and kind is kept; `None` for an ONNX checkpoint.
    fn convert(&self, checkpoint: &Checkpoint, sha256: &str) -> anyhow::Result<Option<PathBuf>> {
        if checkpoint.format == CheckpointFormat::Onnx {
            return Ok(None);
        }
        let kind = self.config.kind.ok_or_else(|| CurveError::NoKind {
            path: checkpoint.path.clone(),
        })?;
        let onnx = self.store.converted_path(checkpoint, sha256, kind)?;
        if !CurveStore::is_converted(&onnx) {
            self.progress
                .note(&format!("curve: converting {} ({kind})", checkpoint.name()));
            let weights = read_checkpoint(&checkpoint.path)?;
            convert(&weights, &ModelKind::Stackgan(kind), &onnx)?;
        }
        Ok(Some(onnx))
    }
}

/// A checkpoint's kept row, refused when it was scored with other settings.
fn kept_row(
    store: &CurveStore,
    checkpoint: &Checkpoint,
    settings: &Settings,
) -> Result<Option<CurveRow>, CurveError> {
    let row = store.read_row(checkpoint)?;
    if let Some(setting) = row.as_ref().and_then(|r| settings.difference(&r.settings)) {
        return Err(CurveError::OtherSettings {
            path: store.row_path(checkpoint),
            setting,
        });
    }
    Ok(row)
}

fn failure(checkpoint: &Checkpoint, error: &anyhow::Error) -> Failure {
    Failure {
        checkpoint: checkpoint.name(),
        iteration: checkpoint.iteration,
        reason: format!("{error:#}").replace('\n', " "),
    }
}
