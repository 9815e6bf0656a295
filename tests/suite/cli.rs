//! The command line end to end: numbers against the committed references,
//! agreement between the ways of getting a number, and bad input.
//!
//! References: tests/fixtures/e2e/reference.json, made by
//! tests/fixtures/models/make_reference.py (Pillow decode, torch bilinear
//! resize, onnxruntime in Python, numpy statistics, pytorch-fid's
//! `calculate_frechet_distance`, torch-fidelity's IS formula).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{
    Refusal, assert_ok, assert_refused, assert_rel, fixture, json, root, s, temp_dir,
    tiny_extractor, tool,
};

/// tests/fixtures/e2e/reference.json.
fn reference() -> Value {
    json(fixture("e2e/reference.json"))
}

/// `fid` of `real` and `fake` with `extractor`, its report into `json`.
fn fid_args<'a>(real: &'a str, fake: &'a str, json: &'a str, extractor: &'a str) -> Vec<&'a str> {
    vec![
        "fid",
        "--real",
        real,
        "--fake",
        fake,
        "--extractor",
        extractor,
        "--json",
        json,
    ]
}

/// `fid` of the fixture folders with `extractor` (and `extra` flags) into `out`.
fn fid_with<'a>(extractor: &'a str, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(out), extractor);
    args.extend(extra);
    args
}

/// `stats` of `images` with the tiny extractor into `out`.
fn stats_args<'a>(images: &'a str, out: &'a Path) -> Vec<&'a str> {
    vec![
        "stats",
        "--images",
        images,
        "--extractor",
        tiny_extractor(),
        "--out",
        s(out),
    ]
}

/// `is` of the fake fixture folder in 3 splits, its report into `out`.
fn is_of_the_fake_folder(out: &Path) {
    assert_ok(&tool(&[
        "is",
        "--images",
        fixture("e2e/fake"),
        "--classifier",
        tiny_extractor(),
        "--splits",
        "3",
        "--json",
        s(out),
    ]));
}

