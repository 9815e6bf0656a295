//! `generate`: samples of a StackGAN generator as PNGs per branch, with
//! `samples.csv`, optionally `raw.npz`, resumable.

use std::path::PathBuf;

use super::RunOptions;
use super::progress::image_bar;
use crate::generate::{Job, JobSpec, Opened, RawOutput, RunFolder};
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub job: JobSpec,
    pub out: PathBuf,
    /// Also write the float outputs to `OUT/raw.npz`.
    pub save_raw: bool,
    /// Continue an interrupted run in `out`.
    pub resume: bool,
    pub options: RunOptions,
}

pub fn run(config: &GenerateConfig) -> anyhow::Result<()> {
    let runtime = Runtime::load(config.options.runtime.clone())?;
    let mut job = Job::prepare(&runtime, &config.job)?;
    let quiet = config.options.quiet;
    if !quiet {
        eprintln!("generate: {}", job.plan.description);
    }
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
    let identity = job.identity(&config.job, config.save_raw);
    let value_range = job.generator.manifest().value_range;
    let (mut folder, start) = match RunFolder::open(
        &config.out,
        identity,
        &job.branches,
        value_range,
        raw,
        config.resume,
    )? {
        Opened::Complete => {
            if !quiet {
                eprintln!(
                    "generate: {} already holds the finished run; nothing to do",
                    config.out.display()
                );
            }
            return Ok(());
        }
        Opened::Run { folder, start } => (folder, start),
    };
    if start > 0 && !quiet {
        eprintln!(
            "generate: resuming after {start} of {} samples",
            job.plan.len()
        );
    }
    let bar = image_bar(job.plan.len(), "generate", quiet);
    bar.set_position(start as u64);
    job.run(
        start,
        config.options.batch_size,
        &extras,
        |samples, batch| {
            folder.write_batch(samples, batch)?;
            bar.inc(samples.len() as u64);
            anyhow::Ok(())
        },
    )?;
    bar.finish_and_clear();
    folder.finish(&job.plan.samples, job.seed)?;
    if !quiet {
        println!(
            "wrote {} samples × {} branch(es) ({}) to {} on {}",
            job.plan.len(),
            job.branches.len(),
            job.branches
                .iter()
                .map(|b| b.resolution.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            config.out.display(),
            job.generator.provider()
        );
    }
    Ok(())
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
    for name in extras {
        let output = manifest
            .outputs
            .iter()
            .find(|o| &o.name == name)
            .expect("listed by the manifest");
        raw.push(RawOutput {
            name: name.clone(),
            sample_shape: output.shape[1..]
                .iter()
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
