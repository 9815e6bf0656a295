//! A generator model checked against its manifest, run one batch at a time.

use std::path::{Path, PathBuf};

use ndarray::{Array2, Array4, Ix2, Ix4};

use super::GenerateError;
use crate::models::{GeneratorManifest, GeneratorOutputKind, file_sha256, verify_sha256};
use crate::runtime::{ModelSession, Precision, Provider, Runtime, RuntimeError};

/// One image branch the run keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// The model output, e.g. `img256`.
    pub output: String,
    /// Side of the square image, which also names its folder.
    pub resolution: u32,
}

/// A generator's outputs for one batch.
pub struct GeneratedBatch {
    /// One `[N, 3, R, R]` array per kept branch, lowest resolution first.
    pub images: Vec<Array4<f32>>,
    /// `mu`, `logvar` and any other non-image output, by name.
    pub extras: Vec<(String, Array2<f32>)>,
    /// The inputs the batch was made from (`z`, `eps`, `text_embedding`), by name.
    pub inputs: Vec<(String, Array2<f32>)>,
}

/// Which branches to keep: `all`, `last`, or a list of resolutions.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum BranchSelection {
    #[default]
    All,
    Last,
    Resolutions(Vec<u32>),
}

impl std::str::FromStr for BranchSelection {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "all" => Ok(BranchSelection::All),
            "last" => Ok(BranchSelection::Last),
            list => list
                .split(',')
                .map(|r| {
                    r.trim().parse::<u32>().map_err(|_| {
                        format!("`{r}` is not a resolution: use all, last or a list such as 64,256")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(BranchSelection::Resolutions),
        }
    }
}

/// A generator session and its manifest.
pub struct Generator {
    session: ModelSession,
    /// Sessions on the other devices of `--devices`.
    replicas: Vec<ModelSession>,
    manifest: GeneratorManifest,
    sha256: String,
}

/// A generator's session on one device, which runs batches there.
pub struct GeneratorOnDevice<'a> {
    session: &'a mut ModelSession,
}

impl Generator {
    /// Opens `path`, reads the manifest beside it and checks the two agree.
    pub fn open(runtime: &Runtime, path: &Path) -> Result<Generator, GenerateError> {
        let manifest = GeneratorManifest::read_beside(path)?;
        let sha256 = file_sha256(path)?;
        verify_sha256(path, &manifest.onnx_sha256, &sha256)?;
        let (session, replicas) = runtime.open_everywhere(path, Precision::Fp32)?;
        manifest.verify_signature(path, &session.inputs(), &session.outputs())?;
        Ok(Generator {
            session,
            replicas,
            manifest,
            sha256,
        })
    }

    pub fn manifest(&self) -> &GeneratorManifest {
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

    /// The branches `selection` keeps, lowest resolution first.
    pub fn branches(&self, selection: &BranchSelection) -> Result<Vec<Branch>, GenerateError> {
        let all: Vec<Branch> = self
            .manifest
            .image_outputs()
            .into_iter()
            .map(|o| Branch {
                output: o.name.clone(),
                resolution: o.resolution.expect("checked with the manifest"),
            })
            .collect();
        match selection {
            BranchSelection::All => Ok(all),
            BranchSelection::Last => Ok(all.last().cloned().into_iter().collect()),
            BranchSelection::Resolutions(wanted) => {
                let mut kept: Vec<Branch> = all
                    .iter()
                    .filter(|b| wanted.contains(&b.resolution))
                    .cloned()
                    .collect();
                kept.dedup();
                if let Some(missing) = wanted
                    .iter()
                    .find(|r| !all.iter().any(|b| b.resolution == **r))
                {
                    return Err(GenerateError::Flag {
                        flag: "--branches",
                        reason: format!(
                            "the model has no {missing}×{missing} branch (it has {})",
                            all.iter()
                                .map(|b| b.resolution.to_string())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
                Ok(kept)
            }
        }
    }

    /// The non-image outputs (`mu`, `logvar`), in manifest order.
    pub fn extra_outputs(&self) -> Vec<String> {
        self.manifest
            .outputs
            .iter()
            .filter(|o| o.kind != GeneratorOutputKind::Image)
            .map(|o| o.name.clone())
            .collect()
    }

    /// How many devices the generator runs on (`--devices`; 1 without it).
    pub fn devices(&self) -> usize {
        1 + self.replicas.len()
    }

    /// The generator's session on each device, first device first.
    pub fn on_devices(&mut self) -> Vec<GeneratorOnDevice<'_>> {
        std::iter::once(&mut self.session)
            .chain(self.replicas.iter_mut())
            .map(|session| GeneratorOnDevice { session })
            .collect()
    }
}

impl GeneratorOnDevice<'_> {
    /// Runs one batch; returns the images of `branches` and the named extras.
    pub fn run(
        &mut self,
        inputs: Vec<(String, Array2<f32>)>,
        branches: &[Branch],
        extras: &[String],
    ) -> Result<GeneratedBatch, GenerateError> {
        let feed: Vec<(&str, ndarray::ArrayViewD<f32>)> = inputs
            .iter()
            .map(|(name, array)| (name.as_str(), array.view().into_dyn()))
            .collect();
        let names: Vec<&str> = branches
            .iter()
            .map(|b| b.output.as_str())
            .chain(extras.iter().map(String::as_str))
            .collect();
        let mut outputs = self.session.run_bound(&feed, &names)?.into_iter();
        let path = self.session.path().to_path_buf();
        let shape_error = |name: &str, e: ndarray::ShapeError| {
            GenerateError::Runtime(RuntimeError::Run {
                path: path.clone(),
                reason: format!("output `{name}` has an unexpected shape: {e}"),
            })
        };
        let mut images = Vec::with_capacity(branches.len());
        for branch in branches {
            let array = outputs.next().expect("one array per name");
            images.push(
                array
                    .into_dimensionality::<Ix4>()
                    .map_err(|e| shape_error(&branch.output, e))?,
            );
        }
        let mut named = Vec::with_capacity(extras.len());
        for name in extras {
            let array = outputs.next().expect("one array per name");
            named.push((
                name.clone(),
                array
                    .into_dimensionality::<Ix2>()
                    .map_err(|e| shape_error(name, e))?,
            ));
        }
        Ok(GeneratedBatch {
            images,
            extras: named,
            inputs,
        })
    }
}

/// The folder a branch's images go to: `out/64`, `out/128`, `out/256`.
pub fn branch_folder(out: &Path, branch: &Branch) -> PathBuf {
    out.join(branch.resolution.to_string())
}
