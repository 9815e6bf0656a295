//! `stats`: pytorch-fid compatible statistics (`mu`, `sigma`) of a folder.

use std::path::PathBuf;

use anyhow::Context;

use super::progress::Bars;
use super::write::write_partial;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::target::check_file;
use crate::scoring::{Input, Scorer};
use crate::shard::{PartialKind, Shard};

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
    /// This process's part of the run (`--shard`, else the Slurm job
    /// array's task), or why the job array's variables make no shard.
    pub shard: Result<Shard, String>,
}

pub(super) fn run(command: &StatsCommand) -> anyhow::Result<()> {
    let shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    check_file("--out", &command.out)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    if !shard.is_whole() {
        let progress = Bars::new(command.quiet);
        let (partial, extraction) = scorer.folder_shard(
            PartialKind::Stats,
            command.extractor.as_deref(),
            &command.folder,
            shard,
            &progress,
        )?;
        return write_partial(&partial, &extraction.warnings, &command.out, command.quiet);
    }
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
