//! The layers with weights, and the pools, named and parameterised as
//! their PyTorch modules are, so an architecture reads like the `nn.Module`
//! it mirrors: `conv2d` + `batch_norm` + `relu` for a `BasicConv2d`,
//! `linear` for `nn.Linear`, and so on. Each checks its weights against the
//! shape of its input (`Value::dims`) and computes the shape of its output.

use super::builder::{GraphBuilder, Value};
use super::proto::Attribute;

/// A height × width pair (kernel, stride, padding); `3` means `(3, 3)`, as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair(pub [usize; 2]);

impl From<usize> for Pair {
    fn from(n: usize) -> Pair {
        Pair([n, n])
    }
}

impl From<(usize, usize)> for Pair {
    fn from((h, w): (usize, usize)) -> Pair {
        Pair([h, w])
    }
}

/// `nn.Conv2d(in, out_channels, kernel, stride, padding, bias)`; the input
/// channels come from the input. Stride 1, no padding and a bias by default,
/// as in PyTorch.
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    pub out_channels: usize,
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Pair,
    pub bias: bool,
}

impl Conv2d {
    pub fn new(out_channels: usize, kernel: impl Into<Pair>) -> Conv2d {
        Conv2d {
            out_channels,
            kernel: kernel.into(),
            stride: Pair([1, 1]),
            padding: Pair([0, 0]),
            bias: true,
        }
    }

    pub fn stride(self, stride: impl Into<Pair>) -> Conv2d {
        Conv2d {
            stride: stride.into(),
            ..self
        }
    }

    pub fn padding(self, padding: impl Into<Pair>) -> Conv2d {
        Conv2d {
            padding: padding.into(),
            ..self
        }
    }

    /// `bias=False`.
    pub fn without_bias(self) -> Conv2d {
        Conv2d {
            bias: false,
            ..self
        }
    }
}

/// The window of `max_pool2d` / `avg_pool2d`; the stride defaults to the
/// kernel size and the padding to none, as in PyTorch (no `ceil_mode`).
#[derive(Clone, Copy, Debug)]
pub struct Pool2d {
    pub kernel: Pair,
    pub stride: Pair,
    pub padding: Pair,
}

impl Pool2d {
    pub fn new(kernel: impl Into<Pair>) -> Pool2d {
        let kernel = kernel.into();
        Pool2d {
            kernel,
            stride: kernel,
            padding: Pair([0, 0]),
        }
    }

    pub fn stride(self, stride: impl Into<Pair>) -> Pool2d {
        Pool2d {
            stride: stride.into(),
            ..self
        }
    }

    pub fn padding(self, padding: impl Into<Pair>) -> Pool2d {
        Pool2d {
            padding: padding.into(),
            ..self
        }
    }
}

/// What an average pool divides by at the border: PyTorch's
/// `count_include_pad=True` (its default: the padded zeros count) or `False`
/// (TensorFlow's pools, and pytorch-fid's FID blocks: only real pixels count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddedZeros {
    Counted,
    Ignored,
}

