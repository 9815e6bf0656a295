//! The manifest of a generator (`role = "generator"`), written by
//! `models/export_stackgan.py`: its noise and text inputs, its image branches
//! and conditioning outputs, and the architecture's hyper-parameters.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::{Role, manifest_path, read_manifest};
use super::{ModelError, TensorSignature, toml_list, verify::check_tensor};

/// What a generator input is fed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorInputKind {
    /// The latent noise `z` (standard normal).
    NoiseZ,
    /// A conditioning-augmentation draw `eps` (standard normal; v1 Stage-II has two).
    NoiseEps,
    /// The char-CNN-RNN text embedding of a caption.
    TextEmbedding,
}

impl GeneratorInputKind {
    /// The kind as the manifest spells it.
    pub fn name(self) -> &'static str {
        match self {
            GeneratorInputKind::NoiseZ => "noise_z",
            GeneratorInputKind::NoiseEps => "noise_eps",
            GeneratorInputKind::TextEmbedding => "text_embedding",
        }
    }
}

/// What a generator output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GeneratorOutputKind {
    /// An image branch, NCHW RGB in `value_range`.
    Image,
    /// Mean of the conditioning distribution.
    Mu,
    /// Log-variance of the conditioning distribution.
    Logvar,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorInput {
    pub name: String,
    pub kind: GeneratorInputKind,
    /// `[-1, dim]`: batch first.
    pub shape: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<String>,
}

impl GeneratorInput {
    /// Values per sample (the second axis).
    pub fn width(&self) -> usize {
        self.shape.get(1).copied().unwrap_or(0).max(0) as usize
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorOutput {
    pub name: String,
    pub kind: GeneratorOutputKind,
    pub shape: Vec<i64>,
    /// Side of the square image, for image outputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<u32>,
}

/// The `[generator]` table: which architecture and its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorArchitecture {
    pub family: String,
    pub config: String,
    pub conditional: bool,
    pub gf_dim: u32,
    pub z_dim: u32,
    pub embedding_dim: u32,
    pub text_dim: u32,
    pub r_num: u32,
    pub branch_num: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage1_gf_dim: Option<u32>,
    pub resolutions: Vec<u32>,
}

/// A generator manifest, as read (and as the native converter writes it).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorManifest {
    pub format: u32,
    pub role: Role,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub onnx_sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// The images' value range, `[-1, 1]` for StackGAN.
    pub value_range: [f32; 2],
    pub generator: GeneratorArchitecture,
    pub inputs: Vec<GeneratorInput>,
    pub outputs: Vec<GeneratorOutput>,
}

impl GeneratorManifest {
    /// Reads the manifest beside `model` and checks it is a usable generator manifest.
    pub fn read_beside(model: &Path) -> Result<GeneratorManifest, ModelError> {
        let (path, manifest): (_, GeneratorManifest) = read_manifest(model, Role::Generator)?;
        manifest.check_self(&path)?;
        Ok(manifest)
    }

    fn check_self(&self, path: &Path) -> Result<(), ModelError> {
        let invalid = |reason: String| ModelError::ManifestInvalid {
            manifest: path.to_path_buf(),
            reason,
        };
        if self.format != 1 {
            return Err(invalid(format!(
                "format {} is not supported (this tool reads format 1)",
                self.format
            )));
        }
        let [low, high] = self.value_range;
        if !(low.is_finite() && high.is_finite() && low < high) {
            return Err(invalid(format!(
                "value_range {} must be two finite numbers, low < high",
                toml_list(&self.value_range)
            )));
        }
        for input in &self.inputs {
            if input.shape.len() != 2 || input.shape[1] <= 0 {
                return Err(invalid(format!(
                    "input `{}` has shape {}; generator inputs are [N, dim]",
                    input.name.escape_debug(),
                    toml_list(&input.shape)
                )));
            }
        }
        for kind in [
            GeneratorInputKind::NoiseZ,
            GeneratorInputKind::TextEmbedding,
        ] {
            if self.inputs.iter().filter(|i| i.kind == kind).count() > 1 {
                return Err(invalid(format!(
                    "more than one input of kind {}",
                    kind.name()
                )));
            }
        }
        if self.generator.conditional != self.text_input().is_some() {
            return Err(invalid(format!(
                "[generator] conditional = {} but the inputs {} a text_embedding",
                self.generator.conditional,
                if self.text_input().is_some() {
                    "have"
                } else {
                    "lack"
                }
            )));
        }
        let mut resolutions = Vec::new();
        for output in &self.outputs {
            if output.kind != GeneratorOutputKind::Image {
                continue;
            }
            let side = match (output.shape.as_slice(), output.resolution) {
                ([_, 3, h, w], Some(r)) if *h == r as i64 && *w == r as i64 && r > 0 => r,
                _ => {
                    return Err(invalid(format!(
                        "image output `{}` must have shape [N, 3, R, R] and resolution = R (has shape {}, resolution {})",
                        output.name.escape_debug(),
                        toml_list(&output.shape),
                        output
                            .resolution
                            .map_or("none".to_string(), |r| r.to_string())
                    )));
                }
            };
            if resolutions.contains(&side) {
                return Err(invalid(format!("two image outputs have resolution {side}")));
            }
            resolutions.push(side);
        }
        if resolutions.is_empty() {
            return Err(invalid("the manifest lists no image output".into()));
        }
        Ok(())
    }

    /// The text-embedding input, for a conditional model.
    pub fn text_input(&self) -> Option<&GeneratorInput> {
        self.inputs
            .iter()
            .find(|i| i.kind == GeneratorInputKind::TextEmbedding)
    }

    /// Image outputs from the lowest resolution to the highest.
    pub fn image_outputs(&self) -> Vec<&GeneratorOutput> {
        let mut images: Vec<&GeneratorOutput> = self
            .outputs
            .iter()
            .filter(|o| o.kind == GeneratorOutputKind::Image)
            .collect();
        images.sort_by_key(|o| o.resolution);
        images
    }

    /// Checks the model's inputs and outputs against the manifest.
    pub fn verify_signature(
        &self,
        model: &Path,
        inputs: &[TensorSignature],
        outputs: &[TensorSignature],
    ) -> Result<(), ModelError> {
        let mismatch = |what: String| ModelError::Mismatch {
            model: model.to_path_buf(),
            manifest: manifest_path(model),
            what,
        };
        for input in &self.inputs {
            check_tensor("input", &input.name, &input.shape, inputs).map_err(mismatch)?;
        }
        if let Some(extra) = inputs
            .iter()
            .find(|t| !self.inputs.iter().any(|i| i.name == t.name))
        {
            return Err(mismatch(format!(
                "the model takes an input `{}` that the manifest does not list",
                extra.name.escape_debug()
            )));
        }
        for output in &self.outputs {
            check_tensor("output", &output.name, &output.shape, outputs).map_err(mismatch)?;
        }
        Ok(())
    }
}
