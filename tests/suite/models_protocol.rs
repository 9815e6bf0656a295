//! Scoring protocols: each one's network input equals what its reference
//! tool computes (tests/fixtures/protocols/make.py captured it at the first
//! convolution of pytorch-fid, torch-fidelity, clean-fid and StackGAN's
//! preprocessing, on two real photographs), the manifest decides what a
//! model serves, and every report records the protocol it ran under.

use std::path::{Path, PathBuf};

use crate::util::{
    assert_ok, assert_rel, fixture, json, refusal_line, root, s, temp_dir, tiny_extractor, tool,
};
use ndarray::{Array3, Axis};
use ndarray_npy::read_npy;
use stackgan_eval::images::{decode_rgb, preprocess_into};
use stackgan_eval::models::Protocol;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/protocols")
}

/// Rows and columns of the 299 × 299 input that the fixtures keep.
fn sample() -> Vec<usize> {
    (0..299).step_by(6).chain([298]).collect()
}

/// The network input of `photo` under `protocol`, at the sampled rows and columns.
fn our_input(photo: &str, protocol: &Protocol) -> Array3<f32> {
    let p = protocol
        .spec()
        .expect("a named protocol")
        .preprocess(299, 299);
    let mut full = Array3::zeros((3, 299, 299));
    preprocess_into(
        &decode_rgb(&fixtures().join("src").join(photo)).unwrap(),
        &p,
        full.view_mut(),
    );
    let idx = sample();
    full.select(Axis(1), &idx).select(Axis(2), &idx)
}

fn max_abs_diff(photo: &str, protocol: &Protocol) -> f32 {
    let reference: Array3<f32> =
        read_npy(fixtures().join(format!("ref/{photo}_{protocol}.npy"))).unwrap();
    let ours = our_input(photo, protocol);
    assert_eq!(ours.dim(), reference.dim());
    let d = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    eprintln!("{protocol} {photo}: max |diff| {d:e} on the network's [-1, 1] scale");
    d
}

const PHOTOS: [&str; 2] = ["coffee_480x360.png", "astronaut_200x150.png"];

#[test]
fn pytorch_fid_input_is_pytorch_fids() {
    // Float32 rounding of a bilinear mix, then 2x − 1 versus (x − 0.5) / 0.5
    // (measured 2.4e-7 and 3.6e-7: two or three float32 ulps at 1).
    for photo in PHOTOS {
        assert!(max_abs_diff(photo, &Protocol::PytorchFid) <= 5e-7);
    }
}

#[test]
fn torch_fidelity_input_is_torch_fidelitys() {
    // TF1 bilinear on 0..255 then (x − 128) / 128, versus (x/255 − 128/255) / (128/255)
    // (measured 1.8e-7).
    for photo in PHOTOS {
        assert!(max_abs_diff(photo, &Protocol::TorchFidelity) <= 5e-7);
    }
}

#[test]
fn clean_fid_input_is_clean_fids() {
    // Pillow float bicubic (one float32 ulp at 255), then the same mapping (measured 1.8e-7).
    for photo in PHOTOS {
        assert!(max_abs_diff(photo, &Protocol::CleanFid) <= 5e-7);
    }
}

#[test]
fn stackgan_is_input_is_stackgans() {
    // Pillow 12 bilinear on 8 bits is exact; x / 127.5 − 1 versus (x/255 − 0.5) / 0.5
    // (measured 0).
    for photo in PHOTOS {
        assert!(max_abs_diff(photo, &Protocol::StackganIs) <= 2e-7);
    }
}

#[test]
fn the_protocols_really_differ() {
    // A fixture that could not tell the protocols apart would prove nothing.
    let photo = PHOTOS[0];
    let inputs: Vec<Array3<f32>> = Protocol::NAMED
        .iter()
        .map(|p| our_input(photo, p))
        .collect();
    for (i, a) in inputs.iter().enumerate() {
        for b in &inputs[i + 1..] {
            let d = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(d > 1e-3, "two protocols give the same input (max diff {d})");
        }
    }
}

fn tiny_fid() -> &'static str {
    fixture("protocols/tiny-fid.onnx")
}

/// `fid` on the e2e folders with `extra` flags; returns the JSON report and stderr.
fn fid(model: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let dir = temp_dir();
    let out = dir.path().join("fid.json");
    let mut args = vec![
        "fid",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        model,
        "--device",
        "cpu",
        "--quiet",
        "--json",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let output = tool(&args);
    assert_ok(&output);
    (json(&out), String::from_utf8_lossy(&output.stderr).into())
}

#[test]
fn every_report_records_its_protocol() {
    for protocol in ["pytorch-fid", "clean-fid", "torch-fidelity"] {
        let (report, _) = fid(tiny_fid(), &["--protocol", protocol]);
        assert_eq!(report["protocol"], protocol);
        assert_eq!(report["extractor"]["protocol"], protocol);
        let resize = Protocol::NAMED
            .iter()
            .find(|p| p.name() == protocol)
            .and_then(|p| p.spec())
            .unwrap()
            .resize;
        assert_eq!(report["resize"], resize.name());
    }
    // A model's own protocol is recorded by its name.
    let (report, _) = fid(tiny_extractor(), &[]);
    assert_eq!(report["protocol"], "test-fixture");
}

#[test]
fn the_default_is_the_manifests_and_protocols_change_the_number() {
    let fid_of = |extra: &[&str]| fid(tiny_fid(), extra).0["fid"].as_f64().unwrap();
    let default = fid_of(&[]);
    assert_eq!(
        default.to_bits(),
        fid_of(&["--protocol", "pytorch-fid"]).to_bits()
    );
    let tf = fid_of(&["--protocol", "torch-fidelity"]);
    let clean = fid_of(&["--protocol", "clean-fid"]);
    let apart = |a: f64, b: f64| (a - b).abs() / b.abs() > 1e-4;
    assert!(apart(tf, default), "{tf} vs {default}");
    assert!(apart(clean, tf), "{clean} vs {tf}");
}

#[test]
fn resize_alone_overrides_the_protocol_and_says_so() {
    let (report, stderr) = fid(tiny_fid(), &["--resize", "legacy-tf"]);
    assert_eq!(report["protocol"], "pytorch-fid");
    assert_eq!(report["resize"], "legacy-tf");
    let note = "--resize legacy-tf replaced the resize of protocol pytorch-fid (legacy-pytorch)";
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(note)),
        "{report}"
    );
    assert!(stderr.contains(note), "{stderr}");
}

