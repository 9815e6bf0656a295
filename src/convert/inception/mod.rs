//! Inception-v3 from the first convolution to the classifier, built from a
//! state dict with torchvision's key names (`Conv2d_1a_3x3.conv.weight`,
//! `Mixed_5b.branch1x1.bn.running_mean`, …, `fc.weight`), with the pooling
//! of each published variant — the graph `models/inception_net.py` gives the
//! Python exporter:
//!
//! * [`Variant::Fid`]: pytorch-fid's FID Inception (`FIDInceptionA/C/E_1/E_2`):
//!   the Mixed blocks' average pools ignore padded zeros (TensorFlow
//!   semantics) and Mixed_7c's pool branch is a max pool;
//! * [`Variant::Torchvision`]: torchvision's blocks, average pools counting
//!   the padded zeros (the ImageNet weights, classifiers fine-tuned in PyTorch);
//! * [`Variant::TfSlim`]: TensorFlow semantics everywhere (Mixed_7c averages),
//!   weights converted from a TF-slim checkpoint.
//!
//! Outputs: `pool` (N×2048, pytorch-fid's pool3), `logits` (N×C, `fc` with
//! its bias) and `logits_unbiased` (N×C, `pool @ fc.weight.T`, what
//! torch-fidelity's Inception Score reads). No resize and no value mapping
//! in the graph: the manifest says how to feed it.

mod manifest;

use std::path::Path;

use super::onnx::{Conv2d, GraphBuilder, OnnxModel, PaddedZeros, Pool2d, Value};
use super::output::{Converted, check_target, write_model};
use super::{ConvertError, StateDict};
use crate::spelling::spelt_enum;

pub use manifest::{ClassifierOptions, InceptionKind, InputMap};

/// The input side: 3 × 299 × 299, NCHW.
pub const INPUT_SIZE: usize = 299;
/// The width of the pool3 features.
pub const POOL_FEATURES: usize = 2048;
/// torchvision's `BasicConv2d` batch-norm epsilon.
const BN_EPS: f32 = 0.001;

spelt_enum! {
    /// The pooling semantics of the Mixed blocks (see the module docs), spelt
    /// as `models/inception_net.py` spells them.
    #[derive(Default)]
    pub enum Variant ("Inception variant") {
        Fid = "fid",
        /// The Python exporter's default for `--kind classifier`.
        #[default]
        Torchvision = "torchvision",
        TfSlim = "tf-slim",
    }
}

impl Variant {
    /// (pool of the A, C blocks and Mixed_7b, pool of Mixed_7c).
    fn pools(self) -> (BranchPool, BranchPool) {
        let ignored = BranchPool::Average(PaddedZeros::Ignored);
        match self {
            Variant::Fid => (ignored, BranchPool::Max),
            Variant::Torchvision => {
                let counted = BranchPool::Average(PaddedZeros::Counted);
                (counted, counted)
            }
            Variant::TfSlim => (ignored, ignored),
        }
    }
}

/// How a Mixed block's pool branch pools its input (3×3, stride 1, padding 1).
#[derive(Clone, Copy, Debug)]
enum BranchPool {
    Average(PaddedZeros),
    Max,
}

/// Converts an Inception-v3 checkpoint of `kind` to `out` (`.onnx`) and
/// its manifest (`.toml`), as `models/export_inception.py --kind` does.
pub fn convert(
    weights: &StateDict,
    kind: &InceptionKind,
    out: &Path,
) -> Result<Converted, ConvertError> {
    check_target(out)?;
    let classes = classes(weights)?;
    if let Some(required) = kind.required_classes()
        && classes != required
    {
        return Err(ConvertError::Checkpoint {
            path: weights.source.clone(),
            reason: format!(
                "--kind {} expects {required} classes but fc.weight has {classes}; use --kind classifier for fine-tuned models",
                kind.name()
            ),
        });
    }
    let model = build(weights, kind.variant(), classes)?;
    let file_name = weights.source.file_name().unwrap_or_default();
    let mut manifest = kind.manifest(classes, &file_name.to_string_lossy());
    write_model(out, &model, |sha256| {
        manifest.onnx_sha256 = sha256.to_string();
        toml::to_string(&manifest).map_err(|e| ConvertError::Write {
            path: crate::models::manifest_path(out),
            reason: format!("cannot write the manifest: {e}"),
        })
    })
}

