//! One opened model: its tensor signature and a float32 run.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD};
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use super::{Provider, RuntimeError};

/// Name, element type and shape (−1 for a dynamic axis) of a model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorSignature {
    pub name: String,
    pub is_float32: bool,
    pub shape: Vec<i64>,
}

/// A session together with the file it came from and the provider it runs on.
pub struct ModelSession {
    session: Session,
    path: PathBuf,
    provider: Provider,
}

impl ModelSession {
    pub(super) fn new(session: Session, path: &Path, provider: Provider) -> Self {
        ModelSession {
            session,
            path: path.to_path_buf(),
            provider,
        }
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn inputs(&self) -> Vec<TensorSignature> {
        self.session
            .inputs()
            .iter()
            .map(|o| signature(o.name(), o.dtype()))
            .collect()
    }

    pub fn outputs(&self) -> Vec<TensorSignature> {
        self.session
            .outputs()
            .iter()
            .map(|o| signature(o.name(), o.dtype()))
            .collect()
    }

    /// Runs the model on float32 inputs and copies out the named float32 outputs.
    pub fn run(
        &mut self,
        inputs: &[(&str, ArrayViewD<'_, f32>)],
        outputs: &[&str],
    ) -> Result<Vec<ArrayD<f32>>, RuntimeError> {
        let run_error = |reason: String| RuntimeError::Run {
            path: self.path.clone(),
            reason,
        };
        let mut values = Vec::with_capacity(inputs.len());
        for (name, array) in inputs {
            let tensor =
                TensorRef::from_array_view(array.view()).map_err(|e| run_error(e.to_string()))?;
            values.push((
                std::borrow::Cow::Borrowed(*name),
                ort::session::SessionInputValue::from(tensor),
            ));
        }
        let results = self.session.run(values).map_err(|e| RuntimeError::Run {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        outputs
            .iter()
            .map(|name| {
                let value = results.get(*name).ok_or_else(|| RuntimeError::Run {
                    path: self.path.clone(),
                    reason: format!("the model produced no output `{name}`"),
                })?;
                let array = value
                    .try_extract_array::<f32>()
                    .map_err(|e| RuntimeError::Run {
                        path: self.path.clone(),
                        reason: format!("output `{name}`: {e}"),
                    })?;
                Ok(array.to_owned())
            })
            .collect()
    }
}

fn signature(name: &str, dtype: &ValueType) -> TensorSignature {
    TensorSignature {
        name: name.to_string(),
        is_float32: dtype.tensor_type() == Some(TensorElementType::Float32),
        shape: dtype
            .tensor_shape()
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default(),
    }
}
