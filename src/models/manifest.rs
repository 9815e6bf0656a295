//! The TOML manifest beside every `.onnx` (`model.onnx` → `model.toml`),
//! written by the exporters in `models/`: what the model is, how to feed it
//! and what each output means. Checked against the model when it is opened.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ModelError;

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Image → features (and usually logits): FID, KID, IS.
    Extractor,
    /// Image → class logits, for the Inception Score (e.g. StackGAN's fine-tuned classifier).
    Classifier,
    /// Noise and text embeddings → images.
    Generator,
}

impl Role {
    /// The role's name as the manifest spells it.
    pub fn name(self) -> &'static str {
        match self {
            Role::Extractor => "extractor",
            Role::Classifier => "classifier",
            Role::Generator => "generator",
        }
    }

    /// "an extractor", "a classifier", "a generator".
    pub fn with_article(self) -> String {
        let article = if self == Role::Extractor { "an" } else { "a" };
        format!("{article} {}", self.name())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What an output holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    /// Pooled features (pytorch-fid's pool3, 2048-d for Inception-v3).
    Pool,
    /// Class logits from the final layer with its bias.
    Logits,
    /// Class logits without the final bias (torch-fidelity's IS input).
    LogitsUnbiased,
    /// Anything else (generator images, mu, logvar, …).
    Other,
}

/// The input tensor and how pixels become its values.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: String,
    /// −1 marks a dynamic axis (the batch).
    pub shape: Vec<i64>,
    #[serde(default = "nchw")]
    pub layout: String,
    #[serde(default = "rgb")]
    pub color: String,
    /// Value fed = (pixel/255 − mean[c]) / std[c].
    #[serde(default = "half")]
    pub mean: [f32; 3],
    #[serde(default = "half")]
    pub std: [f32; 3],
    /// The resize mode of the protocol this model follows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resize: Option<String>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub name: String,
    pub kind: OutputKind,
    pub shape: Vec<i64>,
}

/// Defaults for the Inception Score with this model.
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct IsDefaults {
    /// Output whose logits IS uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logits: Option<String>,
    /// Columns removed before the softmax (StackGAN's background class 0).
    #[serde(default)]
    pub drop_columns: Vec<usize>,
}

/// A manifest, as read (and as the native converter writes it).
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
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
    pub input: InputSpec,
    pub outputs: Vec<OutputSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception_score: Option<IsDefaults>,
}

fn nchw() -> String {
    "NCHW".into()
}
fn rgb() -> String {
    "RGB".into()
}
fn half() -> [f32; 3] {
    [0.5; 3]
}

/// Reads and parses the manifest beside `model`, after checking its `role` is
/// what the caller needs (`Extractor` stands for extractor or classifier), so
/// a generator handed to `fid` (or the reverse) gets a plain answer rather
/// than a list of missing fields. Returns the manifest's path too, for the
/// caller's own checks.
pub(super) fn read_manifest<T: serde::de::DeserializeOwned>(
    model: &Path,
    wanted: Role,
) -> Result<(PathBuf, T), ModelError> {
    let path = manifest_path(model);
    let text = std::fs::read_to_string(&path).map_err(|e| ModelError::ManifestMissing {
        model: model.to_path_buf(),
        manifest: path.clone(),
        reason: e.to_string(),
    })?;
    #[derive(Deserialize)]
    struct RoleOnly {
        role: Role,
    }
    let invalid = |e: toml::de::Error| ModelError::ManifestInvalid {
        manifest: path.clone(),
        reason: e.message().to_string(),
    };
    let found = toml::from_str::<RoleOnly>(&text).map_err(invalid)?.role;
    let generator_wanted = wanted == Role::Generator;
    if (found == Role::Generator) != generator_wanted {
        return Err(ModelError::WrongRole {
            model: model.to_path_buf(),
            found,
            wanted: if generator_wanted {
                "a generator is needed here"
            } else {
                "an image extractor or classifier is needed here"
            },
        });
    }
    let manifest = toml::from_str(&text).map_err(invalid)?;
    Ok((path, manifest))
}

/// `model.onnx` → `model.toml`.
pub fn manifest_path(model: &Path) -> PathBuf {
    model.with_extension("toml")
}

impl Manifest {
    /// Reads the manifest beside `model` (an extractor or classifier).
    pub fn read_beside(model: &Path) -> Result<Manifest, ModelError> {
        let (path, manifest): (_, Manifest) = read_manifest(model, Role::Extractor)?;
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
        if self.input.layout != "NCHW" || self.input.color != "RGB" {
            return Err(invalid(format!(
                "input layout {} / color {} is not supported (NCHW, RGB)",
                self.input.layout, self.input.color
            )));
        }
        if self.input.std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
            return Err(invalid("input.std must be finite and non-zero".into()));
        }
        if let Some(is) = &self.inception_score
            && let Some(name) = &is.logits
            && self.output(name).is_none()
        {
            return Err(invalid(format!(
                "inception_score.logits names `{}`, which is not among the outputs",
                name.escape_debug()
            )));
        }
        Ok(())
    }

    /// The output called `name`.
    pub fn output(&self, name: &str) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.name == name)
    }

    /// The first output of a kind.
    pub fn output_of_kind(&self, kind: OutputKind) -> Option<&OutputSpec> {
        self.outputs.iter().find(|o| o.kind == kind)
    }

    /// Image height and width the input takes (NCHW).
    pub fn input_size(&self) -> Option<(usize, usize)> {
        match self.input.shape.as_slice() {
            [_, 3, h, w] if *h > 0 && *w > 0 => Some((*h as usize, *w as usize)),
            _ => None,
        }
    }
}
