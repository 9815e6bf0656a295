//! Scoring protocols: everything a reference tool fixes about how an image
//! becomes the numbers it reports — the resize, the map from pixels to the
//! network's input, which logits the Inception Score reads and how it forms
//! its splits. The same weights give FIDs 1.6–2.1% apart under pytorch-fid's
//! and torch-fidelity's protocols, so a protocol is chosen as one switch,
//! never assembled from separate flags.

use std::fmt;
use std::str::FromStr;

use crate::images::{Preprocess, ResizeMode};
use crate::spelling::spelt_enum;

use super::OutputKind;

/// A scoring protocol. The four named ones reproduce a reference tool; a
/// model's own protocol (`Custom`, e.g. the demo's `demo`) feeds the model
/// exactly as its manifest's `[input]` and `[inception_score]` say.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// pytorch-fid 0.3.0: torch bilinear resize (`legacy-pytorch`), `2x − 1`.
    PytorchFid,
    /// clean-fid (mode `clean`): Pillow bicubic on float32 (`clean`), `(x − 128) / 128`.
    CleanFid,
    /// torch-fidelity 0.4: TF1 bilinear (`legacy-tf`), `(x − 128) / 128`;
    /// IS from the logits without the fc bias, seeded shuffle, 10 splits.
    TorchFidelity,
    /// StackGAN's `inception_score.py`: Pillow bilinear on 8 bits
    /// (`pil-bilinear`), `x / 127.5 − 1`, the fine-tuned classifier's logits
    /// with the background column dropped, batches of 64, no shuffle.
    StackganIs,
    /// A model's own protocol, named by its manifest.
    Custom(String),
}

spelt_enum! {
    /// How the Inception Score forms its splits and spread.
    #[derive(Default)]
    pub enum IsProtocol ("IS protocol") {
        /// torch-fidelity 0.4: contiguous splits, shuffled with seed 2020 by default.
        #[default]
        TorchFidelity = "torch-fidelity",
        /// StackGAN's script: background column 0 dropped, batches of 64 with
        /// the remainder dropped, no shuffle.
        Stackgan = "stackgan",
    }
}

/// The input mapping of pytorch-fid (`2x − 1`) and StackGAN (`x / 127.5 − 1`) on the unit scale.
const HALF: [f32; 3] = [0.5; 3];
/// `(x − 128) / 128` on the unit scale (clean-fid, torch-fidelity, the TF graph itself).
const TF_128: [f32; 3] = [128.0 / 255.0; 3];

/// What a named protocol sets.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolSpec {
    /// The reference tool's resize.
    pub resize: ResizeMode,
    /// Input mapping `(pixel/255 − mean[c]) / std[c]`.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// The output kind the Inception Score reads.
    pub is_logits: OutputKind,
    /// How the Inception Score forms its splits.
    pub is_protocol: IsProtocol,
}

/// The three FID protocols share the network and its IS; they differ before it.
const fn fid_inception(resize: ResizeMode, mapping: [f32; 3]) -> ProtocolSpec {
    ProtocolSpec {
        resize,
        mean: mapping,
        std: mapping,
        // torch-fidelity's IS input; pytorch-fid and clean-fid have no IS of their own.
        is_logits: OutputKind::LogitsUnbiased,
        is_protocol: IsProtocol::TorchFidelity,
    }
}

/// pytorch-fid's settings.
pub const PYTORCH_FID: ProtocolSpec = fid_inception(ResizeMode::LegacyPytorch, HALF);
const CLEAN_FID: ProtocolSpec = fid_inception(ResizeMode::Clean, TF_128);
const TORCH_FIDELITY: ProtocolSpec = fid_inception(ResizeMode::LegacyTf, TF_128);
/// StackGAN's Inception Score settings.
pub const STACKGAN_IS: ProtocolSpec = ProtocolSpec {
    resize: ResizeMode::PilBilinear,
    mean: HALF,
    std: HALF,
    is_logits: OutputKind::Logits,
    is_protocol: IsProtocol::Stackgan,
};

