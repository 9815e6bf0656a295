//! `ablation`: every variant of a config scored through one scorer, then
//! one table as CSV, Markdown, JSON and charts, with published values
//! beside the measured ones where the config gives them.

use std::path::PathBuf;

use super::page::write_page;
use super::progress::Bars;
use super::runs::{Run, RunKind};
use super::write::ablation_folder;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::markdown;
use crate::report::target::{FolderUse, check_folder};
use crate::scoring::Scorer;

#[derive(Debug, Clone)]
pub struct AblationCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    /// The ablation config (TOML).
    pub config: PathBuf,
    /// Folder for the table, the charts, the reference features and the t-SNE maps.
    pub out: PathBuf,
    /// Also write the page of the run, `OUT/index.html`.
    pub html: bool,
    /// `--bootstrap`: replaces the config's `[bootstrap]`.
    pub bootstrap: Option<crate::scoring::BootstrapOptions>,
    pub quiet: bool,
}

pub(super) fn run(command: &AblationCommand) -> anyhow::Result<()> {
    check_folder("--out", &command.out, FolderUse::Overwrite)?;
    let mut ablation = crate::ablation::read(&command.config)?;
    if command.bootstrap.is_some() {
        ablation.scoring.bootstrap = command.bootstrap;
    }
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let samples = command.out.join("samples");
    let progress = Bars::new(command.quiet);
    let report = crate::ablation::run(&ablation, &mut scorer, Some(&samples), &progress)?;
    let (table, mut written) = ablation_folder(&command.out, &ablation, &report)?;
    if command.html {
        let kind = RunKind::ablation(&table, &report.variants);
        let run = Run::new(&command.out.join("ablation.json"), kind);
        written.push(write_page(&command.out, &table.title, &[], &[run])?);
    }
    if !command.quiet {
        println!("{}", markdown(&table, 2));
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
