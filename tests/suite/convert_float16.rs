//! `--precision fp16`'s model conversion (src/convert/onnx/float16) on real
//! models: the demo extractor (also the demo's classifier) and both demo
//! generators and the tiny extractor, exported by torch.onnx, and the
//! natively built FID Inception on the stand-in weights of
//! tests/fixtures/convert/fid.json. Each is converted and run in float16 on
//! ONNX Runtime's CPU provider (`Runtime::open_bytes_on_cpu`, the test
//! path; the tool itself runs fp16 on CUDA only), checking:
//!
//! (a) inputs and outputs keep their names, float32 type and shapes;
//! (b) the drift from the float32 model, max |fp16 − fp32| over the largest
//!     |fp32| of each output, is non-zero (≥ 1e-5: it did run in half) and
//!     at most [`DRIFT`] (measured 4.8e-5 to 1.8e-3, the FID Inception's
//!     pool the largest; 2.8e-2 for the v1 generator's 256² images, whose
//!     second stage amplifies it, hence their own bound);
//! (c) every converted initializer is, bit for bit, numpy's
//!     `np.clip(w, ±65504).astype(np.float16)` (SHA-256s in
//!     tests/fixtures/fp16/reference.json, and each bit pattern of the
//!     rounding edge cases of edge.onnx), and no float32 initializer is left;
//! (d) outputs within [`AGREEMENT`] of onnxconverter-common's conversion of
//!     the same model run on the same ORT (tests/fixtures/fp16/
//!     onnxconverter.npz; measured ≤ 1.0e-3, 1.0e-2 for the v1 256²
//!     images). Its model takes float16 inputs and gives float16 outputs, so
//!     it was fed the inputs rounded to float16, as the converter's first Cast
//!     does; the two are not bit-equal because ONNX Runtime's CPU provider
//!     runs several float16 operators in float32 between casts it inserts
//!     and then merges differently for the two graphs.
//!
//! Both references come from tests/reference/check_float16.py. Also: every
//! model decodes and encodes back to its own bytes and ORT gives identical
//! outputs for the re-encoded file, and what cannot be converted is refused
//! in one line naming the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use prost::Message;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use stackgan_eval::convert::onnx::float16::{reencoded, to_float16};
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::convert::{ModelKind, convert};
use stackgan_eval::rng::NumpyRandomState;
use stackgan_eval::runtime::{ModelSession, Runtime, RuntimeConfig};

use crate::util::{fixture, npz_array, repo_path, temp_dir};

/// Bound on (b), per output; the v1 generator's 256² images have their own.
const DRIFT: f64 = 5e-3;
const DRIFT_V1_IMG256: f64 = 6e-2;
/// Bound on (d), per output; the same exception.
const AGREEMENT: f64 = 3e-3;
const AGREEMENT_V1_IMG256: f64 = 3e-2;

