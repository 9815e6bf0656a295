//! An image model as scoring uses it: how images are fed to it under the
//! scoring protocol, which output holds the pool features, which the IS
//! logits, and its provenance.

use anyhow::Context;

use super::metric::Needs;
use super::options::IsOptions;
use super::report::ModelProvenance;
use crate::features::{Extractor, ProtocolSetup};
use crate::models::OutputKind;
use crate::options::ImageOptions;

/// The outputs one pass fetches, and where the pool and logits are among them.
pub(super) struct Outputs {
    pub(super) names: Vec<String>,
    pub(super) pool: Option<usize>,
    pub(super) logits: Option<usize>,
}

impl Outputs {
    pub(super) fn names(&self) -> Vec<&str> {
        self.names.iter().map(String::as_str).collect()
    }
}

/// How `model` is fed under the run's `--protocol` (default: its manifest's)
/// and `--resize` (which replaces only the protocol's resize).
pub(super) fn setup(model: &Extractor, images: &ImageOptions) -> anyhow::Result<ProtocolSetup> {
    Ok(model.setup(images.protocol.as_ref(), images.resize)?)
}

/// The outputs `needs` asks of `model` fed as `setup` says: the pool output
/// for statistics or vectors, the logits for IS.
pub(super) fn outputs(
    model: &Extractor,
    setup: &ProtocolSetup,
    needs: Needs,
    is: &IsOptions,
) -> anyhow::Result<Outputs> {
    let mut names = Vec::new();
    let mut pool = None;
    let mut logits = None;
    if needs.pool_output() {
        pool = Some(names.len());
        names.push(pool_output(model)?);
    }
    if needs.logits {
        logits = Some(names.len());
        names.push(logits_output(model, setup, is)?);
    }
    Ok(Outputs {
        names,
        pool,
        logits,
    })
}

pub(super) fn pool_output(model: &Extractor) -> anyhow::Result<String> {
    model
        .output_of_kind(OutputKind::Pool)
        .map(str::to_string)
        .with_context(|| {
            format!(
                "model {} has no pool output; FID, KID and PRDC need one",
                model.path().display()
            )
        })
}

/// The output IS reads: the flag, else the protocol's (or the manifest's)
/// choice, else unbiased logits, else logits.
fn logits_output(
    model: &Extractor,
    setup: &ProtocolSetup,
    is: &IsOptions,
) -> anyhow::Result<String> {
    let name = is
        .logits
        .clone()
        .or_else(|| setup.is.logits.clone())
        .or_else(|| {
            model
                .output_of_kind(OutputKind::LogitsUnbiased)
                .map(str::to_string)
        })
        .or_else(|| model.output_of_kind(OutputKind::Logits).map(str::to_string))
        .with_context(|| {
            format!(
                "model {} has no logits output; IS needs one (--logits NAME)",
                model.path().display()
            )
        })?;
    model.require_output(&name)?;
    Ok(name)
}

/// Which model ran, exactly, and under which protocol.
pub(super) fn provenance(model: &Extractor, setup: &ProtocolSetup) -> ModelProvenance {
    ModelProvenance {
        path: model.path().display().to_string(),
        name: model.manifest().name.clone(),
        sha256: model.sha256().to_string(),
        protocol: Some(setup.protocol.to_string()),
    }
}
