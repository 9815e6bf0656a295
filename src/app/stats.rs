//! `stats`: pytorch-fid compatible statistics (`mu`, `sigma`) of a folder.

use std::path::PathBuf;

use anyhow::Context;

use super::RunOptions;
use super::sides::folder_statistics;
use crate::features::Extractor;
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct StatsConfig {
    pub images: PathBuf,
    pub extractor: PathBuf,
    pub out: PathBuf,
    pub options: RunOptions,
}

pub fn run(config: &StatsConfig) -> anyhow::Result<()> {
    let runtime = Runtime::load(config.options.runtime.clone())?;
    let mut extractor = Extractor::open(&runtime, &config.extractor)?;
    let (stats, skipped) = folder_statistics(&mut extractor, &config.images, &config.options)?;
    stats
        .write_npz(&config.out)
        .with_context(|| format!("--out {}", config.out.display()))?;
    if !config.options.quiet {
        println!(
            "wrote {}: {}-d statistics of {} images{}",
            config.out.display(),
            stats.dim(),
            stats.count.unwrap_or(0),
            if skipped > 0 {
                format!(" ({skipped} unreadable skipped)")
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