/// Builds the graph of `variant` with `classes` logits; every key, shape
/// and unused tensor of the file is checked (BatchNorm's
/// `num_batches_tracked` and the `AuxLogits.*` head are not used).
pub fn build(
    weights: &StateDict,
    variant: Variant,
    classes: usize,
) -> Result<OnnxModel, ConvertError> {
    let mut g = GraphBuilder::new(weights);
    network(&mut g, variant, classes);
    g.finish(
        &format!("Inception-v3 with {} blocks", variant.name()),
        |key| key.ends_with("num_batches_tracked") || key.starts_with("AuxLogits."),
    )
}

/// The weights the network of `variant` with `classes` logits reads, with
/// their shapes, in the order it reads them.
pub fn layout(variant: Variant, classes: usize) -> Vec<(String, Vec<usize>)> {
    let empty = StateDict::default();
    let mut g = GraphBuilder::new(&empty);
    network(&mut g, variant, classes);
    g.layout().to_vec()
}

/// The whole network: input `images`, outputs `pool`, `logits`, `logits_unbiased`.
fn network(g: &mut GraphBuilder, variant: Variant, classes: usize) {
    let images = g.input("images", &[3, INPUT_SIZE, INPUT_SIZE]);
    let map = features(g, &images, variant);
    let pool = g.global_avg_pool(&map);
    let pool = g.flatten(&pool);
    let unbiased = g.linear(&pool, "fc", classes, false);
    let logits = g.add_weight(&unbiased, "fc.bias");
    g.output(&pool, "pool");
    g.output(&logits, "logits");
    g.output(&unbiased, "logits_unbiased");
}

/// The class count, read from `fc.weight` (classes × 2048).
pub fn classes(weights: &StateDict) -> Result<usize, ConvertError> {
    let no_fc = || ConvertError::MissingKey {
        path: weights.source.clone(),
        key: "fc.weight".into(),
        hint: "is it an Inception-v3 state dict with torchvision's key names?".into(),
    };
    weights
        .tensors
        .get("fc.weight")
        .and_then(|t| t.shape.first().copied())
        .ok_or_else(no_fc)
}

/// `InceptionV3Features.pool_features` up to Mixed_7c: N×2048×8×8.
fn features(g: &mut GraphBuilder, x: &Value, variant: Variant) -> Value {
    let (mid, last) = variant.pools();
    let max3x3s2 = Pool2d::new(3).stride(2);
    let x = basic_conv(g, x, "Conv2d_1a_3x3", Conv2d::new(32, 3).stride(2));
    let x = basic_conv(g, &x, "Conv2d_2a_3x3", Conv2d::new(32, 3));
    let x = basic_conv(g, &x, "Conv2d_2b_3x3", Conv2d::new(64, 3).padding(1));
    let x = g.max_pool2d(&x, max3x3s2);
    let x = basic_conv(g, &x, "Conv2d_3b_1x1", Conv2d::new(80, 1));
    let x = basic_conv(g, &x, "Conv2d_4a_3x3", Conv2d::new(192, 3));
    let x = g.max_pool2d(&x, max3x3s2);
    let x = mixed_a(g, &x, "Mixed_5b", 32, mid);
    let x = mixed_a(g, &x, "Mixed_5c", 64, mid);
    let x = mixed_a(g, &x, "Mixed_5d", 64, mid);
    let x = reduction_b(g, &x, "Mixed_6a");
    let x = mixed_c(g, &x, "Mixed_6b", 128, mid);
    let x = mixed_c(g, &x, "Mixed_6c", 160, mid);
    let x = mixed_c(g, &x, "Mixed_6d", 160, mid);
    let x = mixed_c(g, &x, "Mixed_6e", 192, mid);
    let x = reduction_d(g, &x, "Mixed_7a");
    let x = mixed_e(g, &x, "Mixed_7b", mid);
    mixed_e(g, &x, "Mixed_7c", last)
}

