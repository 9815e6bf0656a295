//! A whole `generate` run: the job checked and its model opened, the output
//! folder opened (or an interrupted run found), the samples written batch
//! by batch, and what was done.

use std::path::PathBuf;

use super::GenerateError;
use super::job::{Job, JobSpec};
use super::output::{Opened, RawOutput, RunFolder};
use crate::options::ExecOptions;
use crate::progress::Progress;
use crate::runtime::{Provider, Runtime};
use crate::shard::Shard;

/// What to generate and where.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub exec: ExecOptions,
    pub job: JobSpec,
    pub out: PathBuf,
    /// Also write the float outputs to `OUT/raw.npz`.
    pub save_raw: bool,
    /// Continue an interrupted run in `out`.
    pub resume: bool,
    /// The part of the samples to write (`--shard`): the single run's
    /// names and bytes for those samples.
    pub shard: Shard,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct GenerateReport {
    /// Samples of the run.
    pub samples: usize,
    /// Resolutions of the branches written.
    pub branches: Vec<u32>,
    /// Samples already written by an interrupted run, continued here.
    pub resumed_after: usize,
    /// `--resume` found the run already finished: nothing was written.
    pub already_finished: bool,
    pub provider: Provider,
}

/// Runs `config` to the end.
pub fn generate(
    config: &GenerateConfig,
    progress: &dyn Progress,
) -> Result<GenerateReport, GenerateError> {
    let runtime = Runtime::load(config.exec.runtime.clone())?;
    let mut job = Job::prepare(&runtime, &config.job)?;
    let extras = if config.save_raw {
        job.generator.extra_outputs()
    } else {
        Vec::new()
    };
    let raw = if config.save_raw {
        raw_outputs(&job, &extras)
    } else {
        Vec::new()
    };
    let identity = job.identity(&config.job, config.save_raw, config.shard);
    let range = config.shard.range(job.plan.len());
    let value_range = job.generator.manifest().value_range;
    let mut report = GenerateReport {
        samples: range.len(),
        branches: job.branches.iter().map(|b| b.resolution).collect(),
        resumed_after: 0,
        already_finished: false,
        provider: job.generator.provider(),
    };
    let opened = RunFolder::open(
        &config.out,
        identity,
        &job.branches,
        value_range,
        raw,
        config.resume,
    )?;
    let (mut folder, start) = match opened {
        Opened::Complete => {
            report.already_finished = true;
            return Ok(report);
        }
        Opened::Run { folder, start } => (folder, start),
    };
    progress.note(&format!("generate: {}", job.plan.description));
    if start > range.start {
        progress.note(&format!(
            "generate: resuming after {} of {} samples",
            start - range.start,
            range.len()
        ));
    }
    report.resumed_after = start - range.start;
    let stage = progress.stage("generate", range.len());
    stage.advance(start - range.start);
    job.run_range(
        start..range.end,
        config.exec.batch_size,
        &extras,
        |samples, batch| {
            folder.write_batch(samples, batch)?;
            stage.advance(samples.len());
            Ok::<(), GenerateError>(())
        },
    )?;
    drop(stage);
    folder.finish(&job.plan.samples[range], job.seed)?;
    Ok(report)
}

/// The float arrays of `raw.npz`: every kept branch, then `mu`, `logvar`,
/// then the inputs under their own names, so that `raw.npz` is also a
/// `--noise` file that reproduces the run (and can be fed to PyTorch).
fn raw_outputs(job: &Job, extras: &[String]) -> Vec<RawOutput> {
    let manifest = job.generator.manifest();
    let mut raw: Vec<RawOutput> = job
        .branches
        .iter()
        .map(|b| RawOutput {
            name: b.output.clone(),
            sample_shape: vec![3, b.resolution as usize, b.resolution as usize],
        })
        .collect();
    for output in extras
        .iter()
        .filter_map(|name| manifest.outputs.iter().find(|o| &o.name == name))
    {
        raw.push(RawOutput {
            name: output.name.clone(),
            sample_shape: output
                .shape
                .iter()
                .skip(1)
                .map(|d| (*d).max(0) as usize)
                .collect(),
        });
    }
    for input in &manifest.inputs {
        raw.push(RawOutput {
            name: input.name.clone(),
            sample_shape: vec![input.width()],
        });
    }
    raw
}
