//! The natively built Inception-v3 graphs (src/convert/inception) against
//! torch and the Python exporter, on full-size stand-in weights that both
//! sides draw from numpy's `RandomState` (tests/fixtures/convert/make.py):
//! pytorch-fid's `fid_inception_v3` (`fid`), torchvision's `inception_v3`
//! (`imagenet`, and `classifier` with torchvision blocks) and
//! `models/inception_net.py` (`classifier` with TF-slim blocks).
//!
//! The converted file, opened as every extractor is (manifest, SHA-256 and
//! signature checked) and run on three 299×299 inputs, must give `pool`,
//! `logits` and `logits_unbiased` within float32 summation-order noise of
//! torch and of the exporter's ONNX: max abs difference ≤ 1e-5 of the
//! output's magnitude, relative RMS ≤ 2e-6 (measured: ≤ 1.3e-5 absolute at
//! magnitudes 10–35, relative RMS ≤ 6e-7). The file must be byte for byte
//! the one the script checked with `onnx.checker`, and its manifest the
//! Python exporter's.

use std::path::Path;

use ndarray::{Array2, Array4, ArrayView2};
use stackgan_eval::convert::inception::{self, Variant};
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::convert::{
    ConvertError, InceptionKind, ModelKind, StateDict, Tensor, TensorData, convert,
};
use stackgan_eval::features::Extractor;
use stackgan_eval::rng::NumpyRandomState;
use stackgan_eval::runtime::{Runtime, RuntimeConfig};

use crate::util::{fixture, manifest_values, npz_array, temp_dir};

const OUTPUTS: [&str; 3] = ["pool", "logits", "logits_unbiased"];

/// `tests/fixtures/convert/<name>.json`.
#[derive(serde::Deserialize)]
struct Fixture {
    kind: String,
    variant: Option<String>,
    drop_columns: Vec<usize>,
    weights: String,
    seed: u32,
    input_seed: u32,
    batch: usize,
    layout: Vec<(String, Vec<usize>)>,
    native_sha256: String,
}

