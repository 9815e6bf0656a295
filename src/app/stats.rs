//! `stats`: pytorch-fid compatible statistics (`mu`, `sigma`) of a folder.

use std::path::PathBuf;

use anyhow::Context;

use super::progress::Bars;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::target::check_file;
use crate::scoring::{Input, Scorer};

#[derive(Debug, Clone)]
pub struct StatsCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    /// `None`: the default extractor.
    pub extractor: Option<PathBuf>,
    /// The image folder (`--images`).
    pub folder: PathBuf,
    /// The `.npz` to write.
    pub out: PathBuf,
    pub quiet: bool,
}

pub(super) fn run(command: &StatsCommand) -> anyhow::Result<()> {
    check_file("--out", &command.out)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let folder = Input::new("--images", &command.folder);
    let progress = Bars::new(command.quiet);
    let statistics = scorer.statistics(command.extractor.as_deref(), &folder, &progress)?;
    for warning in &statistics.warnings {
        eprintln!("warning: {warning}");
    }
    let (stats, skipped) = (&statistics.stats, statistics.skipped);
    stats
        .write_npz(&command.out)
        .with_context(|| format!("--out {}", command.out.display()))?;
    if !command.quiet {
        println!(
            "wrote {}: {}-d statistics of {} images (protocol {}){}",
            command.out.display(),
            stats.dim(),
            stats.count.unwrap_or(0),
            statistics.protocol,
            if skipped > 0 {
                format!(" ({skipped} unreadable skipped)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
