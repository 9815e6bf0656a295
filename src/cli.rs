//! The command line: clap definitions only, turned into the library's
//! validated configurations. Nothing below this file sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackgan_eval::app::IsProtocol;
use stackgan_eval::app::{
    Command as AppCommand, DemoConfig, ExtractConfig, IsOptions, Metric, RunOptions, ScoreConfig,
    StatsConfig,
};
use stackgan_eval::images::ResizeMode;
use stackgan_eval::metrics::KidConfig;
use stackgan_eval::runtime::{Device, RuntimeConfig};

#[derive(Debug, Parser)]
#[command(
    name = "stackgan-eval",
    version,
    about = "Evaluate text-to-image GANs as the StackGAN papers did: FID, IS, KID on ONNX Runtime"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fréchet Inception Distance between two folders or statistics files.
    Fid(FidArgs),
    /// Inception Score of a folder (or of logits in a feature file).
    Is(IsArgs),
    /// Kernel Inception Distance between two folders or feature files.
    Kid(KidArgs),
    /// Several metrics in one pass over the images.
    Score(ScoreArgs),
    /// Write pytorch-fid compatible statistics (mu, sigma) of a folder.
    Stats(StatsArgs),
    /// Write a folder's features (pool, logits, logits_unbiased, files) for later runs.
    Extract(ExtractArgs),
    /// Run the whole pipeline on the bundled demo models and images.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct FidArgs {
    /// Reference set: image folder, statistics .npz (mu, sigma) or feature file.
    #[arg(long)]
    pub real: PathBuf,
    /// Evaluated set: image folder, statistics .npz or feature file.
    #[arg(long)]
    pub fake: PathBuf,
    #[command(flatten)]
    pub model: ExtractorArg,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct IsArgs {
    /// Images to score.
    #[arg(
        long,
        required_unless_present = "features",
        conflicts_with = "features"
    )]
    pub images: Option<PathBuf>,
    /// Feature file from `extract` holding logits.
    #[arg(long)]
    pub features: Option<PathBuf>,
    /// Classifier model (its manifest names the logits and any background column).
    #[arg(long, visible_alias = "extractor")]
    pub classifier: Option<PathBuf>,
    #[command(flatten)]
    pub is: IsFlags,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct KidArgs {
    /// Reference set: image folder or feature file.
    #[arg(long)]
    pub real: PathBuf,
    /// Evaluated set: image folder or feature file.
    #[arg(long)]
    pub fake: PathBuf,
    #[command(flatten)]
    pub model: ExtractorArg,
    #[command(flatten)]
    pub kid: KidFlags,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[arg(long)]
    pub real: PathBuf,
    #[arg(long)]
    pub fake: PathBuf,
    #[command(flatten)]
    pub model: ExtractorArg,
    /// A separate classifier for IS (default: the extractor's logits).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Metrics to compute, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "fid,is,kid")]
    pub metrics: Vec<MetricArg>,
    #[command(flatten)]
    pub is: IsFlags,
    #[command(flatten)]
    pub kid: KidFlags,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long)]
    pub images: PathBuf,
    #[arg(long)]
    pub extractor: PathBuf,
    /// Output .npz with mu, sigma (float64) and count.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[arg(long)]
    pub images: PathBuf,
    #[arg(long)]
    pub extractor: PathBuf,
    /// Output .npz (all outputs and file names) or .npy (pool features only).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its images and report.
    #[arg(long, default_value = "reports/demo")]
    pub out: PathBuf,
    /// The bundled demo models.
    #[arg(long, default_value = "models/demo")]
    pub models: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct ExtractorArg {
    /// Feature extractor (ONNX with its manifest), e.g. from models/export_inception.py.
    #[arg(long)]
    pub extractor: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IsFlags {
    /// Number of splits.
    #[arg(long, default_value_t = 10)]
    pub splits: usize,
    /// torch-fidelity (contiguous splits, shuffled with seed 2020) or stackgan (background column 0 dropped, batches of 64, no shuffle).
    #[arg(long = "is-protocol", value_enum, default_value_t = IsProtocolArg::TorchFidelity)]
    pub protocol: IsProtocolArg,
    /// Output (or feature-file array) with the logits; default from the manifest.
    #[arg(long)]
    pub logits: Option<String>,
    /// Logit columns dropped before the softmax (e.g. 0, StackGAN's background class); default from the manifest.
    #[arg(long, value_delimiter = ',')]
    pub drop_columns: Option<Vec<usize>>,
    /// Shuffle before splitting with numpy's RandomState(SEED) (default: the protocol's).
    #[arg(long, conflicts_with = "no_shuffle")]
    pub shuffle_seed: Option<u32>,
    /// Keep the file order (no shuffle before splitting).
    #[arg(long)]
    pub no_shuffle: bool,
}

#[derive(Debug, Args)]
pub struct KidFlags {
    #[arg(long, default_value_t = 100)]
    pub kid_subsets: usize,
    #[arg(long, default_value_t = 1000)]
    pub kid_subset_size: usize,
    #[arg(long, default_value_t = 3)]
    pub kid_degree: u32,
    /// Kernel gamma; default 1/feature dimension.
    #[arg(long)]
    pub kid_gamma: Option<f64>,
    #[arg(long, default_value_t = 1.0)]
    pub kid_coef0: f64,
    /// Seed of the subset draws (numpy RandomState, as torch-fidelity).
    #[arg(long = "seed", default_value_t = 2020)]
    pub kid_seed: u32,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// auto (CUDA if available, else CPU with a warning), cpu, or cuda (an error if unavailable).
    #[arg(long, default_value = "auto")]
    pub device: Device,
    /// libonnxruntime.so to load (else ORT_DYLIB_PATH, ./.venv, the system).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// ONNX Runtime intra-op threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Images per network call.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub batch_size: u32,
    /// legacy-pytorch | clean | legacy-tf | pil-bilinear (default: the model's protocol).
    #[arg(long)]
    pub resize: Option<ResizeMode>,
    /// Skip unreadable images and report how many, instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
    /// Write the result as one JSON object.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// No progress bars or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum MetricArg {
    Fid,
    Is,
    Kid,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IsProtocolArg {
    TorchFidelity,
    Stackgan,
}

impl RunArgs {
    fn options(self) -> RunOptions {
        RunOptions {
            runtime: RuntimeConfig {
                library: self.ort_library,
                device: self.device,
                threads: self.threads,
            },
            batch_size: self.batch_size as usize,
            resize: self.resize,
            skip_bad: self.skip_bad,
            quiet: self.quiet,
            json: self.json,
        }
    }
}

impl From<IsFlags> for IsOptions {
    fn from(f: IsFlags) -> Self {
        IsOptions {
            splits: f.splits,
            protocol: match f.protocol {
                IsProtocolArg::TorchFidelity => IsProtocol::TorchFidelity,
                IsProtocolArg::Stackgan => IsProtocol::Stackgan,
            },
            logits: f.logits,
            drop_columns: f.drop_columns,
            shuffle: if f.no_shuffle {
                Some(None)
            } else {
                f.shuffle_seed.map(Some)
            },
        }
    }
}

impl From<KidFlags> for KidConfig {
    fn from(f: KidFlags) -> Self {
        KidConfig {
            subsets: f.kid_subsets,
            subset_size: f.kid_subset_size,
            degree: f.kid_degree,
            gamma: f.kid_gamma,
            coef0: f.kid_coef0,
            seed: f.kid_seed,
        }
    }
}

fn default_is() -> IsOptions {
    IsOptions {
        splits: 10,
        protocol: IsProtocol::TorchFidelity,
        logits: None,
        drop_columns: None,
        shuffle: None,
    }
}

fn default_kid() -> KidConfig {
    KidConfig::default()
}

impl Command {
    /// The validated configuration the library runs.
    pub fn into_app(self) -> AppCommand {
        match self {
            Command::Fid(a) => AppCommand::Score(ScoreConfig {
                metrics: vec![Metric::Fid],
                real: Some(a.real),
                fake: a.fake,
                fake_flag: "--fake",
                extractor: a.model.extractor,
                classifier: None,
                is: default_is(),
                kid: default_kid(),
                options: a.run.options(),
            }),
            Command::Is(a) => {
                let (fake, fake_flag) = match (a.images, a.features) {
                    (Some(images), _) => (images, "--images"),
                    (None, Some(features)) => (features, "--features"),
                    (None, None) => unreachable!("clap requires --images or --features"),
                };
                AppCommand::Score(ScoreConfig {
                    metrics: vec![Metric::Is],
                    real: None,
                    fake,
                    fake_flag,
                    extractor: a.classifier,
                    classifier: None,
                    is: a.is.into(),
                    kid: default_kid(),
                    options: a.run.options(),
                })
            }
            Command::Kid(a) => AppCommand::Score(ScoreConfig {
                metrics: vec![Metric::Kid],
                real: Some(a.real),
                fake: a.fake,
                fake_flag: "--fake",
                extractor: a.model.extractor,
                classifier: None,
                is: default_is(),
                kid: a.kid.into(),
                options: a.run.options(),
            }),
            Command::Score(a) => AppCommand::Score(ScoreConfig {
                metrics: a
                    .metrics
                    .iter()
                    .map(|m| match m {
                        MetricArg::Fid => Metric::Fid,
                        MetricArg::Is => Metric::Is,
                        MetricArg::Kid => Metric::Kid,
                    })
                    .collect(),
                real: Some(a.real),
                fake: a.fake,
                fake_flag: "--fake",
                extractor: a.model.extractor,
                classifier: a.classifier,
                is: a.is.into(),
                kid: a.kid.into(),
                options: a.run.options(),
            }),
            Command::Stats(a) => AppCommand::Stats(StatsConfig {
                images: a.images,
                extractor: a.extractor,
                out: a.out,
                options: a.run.options(),
            }),
            Command::Extract(a) => AppCommand::Extract(ExtractConfig {
                images: a.images,
                extractor: a.extractor,
                out: a.out,
                options: a.run.options(),
            }),
            Command::Demo(a) => AppCommand::Demo(DemoConfig {
                out: a.out,
                models: a.models,
                options: a.run.options(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
