//! `generate`: samples of a StackGAN generator as PNGs per branch, with
//! `samples.csv`, optionally `raw.npz`, resumable.

use crate::generate::{GenerateConfig, RunFolder, generate};
use crate::report::target::{FolderUse, check_folder};

use super::progress::Bars;

#[derive(Debug, Clone)]
pub struct GenerateCommand {
    pub generate: GenerateConfig,
    pub quiet: bool,
}

pub(super) fn run(command: &GenerateCommand) -> anyhow::Result<()> {
    let config = &command.generate;
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
