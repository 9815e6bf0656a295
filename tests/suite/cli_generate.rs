//! `generate` and `eval` end to end.
//!
//! References: tests/fixtures/generators/<name>.npz hold inputs and the
//! outputs of the upstream StackGAN networks on them (made by
//! tests/fixtures/generators/make.py from the upstream code); noise_ref.npz
//! holds numpy's draws for the documented noise keys (make_noise.py).

use std::path::Path;

use ndarray::{ArrayD, Axis, Ix2, s as slice};

use crate::util::{
    Refusal, assert_ok, assert_pngs_match, command, demo_model, files_under, fixture,
    generate_demo, generate_from_reference, json, output_differences, read_npz, s, temp_dir,
    tiny_extractor, tool,
};

/// Absolute tolerance on float outputs against the upstream networks.
const OUTPUT_TOLERANCE: f32 = 1e-4;

#[test]
fn exported_generators_reproduce_the_upstream_networks_at_every_branch() {
    for name in [
        "tiny-v2-cond",
        "tiny-v2-uncond",
        "tiny-v1-stage1",
        "tiny-v1-stage2",
    ] {
        let dir = temp_dir();
        let reference = read_npz(Path::new(fixture(&format!("generators/{name}.npz"))));
        let model = Path::new(fixture(&format!("generators/{name}.onnx")));
        let (out, raw) = generate_from_reference(model, &reference, dir.path());
        for (output, difference) in output_differences(&raw, &reference, "output") {
            assert!(
                difference <= OUTPUT_TOLERANCE,
                "{name} {output}: max abs difference {difference:e}"
            );
        }
        assert_pngs_match(&out, &reference, "output");
    }
}

#[test]
fn seeded_noise_follows_the_documented_numpy_keys() {
    let dir = temp_dir();
    let reference = read_npz(Path::new(fixture("generators/noise_ref.npz")));
    let out = dir.path().join("plain");
    generate_demo(
        &out,
        &[
            "--images",
            "2",
            "--captions",
            "3",
            "--seed",
            "7",
            "--branches",
            "64",
            "--save-raw",
            "--device",
            "cpu",
        ],
    );
    let raw = read_npz(&out.join("raw.npz"));
    assert_eq!(raw["z"], reference["z"]);
    assert_eq!(raw["eps"], reference["eps"]);
    let embeddings: ArrayD<f32> = ndarray_npy::read_npy(demo_model("demo-embeddings.npy")).unwrap();
    let text = raw["text_embedding"]
        .clone()
        .into_dimensionality::<Ix2>()
        .unwrap();
    assert_eq!(text.row(4), embeddings.slice(slice![1, 1, ..]));
    let csv = std::fs::read_to_string(out.join("samples.csv")).unwrap();
    assert_eq!(
        csv.lines().next(),
        Some("sample,image,caption,draw,seed,png_64")
    );
    assert_eq!(csv.lines().nth(5), Some("4,1,1,0,7,64/000004.png"));
}

#[test]
fn cub_protocol_shares_z_across_an_images_captions() {
    // The demo embeddings hold 8 images: too few for one batch of 24.
    let dir = temp_dir();
    let many = dir.path().join("emb48.npy");
    let embeddings: ArrayD<f32> = ndarray_npy::read_npy(demo_model("demo-embeddings.npy")).unwrap();
    let views: Vec<_> = (0..7).map(|_| embeddings.view()).collect();
    let tiled = ndarray::concatenate(Axis(0), &views).unwrap(); // 56 images → 48 used
    ndarray_npy::write_npy(&many, &tiled).unwrap();
    let out = dir.path().join("cub");
    let output = tool(&[
        "generate",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        s(&many),
        "--sampling",
        "stackgan-v2-cub",
        "--seed",
        "7",
        "--branches",
        "64",
        "--out",
        s(&out),
        "--save-raw",
        "--device",
        "cpu",
        "--batch-size",
        "64",
    ]);
    assert_ok(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("48 of 56 images"), "{stderr}");
    let raw = read_npz(&out.join("raw.npz"));
    let z = raw["z"].clone().into_dimensionality::<Ix2>().unwrap();
    assert_eq!(z.nrows(), 480);
    let reference = read_npz(Path::new(fixture("generators/noise_ref.npz")));
    let shared = reference["z_shared"]
        .clone()
        .into_dimensionality::<Ix2>()
        .unwrap();
    for caption in 0..10 {
        assert_eq!(z.row(caption), shared.row(0));
        assert_eq!(z.row(10 + caption), shared.row(1));
    }
    let eps = raw["eps"].clone().into_dimensionality::<Ix2>().unwrap();
    assert_ne!(eps.row(0), eps.row(1), "each caption draws its own eps");
}

