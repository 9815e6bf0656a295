//! Model conversion without Python: PyTorch checkpoints read natively
//! ([`checkpoint`]), their weights as one [`StateDict`], and ONNX graphs of
//! the architectures the tool knows built from it. The Python exporters in
//! `models/` stay as the independent reference this path is tested against.

pub mod checkpoint;
mod state;

pub use checkpoint::read_checkpoint;
pub use state::{ConvertError, StateDict, Tensor, TensorData};
