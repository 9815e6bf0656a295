//! `models fetch`, `models list`, `models convert`: the model cache and the
//! conversion of PyTorch checkpoints without Python.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};

use super::flags::QuietArg;
use stackgan_eval::app::{ConvertCommand, FetchCommand, ListCommand, ModelsCommand};
use stackgan_eval::convert::ModelKind;
use stackgan_eval::models::{ExpectedSha256, KnownWeights};

#[derive(Debug, Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    pub command: ModelsSubcommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelsSubcommand {
    /// Download published weights (pytorch-fid's FID Inception), check their SHA-256, convert and cache them.
    Fetch(FetchArgs),
    /// What the model cache holds, with hashes and sizes, and where it is.
    List(ListArgs),
    /// Convert a PyTorch checkpoint to ONNX (M.onnx, with its manifest M.toml beside it), without Python.
    Convert(ConvertArgs),
}

impl From<ModelsArgs> for ModelsCommand {
    fn from(a: ModelsArgs) -> Self {
        match a.command {
            ModelsSubcommand::Fetch(a) => ModelsCommand::Fetch(a.into()),
            ModelsSubcommand::List(a) => ModelsCommand::List(a.into()),
            ModelsSubcommand::Convert(a) => ModelsCommand::Convert(a.into()),
        }
    }
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The weights to fetch.
    #[arg(value_parser = PossibleValuesParser::new(KnownWeights::names()))]
    pub model: String,
    /// Download from this address instead: a mirror [default: STACKGAN_EVAL_WEIGHTS_URL, else the publisher's address].
    #[arg(long)]
    pub url: Option<String>,
    /// The SHA-256 the file must have: 64 hex digits or the first 8 or more [default: STACKGAN_EVAL_WEIGHTS_SHA256, else the digits in the file's name].
    #[arg(long, value_parser = |s: &str| s.parse::<ExpectedSha256>())]
    pub sha256: Option<ExpectedSha256>,
    /// Read the weights from this file instead of downloading them (for machines without internet).
    #[arg(long, conflicts_with = "url")]
    pub from: Option<PathBuf>,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<FetchArgs> for FetchCommand {
    fn from(a: FetchArgs) -> Self {
        FetchCommand {
            model: a.model,
            url: a.url,
            sha256: a.sha256,
            from: a.from,
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct ListArgs {}

impl From<ListArgs> for ListCommand {
    fn from(_: ListArgs) -> Self {
        ListCommand {}
    }
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The PyTorch checkpoint (.pth/.pt, either serialisation torch.save has written, or a release zip holding one).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// What the checkpoint holds: fid (pytorch-fid's Inception), imagenet (torchvision's), classifier (a fine-tuned Inception-v3).
    #[arg(long,
          value_parser = PossibleValuesParser::new(ModelKind::NAMES).try_map(|s| s.parse::<ModelKind>()))]
    pub kind: ModelKind,
    /// The ONNX file to write; its manifest goes beside it (M.onnx → M.toml).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<ConvertArgs> for ConvertCommand {
    fn from(a: ConvertArgs) -> Self {
        ConvertCommand {
            checkpoint: a.checkpoint,
            kind: a.kind,
            out: a.out,
            quiet: a.quiet.quiet,
        }
    }
}
