//! Float32 → float16 conversion of an ONNX model, for `--precision fp16`.
//!
//! Hand-written because no Rust crate converts ONNX graphs to float16 (the
//! usual tool is Python's onnxconverter-common, which the tests use as the
//! independent reference). It takes the bytes of any model the tool runs
//! (torch.onnx exports, or the graphs `src/convert` builds) and returns a
//! model that computes in half precision but looks the same from outside:
//!
//! - Weights, constants and every float value computed from the inputs'
//!   data are float16 (`plan.rs` says which values those are).
//! - Inputs and outputs stay float32 under their names: a `Cast` follows each
//!   float input and precedes each float output, so manifests, signatures
//!   and the rest of the pipeline are unchanged.
//! - Values that do not depend on the inputs' data stay float32: shape
//!   arithmetic (`Shape → Cast → Mul → Cast → Reshape`, exact only in
//!   float32 past 2048), `Resize` scales (which ONNX requires to be
//!   float32) and the constants that feed only them. They cost nothing.
//! - Attributes (BatchNormalization's `epsilon`, …) are not tensors and stay.
//! - Finite numbers beyond float16's range (±65504) are clipped to it, not
//!   turned into infinities, and counted in [`Float16Model::clipped`]: such
//!   numbers are mask constants (−1e9) far more often than weights, where
//!   ±65504 keeps their meaning; a run reports the clip next to the drift it
//!   measures against float32, so a harmful clip shows there. Rounding is
//!   the `half` crate's round-to-nearest-even, numpy's `astype(float16)`.
//!
//! What it cannot convert faithfully it refuses in one line naming the model:
//! subgraphs (`If`, `Loop`, `Scan`), model-local functions, weights in
//! external files, sparse initializers, quantization annotations, training
//! information, and any file that would not decode and encode back to the
//! very same bytes (fields this crate does not know would be dropped).

mod plan;
mod rewrite;
mod types;
mod values;

use std::path::{Path, PathBuf};

use prost::Message;

use super::proto::{DataLocation, ModelProto};

pub use values::{Clipped, f32_to_f16_clipped};

/// A converted model, ready for ONNX Runtime.
#[derive(Debug, Clone)]
pub struct Float16Model {
    /// The `.onnx` bytes of the float16 model.
    pub bytes: Vec<u8>,
    /// Float32 tensors (initializers and constants) now stored as float16.
    pub tensors_converted: usize,
    /// `Cast` nodes added at the boundaries between float16 and float32.
    pub casts_added: usize,
    /// Finite values beyond float16's range, clipped to ±65504.
    pub clipped: Clipped,
}

impl Float16Model {
    /// A warning line when values were clipped, naming the model.
    pub fn clip_note(&self, model: &Path) -> Option<String> {
        let c = &self.clipped;
        (c.values > 0).then(|| {
            format!(
                "{}: {} weight values beyond float16's range (largest magnitude {:.3e}, in {}) were clipped to ±65504 for --precision fp16",
                model.display(),
                c.values,
                c.largest,
                one_line(&c.tensors.join(", "))
            )
        })
    }
}

/// `text` with control characters escaped: names inside a model are
/// anyone's strings, and a message stays one line.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_debug().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Why a model cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum Float16Error {
    #[error(
        "{path} is not an ONNX model ({reason}); pass the .onnx file an exporter wrote (models/), or run with --precision fp32"
    )]
    NotOnnx { path: PathBuf, reason: String },
    #[error(
        "{path}: decoding and encoding the model again would change it ({detail}), so it holds fields or encodings the float16 conversion does not know and would drop; run it with --precision fp32 or tf32"
    )]
    NotLossless { path: PathBuf, detail: String },
    #[error(
        "{path}: {what}, which the float16 conversion does not handle; run this model with --precision fp32 or tf32"
    )]
    Unsupported { path: PathBuf, what: String },
}

