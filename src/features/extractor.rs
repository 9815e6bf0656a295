//! The extractor: a checked model session that turns preprocessed image
//! batches into named feature matrices, and the loop that streams a folder
//! through it.

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView4, Ix2};

use crate::images::{ImageBatches, ImageError, Preprocess, ResizeMode};
use crate::models::{
    IsProtocol, Manifest, ModelError, OutputKind, Protocol, file_sha256, verify_sha256,
    verify_signature,
};
use crate::runtime::{ModelSession, Precision, Provider, Runtime, RuntimeError, fanout};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("model {model}: {what}; fix its manifest {manifest}")]
    Unusable {
        model: PathBuf,
        manifest: PathBuf,
        what: String,
    },
    #[error("model {model} has no output `{name}` (it has {available}); pass one of those")]
    UnknownOutput {
        model: PathBuf,
        name: String,
        available: String,
    },
    #[error(
        "model {model} cannot serve --protocol {protocol}: its manifest lists {supported}; pass one of those (or no --protocol for the model's default), or a model exported for {protocol} (models/export_inception.py --kind fid serves pytorch-fid, clean-fid and torch-fidelity; --kind classifier serves stackgan-is)"
    )]
    UnsupportedProtocol {
        model: PathBuf,
        protocol: Protocol,
        supported: String,
    },
}

/// How one run feeds a model and reads its Inception Score, under one protocol.
#[derive(Debug, Clone)]
pub struct ProtocolSetup {
    /// The protocol in force.
    pub protocol: Protocol,
    /// Resize and input mapping of the protocol (or of `--resize`).
    pub preprocess: Preprocess,
    /// The protocol's own resize mode, when `--resize` replaced it.
    pub resize_replaced: Option<ResizeMode>,
    /// What the Inception Score takes unless flags say otherwise.
    pub is: IsSetup,
}

/// The Inception Score settings a protocol and a model give.
#[derive(Debug, Clone)]
pub struct IsSetup {
    /// Output holding the logits; `None`: the model's unbiased logits, else its logits.
    pub logits: Option<String>,
    /// Columns dropped before the softmax (the manifest's); `None`: the split rule's preset.
    pub drop_columns: Option<Vec<usize>>,
    /// How splits are formed.
    pub protocol: IsProtocol,
}

impl Default for IsSetup {
    fn default() -> Self {
        IsSetup {
            logits: None,
            drop_columns: None,
            protocol: IsProtocol::TorchFidelity,
        }
    }
}

impl ProtocolSetup {
    /// The one-line note a report carries when `--resize` replaced the protocol's resize.
    pub fn override_note(&self) -> Option<String> {
        self.resize_replaced.map(|own| {
            format!(
                "--resize {} replaced the resize of protocol {} ({own}): the numbers are not that protocol's",
                self.preprocess.resize, self.protocol
            )
        })
    }
}

/// An image model (role `extractor` or `classifier`) checked against its manifest.
pub struct Extractor {
    session: ModelSession,
    /// Sessions on the other devices of `--devices`, which passes spread
    /// their batches over.
    replicas: Vec<ModelSession>,
    manifest: Manifest,
    sha256: String,
    /// The float32 comparison of reduced `--precision`.
    drift: DriftCheck,
}

/// Under `--precision tf32|fp16`: a float32 session the first batch of the
/// first device also runs through (then dropped), and what it measured.
struct DriftCheck {
    float32: Option<ModelSession>,
    /// The measured drift, as a warning line.
    warning: Option<String>,
    precision: Precision,
}

impl DriftCheck {
    /// Runs `batch` through the float32 session, once, and records the
    /// largest difference from `got`, relative to the largest float32 value.
    fn measure(
        &mut self,
        input: &str,
        batch: ArrayView4<'_, f32>,
        outputs: &[&str],
        got: &[Array2<f32>],
        note: Option<&str>,
    ) -> Result<(), ExtractError> {
        let Some(mut float32) = self.float32.take() else {
            return Ok(());
        };
        let want = float32.run(&[(input, batch.into_dyn())], outputs)?;
        let mut parts = Vec::new();
        for ((name, got), want) in outputs.iter().zip(got).zip(&want) {
            let largest = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            let difference = got
                .iter()
                .zip(want)
                .fold(0f32, |m, (g, w)| m.max((g - w).abs()));
            let relative = if largest > 0.0 {
                difference / largest
            } else {
                difference
            };
            parts.push(format!(
                "`{name}` by up to {relative:.1e} of its largest value"
            ));
        }
        let note = note.map(|note| format!(" ({note})")).unwrap_or_default();
        self.warning = Some(format!(
            "--precision {}: on the first batch ({} images) the outputs differ from float32's: {}; the numbers are not float32's{note}",
            self.precision,
            batch.shape()[0],
            parts.join(", ")
        ));
        Ok(())
    }
}