/// torchvision's `BasicConv2d`: convolution without bias, batch norm (eps
/// 0.001), ReLU; keys `{name}.conv.*`, `{name}.bn.*`.
fn basic_conv(g: &mut GraphBuilder, x: &Value, name: &str, conv: Conv2d) -> Value {
    let x = g.conv2d(x, &format!("{name}.conv"), conv.without_bias());
    let x = g.batch_norm(&x, &format!("{name}.bn"), BN_EPS);
    g.relu(&x)
}

/// The `branch_pool` input: 3×3 pooling, stride 1, padding 1.
fn pool_branch(g: &mut GraphBuilder, x: &Value, pool: BranchPool) -> Value {
    let window = Pool2d::new(3).stride(1).padding(1);
    match pool {
        BranchPool::Average(zeros) => g.avg_pool2d(x, window, zeros),
        BranchPool::Max => g.max_pool2d(x, window),
    }
}

/// 35×35 block (InceptionA / FIDInceptionA): 1x1 | 1x1→5x5 | 1x1→3x3→3x3 | pool→1x1.
fn mixed_a(
    g: &mut GraphBuilder,
    x: &Value,
    name: &str,
    pool_features: usize,
    pool: BranchPool,
) -> Value {
    let at = |branch: &str| format!("{name}.{branch}");
    let a = basic_conv(g, x, &at("branch1x1"), Conv2d::new(64, 1));
    let b = basic_conv(g, x, &at("branch5x5_1"), Conv2d::new(48, 1));
    let b = basic_conv(g, &b, &at("branch5x5_2"), Conv2d::new(64, 5).padding(2));
    let c = basic_conv(g, x, &at("branch3x3dbl_1"), Conv2d::new(64, 1));
    let c = basic_conv(g, &c, &at("branch3x3dbl_2"), Conv2d::new(96, 3).padding(1));
    let c = basic_conv(g, &c, &at("branch3x3dbl_3"), Conv2d::new(96, 3).padding(1));
    let d = pool_branch(g, x, pool);
    let d = basic_conv(g, &d, &at("branch_pool"), Conv2d::new(pool_features, 1));
    g.concat(&[&a, &b, &c, &d])
}

/// 35→17 reduction (InceptionB, Mixed_6a): 3x3/2 | 1x1→3x3→3x3/2 | max pool/2.
fn reduction_b(g: &mut GraphBuilder, x: &Value, name: &str) -> Value {
    let at = |branch: &str| format!("{name}.{branch}");
    let a = basic_conv(g, x, &at("branch3x3"), Conv2d::new(384, 3).stride(2));
    let b = basic_conv(g, x, &at("branch3x3dbl_1"), Conv2d::new(64, 1));
    let b = basic_conv(g, &b, &at("branch3x3dbl_2"), Conv2d::new(96, 3).padding(1));
    let b = basic_conv(g, &b, &at("branch3x3dbl_3"), Conv2d::new(96, 3).stride(2));
    let c = g.max_pool2d(x, Pool2d::new(3).stride(2));
    g.concat(&[&a, &b, &c])
}

