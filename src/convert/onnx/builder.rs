//! The graph under construction: unique names, graph inputs and outputs,
//! constants, and weights taken from the [`StateDict`] by key with their
//! shapes checked. The layer helpers (`layers.rs`, `tensor_ops.rs`) build on this.
//!
//! Every weight problem (a missing key, a shape that does not fit, an integer
//! tensor where a weight should be) is collected rather than returned at
//! once, and the keys the architecture never asked for are found at the end,
//! so [`GraphBuilder::finish`] reports them all in one line, as the Python
//! exporters do.

use std::collections::BTreeSet;

use super::proto::{
    Attribute, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    ValueInfoProto,
};
use crate::convert::{ConvertError, StateDict, TensorData};
use crate::npy::shape_text;

/// The operator set the graphs are written for (the Python exporters' too).
pub const OPSET: i64 = 17;
/// The IR version that goes with opset 17.
const IR_VERSION: i64 = 8;
/// The symbolic name of the batch axis of every input and output.
const BATCH: &str = "batch";

/// A tensor flowing through the graph. All of them are float32 and batched:
/// `dims` is the shape of one sample (after the dynamic batch axis), known
/// statically so that weights can be checked against it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub(super) name: String,
    pub(super) dims: Vec<usize>,
}

impl Value {
    /// The shape of one sample: `[C]` for a vector, `[C, H, W]` for a map.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The size of the first axis after the batch (channels or features).
    pub fn channels(&self) -> usize {
        self.dims.first().copied().unwrap_or(1)
    }
}

/// Builds one ONNX graph from the weights of one checkpoint.
pub struct GraphBuilder<'w> {
    weights: &'w StateDict,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    names: BTreeSet<String>,
    /// Every weight the architecture read, with the shape it expects, in order.
    layout: Vec<(String, Vec<usize>)>,
    /// Weight keys already turned into initialisers.
    taken: BTreeSet<String>,
    missing: Vec<String>,
    mismatched: Vec<String>,
    /// Shapes the architecture itself could not form (a layer that does not
    /// fit its input); a bug of the architecture, reported rather than panicking.
    invalid: Vec<String>,
}

impl<'w> GraphBuilder<'w> {
    /// A builder taking its weights from `weights`.
    pub fn new(weights: &'w StateDict) -> Self {
        GraphBuilder {
            weights,
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            names: BTreeSet::new(),
            layout: Vec::new(),
            taken: BTreeSet::new(),
            missing: Vec::new(),
            mismatched: Vec::new(),
            invalid: Vec::new(),
        }
    }

    /// A graph input of float32 samples of shape `dims`, batch axis dynamic.
    pub fn input(&mut self, name: &str, dims: &[usize]) -> Value {
        self.reserve(name);
        self.inputs
            .push(ValueInfoProto::batched_float32(name, BATCH, dims));
        Value {
            name: name.to_string(),
            dims: dims.to_vec(),
        }
    }

    /// Makes `value` a graph output called `name`.
    pub fn output(&mut self, value: &Value, name: &str) {
        self.reserve(name);
        let out = name.to_string();
        self.push_node(
            "Identity",
            name,
            &[&value.name],
            std::slice::from_ref(&out),
            Vec::new(),
        );
        self.outputs
            .push(ValueInfoProto::batched_float32(name, BATCH, &value.dims));
    }

    /// Takes `name` as it is (an input, output or weight must keep its own name).
    fn reserve(&mut self, name: &str) {
        if !self.names.insert(name.to_string()) {
            self.invalid(format!("the name `{name}` is used twice"));
        }
    }

    /// The float32 weight `key`, checked to have `shape`; its initialiser's name.
    /// A problem is recorded (and reported by [`finish`](Self::finish)) when
    /// the key is missing, has another shape or holds integers.
    pub fn weight(&mut self, key: &str, shape: &[usize]) -> String {
        if self.taken.contains(key) {
            if !self.layout.iter().any(|(k, s)| k == key && s == shape) {
                self.invalid(format!("`{key}` is read with two shapes"));
            }
            return key.to_string();
        }
        self.taken.insert(key.to_string());
        self.reserve(key);
        self.layout.push((key.to_string(), shape.to_vec()));
        match self.weights.tensors.get(key) {
            None => self.missing.push(key.to_string()),
            Some(tensor) if tensor.shape != shape => self.mismatched.push(format!(
                "{key}: file {} vs model {}",
                shape_text(&tensor.shape),
                shape_text(shape)
            )),
            Some(tensor) => match &tensor.data {
                TensorData::Float(values) => {
                    self.initializers
                        .push(TensorProto::float32(key, shape, values));
                }
                TensorData::Int(_) => self.mismatched.push(format!(
                    "{key}: file holds {} values, not floating-point weights",
                    tensor.stored_as
                )),
            },
        }
        key.to_string()
    }

