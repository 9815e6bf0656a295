//! The conversion rules on small hand-built graphs. (That converted models
//! run, and agree with float32, numpy and onnxconverter-common, is checked
//! in tests/suite/convert_float16.rs.)

use std::path::Path;

use prost::Message;

use super::*;
use crate::convert::onnx::proto::{
    Attribute, AttributeProto, AttributeType, DataType, GraphProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

const FLOAT: i32 = DataType::Float as i32;
const FLOAT16: i32 = DataType::Float16 as i32;
const INT64: i32 = DataType::Int64 as i32;

fn value(name: &str, elem_type: i32) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: Some(elem_type),
                shape: None,
            }),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

fn node(op: &str, inputs: &[&str], outputs: &[&str]) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        name: Some(format!("{op}_{}", outputs[0])),
        op_type: Some(op.into()),
        ..NodeProto::default()
    }
}

fn with(mut node: NodeProto, name: &str, value: Attribute) -> NodeProto {
    node.attribute.push(AttributeProto::new(name, value));
    node
}

fn model(graph: GraphProto) -> Vec<u8> {
    ModelProto {
        ir_version: Some(8),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(17),
        }],
        graph: Some(graph),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

const PATH: &str = "models/g.onnx";

fn convert(graph: GraphProto) -> (GraphProto, Float16Model) {
    let converted = to_float16(&model(graph), Path::new(PATH)).unwrap();
    let model = ModelProto::decode(converted.bytes.as_slice()).unwrap();
    (model.graph.unwrap(), converted)
}

fn refusal(bytes: &[u8]) -> String {
    let error = to_float16(bytes, Path::new(PATH)).unwrap_err().to_string();
    assert!(error.contains(PATH) && !error.contains('\n'), "{error}");
    error
}

fn initializer<'g>(graph: &'g GraphProto, name: &str) -> &'g TensorProto {
    graph
        .initializer
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .unwrap()
}

fn producer<'g>(graph: &'g GraphProto, output: &str) -> &'g NodeProto {
    graph
        .node
        .iter()
        .find(|n| n.output.iter().any(|o| o == output))
        .unwrap()
}

fn int_attribute(node: &NodeProto, name: &str) -> Option<i64> {
    node.attribute
        .iter()
        .find(|a| a.name.as_deref() == Some(name))
        .and_then(|a| a.i)
}

/// x → Resize(scales) → Mul(w) → y, with `r` declared in value_info.
fn resize_graph() -> GraphProto {
    GraphProto {
        node: vec![
            node("Resize", &["x", "", "scales"], &["r"]),
            node("Mul", &["r", "w"], &["y"]),
        ],
        initializer: vec![
            TensorProto::float32("scales", &[4], &[1.0, 1.0, 2.0, 2.0]),
            TensorProto::float32("w", &[1], &[0.1]),
        ],
        input: vec![value("x", FLOAT)],
        output: vec![value("y", FLOAT)],
        value_info: vec![value("r", FLOAT)],
        ..GraphProto::default()
    }
}

#[test]
fn resize_scales_stay_float32_while_data_and_weights_become_float16() {
    let original = resize_graph();
    let (graph, converted) = convert(original.clone());
    assert_eq!(graph.input, original.input, "inputs keep name and float32");
    assert_eq!(
        graph.output, original.output,
        "outputs keep name and float32"
    );
    assert_eq!(initializer(&graph, "scales"), &original.initializer[0]);
    let w = initializer(&graph, "w");
    assert_eq!(w.data_type, Some(FLOAT16));
    assert_eq!(
        w.raw_data.as_deref(),
        Some(&half::f16::from_f32(0.1).to_le_bytes()[..])
    );

    let resize = producer(&graph, "r");
    assert_eq!(resize.input, ["x/float16", "", "scales"]);
    let cast_in = producer(&graph, "x/float16");
    assert_eq!(
        (cast_in.input[0].as_str(), int_attribute(cast_in, "to")),
        ("x", Some(10))
    );
    let cast_out = producer(&graph, "y");
    assert_eq!(cast_out.input, ["y/float16"]);
    assert_eq!(int_attribute(cast_out, "to"), Some(1));
    assert_eq!(
        producer(&graph, "y/float16").op_type.as_deref(),
        Some("Mul")
    );
    assert_eq!(graph.node.len(), 4);
    let r = &graph.value_info[0].r#type.as_ref().unwrap().tensor_type;
    assert_eq!(
        r.as_ref().unwrap().elem_type,
        Some(FLOAT16),
        "value_info follows"
    );
    assert_eq!((converted.tensors_converted, converted.casts_added), (1, 2));
    assert_eq!(converted.clip_note(Path::new(PATH)), None);
}