/// 17×17 block (InceptionC / FIDInceptionC) with factorised 7×7 convolutions.
fn mixed_c(g: &mut GraphBuilder, x: &Value, name: &str, c7: usize, pool: BranchPool) -> Value {
    let at = |branch: &str| format!("{name}.{branch}");
    let (row, column) = (
        Conv2d::new(c7, (1, 7)).padding((0, 3)),
        Conv2d::new(c7, (7, 1)).padding((3, 0)),
    );
    let a = basic_conv(g, x, &at("branch1x1"), Conv2d::new(192, 1));
    let b = basic_conv(g, x, &at("branch7x7_1"), Conv2d::new(c7, 1));
    let b = basic_conv(g, &b, &at("branch7x7_2"), row);
    let b = basic_conv(
        g,
        &b,
        &at("branch7x7_3"),
        Conv2d {
            out_channels: 192,
            ..column
        },
    );
    let c = basic_conv(g, x, &at("branch7x7dbl_1"), Conv2d::new(c7, 1));
    let c = basic_conv(g, &c, &at("branch7x7dbl_2"), column);
    let c = basic_conv(g, &c, &at("branch7x7dbl_3"), row);
    let c = basic_conv(g, &c, &at("branch7x7dbl_4"), column);
    let c = basic_conv(
        g,
        &c,
        &at("branch7x7dbl_5"),
        Conv2d {
            out_channels: 192,
            ..row
        },
    );
    let d = pool_branch(g, x, pool);
    let d = basic_conv(g, &d, &at("branch_pool"), Conv2d::new(192, 1));
    g.concat(&[&a, &b, &c, &d])
}

/// 17→8 reduction (InceptionD, Mixed_7a).
fn reduction_d(g: &mut GraphBuilder, x: &Value, name: &str) -> Value {
    let at = |branch: &str| format!("{name}.{branch}");
    let a = basic_conv(g, x, &at("branch3x3_1"), Conv2d::new(192, 1));
    let a = basic_conv(g, &a, &at("branch3x3_2"), Conv2d::new(320, 3).stride(2));
    let b = basic_conv(g, x, &at("branch7x7x3_1"), Conv2d::new(192, 1));
    let b = basic_conv(
        g,
        &b,
        &at("branch7x7x3_2"),
        Conv2d::new(192, (1, 7)).padding((0, 3)),
    );
    let b = basic_conv(
        g,
        &b,
        &at("branch7x7x3_3"),
        Conv2d::new(192, (7, 1)).padding((3, 0)),
    );
    let b = basic_conv(g, &b, &at("branch7x7x3_4"), Conv2d::new(192, 3).stride(2));
    let c = g.max_pool2d(x, Pool2d::new(3).stride(2));
    g.concat(&[&a, &b, &c])
}

/// 8×8 block (InceptionE / FIDInceptionE_1, _2) with split 1×3 / 3×1 branches.
fn mixed_e(g: &mut GraphBuilder, x: &Value, name: &str, pool: BranchPool) -> Value {
    let at = |branch: &str| format!("{name}.{branch}");
    let (row, column) = (
        Conv2d::new(384, (1, 3)).padding((0, 1)),
        Conv2d::new(384, (3, 1)).padding((1, 0)),
    );
    let a = basic_conv(g, x, &at("branch1x1"), Conv2d::new(320, 1));
    let s = basic_conv(g, x, &at("branch3x3_1"), Conv2d::new(384, 1));
    let s_row = basic_conv(g, &s, &at("branch3x3_2a"), row);
    let s_column = basic_conv(g, &s, &at("branch3x3_2b"), column);
    let b = g.concat(&[&s_row, &s_column]);
    let t = basic_conv(g, x, &at("branch3x3dbl_1"), Conv2d::new(448, 1));
    let t = basic_conv(g, &t, &at("branch3x3dbl_2"), Conv2d::new(384, 3).padding(1));
    let t_row = basic_conv(g, &t, &at("branch3x3dbl_3a"), row);
    let t_column = basic_conv(g, &t, &at("branch3x3dbl_3b"), column);
    let c = g.concat(&[&t_row, &t_column]);
    let d = pool_branch(g, x, pool);
    let d = basic_conv(g, &d, &at("branch_pool"), Conv2d::new(192, 1));
    g.concat(&[&a, &b, &c, &d])
}
