//! `extract`: every output of the extractor for every image, kept in a
//! feature file for later metric runs.

use std::path::PathBuf;

use ndarray::{Array2, Axis, concatenate};

use super::RunOptions;
use super::progress::image_bar;
use crate::features::{Extractor, FeatureFile, run_over_images};
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct ExtractConfig {
    pub images: PathBuf,
    pub extractor: PathBuf,
    /// `.npz` (all outputs and file names) or `.npy` (pool features).
    pub out: PathBuf,
    pub options: RunOptions,
}

pub fn run(config: &ExtractConfig) -> anyhow::Result<()> {
    let runtime = Runtime::load(config.options.runtime.clone())?;
    let mut extractor = Extractor::open(&runtime, &config.extractor)?;
    let names: Vec<String> = extractor
        .manifest()
        .outputs
        .iter()
        .map(|o| o.name.clone())
        .collect();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let setup = config.options.setup(&extractor)?;
    if let Some(note) = setup.override_note() {
        eprintln!("warning: {note}");
    }
    let (batches, total) = config
        .options
        .batches(&config.images, setup.preprocess.clone())?;
    let bar = image_bar(total, "extract", config.options.quiet);
    let mut parts: Vec<Vec<Array2<f32>>> = vec![Vec::new(); outputs.len()];
    let mut files = Vec::new();
    let summary = run_over_images(
        &mut extractor,
        batches,
        &outputs,
        &|n| bar.inc(n as u64),
        |batch_paths, arrays| {
            files.extend(batch_paths.iter().map(|p| p.display().to_string()));
            for (part, array) in parts.iter_mut().zip(arrays) {
                part.push(array.clone());
            }
            anyhow::Ok(())
        },
    )?;
    bar.finish_and_clear();
    let mut arrays = Vec::new();
    for (name, part) in names.iter().cloned().zip(parts) {
        let views: Vec<_> = part.iter().map(|a| a.view()).collect();
        arrays.push((name, concatenate(Axis(0), &views)?));
    }
    FeatureFile { arrays, files }.write(&config.out)?;
    if !config.options.quiet {
        println!(
            "wrote {}: {} images, outputs {} (protocol {}: {} resize, {}){}",
            config.out.display(),
            summary.images,
            outputs.join(", "),
            setup.protocol,
            setup.preprocess.resize,
            extractor.provider(),
            if summary.skipped.is_empty() {
                String::new()
            } else {
                format!(", {} unreadable skipped", summary.skipped.len())
            }
        );
    }
    Ok(())
}
