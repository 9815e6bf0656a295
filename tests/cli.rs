//! The command line end to end: numbers against the committed references,
//! agreement between the ways of getting a number, and bad input.
//!
//! References: tests/fixtures/e2e/reference.json, made by
//! tests/fixtures/models/make_reference.py (Pillow decode, torch bilinear
//! resize, onnxruntime in Python, numpy statistics, pytorch-fid's
//! `calculate_frechet_distance`, torch-fidelity's IS formula).

use std::path::{Path, PathBuf};

mod common;

use common::*;

#[test]
fn fid_of_image_folders_matches_the_python_reference() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fid.json");
    let output = tool(&[
        "fid",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--json",
        s(&out),
        "--device",
        "cpu",
    ]);
    assert_ok(&output);
    let result = json(&out);
    let expected = reference();
    let fid = result["fid"].as_f64().unwrap();
    let reference_fid = expected["fid"].as_f64().unwrap();
    // Tolerance: float32 rounding in the resize and the network, 1e-4 relative.
    assert!(
        relative_difference(fid, reference_fid) < 1e-4,
        "fid {fid} vs reference {reference_fid}"
    );
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
        let dir = tempfile::tempdir().unwrap();
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
            assert!(
                relative_difference(got, want) < 1e-5,
                "{case} {key}: {got} vs reference {want}"
            );
        }
        assert_eq!(result["n_images"], reference()["image_counts"]["fake"]);
    }
}

#[test]
fn statistics_files_and_folders_give_the_same_fid() {
    let dir = tempfile::tempdir().unwrap();
    let (real_stats, fake_stats) = (dir.path().join("real.npz"), dir.path().join("fake.npz"));
    for (folder, out) in [("e2e/real", &real_stats), ("e2e/fake", &fake_stats)] {
        assert_ok(&tool(&[
            "stats",
            "--images",
            fixture(folder),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(out),
        ]));
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
    assert_ok(&tool(&[
        "fid",
        "--real",
        fixture("e2e/real"),
        "--fake",
        fixture("e2e/fake"),
        "--extractor",
        tiny_extractor(),
        "--json",
        s(&from_folders),
    ]));
    let (a, b) = (
        json(&from_stats)["fid"].as_f64().unwrap(),
        json(&from_folders)["fid"].as_f64().unwrap(),
    );
    assert!(relative_difference(a, b) < 1e-12, "{a} vs {b}");
}

#[test]
fn extracted_features_give_the_same_scores_as_the_images() {
    let dir = tempfile::tempdir().unwrap();
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
    assert_ok(&tool(&[
        "is",
        "--images",
        fixture("e2e/fake"),
        "--classifier",
        tiny_extractor(),
        "--splits",
        "3",
        "--json",
        s(&from_images),
    ]));
    assert_eq!(
        json(&from_features)["is_mean"],
        json(&from_images)["is_mean"]
    );
    assert_eq!(json(&from_features)["is_std"], json(&from_images)["is_std"]);
}

#[test]
fn kid_from_feature_files_equals_kid_from_folders() {
    let dir = tempfile::tempdir().unwrap();
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
    let dir = tempfile::tempdir().unwrap();
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
    assert_ok(&tool(&[
        "is",
        "--images",
        fixture("e2e/fake"),
        "--classifier",
        tiny_extractor(),
        "--splits",
        "3",
        "--json",
        s(&alone),
    ]));
    let (score, alone) = (json(&score), json(&alone));
    assert_eq!(score["is_mean"], alone["is_mean"]);
    assert_eq!(score["classifier"]["sha256"], score["extractor"]["sha256"]);
    let fid = score["fid"].as_f64().unwrap();
    let reference_fid = reference()["fid"].as_f64().unwrap();
    assert!(
        relative_difference(fid, reference_fid) < 1e-4,
        "{fid} vs {reference_fid}"
    );
}

#[test]
fn thread_count_and_batch_size_do_not_change_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut values = Vec::new();
    for (threads, batch) in [("1", "1"), ("2", "5"), ("2", "50")] {
        let out = dir.path().join(format!("{threads}-{batch}.json"));
        assert_ok(&tool(&[
            "fid",
            "--real",
            fixture("e2e/real"),
            "--fake",
            fixture("e2e/fake"),
            "--extractor",
            tiny_extractor(),
            "--threads",
            threads,
            "--batch-size",
            batch,
            "--json",
            s(&out),
        ]));
        values.push(json(&out)["fid"].clone());
    }
    assert!(values.windows(2).all(|w| w[0] == w[1]), "{values:?}");
}

mod bad_input {
    use super::*;

