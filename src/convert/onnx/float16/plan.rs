//! Which nodes compute in float16 and which float32 values become float16.
//!
//! A node computes in float16 when it depends on the inputs' data: some
//! input of it is a graph input or the output of such a node (`Shape` and
//! `Size` read only a shape, so dependence stops there). Every other node is
//! static — constants, shape arithmetic, Resize scales — and stays float32,
//! where it is exact and costs nothing. A few operators stay float32 even on
//! data ([`stays_float32`]), as do operators of other domains, whose type
//! rules are not known here.
//!
//! A float32 value becomes float16 when the node making it computes in
//! float16, or when it is a weight or constant (an initializer, a
//! `Constant`, a `ConstantOfShape`, a static `Cast` to float) whose every
//! use wants float16: then it is stored as float16 instead of being cast.
//! Where a value's precision and a use's disagree, `rewrite.rs` puts a `Cast`.

use std::collections::{HashMap, HashSet};

use super::types::{element_types, is_standard};
use crate::convert::onnx::proto::{DataType, GraphProto, NodeProto};

const FLOAT: i32 = DataType::Float as i32;

/// What a use of a value needs it to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Half,
    Single,
    /// Any element type (`Cast`, `Shape`, … read any).
    Any,
}

/// The conversion decided for one graph.
pub(super) struct Plan {
    /// Element types of the original graph's values, where known.
    types: HashMap<String, i32>,
    /// Per node: computes in float16.
    half_nodes: Vec<bool>,
    /// Per value made by a node: whether that node computes in float16.
    made_in_half: HashMap<String, bool>,
    /// Float32 values of the original graph stored as float16 afterwards.
    half_values: HashSet<String>,
}

impl Plan {
    pub(super) fn of(graph: &GraphProto) -> Result<Plan, String> {
        let types = element_types(graph)?;
        let inputs: HashSet<&str> = graph
            .input
            .iter()
            .filter_map(|v| v.name.as_deref())
            .collect();
        let mut dependent: HashSet<&str> = inputs.clone();
        let mut half_nodes = Vec::with_capacity(graph.node.len());
        let mut made_in_half = HashMap::new();
        for node in &graph.node {
            let reads_data = node.input.iter().any(|i| dependent.contains(i.as_str()));
            if reads_data && !matches!(op(node), "Shape" | "Size") {
                dependent.extend(node.output.iter().map(String::as_str));
            }
            let half = reads_data && !stays_float32(node);
            half_nodes.push(half);
            for output in &node.output {
                made_in_half.insert(output.clone(), half);
            }
        }
        let mut plan = Plan {
            types,
            half_nodes,
            made_in_half,
            half_values: HashSet::new(),
        };
        let outputs: HashSet<&str> = graph
            .output
            .iter()
            .filter_map(|v| v.name.as_deref())
            .collect();
        let mut needs: HashMap<&str, Vec<Need>> = HashMap::new();
        for (index, node) in graph.node.iter().enumerate() {
            for (slot, input) in node.input.iter().enumerate() {
                let need = plan.need(index, node, slot);
                needs.entry(input.as_str()).or_default().push(need);
            }
        }
        let stored_as_half = |name: &str| {
            let Some(needs) = needs.get(name) else {
                return false;
            };
            !outputs.contains(name)
                && !inputs.contains(name)
                && needs.iter().all(|n| *n != Need::Single)
                && needs.contains(&Need::Half)
        };
        let mut half_values = HashSet::new();
        for tensor in &graph.initializer {
            let name = tensor.name.as_deref().unwrap_or("");
            if tensor.data_type == Some(FLOAT) && stored_as_half(name) {
                half_values.insert(name.to_string());
            }
        }
        for (index, node) in graph.node.iter().enumerate() {
            for output in &node.output {
                if plan.types.get(output) != Some(&FLOAT) {
                    continue;
                }
                if plan.half_nodes[index] || (is_source(node) && stored_as_half(output)) {
                    half_values.insert(output.clone());
                }
            }
        }
        plan.half_values = half_values;
        Ok(plan)
    }

    /// What input `slot` of node `index` needs.
    pub(super) fn need(&self, index: usize, node: &NodeProto, slot: usize) -> Need {
        let standard = is_standard(node);
        let op = op(node);
        if standard && slot == 0 && matches!(op, "Cast" | "CastLike" | "Shape" | "Size") {
            return Need::Any;
        }
        if !self.half_nodes[index] {
            return Need::Single;
        }
        // Resize's `roi` and `scales` and Upsample's `scales` are float32
        // whatever the data's type (a type of their own in the schema).
        let float32_slot = matches!((op, slot), ("Resize", 1 | 2) | ("Upsample", 1));
        if standard && float32_slot {
            Need::Single
        } else {
            Need::Half
        }
    }

    /// The original element type of `value`, if known.
    pub(super) fn element_type(&self, value: &str) -> Option<i32> {
        self.types.get(value).copied()
    }

    /// Whether `value` (float32 originally) is float16 after the conversion.
    pub(super) fn is_half(&self, value: &str) -> bool {
        self.half_values.contains(value)
    }

    /// Whether the node making `value` computes in float16 (`None`: no node
    /// makes it).
    pub(super) fn made_in_half(&self, value: &str) -> Option<bool> {
        self.made_in_half.get(value).copied()
    }
}

fn op(node: &NodeProto) -> &str {
    node.op_type.as_deref().unwrap_or("")
}

/// Nodes whose float32 output can be stored as float16 directly.
fn is_source(node: &NodeProto) -> bool {
    is_standard(node) && matches!(op(node), "Constant" | "ConstantOfShape" | "Cast")
}

/// Operators that stay float32 even on data: those whose schema has no
/// float16 for the float input (quantization, box suppression, text), and
/// every operator outside ONNX's own domain.
fn stays_float32(node: &NodeProto) -> bool {
    !is_standard(node)
        || matches!(
            op(node),
            "DynamicQuantizeLinear"
                | "QuantizeLinear"
                | "DequantizeLinear"
                | "NonMaxSuppression"
                | "TfIdfVectorizer"
        )
}
