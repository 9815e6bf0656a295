//! `extract`: every output of the extractor for every image, kept in a
//! feature file for later metric runs.

use std::path::PathBuf;

use super::progress::Bars;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::target::check_file;
use crate::scoring::Scorer;

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
}

pub(super) fn run(command: &ExtractCommand) -> anyhow::Result<()> {
    check_file("--out", &command.out)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let progress = Bars::new(command.quiet);
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