#[test]
fn fid_of_image_folders_matches_the_python_reference() {
    let dir = temp_dir();
    let out = dir.path().join("fid.json");
    assert_ok(&tool(&fid_with(
        tiny_extractor(),
        &out,
        &["--device", "cpu"],
    )));
    let result = json(&out);
    let expected = reference();
    let fid = result["fid"].as_f64().unwrap();
    let reference_fid = expected["fid"].as_f64().unwrap();
    // Tolerance: float32 rounding in the resize and the network, 1e-4 relative.
    assert_rel(fid, reference_fid, 1e-4, "fid vs reference");
    assert_eq!(result["n_real"], expected["image_counts"]["real"]);
    assert_eq!(result["n_fake"], expected["image_counts"]["fake"]);
    assert_eq!(result["provider"], "CPUExecutionProvider");
    assert_eq!(result["resize"], "legacy-pytorch");
    assert_eq!(result["extractor"]["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn inception_score_of_a_folder_matches_the_python_reference() {
    let expected = &reference()["inception_score"];
    let splits = expected["splits"].as_u64().unwrap().to_string();
    // torch-fidelity's default is a shuffle with seed 2020: the tool's default too.
    for (case, shuffle) in [
        ("no_shuffle", Some("--no-shuffle")),
        ("shuffle_seed_2020", None),
    ] {
        let dir = temp_dir();
        let out = dir.path().join("is.json");
        let mut args = vec![
            "is",
            "--images",
            fixture("e2e/fake"),
            "--classifier",
            tiny_extractor(),
            "--splits",
            &splits,
            "--json",
            s(&out),
        ];
        if let Some(flag) = shuffle {
            args.push(flag);
        }
        assert_ok(&tool(&args));
        let result = json(&out);
        for key in ["mean", "std"] {
            let got = result[format!("is_{key}")].as_f64().unwrap();
            let want = expected[case][key].as_f64().unwrap();
            // Tolerance: float32 logits through two preprocessing paths, 1e-5 relative.
            assert_rel(got, want, 1e-5, &format!("{case} {key} vs reference"));
        }
        assert_eq!(result["n_images"], reference()["image_counts"]["fake"]);
    }
}

#[test]
fn statistics_files_and_folders_give_the_same_fid() {
    let dir = temp_dir();
    let (real_stats, fake_stats) = (dir.path().join("real.npz"), dir.path().join("fake.npz"));
    for (folder, out) in [("e2e/real", &real_stats), ("e2e/fake", &fake_stats)] {
        assert_ok(&tool(&stats_args(fixture(folder), out)));
    }
    let from_stats = dir.path().join("stats.json");
    assert_ok(&tool(&[
        "fid",
        "--real",
        s(&real_stats),
        "--fake",
        s(&fake_stats),
        "--json",
        s(&from_stats),
    ]));
    let from_folders = dir.path().join("folders.json");
    assert_ok(&tool(&fid_with(tiny_extractor(), &from_folders, &[])));
    let (a, b) = (
        json(&from_stats)["fid"].as_f64().unwrap(),
        json(&from_folders)["fid"].as_f64().unwrap(),
    );
    assert_rel(a, b, 1e-12, "FID from statistics vs from folders");
}

#[test]
fn extracted_features_give_the_same_scores_as_the_images() {
    let dir = temp_dir();
    let features = dir.path().join("fake.npz");
    assert_ok(&tool(&[
        "extract",
        "--images",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--out",
        s(&features),
    ]));
    let (from_features, from_images) = (dir.path().join("f.json"), dir.path().join("i.json"));
    assert_ok(&tool(&[
        "is",
        "--features",
        s(&features),
        "--splits",
        "3",
        "--json",
        s(&from_features),
    ]));
    is_of_the_fake_folder(&from_images);
    assert_eq!(
        json(&from_features)["is_mean"],
        json(&from_images)["is_mean"]
    );
    assert_eq!(json(&from_features)["is_std"], json(&from_images)["is_std"]);
}

#[test]
fn kid_from_feature_files_equals_kid_from_folders() {
    let dir = temp_dir();
    let mut features = Vec::new();
    for side in ["real", "fake"] {
        let out = dir.path().join(format!("{side}.npz"));
        let folder = format!("e2e/{side}");
        assert_ok(&tool(&[
            "extract",
            "--images",
            fixture(&folder),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(&out),
        ]));
        features.push(out);
    }
    let kid = |real: &str, fake: &str, name: &str| {
        let out = dir.path().join(name);
        assert_ok(&tool(&[
            "kid",
            "--real",
            real,
            "--fake",
            fake,
            "--extractor",
            tiny_extractor(),
            "--kid-subset-size",
            "10",
            "--kid-subsets",
            "20",
            "--json",
            s(&out),
        ]));
        json(&out)
    };
    let from_files = kid(s(&features[0]), s(&features[1]), "files.json");
    let from_folders = kid(fixture("e2e/real"), fixture("e2e/fake"), "folders.json");
    assert_eq!(from_files["kid_mean"], from_folders["kid_mean"]);
    assert_eq!(from_files["kid_std"], from_folders["kid_std"]);
    assert_eq!(from_files["kid_subset_size"], 10);
    assert!(from_files["kid_mean"].as_f64().unwrap().is_finite());
}

#[test]
fn score_with_a_separate_classifier_gives_the_is_of_that_classifier() {
    let dir = temp_dir();
    let (score, alone) = (dir.path().join("score.json"), dir.path().join("is.json"));
    assert_ok(&tool(&[
        "score",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--classifier",
        tiny_extractor(),
        "--metrics",
        "fid,is",
        "--splits",
        "3",
        "--json",
        s(&score),
    ]));
    is_of_the_fake_folder(&alone);
    let (score, alone) = (json(&score), json(&alone));
    assert_eq!(score["is_mean"], alone["is_mean"]);
    assert_eq!(score["classifier"]["sha256"], score["extractor"]["sha256"]);
    let fid = score["fid"].as_f64().unwrap();
    let reference_fid = reference()["fid"].as_f64().unwrap();
    assert_rel(fid, reference_fid, 1e-4, "score's fid vs reference");
}

#[test]
fn thread_count_and_batch_size_do_not_change_the_result() {
    let dir = temp_dir();
    let mut values = Vec::new();
    for (threads, batch) in [("1", "1"), ("2", "5"), ("2", "50")] {
        let out = dir.path().join(format!("{threads}-{batch}.json"));
        let flags = ["--threads", threads, "--batch-size", batch];
        assert_ok(&tool(&fid_with(tiny_extractor(), &out, &flags)));
        values.push(json(&out)["fid"].clone());
    }
    assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
}

mod bad_input {
    use super::*;

    /// A copy of the fake image folder, named after `name`, with one more file
    /// `name` holding `bytes`.
    fn folder_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let folder = dir.join(format!("images-with-{name}"));
        std::fs::create_dir_all(&folder).unwrap();
        for entry in std::fs::read_dir(fixture("e2e/fake")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
        }
        std::fs::write(folder.join(name), bytes).unwrap();
        folder
    }

    #[test]
    fn bad_images_and_folders_are_named_and_stop_the_run() {
        let dir = temp_dir();
        let png = std::fs::read(
            Path::new(fixture("e2e/real"))
                .read_dir()
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .path(),
        )
        .unwrap();
        let corrupt = folder_with(dir.path(), "corrupt.png", &png[..png.len() / 2]);
        let empty_file = folder_with(dir.path(), "empty.png", b"");
        let notes = folder_with(dir.path(), "notes.png", b"these are notes, not pixels\n");
        let empty_folder = dir.path().join("nothing-here");
        std::fs::create_dir(&empty_folder).unwrap();
        let (out, stats) = (dir.path().join("fid.json"), dir.path().join("stats.npz"));
        let real = fixture("e2e/real");
        let unreadable = |folder, name| Refusal {
            args: fid_args(real, s(folder), s(&out), tiny_extractor()),
            output: &out,
            names: name,
            also: &["--skip-bad"],
        };
        for row in [
            unreadable(&corrupt, "corrupt.png"),
            unreadable(&empty_file, "empty.png"),
            unreadable(&notes, "notes.png"),
            Refusal {
                args: fid_args(real, s(&empty_folder), s(&out), tiny_extractor()),
                output: &out,
                names: "nothing-here",
                also: &[],
            },
            // Without --extractor, an empty folder is refused before the
            // default extractor is fetched (the suite's address answers
            // nothing) or the other side is read.
            Refusal {
                args: vec!["fid", "--real", real, "--fake", s(&empty_folder)],
                output: &out,
                names: "nothing-here",
                also: &["no images found"],
            },
            // `stats` leaves no output behind either.
            Refusal {
                args: stats_args(s(&empty_file), &stats),
                output: &stats,
                names: "empty.png",
                also: &[],
            },
        ] {
            row.check();
        }
    }

    #[test]
    fn skip_bad_skips_and_counts_unreadable_images() {
        let dir = temp_dir();
        let folder = folder_with(dir.path(), "empty.png", b"");
        let out = dir.path().join("fid.json");
        let mut args = fid_args(fixture("e2e/real"), s(&folder), s(&out), tiny_extractor());
        args.push("--skip-bad");
        assert_ok(&tool(&args));
        let result = json(&out);
        assert_eq!(result["skipped_images"], 1);
        assert_eq!(result["n_fake"], reference()["image_counts"]["fake"]);
    }

    #[test]
    fn bad_statistics_files_are_named() {
        let dir = temp_dir();
        let stats = dir.path().join("real.npz");
        assert_ok(&tool(&stats_args(fixture("e2e/real"), &stats)));
        let bytes = std::fs::read(&stats).unwrap();
        let truncated = dir.path().join("truncated.npz");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let small = dir.path().join("small.npz");
        let large = dir.path().join("large.npz");
        for (path, d) in [(&small, 4usize), (&large, 6)] {
            let mu = ndarray::Array1::<f64>::zeros(d);
            let sigma = ndarray::Array2::<f64>::eye(d);
            let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
            npz.add_array("mu", &mu).unwrap();
            npz.add_array("sigma", &sigma).unwrap();
            npz.finish().unwrap();
        }
        let out = dir.path().join("fid.json");
        let fid = |real, fake| {
            [
                "fid",
                "--real",
                s(real),
                "--fake",
                s(fake),
                "--json",
                s(&out),
            ]
            .to_vec()
        };
        for row in [
            Refusal {
                args: fid(&stats, &truncated),
                output: &out,
                names: "truncated.npz",
                also: &[],
            },
            // Statistics of different dimensions: both are named.
            Refusal {
                args: fid(&small, &large),
                output: &out,
                names: "large.npz",
                also: &["4", "6"],
            },
        ] {
            row.check();
        }
    }

    #[test]
    fn models_that_disagree_with_their_manifest_or_runtime_are_refused() {
        let dir = temp_dir();
        // A model edited after its manifest was written.
        let edited = dir.path().join("edited.onnx");
        let mut bytes = std::fs::read(tiny_extractor()).unwrap();
        bytes.extend_from_slice(b"\0");
        std::fs::write(&edited, bytes).unwrap();
        std::fs::copy(
            fixture("models/tiny-extractor.toml"),
            dir.path().join("edited.toml"),
        )
        .unwrap();
        // A model without a manifest.
        let bare = dir.path().join("bare.onnx");
        std::fs::copy(tiny_extractor(), &bare).unwrap();
        let out = dir.path().join("fid.json");
        let refused = |extractor, extra, names, also| Refusal {
            args: fid_with(extractor, &out, extra),
            output: &out,
            names,
            also,
        };
        for row in [
            refused(
                fixture("models/bad-input-name.onnx"),
                &[],
                "bad-input-name.onnx",
                &["`images` is not an input", "pixels"],
            ),
            refused(
                fixture("models/bad-output.onnx"),
                &[],
                "bad-output.onnx",
                &["logits_unbiased"],
            ),
            // The input shape differs: both shapes are named.
            refused(
                fixture("models/bad-input.onnx"),
                &[],
                "shape",
                &["28", "32"],
            ),
            refused(s(&edited), &[], "SHA-256", &["edited.onnx"]),
            refused(s(&bare), &[], "bare.toml", &[]),
            // A missing ONNX Runtime library: how to get one.
            refused(
                tiny_extractor(),
                &["--ort-library", "/nonexistent/libonnxruntime.so"],
                "/nonexistent/libonnxruntime.so",
                &["setup.sh"],
            ),
        ] {
            row.check();
        }
    }

    #[test]
    fn cuda_that_cannot_be_honoured_is_an_error() {
        let dir = temp_dir();
        let out = dir.path().join("fid.json");
        let args = fid_with(tiny_extractor(), &out, &["--device", "cuda"]);
        let output = tool(&args);
        if output.status.success() {
            // A CUDA build of ONNX Runtime with a GPU: then the provider must say so.
            assert_eq!(json(&out)["provider"], "CUDAExecutionProvider");
        } else {
            let error = assert_refused(&args, "--device cuda", &out);
            assert!(error.contains("--device cpu"), "{error}");
        }
    }

    /// One warning when CUDA is built in but fails (onnxruntime-gpu without a
    /// usable GPU); none with the CPU-only ONNX Runtime, where nobody asked
    /// for a GPU.
    #[test]
    fn device_auto_falls_back_to_the_cpu_warning_only_when_cuda_fails() {
        let dir = temp_dir();
        let out = dir.path().join("score.json");
        let output = tool(&[
            "score",
            "--real",
            fixture("e2e/real"),
            "--fake",
            fixture("e2e/fake"),
            "--extractor",
            tiny_extractor(),
            "--metrics",
            "fid,is",
            "--splits",
            "3",
            "--json",
            s(&out),
        ]);
        assert_ok(&output);
        let provider = json(&out)["provider"].as_str().unwrap().to_string();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let warnings = stderr
            .lines()
            .filter(|l| l.contains("CUDA not used"))
            .count();
        let cuda_built_in = stackgan_eval::runtime::library_in_virtualenv(&root().join(".venv"))
            .and_then(|library| library.parent().map(Path::to_path_buf))
            .is_some_and(|dir| dir.join("libonnxruntime_providers_cuda.so").exists());
        if provider == "CPUExecutionProvider" {
            assert_eq!(warnings, usize::from(cuda_built_in), "{stderr}");
        } else {
            assert_eq!(warnings, 0, "{stderr}");
        }
    }
}