#[test]
fn same_seed_gives_identical_files_whatever_the_batch_size_and_threads() {
    let dir = temp_dir();
    let run = |name: &str, batch: &str, threads: &str| {
        let out = dir.path().join(name);
        generate_demo(
            &out,
            &[
                "--images",
                "3",
                "--seed",
                "3",
                "--batch-size",
                batch,
                "--threads",
                threads,
                "--device",
                "cpu",
            ],
        );
        files_under(&out)
    };
    let first = run("a", "7", "1");
    assert_eq!(
        first.len(),
        3 * 10 * 3 + 2,
        "PNGs per branch, samples.csv and run.json"
    );
    assert_eq!(first, run("b", "30", "2"));
    assert_eq!(first, run("c", "1", "2"));
}

#[test]
fn resume_after_a_kill_gives_the_files_of_an_uninterrupted_run() {
    let dir = temp_dir();
    let args = |out: &Path| -> Vec<String> {
        [
            "generate",
            "--model",
            demo_model("demo-generator.onnx"),
            "--embeddings",
            demo_model("demo-embeddings.npy"),
            "--seed",
            "11",
            "--out",
            s(out),
            "--batch-size",
            "2",
            "--save-raw",
            "--device",
            "cpu",
            "--quiet",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let whole = dir.path().join("whole");
    assert_ok(&tool(&args(&whole)));
    for (kill_after, name) in [(1usize, "early"), (23, "middle")] {
        let out = dir.path().join(name);
        let mut child = command(&args(&out)).spawn().unwrap();
        let state = out.join(".stackgan-eval-run/state.json");
        loop {
            let done = std::fs::read_to_string(&state)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["done"].as_u64())
                .unwrap_or(0) as usize;
            if done >= kill_after {
                break;
            }
            assert!(
                child.try_wait().unwrap().is_none(),
                "the run ended before it could be interrupted"
            );
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(state.exists(), "the run was interrupted");
        let again = tool(&args(&out));
        assert!(
            !again.status.success(),
            "a second run without --resume must refuse"
        );
        let mut resume = args(&out);
        resume.push("--resume".into());
        assert_ok(&tool(&resume));
        assert_eq!(
            files_under(&out),
            files_under(&whole),
            "resumed after {kill_after}"
        );
    }
}

#[test]
fn bad_generator_input_gives_one_clear_error_and_writes_nothing() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let embeddings: ArrayD<f32> = ndarray_npy::read_npy(demo_model("demo-embeddings.npy")).unwrap();
    /// `generate` of the demo generator into `out` on the CPU, with `extra` flags.
    fn generate<'a>(out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "generate",
            "--model",
            demo_model("demo-generator.onnx"),
            "--out",
            s(out),
            "--device",
            "cpu",
        ];
        args.extend(extra);
        args
    }

    let wrong_dim = dir.path().join("wrong-dim.npy");
    ndarray_npy::write_npy(
        &wrong_dim,
        &embeddings.slice(slice![.., .., ..512]).to_owned(),
    )
    .unwrap();
    let wrong_rank = dir.path().join("wrong-rank.npy");
    ndarray_npy::write_npy(&wrong_rank, &embeddings.slice(slice![0, 0, ..]).to_owned()).unwrap();
    let with_nan = dir.path().join("nan.npy");
    let mut poisoned = embeddings.clone();
    poisoned[[2, 3, 5]] = f32::NAN;
    ndarray_npy::write_npy(&with_nan, &poisoned).unwrap();

    // A manifest that disagrees with the model.
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    let model = models.join("g.onnx");
    std::fs::copy(demo_model("demo-generator.onnx"), &model).unwrap();
    let manifest = std::fs::read_to_string(demo_model("demo-generator.toml")).unwrap();
    std::fs::write(
        models.join("g.toml"),
        manifest.replace("shape = [-1, 100]", "shape = [-1, 128]"),
    )
    .unwrap();

    // An output folder that cannot be created (its parent is a file).
    let blocker = dir.path().join("a-file");
    std::fs::write(&blocker, b"x").unwrap();
    let unwritable = blocker.join("out");

    for row in [
        Refusal {
            args: generate(&out, &["--embeddings", s(&wrong_dim)]),
            output: &out,
            names: "wrong-dim.npy",
            also: &[],
        },
        Refusal {
            args: generate(&out, &["--embeddings", s(&wrong_rank)]),
            output: &out,
            names: "wrong-rank.npy",
            also: &[],
        },
        Refusal {
            args: generate(&out, &["--embeddings", s(&with_nan)]),
            output: &out,
            names: "nan.npy",
            also: &["image 2, caption 3"],
        },
        Refusal {
            args: generate(&out, &[]),
            output: &out,
            names: "--embeddings",
            also: &[],
        },
        Refusal {
            args: vec![
                "generate",
                "--model",
                s(&model),
                "--embeddings",
                demo_model("demo-embeddings.npy"),
                "--out",
                s(&out),
            ],
            output: &out,
            names: "g.toml",
            also: &[],
        },
        Refusal {
            args: generate(
                &unwritable,
                &["--embeddings", demo_model("demo-embeddings.npy")],
            ),
            output: &unwritable,
            names: "a-file/out",
            also: &[],
        },
        // An extractor where a generator is needed.
        Refusal {
            args: vec!["generate", "--model", tiny_extractor(), "--out", s(&out)],
            output: &out,
            names: "tiny-extractor.onnx",
            also: &[],
        },
    ] {
        row.check();
    }
}

