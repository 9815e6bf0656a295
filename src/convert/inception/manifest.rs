//! The manifest of each Inception kind: role, name, the scoring protocols
//! the network serves and the default one's input mapping, resize and
//! Inception Score logits — what `models/export_inception.py` writes for the
//! same `--kind`. Named protocols take their settings from
//! [`Protocol::spec`], their one definition.

use super::{INPUT_SIZE, POOL_FEATURES, Variant};
use crate::images::ResizeMode;
use crate::models::{
    InputSpec, IsDefaults, Manifest, OutputKind, OutputSpec, PYTORCH_FID, Protocol, ProtocolSpec,
    Role, STACKGAN_IS,
};
use crate::spelling::spelt_enum;

/// torchvision's ImageNet normalisation.
const IMAGENET_MEAN: [f64; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f64; 3] = [0.229, 0.224, 0.225];

spelt_enum! {
    /// How the ImageNet Inception's input is mapped from pixels (the Python
    /// exporter's `--input-map`).
    #[derive(Default)]
    pub enum InputMap ("input map") {
        /// DM-GAN's `eval/FID`: torchvision's `transform_input` formula applied
        /// to [0, 1] pixels, `x·(s/0.5) + (m − 0.5)/0.5`, i.e. mean `(0.5 − m)/s`,
        /// std `0.5/s` (the default: what DM-GAN and DF-GAN report).
        #[default]
        DmGan = "dm-gan",
        /// Pixels to [−1, 1], what `transform_input=True` makes of correctly
        /// ImageNet-normalised input.
        Tf = "tf",
    }
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
        let outputs = vec![
            output("pool", OutputKind::Pool, POOL_FEATURES),
            output("logits", OutputKind::Logits, classes),
            output("logits_unbiased", OutputKind::LogitsUnbiased, classes),
        ];
        let is_logits = outputs
            .iter()
            .find(|o| o.kind == settings.input.is_logits)
            .map(|o| o.name.clone());
        let side = INPUT_SIZE as i64;
        Manifest {
            format: 1,
            role: settings.role,
            name: settings.name,
            description: settings.description,
            onnx_sha256: String::new(),
            protocol: Some(settings.protocol.name().to_string()),
            protocols: Some(settings.protocols),
            weights: Some(weights.to_string()),
            input: InputSpec {
                name: "images".into(),
                shape: vec![-1, 3, side, side],
                layout: "NCHW".into(),
                color: "RGB".into(),
                mean: settings.input.mean,
                std: settings.input.std,
                resize: Some(settings.input.resize.name().to_string()),
            },
            outputs,
            inception_score: Some(IsDefaults {
                logits: is_logits,
                drop_columns: settings.drop_columns,
            }),
        }
    }

    fn settings(&self, classes: usize) -> Settings {
        match self {
            InceptionKind::Fid => {
                let protocol = Protocol::PytorchFid;
                Settings {
                    role: Role::Extractor,
                    name: "pytorch-fid-inception-v3".into(),
                    description: "TF-2015 Inception-v3 ported by pytorch-fid (FID blocks), pool3 + 1008 logits".into(),
                    input: Input::from(PYTORCH_FID),
                    protocols: protocol.same_network(),
                    protocol,
                    drop_columns: Vec::new(),
                }
            }
            InceptionKind::Imagenet(map) => {
                let (name, mean, std, note) = match map {
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
                        [0.5; 3],
                        [0.5; 3],
                        "pixels mapped to [-1, 1] (what transform_input=True makes of ImageNet-normalised input)",
                    ),
                };
                let protocol = Protocol::Custom(name.into());
                Settings {
                    role: Role::Extractor,
                    name: "torchvision-inception-v3-imagenet".into(),
                    description: format!(
                        "torchvision ImageNet Inception-v3 ({classes} classes), pool3; {note}"
                    ),
                    input: Input {
                        resize: ResizeMode::PilBilinear,
                        mean,
                        std,
                        is_logits: OutputKind::Logits,
                    },
                    protocols: vec![protocol.clone()],
                    protocol,
                    drop_columns: Vec::new(),
                }
            }
            InceptionKind::Classifier(options) => {
                let protocol = Protocol::StackganIs;
                Settings {
                    role: Role::Classifier,
                    name: options
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("inception-v3-classifier-{classes}")),
                    description: format!(
                        "fine-tuned Inception-v3 classifier, {classes} classes ({} blocks)",
                        options.variant.name()
                    ),
                    input: Input::from(STACKGAN_IS),
                    protocols: vec![protocol.clone()],
                    protocol,
                    drop_columns: options.drop_columns.clone(),
                }
            }
        }
    }
}

/// What differs between the kinds' manifests.
struct Settings {
    role: Role,
    name: String,
    description: String,
    /// The default scoring protocol, and every one the network serves.
    protocol: Protocol,
    protocols: Vec<Protocol>,
    /// The default protocol's input mapping, resize and IS logits.
    input: Input,
    drop_columns: Vec<usize>,
}

/// How the default protocol feeds the network and reads its logits.
struct Input {
    /// value = (pixel/255 − mean[c]) / std[c]
    mean: [f32; 3],
    std: [f32; 3],
    resize: ResizeMode,
    /// The output the Inception Score reads.
    is_logits: OutputKind,
}

impl From<ProtocolSpec> for Input {
    fn from(spec: ProtocolSpec) -> Input {
        Input {
            mean: spec.mean,
            std: spec.std,
            resize: spec.resize,
            is_logits: spec.is_logits,
        }
    }
}
