//! `models fetch`, `models list`, `models convert`: weights fetched and
//! converted into the model cache, what the cache holds, and a checkpoint
//! converted to ONNX with its manifest.

use std::path::PathBuf;

use anyhow::Context;

use super::progress::Bars;
use crate::convert::{ModelKind, read_checkpoint};
use crate::models::{
    CachedModel, ExpectedSha256, Fetched, KnownWeights, ModelCache, WeightsSource, ensure,
};
use crate::report::target::check_file;

/// One of the `models` commands.
#[derive(Debug, Clone)]
pub enum ModelsCommand {
    Fetch(FetchCommand),
    List(ListCommand),
    Convert(ConvertCommand),
}

#[derive(Debug, Clone)]
pub struct FetchCommand {
    /// The known weights' name (`fid-inception`).
    pub model: String,
    /// A mirror, over `STACKGAN_EVAL_WEIGHTS_URL`.
    pub url: Option<String>,
    /// The expected hash, over `STACKGAN_EVAL_WEIGHTS_SHA256`.
    pub sha256: Option<ExpectedSha256>,
    /// A weight file on this machine instead of a download.
    pub from: Option<PathBuf>,
    pub quiet: bool,
}

#[derive(Debug, Clone)]
pub struct ListCommand {}

#[derive(Debug, Clone)]
pub struct ConvertCommand {
    pub checkpoint: PathBuf,
    pub kind: ModelKind,
    /// The `.onnx` to write; the manifest goes beside it.
    pub out: PathBuf,
    pub quiet: bool,
}

pub(super) fn run(command: &ModelsCommand) -> anyhow::Result<()> {
    match command {
        ModelsCommand::Fetch(command) => fetch(command),
        ModelsCommand::List(_) => list(),
        ModelsCommand::Convert(command) => convert(command),
    }
}

fn fetch(command: &FetchCommand) -> anyhow::Result<()> {
    let known = KnownWeights::by_name(&command.model).with_context(|| {
        format!(
            "no known weights called {}; fetch one of {}",
            command.model.escape_debug(),
            KnownWeights::names().join(", ")
        )
    })?;
    let mut source = WeightsSource::from_env()?;
    source.url = command.url.clone().or(source.url);
    source.sha256 = command.sha256.clone().or(source.sha256);
    source.from = command.from.clone();
    let cache = ModelCache::from_env()?;
    let fetched = ensure(&known, &source, &cache, &Bars::new(command.quiet))?;
    if !command.quiet {
        let state = match &fetched {
            Fetched::Cached(_) => "already cached, nothing downloaded",
            Fetched::New(_) => "fetched, checked and converted",
        };
        println!("{}: {state}", known.name);
        println!("{}", describe(fetched.model()));
    }
    Ok(())
}

fn list() -> anyhow::Result<()> {
    let cache = ModelCache::from_env()?;
    let models = cache.list()?;
    println!("model cache {}", cache.root().display());
    if models.is_empty() {
        println!(
            "  empty; `stackgan-eval models fetch {}` fills it (any command that reads images without --extractor does so on first use)",
            KnownWeights::names().join("|")
        );
    }
    for model in &models {
        println!("{}", describe(model));
    }
    Ok(())
}

/// A cached model in a few lines: what it is, its hash and size, what it was made from.
fn describe(model: &CachedModel) -> String {
    let r = &model.record;
    format!(
        "{}  {}\n  onnx     sha256 {}  {}\n  weights  {}  sha256 {}  {}\n  from     {} (stackgan-eval {})",
        r.model,
        model.onnx.display(),
        r.onnx_sha256,
        size(r.onnx_bytes),
        r.weights,
        r.weights_sha256,
        size(r.weights_bytes),
        r.source,
        r.tool_version
    )
}

/// Bytes, and megabytes for the reader.
fn size(bytes: u64) -> String {
    format!("{bytes} bytes ({:.1} MB)", bytes as f64 / 1e6)
}

fn convert(command: &ConvertCommand) -> anyhow::Result<()> {
    check_file("--out", &command.out)?;
    if command.out.extension().is_none_or(|e| e != "onnx") {
        anyhow::bail!(
            "--out {}: the converted model's name must end in .onnx (its manifest goes beside it as .toml)",
            command.out.display()
        );
    }
    let weights = read_checkpoint(&command.checkpoint)?;
    let converted = crate::convert::convert(&weights, &command.kind, &command.out)?;
    if !command.quiet {
        println!(
            "wrote {} (sha256 {}, {}) and its manifest {}",
            converted.onnx.display(),
            converted.sha256,
            size(converted.bytes),
            converted.manifest.display()
        );
    }
    Ok(())
}
