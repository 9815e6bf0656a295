//! An image model as scoring uses it: which output holds the pool features,
//! which the IS logits, how images are prepared for it, and its provenance.

use anyhow::Context;

use super::metric::Needs;
use super::options::IsOptions;
use super::report::ModelProvenance;
use crate::features::Extractor;
use crate::images::{Preprocess, ResizeMode};
use crate::models::OutputKind;

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

/// The outputs `needs` asks of `model`: the pool output for statistics or
/// vectors, the logits for IS.
pub(super) fn outputs(model: &Extractor, needs: Needs, is: &IsOptions) -> anyhow::Result<Outputs> {
    let mut names = Vec::new();
    let mut pool = None;
    let mut logits = None;
    if needs.pool_output() {
        pool = Some(names.len());
        names.push(pool_output(model)?);
    }
    if needs.logits {
        logits = Some(names.len());
        names.push(logits_output(model, is)?);
    }
    Ok(Outputs {
        names,
        pool,
        logits,
    })
}

fn pool_output(model: &Extractor) -> anyhow::Result<String> {
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

/// The output IS reads: the flag, else the manifest's choice, else unbiased logits, else logits.
fn logits_output(model: &Extractor, is: &IsOptions) -> anyhow::Result<String> {
    let manifest = model.manifest();
    let name = is
        .logits
        .clone()
        .or_else(|| {
            manifest
                .inception_score
                .as_ref()
                .and_then(|s| s.logits.clone())
        })
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

/// How images are prepared for `model`: the chosen resize mode, else its protocol's.
pub(super) fn preparation(
    model: &Extractor,
    resize: Option<ResizeMode>,
) -> anyhow::Result<(ResizeMode, Preprocess)> {
    let mode = model.resize_mode(resize)?;
    Ok((mode, model.preprocess(mode)))
}

/// The `[inception_score]` drop columns of the model's manifest, if it has that section.
pub(super) fn drop_columns(model: &Extractor) -> Option<Vec<usize>> {
    model
        .manifest()
        .inception_score
        .as_ref()
        .map(|s| s.drop_columns.clone())
}

pub(super) fn provenance(model: &Extractor) -> ModelProvenance {
    ModelProvenance {
        path: model.path().display().to_string(),
        name: model.manifest().name.clone(),
        sha256: model.sha256().to_string(),
        protocol: model.manifest().protocol.clone(),
    }
}
