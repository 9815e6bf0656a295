//! `fid`, `is`, `kid`, `score`, `stats`, `extract`: the commands that score
//! or describe image sets.

use std::path::PathBuf;

use clap::Args;

use super::flags::{
    BootstrapArgs, ExtractorArg, ImageArgs, IsArgs, JsonArg, KidArgs, QuietArg, ScoringArgs,
    ScoringRuntimeArgs, ShardArg,
};
use stackgan_eval::app::{ExtractCommand, ScoreCommand, StatsCommand};
use stackgan_eval::metrics::KidConfig;
use stackgan_eval::scoring::{Input, Metric, ScoringOptions};

/// Flags every scoring command shares: how it runs, how images are read, where results go.
#[derive(Debug, Args)]
pub struct ScoreRunArgs {
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub json: JsonArg,
    #[command(flatten)]
    pub quiet: QuietArg,
    #[command(flatten)]
    pub shard: ShardArg,
}

impl ScoreRunArgs {
    fn command(self, scoring: ScoringOptions, real: Option<Input>, fake: Input) -> ScoreCommand {
        ScoreCommand {
            exec: self.runtime.into(),
            images: self.images.into(),
            scoring,
            real,
            fake,
            json: self.json.json,
            quiet: self.quiet.quiet,
            shard: self.shard.resolve(),
        }
    }
}

/// Two sets to compare, and the model that turns image folders into features.
#[derive(Debug, Args)]
pub struct SetsArgs {
    /// Reference set: image folder, statistics .npz (mu, sigma; FID only) or feature file.
    #[arg(long)]
    pub real: PathBuf,
    /// Evaluated set: image folder, statistics .npz (FID only) or feature file.
    #[arg(long)]
    pub fake: PathBuf,
    #[command(flatten)]
    pub extractor: ExtractorArg,
}

impl SetsArgs {
    /// `metric` between the two sets; `kid` holds the KID settings.
    fn command(
        self,
        metric: Metric,
        kid: KidConfig,
        bootstrap: BootstrapArgs,
        run: ScoreRunArgs,
    ) -> ScoreCommand {
        let scoring = ScoringOptions {
            metrics: vec![metric],
            extractor: self.extractor.extractor,
            kid,
            bootstrap: bootstrap.into(),
            ..ScoringOptions::default()
        };
        let real = Input::new("--real", self.real);
        run.command(scoring, Some(real), Input::new("--fake", self.fake))
    }
}

#[derive(Debug, Args)]
pub struct FidArgs {
    #[command(flatten)]
    pub sets: SetsArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub run: ScoreRunArgs,
}

impl From<FidArgs> for ScoreCommand {
    fn from(a: FidArgs) -> Self {
        a.sets
            .command(Metric::Fid, KidConfig::default(), a.bootstrap, a.run)
    }
}

#[derive(Debug, Args)]
pub struct IsCommandArgs {
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
    /// Classifier model (its manifest names the logits and any background column) [default: pytorch-fid's FID Inception from the model cache, fetched on first use].
    #[arg(long, visible_alias = "extractor")]
    pub classifier: Option<PathBuf>,
    #[command(flatten)]
    pub is: IsArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub run: ScoreRunArgs,
}

impl From<IsCommandArgs> for ScoreCommand {
    fn from(a: IsCommandArgs) -> Self {
        let scoring = ScoringOptions {
            metrics: vec![Metric::Is],
            extractor: a.classifier,
            is: a.is.into(),
            bootstrap: a.bootstrap.into(),
            ..ScoringOptions::default()
        };
        // clap requires one of the two.
        let fake = match (a.images, a.features) {
            (Some(images), _) => Input::new("--images", images),
            (None, features) => Input::new("--features", features.unwrap_or_default()),
        };
        a.run.command(scoring, None, fake)
    }
}

#[derive(Debug, Args)]
pub struct KidCommandArgs {
    #[command(flatten)]
    pub sets: SetsArgs,
    #[command(flatten)]
    pub kid: KidArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub run: ScoreRunArgs,
}

impl From<KidCommandArgs> for ScoreCommand {
    fn from(a: KidCommandArgs) -> Self {
        a.sets
            .command(Metric::Kid, a.kid.into(), a.bootstrap, a.run)
    }
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Reference set (FID, KID, PRDC): image folder, statistics .npz or feature file.
    #[arg(long)]
    pub real: Option<PathBuf>,
    /// Evaluated set: image folder, statistics .npz or feature file.
    #[arg(long)]
    pub fake: PathBuf,
    #[command(flatten)]
    pub scoring: ScoringArgs,
    #[command(flatten)]
    pub run: ScoreRunArgs,
}

impl From<ScoreArgs> for ScoreCommand {
    fn from(a: ScoreArgs) -> Self {
        let real = a.real.map(|real| Input::new("--real", real));
        a.run
            .command(a.scoring.into(), real, Input::new("--fake", a.fake))
    }
}

/// `stats` and `extract`: a folder through the extractor into a file.
#[derive(Debug, Args)]
pub struct FolderArgs {
    /// The image folder (searched recursively).
    #[arg(long)]
    pub images: PathBuf,
    #[command(flatten)]
    pub extractor: ExtractorArg,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
    #[command(flatten)]
    pub shard: ShardArg,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub folder: FolderArgs,
    /// Output .npz with mu, sigma (float64) and count.
    #[arg(long)]
    pub out: PathBuf,
}

impl From<StatsArgs> for StatsCommand {
    fn from(a: StatsArgs) -> Self {
        let f = a.folder;
        StatsCommand {
            exec: f.runtime.into(),
            images: f.image_args.into(),
            extractor: f.extractor.extractor,
            folder: f.images,
            out: a.out,
            quiet: f.quiet.quiet,
            shard: f.shard.resolve(),
        }
    }
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub folder: FolderArgs,
    /// Output .npz (all outputs and file names) or .npy (pool features only).
    #[arg(long)]
    pub out: PathBuf,
}

impl From<ExtractArgs> for ExtractCommand {
    fn from(a: ExtractArgs) -> Self {
        let f = a.folder;
        ExtractCommand {
            exec: f.runtime.into(),
            images: f.image_args.into(),
            extractor: f.extractor.extractor,
            folder: f.images,
            out: a.out,
            quiet: f.quiet.quiet,
            shard: f.shard.resolve(),
        }
    }
}