/// Converts the model in `bytes` (read from `path`, which messages name).
pub fn to_float16(bytes: &[u8], path: &Path) -> Result<Float16Model, Float16Error> {
    let mut model = decode_losslessly(bytes, path)?;
    let unsupported = |what: String| Float16Error::Unsupported {
        path: path.to_path_buf(),
        what: one_line(&what),
    };
    refuse_unsupported(&model).map_err(unsupported)?;
    let Some(graph) = model.graph.as_mut() else {
        return Err(Float16Error::NotOnnx {
            path: path.to_path_buf(),
            reason: "it has no graph".into(),
        });
    };
    let plan = plan::Plan::of(graph).map_err(unsupported)?;
    let summary = rewrite::apply(graph, &plan).map_err(unsupported)?;
    Ok(Float16Model {
        bytes: model.encode_to_vec(),
        tensors_converted: summary.tensors_converted,
        casts_added: summary.casts_added,
        clipped: summary.clipped,
    })
}

/// The model decoded and encoded again without conversion: the same bytes
/// for every file [`to_float16`] accepts (tests check it on the exporters'
/// files and run both through ONNX Runtime).
pub fn reencoded(bytes: &[u8], path: &Path) -> Result<Vec<u8>, Float16Error> {
    decode(bytes, path).map(|model| model.encode_to_vec())
}

fn decode(bytes: &[u8], path: &Path) -> Result<ModelProto, Float16Error> {
    let not_onnx = |reason: String| Float16Error::NotOnnx {
        path: path.to_path_buf(),
        reason,
    };
    let model = ModelProto::decode(bytes).map_err(|e| not_onnx(e.to_string()))?;
    if model.graph.is_none() || model.ir_version.is_none() {
        return Err(not_onnx("no graph or no IR version".into()));
    }
    Ok(model)
}

/// Decodes `bytes` and checks that encoding gives them back: prost skips
/// fields it does not know, so this is what guarantees nothing is dropped.
fn decode_losslessly(bytes: &[u8], path: &Path) -> Result<ModelProto, Float16Error> {
    let model = decode(bytes, path)?;
    let again = model.encode_to_vec();
    if again != bytes {
        let at = again
            .iter()
            .zip(bytes)
            .position(|(a, b)| a != b)
            .unwrap_or(again.len().min(bytes.len()));
        return Err(Float16Error::NotLossless {
            path: path.to_path_buf(),
            detail: format!(
                "{} bytes become {}, first difference at byte {at}",
                bytes.len(),
                again.len()
            ),
        });
    }
    Ok(model)
}

/// The first construct the conversion cannot handle, in words.
fn refuse_unsupported(model: &ModelProto) -> Result<(), String> {
    if !model.functions.is_empty() {
        return Err(format!(
            "the model defines {} local function(s)",
            model.functions.len()
        ));
    }
    if !model.training_info.is_empty() {
        return Err("the model carries training information".into());
    }
    let Some(graph) = &model.graph else {
        return Ok(());
    };
    if !graph.sparse_initializer.is_empty() {
        return Err("the graph has sparse initializers".into());
    }
    if !graph.quantization_annotation.is_empty() {
        return Err("the graph has quantization annotations".into());
    }
    let external = DataLocation::External as i32;
    let is_external = |t: &super::proto::TensorProto| {
        t.data_location == Some(external) || !t.external_data.is_empty() || t.segment.is_some()
    };
    if let Some(t) = graph.initializer.iter().find(|t| is_external(t)) {
        return Err(format!(
            "initializer `{}` keeps its values in an external file or segments",
            t.name.as_deref().unwrap_or("")
        ));
    }
    for node in &graph.node {
        let name = node.name.as_deref().unwrap_or("");
        let op = node.op_type.as_deref().unwrap_or("");
        for attribute in &node.attribute {
            if attribute.g.is_some() || !attribute.graphs.is_empty() {
                return Err(format!("node `{name}` ({op}) holds a subgraph"));
            }
            if attribute.ref_attr_name.is_some() {
                return Err(format!(
                    "node `{name}` ({op}) refers to a function attribute"
                ));
            }
            let tensors = attribute.t.iter().chain(&attribute.tensors);
            if tensors.into_iter().any(is_external) {
                return Err(format!(
                    "node `{name}` ({op}) keeps a tensor in an external file"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
