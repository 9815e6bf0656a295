//! The StackGAN-v1 PyTorch port's generators (`V1Stage1`, `V1Stage2` in
//! `models/stackgan_nets.py`).
//!
//! Stage-I (`v1-stage1`): inputs `text_embedding`, `z`, `eps1`; cat(z, c)
//! (z first) → Linear → BatchNorm1d → ReLU → four up-blocks → 64×64;
//! outputs `img64`, `mu`, `logvar`. Stage-II (`v1-stage2`) holds Stage-I
//! under `STAGE1_G.`, encodes its image to 16×16, draws its own condition
//! from the same text with `eps2` (no z of its own), cat(features, c) →
//! residual blocks → 256×256; outputs `img64`, `img256` and Stage-II's `mu`,
//! `logvar` (what upstream returns).

use super::blocks::{
    Activation, BN_EPS, Conditioning, Signature, cond_augment, conv3x3, image_head, up_block,
};
use super::widths::V1Widths;
use crate::convert::onnx::{Conv2d, GraphBuilder, Value};
use crate::models::GeneratorInputKind;

/// A v1 generator: Stage-I alone (its keys under `stage1_prefix`), or
/// Stage-II with its Stage-I.
pub fn network(
    g: &mut GraphBuilder,
    stage1: &V1Widths,
    stage1_prefix: &str,
    stage2: Option<&V1Widths>,
) -> Signature {
    let top = stage2.unwrap_or(stage1);
    let mut signature = Signature::default();
    let text = signature.input(
        g,
        "text_embedding",
        GeneratorInputKind::TextEmbedding,
        top.text_dim,
    );
    let z = signature.input(g, "z", GeneratorInputKind::NoiseZ, stage1.z_dim);
    let eps1 = signature.input(g, "eps1", GeneratorInputKind::NoiseEps, top.condition_dim);
    let eps2 =
        stage2.map(|_| signature.input(g, "eps2", GeneratorInputKind::NoiseEps, top.condition_dim));
    let (img64, conditioning1) = stage_one(g, stage1, stage1_prefix, &text, &z, &eps1);
    signature.image(g, &img64);
    let conditioning = match (stage2, &eps2) {
        (Some(widths), Some(eps2)) => {
            let (img256, conditioning2) = stage_two(g, widths, &img64, &text, eps2);
            signature.image(g, &img256);
            conditioning2
        }
        _ => conditioning1,
    };
    signature.distribution(g, &conditioning);
    signature
}

/// `STAGE1_G` with its keys under `prefix`: (img64, its conditioning).
fn stage_one(
    g: &mut GraphBuilder,
    widths: &V1Widths,
    prefix: &str,
    text: &Value,
    z: &Value,
    eps: &Value,
) -> (Value, Conditioning) {
    let conditioning = cond_augment(g, prefix, text, eps, widths.condition_dim, Activation::Relu);
    let code = g.concat(&[z, &conditioning.code]);
    let ngf = widths.gf_dim * 8;
    let h = g.linear(&code, &format!("{prefix}fc.0"), ngf * 16, false);
    let h = g.batch_norm(&h, &format!("{prefix}fc.1"), BN_EPS);
    let h = g.relu(&h);
    let mut h = g.reshape(&h, &[ngf, 4, 4]);
    for i in 1..=4 {
        let block = format!("{prefix}upsample{i}");
        h = up_block(g, &h, &block, ngf >> i, Activation::Relu);
    }
    (image_head(g, &h, prefix), conditioning)
}

/// `STAGE2_G` on Stage-I's image: (img256, Stage-II's conditioning).
fn stage_two(
    g: &mut GraphBuilder,
    widths: &V1Widths,
    img64: &Value,
    text: &Value,
    eps: &Value,
) -> (Value, Conditioning) {
    let gf = widths.gf_dim;
    let features = encoder(g, img64, gf);
    let conditioning = cond_augment(g, "", text, eps, widths.condition_dim, Activation::Relu);
    let side = features.dims().last().copied().unwrap_or(1);
    let tiled = g.tile_spatial(&conditioning.code, side, side);
    let joint = g.concat(&[&features, &tiled]);
    let h = g.conv2d(&joint, "hr_joint.0", conv3x3(gf * 4));
    let h = g.batch_norm(&h, "hr_joint.1", BN_EPS);
    let mut h = g.relu(&h);
    for i in 0..widths.r_num {
        h = residual(g, &h, &format!("residual.{i}.block"));
    }
    for (i, out) in [gf * 2, gf, gf / 2, gf / 4].into_iter().enumerate() {
        h = up_block(g, &h, &format!("upsample{}", i + 1), out, Activation::Relu);
    }
    (image_head(g, &h, ""), conditioning)
}

/// `encoder`: conv3x3 (0), ReLU, conv 4×4/2 (2), BN (3), ReLU, conv 4×4/2
/// (5), BN (6), ReLU: 3×64×64 → 4·gf × 16×16.
fn encoder(g: &mut GraphBuilder, image: &Value, gf: usize) -> Value {
    let down = |out: usize| Conv2d::new(out, 4).stride(2).padding(1).without_bias();
    let x = g.conv2d(image, "encoder.0", conv3x3(gf));
    let x = g.relu(&x);
    let x = g.conv2d(&x, "encoder.2", down(gf * 2));
    let x = g.batch_norm(&x, "encoder.3", BN_EPS);
    let x = g.relu(&x);
    let x = g.conv2d(&x, "encoder.5", down(gf * 4));
    let x = g.batch_norm(&x, "encoder.6", BN_EPS);
    g.relu(&x)
}

/// `V1ResBlock`: ReLU(x + BN(conv(ReLU(BN(conv(x)))))).
fn residual(g: &mut GraphBuilder, x: &Value, prefix: &str) -> Value {
    let c = x.channels();
    let r = g.conv2d(x, &format!("{prefix}.0"), conv3x3(c));
    let r = g.batch_norm(&r, &format!("{prefix}.1"), BN_EPS);
    let r = g.relu(&r);
    let r = g.conv2d(&r, &format!("{prefix}.3"), conv3x3(c));
    let r = g.batch_norm(&r, &format!("{prefix}.4"), BN_EPS);
    let sum = g.add(x, &r);
    g.relu(&sum)
}
