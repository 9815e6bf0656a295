//! The plan applied to the graph: float16 tensors and constants, `Cast`
//! nodes retargeted, boundary `Cast`s inserted just before the node that
//! needs them (so the order stays topological), graph outputs renamed
//! inside and cast back to float32 under their own names, `value_info`
//! updated.

use std::collections::{HashMap, HashSet};

use super::plan::{Need, Plan};
use super::types::is_standard;
use super::values::{Clipped, constant_to_half, is_float32, tensor_to_half};
use crate::convert::onnx::proto::{
    Attribute, AttributeProto, AttributeType, DataType, GraphProto, NodeProto, TensorProto,
};

const FLOAT: i32 = DataType::Float as i32;
const FLOAT16: i32 = DataType::Float16 as i32;

/// What the rewrite did.
pub(super) struct Summary {
    pub tensors_converted: usize,
    pub casts_added: usize,
    pub clipped: Clipped,
}

/// Unique names for the values and nodes the rewrite adds.
struct Names(HashSet<String>);

impl Names {
    fn of(graph: &GraphProto) -> Names {
        let mut names = HashSet::new();
        let values = graph
            .input
            .iter()
            .chain(&graph.output)
            .chain(&graph.value_info);
        names.extend(values.filter_map(|v| v.name.clone()));
        names.extend(graph.initializer.iter().filter_map(|t| t.name.clone()));
        for node in &graph.node {
            names.extend(node.input.iter().chain(&node.output).cloned());
            names.extend(node.name.clone());
        }
        Names(names)
    }

    /// `base`, or `base_2`, `base_3`, … when taken.
    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.0.contains(&name) {
            n += 1;
            name = format!("{base}_{n}");
        }
        self.0.insert(name.clone());
        name
    }
}

pub(super) fn apply(graph: &mut GraphProto, plan: &Plan) -> Result<Summary, String> {
    let mut summary = Summary {
        tensors_converted: 0,
        casts_added: 0,
        clipped: Clipped::default(),
    };
    let mut names = Names::of(graph);
    for tensor in &mut graph.initializer {
        let name = tensor.name.clone().unwrap_or_default();
        if is_float32(tensor) && plan.is_half(&name) {
            tensor_to_half(tensor, &name, &mut summary.clipped)?;
            summary.tensors_converted += 1;
        }
    }
    let mut casts: HashMap<(String, bool), String> = HashMap::new();
    let mut nodes = Vec::with_capacity(graph.node.len());
    for (index, mut node) in std::mem::take(&mut graph.node).into_iter().enumerate() {
        for slot in 0..node.input.len() {
            let value = node.input[slot].clone();
            let need = plan.need(index, &node, slot);
            let Some(to_half) = cast_needed(plan, &value, need, &node)? else {
                continue;
            };
            let cast = casts.entry((value.clone(), to_half)).or_insert_with(|| {
                let suffix = if to_half { "float16" } else { "float32" };
                let output = names.fresh(&format!("{value}/{suffix}"));
                let name = names.fresh(&format!("Cast/{output}"));
                nodes.push(cast_node(&value, &output, &name, to_half));
                summary.casts_added += 1;
                output
            });
            node.input[slot] = cast.clone();
        }
        if node.output.iter().any(|o| plan.is_half(o)) {
            summary.tensors_converted += retarget(&mut node, &mut summary.clipped)?;
        }
        nodes.push(node);
    }
    graph.node = nodes;
    summary.casts_added += cast_outputs_back(graph, plan, &mut names);
    for info in &mut graph.value_info {
        let name = info.name.as_deref().unwrap_or("");
        if plan.is_half(name)
            && let Some(tensor) = info.r#type.as_mut().and_then(|t| t.tensor_type.as_mut())
            && tensor.elem_type == Some(FLOAT)
        {
            tensor.elem_type = Some(FLOAT16);
        }
    }
    Ok(summary)
}

