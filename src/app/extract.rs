//! `extract`: every output of the extractor for every image, kept in a
//! feature file for later metric runs.

use std::path::PathBuf;

use super::progress::Bars;
use super::write::write_partial;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::target::check_file;
use crate::scoring::Scorer;
use crate::shard::{PartialKind, Shard};

#[derive(Debug, Clone)]
pub struct ExtractCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    /// `None`: the default extractor.
    pub extractor: Option<PathBuf>,
    /// The image folder (`--images`).
    pub folder: PathBuf,
    /// `.npz` (all outputs and file names) or `.npy` (pool features).
    pub out: PathBuf,
    pub quiet: bool,
    /// This process's part of the run (`--shard`, else the Slurm job
    /// array's task), or why the job array's variables make no shard.
    pub shard: Result<Shard, String>,
}

pub(super) fn run(command: &ExtractCommand) -> anyhow::Result<()> {
    let shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    check_file("--out", &command.out)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let progress = Bars::new(command.quiet);
    if !shard.is_whole() {
        let (partial, extraction) = scorer.folder_shard(
            PartialKind::Extract,
            command.extractor.as_deref(),
            &command.folder,
            shard,
            &progress,
        )?;
        return write_partial(&partial, &extraction.warnings, &command.out, command.quiet);
    }
    let extraction = scorer.extract(command.extractor.as_deref(), &command.folder, &progress)?;
    for warning in &extraction.warnings {
        eprintln!("warning: {warning}");
    }
    extraction.features.write(&command.out)?;
    if !command.quiet {
        println!(
            "wrote {}: {} images, outputs {} (protocol {}: {} resize, {}){}",
            command.out.display(),
            extraction.features.len(),
            extraction.outputs.join(", "),
            extraction.protocol,
            extraction.resize,
            extraction.provider,
            if extraction.skipped == 0 {
                String::new()
            } else {
                format!(", {} unreadable skipped", extraction.skipped)
            }
        );
    }
    Ok(())
}
