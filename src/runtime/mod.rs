//! The only place that touches `ort`: loading ONNX Runtime, choosing the
//! execution provider, opening sessions and running them.

mod library;
mod session;

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};

pub use library::{LibrarySource, find_library, library_in_virtualenv};
pub use session::{ModelSession, TensorSignature};

/// What the user asked for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// CUDA when ONNX Runtime has it and a GPU answers, else the CPU: one
    /// warning when CUDA is there but fails, none with a CPU-only ONNX Runtime.
    #[default]
    Auto,
    Cpu,
    /// CUDA or an error: never a silent fall-back.
    Cuda,
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            other => Err(format!("unknown device `{other}`: use auto, cpu or cuda")),
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Device::Auto => "auto",
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
        })
    }
}

/// The execution provider a session really runs on; recorded in every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Provider {
    #[serde(rename = "CPUExecutionProvider")]
    Cpu,
    #[serde(rename = "CUDAExecutionProvider")]
    Cuda,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::Cpu => "CPUExecutionProvider",
            Provider::Cuda => "CUDAExecutionProvider",
        })
    }
}

/// How to set up ONNX Runtime.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// `--ort-library`: an explicit `libonnxruntime.so`.
    pub library: Option<PathBuf>,
    pub device: Device,
    /// Intra-op threads; `None` lets ONNX Runtime use every core.
    pub threads: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(
        "ONNX Runtime library not found (looked in {looked}); run `scripts/setup.sh` to install it into .venv, or pass --ort-library PATH / set ORT_DYLIB_PATH to a libonnxruntime.so (pip install onnxruntime==1.31.1)"
    )]
    LibraryNotFound { looked: String },
    #[error(
        "{origin} points to {path}, which does not exist: run `scripts/setup.sh` (installs .venv with onnxruntime) and drop the setting, or give the path of a libonnxruntime.so"
    )]
    LibraryMissing { path: PathBuf, origin: &'static str },
    #[error(
        "cannot load ONNX Runtime from {path}: {reason}; install onnxruntime 1.31 (scripts/setup.sh) or point --ort-library at a compatible library"
    )]
    LibraryLoad { path: PathBuf, reason: String },
    #[error(
        "--device cuda: {reason}; install onnxruntime-gpu (CUDA 13) into .venv and check that a GPU is visible, or use --device cpu"
    )]
    CudaUnavailable { reason: String },
    #[error(
        "cannot open model {path}: {reason}; check that it is an ONNX file (re-export it with the scripts in models/)"
    )]
    Session { path: PathBuf, reason: String },
    #[error("running model {path} failed: {reason}")]
    Run { path: PathBuf, reason: String },
}

/// Why a CUDA session could not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CudaFailure {
    /// The loaded ONNX Runtime has no CUDA provider (the CPU-only wheel).
    NotBuiltIn { library: PathBuf },
    /// It has one, but opening the session on it failed (no GPU, driver, …).
    Failed(String),
}

/// What to do when CUDA could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fallback {
    /// `--device cuda`: the error, never a silent fall-back.
    Refuse(String),
    /// `--device auto` with CUDA present but failing: one warning, then the CPU.
    Warn(String),
    /// `--device auto` with a CPU-only ONNX Runtime: nobody asked for a GPU,
    /// so the CPU is simply used (the report still names the provider).
    Quiet,
}

fn cuda_fallback(device: Device, failure: CudaFailure) -> Fallback {
    match (device == Device::Cuda, failure) {
        (true, CudaFailure::NotBuiltIn { library }) => Fallback::Refuse(format!(
            "the ONNX Runtime at {} was built without the CUDA provider",
            library.display()
        )),
        (true, CudaFailure::Failed(reason)) => Fallback::Refuse(reason),
        (false, CudaFailure::NotBuiltIn { .. }) => Fallback::Quiet,
        (false, CudaFailure::Failed(reason)) => Fallback::Warn(reason),
    }
}

/// ONNX Runtime allows one environment per process: it is made once, by the
/// first [`Runtime::load`], and shared.
static ENVIRONMENT: OnceLock<Environment> = OnceLock::new();

/// A loaded ONNX Runtime with the provider policy applied to each session.
pub struct Runtime {
    environment: &'static Environment,
    library: PathBuf,
    source: LibrarySource,
    config: RuntimeConfig,
    cuda_warned: std::sync::atomic::AtomicBool,
}