fn runtime() -> Runtime {
    Runtime::load(RuntimeConfig {
        threads: Some(1),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

#[derive(Deserialize)]
struct ModelReference {
    seed: Option<u32>,
    batch: Option<usize>,
    initializers: BTreeMap<String, String>,
    #[serde(default)]
    edge_bits: Vec<u16>,
}

fn reference(name: &str) -> ModelReference {
    let path = fixture("fp16/reference.json");
    let text = std::fs::read_to_string(path).unwrap();
    let mut all: BTreeMap<String, ModelReference> = serde_json::from_str(&text).unwrap();
    all.remove(name)
        .unwrap_or_else(|| panic!("{name} is not in {path}"))
}

/// The few `onnx.proto` fields the checks read, decoded here independently
/// of the converter's own messages.
mod onnx {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Model {
        #[prost(message, optional, tag = "7")]
        pub graph: Option<Graph>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Graph {
        #[prost(message, repeated, tag = "5")]
        pub initializer: Vec<Tensor>,
    }
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        #[prost(int32, optional, tag = "2")]
        pub data_type: Option<i32>,
        #[prost(string, optional, tag = "8")]
        pub name: Option<String>,
        #[prost(bytes = "vec", optional, tag = "9")]
        pub raw_data: Option<Vec<u8>>,
    }
}

const FLOAT: i32 = 1;
const FLOAT16: i32 = 10;

fn initializers(bytes: &[u8]) -> Vec<onnx::Tensor> {
    onnx::Model::decode(bytes)
        .unwrap()
        .graph
        .unwrap()
        .initializer
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// (c): every float16 initializer is numpy's, none stayed float32.
fn check_initializers(name: &str, converted: &[u8], want: &ModelReference) {
    let mut seen = 0;
    for tensor in initializers(converted) {
        let key = tensor.name.clone().unwrap_or_default();
        assert_ne!(
            tensor.data_type,
            Some(FLOAT),
            "{name}: `{key}` stayed float32"
        );
        if tensor.data_type != Some(FLOAT16) {
            continue;
        }
        let raw = tensor.raw_data.as_deref().unwrap_or_default();
        assert_eq!(
            Some(&hex_sha256(raw)),
            want.initializers.get(&key),
            "{name}: `{key}` is not numpy's astype(float16)"
        );
        seen += 1;
    }
    assert_eq!(
        seen,
        want.initializers.len(),
        "{name}: converted initializers"
    );
}

/// check_float16.py's inputs: one RandomState(seed), per input in order,
/// `random_sample((batch, *dims)) * 2 - 1` as float32.
fn inputs(session: &ModelSession, seed: u32, batch: usize) -> Vec<(String, ArrayD<f32>)> {
    let mut rng = NumpyRandomState::new(seed);
    session
        .inputs()
        .iter()
        .map(|input| {
            let mut shape = vec![batch];
            shape.extend(input.shape[1..].iter().map(|&d| d as usize));
            let array = ArrayD::from_shape_simple_fn(IxDyn(&shape), || {
                (rng.random_sample() * 2.0 - 1.0) as f32
            });
            (input.name.clone(), array)
        })
        .collect()
}

fn run(session: &mut ModelSession, inputs: &[(String, ArrayD<f32>)]) -> Vec<ArrayD<f32>> {
    let names: Vec<String> = session.outputs().into_iter().map(|o| o.name).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let feeds: Vec<(&str, _)> = inputs.iter().map(|(n, a)| (n.as_str(), a.view())).collect();
    session.run(&feeds, &names).unwrap()
}

/// max |got − want| / max |want|.
fn relative(got: &ArrayD<f32>, want: &ArrayD<f32>) -> f64 {
    assert_eq!(got.shape(), want.shape());
    let largest = want.iter().fold(0f64, |m, w| m.max(f64::from(w.abs())));
    let difference = got
        .iter()
        .zip(want)
        .fold(0f64, |m, (g, w)| m.max(f64::from(g - w).abs()));
    difference / largest
}

/// Converts the model at `path` (or given as `bytes`) and checks (a)–(d).
fn converts_and_runs_in_half(name: &str, path: &Path, bytes: &[u8]) {
    let want = reference(name);
    let converted = to_float16(bytes, path).unwrap();
    assert!(converted.clipped.values == 0, "{name}: nothing to clip");
    check_initializers(name, &converted.bytes, &want);

    let runtime = runtime();
    let mut single = runtime.open_bytes_on_cpu(bytes, path).unwrap();
    let mut half = runtime.open_bytes_on_cpu(&converted.bytes, path).unwrap();
    assert_eq!(half.inputs(), single.inputs(), "{name}: (a) inputs");
    assert_eq!(half.outputs(), single.outputs(), "{name}: (a) outputs");
    assert!(single.outputs().iter().all(|o| o.is_float32));

    let feeds = inputs(&single, want.seed.unwrap(), want.batch.unwrap());
    let got = run(&mut half, &feeds);
    let float32 = run(&mut single, &feeds);
    let onnxconverter = fixture("fp16/onnxconverter.npz");
    for ((output, got), float32) in single.outputs().iter().zip(&got).zip(&float32) {
        let what = format!("{name} `{}`", output.name);
        let v1_images = name == "demo-generator-v1" && output.name == "img256";
        let drift = relative(got, float32);
        let bound = if v1_images { DRIFT_V1_IMG256 } else { DRIFT };
        eprintln!("{what}: drift from float32 {drift:.2e} (bound {bound:.0e})");
        assert!(
            (1e-5..=bound).contains(&drift),
            "{what}: (b) drift {drift:e}"
        );

        let theirs: ArrayD<f32> = npz_array(onnxconverter, &format!("{name}/{}", output.name));
        let agreement = relative(got, &theirs);
        let bound = if v1_images {
            AGREEMENT_V1_IMG256
        } else {
            AGREEMENT
        };
        eprintln!("{what}: from onnxconverter-common's {agreement:.2e} (bound {bound:.0e})");
        assert!(agreement <= bound, "{what}: (d) {agreement:e}");
    }
}

fn file(relative: &str) -> (PathBuf, Vec<u8>) {
    let path = PathBuf::from(repo_path(relative));
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// The stand-in FID Inception, as tests/fixtures/convert/make.py and
/// check_float16.py build it.
fn fid_inception() -> (PathBuf, Vec<u8>, tempfile::TempDir) {
    #[derive(Deserialize)]
    struct Layout {
        seed: u32,
        weights: String,
        layout: Vec<(String, Vec<usize>)>,
        native_sha256: String,
    }
    let text = std::fs::read_to_string(fixture("convert/fid.json")).unwrap();
    let spec: Layout = serde_json::from_str(&text).unwrap();
    let weights = stand_in_weights(&spec.layout, spec.seed, Path::new(&spec.weights));
    let dir = temp_dir();
    let path = dir.path().join("fid.onnx");
    let kind: ModelKind = "fid".parse().unwrap();
    let converted = convert(&weights, &kind, &path).unwrap();
    assert_eq!(
        converted.sha256, spec.native_sha256,
        "the model check_float16.py converted"
    );
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes, dir)
}

#[test]
fn the_demo_extractor_runs_in_half_close_to_float32_and_to_onnxconverter_common() {
    let (path, bytes) = file("models/demo/demo-extractor.onnx");
    converts_and_runs_in_half("demo-extractor", &path, &bytes);
    let (path, bytes) = file("tests/fixtures/models/tiny-extractor.onnx");
    converts_and_runs_in_half("tiny-extractor", &path, &bytes);
}

#[test]
fn the_demo_generators_run_in_half_close_to_float32_and_to_onnxconverter_common() {
    let (path, bytes) = file("models/demo/demo-generator.onnx");
    converts_and_runs_in_half("demo-generator", &path, &bytes);
    let (path, bytes) = file("models/demo/demo-generator-v1.onnx");
    converts_and_runs_in_half("demo-generator-v1", &path, &bytes);
}

#[test]
fn the_fid_inception_runs_in_half_close_to_float32_and_to_onnxconverter_common() {
    let (path, bytes, _dir) = fid_inception();
    converts_and_runs_in_half("fid-inception", &path, &bytes);
}

#[test]
fn rounding_edge_cases_are_numpys_bit_for_bit() {
    let (path, bytes) = file("tests/fixtures/fp16/edge.onnx");
    let want = reference("edge");
    let converted = to_float16(&bytes, &path).unwrap();
    check_initializers("edge", &converted.bytes, &want);
    let edge = initializers(&converted.bytes).remove(0);
    let bits: Vec<u16> = edge
        .raw_data
        .unwrap()
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    assert_eq!(bits, want.edge_bits);
    assert_eq!(converted.clipped.values, 4, "65519.99, 65520, 1e9 and -1e9");
    let note = converted.clip_note(&path).unwrap();
    assert!(
        note.contains("edge.onnx") && note.contains("1.000e9"),
        "{note}"
    );
}

#[test]
fn models_decode_and_encode_back_to_their_bytes_and_run_identically() {
    let runtime = runtime();
    for relative in [
        "models/demo/demo-extractor.onnx",
        "models/demo/demo-generator.onnx",
        "models/demo/demo-generator-v1.onnx",
        "tests/fixtures/models/tiny-extractor.onnx",
    ] {
        let (path, bytes) = file(relative);
        let again = reencoded(&bytes, &path).unwrap();
        assert!(again == bytes, "{relative}: re-encoded bytes differ");
        // The same bytes must also mean the same model to ONNX Runtime:
        // one computation, so the outputs are equal, not close.
        let mut original = runtime.open(&path).unwrap();
        let mut copy = runtime.open_bytes_on_cpu(&again, &path).unwrap();
        let feeds = inputs(&original, 11, 2);
        assert_eq!(
            run(&mut copy, &feeds),
            run(&mut original, &feeds),
            "{relative}"
        );
    }
    let (path, bytes, _dir) = fid_inception();
    assert!(
        reencoded(&bytes, &path).unwrap() == bytes,
        "native Inception"
    );
}

#[test]
fn what_cannot_be_converted_is_refused_in_one_line_naming_the_file() {
    let dir = temp_dir();
    let path = dir.path().join("broken.onnx");
    let (_, bytes) = file("models/demo/demo-extractor.onnx");
    for (bad, says) in [
        (
            b"PK\x03\x04 a zip, not a model".to_vec(),
            "not an ONNX model",
        ),
        (bytes[..bytes.len() / 2].to_vec(), "not an ONNX model"),
        (
            [bytes.as_slice(), &[0x98, 0x06, 0x01]].concat(),
            "would change it",
        ),
    ] {
        let error = to_float16(&bad, &path).unwrap_err().to_string();
        assert!(
            error.contains("broken.onnx") && error.contains(says) && !error.contains('\n'),
            "{error}"
        );
        assert!(error.contains("--precision fp32"), "{error}");
    }
}