    /// A float32 constant of shape `shape` (a scalar when empty).
    pub(super) fn constant_f32(&mut self, base: &str, shape: &[usize], values: &[f32]) -> String {
        let name = self.fresh(base);
        self.initializers
            .push(TensorProto::float32(&name, shape, values));
        name
    }

    /// A one-dimensional int64 constant (shapes, axes, split sizes).
    pub(super) fn constant_i64(&mut self, base: &str, values: &[i64]) -> String {
        let name = self.fresh(base);
        self.initializers.push(TensorProto::int64(&name, values));
        name
    }

    /// Adds a node with one output named after `base`; returns that name.
    pub(super) fn node(
        &mut self,
        op: &str,
        base: &str,
        inputs: &[&str],
        attributes: Vec<(&'static str, Attribute)>,
    ) -> String {
        let out = self.fresh(base);
        self.push_node(op, &out, inputs, std::slice::from_ref(&out), attributes);
        out
    }

    /// Adds a node with several outputs (named `base`, `base_1`, …); returns their names.
    pub(super) fn node_with_outputs(
        &mut self,
        op: &str,
        base: &str,
        inputs: &[&str],
        outputs: usize,
        attributes: Vec<(&'static str, Attribute)>,
    ) -> Vec<String> {
        let name = self.fresh(base);
        let outs: Vec<String> = (0..outputs)
            .map(|i| self.fresh(&format!("{name}_{i}")))
            .collect();
        self.push_node(op, &name, inputs, &outs, attributes);
        outs
    }

    fn push_node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[String],
        attributes: Vec<(&'static str, Attribute)>,
    ) {
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.to_vec(),
            name: Some(name.to_string()),
            op_type: Some(op.to_string()),
            attribute: attributes
                .into_iter()
                .map(|(name, value)| AttributeProto::new(name, value))
                .collect(),
            ..NodeProto::default()
        });
    }

    /// Records that the architecture asked for a shape it cannot form.
    pub(super) fn invalid(&mut self, what: String) {
        self.invalid.push(what);
    }

    /// `base`, or `base_2`, `base_3`, … when taken: value and node names are unique.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.names.insert(name.clone());
        name
    }

    /// The weights the architecture read so far, with the shapes it expects.
    pub fn layout(&self) -> &[(String, Vec<usize>)] {
        &self.layout
    }

    /// The finished model, or one error listing every missing key, every key
    /// of the file the architecture does not use (other than those `ignore`
    /// accepts) and every shape that does not fit. `architecture` names the
    /// network in that message and the graph.
    pub fn finish(
        self,
        architecture: &str,
        ignore: impl Fn(&str) -> bool,
    ) -> Result<OnnxModel, ConvertError> {
        let unexpected: Vec<String> = self
            .weights
            .tensors
            .keys()
            .filter(|key| !self.taken.contains(*key) && !ignore(key))
            .cloned()
            .collect();
        let mut problems = Vec::new();
        for (title, items) in [
            ("missing", &self.missing),
            ("unexpected", &unexpected),
            ("shape mismatch", &self.mismatched),
            ("graph", &self.invalid),
        ] {
            if !items.is_empty() {
                problems.push(format!("{title}: {}", listed(items)));
            }
        }
        if !problems.is_empty() {
            return Err(ConvertError::Layout {
                path: self.weights.source.clone(),
                architecture: architecture.to_string(),
                problems: problems.join("; "),
            });
        }
        Ok(OnnxModel {
            proto: ModelProto {
                ir_version: Some(IR_VERSION),
                opset_import: vec![OperatorSetIdProto {
                    domain: Some(String::new()),
                    version: Some(OPSET),
                }],
                producer_name: Some("stackgan-eval".into()),
                graph: Some(GraphProto {
                    node: self.nodes,
                    name: Some(architecture.to_string()),
                    initializer: self.initializers,
                    input: self.inputs,
                    output: self.outputs,
                    ..GraphProto::default()
                }),
                ..ModelProto::default()
            },
        })
    }
}

/// A finished ONNX model.
pub struct OnnxModel {
    proto: ModelProto,
}

/// Sizes only: the weights are far too many to print.
impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("nodes", &self.node_count())
            .field("weights", &self.weight_count())
            .finish()
    }
}

impl OnnxModel {
    /// The `.onnx` file's bytes. The same weights give the same bytes: names
    /// come from the build order, nothing records a time or a path.
    pub fn to_bytes(&self) -> Vec<u8> {
        prost::Message::encode_to_vec(&self.proto)
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.proto.graph.as_ref().map_or(0, |g| g.node.len())
    }

    /// Number of initialisers (weights and constants).
    pub fn weight_count(&self) -> usize {
        self.proto.graph.as_ref().map_or(0, |g| g.initializer.len())
    }
}

/// The first 20 items, then how many there are in all.
fn listed(items: &[String]) -> String {
    let shown = items
        .iter()
        .take(20)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > 20 {
        format!("{shown}, ... ({} in all)", items.len())
    } else {
        shown
    }
}
