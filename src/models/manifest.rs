//! The TOML manifest beside every `.onnx` (`model.onnx` → `model.toml`),
//! written by the exporters in `models/`: what the model is, how to feed it
//! and what each output means. Checked against the model when it is opened.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ModelError;
use super::protocol::{Protocol, ProtocolSpec};

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
    /// The resize mode of the model's default protocol.
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
    /// The default scoring protocol (`--protocol` picks another it serves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Every protocol the network serves; absent in manifests written before
    /// protocols had one spelling (then: the default's, see
    /// [`Manifest::supported_protocols`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<Protocol>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    pub input: InputSpec,
    pub outputs: Vec<OutputSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception_score: Option<IsDefaults>,
}

/// `[a, b, c]` for messages.
pub fn protocol_names(list: &[Protocol]) -> String {
    let names: Vec<&str> = list.iter().map(Protocol::name).collect();
    format!("[{}]", names.join(", "))
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
            manifest: path.clone(),
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
        self.check_protocols().map_err(invalid)
    }

    /// The default protocol is readable, listed among `protocols`, and, when
    /// it is a named one, agrees with `[input]` (which describes it).
    fn check_protocols(&self) -> Result<(), String> {
        let default = self.default_protocol()?;
        if let Some(list) = &self.protocols {
            if !list.contains(&default) {
                return Err(format!(
                    "protocols {} does not list the default protocol `{default}`; add it",
                    protocol_names(list)
                ));
            }
            if let Some(other) = list.iter().find(|p| p.spec().is_none() && **p != default) {
                return Err(format!(
                    "protocols lists `{other}`, which is neither a named protocol (pytorch-fid, clean-fid, torch-fidelity, stackgan-is) nor the model's own `{default}`"
                ));
            }
        }
        if let Some(spec) = default.spec() {
            self.check_input_follows(&default, &spec)?;
        }
        Ok(())
    }

    fn check_input_follows(&self, protocol: &Protocol, spec: &ProtocolSpec) -> Result<(), String> {
        let close =
            |a: &[f32; 3], b: &[f32; 3]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-6);
        let resize = self.input.resize.as_deref().unwrap_or(spec.resize.name());
        if resize != spec.resize.name()
            || !close(&self.input.mean, &spec.mean)
            || !close(&self.input.std, &spec.std)
        {
            return Err(format!(
                "protocol `{protocol}` resizes with {} and maps mean {:?} / std {:?}, but [input] says {resize}, {:?} / {:?}; write the model's own protocol name in `protocol` or re-export it",
                spec.resize, spec.mean, spec.std, self.input.mean, self.input.std
            ));
        }
        Ok(())
    }

    /// The protocol `protocol` names; a manifest without one follows its own
    /// `[input]` and `[inception_score]` (protocol `custom`).
    pub fn default_protocol(&self) -> Result<Protocol, String> {
        match self.protocol.as_deref() {
            None | Some("") => Ok(Protocol::Custom("custom".into())),
            Some(name) => Protocol::from_manifest(name).map_err(|e| format!("protocol: {e}")),
        }
    }

    /// Every protocol the model serves: its `protocols` list, or for an older
    /// manifest every protocol of its default's network (the exporter wrote
    /// `pytorch-fid` only for the TF-2015 FID Inception, which all three FID
    /// protocols run).
    pub fn supported_protocols(&self) -> Result<Vec<Protocol>, String> {
        match &self.protocols {
            Some(list) => Ok(list.clone()),
            None => Ok(self.default_protocol()?.same_network()),
        }
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
