//! `report RUN.json… --out DIR`: the runs' JSON files read back typed (see
//! [`super::runs`]) and one HTML page of them (see [`super::page`]). A file
//! it cannot read is refused in one line naming it, before anything is
//! written.

use std::path::{Path, PathBuf};

use super::page::write_page;
use super::runs::{Run, RunKind};
use crate::report::target::{FolderUse, check_folder};

#[derive(Debug, Clone)]
pub struct ReportCommand {
    /// The runs' JSON files, shown in this order.
    pub runs: Vec<PathBuf>,
    /// The page's folder: `index.html` and `assets/`.
    pub out: PathBuf,
    /// A `generate`/`eval` output folder (with `samples.csv`) whose samples
    /// the branch grids of `eval` reports show.
    pub samples: Option<PathBuf>,
    pub title: String,
    pub quiet: bool,
}

impl ReportCommand {
    pub const DEFAULT_TITLE: &'static str = "stackgan-eval report";
}

pub(super) fn run(command: &ReportCommand) -> anyhow::Result<()> {
    check_folder("--out", &command.out, FolderUse::Overwrite)?;
    if let Some(samples) = &command.samples {
        let csv = samples.join(crate::generate::SAMPLES_CSV);
        anyhow::ensure!(
            csv.is_file(),
            "--samples {}: no {} in it; pass the folder generate or eval --out wrote",
            samples.display(),
            crate::generate::SAMPLES_CSV
        );
    }
    let mut runs = Vec::new();
    for path in &command.runs {
        let mut run = Run::read(path)?;
        if let RunKind::Eval { samples, .. } = &mut run.kind {
            *samples = command.samples.clone().or_else(|| beside(path));
        }
        runs.push(run);
    }
    let page = write_page(&command.out, &command.title, &[], &runs)?;
    if !command.quiet {
        println!("wrote {}", page.display());
    }
    Ok(())
}

/// A generation folder holding the report file (`eval --out DIR --json DIR/eval.json`).
fn beside(report: &Path) -> Option<PathBuf> {
    let folder = report.parent()?;
    folder
        .join(crate::generate::SAMPLES_CSV)
        .is_file()
        .then(|| folder.to_path_buf())
}
