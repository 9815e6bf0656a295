//! Option groups that several commands share, each with its one default:
//! how models run ([`ExecOptions`]) and how image files are read
//! ([`ImageOptions`]). The command line and the ablation config both build
//! these types; neither repeats a default.

use crate::images::ResizeMode;
use crate::models::Protocol;
use crate::runtime::RuntimeConfig;

/// How models run: ONNX Runtime's set-up and the batch size.
#[derive(Debug, Clone)]
pub struct ExecOptions {
    pub runtime: RuntimeConfig,
    /// Images (or samples) per network call.
    pub batch_size: usize,
}

impl ExecOptions {
    /// The default batch size: 50 images fill a CPU's cores and fit any GPU
    /// (`--device cuda` takes the GPU's, [`crate::runtime::GPU_BATCH_SIZE`]).
    pub const DEFAULT_BATCH_SIZE: usize = crate::runtime::CPU_BATCH_SIZE;
    /// The largest batch size accepted.
    pub const MAX_BATCH_SIZE: usize = 4096;
}

impl Default for ExecOptions {
    fn default() -> Self {
        ExecOptions {
            runtime: RuntimeConfig::default(),
            batch_size: Self::DEFAULT_BATCH_SIZE,
        }
    }
}

/// How image files become network input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageOptions {
    /// The scoring protocol (resize, input mapping, IS logits and split rule
    /// together); `None`: the model manifest's default.
    pub protocol: Option<Protocol>,
    /// `None`: the protocol's resize mode; `Some` replaces it (and reports say so).
    pub resize: Option<ResizeMode>,
    /// Skip unreadable images (and count them) instead of stopping.
    pub skip_bad: bool,
}
