//! Model conversion without Python: PyTorch checkpoints read natively
//! ([`checkpoint`]), their weights as one [`StateDict`], and ONNX graphs of
//! the architectures the tool knows built from it ([`onnx`], [`inception`]),
//! each written with the manifest the Python exporter in `models/` writes.
//! Those exporters stay as the independent reference this path is tested
//! against.

pub mod checkpoint;
pub mod inception;
pub mod onnx;
mod output;
pub mod stand_in;
mod state;

use std::path::Path;
use std::str::FromStr;

pub use checkpoint::read_checkpoint;
pub use inception::{ClassifierOptions, InceptionKind, InputMap, Variant};
pub use output::Converted;
pub use state::{ConvertError, StateDict, Tensor, TensorData};

/// What a checkpoint holds, hence the graph and manifest it becomes (`--kind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// An Inception-v3: `fid`, `imagenet` or `classifier`.
    Inception(InceptionKind),
}

impl ModelKind {
    /// The names `--kind` takes, in the order help lists them.
    pub const NAMES: [&'static str; 3] = ["fid", "imagenet", "classifier"];
}

impl FromStr for ModelKind {
    type Err = String;

    /// A kind by name, with the Python exporter's defaults for its options.
    fn from_str(name: &str) -> Result<ModelKind, String> {
        match name {
            "fid" => Ok(ModelKind::Inception(InceptionKind::Fid)),
            "imagenet" => Ok(ModelKind::Inception(InceptionKind::Imagenet(
                InputMap::default(),
            ))),
            "classifier" => Ok(ModelKind::Inception(InceptionKind::Classifier(
                ClassifierOptions::default(),
            ))),
            other => Err(format!(
                "unknown kind `{}`; use one of {}",
                other.escape_debug(),
                ModelKind::NAMES.join(", ")
            )),
        }
    }
}

/// Converts the weights in `weights` to the graph of `kind`, written to `out`
/// (`.onnx`) with its manifest beside it (`.toml`). Weights that do not fit
/// are refused in one message naming the file and every key at fault;
/// nothing is written then.
pub fn convert(
    weights: &StateDict,
    kind: &ModelKind,
    out: &Path,
) -> Result<Converted, ConvertError> {
    match kind {
        ModelKind::Inception(kind) => inception::convert(weights, kind, out),
    }
}