/// Whether `value` must be cast before this use (`Some(true)`: to float16).
fn cast_needed(
    plan: &Plan,
    value: &str,
    need: Need,
    node: &NodeProto,
) -> Result<Option<bool>, String> {
    if value.is_empty() || need == Need::Any {
        return Ok(None);
    }
    let want_half = need == Need::Half;
    match plan.element_type(value) {
        Some(FLOAT) => Ok((plan.is_half(value) != want_half).then_some(want_half)),
        Some(_) => Ok(None),
        // A value of unknown type made by a node of the same precision as
        // this one needs nothing: whatever it is, it already fits.
        None if plan.made_in_half(value) == Some(want_half) => Ok(None),
        None => Err(format!(
            "node `{}` ({}) reads `{value}`, whose element type cannot be told",
            node.name.as_deref().unwrap_or(""),
            node.op_type.as_deref().unwrap_or("")
        )),
    }
}

fn cast_node(input: &str, output: &str, name: &str, to_half: bool) -> NodeProto {
    let to = if to_half { FLOAT16 } else { FLOAT };
    NodeProto {
        input: vec![input.to_string()],
        output: vec![output.to_string()],
        name: Some(name.to_string()),
        op_type: Some("Cast".into()),
        attribute: vec![AttributeProto::new("to", Attribute::Int(to.into()))],
        ..NodeProto::default()
    }
}

/// Makes a node that now yields float16 say so: a `Cast` to float, a
/// `Constant`'s or `ConstantOfShape`'s value, the `dtype` of the operators
/// that take one. Returns the number of tensors converted.
fn retarget(node: &mut NodeProto, clipped: &mut Clipped) -> Result<usize, String> {
    if !is_standard(node) {
        return Ok(0);
    }
    let what = node.output.first().cloned().unwrap_or_default();
    let op = node.op_type.clone().unwrap_or_default();
    let mut converted = 0;
    match op.as_str() {
        "Constant" => {
            for attribute in &mut node.attribute {
                converted += usize::from(constant_to_half(attribute, &what, clipped)?);
            }
        }
        "ConstantOfShape" => {
            let value = node
                .attribute
                .iter_mut()
                .find(|a| a.name.as_deref() == Some("value"));
            match value.and_then(|a| a.t.as_mut()) {
                Some(tensor) if is_float32(tensor) => {
                    tensor_to_half(tensor, &what, clipped)?;
                    converted += 1;
                }
                Some(_) => {}
                None => {
                    // No `value` means float32 zeros: float16 zeros instead.
                    node.attribute.push(AttributeProto {
                        name: Some("value".into()),
                        r#type: Some(AttributeType::Tensor as i32),
                        t: Some(TensorProto {
                            dims: vec![1],
                            data_type: Some(FLOAT16),
                            raw_data: Some(vec![0, 0]),
                            ..TensorProto::default()
                        }),
                        ..AttributeProto::default()
                    });
                }
            }
        }
        "Cast" | "EyeLike" | "RandomNormalLike" | "RandomUniformLike" | "Bernoulli" => {
            let key = if op == "Cast" { "to" } else { "dtype" };
            for attribute in &mut node.attribute {
                if attribute.name.as_deref() == Some(key) && attribute.i == Some(FLOAT.into()) {
                    attribute.i = Some(FLOAT16.into());
                }
            }
        }
        _ => {}
    }
    Ok(converted)
}

/// Renames each graph output that is now float16 inside the graph and casts
/// it back to float32 under its own name. Returns the number of casts.
fn cast_outputs_back(graph: &mut GraphProto, plan: &Plan, names: &mut Names) -> usize {
    let mut casts = Vec::new();
    for output in &graph.output {
        let Some(name) = output.name.as_deref() else {
            continue;
        };
        if !plan.is_half(name) {
            continue;
        }
        let inside = names.fresh(&format!("{name}/float16"));
        for node in &mut graph.node {
            for value in node.input.iter_mut().chain(node.output.iter_mut()) {
                if value == name {
                    *value = inside.clone();
                }
            }
        }
        let node_name = names.fresh(&format!("Cast/{name}"));
        casts.push(cast_node(&inside, name, &node_name, false));
    }
    let count = casts.len();
    graph.node.extend(casts);
    count
}
