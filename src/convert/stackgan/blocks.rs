//! The pieces both StackGAN families are made of, as `models/stackgan_nets.py`
//! defines them: conditioning augmentation with explicit noise, the
//! up-blocks (`nn.Sequential(Upsample, conv3x3, BatchNorm2d, GLU|ReLU)`, so
//! their weights sit at indices 1 and 2), the image head, and the graph's
//! inputs and outputs recorded as the manifest lists them.

use crate::convert::onnx::{Conv2d, GraphBuilder, Value};
use crate::models::{GeneratorInput, GeneratorInputKind, GeneratorOutput, GeneratorOutputKind};

/// PyTorch's BatchNorm default epsilon (every StackGAN batch norm).
pub const BN_EPS: f32 = 1e-5;

/// What the noise inputs are drawn from (the manifest's `distribution`).
const NOISE: &str = "standard_normal";

/// The 3×3 convolution of every StackGAN generator: stride 1, padding 1, no bias.
pub fn conv3x3(out_channels: usize) -> Conv2d {
    Conv2d::new(out_channels, 3).padding(1).without_bias()
}

/// How an up-block or the conditioning ends: v2 gates (GLU, halving the
/// channels), v1 rectifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Glu,
    Relu,
}

impl Activation {
    pub fn apply(self, g: &mut GraphBuilder, x: &Value) -> Value {
        match self {
            Activation::Glu => g.glu(x),
            Activation::Relu => g.relu(x),
        }
    }

    /// Channels produced before the activation for `out` after it.
    fn widened(self, out: usize) -> usize {
        match self {
            Activation::Glu => 2 * out,
            Activation::Relu => out,
        }
    }
}

/// `glu_up_block` / `relu_up_block`: nearest ×2, conv3x3 (`{prefix}.1`),
/// BatchNorm (`{prefix}.2`), activation → `out` channels at twice the size.
pub fn up_block(
    g: &mut GraphBuilder,
    x: &Value,
    prefix: &str,
    out: usize,
    activation: Activation,
) -> Value {
    let x = g.upsample_nearest(x, 2);
    let x = g.conv2d(&x, &format!("{prefix}.1"), conv3x3(activation.widened(out)));
    let x = g.batch_norm(&x, &format!("{prefix}.2"), BN_EPS);
    activation.apply(g, &x)
}

/// `image_head`: conv3x3 to RGB (`{prefix}img.0`), tanh.
pub fn image_head(g: &mut GraphBuilder, x: &Value, prefix: &str) -> Value {
    let x = g.conv2d(x, &format!("{prefix}img.0"), conv3x3(3));
    g.tanh(&x)
}

/// A conditioning draw: the code fed on, and the distribution it came from.
pub struct Conditioning {
    pub code: Value,
    pub mu: Value,
    pub logvar: Value,
}

/// `CondAugment` (`{prefix}ca_net.fc`): Linear(text → 4·dim) + GLU for v2,
/// Linear(text → 2·dim) + ReLU for v1; the first `dim` values are mu, the
/// rest logvar; code = mu + eps·exp(logvar / 2).
pub fn cond_augment(
    g: &mut GraphBuilder,
    prefix: &str,
    text: &Value,
    eps: &Value,
    dim: usize,
    activation: Activation,
) -> Conditioning {
    let stats = g.linear(
        text,
        &format!("{prefix}ca_net.fc"),
        activation.widened(2 * dim),
        true,
    );
    let stats = activation.apply(g, &stats);
    let mut halves = g.split_channels(&stats, &[dim, dim]).into_iter();
    let (Some(mu), Some(logvar)) = (halves.next(), halves.next()) else {
        unreachable!("split_channels gives one value per size")
    };
    let half = g.scale(&logvar, 0.5);
    let std = g.exp(&half);
    let noise = g.mul(eps, &std);
    let code = g.add(&mu, &noise);
    Conditioning { code, mu, logvar }
}

/// The graph's inputs and outputs as the manifest lists them, recorded as
/// the network creates them so the two cannot disagree.
#[derive(Default)]
pub struct Signature {
    pub inputs: Vec<GeneratorInput>,
    pub outputs: Vec<GeneratorOutput>,
}

impl Signature {
    /// A graph input of `width` values per sample.
    pub fn input(
        &mut self,
        g: &mut GraphBuilder,
        name: &str,
        kind: GeneratorInputKind,
        width: usize,
    ) -> Value {
        self.inputs.push(GeneratorInput {
            name: name.to_string(),
            kind,
            shape: vec![-1, width as i64],
            distribution: (kind != GeneratorInputKind::TextEmbedding).then(|| NOISE.to_string()),
        });
        g.input(name, &[width])
    }

    /// `value` as the graph output `name`; an image's name is `img{R}`.
    pub fn output(
        &mut self,
        g: &mut GraphBuilder,
        value: &Value,
        name: &str,
        kind: GeneratorOutputKind,
    ) {
        let shape = std::iter::once(-1)
            .chain(value.dims().iter().map(|&d| d as i64))
            .collect();
        let resolution = (kind == GeneratorOutputKind::Image)
            .then(|| value.dims().last().map(|&side| side as u32))
            .flatten();
        self.outputs.push(GeneratorOutput {
            name: name.to_string(),
            kind,
            shape,
            resolution,
        });
        g.output(value, name);
    }

    /// An image branch, named after its side (`img64`, `img128`, …).
    pub fn image(&mut self, g: &mut GraphBuilder, image: &Value) {
        let side = image.dims().last().copied().unwrap_or(0);
        self.output(g, image, &format!("img{side}"), GeneratorOutputKind::Image);
    }

    /// The conditioning distribution's `mu` and `logvar` outputs.
    pub fn distribution(&mut self, g: &mut GraphBuilder, conditioning: &Conditioning) {
        self.output(g, &conditioning.mu, "mu", GeneratorOutputKind::Mu);
        self.output(
            g,
            &conditioning.logvar,
            "logvar",
            GeneratorOutputKind::Logvar,
        );
    }

    /// The sides of the image outputs, in order.
    pub fn resolutions(&self) -> Vec<u32> {
        self.outputs.iter().filter_map(|o| o.resolution).collect()
    }
}
