//! The hyper-parameters of a StackGAN generator, read from its tensor shapes
//! as `models/export_stackgan.py` reads them (`v2_config`, `v1_configs`):
//! GF_DIM from the first linear layer's rows (v2: GF_DIM·512; v1 Stage-I:
//! GF_DIM·128) or from `encoder.0.weight` (v1 Stage-II); EMBEDDING_DIM /
//! CONDITION_DIM and TEXT_DIM from `ca_net.fc.weight`; Z_DIM from the first
//! linear layer's inputs; BRANCH_NUM from the `h_netK` present; R_NUM from
//! the residual blocks. Widths that no generator can have (a GF_DIM the
//! up-blocks cannot halve, nothing left for z) are refused here, in one line
//! naming the file and the tensor.

use super::STAGE1_PREFIX;
use crate::convert::{ConvertError, StateDict};
use crate::npy::shape_text;

/// Wider than any generator: keeps every product of widths far from overflow.
const WIDEST: usize = 1 << 24;

/// StackGAN-v2 `G_NET` (upstream's yml names, lower case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V2Widths {
    pub gf_dim: usize,
    pub z_dim: usize,
    /// 0 when unconditional.
    pub embedding_dim: usize,
    /// 0 when unconditional.
    pub text_dim: usize,
    pub r_num: usize,
    pub branch_num: usize,
    pub conditional: bool,
}

impl V2Widths {
    /// The released CUB birds generator (upstream's `code/cfg/eval_birds.yml`).
    pub const CUB_BIRDS: V2Widths = V2Widths {
        gf_dim: 64,
        z_dim: 100,
        embedding_dim: 128,
        text_dim: 1024,
        r_num: 2,
        branch_num: 3,
        conditional: true,
    };

    /// Reads the widths of a conditional (`ca_net`) or unconditional generator.
    pub fn read(weights: &StateDict, conditional: bool) -> Result<V2Widths, ConvertError> {
        let (fc_out, fc_in) = matrix(weights, "h_net1.fc.0.weight")?;
        let gf_dim = fc_out / 512;
        if fc_out % 512 != 0 || gf_dim % 4 != 0 || gf_dim == 0 {
            return Err(refusal(
                weights,
                format!(
                    "`h_net1.fc.0.weight` has {fc_out} rows, but StackGAN-v2 has GF_DIM·512 with GF_DIM a multiple of 4"
                ),
            ));
        }
        let (embedding_dim, text_dim) = if conditional {
            let (ca_out, text_dim) = matrix(weights, "ca_net.fc.weight")?;
            if ca_out % 4 != 0 {
                return Err(refusal(
                    weights,
                    format!(
                        "`ca_net.fc.weight` has {ca_out} rows, but StackGAN-v2's conditioning has EMBEDDING_DIM·4"
                    ),
                ));
            }
            (ca_out / 4, text_dim)
        } else {
            (0, 0)
        };
        let z_dim = rest_for_z(weights, "h_net1.fc.0.weight", fc_in, embedding_dim)?;
        let branch_num = (1..=3)
            .filter(|k| {
                [
                    format!("h_net{k}.fc.0.weight"),
                    format!("h_net{k}.jointConv.0.weight"),
                ]
                .iter()
                .any(|key| weights.tensors.contains_key(key))
            })
            .count();
        Ok(V2Widths {
            gf_dim,
            z_dim,
            embedding_dim,
            text_dim,
            r_num: count_indexed(weights, "h_net2.residual."),
            branch_num,
            conditional,
        })
    }

    /// Channels of the condition tiled into stages 2–3 (z itself when unconditional).
    pub fn condition_dim(&self) -> usize {
        if self.conditional {
            self.embedding_dim
        } else {
            self.z_dim
        }
    }
}

/// One stage of the StackGAN-v1 PyTorch port (`GAN.GF_DIM`, `Z_DIM`,
/// `GAN.CONDITION_DIM`, `TEXT.DIMENSION`, `GAN.R_NUM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V1Widths {
    pub gf_dim: usize,
    pub z_dim: usize,
    pub condition_dim: usize,
    pub text_dim: usize,
    /// 0 for Stage-I, which has no residual blocks.
    pub r_num: usize,
}

impl V1Widths {
    /// Stage-I's widths from the keys under `prefix` (`""`, or `STAGE1_G.`
    /// inside a Stage-II checkpoint).
    pub fn stage1(weights: &StateDict, prefix: &str) -> Result<V1Widths, ConvertError> {
        let (condition_dim, text_dim) = v1_conditioning(weights, prefix)?;
        let fc = format!("{prefix}fc.0.weight");
        let (fc_out, fc_in) = matrix(weights, &fc)?;
        let gf_dim = fc_out / 128;
        if fc_out % 128 != 0 || gf_dim % 2 != 0 || gf_dim == 0 {
            return Err(refusal(
                weights,
                format!(
                    "`{fc}` has {fc_out} rows, but StackGAN-v1 Stage-I has GF_DIM·128 with GF_DIM even"
                ),
            ));
        }
        Ok(V1Widths {
            gf_dim,
            z_dim: rest_for_z(weights, &fc, fc_in, condition_dim)?,
            condition_dim,
            text_dim,
            r_num: 0,
        })
    }

