//! One opened model: its tensor signature, a float32 run, and the bound
//! run of image models (a pre-allocated input buffer — pinned host memory
//! on CUDA, so the copy to the GPU is one DMA — bound once per batch shape
//! through ONNX Runtime's I/O binding, outputs bound to host memory).

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, ArrayViewD};
use ort::memory::{AllocationDevice, Allocator, AllocatorType, MemoryInfo, MemoryType};
use ort::session::{IoBinding, Session, SessionOutputs};
use ort::value::{Tensor, TensorElementType, TensorRef, ValueType};

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
    /// The CUDA device the session runs on (`--device cuda:N`), whose
    /// pinned host memory the bound input buffer takes; 0 on the CPU.
    cuda_device: i32,
    /// The bound input buffer and outputs of the last [`ModelSession::run_bound`].
    bound: Option<Bound>,
    /// What opening it changed that a run should warn about (values clipped
    /// by the float16 conversion).
    note: Option<String>,
}

/// A pre-allocated input buffer bound to one input, for one batch shape
/// and one set of outputs (fields drop in order: the binding, the buffer,
/// then the allocator that owns the buffer's memory).
struct Bound {
    binding: IoBinding,
    /// One buffer per input, by name.
    inputs: Vec<(String, Tensor<f32>)>,
    _allocator: Allocator,
    /// The input names and shapes the buffers were made for.
    shapes: Vec<(String, Vec<usize>)>,
    outputs: Vec<String>,
}

impl ModelSession {
    pub(super) fn new(session: Session, path: &Path, provider: Provider, cuda_device: i32) -> Self {
        ModelSession {
            session,
            path: path.to_path_buf(),
            provider,
            cuda_device,
            bound: None,
            note: None,
        }
    }

    pub(super) fn with_note(mut self, note: Option<String>) -> Self {
        self.note = note;
        self
    }

    /// A warning line about how the model was opened (`--precision fp16`
    /// clipping values beyond float16's range), if any.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// Runs the model on `inputs` through I/O binding: each input is
    /// copied into its bound buffer (allocated again only when the input
    /// shapes or the outputs change), and the named outputs are copied out.
    pub fn run_bound(
        &mut self,
        inputs: &[(&str, ArrayViewD<'_, f32>)],
        outputs: &[&str],
    ) -> Result<Vec<ArrayD<f32>>, RuntimeError> {
        let run_error = |reason: String| RuntimeError::Run {
            path: self.path.clone(),
            reason,
        };
        let stale = self.bound.as_ref().is_none_or(|b| {
            b.shapes
                .iter()
                .map(|(name, shape)| (name.as_str(), shape.as_slice()))
                .ne(inputs.iter().map(|(name, array)| (*name, array.shape())))
                || b.outputs
                    .iter()
                    .map(String::as_str)
                    .ne(outputs.iter().copied())
        });
        if stale {
            self.bound = None;
            let bound = self
                .bind(inputs, outputs)
                .map_err(|e| run_error(e.to_string()))?;
            self.bound = Some(bound);
        }
        let Some(bound) = self.bound.as_mut() else {
            return Err(run_error("no bound input buffer".into()));
        };
        for ((name, buffer), (_, array)) in bound.inputs.iter_mut().zip(inputs) {
            buffer.extract_array_mut().assign(array);
            bound
                .binding
                .bind_input(name.as_str(), buffer)
                .map_err(|e| run_error(e.to_string()))?;
        }
        let results = self
            .session
            .run_binding(&bound.binding)
            .map_err(|e| run_error(e.to_string()))?;
        copy_outputs(&self.path, &results, outputs)
    }

    fn bind(&self, inputs: &[(&str, ArrayViewD<'_, f32>)], outputs: &[&str]) -> ort::Result<Bound> {
        let allocator = match self.provider {
            Provider::Cpu => Allocator::default(),
            Provider::Cuda => Allocator::new(
                &self.session,
                MemoryInfo::new(
                    AllocationDevice::CUDA_PINNED,
                    self.cuda_device,
                    AllocatorType::Device,
                    MemoryType::CPUInput,
                )?,
            )?,
        };
        let mut buffers = Vec::with_capacity(inputs.len());
        for (name, array) in inputs {
            buffers.push((
                name.to_string(),
                Tensor::<f32>::new(&allocator, array.shape().to_vec())?,
            ));
        }
        let mut binding = self.session.create_binding()?;
        let host = MemoryInfo::new(
            AllocationDevice::CPU,
            0,
            AllocatorType::Device,
            MemoryType::Default,
        )?;
        for name in outputs {
            binding.bind_output_to_device(*name, &host)?;
        }
        Ok(Bound {
            binding,
            inputs: buffers,
            _allocator: allocator,
            shapes: inputs
                .iter()
                .map(|(name, array)| (name.to_string(), array.shape().to_vec()))
                .collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The device the session runs on, as `--device` names it.
    pub fn device_name(&self) -> String {
        match self.provider {
            Provider::Cpu => "cpu".into(),
            Provider::Cuda => format!("cuda:{}", self.cuda_device),
        }
    }

    /// The CUDA device the session runs on (0 on the CPU).
    pub fn cuda_device(&self) -> i32 {
        self.cuda_device
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
        copy_outputs(&self.path, &results, outputs)
    }
}

/// The named float32 outputs of a run, copied out.
fn copy_outputs(
    path: &Path,
    results: &SessionOutputs<'_>,
    outputs: &[&str],
) -> Result<Vec<ArrayD<f32>>, RuntimeError> {
    outputs
        .iter()
        .map(|name| {
            let value = results.get(*name).ok_or_else(|| RuntimeError::Run {
                path: path.to_path_buf(),
                reason: format!("the model produced no output `{name}`"),
            })?;
            let array = value
                .try_extract_array::<f32>()
                .map_err(|e| RuntimeError::Run {
                    path: path.to_path_buf(),
                    reason: format!("output `{name}`: {e}"),
                })?;
            Ok(array.to_owned())
        })
        .collect()
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
