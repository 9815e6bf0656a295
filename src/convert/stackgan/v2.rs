//! StackGAN-v2's tree generator `G_NET` (`V2Generator` in
//! `models/stackgan_nets.py`): one image per branch, 64, 128 and 256 pixels.
//!
//! Conditional (`v2-birds`): inputs `z`, `text_embedding`, `eps`; the
//! conditioning augmentation draws once and all stages share the code;
//! outputs the images, `mu` and `logvar`. Unconditional (`v2-uncond`):
//! input `z`, which is itself the condition of stages 2–3; outputs the images.

use super::blocks::{Activation, BN_EPS, Signature, cond_augment, conv3x3, image_head, up_block};
use super::widths::V2Widths;
use crate::convert::onnx::{GraphBuilder, Value};
use crate::models::GeneratorInputKind;

/// The whole generator, inputs to outputs.
pub fn network(g: &mut GraphBuilder, widths: &V2Widths) -> Signature {
    let mut signature = Signature::default();
    let z = signature.input(g, "z", GeneratorInputKind::NoiseZ, widths.z_dim);
    let conditioning = widths.conditional.then(|| {
        let text = signature.input(
            g,
            "text_embedding",
            GeneratorInputKind::TextEmbedding,
            widths.text_dim,
        );
        let eps = signature.input(g, "eps", GeneratorInputKind::NoiseEps, widths.embedding_dim);
        cond_augment(g, "", &text, &eps, widths.embedding_dim, Activation::Glu)
    });
    let (condition, code) = match &conditioning {
        Some(c) => (c.code.clone(), g.concat(&[&c.code, &z])),
        None => (z.clone(), z),
    };
    let mut h = first_stage(g, &code, widths.gf_dim * 16);
    let mut images = vec![image_head(g, &h, "img_net1.")];
    for k in 2..=widths.branch_num {
        h = next_stage(g, &h, &condition, &format!("h_net{k}"), widths.r_num);
        images.push(image_head(g, &h, &format!("img_net{k}.")));
    }
    for image in &images {
        signature.image(g, image);
    }
    if let Some(conditioning) = &conditioning {
        signature.distribution(g, conditioning);
    }
    signature
}

/// `h_net1`: code → Linear (no bias) → BatchNorm1d → GLU → (ngf, 4, 4) →
/// four up-blocks, each halving the channels → 64×64.
fn first_stage(g: &mut GraphBuilder, code: &Value, ngf: usize) -> Value {
    let h = g.linear(code, "h_net1.fc.0", ngf * 16 * 2, false);
    let h = g.batch_norm(&h, "h_net1.fc.1", BN_EPS);
    let h = g.glu(&h);
    let mut h = g.reshape(&h, &[ngf, 4, 4]);
    for i in 1..=4 {
        h = up_block(
            g,
            &h,
            &format!("h_net1.upsample{i}"),
            ngf >> i,
            Activation::Glu,
        );
    }
    h
}

/// `h_net2`/`h_net3`: cat(tiled condition, h) → jointConv (conv3x3, BN,
/// GLU) → residual blocks → up-block halving the channels.
fn next_stage(
    g: &mut GraphBuilder,
    h: &Value,
    condition: &Value,
    prefix: &str,
    r_num: usize,
) -> Value {
    let ngf = h.channels();
    let (height, width) = match h.dims() {
        [_, height, width] => (*height, *width),
        _ => (1, 1),
    };
    let tiled = g.tile_spatial(condition, height, width);
    let joint = g.concat(&[&tiled, h]);
    let x = g.conv2d(&joint, &format!("{prefix}.jointConv.0"), conv3x3(2 * ngf));
    let x = g.batch_norm(&x, &format!("{prefix}.jointConv.1"), BN_EPS);
    let mut x = g.glu(&x);
    for i in 0..r_num {
        x = residual(g, &x, &format!("{prefix}.residual.{i}.block"));
    }
    up_block(
        g,
        &x,
        &format!("{prefix}.upsample"),
        ngf / 2,
        Activation::Glu,
    )
}

/// `V2ResBlock`: x + BN(conv(GLU(BN(conv(x))))), no activation after the sum.
fn residual(g: &mut GraphBuilder, x: &Value, prefix: &str) -> Value {
    let c = x.channels();
    let r = g.conv2d(x, &format!("{prefix}.0"), conv3x3(2 * c));
    let r = g.batch_norm(&r, &format!("{prefix}.1"), BN_EPS);
    let r = g.glu(&r);
    let r = g.conv2d(&r, &format!("{prefix}.3"), conv3x3(c));
    let r = g.batch_norm(&r, &format!("{prefix}.4"), BN_EPS);
    g.add(x, &r)
}
