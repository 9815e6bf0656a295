//! The command line: clap definitions only, turned into the library's
//! validated configurations. Nothing below this file sees clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use stackgan_eval::analysis::TsneConfig;
use stackgan_eval::app::{AblationConfig, CompareConfig, EvalConfig, GenerateConfig, TsneCommand};
use stackgan_eval::app::{
    Command as AppCommand, DemoConfig, ExtractConfig, IsOptions, Metric, RunOptions, ScoreConfig,
    StatsConfig,
};
use stackgan_eval::app::{IsProtocol, PrdcOptions};
use stackgan_eval::generate::{BranchSelection, JobSpec, PlanRequest, Protocol};
use stackgan_eval::images::ResizeMode;
use stackgan_eval::metrics::KidConfig;
use stackgan_eval::metrics::PrdcConfig;
use stackgan_eval::models::Protocol as ScoringProtocol;
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
    /// Samples of a StackGAN generator as PNGs per branch (64/, 128/, 256/) with samples.csv.
    Generate(GenerateArgs),
    /// Generate and score in one streaming pass: IS, FID, KID per branch and colour consistency.
    // `--protocol` is the sampling protocol here; the scoring one is `--score-protocol`.
    #[command(mut_arg("scoring_protocol", |a| a.long("score-protocol")))]
    Eval(EvalArgs),
    /// Every variant of an ablation config through the same pipeline → CSV, Markdown, JSON, charts.
    Ablation(AblationArgs),
    /// Score reports (--json files) from separate runs → one table (CSV, Markdown, JSON).
    Compare(CompareArgs),
    /// t-SNE map of several sets (PNG scatter plot and image maps, CSV) and their collapse statistics.
    Tsne(TsneArgs),
    /// Run the whole pipeline on the bundled demo models and images.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct TsneArgs {
    /// A set to map, NAME=SOURCE (image folder, generate run folder, or feature file); repeat it.
    #[arg(long = "set", required = true, value_parser = parse_set)]
    pub sets: Vec<(String, PathBuf)>,
    #[command(flatten)]
    pub model: ExtractorArg,
    /// The set the collapse statistics compare against (default: the set called real, else the first).
    #[arg(long)]
    pub reference: Option<String>,
    /// At most N samples per set, drawn with --seed (numpy RandomState), kept in file order.
    #[arg(long)]
    pub samples: Option<usize>,
    #[arg(long, default_value_t = 30.0)]
    pub perplexity: f64,
    /// Barnes-Hut opening angle.
    #[arg(long, default_value_t = 0.5)]
    pub theta: f64,
    #[arg(long, default_value_t = 1000)]
    pub iterations: usize,
    /// Principal components kept before t-SNE.
    #[arg(long, default_value_t = 50)]
    pub pca_dims: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cells per side of the image maps.
    #[arg(long, default_value_t = 30)]
    pub grid: usize,
    /// Thumbnail side in the image maps, in pixels.
    #[arg(long, default_value_t = 32)]
    pub thumbnail: u32,
    #[command(flatten)]
    pub prdc: PrdcFlags,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
}

fn parse_set(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, source)) if !name.is_empty() && !source.is_empty() => {
            Ok((name.to_string(), PathBuf::from(source)))
        }
        _ => Err(format!("`{text}` is not NAME=SOURCE, e.g. --set real=cub/")),
    }
}

