//! `tsne`: the paper's mode-collapse figure and its numbers — one t-SNE map
//! of every set (scatter plot, image maps, coordinates) and each set's
//! collapse statistics against the reference set.

use std::path::PathBuf;

use super::page::write_page;
use super::progress::Bars;
use super::runs::{Run, RunKind};
use super::write::collapse_folder;
use crate::collapse::{self, CollapseConfig};
use crate::options::{ExecOptions, ImageOptions};
use crate::report::markdown;
use crate::report::target::{FolderUse, check_folder};
use crate::scoring::Scorer;

#[derive(Debug, Clone)]
pub struct TsneCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    pub collapse: CollapseConfig,
    pub out: PathBuf,
    /// Also write the page of the run, `OUT/index.html`.
    pub html: bool,
    pub quiet: bool,
}

pub(super) fn run(command: &TsneCommand) -> anyhow::Result<()> {
    check_folder("--out", &command.out, FolderUse::Overwrite)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let progress = Bars::new(command.quiet);
    let report = collapse::compute(&command.collapse, &mut scorer, &progress)?;
    let table = collapse_folder(&command.out, &report, &command.collapse.map)?;
    if command.html {
        let run = Run::new(
            &command.out.join("collapse.json"),
            RunKind::Collapse {
                table: table.clone(),
            },
        );
        let page = write_page(&command.out, "t-SNE map and mode collapse", &[], &[run])?;
        eprintln!("wrote {}", page.display());
    }
    if !command.quiet {
        println!("{}", markdown(&table, 2));
        println!("wrote {}", command.out.display());
    }
    Ok(())
}