    fn folder_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let folder = dir.join("images");
        std::fs::create_dir_all(&folder).unwrap();
        for entry in std::fs::read_dir(fixture("e2e/fake")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, folder.join(path.file_name().unwrap())).unwrap();
        }
        std::fs::write(folder.join(name), bytes).unwrap();
        folder
    }

    fn fid_args<'a>(
        real: &'a str,
        fake: &'a str,
        json: &'a str,
        extractor: &'a str,
    ) -> Vec<&'a str> {
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

    #[test]
    fn unreadable_images_are_named_and_stop_the_run() {
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
        let cases: [(&str, Vec<u8>); 3] = [
            ("corrupt.png", png[..png.len() / 2].to_vec()),
            ("empty.png", Vec::new()),
            ("notes.png", b"these are notes, not pixels\n".to_vec()),
        ];
        for (name, bytes) in cases {
            let dir = tempfile::tempdir().unwrap();
            let folder = folder_with(dir.path(), name, &bytes);
            let out = dir.path().join("fid.json");
            let stderr = assert_clean_failure(
                &fid_args(fixture("e2e/real"), s(&folder), s(&out), tiny_extractor()),
                name,
                &out,
            );
            assert!(
                stderr.contains("--skip-bad"),
                "the fix should be offered: {stderr}"
            );
        }
    }

    #[test]
    fn skip_bad_skips_and_counts_unreadable_images() {
        let dir = tempfile::tempdir().unwrap();
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
    fn an_empty_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("nothing-here");
        std::fs::create_dir(&empty).unwrap();
        let out = dir.path().join("fid.json");
        assert_clean_failure(
            &fid_args(fixture("e2e/real"), s(&empty), s(&out), tiny_extractor()),
            "nothing-here",
            &out,
        );
    }

    #[test]
    fn a_truncated_statistics_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let stats = dir.path().join("real.npz");
        assert_ok(&tool(&[
            "stats",
            "--images",
            fixture("e2e/real"),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(&stats),
        ]));
        let bytes = std::fs::read(&stats).unwrap();
        let truncated = dir.path().join("truncated.npz");
        std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
        let out = dir.path().join("fid.json");
        assert_clean_failure(
            &[
                "fid",
                "--real",
                s(&stats),
                "--fake",
                s(&truncated),
                "--json",
                s(&out),
            ],
            "truncated.npz",
            &out,
        );
    }

    #[test]
    fn statistics_of_different_dimensions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
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
        let stderr = assert_clean_failure(
            &[
                "fid",
                "--real",
                s(&small),
                "--fake",
                s(&large),
                "--json",
                s(&out),
            ],
            "large.npz",
            &out,
        );
        assert!(stderr.contains('4') && stderr.contains('6'), "{stderr}");
    }

    #[test]
    fn a_model_whose_input_name_differs_from_its_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fid.json");
        let model = fixture("models/bad-input-name.onnx");
        let stderr = assert_clean_failure(
            &fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(&out), model),
            "bad-input-name.onnx",
            &out,
        );
        assert!(
            stderr.contains("`images` is not an input") && stderr.contains("pixels"),
            "{stderr}"
        );
    }

    #[test]
    fn a_model_lacking_a_manifest_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fid.json");
        let model = fixture("models/bad-output.onnx");
        let stderr = assert_clean_failure(
            &fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(&out), model),
            "bad-output.onnx",
            &out,
        );
        assert!(stderr.contains("logits_unbiased"), "{stderr}");
    }

    #[test]
    fn a_missing_onnx_runtime_library_says_how_to_get_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fid.json");
        let mut args = fid_args(
            fixture("e2e/real"),
            fixture("e2e/fake"),
            s(&out),
            tiny_extractor(),
        );
        args.extend(["--ort-library", "/nonexistent/libonnxruntime.so"]);
        let stderr = assert_clean_failure(&args, "/nonexistent/libonnxruntime.so", &out);
        assert!(stderr.contains("setup.sh"), "{stderr}");
    }

    #[test]
    fn stats_output_is_not_left_behind_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let folder = folder_with(dir.path(), "empty.png", b"");
        let out = dir.path().join("stats.npz");
        assert_clean_failure(
            &[
                "stats",
                "--images",
                s(&folder),
                "--extractor",
                tiny_extractor(),
                "--out",
                s(&out),
            ],
            "empty.png",
            &out,
        );
    }

    #[test]
    fn a_model_whose_input_shape_differs_from_its_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fid.json");
        let model = fixture("models/bad-input.onnx");
        let stderr = assert_clean_failure(
            &fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(&out), model),
            "shape",
            &out,
        );
        assert!(
            stderr.contains("28") && stderr.contains("32"),
            "both shapes should be named: {stderr}"
        );
    }

    #[test]
    fn a_model_edited_after_its_manifest_was_written_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("edited.onnx");
        let mut bytes = std::fs::read(tiny_extractor()).unwrap();
        bytes.extend_from_slice(b"\0");
        std::fs::write(&model, bytes).unwrap();
        std::fs::copy(
            fixture("models/tiny-extractor.toml"),
            dir.path().join("edited.toml"),
        )
        .unwrap();
        let out = dir.path().join("fid.json");
        let stderr = assert_clean_failure(
            &fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(&out), s(&model)),
            "SHA-256",
            &out,
        );
        assert!(stderr.contains("edited.onnx"), "{stderr}");
    }

    #[test]
    fn a_model_without_a_manifest_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("bare.onnx");
        std::fs::copy(tiny_extractor(), &model).unwrap();
        let out = dir.path().join("fid.json");
        assert_clean_failure(
            &fid_args(fixture("e2e/real"), fixture("e2e/fake"), s(&out), s(&model)),
            "bare.toml",
            &out,
        );
    }

    #[test]
    fn cuda_that_cannot_be_honoured_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fid.json");
        let mut args = fid_args(
            fixture("e2e/real"),
            fixture("e2e/fake"),
            s(&out),
            tiny_extractor(),
        );
        args.extend(["--device", "cuda"]);
        let output = tool(&args);
        if output.status.success() {
            // A CUDA build of ONNX Runtime with a GPU: then the provider must say so.
            assert_eq!(json(&out)["provider"], "CUDAExecutionProvider");
        } else {
            let stderr = assert_clean_failure(&args, "--device cuda", &out);
            assert!(stderr.contains("--device cpu"), "{stderr}");
        }
    }

    /// One warning when CUDA is built in but fails (onnxruntime-gpu without a
    /// usable GPU); none with the CPU-only ONNX Runtime, where nobody asked
    /// for a GPU.
    #[test]
    fn device_auto_falls_back_to_the_cpu_warning_only_when_cuda_fails() {
        let dir = tempfile::tempdir().unwrap();
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
