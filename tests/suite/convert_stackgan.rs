//! The natively converted StackGAN generators (src/convert/stackgan) against
//! torch and the Python exporter, on seeded stand-in checkpoints of all four
//! families at tiny widths (tests/fixtures/convert_stackgan/make.py; the
//! network is `models/stackgan_nets.py` in eval mode, the project's
//! definition, whose exports reproduce upstream's own networks in
//! cli_generate.rs).
//!
//! Every checkpoint file of a family — legacy serialisation, zip
//! serialisation, and for v2 birds the release-style `birds_3stages.zip` —
//! is read natively, must hold exactly the stand-in values, and is
//! converted by `models convert` to the very bytes `onnx.checker` accepted in make.py
//! (same weights, same file, whatever the serialisation). The converted
//! model, run by `generate --noise … --save-raw`, must reproduce torch's
//! outputs within 1e-4 absolute (measured: ≤ 7.2e-6 on the stored pixels,
//! ≤ 1.3e-5 on whole images in make.py) and the exporter's ONNX within
//! 1e-4, and write PNGs within one level of torch's images quantised; its
//! manifest must equal the exporter's field by field.

use std::path::Path;

use sha2::{Digest, Sha256};

use stackgan_eval::convert::stackgan;
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::convert::{
    ConvertError, ModelKind, StateDict, Tensor, TensorData, convert, read_checkpoint,
};

use crate::util::{
    assert_ok, assert_pngs_match, fixture, generate_from_reference, manifest_values,
    output_differences, read_npz, s, temp_dir, tool,
};

/// Absolute tolerance on float outputs against torch and the exporter's ONNX.
const OUTPUT_TOLERANCE: f32 = 1e-4;

/// `tests/fixtures/convert_stackgan/<family>.json`.
#[derive(serde::Deserialize)]
struct Fixture {
    kind: String,
    seed: u32,
    /// The checkpoint files of the family, each converted on its own.
    checkpoints: Vec<String>,
    layout: Vec<(String, Vec<usize>)>,
    native_sha256: String,
}

impl Fixture {
    fn read(family: &str) -> Fixture {
        let text = std::fs::read_to_string(path(&format!("{family}.json"))).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    fn kind(&self) -> ModelKind {
        self.kind.parse().unwrap()
    }
}

fn path(name: &str) -> &'static str {
    fixture(&format!("convert_stackgan/{name}"))
}

/// The tensors of `read` are those of `want` (float values bit for bit),
/// BatchNorm's `num_batches_tracked` aside (the legacy files predate it).
fn assert_same_tensors(read: &StateDict, want: &StateDict, file: &str) {
    let floats = |dict: &StateDict| -> Vec<(String, Tensor)> {
        dict.tensors
            .iter()
            .filter(|(key, _)| !key.ends_with("num_batches_tracked"))
            .map(|(key, tensor)| (key.clone(), tensor.clone()))
            .collect()
    };
    let (read, want) = (floats(read), floats(want));
    assert_eq!(read.len(), want.len(), "{file}: tensor count");
    for ((key, got), (want_key, want)) in read.iter().zip(&want) {
        assert_eq!(key, want_key, "{file}");
        assert_eq!(got.shape, want.shape, "{file}: {key}");
        assert!(got.data == want.data, "{file}: {key} holds other values");
    }
}

/// Reads, converts and runs every checkpoint file of `family`; returns the
/// largest difference to torch over all files and outputs.
fn converts_like_the_references(family: &str) -> f32 {
    let fixture = Fixture::read(family);
    let stand_in = stand_in_weights(&fixture.layout, fixture.seed, Path::new(family));
    let reference = read_npz(Path::new(path(&format!("{family}.npz"))));
    let mut worst = 0f32;
    for file in &fixture.checkpoints {
        let weights = read_checkpoint(Path::new(path(file))).unwrap();
        assert_same_tensors(&weights, &stand_in, file);

        let dir = temp_dir();
        let model = dir.path().join(format!("{family}.onnx"));
        assert_ok(&tool(&[
            "models",
            "convert",
            "--checkpoint",
            path(file),
            "--kind",
            &fixture.kind,
            "--out",
            s(&model),
        ]));
        let bytes = std::fs::read(&model).unwrap();
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            sha256, fixture.native_sha256,
            "{file}: the written file is not the one make.py checked with onnx.checker; if the graph changed on purpose, rerun tests/fixtures/convert_stackgan/make.py"
        );
        assert_eq!(
            manifest_values(&model.with_extension("toml")),
            manifest_values(Path::new(path(&format!("{file}.python.toml")))),
            "{file}: the manifest differs from the Python exporter's"
        );

        let (out, raw) = generate_from_reference(&model, &reference, dir.path());
        for source in ["output", "export"] {
            for (output, difference) in output_differences(&raw, &reference, source) {
                eprintln!("{file} {output} vs {source}: max abs difference {difference:.3e}");
                assert!(
                    difference <= OUTPUT_TOLERANCE,
                    "{file} {output} vs {source}: max abs difference {difference:e}"
                );
                if source == "output" {
                    worst = worst.max(difference);
                }
            }
        }
        assert_pngs_match(&out, &reference, "output");
    }
    eprintln!("{family}: max abs difference to torch {worst:.3e}");
    worst
}