/// Runs `fid` expecting a refusal: exit 2, one line, naming each of `words`.
fn refused(model: &str, extra: &[&str], words: &[&str]) {
    let mut args = vec![
        "fid",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        model,
        "--device",
        "cpu",
    ];
    args.extend_from_slice(extra);
    let line = refusal_line(&args);
    for word in words {
        assert!(line.contains(word), "`{word}` missing: {line}");
    }
}

#[test]
fn a_model_that_cannot_serve_a_protocol_is_refused() {
    refused(
        tiny_fid(),
        &["--protocol", "stackgan-is"],
        &[
            "--protocol stackgan-is",
            "tiny-fid.onnx",
            "pytorch-fid, clean-fid, torch-fidelity",
        ],
    );
    refused(
        tiny_extractor(),
        &["--protocol", "torch-fidelity"],
        &[
            "--protocol torch-fidelity",
            "tiny-extractor.onnx",
            "[test-fixture]",
        ],
    );
}

/// `tiny-fid.onnx` in a temporary folder, beside `manifest` (edited from the fixture's).
fn with_manifest(dir: &Path, edit: impl Fn(String) -> String) -> PathBuf {
    let model = dir.join("m.onnx");
    std::fs::copy(tiny_fid(), &model).unwrap();
    let text = std::fs::read_to_string(fixtures().join("tiny-fid.toml")).unwrap();
    std::fs::write(dir.join("m.toml"), edit(text)).unwrap();
    model
}

#[test]
fn an_older_manifest_serves_its_protocols_network() {
    // Before `protocols` existed, the exporter wrote `pytorch-fid` only for the FID Inception.
    let dir = temp_dir();
    let model = with_manifest(dir.path(), |t| {
        t.lines()
            .filter(|l| !l.starts_with("protocols ="))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let (report, _) = fid(s(&model), &["--protocol", "clean-fid"]);
    assert_eq!(report["protocol"], "clean-fid");
    refused(
        s(&model),
        &["--protocol", "stackgan-is"],
        &["--protocol stackgan-is"],
    );
}

#[test]
fn a_manifest_whose_input_contradicts_its_protocol_is_refused() {
    let dir = temp_dir();
    let model = with_manifest(dir.path(), |t| {
        t.replace("resize = \"legacy-pytorch\"", "resize = \"clean\"")
    });
    refused(
        s(&model),
        &[],
        &["m.toml", "protocol `pytorch-fid`", "[input]"],
    );
    let model = with_manifest(dir.path(), |t| {
        t.replace(
            "protocols = [\"pytorch-fid\", \"clean-fid\", \"torch-fidelity\"]",
            "protocols = [\"clean-fid\"]",
        )
    });
    refused(
        s(&model),
        &[],
        &["m.toml", "does not list the default protocol"],
    );
}

#[test]
fn fid_under_each_tools_protocol_equals_that_tools_pipeline() {
    // reference.json: the tools' own loaders, resizes and mappings at the tiny
    // model's 32 × 32, onnxruntime, then their own FID code (tests/fixtures/protocols/make.py).
    // Float32 features on both sides: measured 2.8e-7 (torch-fidelity) and 6e-8 (clean-fid).
    let reference = json(fixtures().join("reference.json"));
    for protocol in ["torch-fidelity", "clean-fid"] {
        let want = reference[protocol].as_f64().unwrap();
        let got = fid(tiny_fid(), &["--protocol", protocol]).0["fid"]
            .as_f64()
            .unwrap();
        assert_rel(
            got,
            want,
            1e-5,
            &format!("FID under {protocol} against its pipeline"),
        );
    }
}

#[test]
fn the_exporters_protocol_table_is_the_tools() {
    // exporter_protocols.json is models/manifest.py's PROTOCOLS (written by make.py).
    let table = json(fixtures().join("exporter_protocols.json"));
    let table = table.as_object().unwrap();
    assert_eq!(table.len(), Protocol::NAMED.len());
    for protocol in Protocol::NAMED {
        let spec = protocol.spec().unwrap();
        let py = &table[protocol.name()];
        assert_eq!(py["resize"], spec.resize.name(), "{protocol}");
        for (key, ours) in [("mean", spec.mean), ("std", spec.std)] {
            for (v, o) in py[key].as_array().unwrap().iter().zip(ours) {
                assert!(
                    (v.as_f64().unwrap() - o as f64).abs() < 1e-7,
                    "{protocol} {key}"
                );
            }
        }
        let logits = match spec.is_logits {
            stackgan_eval::models::OutputKind::LogitsUnbiased => "logits_unbiased",
            _ => "logits",
        };
        assert_eq!(py["is_logits"], logits, "{protocol}");
    }
}
