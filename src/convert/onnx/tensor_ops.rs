//! Operations without weights: activations, elementwise arithmetic and the
//! shape changes StackGAN's generators make (`view`, `cat`, channel splits,
//! GLU, nearest upsampling, a vector tiled over a map), each computing the
//! shape of its output and recording a problem where it cannot be formed.

use super::builder::{GraphBuilder, Value};
use super::proto::Attribute;

impl GraphBuilder<'_> {
    pub fn relu(&mut self, x: &Value) -> Value {
        self.unary("Relu", x)
    }

    pub fn sigmoid(&mut self, x: &Value) -> Value {
        self.unary("Sigmoid", x)
    }

    pub fn tanh(&mut self, x: &Value) -> Value {
        self.unary("Tanh", x)
    }

    pub fn exp(&mut self, x: &Value) -> Value {
        self.unary("Exp", x)
    }

    /// `a + b`, both of one shape.
    pub fn add(&mut self, a: &Value, b: &Value) -> Value {
        self.binary("Add", a, b)
    }

    /// `a * b` elementwise, both of one shape.
    pub fn mul(&mut self, a: &Value, b: &Value) -> Value {
        self.binary("Mul", a, b)
    }

    /// `x * factor`.
    pub fn scale(&mut self, x: &Value, factor: f32) -> Value {
        let constant = self.constant_f32("factor", &[], &[factor]);
        let name = self.node(
            "Mul",
            &format!("{}.scale", x.name),
            &[&x.name, &constant],
            Vec::new(),
        );
        Value {
            name,
            dims: x.dims.clone(),
        }
    }

    /// `torch.flatten(x, 1)`: one vector per sample.
    pub fn flatten(&mut self, x: &Value) -> Value {
        let name = self.node(
            "Flatten",
            &format!("{}.flatten", x.name),
            &[&x.name],
            vec![("axis", Attribute::Int(1))],
        );
        Value {
            name,
            dims: vec![x.dims.iter().product()],
        }
    }

    /// `x.view(-1, *dims)`.
    pub fn reshape(&mut self, x: &Value, dims: &[usize]) -> Value {
        let (have, want) = (
            x.dims.iter().product::<usize>(),
            dims.iter().product::<usize>(),
        );
        if have != want {
            self.invalid(format!("cannot reshape {:?} to {dims:?}", x.dims));
        }
        let shape: Vec<i64> = std::iter::once(0)
            .chain(dims.iter().map(|&d| d as i64))
            .collect();
        let shape = self.constant_i64("shape", &shape);
        let name = self.node(
            "Reshape",
            &format!("{}.view", x.name),
            &[&x.name, &shape],
            Vec::new(),
        );
        Value {
            name,
            dims: dims.to_vec(),
        }
    }

    /// `torch.cat(values, 1)`: along channels (or features).
    pub fn concat(&mut self, values: &[&Value]) -> Value {
        let rest = |v: &Value| v.dims.get(1..).unwrap_or_default().to_vec();
        if let Some(first) = values.first()
            && values
                .iter()
                .any(|v| v.dims.is_empty() || rest(v) != rest(first))
        {
            let shapes: Vec<_> = values.iter().map(|v| v.dims.clone()).collect();
            self.invalid(format!("cannot concatenate {shapes:?} along channels"));
        }
        let channels = values.iter().map(|v| v.channels()).sum();
        let inputs: Vec<&str> = values.iter().map(|v| v.name.as_str()).collect();
        let name = self.node("Concat", "cat", &inputs, vec![("axis", Attribute::Int(1))]);
        let mut dims = values.first().map(|v| v.dims.clone()).unwrap_or_default();
        if let Some(first) = dims.first_mut() {
            *first = channels;
        }
        Value { name, dims }
    }

    /// Splits channels (or features) into consecutive parts of `sizes`:
    /// `x[:, :a]`, `x[:, a:a+b]`, …
    pub fn split_channels(&mut self, x: &Value, sizes: &[usize]) -> Vec<Value> {
        if sizes.iter().sum::<usize>() != x.channels() || x.dims.is_empty() {
            self.invalid(format!("cannot split {:?} into {sizes:?} channels", x.dims));
        }
        let split: Vec<i64> = sizes.iter().map(|&s| s as i64).collect();
        let split = self.constant_i64("split", &split);
        let names = self.node_with_outputs(
            "Split",
            &format!("{}.split", x.name),
            &[&x.name, &split],
            sizes.len(),
            vec![("axis", Attribute::Int(1))],
        );
        names
            .into_iter()
            .zip(sizes)
            .map(|(name, &size)| {
                let mut dims = x.dims.clone();
                if let Some(first) = dims.first_mut() {
                    *first = size;
                }
                Value { name, dims }
            })
            .collect()
    }

    /// StackGAN's `GLU`: `x[:, :c/2] * sigmoid(x[:, c/2:])`.
    pub fn glu(&mut self, x: &Value) -> Value {
        let half = x.channels() / 2;
        if !x.channels().is_multiple_of(2) {
            self.invalid(format!(
                "GLU over an odd number of channels ({})",
                x.channels()
            ));
        }
        let halves = self.split_channels(x, &[half, x.channels() - half]);
        let gate = self.sigmoid(&halves[1]);
        self.mul(&halves[0], &gate)
    }

    /// `nn.Upsample(scale_factor=factor, mode='nearest')` on `[C, H, W]`.
    pub fn upsample_nearest(&mut self, x: &Value, factor: usize) -> Value {
        let (c, h, w) = self.spatial(x, "upsample_nearest");
        let f = factor as f32;
        let scales = self.constant_f32("scales", &[4], &[1.0, 1.0, f, f]);
        let name = self.node(
            "Resize",
            &format!("{}.up", x.name),
            &[&x.name, "", &scales],
            vec![
                ("mode", Attribute::Text("nearest")),
                (
                    "coordinate_transformation_mode",
                    Attribute::Text("asymmetric"),
                ),
                ("nearest_mode", Attribute::Text("floor")),
            ],
        );
        Value {
            name,
            dims: vec![c, h * factor, w * factor],
        }
    }

    /// A vector per sample repeated over an `height × width` map:
    /// `x.view(-1, C, 1, 1).repeat(1, 1, height, width)`.
    pub fn tile_spatial(&mut self, x: &Value, height: usize, width: usize) -> Value {
        if x.dims.len() != 1 {
            self.invalid(format!("tile_spatial of a {}-d sample", x.dims.len()));
        }
        let axes = self.constant_i64("axes", &[2, 3]);
        let column = self.node(
            "Unsqueeze",
            &format!("{}.unsqueeze", x.name),
            &[&x.name, &axes],
            Vec::new(),
        );
        let shape = self.constant_i64("shape", &[1, 1, height as i64, width as i64]);
        let name = self.node(
            "Expand",
            &format!("{}.tile", x.name),
            &[&column, &shape],
            Vec::new(),
        );
        Value {
            name,
            dims: vec![x.channels(), height, width],
        }
    }

    fn unary(&mut self, op: &str, x: &Value) -> Value {
        let base = format!("{}.{}", x.name, op.to_lowercase());
        let name = self.node(op, &base, &[&x.name], Vec::new());
        Value {
            name,
            dims: x.dims.clone(),
        }
    }

    fn binary(&mut self, op: &str, a: &Value, b: &Value) -> Value {
        if a.dims != b.dims {
            self.invalid(format!("{op} of shapes {:?} and {:?}", a.dims, b.dims));
        }
        let name = self.node(op, &op.to_lowercase(), &[&a.name, &b.name], Vec::new());
        Value {
            name,
            dims: a.dims.clone(),
        }
    }
}