/// An extractor's session on one device, which runs batches there.
pub struct OnDevice<'a> {
    session: &'a mut ModelSession,
    input: &'a str,
    /// On the first device: the float32 comparison of reduced precision.
    drift: Option<&'a mut DriftCheck>,
}

impl OnDevice<'_> {
    /// Runs one preprocessed batch and returns the named outputs as N × D
    /// matrices (trailing axes such as a 1×1 spatial map are flattened).
    pub fn run(
        &mut self,
        batch: ArrayView4<'_, f32>,
        outputs: &[&str],
    ) -> Result<Vec<Array2<f32>>, ExtractError> {
        let arrays = self
            .session
            .run_bound(&[(self.input, batch.into_dyn())], outputs)?;
        let arrays = arrays
            .into_iter()
            .zip(outputs)
            .map(|(array, name)| {
                let rows = array.shape().first().copied().unwrap_or(0);
                let columns = array.len().checked_div(rows).unwrap_or(0);
                array
                    .as_standard_layout()
                    .into_owned()
                    .into_shape_with_order((rows, columns))
                    .map(|a| a.into_dimensionality::<Ix2>().expect("two axes"))
                    .map_err(|e| {
                        ExtractError::Runtime(RuntimeError::Run {
                            path: self.session.path().to_path_buf(),
                            reason: format!(
                                "output `{name}` cannot be read as rows of features: {e}"
                            ),
                        })
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(drift) = self.drift.as_deref_mut() {
            drift.measure(self.input, batch, outputs, &arrays, self.session.note())?;
        }
        Ok(arrays)
    }
}

impl Extractor {
    /// Opens `path`, reads the manifest beside it and checks the two agree.
    pub fn open(runtime: &Runtime, path: &Path) -> Result<Extractor, ExtractError> {
        let manifest = Manifest::read_beside(path)?;
        let sha256 = file_sha256(path)?;
        verify_sha256(path, &manifest.onnx_sha256, &sha256)?;
        let (session, replicas) = runtime.open_everywhere(path, runtime.precision())?;
        verify_signature(path, &manifest, &session.inputs(), &session.outputs())?;
        if manifest.input_size().is_none() {
            return Err(ExtractError::Unusable {
                model: path.to_path_buf(),
                manifest: crate::models::manifest_path(path),
                what: format!(
                    "input shape {} is not [N, 3, H, W] with fixed H and W",
                    crate::models::toml_list(&manifest.input.shape)
                ),
            });
        }
        let drift = DriftCheck {
            float32: runtime.open_float32_reference(&session)?,
            warning: None,
            precision: runtime.precision(),
        };
        Ok(Extractor {
            session,
            replicas,
            manifest,
            sha256,
            drift,
        })
    }

    /// Under reduced `--precision`: how far the first batch's outputs were
    /// from float32's, as a warning line.
    pub fn drift(&self) -> Option<&str> {
        self.drift.warning.as_deref()
    }

    /// How many devices the model runs on (`--devices`; 1 without it).
    pub fn devices(&self) -> usize {
        1 + self.replicas.len()
    }

    /// The devices the model runs on, as `--device` names them (`cuda:1`).
    pub fn device_names(&self) -> Vec<String> {
        std::iter::once(&self.session)
            .chain(&self.replicas)
            .map(ModelSession::device_name)
            .collect()
    }

    /// The model's session on each device, first device first.
    pub fn on_devices(&mut self) -> Vec<OnDevice<'_>> {
        let input = self.manifest.input.name.as_str();
        let first = OnDevice {
            session: &mut self.session,
            input,
            drift: Some(&mut self.drift),
        };
        std::iter::once(first)
            .chain(self.replicas.iter_mut().map(|session| OnDevice {
                session,
                input,
                drift: None,
            }))
            .collect()
    }

    /// The model's session on the first device (the one that measures drift).
    fn first_device(&mut self) -> OnDevice<'_> {
        OnDevice {
            session: &mut self.session,
            input: &self.manifest.input.name,
            drift: Some(&mut self.drift),
        }
    }

    /// Runs one preprocessed batch on the first device and returns the named
    /// outputs as N × D matrices.
    pub fn run(
        &mut self,
        batch: ArrayView4<'_, f32>,
        outputs: &[&str],
    ) -> Result<Vec<Array2<f32>>, ExtractError> {
        self.first_device().run(batch, outputs)
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn provider(&self) -> Provider {
        self.session.provider()
    }

    pub fn path(&self) -> &Path {
        self.session.path()
    }

    /// How a run feeds this model under `protocol` (default: the manifest's),
    /// with `resize` replacing the protocol's resize mode when given. A
    /// protocol the manifest does not list is refused: its network or its
    /// outputs would not be the ones the protocol's numbers come from.
    pub fn setup(
        &self,
        protocol: Option<&Protocol>,
        resize: Option<ResizeMode>,
    ) -> Result<ProtocolSetup, ExtractError> {
        let unusable = |what: String| ExtractError::Unusable {
            model: self.path().to_path_buf(),
            manifest: crate::models::manifest_path(self.path()),
            what,
        };
        let manifest = &self.manifest;
        let supported = manifest.supported_protocols().map_err(unusable)?;
        let protocol = match protocol {
            Some(p) => p.clone(),
            None => manifest.default_protocol().map_err(unusable)?,
        };
        if !supported.contains(&protocol) {
            return Err(ExtractError::UnsupportedProtocol {
                model: self.path().to_path_buf(),
                protocol,
                supported: crate::models::protocol_names(&supported),
            });
        }
        let manifest_is = manifest.inception_score.as_ref();
        let drop_columns = manifest_is.map(|s| s.drop_columns.clone());
        let (height, width) = manifest
            .input_size()
            .ok_or_else(|| unusable("input shape is not [N, 3, H, W]".into()))?;
        let (mut preprocess, is) = match protocol.spec() {
            Some(spec) => (
                spec.preprocess(height, width),
                IsSetup {
                    logits: self.output_of_kind(spec.is_logits).map(str::to_string),
                    drop_columns,
                    protocol: spec.is_protocol,
                },
            ),
            None => {
                let resize = match &manifest.input.resize {
                    None => ResizeMode::LegacyPytorch,
                    Some(name) => name
                        .parse()
                        .map_err(|e| unusable(format!("input.resize: {e}")))?,
                };
                let is = IsSetup {
                    logits: manifest_is.and_then(|s| s.logits.clone()),
                    drop_columns,
                    protocol: IsProtocol::TorchFidelity,
                };
                let preprocess = Preprocess {
                    resize,
                    height,
                    width,
                    mean: manifest.input.mean,
                    std: manifest.input.std,
                };
                (preprocess, is)
            }
        };
        let own_resize = preprocess.resize;
        preprocess.resize = resize.unwrap_or(own_resize);
        Ok(ProtocolSetup {
            resize_replaced: (preprocess.resize != own_resize).then_some(own_resize),
            protocol,
            preprocess,
            is,
        })
    }

    /// The output name of a kind (e.g. the pool features).
    pub fn output_of_kind(&self, kind: OutputKind) -> Option<&str> {
        self.manifest.output_of_kind(kind).map(|o| o.name.as_str())
    }

    /// Checks that `name` is an output of the model.
    pub fn require_output(&self, name: &str) -> Result<(), ExtractError> {
        if self.manifest.output(name).is_some() {
            return Ok(());
        }
        Err(ExtractError::UnknownOutput {
            model: self.path().to_path_buf(),
            name: name.to_string(),
            available: self
                .manifest
                .outputs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

/// What a pass over a folder saw.
#[derive(Debug, Clone, Default)]
pub struct PassSummary {
    /// Images that went through the model.
    pub images: usize,
    /// Unreadable images skipped under `--skip-bad`, with the reason.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Runs the extractor over a stream of image batches; `sink` receives each
/// batch's paths and the requested outputs, in file order. `progress` is told
/// how many images each batch held. With `--devices`, each batch goes to
/// whichever device is free, and the outputs reach `sink` in file order all
/// the same.
pub fn run_over_images<E: From<ExtractError> + Send>(
    extractor: &mut Extractor,
    mut batches: ImageBatches,
    outputs: &[&str],
    progress: &dyn Fn(usize),
    mut sink: impl FnMut(&[PathBuf], &[Array2<f32>]) -> Result<(), E>,
) -> Result<PassSummary, E> {
    let mut summary = PassSummary::default();
    let stream = batches
        .by_ref()
        .map(|batch| batch.map_err(|e| E::from(ExtractError::from(e))));
    fanout::in_order(
        &mut extractor.on_devices(),
        stream,
        |device, batch| {
            let features = device.run(batch.tensor.view(), outputs)?;
            Ok((batch.paths, features))
        },
        |(paths, features)| {
            sink(&paths, &features)?;
            summary.images += paths.len();
            progress(paths.len());
            Ok(())
        },
    )?;
    summary.skipped = batches.skipped().to_vec();
    Ok(summary)
}
