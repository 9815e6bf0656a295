//! `curve`: training curves over the checkpoints of a run.

use std::path::PathBuf;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};

use super::flags::{ImageArgs, QuietArg, ScoringArgs, ScoringRuntimeArgs, ShardArg};
use super::generation::DrawArgs;
use stackgan_eval::app::CurveCommand;
use stackgan_eval::convert::StackganKind;
use stackgan_eval::curve::CurveConfig;
use stackgan_eval::scoring::Input;

#[derive(Debug, Args)]
pub struct CurveArgs {
    /// The checkpoints: quoted glob patterns ('runs/netG_*.pth'), folders or files; .onnx generators with their manifests, or .pth/.pt/.zip PyTorch checkpoints (give --kind). The iteration is the last number in each file name.
    #[arg(long, required = true, num_args = 1..)]
    pub checkpoints: Vec<PathBuf>,
    /// What the PyTorch checkpoints hold, as `models convert --kind`; they are converted once into OUT/converted/.
    #[arg(long,
          value_parser = PossibleValuesParser::new(StackganKind::NAMES).try_map(|s| s.parse::<StackganKind>()))]
    pub kind: Option<StackganKind>,
    /// Folder for curve.csv, curve.json, the plots, and the kept rows (rows/) a later run resumes from.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub draw: DrawArgs,
    /// Reference set for FID, KID and PRDC: image folder, statistics .npz or feature file.
    #[arg(long)]
    pub real: Option<PathBuf>,
    #[command(flatten)]
    pub scoring: ScoringArgs,
    #[command(flatten)]
    pub shard: ShardArg,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub images: ImageArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<CurveArgs> for CurveCommand {
    fn from(a: CurveArgs) -> Self {
        CurveCommand {
            exec: a.runtime.into(),
            images: a.images.into(),
            curve: CurveConfig {
                checkpoints: a.checkpoints,
                kind: a.kind,
                scoring: a.scoring.into(),
                job: a.draw.into(),
                real: a.real.map(|real| Input::new("--real", real)),
            },
            shard: a.shard.resolve(),
            out: a.out,
            quiet: a.quiet.quiet,
        }
    }
}