    /// Stage-II's widths; its Stage-I (`stage1`) gives Z_DIM.
    pub fn stage2(weights: &StateDict, stage1: &V1Widths) -> Result<V1Widths, ConvertError> {
        let (condition_dim, text_dim) = v1_conditioning(weights, "")?;
        let encoder = weights.shape("encoder.0.weight")?;
        let gf_dim = encoder.first().copied().unwrap_or(0);
        if gf_dim % 4 != 0 || gf_dim == 0 || gf_dim > WIDEST {
            return Err(refusal(
                weights,
                format!(
                    "`encoder.0.weight` has shape {}, but StackGAN-v1 Stage-II's has GF_DIM rows, a multiple of 4",
                    shape_text(encoder)
                ),
            ));
        }
        Ok(V1Widths {
            gf_dim,
            z_dim: stage1.z_dim,
            condition_dim,
            text_dim,
            r_num: count_indexed(weights, "residual."),
        })
    }
}

/// (CONDITION_DIM, TEXT_DIM) of a v1 `ca_net`: Linear(text, 2·CONDITION_DIM).
fn v1_conditioning(weights: &StateDict, prefix: &str) -> Result<(usize, usize), ConvertError> {
    let key = format!("{prefix}ca_net.fc.weight");
    let (ca_out, text_dim) = matrix(weights, &key)?;
    if ca_out % 2 != 0 {
        return Err(refusal(
            weights,
            format!(
                "`{key}` has {ca_out} rows, but StackGAN-v1's conditioning has CONDITION_DIM·2"
            ),
        ));
    }
    Ok((ca_out / 2, text_dim))
}

/// Z_DIM: the first linear layer's inputs less the condition's.
fn rest_for_z(
    weights: &StateDict,
    key: &str,
    inputs: usize,
    condition: usize,
) -> Result<usize, ConvertError> {
    match inputs.checked_sub(condition) {
        Some(z_dim) if z_dim > 0 => Ok(z_dim),
        _ => Err(refusal(
            weights,
            format!(
                "`{key}` takes {inputs} inputs, leaving nothing for z beside the {condition} of the condition"
            ),
        )),
    }
}

/// (rows, columns) of the weight matrix `key`, both non-zero and plausible.
fn matrix(weights: &StateDict, key: &str) -> Result<(usize, usize), ConvertError> {
    match *weights.shape(key)? {
        [rows, columns] if (1..=WIDEST).contains(&rows) && (1..=WIDEST).contains(&columns) => {
            Ok((rows, columns))
        }
        ref shape => Err(refusal(
            weights,
            format!(
                "`{key}` has shape {}, not that of a linear layer's weight",
                shape_text(shape)
            ),
        )),
    }
}

/// How many blocks `{prefix}0.`, `{prefix}1.`, … there are (the highest index + 1).
fn count_indexed(weights: &StateDict, prefix: &str) -> usize {
    weights
        .tensors
        .keys()
        .filter_map(|key| {
            key.strip_prefix(prefix)?
                .split_once('.')?
                .0
                .parse::<usize>()
                .ok()
        })
        .map(|index| index + 1)
        .max()
        .unwrap_or(0)
}

fn refusal(weights: &StateDict, reason: String) -> ConvertError {
    ConvertError::Checkpoint {
        path: weights.source.clone(),
        reason: format!("{reason}; is this checkpoint of the --kind given?"),
    }
}

/// Whether the file nests a Stage-I under `STAGE1_G.` (a v1 Stage-II checkpoint).
pub fn nests_stage1(weights: &StateDict) -> bool {
    weights.tensors.keys().any(|k| k.starts_with(STAGE1_PREFIX))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::convert::{Tensor, TensorData};

    fn weights(shapes: &[(&str, &[usize])]) -> StateDict {
        let mut dict = StateDict::new(Path::new("netG.pth"));
        for (key, shape) in shapes {
            dict.tensors.insert(
                key.to_string(),
                Tensor {
                    shape: shape.to_vec(),
                    data: TensorData::Float(vec![0.0; shape.iter().product()]),
                    stored_as: "float32".into(),
                },
            );
        }
        dict
    }

    #[test]
    fn v2_birds_widths_come_from_the_shapes() {
        let dict = weights(&[
            ("ca_net.fc.weight", &[512, 1024]),
            ("h_net1.fc.0.weight", &[32768, 228]),
            ("h_net2.jointConv.0.weight", &[128, 192, 3, 3]),
            ("h_net2.residual.0.block.0.weight", &[1]),
            ("h_net2.residual.1.block.0.weight", &[1]),
            ("h_net3.jointConv.0.weight", &[1]),
        ]);
        assert_eq!(V2Widths::read(&dict, true).unwrap(), V2Widths::CUB_BIRDS);
    }

    #[test]
    fn impossible_widths_are_refused_naming_the_tensor() {
        for (shapes, conditional, names) in [
            (
                vec![("h_net1.fc.0.weight", &[1000usize, 10][..])],
                false,
                "`h_net1.fc.0.weight` has 1000 rows",
            ),
            (
                vec![
                    ("ca_net.fc.weight", &[32, 16][..]),
                    ("h_net1.fc.0.weight", &[2048, 8][..]),
                ],
                true,
                "leaving nothing for z",
            ),
            (
                vec![("h_net1.fc.0.weight", &[2048, 0, 1][..])],
                false,
                "not that of a linear layer's weight",
            ),
        ] {
            let error = V2Widths::read(&weights(&shapes), conditional)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("netG.pth: "), "{error}");
            assert!(error.contains(names), "{error}");
        }
        let stage2 = weights(&[
            ("ca_net.fc.weight", &[16, 32]),
            ("encoder.0.weight", &[6, 3, 3, 3]),
        ]);
        let stage1 = V1Widths {
            gf_dim: 4,
            z_dim: 10,
            condition_dim: 8,
            text_dim: 32,
            r_num: 0,
        };
        let error = V1Widths::stage2(&stage2, &stage1).unwrap_err().to_string();
        assert!(error.contains("a multiple of 4"), "{error}");
    }
}
