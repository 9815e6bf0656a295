//! Flag groups defined once — help text, the library's defaults, the value
//! parsers — and flattened into the commands that honour them. Each group
//! turns into its library type with `From`.

use std::path::PathBuf;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use stackgan_eval::collapse::MapOptions;
use stackgan_eval::images::ResizeMode;
use stackgan_eval::metrics::{InfinityConfig, KidConfig};
use stackgan_eval::models::Protocol;
use stackgan_eval::options::{ExecOptions, ImageOptions};
use stackgan_eval::runtime::{Device, DeviceList, Precision, RuntimeConfig};
use stackgan_eval::scoring::{
    BootstrapOptions, IsOptions, IsProtocol, Metric, PrdcOptions, ScoringOptions,
};
use stackgan_eval::shard::Shard;

/// A count (images, samples, splits …): a whole number; the flag is named by clap.
pub fn count(text: &str) -> Result<usize, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a count; give a whole number such as 10"))
}

/// A count of at least 1.
pub fn positive(text: &str) -> Result<usize, String> {
    match count(text)? {
        0 => Err("0 is too few; give 1 or more".into()),
        n => Ok(n),
    }
}

/// A seed: a whole number from 0 to 4294967295.
pub fn seed(text: &str) -> Result<u32, String> {
    text.parse()
        .map_err(|_| format!("`{text}` is not a seed; give a whole number from 0 to 4294967295"))
}

/// A real number.
pub fn number(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("`{text}` is not a number; give one such as 0.5"))
}

fn batch_size(text: &str) -> Result<usize, String> {
    match positive(text)? {
        n if n > ExecOptions::MAX_BATCH_SIZE => Err(format!(
            "{n} is too large; give at most {}",
            ExecOptions::MAX_BATCH_SIZE
        )),
        n => Ok(n),
    }
}

/// How models run: ONNX Runtime's set-up and the batch size.
#[derive(Debug, Args)]
pub struct RuntimeArgs {
    /// auto (CUDA if available, else CPU with a warning), cpu, or cuda / cuda:N (that GPU; an error if unavailable).
    #[arg(long, default_value_t = Device::default())]
    pub device: Device,
    /// GPUs of this node to spread one run over, e.g. 0,1,2,3: each takes the next batch when free, and the numbers equal a one-GPU run's [default batch: 200].
    #[arg(long, value_name = "I,J,…", conflicts_with = "device")]
    pub devices: Option<DeviceList>,
    /// libonnxruntime.so to load (else ORT_DYLIB_PATH, ./.venv, the system).
    #[arg(long)]
    pub ort_library: Option<PathBuf>,
    /// ONNX Runtime intra-op threads (default: all cores).
    #[arg(long, allow_hyphen_values = true, value_parser = positive)]
    pub threads: Option<usize>,
    /// Images per network call [default: 50; 200 with --device cuda].
    #[arg(long, allow_hyphen_values = true, value_parser = batch_size)]
    pub batch_size: Option<usize>,
}

impl From<RuntimeArgs> for ExecOptions {
    fn from(a: RuntimeArgs) -> Self {
        let runtime = RuntimeConfig {
            library: a.ort_library,
            device: a.device,
            threads: a.threads,
            precision: Precision::default(),
            devices: a.devices,
        };
        ExecOptions {
            batch_size: a.batch_size.unwrap_or(runtime.default_batch_size()),
            runtime,
        }
    }
}

/// How models run in a command that runs image models (extractor,
/// classifier): the runtime and `--precision`. `generate` takes
/// [`RuntimeArgs`] alone: generators always run in float32.
#[derive(Debug, Args)]
pub struct ScoringRuntimeArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Arithmetic of the image models (extractor, classifier) on a GPU: fp32 (numbers equal to the CPU's to float32 rounding), tf32 (TF32 tensor cores) or fp16 (the model converted to float16 weights and activations, inputs and outputs float32); tf32 and fp16 report their drift from float32 on the first batch in the run's warnings. Generators always run in float32.
    #[arg(long, default_value_t = Precision::default())]
    pub precision: Precision,
}

impl From<ScoringRuntimeArgs> for ExecOptions {
    fn from(a: ScoringRuntimeArgs) -> Self {
        let mut exec = ExecOptions::from(a.runtime);
        exec.runtime.precision = a.precision;
        exec
    }
}