#[test]
fn v2_birds_equals_torch_and_the_exporter_from_each_serialisation_and_the_release_zip() {
    let fixture = Fixture::read("v2-birds");
    assert!(fixture.checkpoints.iter().any(|f| f == "birds_3stages.zip"));
    converts_like_the_references("v2-birds");
}

#[test]
fn v2_uncond_equals_torch_and_the_exporter_from_each_serialisation() {
    converts_like_the_references("v2-uncond");
}

#[test]
fn v1_stage1_equals_torch_and_the_exporter_from_each_serialisation() {
    converts_like_the_references("v1-stage1");
}

#[test]
fn v1_stage2_equals_torch_and_the_exporter_from_each_serialisation() {
    converts_like_the_references("v1-stage2");
}

/// `--kind v1-stage1` of a Stage-II file converts the Stage-I it nests
/// under `STAGE1_G.`, as the exporter does: its image is Stage-II's img64.
#[test]
fn v1_stage1_of_a_stage2_checkpoint_is_its_nested_stage1() {
    let file = "v1-stage2.legacy.pth";
    let weights = read_checkpoint(Path::new(path(file))).unwrap();
    let dir = temp_dir();
    let model = dir.path().join("v1-stage1.onnx");
    let converted = convert(&weights, &"v1-stage1".parse().unwrap(), &model).unwrap();
    assert_eq!(
        manifest_values(&converted.manifest),
        manifest_values(Path::new(path(&format!("{file}.v1-stage1.python.toml"))))
    );
    let mut reference = read_npz(Path::new(path("v1-stage2.npz")));
    reference.retain(|key, _| {
        [
            "input_text_embedding",
            "input_z",
            "input_eps1",
            "output_img64",
        ]
        .contains(&key.as_str())
            || key == "stride_img64"
    });
    let (_, raw) = generate_from_reference(&model, &reference, dir.path());
    for (output, difference) in output_differences(&raw, &reference, "output") {
        assert!(difference <= OUTPUT_TOLERANCE, "{output}: {difference:e}");
    }
}

#[test]
fn layout_is_the_torch_networks_state_dict() {
    for family in ["v2-birds", "v2-uncond", "v1-stage1", "v1-stage2"] {
        let fixture = Fixture::read(family);
        let ModelKind::Stackgan(kind) = fixture.kind() else {
            panic!("{family} is not a StackGAN kind")
        };
        let weights = read_checkpoint(Path::new(path(&fixture.checkpoints[0]))).unwrap();
        let mut got = stackgan::layout(&stackgan::widths(&weights, kind).unwrap());
        got.sort();
        let mut want: Vec<_> = fixture
            .layout
            .into_iter()
            .filter(|(key, _)| !key.ends_with("num_batches_tracked"))
            .collect();
        want.sort();
        assert_eq!(got, want, "{family}");
    }
}

/// The stand-in weights of `family` as its legacy file holds them, changed by `edit`.
fn edited(family: &str, edit: impl FnOnce(&mut StateDict)) -> StateDict {
    let mut weights = read_checkpoint(Path::new(path(&format!("{family}.legacy.pth")))).unwrap();
    edit(&mut weights);
    weights
}