#[derive(Debug, Args)]
pub struct AblationArgs {
    /// The ablation config (TOML; see examples/ablation/).
    #[arg(long)]
    pub config: PathBuf,
    /// Folder for ablation.csv, ablation.md, ablation.json and the charts.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Override only the resize of each model's protocol: legacy-pytorch | clean | legacy-tf | pil-bilinear.
    #[arg(long)]
    pub resize: Option<ResizeMode>,
    /// No progress or table on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// JSON reports written by fid, is, kid, score or eval (--json).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// One label per report, comma-separated (default: the file names).
    #[arg(long, value_delimiter = ',')]
    pub labels: Option<Vec<String>>,
    /// Folder for compare.csv, compare.md, compare.json and the charts.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, default_value = "Comparison")]
    pub title: String,
    /// No table on stdout.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Generator (ONNX with its manifest), from models/export_stackgan.py.
    #[arg(long)]
    pub model: PathBuf,
    /// Text embeddings .npy, [images, captions, dim] or [N, dim] (conditional models).
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// Exact inputs: a .npz with one [N, dim] array per model input (z, eps or eps1/eps2, text_embedding).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Seed of the noise; each sample's z and eps depend only on it and the sample (see README).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// plain (default), stackgan-v2-cub (2,928 images × 10 captions, one z per image) or stackgan-v2-uncond (30,000 samples).
    #[arg(long = "protocol", id = "sampling_protocol", default_value = "plain")]
    pub protocol: Protocol,
    /// Use the first K images of the embeddings.
    #[arg(long)]
    pub images: Option<usize>,
    /// Captions per image: all, or the first K.
    #[arg(long, default_value = "all")]
    pub captions: CaptionsArg,
    /// Draws per caption (default 1).
    #[arg(long)]
    pub samples_per_caption: Option<usize>,
    /// Samples of an unconditional model.
    #[arg(long)]
    pub samples: Option<usize>,
    /// Branches to keep: all, last, or resolutions such as 64,256.
    #[arg(long, default_value = "all")]
    pub branches: BranchSelection,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Output folder (created; must be empty unless --resume).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write the float outputs (images per branch, mu, logvar) to OUT/raw.npz.
    #[arg(long)]
    pub save_raw: bool,
    /// Continue an interrupted run in OUT (same flags as the first time).
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Reference set for FID/KID: image folder, statistics .npz or feature file.
    #[arg(long)]
    pub real: Option<PathBuf>,
    // Metrics are per branch; colour consistency is always measured between branches.
    #[command(flatten)]
    pub scoring: ScoringArgs,
    /// Also write the images, as `generate` does, to this (empty) folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Append one row per branch to this CSV file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub run: RunArgs,
}

impl EvalArgs {
    fn into_config(self) -> EvalConfig {
        EvalConfig {
            job: self.sampling.spec(),
            metrics: metrics(&self.scoring.metrics),
            real: self.real,
            extractor: self.scoring.model.extractor,
            classifier: self.scoring.classifier,
            is: self.scoring.is.into(),
            kid: self.scoring.kid.into(),
            prdc: self.scoring.prdc.into(),
            out: self.out,
            csv: self.csv,
            options: self.run.options(),
        }
    }
}

fn metrics(list: &[MetricArg]) -> Vec<Metric> {
    list.iter()
        .map(|m| match m {
            MetricArg::Fid => Metric::Fid,
            MetricArg::Is => Metric::Is,
            MetricArg::Kid => Metric::Kid,
            MetricArg::Prdc => Metric::Prdc,
        })
        .collect()
}

/// `--captions all|K`.
#[derive(Debug, Clone, Copy)]
pub struct CaptionsArg(Option<usize>);

impl std::str::FromStr for CaptionsArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(CaptionsArg(None));
        }
        s.parse()
            .map(|k| CaptionsArg(Some(k)))
            .map_err(|_| format!("`{s}` is not a caption count: use all or a number"))
    }
}