/// `--protocol` and `--resize`: how images are fed to the models.
#[derive(Debug, Args)]
pub struct ProtocolArgs {
    /// Scoring protocol: pytorch-fid | clean-fid | torch-fidelity | stackgan-is, or the model's own; sets resize, input mapping and IS logits and splits together [default: the model manifest's].
    #[arg(long, value_name = "PROTOCOL")]
    pub protocol: Option<Protocol>,
    /// Override only the protocol's resize: legacy-pytorch (torch bilinear) | clean (Pillow ≤ 12 bicubic on floats) | legacy-tf (TF1 bilinear) | pil-bilinear (Pillow ≤ 12 bilinear on 8 bits); reports say so.
    #[arg(long)]
    pub resize: Option<ResizeMode>,
}

impl From<ProtocolArgs> for ImageOptions {
    fn from(a: ProtocolArgs) -> Self {
        ImageOptions {
            protocol: a.protocol,
            resize: a.resize,
            skip_bad: false,
        }
    }
}

/// How image files are read.
#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Skip unreadable images and report how many, instead of stopping.
    #[arg(long)]
    pub skip_bad: bool,
}

impl From<ImageArgs> for ImageOptions {
    fn from(a: ImageArgs) -> Self {
        ImageOptions {
            skip_bad: a.skip_bad,
            ..a.protocol.into()
        }
    }
}

/// `--shard I/N`: this process's part of a run split over many.
#[derive(Debug, Args)]
pub struct ShardArg {
    /// Do only part I of N (I counted from 0) and write a partial result for `stackgan-eval merge` [default: the Slurm job array's task, else the whole run].
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
}

impl ShardArg {
    /// The flag, else the Slurm job array's task, else the whole run.
    pub fn resolve(&self) -> Result<Shard, String> {
        match self.shard {
            Some(shard) => Ok(shard),
            None => Ok(Shard::from_slurm(|name| std::env::var(name).ok())?.unwrap_or_default()),
        }
    }
}

/// `--json`.
#[derive(Debug, Args)]
pub struct JsonArg {
    /// Write the result as one JSON object to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `--quiet`.
#[derive(Debug, Args)]
pub struct QuietArg {
    /// No progress bars, notes or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--html`.
#[derive(Debug, Args)]
pub struct HtmlArg {
    /// Also write the run's page into the output folder (index.html; see `report`).
    #[arg(long)]
    pub html: bool,
}

/// `--extractor`: the model that reads images, with the one default.
#[derive(Debug, Args)]
pub struct ExtractorArg {
    /// Feature extractor (ONNX with its manifest) [default: pytorch-fid's FID Inception from the model cache, fetched on first use; see `models fetch`].
    #[arg(long)]
    pub extractor: Option<PathBuf>,
}

/// Inception Score settings.
#[derive(Debug, Args)]
pub struct IsArgs {
    /// Number of splits.
    #[arg(long, allow_hyphen_values = true, value_parser = positive,
          default_value_t = IsOptions::default().splits)]
    pub splits: usize,
    /// Override only the IS split rule: torch-fidelity (contiguous splits, shuffled with seed 2020) or stackgan (batches of 64, no shuffle) [default: the scoring protocol's].
    #[arg(long = "is-protocol",
          value_parser = PossibleValuesParser::new(IsProtocol::NAMES).try_map(|s| s.parse::<IsProtocol>()))]
    pub protocol: Option<IsProtocol>,
    /// Output (or feature-file array) with the logits; default from the manifest.
    #[arg(long)]
    pub logits: Option<String>,
    /// Logit columns dropped before the softmax (e.g. 0, StackGAN's background class); default from the manifest.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, value_parser = count)]
    pub drop_columns: Option<Vec<usize>>,
    /// Shuffle before splitting with numpy's RandomState(SEED) (default: the protocol's).
    #[arg(long, conflicts_with = "no_shuffle", allow_hyphen_values = true, value_parser = seed)]
    pub shuffle_seed: Option<u32>,
    /// Keep the file order (no shuffle before splitting).
    #[arg(long)]
    pub no_shuffle: bool,
}

impl From<IsArgs> for IsOptions {
    fn from(a: IsArgs) -> Self {
        IsOptions {
            splits: a.splits,
            protocol: a.protocol,
            logits: a.logits,
            drop_columns: a.drop_columns,
            shuffle_seed: a.shuffle_seed,
            no_shuffle: a.no_shuffle,
        }
    }
}

