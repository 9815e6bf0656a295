//! A model's named weights as a checkpoint holds them: the common ground of
//! the checkpoint readers (which fill it) and the graph builders (which take
//! tensors from it by name and shape). Values are kept row-major and
//! contiguous; floating-point tensors as float32 (the graphs run in float32),
//! integer tensors (BatchNorm's `num_batches_tracked`) as int64.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::npy::shape_text;

/// Why a checkpoint cannot be converted; each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("{path}: {reason}")]
    Checkpoint { path: PathBuf, reason: String },
    #[error("{path}: no tensor `{key}`; {hint}")]
    MissingKey {
        path: PathBuf,
        key: String,
        hint: String,
    },
    #[error(
        "{path}: `{key}` has shape {found}, expected {expected}; is this checkpoint of the --kind given?"
    )]
    Shape {
        path: PathBuf,
        key: String,
        found: String,
        expected: String,
    },
    /// A converted model or its manifest could not be written.
    #[error("{path}: {reason}")]
    Write { path: PathBuf, reason: String },
    /// Everything that keeps the weights from fitting an architecture, at once.
    #[error(
        "{path}: the weights do not fit {architecture} ({problems}); is this checkpoint of the --kind given?"
    )]
    Layout {
        path: PathBuf,
        architecture: String,
        problems: String,
    },
}

/// The values of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// float16, bfloat16, float32 and float64 tensors, as float32.
    Float(Vec<f32>),
    /// Integer and boolean tensors, as int64.
    Int(Vec<i64>),
}

/// One named tensor: its shape, values (row-major) and stored dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: TensorData,
    /// The dtype the file stored (`float32`, `float16`, `int64`, …).
    pub stored_as: String,
}

impl Tensor {
    /// Number of elements the shape holds.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Named tensors read from one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateDict {
    /// The file they came from, for messages.
    pub source: PathBuf,
    pub tensors: BTreeMap<String, Tensor>,
}

impl StateDict {
    pub fn new(source: &Path) -> StateDict {
        StateDict {
            source: source.to_path_buf(),
            tensors: BTreeMap::new(),
        }
    }

    /// Drops `prefix` from every key that starts with it (`module.`, the
    /// multi-GPU wrapper's prefix that StackGAN's releases carry).
    pub fn strip_prefix(&mut self, prefix: &str) {
        let tensors = std::mem::take(&mut self.tensors);
        self.tensors = tensors
            .into_iter()
            .map(|(key, tensor)| match key.strip_prefix(prefix) {
                Some(rest) => (rest.to_string(), tensor),
                None => (key, tensor),
            })
            .collect();
    }

    /// The tensor called `key`, or an error naming the file and the key.
    pub fn get(&self, key: &str) -> Result<&Tensor, ConvertError> {
        self.tensors
            .get(key)
            .ok_or_else(|| ConvertError::MissingKey {
                path: self.source.clone(),
                key: key.to_string(),
                hint: "is this checkpoint of the --kind given?".into(),
            })
    }

    /// The float values of `key`, checked to have `shape`.
    pub fn floats(&self, key: &str, shape: &[usize]) -> Result<&[f32], ConvertError> {
        let tensor = self.get(key)?;
        if tensor.shape != shape {
            return Err(ConvertError::Shape {
                path: self.source.clone(),
                key: key.to_string(),
                found: shape_text(&tensor.shape),
                expected: shape_text(shape),
            });
        }
        match &tensor.data {
            TensorData::Float(values) => Ok(values),
            TensorData::Int(_) => Err(ConvertError::Checkpoint {
                path: self.source.clone(),
                reason: format!(
                    "`{key}` holds {} values where weights are floating point; is this checkpoint of the --kind given?",
                    tensor.stored_as
                ),
            }),
        }
    }

    /// The shape of `key`, for architectures whose widths are read from the weights.
    pub fn shape(&self, key: &str) -> Result<&[usize], ConvertError> {
        Ok(&self.get(key)?.shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dict() -> StateDict {
        let mut dict = StateDict::new(Path::new("netG.pth"));
        dict.tensors.insert(
            "module.fc.weight".into(),
            Tensor {
                shape: vec![2, 3],
                data: TensorData::Float(vec![0.0; 6]),
                stored_as: "float32".into(),
            },
        );
        dict.tensors.insert(
            "bn.num_batches_tracked".into(),
            Tensor {
                shape: vec![],
                data: TensorData::Int(vec![7]),
                stored_as: "int64".into(),
            },
        );
        dict
    }

    #[test]
    fn keys_shapes_and_kinds_are_checked_naming_the_file() {
        let mut dict = dict();
        dict.strip_prefix("module.");
        assert_eq!(dict.floats("fc.weight", &[2, 3]).unwrap().len(), 6);
        let refusals = [
            (dict.floats("fc.weight", &[3, 2]).unwrap_err(), "(2, 3)"),
            (dict.floats("fc.bias", &[3]).unwrap_err(), "fc.bias"),
            (
                dict.floats("bn.num_batches_tracked", &[]).unwrap_err(),
                "int64",
            ),
        ];
        for (error, names) in refusals {
            let message = error.to_string();
            assert!(message.starts_with("netG.pth"), "{message}");
            assert!(message.contains(names), "{message}");
        }
    }
}