impl SamplingArgs {
    fn spec(self) -> JobSpec {
        JobSpec {
            model: self.model,
            embeddings: self.embeddings,
            noise: self.noise,
            seed: self.seed,
            protocol: self.protocol,
            plan: PlanRequest {
                images: self.images,
                captions: self.captions.0,
                samples_per_caption: self.samples_per_caption,
                samples: self.samples,
            },
            branches: self.branches,
        }
    }
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
    pub scoring: ScoringArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The models, metrics and metric settings `score` and `eval` share.
#[derive(Debug, Args)]
pub struct ScoringArgs {
    #[command(flatten)]
    pub model: ExtractorArg,
    /// A separate classifier for IS (default: the extractor's logits).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Metrics to compute, comma-separated: fid, is, kid, prdc (precision, recall, density, coverage, near-duplicates).
    #[arg(long, value_delimiter = ',', default_value = "fid,is,kid")]
    pub metrics: Vec<MetricArg>,
    #[command(flatten)]
    pub is: IsFlags,
    #[command(flatten)]
    pub kid: KidFlags,
    #[command(flatten)]
    pub prdc: PrdcFlags,
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
    /// IS split rule: torch-fidelity (contiguous splits, shuffled with seed 2020) or stackgan (batches of 64, no shuffle) [default: the scoring protocol's].
    #[arg(long = "is-protocol", value_enum)]
    pub protocol: Option<IsProtocolArg>,
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
    #[arg(long, default_value_t = 2020)]
    pub kid_seed: u32,
}

#[derive(Debug, Args)]
pub struct PrdcFlags {
    /// Neighbours defining each sample's k-NN ball for precision, recall, density, coverage.
    #[arg(long, default_value_t = 5)]
    pub prdc_k: usize,
    /// Quantile of the real set's nearest-neighbour distances below which two samples count as near-duplicates.
    #[arg(long, default_value_t = 0.05)]
    pub duplicate_quantile: f64,
}

impl From<PrdcFlags> for PrdcOptions {
    fn from(f: PrdcFlags) -> Self {
        PrdcOptions {
            k: f.prdc_k,
            duplicate_quantile: f.duplicate_quantile,
        }
    }
}

#[derive(Debug, Args)]
pub struct RuntimeArgs {
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
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Scoring protocol: pytorch-fid | clean-fid | torch-fidelity | stackgan-is, or the model's own; sets resize, input mapping and IS logits together [default: the model manifest's].
    #[arg(long = "protocol", id = "scoring_protocol", value_name = "PROTOCOL")]
    pub protocol: Option<ScoringProtocol>,
    /// Override only the protocol's resize: legacy-pytorch (torch bilinear) | clean (Pillow ≤ 12 bicubic on floats) | legacy-tf (TF1 bilinear) | pil-bilinear (Pillow ≤ 12 bilinear on 8 bits); reports say so.
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
    Prdc,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum IsProtocolArg {
    TorchFidelity,
    Stackgan,
}

impl RuntimeArgs {
    fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            library: self.ort_library.clone(),
            device: self.device,
            threads: self.threads,
        }
    }
}

impl RunArgs {
    fn options(self) -> RunOptions {
        RunOptions {
            runtime: self.runtime.config(),
            batch_size: self.runtime.batch_size as usize,
            protocol: self.protocol,
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
            protocol: f.protocol.map(|p| match p {
                IsProtocolArg::TorchFidelity => IsProtocol::TorchFidelity,
                IsProtocolArg::Stackgan => IsProtocol::Stackgan,
            }),
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
    IsOptions::default()
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
                prdc: PrdcOptions::default(),
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
                    prdc: PrdcOptions::default(),
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
                prdc: PrdcOptions::default(),
                options: a.run.options(),
            }),
            Command::Score(a) => AppCommand::Score(ScoreConfig {
                metrics: metrics(&a.scoring.metrics),
                real: Some(a.real),
                fake: a.fake,
                fake_flag: "--fake",
                extractor: a.scoring.model.extractor,
                classifier: a.scoring.classifier,
                is: a.scoring.is.into(),
                kid: a.scoring.kid.into(),
                prdc: a.scoring.prdc.into(),
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
            Command::Generate(a) => AppCommand::Generate(GenerateConfig {
                job: a.sampling.spec(),
                out: a.out,
                save_raw: a.save_raw,
                resume: a.resume,
                options: RunOptions {
                    runtime: a.runtime.config(),
                    batch_size: a.runtime.batch_size as usize,
                    protocol: None,
                    resize: None,
                    skip_bad: false,
                    quiet: a.quiet,
                    json: None,
                },
            }),
            Command::Eval(a) => AppCommand::Eval(a.into_config()),
            Command::Ablation(a) => AppCommand::Ablation(AblationConfig {
                config: a.config,
                out: a.out,
                options: RunOptions {
                    runtime: a.runtime.config(),
                    batch_size: a.runtime.batch_size as usize,
                    protocol: None,
                    resize: a.resize,
                    skip_bad: false,
                    quiet: a.quiet,
                    json: None,
                },
            }),
            Command::Compare(a) => AppCommand::Compare(CompareConfig {
                reports: a.reports,
                labels: a.labels,
                out: a.out,
                title: a.title,
                quiet: a.quiet,
            }),
            Command::Tsne(a) => AppCommand::Tsne(TsneCommand {
                sets: a.sets,
                extractor: a.model.extractor,
                reference: a.reference,
                samples: a.samples,
                tsne: TsneConfig {
                    perplexity: a.perplexity,
                    theta: a.theta,
                    iterations: a.iterations,
                    pca_dims: a.pca_dims,
                    seed: a.seed,
                },
                grid: a.grid,
                thumbnail: a.thumbnail,
                prdc: PrdcConfig { k: a.prdc.prdc_k },
                duplicate_quantile: a.prdc.duplicate_quantile,
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