/// Kernel Inception Distance settings.
#[derive(Debug, Args)]
pub struct KidArgs {
    /// Random subsets the MMD is averaged over.
    #[arg(long, allow_hyphen_values = true, value_parser = positive,
          default_value_t = KidConfig::default().subsets)]
    pub kid_subsets: usize,
    /// Samples per subset, drawn without replacement from each set.
    #[arg(long, allow_hyphen_values = true, value_parser = positive,
          default_value_t = KidConfig::default().subset_size)]
    pub kid_subset_size: usize,
    /// Degree of the polynomial kernel.
    #[arg(long, allow_hyphen_values = true,
          default_value_t = KidConfig::default().degree)]
    pub kid_degree: u32,
    /// Kernel gamma; default 1/feature dimension.
    #[arg(long, allow_hyphen_values = true, value_parser = number)]
    pub kid_gamma: Option<f64>,
    /// Kernel offset.
    #[arg(long, allow_hyphen_values = true, value_parser = number,
          default_value_t = KidConfig::default().coef0)]
    pub kid_coef0: f64,
    /// Seed of the subset draws (numpy RandomState, as torch-fidelity).
    #[arg(long, allow_hyphen_values = true, value_parser = seed,
          default_value_t = KidConfig::default().seed)]
    pub kid_seed: u32,
}

impl From<KidArgs> for KidConfig {
    fn from(a: KidArgs) -> Self {
        KidConfig {
            subsets: a.kid_subsets,
            subset_size: a.kid_subset_size,
            degree: a.kid_degree,
            gamma: a.kid_gamma,
            coef0: a.kid_coef0,
            seed: a.kid_seed,
        }
    }
}

/// Collapse statistics settings.
#[derive(Debug, Args)]
pub struct PrdcArgs {
    /// Neighbours defining each sample's k-NN ball for precision, recall, density, coverage.
    #[arg(long, allow_hyphen_values = true, value_parser = positive,
          default_value_t = PrdcOptions::default().k)]
    pub prdc_k: usize,
    /// Quantile of the real set's nearest-neighbour distances below which two samples count as near-duplicates.
    #[arg(long, allow_hyphen_values = true, value_parser = number,
          default_value_t = PrdcOptions::default().duplicate_quantile)]
    pub duplicate_quantile: f64,
}

impl From<PrdcArgs> for PrdcOptions {
    fn from(a: PrdcArgs) -> Self {
        PrdcOptions {
            k: a.prdc_k,
            duplicate_quantile: a.duplicate_quantile,
        }
    }
}

/// FID∞ and IS∞ settings: which subsets the extrapolation draws.
#[derive(Debug, Args)]
pub struct InfArgs {
    /// FID∞/IS∞: sample counts the metric is computed at before the line in 1/N is fitted (at least 3).
    #[arg(long, allow_hyphen_values = true, value_parser = count,
          default_value_t = InfinityConfig::default().points)]
    pub inf_points: usize,
    /// FID∞/IS∞: the smallest sample count [default: 5000 from 10,000 samples on, as Chong & Forsyth; half the samples below].
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub inf_min: Option<usize>,
    /// FID∞/IS∞: seed of numpy's RandomState whose shuffles draw the subsets.
    #[arg(long, allow_hyphen_values = true, value_parser = seed,
          default_value_t = InfinityConfig::default().seed)]
    pub inf_seed: u32,
}

impl From<InfArgs> for InfinityConfig {
    fn from(a: InfArgs) -> Self {
        InfinityConfig {
            points: a.inf_points,
            min_samples: a.inf_min,
            seed: a.inf_seed,
        }
    }
}

/// Bootstrap confidence intervals.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Percentile confidence intervals from B bootstrap replicates (the features resampled with replacement, both sets for FID, KID, PRDC); JSON gains `<metric>_ci` and `bootstrap`.
    #[arg(long, value_name = "B", allow_hyphen_values = true, value_parser = replicates)]
    pub bootstrap: Option<usize>,
    /// Seed of the resampling (numpy RandomState(S).randint, replicate by replicate).
    #[arg(long, value_name = "S", requires = "bootstrap", allow_hyphen_values = true, value_parser = seed,
          default_value_t = BootstrapOptions::default().seed)]
    pub bootstrap_seed: u32,
    /// Confidence level of the intervals, strictly between 0 and 1.
    #[arg(long, value_name = "L", requires = "bootstrap", allow_hyphen_values = true, value_parser = level,
          default_value_t = BootstrapOptions::default().level)]
    pub ci_level: f64,
}

