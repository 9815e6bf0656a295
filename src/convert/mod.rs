//! Model conversion without Python: PyTorch checkpoints read natively
//! ([`checkpoint`]), their weights as one [`StateDict`], and ONNX graphs of
//! the architectures the tool knows built from it ([`onnx`], [`inception`],
//! [`stackgan`]),
//! each written with the manifest the Python exporter in `models/` writes.
//! Those exporters stay as the independent reference this path is tested
//! against.

pub mod checkpoint;
pub mod inception;
pub mod onnx;
mod output;
pub mod stackgan;
pub mod stand_in;
mod state;

use std::path::Path;
use std::str::FromStr;

pub use checkpoint::read_checkpoint;
pub use inception::{ClassifierOptions, InceptionKind, InputMap, Variant};
pub use output::Converted;
pub use stackgan::StackganKind;
pub use state::{ConvertError, StateDict, Tensor, TensorData};

/// What a checkpoint holds, hence the graph and manifest it becomes (`--kind`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// An Inception-v3: `fid`, `imagenet` or `classifier`.
    Inception(InceptionKind),
    /// A StackGAN generator: `v2-birds`, `v2-uncond`, `v1-stage1` or `v1-stage2`.
    Stackgan(StackganKind),
}

impl ModelKind {
    /// The names `--kind` takes, in the order help lists them.
    pub const NAMES: [&'static str; 7] = [
        "fid",
        "imagenet",
        "classifier",
        "v2-birds",
        "v2-uncond",
        "v1-stage1",
        "v1-stage2",
    ];

    /// The `--kind` name.
    pub fn name(&self) -> &'static str {
        match self {
            ModelKind::Inception(kind) => kind.name(),
            ModelKind::Stackgan(kind) => kind.name(),
        }
    }
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
            other => match other.parse::<StackganKind>() {
                Ok(kind) => Ok(ModelKind::Stackgan(kind)),
                Err(_) => Err(format!(
                    "unknown kind `{}`; use one of {}",
                    other.escape_debug(),
                    ModelKind::NAMES.join(", ")
                )),
            },
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
        ModelKind::Stackgan(kind) => stackgan::convert(weights, *kind, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_name_parses_back_to_itself() {
        for name in ModelKind::NAMES {
            let kind: ModelKind = name.parse().unwrap();
            assert_eq!(kind.name(), name);
        }
        let names = ModelKind::NAMES[3..].to_vec();
        assert_eq!(names, StackganKind::NAMES);
        let error = "v3".parse::<ModelKind>().unwrap_err();
        assert!(
            error.contains("v2-birds, v2-uncond, v1-stage1, v1-stage2"),
            "{error}"
        );
    }
}
