//! The only place that touches `ort`: loading ONNX Runtime, choosing the
//! execution provider, opening sessions and running them.

mod device;
pub mod fanout;
mod library;
mod session;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};

use crate::convert::onnx::float16::{Float16Error, Float16Model, to_float16};

use device::cuda_id;
pub use device::{CPU_BATCH_SIZE, Device, DeviceList, GPU_BATCH_SIZE, Precision};
pub use library::{LibrarySource, find_library, library_in_virtualenv};
pub use session::{ModelSession, TensorSignature};

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
    /// Arithmetic on a GPU (`--precision`); anything but fp32 needs CUDA.
    pub precision: Precision,
    /// `--devices`: one run spread over several devices (it replaces `device`).
    pub devices: Option<DeviceList>,
}

impl RuntimeConfig {
    /// Images per network call when `--batch-size` is not given: a GPU's
    /// when the run names GPUs, else the CPU's.
    pub fn default_batch_size(&self) -> usize {
        match &self.devices {
            Some(list) if list.wants_cuda() => GPU_BATCH_SIZE,
            _ => self.device.default_batch_size(),
        }
    }
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
        "--device {device}: {reason}; install onnxruntime-gpu (CUDA 13) into .venv and check that a GPU is visible, or use --device cpu"
    )]
    CudaUnavailable { device: Device, reason: String },
    #[error("--precision {precision}: {reason}")]
    Precision {
        precision: Precision,
        reason: String,
    },
    #[error("--devices {devices}: {reason}")]
    Devices { devices: DeviceList, reason: String },
    #[error(
        "cannot open model {path}: {reason}; check that it is an ONNX file (re-export it with the scripts in models/)"
    )]
    Session { path: PathBuf, reason: String },
    #[error("running model {path} failed: {reason}")]
    Run { path: PathBuf, reason: String },
    #[error(transparent)]
    Float16(#[from] Float16Error),
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
    match (matches!(device, Device::Cuda(_)), failure) {
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
        if config.precision != Precision::Fp32 && config.device == Device::Cpu {
            return Err(RuntimeError::Precision {
                precision: config.precision,
                reason: "reduced precision is a GPU setting and --device cpu runs in float32; drop --precision or use --device cuda".into(),
            });
        }
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
        if let Some(devices) = &config.devices
            && devices.wants_cuda()
            && !ep::CUDA::is_available().unwrap_or(false)
        {
            return Err(RuntimeError::Devices {
                devices: devices.clone(),
                reason: format!(
                    "the ONNX Runtime at {} has no CUDA provider, so this machine offers no GPU to spread the run over; install onnxruntime-gpu, or drop --devices to run on the CPU",
                    library.display()
                ),
            });
        }
        Ok(Runtime {
            environment,
            library,
            source,
            config,
            cuda_warned: false.into(),
        })
    }

    /// The arithmetic sessions run in.
    pub fn precision(&self) -> Precision {
        self.config.precision
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

    /// The devices sessions open on: those of `--devices`, else `--device`'s.
    pub fn devices(&self) -> Vec<Device> {
        match &self.config.devices {
            Some(list) if !list.0.is_empty() => list.0.clone(),
            _ => vec![self.config.device],
        }
    }

    /// Opens the model at `path` on the first device, with the configured
    /// provider, threads and `--precision`.
    pub fn open(&self, path: &Path) -> Result<ModelSession, RuntimeError> {
        self.open_in(path, self.devices()[0], self.config.precision, &mut None)
    }

    /// The model at `path` opened in `precision` on every device: the first
    /// device's session, and those of the others of `--devices` (none
    /// without it). Image models take [`Runtime::precision`]; generators
    /// take float32 whatever `--precision` says, because their images are
    /// what is being evaluated (a reduced precision would score other
    /// images, with no drift measured). A float16 model is converted once
    /// for all devices.
    pub fn open_everywhere(
        &self,
        path: &Path,
        precision: Precision,
    ) -> Result<(ModelSession, Vec<ModelSession>), RuntimeError> {
        let devices = self.devices();
        let mut float16 = None;
        let first = self.open_in(path, devices[0], precision, &mut float16)?;
        let others = devices[1..]
            .iter()
            .map(|device| self.open_in(path, *device, precision, &mut float16))
            .collect::<Result<_, _>>()?;
        Ok((first, others))
    }

    /// Opens the model in `bytes` on the CPU (`path` names it in messages).
    /// A test path, no flag's: the tests run the float16 conversion
    /// (`convert::onnx::float16::to_float16`) and decoded-and-encoded
    /// models through it, on ONNX Runtime's CPU float16 kernels.
    pub fn open_bytes_on_cpu(
        &self,
        bytes: &[u8],
        path: &Path,
    ) -> Result<ModelSession, RuntimeError> {
        let session = self
            .open_with(Source::Memory(bytes), None)
            .map_err(|reason| RuntimeError::Session {
                path: path.to_path_buf(),
                reason,
            })?;
        Ok(ModelSession::new(session, path, Provider::Cpu, 0))
    }

    /// Opens a session on `path` on `device` in `precision`, falling back
    /// to the CPU only as `--device auto` allows; `float16` keeps the
    /// model's float16 form once it was converted.
    fn open_in(
        &self,
        path: &Path,
        device: Device,
        precision: Precision,
        float16: &mut Option<Float16Model>,
    ) -> Result<ModelSession, RuntimeError> {
        let session_error = |reason: String| RuntimeError::Session {
            path: path.to_path_buf(),
            reason,
        };
        if let Some(cuda_device) = cuda_id(device) {
            let failure = if !ep::CUDA::is_available().unwrap_or(false) {
                CudaFailure::NotBuiltIn {
                    library: self.library.clone(),
                }
            } else {
                // A model that cannot be converted is refused as such, not
                // taken for a CUDA failure (which `auto` would fall back from).
                if precision == Precision::Fp16 && float16.is_none() {
                    *float16 = Some(self.convert_to_float16(path)?);
                }
                let converted = float16.as_ref().filter(|_| precision == Precision::Fp16);
                let source = converted.map_or(Source::File(path), |c| Source::Memory(&c.bytes));
                match self.open_with(source, Some((precision, cuda_device))) {
                    Ok(session) => {
                        let note = converted.and_then(|c| c.clip_note(path));
                        return Ok(
                            ModelSession::new(session, path, Provider::Cuda, cuda_device)
                                .with_note(note),
                        );
                    }
                    Err(reason) => CudaFailure::Failed(reason),
                }
            };
            match cuda_fallback(device, failure) {
                Fallback::Refuse(reason) => {
                    return Err(RuntimeError::CudaUnavailable { device, reason });
                }
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
        if precision != Precision::Fp32 {
            return Err(RuntimeError::Precision {
                precision,
                reason: "no GPU is in use (the CPU runs in float32); drop --precision, or install onnxruntime-gpu and pass --device cuda".into(),
            });
        }
        let session = self
            .open_with(Source::File(path), None)
            .map_err(session_error)?;
        Ok(ModelSession::new(session, path, Provider::Cpu, 0))
    }

    /// The float16 form of the model at `path`.
    fn convert_to_float16(&self, path: &Path) -> Result<Float16Model, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|e| RuntimeError::Session {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(to_float16(&bytes, path)?)
    }

    /// A second, full-float32 session on the GPU when sessions run in
    /// reduced precision: what the drift of `--precision` is measured against.
    pub fn open_float32_reference(
        &self,
        session: &ModelSession,
    ) -> Result<Option<ModelSession>, RuntimeError> {
        if self.config.precision == Precision::Fp32 || session.provider() != Provider::Cuda {
            return Ok(None);
        }
        let path = session.path();
        let cuda_device = session.cuda_device();
        let reference = self
            .open_with(Source::File(path), Some((Precision::Fp32, cuda_device)))
            .map_err(|reason| RuntimeError::Session {
                path: path.to_path_buf(),
                reason,
            })?;
        Ok(Some(ModelSession::new(
            reference,
            path,
            Provider::Cuda,
            cuda_device,
        )))
    }

    /// A session on the CPU (`cuda` `None`) or on that CUDA device in that
    /// precision (a float16 model comes converted, as bytes).
    fn open_with(
        &self,
        source: Source<'_>,
        cuda: Option<(Precision, i32)>,
    ) -> Result<ort::session::Session, String> {
        let mut builder =
            ort::session::Session::builder(self.environment).map_err(|e| e.to_string())?;
        if let Some((precision, cuda_device)) = cuda {
            // Full float32 (no TF32 tensor cores unless --precision tf32) so
            // that numbers match the CPU and the references to float32
            // rounding, and a heuristic rather
            // than a timed (exhaustive) cuDNN algorithm choice, so that the
            // same inputs always take the same kernels.
            let cuda = ep::CUDA::default()
                .with_device_id(cuda_device)
                .with_tf32(precision == Precision::Tf32)
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
        match source {
            Source::File(path) => builder.commit_from_file(path),
            Source::Memory(bytes) => builder.commit_from_memory(bytes),
        }
        .map_err(|e| e.to_string())
    }
}

/// Where a session's model comes from.
#[derive(Clone, Copy)]
enum Source<'a> {
    File(&'a Path),
    Memory(&'a [u8]),
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
            cuda_fallback(Device::Cuda(0), not_built()),
            Fallback::Refuse(reason) if reason.contains("without the CUDA provider")
        ));
        assert_eq!(
            cuda_fallback(Device::Cuda(1), failed()),
            Fallback::Refuse("no GPU found".into())
        );
    }
}