fn replicates(text: &str) -> Result<usize, String> {
    let n = count(text)?;
    BootstrapOptions::check_replicates(n)?;
    Ok(n)
}

fn level(text: &str) -> Result<f64, String> {
    let level = number(text)?;
    BootstrapOptions::check_level(level)?;
    Ok(level)
}

impl From<BootstrapArgs> for Option<BootstrapOptions> {
    fn from(a: BootstrapArgs) -> Self {
        a.bootstrap.map(|replicates| BootstrapOptions {
            replicates,
            seed: a.bootstrap_seed,
            level: a.ci_level,
        })
    }
}

/// The models, metrics and metric settings `score` and `eval` share.
#[derive(Debug, Args)]
pub struct ScoringArgs {
    #[command(flatten)]
    pub extractor: ExtractorArg,
    /// A separate classifier for IS (default: the extractor's logits).
    #[arg(long)]
    pub classifier: Option<PathBuf>,
    /// Metrics to compute, comma-separated: fid, is, kid, prdc (precision, recall, density, coverage, near-duplicates), fid_inf, is_inf (extrapolated to infinitely many samples).
    #[arg(long, value_delimiter = ',',
          value_parser = PossibleValuesParser::new(Metric::NAMES).try_map(|s| s.parse::<Metric>()),
          default_values_t = Metric::DEFAULT_SET)]
    pub metrics: Vec<Metric>,
    #[command(flatten)]
    pub is: IsArgs,
    #[command(flatten)]
    pub kid: KidArgs,
    #[command(flatten)]
    pub prdc: PrdcArgs,
    #[command(flatten)]
    pub infinity: InfArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    // The scoring protocol flag plugs in here: `--protocol pytorch-fid|clean-fid|
    // torch-fidelity|stackgan-is`, turned into `ScoringOptions`' protocol field.
}

impl From<ScoringArgs> for ScoringOptions {
    fn from(a: ScoringArgs) -> Self {
        ScoringOptions {
            metrics: a.metrics,
            extractor: a.extractor.extractor,
            classifier: a.classifier,
            is: a.is.into(),
            kid: a.kid.into(),
            prdc: a.prdc.into(),
            infinity: a.infinity.into(),
            bootstrap: a.bootstrap.into(),
        }
    }
}

/// The t-SNE map's settings.
#[derive(Debug, Args)]
pub struct MapArgs {
    /// At most N samples per set, drawn with --seed (numpy RandomState), kept in file order.
    #[arg(long, allow_hyphen_values = true, value_parser = positive)]
    pub samples: Option<usize>,
    /// Effective number of neighbours of each sample (3·perplexity ≤ samples − 1).
    #[arg(long, allow_hyphen_values = true, value_parser = number,
          default_value_t = MapOptions::default().perplexity)]
    pub perplexity: f64,
    /// Barnes-Hut opening angle.
    #[arg(long, allow_hyphen_values = true, value_parser = number,
          default_value_t = MapOptions::default().theta)]
    pub theta: f64,
    /// Gradient-descent iterations (at least 250).
    #[arg(long, allow_hyphen_values = true, value_parser = count,
          default_value_t = MapOptions::default().iterations)]
    pub iterations: usize,
    /// Principal components kept before t-SNE.
    #[arg(long, allow_hyphen_values = true, value_parser = count,
          default_value_t = MapOptions::default().pca_dims)]
    pub pca_dims: usize,
    /// Seed of the map and of the subsampling.
    #[arg(long, allow_hyphen_values = true,
          default_value_t = MapOptions::default().seed)]
    pub seed: u64,
    /// Cells per side of the image maps.
    #[arg(long, allow_hyphen_values = true, value_parser = positive,
          default_value_t = MapOptions::default().grid)]
    pub grid: usize,
    /// Thumbnail side in the image maps, in pixels.
    #[arg(long, allow_hyphen_values = true,
          default_value_t = MapOptions::default().thumbnail)]
    pub thumbnail: u32,
}

impl From<MapArgs> for MapOptions {
    fn from(a: MapArgs) -> Self {
        MapOptions {
            perplexity: a.perplexity,
            theta: a.theta,
            iterations: a.iterations,
            pca_dims: a.pca_dims,
            seed: a.seed,
            samples: a.samples,
            grid: a.grid,
            thumbnail: a.thumbnail,
        }
    }
}