#[test]
fn eval_gives_the_scores_of_generate_then_score() {
    let dir = temp_dir();
    let real = dir.path().join("real");
    // The 256 branch of another seed serves as the reference set.
    generate_demo(
        &real,
        &["--seed", "100", "--branches", "256", "--device", "cpu"],
    );
    let samples = dir.path().join("samples");
    let common_flags = ["--seed", "5", "--batch-size", "16", "--device", "cpu"];
    generate_demo(&samples, &common_flags);
    let extractor = demo_model("demo-extractor.onnx");
    let real_256 = real.join("256");
    let eval_json = dir.path().join("eval.json");
    let csv = dir.path().join("eval.csv");
    let mut eval = vec![
        "eval",
        "--quiet",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--extractor",
        extractor,
        "--real",
        s(&real_256),
        "--kid-subset-size",
        "50",
        "--kid-subsets",
        "20",
        "--json",
        s(&eval_json),
        "--csv",
        s(&csv),
    ];
    eval.extend(common_flags);
    assert_ok(&tool(&eval));
    let report = json(&eval_json);
    let branches = report["branches"].as_array().unwrap();
    assert_eq!(branches.len(), 3);
    for branch in branches {
        let resolution = branch["resolution"].as_u64().unwrap();
        let score_json = dir.path().join(format!("score-{resolution}.json"));
        assert_ok(&tool(&[
            "score",
            "--real",
            s(&real_256),
            "--fake",
            s(&samples.join(resolution.to_string())),
            "--extractor",
            extractor,
            "--kid-subset-size",
            "50",
            "--kid-subsets",
            "20",
            "--batch-size",
            "16",
            "--device",
            "cpu",
            "--quiet",
            "--json",
            s(&score_json),
        ]));
        let score = json(&score_json);
        // The PNGs hold exactly the 8-bit pixels eval scores, in the same
        // order and batches, so the numbers are the same to the last bit.
        for key in ["fid", "is_mean", "is_std", "kid_mean", "kid_std"] {
            let (a, b) = (branch[key].as_f64().unwrap(), score[key].as_f64().unwrap());
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "{resolution} {key}: eval {a} vs generate+score {b}"
            );
        }
        assert_eq!(branch["n_fake"], score["n_fake"]);
    }
    let pairs = report["color_consistency"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(
        (pairs[0]["from"].as_u64(), pairs[0]["to"].as_u64()),
        (Some(64), Some(128))
    );
    assert!(pairs[0]["mean_distance"].as_f64().unwrap() >= 0.0);
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        rows.lines().count(),
        4,
        "header and one row per branch:\n{rows}"
    );
}
