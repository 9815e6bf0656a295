//! The commands: validated configurations in, results to stdout and files
//! out. The only part of the library that knows about the terminal.

mod ablation;
mod ablation_config;
mod compare;
mod demo;
mod eval;
mod extract;
mod generate;
mod progress;
mod report;
mod score;
mod sides;
mod sources;
mod stats;
mod tables;
mod tsne;

use std::path::{Path, PathBuf};

pub use ablation::AblationConfig;
pub use compare::CompareConfig;
pub use demo::DemoConfig;
pub use eval::{BranchReport, ColorPair, EvalConfig, EvalReport, GeneratorProvenance};
pub use extract::ExtractConfig;
pub use generate::GenerateConfig;
pub use report::ScoreReport;
pub use score::{IsOptions, IsProtocol, Metric, PrdcOptions, ScoreConfig};
pub use stats::StatsConfig;
pub use tsne::TsneCommand;

use crate::features::{Extractor, ProtocolSetup};
use crate::images::{ImageBatches, Preprocess, ResizeMode, list_images};
use crate::models::Protocol;
use crate::runtime::RuntimeConfig;

/// Options every command that runs a model shares.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub runtime: RuntimeConfig,
    /// Images per network call.
    pub batch_size: usize,
    /// `None`: the model's default protocol (its manifest's `protocol`).
    pub protocol: Option<Protocol>,
    /// `None`: the protocol's resize mode; `Some` replaces it (and says so).
    pub resize: Option<ResizeMode>,
    /// Skip unreadable images (and count them) instead of stopping.
    pub skip_bad: bool,
    /// No progress bars, no summary on stdout.
    pub quiet: bool,
    /// Where to write the JSON result.
    pub json: Option<PathBuf>,
}

impl RunOptions {
    /// How `model` is fed under this run's `--protocol` and `--resize`.
    fn setup(&self, model: &Extractor) -> anyhow::Result<ProtocolSetup> {
        Ok(model.setup(self.protocol.as_ref(), self.resize)?)
    }

    /// The folder's images as a stream of batches for `preprocess`, and how many there are.
    fn batches(
        &self,
        folder: &Path,
        preprocess: Preprocess,
    ) -> anyhow::Result<(ImageBatches, usize)> {
        let paths = list_images(folder)?;
        let total = paths.len();
        Ok((
            ImageBatches::new(paths, preprocess, self.batch_size, self.skip_bad)?,
            total,
        ))
    }
}

/// A validated command.
#[derive(Debug, Clone)]
pub enum Command {
    /// `fid`, `is`, `kid` and `score`: one pass, the metrics asked for.
    Score(ScoreConfig),
    Stats(StatsConfig),
    Extract(ExtractConfig),
    Generate(GenerateConfig),
    Eval(EvalConfig),
    Ablation(AblationConfig),
    Compare(CompareConfig),
    Tsne(TsneCommand),
    Demo(DemoConfig),
}

/// Runs a command to completion.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Score(config) => score::run(&config).map(|_| ()),
        Command::Stats(config) => stats::run(&config),
        Command::Extract(config) => extract::run(&config),
        Command::Generate(config) => generate::run(&config),
        Command::Eval(config) => eval::run(&config).map(|_| ()),
        Command::Ablation(config) => ablation::run(&config),
        Command::Compare(config) => compare::run(&config),
        Command::Tsne(config) => tsne::run(&config),
        Command::Demo(config) => demo::run(&config),
    }
}
