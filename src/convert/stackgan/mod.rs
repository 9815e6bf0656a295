//! The four StackGAN generator families built natively from their released
//! checkpoints — the graphs `models/export_stackgan.py` exports, with the
//! same input and output names and the same manifest:
//!
//! | kind | checkpoint | inputs | outputs |
//! |---|---|---|---|
//! | `v2-birds` | StackGAN-v2 conditional `G_NET` | `z`, `text_embedding`, `eps` | `img64`, `img128`, `img256`, `mu`, `logvar` |
//! | `v2-uncond` | StackGAN-v2 unconditional | `z` | `img64`, `img128`, `img256` |
//! | `v1-stage1` | v1 port `STAGE1_G` (or the one nested in a Stage-II file) | `text_embedding`, `z`, `eps1` | `img64`, `mu`, `logvar` |
//! | `v1-stage2` | v1 port `STAGE2_G` | `text_embedding`, `z`, `eps1`, `eps2` | `img64`, `img256`, `mu`, `logvar` |
//!
//! Widths come from the tensor shapes (`widths.rs`); fewer branches give
//! fewer images. The conditioning noise upstream draws inside `CA_NET`
//! is an input, so the graph is deterministic; BatchNorm runs in eval mode
//! (running statistics). Keys are those of the releases once the reader has
//! dropped `module.`; every missing, unexpected or misshapen tensor is
//! reported at once, and a checkpoint of another family is told which
//! `--kind` it is.

mod blocks;
mod manifest;
mod v1;
mod v2;
mod widths;

use std::path::Path;

use super::onnx::{GraphBuilder, OnnxModel};
use super::output::{Converted, check_target, write_model};
use super::{ConvertError, StateDict};
use crate::spelling::spelt_enum;

pub use manifest::Widths;
pub use widths::{V1Widths, V2Widths};

/// Where a v1 Stage-II checkpoint keeps its Stage-I.
const STAGE1_PREFIX: &str = "STAGE1_G.";

spelt_enum! {
    /// A StackGAN generator family, spelt as the exporter's `--config`.
    pub enum StackganKind ("StackGAN generator kind") {
        /// StackGAN-v2 conditional (the CUB birds release).
        V2Birds = "v2-birds",
        /// StackGAN-v2 unconditional (LSUN, ImageNet dog and cat).
        V2Uncond = "v2-uncond",
        /// StackGAN-v1 Stage-I (PyTorch port).
        V1Stage1 = "v1-stage1",
        /// StackGAN-v1 Stage-I + Stage-II.
        V1Stage2 = "v1-stage2",
    }
}

impl StackganKind {
    /// The family a state dict's keys look like, if any: `h_net1.*` is
    /// StackGAN-v2 (conditional with `ca_net.*`), `STAGE1_G.*` v1 Stage-II,
    /// `fc.0.*` with `ca_net.*` v1 Stage-I.
    pub fn recognise(weights: &StateDict) -> Option<StackganKind> {
        let has = |prefix: &str| weights.tensors.keys().any(|k| k.starts_with(prefix));
        if has("h_net1.") {
            Some(if has("ca_net.") {
                StackganKind::V2Birds
            } else {
                StackganKind::V2Uncond
            })
        } else if widths::nests_stage1(weights) {
            Some(StackganKind::V1Stage2)
        } else if has("fc.0.") && has("ca_net.") {
            Some(StackganKind::V1Stage1)
        } else {
            None
        }
    }

    /// Whether this kind's graph can be made from a checkpoint of `family`
    /// (a Stage-II file also holds a whole Stage-I).
    fn accepts(self, family: StackganKind) -> bool {
        self == family || (self, family) == (StackganKind::V1Stage1, StackganKind::V1Stage2)
    }
}

/// Converts a StackGAN generator checkpoint of `kind` to `out` (`.onnx`)
/// and its generator manifest (`.toml`), as `models/export_stackgan.py
/// --config` does; the manifest's name is the file's stem.
pub fn convert(
    weights: &StateDict,
    kind: StackganKind,
    out: &Path,
) -> Result<Converted, ConvertError> {
    check_target(out)?;
    let (model, widths, signature) = build_with_signature(weights, kind)?;
    let name = out.file_stem().unwrap_or_default().to_string_lossy();
    let file_name = weights.source.file_name().unwrap_or_default();
    let mut manifest = manifest::manifest(
        kind,
        &widths,
        signature,
        &name,
        &file_name.to_string_lossy(),
    );
    write_model(out, &model, |sha256| {
        manifest.onnx_sha256 = sha256.to_string();
        toml::to_string(&manifest).map_err(|e| ConvertError::Write {
            path: crate::models::manifest_path(out),
            reason: format!("cannot write the manifest: {e}"),
        })
    })
}

