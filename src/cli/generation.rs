//! `generate` and `eval`: the commands that run a generator.

use std::path::PathBuf;

use clap::Args;

use super::flags::{
    HtmlArg, ImageArgs, JsonArg, QuietArg, RuntimeArgs, ScoringArgs, ScoringRuntimeArgs, ShardArg,
    count, positive, seed,
};
use stackgan_eval::app::{EvalCommand, GenerateCommand};
use stackgan_eval::generate::{BranchSelection, GenerateConfig, JobSpec, PlanRequest, Sampling};
use stackgan_eval::scoring::Input;
use stackgan_eval::shard::Shard;

/// `--captions all|K`.
#[derive(Debug, Clone, Copy)]
pub struct Captions(Option<usize>);

impl std::str::FromStr for Captions {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "all" {
            return Ok(Captions(None));
        }
        positive(s)
            .map(|k| Captions(Some(k)))
            .map_err(|_| format!("`{s}` is not a caption count: use all or a number such as 5"))
    }
}

/// What to sample from the generator.
#[derive(Debug, Args)]
pub struct SamplingArgs {
    /// Generator (ONNX with its manifest), from models/export_stackgan.py.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub draw: DrawArgs,
}

impl From<SamplingArgs> for JobSpec {
    fn from(a: SamplingArgs) -> Self {
        JobSpec {
            model: a.model,
            ..a.draw.into()
        }
    }
}

/// Which samples to draw from a generator (`curve` draws them from every checkpoint).
#[derive(Debug, Args)]
pub struct DrawArgs {
    /// Text embeddings .npy, [images, captions, dim] or [N, dim] (conditional models).
    #[arg(long)]
    pub embeddings: Option<PathBuf>,
    /// Exact inputs: a .npz with one [N, dim] array per model input (z, eps or eps1/eps2, text_embedding).
    #[arg(long)]
    pub noise: Option<PathBuf>,
    /// Seed of the noise; each sample's z and eps depend only on it and the sample (see README).
    #[arg(long, allow_hyphen_values = true, value_parser = seed, default_value_t = JobSpec::default().seed)]
    pub seed: u32,
    /// How samples are chosen: plain, stackgan-v2-cub (2,928 images × 10 captions, one z per image) or stackgan-v2-uncond (30,000 samples).
    #[arg(long, default_value_t = Sampling::default())]
    pub sampling: Sampling,
    /// Use the first K images of the embeddings.
    #[arg(long, allow_hyphen_values = true, value_parser = positive)]
    pub images: Option<usize>,
    /// Captions per image: all (default), or the first K.
    #[arg(long, allow_hyphen_values = true)]
    pub captions: Option<Captions>,
    /// Draws per caption (default 1).
    #[arg(long, allow_hyphen_values = true, value_parser = positive)]
    pub samples_per_caption: Option<usize>,
    /// Samples of an unconditional model.
    #[arg(long, allow_hyphen_values = true, value_parser = count)]
    pub samples: Option<usize>,
    /// Branches to keep: all (default), last, or resolutions such as 64,256.
    #[arg(long)]
    pub branches: Option<BranchSelection>,
}

impl From<DrawArgs> for JobSpec {
    /// The draw, with no model yet.
    fn from(a: DrawArgs) -> Self {
        JobSpec {
            model: PathBuf::new(),
            embeddings: a.embeddings,
            noise: a.noise,
            seed: a.seed,
            sampling: a.sampling,
            plan: PlanRequest {
                images: a.images,
                captions: a.captions.and_then(|c| c.0),
                samples_per_caption: a.samples_per_caption,
                samples: a.samples,
            },
            branches: a.branches.unwrap_or_default(),
        }
    }
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
    #[command(flatten)]
    pub quiet: QuietArg,
    #[command(flatten)]
    pub shard: ShardArg,
}

impl From<GenerateArgs> for GenerateCommand {
    fn from(a: GenerateArgs) -> Self {
        GenerateCommand {
            generate: GenerateConfig {
                exec: a.runtime.into(),
                job: a.sampling.into(),
                out: a.out,
                save_raw: a.save_raw,
                resume: a.resume,
                shard: Shard::WHOLE,
            },
            shard: a.shard.resolve(),
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Reference set for FID, KID and PRDC: image folder, statistics .npz or feature file.
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
    pub json: JsonArg,
    #[command(flatten)]
    pub html: HtmlArg,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
    #[command(flatten)]
    pub shard: ShardArg,
}

impl From<EvalArgs> for EvalCommand {
    fn from(a: EvalArgs) -> Self {
        EvalCommand {
            exec: a.runtime.into(),
            images: a.images.into(),
            scoring: a.scoring.into(),
            job: a.sampling.into(),
            real: a.real.map(|real| Input::new("--real", real)),
            out: a.out,
            json: a.json.json,
            csv: a.csv,
            html: a.html.html,
            quiet: a.quiet.quiet,
            shard: a.shard.resolve(),
        }
    }
}
