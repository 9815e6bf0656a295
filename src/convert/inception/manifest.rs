//! The manifest of each Inception kind: role, name, how pixels become the
//! network's input, the default resize and the Inception Score's logits —
//! the settings `models/export_inception.py` writes for the same `--kind`.

use super::{INPUT_SIZE, POOL_FEATURES, Variant};
use crate::models::{InputSpec, IsDefaults, Manifest, OutputKind, OutputSpec, Role};

/// torchvision's ImageNet normalisation.
const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

/// How the ImageNet Inception's input is mapped from pixels (the Python
/// exporter's `--input-map`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InputMap {
    /// DM-GAN's `eval/FID`: torchvision's `transform_input` formula applied
    /// to [0, 1] pixels, `x·(s/0.5) + (m − 0.5)/0.5`, i.e. mean `(0.5 − m)/s`,
    /// std `0.5/s` (the default: what DM-GAN and DF-GAN report).
    #[default]
    DmGan,
    /// Pixels to [−1, 1], what `transform_input=True` makes of correctly
    /// ImageNet-normalised input.
    Tf,
}

/// Which Inception-v3 a checkpoint holds and how it is to be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InceptionKind {
    /// pytorch-fid's FID Inception (`pt_inception-2015-12-05-6726825d.pth`, 1008 classes).
    Fid,
    /// torchvision's ImageNet Inception-v3 (1000 classes).
    Imagenet(InputMap),
    /// A fine-tuned classifier (StackGAN's Inception Score model).
    Classifier(ClassifierOptions),
}

/// The choices a fine-tuned classifier leaves open.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ClassifierOptions {
    /// The pooling of its blocks (torchvision unless converted from TF-slim).
    pub variant: Variant,
    /// Logit columns the Inception Score drops (`[0]`: StackGAN's background class).
    pub drop_columns: Vec<usize>,
    /// The manifest's name (default `inception-v3-classifier-<classes>`).
    pub name: Option<String>,
}

impl InceptionKind {
    /// The `--kind` name: `fid`, `imagenet`, `classifier`.
    pub fn name(&self) -> &'static str {
        match self {
            InceptionKind::Fid => "fid",
            InceptionKind::Imagenet(_) => "imagenet",
            InceptionKind::Classifier(_) => "classifier",
        }
    }

    /// The block variant the kind's network uses.
    pub fn variant(&self) -> Variant {
        match self {
            InceptionKind::Fid => Variant::Fid,
            InceptionKind::Imagenet(_) => Variant::Torchvision,
            InceptionKind::Classifier(options) => options.variant,
        }
    }

    /// The class count the kind insists on (`None`: any, read from `fc.weight`).
    pub fn required_classes(&self) -> Option<usize> {
        match self {
            InceptionKind::Fid => Some(1008),
            InceptionKind::Imagenet(_) => Some(1000),
            InceptionKind::Classifier(_) => None,
        }
    }

    /// The manifest for a converted network with `classes` logits, made from
    /// the weight file called `weights`; `onnx_sha256` is left empty for the
    /// writer to fill in.
    pub fn manifest(&self, classes: usize, weights: &str) -> Manifest {
        let settings = self.settings(classes);
        let output = |name: &str, kind, width| OutputSpec {
            name: name.to_string(),
            kind,
            shape: vec![-1, width as i64],
        };
        let side = INPUT_SIZE as i64;
        Manifest {
            format: 1,
            role: settings.role,
            name: settings.name,
            description: settings.description,
            onnx_sha256: String::new(),
            protocol: Some(settings.protocol.to_string()),
            weights: Some(weights.to_string()),
            input: InputSpec {
                name: "images".into(),
                shape: vec![-1, 3, side, side],
                layout: "NCHW".into(),
                color: "RGB".into(),
                mean: settings.mean,
                std: settings.std,
                resize: Some(settings.resize.to_string()),
            },
            outputs: vec![
                output("pool", OutputKind::Pool, POOL_FEATURES),
                output("logits", OutputKind::Logits, classes),
                output("logits_unbiased", OutputKind::LogitsUnbiased, classes),
            ],
            inception_score: Some(IsDefaults {
                logits: Some(settings.is_logits.to_string()),
                drop_columns: settings.drop_columns,
            }),
        }
    }

    fn settings(&self, classes: usize) -> Settings {
        let half = [0.5; 3];
        match self {
            InceptionKind::Fid => Settings {
                role: Role::Extractor,
                name: "pytorch-fid-inception-v3".into(),
                description:
                    "TF-2015 Inception-v3 ported by pytorch-fid (FID blocks), pool3 + 1008 logits"
                        .into(),
                protocol: "pytorch-fid",
                mean: half,
                std: half,
                resize: "legacy-pytorch",
                is_logits: "logits_unbiased",
                drop_columns: Vec::new(),
            },
            InceptionKind::Imagenet(map) => {
                let (protocol, mean, std, note) = match map {
                    InputMap::DmGan => (
                        "dm-gan",
                        std::array::from_fn(|c| {
                            ((0.5 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) as f32
                        }),
                        std::array::from_fn(|c| (0.5 / IMAGENET_STD[c]) as f32),
                        "pixels/255 mapped by transform_input's formula as in DM-GAN's eval/FID",
                    ),
                    InputMap::Tf => (
                        "torchvision",
                        half,
                        half,
                        "pixels mapped to [-1, 1] (what transform_input=True makes of ImageNet-normalised input)",
                    ),
                };
                Settings {
                    role: Role::Extractor,
                    name: "torchvision-inception-v3-imagenet".into(),
                    description: format!(
                        "torchvision ImageNet Inception-v3 ({classes} classes), pool3; {note}"
                    ),
                    protocol,
                    mean,
                    std,
                    resize: "pil-bilinear",
                    is_logits: "logits",
                    drop_columns: Vec::new(),
                }
            }
            InceptionKind::Classifier(options) => Settings {
                role: Role::Classifier,
                name: options
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("inception-v3-classifier-{classes}")),
                description: format!(
                    "fine-tuned Inception-v3 classifier, {classes} classes ({} blocks)",
                    options.variant.name()
                ),
                protocol: "stackgan-inception-score",
                mean: half,
                std: half,
                resize: "pil-bilinear",
                is_logits: "logits",
                drop_columns: options.drop_columns.clone(),
            },
        }
    }
}

/// What differs between the kinds' manifests.
struct Settings {
    role: Role,
    name: String,
    description: String,
    protocol: &'static str,
    /// Input mapping: value = (pixel/255 − mean[c]) / std[c].
    mean: [f32; 3],
    std: [f32; 3],
    /// The protocol's default resize mode.
    resize: &'static str,
    /// The output the Inception Score reads.
    is_logits: &'static str,
    drop_columns: Vec<usize>,
}