impl Fixture {
    fn read(name: &str) -> Fixture {
        let path = fixture(&format!("convert/{name}.json"));
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn kind(&self) -> ModelKind {
        let mut kind: ModelKind = self.kind.parse().unwrap();
        if let ModelKind::Inception(InceptionKind::Classifier(options)) = &mut kind {
            options.variant = self
                .variant
                .as_deref()
                .unwrap_or("torchvision")
                .parse()
                .unwrap();
            options.drop_columns = self.drop_columns.clone();
        }
        kind
    }

    fn weights(&self) -> StateDict {
        stand_in_weights(&self.layout, self.seed, Path::new(&self.weights))
    }

    /// make.py's inputs: `RandomState(input_seed).random_sample(...) * 2 - 1`.
    fn images(&self) -> Array4<f32> {
        let mut rng = NumpyRandomState::new(self.input_seed);
        Array4::from_shape_simple_fn((self.batch, 3, 299, 299), || {
            (rng.random_sample() * 2.0 - 1.0) as f32
        })
    }
}

fn runtime() -> Runtime {
    Runtime::load(RuntimeConfig {
        threads: Some(1),
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// (max abs difference, relative RMS ‖got − want‖ / ‖want‖).
fn differences(got: ArrayView2<f32>, want: ArrayView2<f32>) -> (f64, f64) {
    assert_eq!(got.shape(), want.shape());
    let (mut max, mut diff2, mut norm2) = (0f64, 0f64, 0f64);
    for (g, w) in got.iter().zip(want) {
        let d = f64::from(*g) - f64::from(*w);
        max = max.max(d.abs());
        diff2 += d * d;
        norm2 += f64::from(*w) * f64::from(*w);
    }
    (max, (diff2 / norm2).sqrt())
}

fn assert_close(what: &str, got: ArrayView2<f32>, want: ArrayView2<f32>) {
    let magnitude = want.iter().fold(0f64, |m, v| m.max(f64::from(v.abs())));
    let (max_abs, rel_rms) = differences(got, want);
    eprintln!(
        "{what}: max abs {max_abs:.3e} (magnitude {magnitude:.3e}), relative RMS {rel_rms:.3e}"
    );
    assert!(
        max_abs <= 1e-5 * magnitude && rel_rms <= 2e-6,
        "{what}: max abs {max_abs:e} (magnitude {magnitude}), relative RMS {rel_rms:e}"
    );
}

/// Converts the fixture's weights and checks file, manifest and outputs.
fn converts_like_the_references(name: &str) {
    let fixture = Fixture::read(name);
    let dir = temp_dir();
    let out = dir.path().join(format!("{name}.onnx"));
    let converted = convert(&fixture.weights(), &fixture.kind(), &out).unwrap();
    assert_eq!(
        converted.sha256, fixture.native_sha256,
        "{name}: the written file is not the one tests/fixtures/convert/make.py checked with onnx.checker; if the graph changed on purpose, rerun make.py"
    );
    assert_eq!(
        manifest_values(&converted.manifest),
        manifest_values(Path::new(fixture_path(&format!("{name}.python.toml")))),
        "{name}: the manifest differs from the Python exporter's"
    );

    let runtime = runtime();
    let mut extractor = Extractor::open(&runtime, &out).unwrap();
    let got = extractor.run(fixture.images().view(), &OUTPUTS).unwrap();
    let references = fixture_path(&format!("{name}.npz"));
    for (output, got) in OUTPUTS.iter().zip(&got) {
        for source in ["torch", "export"] {
            let want: Array2<f32> = npz_array(references, &format!("{source}_{output}"));
            assert_close(
                &format!("{name} {output} vs {source}"),
                got.view(),
                want.view(),
            );
        }
    }
}

fn fixture_path(name: &str) -> &'static str {
    fixture(&format!("convert/{name}"))
}

#[test]
fn fid_inception_equals_pytorch_fid_and_the_exporter() {
    converts_like_the_references("fid");
}

#[test]
fn imagenet_inception_equals_torchvision_and_the_exporter() {
    converts_like_the_references("imagenet");
}

#[test]
fn classifier_equals_torchvision_and_the_exporter() {
    converts_like_the_references("classifier");
}

#[test]
fn tf_slim_classifier_equals_the_exporter() {
    converts_like_the_references("classifier-tf-slim");
}

#[test]
fn same_weights_give_the_same_bytes_and_pools_are_told_apart() {
    let fixture = Fixture::read("fid");
    let dir = temp_dir();
    let (a, b) = (dir.path().join("a.onnx"), dir.path().join("b.onnx"));
    convert(&fixture.weights(), &fixture.kind(), &a).unwrap();
    convert(&fixture.weights(), &fixture.kind(), &b).unwrap();
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());

    // The test above can fail: torchvision's pooling on the FID weights is
    // far outside its tolerance.
    let wrong = dir.path().join("torchvision-blocks.onnx");
    let model = inception::build(&fixture.weights(), Variant::Torchvision, 1008).unwrap();
    std::fs::write(&wrong, model.to_bytes()).unwrap();
    let mut session = runtime().open(&wrong).unwrap();
    let pool = session
        .run(&[("images", fixture.images().into_dyn().view())], &["pool"])
        .unwrap()
        .remove(0);
    let want: Array2<f32> = npz_array(fixture_path("fid.npz"), "torch_pool");
    let pool = pool.into_dimensionality::<ndarray::Ix2>().unwrap();
    let (max_abs, _) = differences(pool.view(), want.view());
    assert!(max_abs > 1e-2, "max abs {max_abs}");
}

#[test]
fn layout_is_the_reference_networks_state_dict() {
    for (name, variant, classes) in [
        ("fid", Variant::Fid, 1008),
        ("imagenet", Variant::Torchvision, 1000),
        ("classifier-tf-slim", Variant::TfSlim, 51),
    ] {
        let mut want: Vec<_> = Fixture::read(name)
            .layout
            .into_iter()
            .filter(|(key, _)| {
                !key.ends_with("num_batches_tracked") && !key.starts_with("AuxLogits.")
            })
            .collect();
        want.sort();
        let mut got = inception::layout(variant, classes);
        got.sort();
        assert_eq!(got, want, "{name}");
    }
}

/// The FID layout's stand-in weights, changed by `edit`.
fn edited_fid_weights(edit: impl FnOnce(&mut StateDict)) -> StateDict {
    let mut weights = stand_in_weights(
        &inception::layout(Variant::Fid, 1008),
        0,
        Path::new("pt_inception.pth"),
    );
    edit(&mut weights);
    weights
}

fn refusal(weights: &StateDict, kind: &str) -> String {
    let dir = temp_dir();
    let out = dir.path().join("m.onnx");
    let error: ConvertError = convert(weights, &kind.parse().unwrap(), &out).unwrap_err();
    let line = error.to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.starts_with("pt_inception.pth"), "{line}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{line}: something was written"
    );
    line
}

#[test]
fn weights_that_do_not_fit_are_refused_in_one_line_naming_every_key() {
    let floats = |shape: Vec<usize>| Tensor {
        data: TensorData::Float(vec![0.0; shape.iter().product()]),
        shape,
        stored_as: "float32".into(),
    };
    let weights = edited_fid_weights(|w| {
        w.tensors.remove("Mixed_6b.branch7x7_2.conv.weight");
        w.tensors.insert("fc.bias".into(), floats(vec![1000]));
        w.tensors.insert("head.weight".into(), floats(vec![2]));
        w.tensors.insert(
            "Mixed_5b.branch1x1.bn.running_var".into(),
            Tensor {
                shape: vec![64],
                data: TensorData::Int(vec![1; 64]),
                stored_as: "int64".into(),
            },
        );
    });
    let line = refusal(&weights, "fid");
    for fragment in [
        "missing: Mixed_6b.branch7x7_2.conv.weight",
        "unexpected: head.weight",
        "fc.bias: file (1000,) vs model (1008,)",
        "Mixed_5b.branch1x1.bn.running_var: file holds int64 values, not floating-point",
        "do not fit Inception-v3 with fid blocks (missing",
        "--kind",
    ] {
        assert!(line.contains(fragment), "{fragment}: {line}");
    }
}

#[test]
fn class_counts_and_targets_are_checked_before_any_work() {
    let imagenet_sized = edited_fid_weights(|w| {
        w.tensors
            .insert("fc.weight".into(), w.tensors["fc.weight"].clone());
        w.tensors.get_mut("fc.weight").unwrap().shape = vec![1000, 2048];
    });
    let line = refusal(&imagenet_sized, "fid");
    assert!(
        line.contains("1008") && line.contains("--kind classifier"),
        "{line}"
    );

    let headless = edited_fid_weights(|w| {
        w.tensors.remove("fc.weight");
    });
    assert!(refusal(&headless, "classifier").contains("fc.weight"));

    let dir = temp_dir();
    let error = convert(
        &headless,
        &"fid".parse().unwrap(),
        &dir.path().join("m.bin"),
    )
    .unwrap_err();
    assert!(error.to_string().contains(".onnx"), "{error}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_manifest_that_cannot_be_written_leaves_no_model_behind() {
    let fixture = Fixture::read("fid");
    let dir = temp_dir();
    std::fs::create_dir(dir.path().join("m.toml")).unwrap();
    let error = convert(
        &fixture.weights(),
        &fixture.kind(),
        &dir.path().join("m.onnx"),
    )
    .unwrap_err();
    assert!(error.to_string().contains("m.toml"), "{error}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["m.toml"], "{error}");
}