impl Runtime {
    /// Finds and loads the library. Done once per process.
    pub fn load(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let (library, source) = find_library(config.library.as_deref())?;
        let load_error = |reason: String| RuntimeError::LibraryLoad {
            path: library.clone(),
            reason,
        };
        static LOADING: Mutex<()> = Mutex::new(());
        let _guard = LOADING.lock().unwrap_or_else(|e| e.into_inner());
        let environment = match ENVIRONMENT.get() {
            Some(environment) => environment,
            None => {
                let environment = ort::init_from(&library)
                    .map_err(|e| load_error(e.to_string()))?
                    .with_name("stackgan-eval")
                    .build()
                    .map_err(|e| load_error(e.to_string()))?;
                ENVIRONMENT.get_or_init(|| environment)
            }
        };
        Ok(Runtime {
            environment,
            library,
            source,
            config,
            cuda_warned: false.into(),
        })
    }

    /// The library file that was loaded.
    pub fn library(&self) -> &Path {
        &self.library
    }

    pub fn library_source(&self) -> LibrarySource {
        self.source
    }

    /// ONNX Runtime's version, from the library's file name
    /// (`libonnxruntime.so.1.31.1`) or, failing that, its build-info line.
    pub fn version(&self) -> String {
        let name = self
            .library
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.split_once(".so.") {
            Some((_, version)) if !version.is_empty() => version.to_string(),
            _ => ort::info()
                .trim_start_matches("ORT Build Info: ")
                .to_string(),
        }
    }

    /// Opens a session on `path` with the configured provider and threads.
    pub fn open(&self, path: &Path) -> Result<ModelSession, RuntimeError> {
        let session_error = |reason: String| RuntimeError::Session {
            path: path.to_path_buf(),
            reason,
        };
        if self.config.device != Device::Cpu {
            let failure = if !ep::CUDA::is_available().unwrap_or(false) {
                CudaFailure::NotBuiltIn {
                    library: self.library.clone(),
                }
            } else {
                match self.open_with(path, true) {
                    Ok(session) => return Ok(ModelSession::new(session, path, Provider::Cuda)),
                    Err(reason) => CudaFailure::Failed(reason),
                }
            };
            match cuda_fallback(self.config.device, failure) {
                Fallback::Refuse(reason) => return Err(RuntimeError::CudaUnavailable { reason }),
                Fallback::Warn(reason) => {
                    if !self
                        .cuda_warned
                        .swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        eprintln!("warning: CUDA not used ({reason}); running on the CPU");
                    }
                }
                Fallback::Quiet => {}
            }
        }
        let session = self.open_with(path, false).map_err(session_error)?;
        Ok(ModelSession::new(session, path, Provider::Cpu))
    }

    fn open_with(&self, path: &Path, cuda: bool) -> Result<ort::session::Session, String> {
        let mut builder =
            ort::session::Session::builder(self.environment).map_err(|e| e.to_string())?;
        if cuda {
            // Full float32 (no TF32 tensor cores) so that numbers match the CPU
            // and the references to float32 rounding, and a heuristic rather
            // than a timed (exhaustive) cuDNN algorithm choice, so that the
            // same inputs always take the same kernels.
            let cuda = ep::CUDA::default()
                .with_tf32(false)
                .with_conv_algorithm_search(ep::cuda::ConvAlgorithmSearch::Heuristic);
            builder = builder
                .with_execution_providers([cuda.build().error_on_failure()])
                .map_err(|e| e.to_string())?;
        }
        if let Some(threads) = self.config.threads {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| e.to_string())?;
        }
        builder.commit_from_file(path).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_quiet_without_a_cuda_provider_and_warns_when_cuda_fails() {
        let not_built = || CudaFailure::NotBuiltIn {
            library: PathBuf::from("libonnxruntime.so"),
        };
        let failed = || CudaFailure::Failed("no GPU found".into());
        assert_eq!(cuda_fallback(Device::Auto, not_built()), Fallback::Quiet);
        assert_eq!(
            cuda_fallback(Device::Auto, failed()),
            Fallback::Warn("no GPU found".into())
        );
        assert!(matches!(
            cuda_fallback(Device::Cuda, not_built()),
            Fallback::Refuse(reason) if reason.contains("without the CUDA provider")
        ));
        assert_eq!(
            cuda_fallback(Device::Cuda, failed()),
            Fallback::Refuse("no GPU found".into())
        );
    }
}
