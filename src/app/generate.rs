//! `generate`: samples of a StackGAN generator as PNGs per branch, with
//! `samples.csv`, optionally `raw.npz`, resumable.

use crate::generate::{GenerateConfig, RunFolder, generate};
use crate::report::target::{FolderUse, check_folder};
use crate::shard::Shard;

use super::progress::Bars;

#[derive(Debug, Clone)]
pub struct GenerateCommand {
    pub generate: GenerateConfig,
    pub quiet: bool,
    /// This process's part of the samples (`--shard`, else the Slurm job
    /// array's task), or why the job array's variables make no shard.
    pub shard: Result<Shard, String>,
}

pub(super) fn run(command: &GenerateCommand) -> anyhow::Result<()> {
    let mut config = command.generate.clone();
    config.shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    let config = &config;
    RunFolder::check_target(&config.out, config.resume)?;
    check_folder("--out", &config.out, FolderUse::Overwrite)?;
    let report = generate(config, &Bars::new(command.quiet))?;
    if command.quiet {
        return Ok(());
    }
    if report.already_finished {
        eprintln!(
            "generate: {} already holds the finished run; nothing to do",
            config.out.display()
        );
        return Ok(());
    }
    println!(
        "wrote {} samples × {} branch(es) ({}) to {} on {}",
        report.samples,
        report.branches.len(),
        report
            .branches
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        config.out.display(),
        report.provider
    );
    Ok(())
}