/// Converting `weights` as `kind` fails in one line naming the file; nothing is written.
fn refusal(weights: &StateDict, kind: &str) -> String {
    let dir = temp_dir();
    let out = dir.path().join("g.onnx");
    let error: ConvertError = convert(weights, &kind.parse().unwrap(), &out).unwrap_err();
    let line = error.to_string();
    assert_eq!(line.lines().count(), 1, "{line}");
    let file = weights.source.file_name().unwrap().to_string_lossy();
    assert!(line.contains(&*file), "{line}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "{line}: something was written"
    );
    line
}

fn floats(shape: Vec<usize>) -> Tensor {
    Tensor {
        data: TensorData::Float(vec![0.5; shape.iter().product()]),
        shape,
        stored_as: "float32".into(),
    }
}

#[test]
fn a_checkpoint_of_another_family_is_told_its_kind() {
    for (family, kind, fix) in [
        ("v2-uncond", "v2-birds", "use --kind v2-uncond"),
        ("v2-birds", "v2-uncond", "use --kind v2-birds"),
        ("v2-birds", "v1-stage1", "use --kind v2-birds"),
        ("v1-stage1", "v1-stage2", "use --kind v1-stage1"),
        ("v1-stage2", "v2-birds", "use --kind v1-stage2"),
    ] {
        let line = refusal(&edited(family, |_| {}), kind);
        assert!(line.contains(fix), "{family} as {kind}: {line}");
    }
    // Weights of no StackGAN family: the first tensor the kind needs is named.
    let inception = edited("v1-stage1", |w| {
        w.tensors.clear();
        w.tensors
            .insert("fc.weight".into(), floats(vec![1008, 2048]));
    });
    let line = refusal(&inception, "v2-birds");
    assert!(
        line.contains("h_net1.fc.0.weight") && line.contains("--kind"),
        "{line}"
    );
}

#[test]
fn missing_unexpected_and_misshapen_tensors_are_refused_in_one_line_naming_every_key() {
    let weights = edited("v2-birds", |w| {
        w.tensors.remove("h_net2.residual.1.block.3.weight");
        w.tensors
            .insert("img_net3.img.0.weight".into(), floats(vec![3, 2, 3, 3]));
        w.tensors
            .insert("h_net4.jointConv.0.weight".into(), floats(vec![2, 2]));
        w.tensors.insert(
            "h_net1.fc.1.running_var".into(),
            Tensor {
                shape: vec![2048],
                data: TensorData::Int(vec![1; 2048]),
                stored_as: "int64".into(),
            },
        );
    });
    let line = refusal(&weights, "v2-birds");
    for fragment in [
        "missing: h_net2.residual.1.block.3.weight",
        "unexpected: h_net4.jointConv.0.weight",
        "img_net3.img.0.weight: file (3, 2, 3, 3) vs model (3, 1, 3, 3)",
        "h_net1.fc.1.running_var: file holds int64 values",
        "do not fit StackGAN-v2 G_NET (conditional; GF_DIM 4, Z_DIM 10, EMBEDDING_DIM 8, TEXT_DIM 32, R_NUM 2, BRANCH_NUM 3)",
        "--kind",
    ] {
        assert!(line.contains(fragment), "{fragment}: {line}");
    }

    let stage2 = edited("v1-stage2", |w| {
        w.tensors.remove("STAGE1_G.upsample2.2.running_mean");
        w.tensors
            .insert("encoder.5.weight".into(), floats(vec![32, 16, 3, 3]));
    });
    let line = refusal(&stage2, "v1-stage2");
    for fragment in [
        "missing: STAGE1_G.upsample2.2.running_mean",
        "encoder.5.weight: file (32, 16, 3, 3) vs model (32, 16, 4, 4)",
        "STAGE2_G (GF_DIM 8",
        "STAGE1_G (GF_DIM 4",
    ] {
        assert!(line.contains(fragment), "{fragment}: {line}");
    }
}

#[test]
fn widths_no_generator_has_are_refused_before_any_graph() {
    let narrow = edited("v2-uncond", |w| {
        w.tensors
            .insert("h_net1.fc.0.weight".into(), floats(vec![1000, 10]));
    });
    let line = refusal(&narrow, "v2-uncond");
    assert!(
        line.contains("`h_net1.fc.0.weight` has 1000 rows"),
        "{line}"
    );

    let no_z = edited("v1-stage1", |w| {
        w.tensors.insert("fc.0.weight".into(), floats(vec![512, 8]));
    });
    let line = refusal(&no_z, "v1-stage1");
    assert!(line.contains("leaving nothing for z"), "{line}");
}
