//! The generator manifest of a converted StackGAN: what
//! `models/export_stackgan.py` writes for the same `--config` (the
//! `[generator]` table of hyper-parameters, `[[inputs]]`, `[[outputs]]`,
//! the tanh value range), made from the widths read and the signature the
//! graph was built with.

use super::StackganKind;
use super::blocks::Signature;
use super::widths::{V1Widths, V2Widths};
use crate::models::{GeneratorArchitecture, GeneratorManifest, Role};

/// Generator images are tanh outputs.
const VALUE_RANGE: [f32; 2] = [-1.0, 1.0];

/// The widths a kind's generator was built with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Widths {
    V2(V2Widths),
    V1 {
        stage1: V1Widths,
        stage2: Option<V1Widths>,
    },
}

impl StackganKind {
    /// `stackgan-v2` or `stackgan-v1`: the manifest's `family` and `protocol`.
    pub fn family(self) -> &'static str {
        match self {
            StackganKind::V2Birds | StackganKind::V2Uncond => "stackgan-v2",
            StackganKind::V1Stage1 | StackganKind::V1Stage2 => "stackgan-v1",
        }
    }
}

/// The manifest of `kind`'s generator called `name`, made from the weight
/// file called `weights`; `onnx_sha256` is left empty for the writer.
pub fn manifest(
    kind: StackganKind,
    widths: &Widths,
    signature: Signature,
    name: &str,
    weights: &str,
) -> GeneratorManifest {
    let family = kind.family();
    let outputs: Vec<&str> = signature.outputs.iter().map(|o| o.name.as_str()).collect();
    GeneratorManifest {
        format: 1,
        role: Role::Generator,
        name: name.to_string(),
        description: format!(
            "{family} generator ({kind}), outputs {}; conditioning noise is an explicit input",
            outputs.join(", ")
        ),
        onnx_sha256: String::new(),
        protocol: Some(family.to_string()),
        weights: Some(weights.to_string()),
        value_range: VALUE_RANGE,
        generator: architecture(kind, widths, signature.resolutions()),
        inputs: signature.inputs,
        outputs: signature.outputs,
    }
}

/// The `[generator]` table. For v1 the top stage's widths, Z_DIM from
/// Stage-I, and Stage-I's GF_DIM apart when there is a Stage-II.
fn architecture(
    kind: StackganKind,
    widths: &Widths,
    resolutions: Vec<u32>,
) -> GeneratorArchitecture {
    let n = |width: usize| width as u32;
    let (conditional, gf_dim, z_dim, embedding_dim, text_dim, r_num, stage1_gf_dim) = match widths {
        Widths::V2(w) => (
            w.conditional,
            w.gf_dim,
            w.z_dim,
            w.embedding_dim,
            w.text_dim,
            w.r_num,
            None,
        ),
        Widths::V1 { stage1, stage2 } => {
            let top = stage2.as_ref().unwrap_or(stage1);
            let stage1_gf_dim = stage2.map(|_| n(stage1.gf_dim));
            (
                true,
                top.gf_dim,
                stage1.z_dim,
                top.condition_dim,
                top.text_dim,
                top.r_num,
                stage1_gf_dim,
            )
        }
    };
    GeneratorArchitecture {
        family: kind.family().to_string(),
        config: kind.name().to_string(),
        conditional,
        gf_dim: n(gf_dim),
        z_dim: n(z_dim),
        embedding_dim: n(embedding_dim),
        text_dim: n(text_dim),
        r_num: n(r_num),
        branch_num: resolutions.len() as u32,
        stage1_gf_dim,
        resolutions,
    }
}
