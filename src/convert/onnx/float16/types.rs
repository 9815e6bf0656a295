//! The element type of every value of a graph, as ONNX's operator schemas
//! give it: declared types (inputs, outputs, `value_info`) first, then
//! per-operator rules. Models exported by torch.onnx declare little beyond
//! inputs and outputs, and the conversion must know which values are
//! float32 to decide where a `Cast` goes. The same walk checks that the
//! graph is in topological order and defines each value once.

use std::collections::{HashMap, HashSet};

use crate::convert::onnx::proto::{DataType, GraphProto, NodeProto, ValueInfoProto};

const FLOAT: i32 = DataType::Float as i32;
const INT64: i32 = DataType::Int64 as i32;
const BOOL: i32 = DataType::Bool as i32;
const UINT8: i32 = DataType::Uint8 as i32;
const INT32: i32 = DataType::Int32 as i32;

/// Whether `node` belongs to ONNX's own operator set (the rules below hold
/// for it only).
pub(super) fn is_standard(node: &NodeProto) -> bool {
    matches!(node.domain.as_deref(), None | Some("") | Some("ai.onnx"))
}

/// The element types known for the graph's values (a value missing from
/// the map has a type the rules cannot tell: a custom operator's output).
pub(super) fn element_types(graph: &GraphProto) -> Result<HashMap<String, i32>, String> {
    let declared: HashMap<&str, i32> = graph
        .input
        .iter()
        .chain(&graph.output)
        .chain(&graph.value_info)
        .filter_map(|v| Some((v.name.as_deref()?, declared_type(v)?)))
        .collect();
    let mut types: HashMap<String, i32> = HashMap::new();
    let mut defined: HashSet<&str> = HashSet::new();
    for tensor in &graph.initializer {
        let name = tensor.name.as_deref().unwrap_or("");
        if let Some(t) = tensor.data_type {
            types.insert(name.to_string(), t);
        }
        defined.insert(name);
    }
    for input in &graph.input {
        let name = input.name.as_deref().unwrap_or("");
        if let Some(t) = declared_type(input) {
            types.insert(name.to_string(), t);
        }
        defined.insert(name);
    }
    for node in &graph.node {
        let what = || {
            format!(
                "node `{}` ({})",
                node.name.as_deref().unwrap_or(""),
                node.op_type.as_deref().unwrap_or("")
            )
        };
        if let Some(missing) = node
            .input
            .iter()
            .find(|i| !i.is_empty() && !defined.contains(i.as_str()))
        {
            return Err(format!(
                "{} reads `{missing}`, which no input, initializer or earlier node defines (the graph is not in topological order)",
                what()
            ));
        }
        let inferred = output_types(node, &types);
        for (output, inferred) in node.output.iter().zip(inferred) {
            if output.is_empty() {
                continue;
            }
            if !defined.insert(output) {
                return Err(format!("{} defines `{output}` a second time", what()));
            }
            if let Some(t) = declared.get(output.as_str()).copied().or(inferred) {
                types.insert(output.clone(), t);
            }
        }
    }
    Ok(types)
}

fn declared_type(value: &ValueInfoProto) -> Option<i32> {
    value.r#type.as_ref()?.tensor_type.as_ref()?.elem_type
}

/// The element type of each output of `node`, from its operator's schema.
fn output_types(node: &NodeProto, types: &HashMap<String, i32>) -> Vec<Option<i32>> {
    let count = node.output.len();
    if !is_standard(node) {
        return vec![None; count];
    }
    let input = |i: usize| {
        node.input
            .get(i)
            .filter(|n| !n.is_empty())
            .and_then(|n| types.get(n))
            .copied()
    };
    let first_typed = node.input.iter().find_map(|n| types.get(n)).copied();
    let int_attribute = |name: &str| {
        node.attribute
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .and_then(|a| a.i)
            .and_then(|i| i32::try_from(i).ok())
    };
    let op = node.op_type.as_deref().unwrap_or("");
    let listed: Vec<Option<i32>> = match op {
        "Cast" => vec![int_attribute("to")],
        "CastLike" => vec![input(1)],
        "Constant" => vec![constant_type(node)],
        "ConstantOfShape" => vec![Some(value_type(node).unwrap_or(FLOAT))],
        "Shape" | "Size" | "NonZero" | "ArgMax" | "ArgMin" | "NonMaxSuppression" => {
            vec![Some(INT64)]
        }
        "Equal" | "Less" | "LessOrEqual" | "Greater" | "GreaterOrEqual" | "Not" | "And" | "Or"
        | "Xor" | "IsNaN" | "IsInf" => vec![Some(BOOL)],
        "TopK" | "MaxPool" => vec![first_typed, Some(INT64)],
        "Dropout" => vec![first_typed, Some(BOOL)],
        "Unique" => vec![first_typed, Some(INT64), Some(INT64), Some(INT64)],
        "LayerNormalization" => vec![first_typed, Some(FLOAT), Some(FLOAT)],
        "Where" | "DequantizeLinear" => vec![input(1)],
        "OneHot" => vec![input(2)],
        "QuantizeLinear" => vec![input(2).or(Some(UINT8))],
        "DynamicQuantizeLinear" => vec![Some(UINT8), Some(FLOAT), Some(UINT8)],
        "RandomNormal" | "RandomUniform" => vec![int_attribute("dtype").or(Some(FLOAT))],
        "RandomNormalLike" | "RandomUniformLike" | "EyeLike" | "Bernoulli" => {
            vec![int_attribute("dtype").or(input(0))]
        }
        "Multinomial" => vec![int_attribute("dtype").or(Some(INT32))],
        _ => vec![first_typed],
    };
    let last = *listed.last().unwrap_or(&None);
    (0..count)
        .map(|i| listed.get(i).copied().unwrap_or(last))
        .collect()
}

/// A `Constant`'s element type, from whichever `value*` attribute it has.
fn constant_type(node: &NodeProto) -> Option<i32> {
    let attribute = node.attribute.first()?;
    match attribute.name.as_deref()? {
        "value" => attribute.t.as_ref()?.data_type,
        "value_float" | "value_floats" => Some(FLOAT),
        "value_int" | "value_ints" => Some(INT64),
        "value_string" | "value_strings" => Some(DataType::String as i32),
        _ => None,
    }
}

/// The element type of a `ConstantOfShape`'s `value` tensor, if it has one.
fn value_type(node: &NodeProto) -> Option<i32> {
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some("value"))
        .and_then(|a| a.t.as_ref())
        .and_then(|t| t.data_type)
}