#[test]
fn casts_to_float_become_float16_on_data_and_shape_arithmetic_stays_float32() {
    let shape_constant = TensorProto::float32("", &[2], &[1.0, 1.0]);
    let graph = GraphProto {
        node: vec![
            with(
                node("ArgMax", &["x"], &["index"]),
                "axis",
                Attribute::Int(1),
            ),
            with(
                node("Cast", &["index"], &["index_f"]),
                "to",
                Attribute::Int(1),
            ),
            node("Add", &["x", "index_f"], &["sum"]),
            node("Shape", &["x"], &["shape"]),
            with(
                node("Cast", &["shape"], &["shape_f"]),
                "to",
                Attribute::Int(1),
            ),
            NodeProto {
                attribute: vec![AttributeProto {
                    name: Some("value".into()),
                    r#type: Some(AttributeType::Tensor as i32),
                    t: Some(shape_constant.clone()),
                    ..AttributeProto::default()
                }],
                ..node("Constant", &[], &["one"])
            },
            node("Mul", &["shape_f", "one"], &["scaled"]),
            with(
                node("Cast", &["scaled"], &["new_shape"]),
                "to",
                Attribute::Int(7),
            ),
            node("Reshape", &["sum", "new_shape"], &["y"]),
        ],
        initializer: vec![TensorProto::int64("unused_ints", &[3, -4])],
        input: vec![value("x", FLOAT)],
        output: vec![value("y", FLOAT)],
        ..GraphProto::default()
    };
    let (converted, _) = convert(graph.clone());
    assert_eq!(
        int_attribute(producer(&converted, "index_f"), "to"),
        Some(10)
    );
    assert_eq!(
        int_attribute(producer(&converted, "shape_f"), "to"),
        Some(1)
    );
    let constant = producer(&converted, "one");
    assert_eq!(constant.attribute[0].t.as_ref(), Some(&shape_constant));
    assert_eq!(producer(&converted, "scaled").input, ["shape_f", "one"]);
    assert_eq!(
        producer(&converted, "y/float16").input,
        ["sum", "new_shape"]
    );
    assert_eq!(producer(&converted, "sum").input, ["x/float16", "index_f"]);
    assert_eq!(
        initializer(&converted, "unused_ints"),
        &graph.initializer[0],
        "integer tensors are untouched"
    );
}

#[test]
fn constants_of_every_spelling_and_out_of_range_weights_become_float16() {
    let graph = GraphProto {
        node: vec![
            with(
                node("Constant", &[], &["a"]),
                "value_float",
                Attribute::Float(0.5),
            ),
            NodeProto {
                attribute: vec![AttributeProto {
                    name: Some("value_floats".into()),
                    r#type: Some(AttributeType::Floats as i32),
                    floats: vec![1.0, -1e9],
                    ..AttributeProto::default()
                }],
                ..node("Constant", &[], &["b"])
            },
            with(
                node("Constant", &[], &["k"]),
                "value_int",
                Attribute::Int(2),
            ),
            node("Add", &["x", "a"], &["xa"]),
            node("Add", &["xa", "b"], &["xb"]),
            node("Mul", &["xb", "big"], &["y"]),
        ],
        initializer: vec![TensorProto::float32("big", &[2], &[70000.0, 2.0])],
        input: vec![value("x", FLOAT)],
        output: vec![value("y", FLOAT), value("k", INT64)],
        ..GraphProto::default()
    };
    let (converted, summary) = convert(graph);
    for (name, dims, halves) in [
        ("a", vec![], vec![0.5]),
        ("b", vec![2], vec![1.0, -65504.0]),
    ] {
        let attribute = &producer(&converted, name).attribute[0];
        assert_eq!(attribute.name.as_deref(), Some("value"));
        let t = attribute.t.as_ref().unwrap();
        assert_eq!((t.dims.clone(), t.data_type), (dims, Some(FLOAT16)));
        let bytes: Vec<u8> = halves
            .iter()
            .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
            .collect();
        assert_eq!(t.raw_data.as_deref(), Some(bytes.as_slice()));
    }
    assert_eq!(producer(&converted, "k").attribute[0].i, Some(2));
    assert_eq!(summary.tensors_converted, 3);
    assert_eq!(summary.clipped.values, 2);
    assert_eq!(summary.clipped.largest, 1e9);
    let note = summary.clip_note(Path::new(PATH)).unwrap();
    assert!(
        note.contains(PATH) && note.contains("2 weight values") && note.contains("±65504"),
        "{note}"
    );
    assert!(note.contains("big") && note.contains("b"), "{note}");
}