impl GraphBuilder<'_> {
    /// `nn.Conv2d` with weights `{prefix}.weight` (and `{prefix}.bias`).
    pub fn conv2d(&mut self, x: &Value, prefix: &str, conv: Conv2d) -> Value {
        let [kh, kw] = conv.kernel.0;
        let (cin, height, width) = self.spatial(x, "conv2d");
        let weight = self.weight(
            &format!("{prefix}.weight"),
            &[conv.out_channels, cin, kh, kw],
        );
        let mut inputs = vec![x.name.clone(), weight];
        if conv.bias {
            inputs.push(self.weight(&format!("{prefix}.bias"), &[conv.out_channels]));
        }
        let out_h = self.window_output(prefix, height, kh, conv.stride.0[0], conv.padding.0[0]);
        let out_w = self.window_output(prefix, width, kw, conv.stride.0[1], conv.padding.0[1]);
        let [ph, pw] = conv.padding.0;
        let name = self.node(
            "Conv",
            prefix,
            &refs(&inputs),
            vec![
                ("kernel_shape", ints(&[kh, kw])),
                ("strides", ints(&conv.stride.0)),
                ("pads", ints(&[ph, pw, ph, pw])),
                ("dilations", ints(&[1, 1])),
                ("group", Attribute::Int(1)),
            ],
        );
        Value {
            name,
            dims: vec![conv.out_channels, out_h, out_w],
        }
    }

    /// `nn.BatchNorm1d` / `nn.BatchNorm2d` in eval mode (running statistics),
    /// weights `{prefix}.weight`, `.bias`, `.running_mean`, `.running_var`.
    pub fn batch_norm(&mut self, x: &Value, prefix: &str, eps: f32) -> Value {
        let c = [x.channels()];
        let inputs = [
            x.name.clone(),
            self.weight(&format!("{prefix}.weight"), &c),
            self.weight(&format!("{prefix}.bias"), &c),
            self.weight(&format!("{prefix}.running_mean"), &c),
            self.weight(&format!("{prefix}.running_var"), &c),
        ];
        let name = self.node(
            "BatchNormalization",
            prefix,
            &refs(&inputs),
            vec![("epsilon", Attribute::Float(eps))],
        );
        Value {
            name,
            dims: x.dims.clone(),
        }
    }

    /// `nn.Linear` on vectors: `x @ W.T (+ b)` with `{prefix}.weight` of
    /// shape `[out_features, in]` (and `{prefix}.bias`).
    pub fn linear(&mut self, x: &Value, prefix: &str, out_features: usize, bias: bool) -> Value {
        if x.dims.len() != 1 {
            self.invalid(format!(
                "{prefix}: linear layer on a {}-d sample",
                x.dims.len()
            ));
        }
        let weight = self.weight(&format!("{prefix}.weight"), &[out_features, x.channels()]);
        let mut inputs = vec![x.name.clone(), weight];
        if bias {
            inputs.push(self.weight(&format!("{prefix}.bias"), &[out_features]));
        }
        let name = self.node(
            "Gemm",
            prefix,
            &refs(&inputs),
            vec![("transB", Attribute::Int(1))],
        );
        Value {
            name,
            dims: vec![out_features],
        }
    }

    /// `x + weights[key]`, the weight shaped as one sample: a bias added on
    /// its own (e.g. `logits = logits_unbiased + fc.bias`).
    pub fn add_weight(&mut self, x: &Value, key: &str) -> Value {
        let weight = self.weight(key, &x.dims);
        let name = self.node(
            "Add",
            &format!("{key}.add"),
            &[&x.name, &weight],
            Vec::new(),
        );
        Value {
            name,
            dims: x.dims.clone(),
        }
    }

    /// `F.max_pool2d`; padded positions never win.
    pub fn max_pool2d(&mut self, x: &Value, pool: Pool2d) -> Value {
        self.pool("MaxPool", x, pool, Vec::new())
    }

    /// `F.avg_pool2d` with `count_include_pad` as `zeros` says.
    pub fn avg_pool2d(&mut self, x: &Value, pool: Pool2d, zeros: PaddedZeros) -> Value {
        let counted = i64::from(zeros == PaddedZeros::Counted);
        self.pool(
            "AveragePool",
            x,
            pool,
            vec![("count_include_pad", Attribute::Int(counted))],
        )
    }

    /// `F.adaptive_avg_pool2d(x, (1, 1))`: `[C, H, W]` → `[C, 1, 1]`.
    pub fn global_avg_pool(&mut self, x: &Value) -> Value {
        let (c, _, _) = self.spatial(x, "global_avg_pool");
        let name = self.node(
            "GlobalAveragePool",
            &format!("{}.gap", x.name),
            &[&x.name],
            Vec::new(),
        );
        Value {
            name,
            dims: vec![c, 1, 1],
        }
    }

    fn pool(
        &mut self,
        op: &str,
        x: &Value,
        pool: Pool2d,
        mut attributes: Vec<(&'static str, Attribute)>,
    ) -> Value {
        let (c, h, w) = self.spatial(x, op);
        let [kh, kw] = pool.kernel.0;
        let [ph, pw] = pool.padding.0;
        let out_h = self.window_output(op, h, kh, pool.stride.0[0], ph);
        let out_w = self.window_output(op, w, kw, pool.stride.0[1], pw);
        attributes.extend([
            ("kernel_shape", ints(&[kh, kw])),
            ("strides", ints(&pool.stride.0)),
            ("pads", ints(&[ph, pw, ph, pw])),
        ]);
        let base = format!("{}.{}", x.name, op.to_lowercase());
        let name = self.node(op, &base, &[&x.name], attributes);
        Value {
            name,
            dims: vec![c, out_h, out_w],
        }
    }

    /// `(channels, height, width)` of a map; records a problem for anything else.
    pub(super) fn spatial(&mut self, x: &Value, layer: &str) -> (usize, usize, usize) {
        match x.dims[..] {
            [c, h, w] => (c, h, w),
            _ => {
                self.invalid(format!(
                    "{layer} needs a [C, H, W] sample, got {:?}",
                    x.dims
                ));
                (x.channels(), 1, 1)
            }
        }
    }

    /// Output size of a sliding window: `⌊(n + 2·pad − kernel) / stride⌋ + 1`.
    fn window_output(
        &mut self,
        layer: &str,
        n: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
    ) -> usize {
        match (n + 2 * pad).checked_sub(kernel) {
            Some(room) if stride > 0 => room / stride + 1,
            _ => {
                self.invalid(format!(
                    "{layer}: a window of {kernel} (stride {stride}, padding {pad}) does not fit {n}"
                ));
                1
            }
        }
    }
}

fn ints(values: &[usize]) -> Attribute {
    Attribute::Ints(values.iter().map(|&v| v as i64).collect())
}

fn refs(names: &[String]) -> Vec<&str> {
    names.iter().map(String::as_str).collect()
}