/// The graph of `kind`'s generator with the widths read from `weights`.
pub fn build(weights: &StateDict, kind: StackganKind) -> Result<OnnxModel, ConvertError> {
    build_with_signature(weights, kind).map(|(model, _, _)| model)
}

/// The widths `kind`'s generator has in `weights`, after checking the
/// checkpoint is of that family.
pub fn widths(weights: &StateDict, kind: StackganKind) -> Result<Widths, ConvertError> {
    if let Some(family) = StackganKind::recognise(weights)
        && !kind.accepts(family)
    {
        return Err(ConvertError::Checkpoint {
            path: weights.source.clone(),
            reason: format!("holds a {family} generator, not a {kind} one; use --kind {family}"),
        });
    }
    Ok(match kind {
        StackganKind::V2Birds => Widths::V2(V2Widths::read(weights, true)?),
        StackganKind::V2Uncond => Widths::V2(V2Widths::read(weights, false)?),
        StackganKind::V1Stage1 => Widths::V1 {
            stage1: V1Widths::stage1(weights, stage1_prefix(weights, kind))?,
            stage2: None,
        },
        StackganKind::V1Stage2 => {
            let stage1 = V1Widths::stage1(weights, STAGE1_PREFIX)?;
            let stage2 = V1Widths::stage2(weights, &stage1)?;
            Widths::V1 {
                stage1,
                stage2: Some(stage2),
            }
        }
    })
}

fn build_with_signature(
    weights: &StateDict,
    kind: StackganKind,
) -> Result<(OnnxModel, Widths, blocks::Signature), ConvertError> {
    let widths = widths(weights, kind)?;
    let prefix = stage1_prefix(weights, kind);
    let mut g = GraphBuilder::new(weights);
    let signature = network(&mut g, &widths, prefix);
    // A Stage-I graph made from a Stage-II file uses its STAGE1_G part only.
    let part = if kind == StackganKind::V1Stage1 {
        prefix
    } else {
        ""
    };
    let ignore = |key: &str| key.ends_with("num_batches_tracked") || !key.starts_with(part);
    let model = g.finish(&architecture(kind, &widths), ignore)?;
    Ok((model, widths, signature))
}

/// The generator of `widths`, a v1 Stage-I's keys under `stage1_prefix`.
fn network(g: &mut GraphBuilder, widths: &Widths, stage1_prefix: &str) -> blocks::Signature {
    match widths {
        Widths::V2(w) => v2::network(g, w),
        Widths::V1 { stage1, stage2 } => v1::network(g, stage1, stage1_prefix, stage2.as_ref()),
    }
}

/// The weights the generator of `widths` reads, with their shapes, in the
/// order it reads them (a Stage-II's Stage-I under `STAGE1_G.`): the layout
/// of its checkpoint, less `num_batches_tracked`.
pub fn layout(widths: &Widths) -> Vec<(String, Vec<usize>)> {
    let prefix = match widths {
        Widths::V1 {
            stage2: Some(_), ..
        } => STAGE1_PREFIX,
        _ => "",
    };
    let empty = StateDict::default();
    let mut g = GraphBuilder::new(&empty);
    network(&mut g, widths, prefix);
    g.layout().to_vec()
}

/// Where the Stage-I keys of a v1 graph are: under `STAGE1_G.` in a
/// Stage-II file, at the top in a Stage-I file.
fn stage1_prefix(weights: &StateDict, kind: StackganKind) -> &'static str {
    match kind {
        StackganKind::V1Stage2 => STAGE1_PREFIX,
        StackganKind::V1Stage1 if widths::nests_stage1(weights) => STAGE1_PREFIX,
        _ => "",
    }
}

/// The network's name in messages and in the graph, with its widths.
fn architecture(kind: StackganKind, widths: &Widths) -> String {
    match widths {
        Widths::V2(w) => format!(
            "StackGAN-v2 G_NET ({}; GF_DIM {}, Z_DIM {}, EMBEDDING_DIM {}, TEXT_DIM {}, R_NUM {}, BRANCH_NUM {})",
            if w.conditional {
                "conditional"
            } else {
                "unconditional"
            },
            w.gf_dim,
            w.z_dim,
            w.embedding_dim,
            w.text_dim,
            w.r_num,
            w.branch_num
        ),
        Widths::V1 { stage1, stage2 } => {
            let stage = |name: &str, w: &V1Widths| {
                format!(
                    "{name} (GF_DIM {}, Z_DIM {}, CONDITION_DIM {}, TEXT_DIM {}, R_NUM {})",
                    w.gf_dim, w.z_dim, w.condition_dim, w.text_dim, w.r_num
                )
            };
            match stage2 {
                None => format!("StackGAN-v1 {} ({kind})", stage("STAGE1_G", stage1)),
                Some(stage2) => format!(
                    "StackGAN-v1 {} with {}",
                    stage("STAGE2_G", stage2),
                    stage("STAGE1_G", stage1)
                ),
            }
        }
    }
}