impl ProtocolSpec {
    /// The network input this protocol builds for a `height × width` model.
    pub fn preprocess(&self, height: usize, width: usize) -> Preprocess {
        Preprocess {
            resize: self.resize,
            height,
            width,
            mean: self.mean,
            std: self.std,
        }
    }
}

impl Protocol {
    /// The named protocols, in the order `--help` lists them.
    pub const NAMED: [Protocol; 4] = [
        Protocol::PytorchFid,
        Protocol::CleanFid,
        Protocol::TorchFidelity,
        Protocol::StackganIs,
    ];

    /// The name used on the command line, in manifests and in reports.
    pub fn name(&self) -> &str {
        match self {
            Protocol::PytorchFid => "pytorch-fid",
            Protocol::CleanFid => "clean-fid",
            Protocol::TorchFidelity => "torch-fidelity",
            Protocol::StackganIs => "stackgan-is",
            Protocol::Custom(name) => name,
        }
    }

    /// What a named protocol sets; `None` for a model's own protocol, whose
    /// settings are its manifest's.
    pub fn spec(&self) -> Option<ProtocolSpec> {
        match self {
            Protocol::PytorchFid => Some(PYTORCH_FID),
            Protocol::CleanFid => Some(CLEAN_FID),
            Protocol::TorchFidelity => Some(TORCH_FIDELITY),
            Protocol::StackganIs => Some(STACKGAN_IS),
            Protocol::Custom(_) => None,
        }
    }

    /// The protocols a network serving `self` also serves: the three FID
    /// protocols run the same TF-2015 Inception and differ only before it.
    pub fn same_network(&self) -> Vec<Protocol> {
        match self {
            Protocol::PytorchFid | Protocol::CleanFid | Protocol::TorchFidelity => vec![
                Protocol::PytorchFid,
                Protocol::CleanFid,
                Protocol::TorchFidelity,
            ],
            other => vec![other.clone()],
        }
    }

    /// The protocol a manifest's `protocol` names. Names the exporters wrote
    /// before the protocols had one spelling are read as what they meant.
    pub fn from_manifest(name: &str) -> Result<Protocol, String> {
        match name {
            "stackgan-inception-score" => Ok(Protocol::StackganIs),
            other => other.parse(),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Protocol {
    type Err = String;

    /// A named protocol, or a model's own protocol name (lowercase letters,
    /// digits and `-`, `_`, `.`), which only a model of that protocol serves.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(named) = Protocol::NAMED.into_iter().find(|p| p.name() == s) {
            return Ok(named);
        }
        let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
        if s.is_empty() || !s.chars().all(plain) {
            return Err(format!(
                "`{s}` is not a protocol name; use pytorch-fid, clean-fid, torch-fidelity, stackgan-is or the model's own (its manifest's `protocol`)"
            ));
        }
        Ok(Protocol::Custom(s.to_string()))
    }
}

impl serde::Serialize for Protocol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Protocol {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_one_spelling() {
        for p in Protocol::NAMED
            .into_iter()
            .chain([Protocol::Custom("demo".into())])
        {
            assert_eq!(p.to_string().parse::<Protocol>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Protocol>(&json).unwrap(), p);
        }
        assert!("Clean FID".parse::<Protocol>().is_err());
        assert!("".parse::<Protocol>().is_err());
    }

    #[test]
    fn the_legacy_exporter_name_means_stackgan_is() {
        assert_eq!(
            Protocol::from_manifest("stackgan-inception-score").unwrap(),
            Protocol::StackganIs
        );
    }

    #[test]
    fn tf_mapping_is_x_minus_128_over_128() {
        let spec = Protocol::TorchFidelity.spec().unwrap();
        for level in [0u8, 1, 64, 127, 128, 129, 200, 255] {
            let unit = level as f32 / 255.0;
            let fed = (unit - spec.mean[0]) / spec.std[0];
            let exact = (level as f32 - 128.0) / 128.0;
            assert!((fed - exact).abs() <= 2e-7, "{level}: {fed} vs {exact}");
        }
    }
}