#[test]
fn an_output_read_inside_the_graph_is_renamed_inside_and_cast_back_under_its_name() {
    let graph = GraphProto {
        node: vec![
            node("Relu", &["x"], &["mu"]),
            node("Add", &["mu", "x"], &["y"]),
        ],
        input: vec![value("x", FLOAT)],
        output: vec![value("mu", FLOAT), value("y", FLOAT)],
        ..GraphProto::default()
    };
    let (converted, summary) = convert(graph);
    assert_eq!(
        producer(&converted, "y/float16").input,
        ["mu/float16", "x/float16"]
    );
    assert_eq!(producer(&converted, "mu").input, ["mu/float16"]);
    assert_eq!(producer(&converted, "y").input, ["y/float16"]);
    assert_eq!(summary.casts_added, 3, "one for x, one per output");
}

#[test]
fn a_weight_read_by_both_precisions_stays_float32_and_is_cast_once() {
    // Weight normalisation left in the graph: `g` scales data (float16) and
    // enters a static product (float32) too.
    let graph = GraphProto {
        node: vec![
            node("Mul", &["g", "g"], &["g2"]),
            node("Mul", &["x", "g"], &["xg"]),
            node("Add", &["xg", "g2"], &["xg2"]),
            node("Sub", &["xg2", "g"], &["y"]),
        ],
        initializer: vec![TensorProto::float32("g", &[1], &[3.0])],
        input: vec![value("x", FLOAT)],
        output: vec![value("y", FLOAT)],
        ..GraphProto::default()
    };
    let (converted, _) = convert(graph.clone());
    assert_eq!(initializer(&converted, "g"), &graph.initializer[0]);
    assert_eq!(producer(&converted, "g2").input, ["g", "g"]);
    assert_eq!(producer(&converted, "xg").input, ["x/float16", "g/float16"]);
    assert_eq!(producer(&converted, "xg2").input, ["xg", "g2/float16"]);
    assert_eq!(
        producer(&converted, "y/float16").input,
        ["xg2", "g/float16"]
    );
    let casts = converted
        .node
        .iter()
        .filter(|n| n.op_type.as_deref() == Some("Cast"));
    assert_eq!(casts.count(), 4, "x, g, g2 in; y out");
}

#[test]
fn other_domains_stay_float32_between_casts() {
    let mut custom = node("Gelu", &["x"], &["g"]);
    custom.domain = Some("com.microsoft".into());
    let graph = GraphProto {
        node: vec![
            node("Relu", &["x"], &["r"]),
            NodeProto {
                input: vec!["r".into()],
                ..custom
            },
            node("Neg", &["g"], &["y"]),
        ],
        input: vec![value("x", FLOAT)],
        output: vec![value("y", FLOAT)],
        value_info: vec![value("g", FLOAT)],
        ..GraphProto::default()
    };
    let (converted, _) = convert(graph.clone());
    assert_eq!(producer(&converted, "g").input, ["r/float32"]);
    assert_eq!(producer(&converted, "y/float16").input, ["g/float16"]);

    // Without the declared type, the custom output's type is unknown: refused.
    let mut undeclared = graph;
    undeclared.value_info.clear();
    let error = refusal(&model(undeclared));
    assert!(
        error.contains("`g`") && error.contains("cannot be told"),
        "{error}"
    );
}

#[test]
fn what_cannot_be_converted_is_refused_in_one_line_naming_the_model() {
    assert!(refusal(b"not a model at all").contains("not an ONNX model"));
    assert!(refusal(&[]).contains("not an ONNX model"));

    let mut with_subgraph = resize_graph();
    with_subgraph.node.push(NodeProto {
        attribute: vec![AttributeProto {
            name: Some("then_branch".into()),
            g: Some(Vec::new()),
            ..AttributeProto::default()
        }],
        ..node("If", &["y"], &["z"])
    });
    assert!(refusal(&model(with_subgraph)).contains("holds a subgraph"));

    let mut external = resize_graph();
    external.initializer[1].data_location = Some(DataLocation::External as i32);
    assert!(refusal(&model(external)).contains("external file"));

    let mut unordered = resize_graph();
    unordered.node.reverse();
    assert!(refusal(&model(unordered)).contains("topological order"));

    let mut functions = ModelProto::decode(model(resize_graph()).as_slice()).unwrap();
    functions.functions.push(vec![0x0a, 0x01, b'f']);
    assert!(refusal(&functions.encode_to_vec()).contains("local function"));

    // A field onnx.proto does not have (tag 99, varint) would be dropped.
    let mut unknown = model(resize_graph());
    unknown.extend_from_slice(&[0x98, 0x06, 0x01]);
    assert!(refusal(&unknown).contains("would change it"));
}

#[test]
fn a_natively_built_model_reencodes_to_the_same_bytes() {
    let bytes = model(resize_graph());
    assert_eq!(reencoded(&bytes, Path::new(PATH)).unwrap(), bytes);
}
