//! Bad inputs that used to get through: resuming into another run, statistics
//! that cannot be covariances, half statistics files and arrays of the wrong
//! rank, symbolic links that loop, the CUDA warning nobody asked for,
//! Debug-formatted messages, and file names that are not UTF-8.
//!
//! References: tests/fixtures/holes/reference.json, made by
//! tests/fixtures/holes/make.py (numpy/scipy: where each statistics file lies
//! against the covariance bounds, and pytorch-fid's algorithm on it; a
//! feature file written by numpy with `surrogateescape` names).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::util::*;
use ndarray::{Array2, Array3};
use stackgan_eval::features::FeatureFile;
use stackgan_eval::metrics::{FidStats, frechet_distance};

fn holes(name: &str) -> &'static str {
    fixture(&format!("holes/{name}"))
}

fn holes_reference() -> serde_json::Value {
    json(Path::new(holes("reference.json")))
}

/// Every file under `dir` with its bytes (hidden ones too).
fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

mod statistics {
    use super::*;

    /// Each case is accepted or refused as numpy's own measure of it against
    /// the stated bounds says; accepted ones give pytorch-fid's FID.
    #[test]
    fn covariance_checks_agree_with_numpy_on_both_sides_of_each_bound() {
        let reference = holes_reference();
        assert_eq!(
            reference["asymmetry_tolerance"].as_f64(),
            Some(stackgan_eval::metrics::stats::ASYMMETRY_TOLERANCE),
            "the script and the tool state the same bound"
        );
        assert_eq!(
            reference["negative_eigenvalue_rounding"].as_f64(),
            Some(stackgan_eval::metrics::stats::NEGATIVE_EIGENVALUE_ROUNDING * 2f64.powi(-24))
        );
        let b = FidStats::read_npz(Path::new(holes("covariance_b.npz"))).unwrap();
        let cases = reference["cases"].as_object().unwrap();
        assert_eq!(cases.len(), 7);
        for (name, case) in cases {
            let file = format!("covariance_{name}.npz");
            let read = FidStats::read_npz(Path::new(holes(&file)));
            if case["accepted"].as_bool().unwrap() {
                let a = read.unwrap_or_else(|e| panic!("{name} refused: {e}"));
                let fid = frechet_distance(&a, &b).unwrap().fid;
                let expected = case["fid"].as_f64().unwrap();
                // The symmetric route against scipy's sqrtm of the product:
                // they agree to rounding; 1e-6 relative.
                assert_rel(
                    fid,
                    expected,
                    1e-6,
                    &format!("{name}: FID against pytorch-fid's"),
                );
            } else {
                let message = read.expect_err(name).to_string();
                assert!(!message.contains('\n'), "{message}");
                assert!(message.contains(&file), "names the file: {message}");
                assert!(message.contains("recompute"), "says the fix: {message}");
            }
        }
    }

    #[test]
    fn the_command_line_refuses_a_matrix_that_is_no_covariance() {
        for (case, words) in [
            ("negative_outside", "positive semi-definite"),
            ("asymmetric_outside", "not symmetric"),
            ("cholesky_factor", "not symmetric"),
            ("infinite_mu", "NaN or infinity"),
        ] {
            let file = format!("covariance_{case}.npz");
            let line = refusal_line(&[
                "fid",
                "--real",
                holes(&file),
                "--fake",
                holes("covariance_b.npz"),
            ]);
            assert!(line.contains(&file) && line.contains(words), "{line}");
        }
    }
}

mod array_files {
    use super::*;

    fn write_npz(path: &Path, arrays: &[(&str, ndarray::ArrayD<f64>)]) {
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
        for (name, array) in arrays {
            npz.add_array(*name, array).unwrap();
        }
        npz.finish().unwrap();
    }

    #[test]
    fn half_a_statistics_file_names_the_missing_array() {
        let dir = temp_dir();
        let mu = ndarray::Array1::<f64>::zeros(4).into_dyn();
        let sigma = Array2::<f64>::eye(4).into_dyn();
        for (present, missing, array) in [("mu", "sigma", mu), ("sigma", "mu", sigma)] {
            let path = dir.path().join(format!("only-{present}.npz"));
            write_npz(&path, &[(present, array)]);
            let message = FeatureFile::read(&path).unwrap_err().to_string();
            assert!(
                message.contains(&format!("no `{missing}`"))
                    && message.contains("only-")
                    && !message.contains("pool"),
                "{message}"
            );
            let line = refusal_line(&[
                "fid",
                "--real",
                s(&path),
                "--fake",
                holes("covariance_b.npz"),
            ]);
            assert!(line.contains(&format!("no `{missing}`")), "{line}");
            assert!(
                FidStats::read_npz(&path)
                    .unwrap_err()
                    .to_string()
                    .contains(&format!("no array `{missing}`"))
            );
        }
    }

    #[test]
    fn an_array_of_the_wrong_rank_or_dtype_is_described_as_numpy_would() {
        let dir = temp_dir();
        let rank3 = dir.path().join("rank3.npy");
        ndarray_npy::write_npy(&rank3, &Array3::<f32>::zeros((2, 3, 4))).unwrap();
        let ints = dir.path().join("ints.npy");
        ndarray_npy::write_npy(&ints, &Array2::<i64>::zeros((5, 3))).unwrap();
        for (path, description) in [
            (&rank3, "holds a float32 array of shape (2, 3, 4)"),
            (&ints, "holds an int64 array of shape (5, 3)"),
        ] {
            let message = FeatureFile::read(path).unwrap_err().to_string();
            assert!(message.contains(description), "{message}");
            assert!(message.contains(s(path)), "{message}");
            let line = refusal_line(&[
                "fid",
                "--real",
                s(path),
                "--fake",
                holes("covariance_b.npz"),
            ]);
            assert!(line.contains(description), "{line}");
        }
        let stats = dir.path().join("int-mu.npz");
        let mut npz = ndarray_npy::NpzWriter::new(std::fs::File::create(&stats).unwrap());
        npz.add_array("mu", &ndarray::Array1::<i64>::zeros(3))
            .unwrap();
        npz.add_array("sigma", &Array2::<f64>::eye(3)).unwrap();
        npz.finish().unwrap();
        let message = FidStats::read_npz(&stats).unwrap_err().to_string();
        assert!(
            message.contains("`mu`") && message.contains("an int64 array of shape (3,)"),
            "{message}"
        );
    }

    /// Found by the fuzz harness: a member name holding a newline broke the
    /// message over two lines.
    #[test]
    fn an_array_name_with_control_characters_stays_on_one_line() {
        use std::io::Write;
        let dir = temp_dir();
        let path = dir.path().join("odd.npz");
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        zip.start_file("bad\nname.npy", zip::write::SimpleFileOptions::default())
            .unwrap();
        let mut npy = Vec::new();
        ndarray_npy::WriteNpyExt::write_npy(&Array2::<i64>::zeros((2, 2)), &mut npy).unwrap();
        zip.write_all(&npy).unwrap();
        zip.finish().unwrap();
        let message = FeatureFile::read(&path).unwrap_err().to_string();
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("bad\\nname"), "{message}");
    }

    #[test]
    fn a_header_promising_more_data_than_the_file_holds_is_refused_before_reading() {
        let dir = temp_dir();
        let path = dir.path().join("huge.npy");
        let mut bytes = stackgan_eval::npy::header_bytes("<f4", &[4_000_000_000, 2048]);
        bytes.extend([0u8; 64]);
        std::fs::write(&path, bytes).unwrap();
        let message = FeatureFile::read(&path).unwrap_err().to_string();
        assert!(message.contains("truncated or corrupt"), "{message}");
    }
}

mod resume {
    use super::*;

    fn demo(path: &str) -> String {
        s(&root().join("models/demo").join(path)).to_string()
    }

    fn generate(out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "generate",
            "--model",
            &demo("demo-generator.onnx"),
            "--embeddings",
            &demo("demo-embeddings.npy"),
            "--images",
            "1",
            "--captions",
            "2",
            "--seed",
            "11",
            "--branches",
            "64",
            "--out",
            s(out),
            "--device",
            "cpu",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    }

    fn run(args: &[String]) -> std::process::Output {
        tool(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Replaces the value after `flag`.
    fn with(mut args: Vec<String>, flag: &str, value: &str) -> Vec<String> {
        let at = args.iter().position(|a| a == flag).unwrap();
        args[at + 1] = value.to_string();
        args
    }

    #[test]
    fn a_finished_run_is_checked_against_the_command_that_resumes_it() {
        let dir = temp_dir();
        let out = dir.path().join("out");
        assert_ok(&run(&generate(&out, &["--quiet"])));
        let record = json(out.join("run.json"));
        assert_eq!(record["seed"], 11);
        assert_eq!(record["samples"], 2);
        let finished = files_under(&out);

        // The same command: nothing to do, and it says so.
        let again = run(&generate(&out, &["--resume"]));
        assert_ok(&again);
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("nothing to do"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        // Batch size and threads change no byte: not part of the run.
        assert_ok(&run(&generate(
            &out,
            &["--resume", "--batch-size", "1", "--threads", "1"],
        )));

        let v1 = demo("demo-generator-v1.onnx");
        let differing: [(Vec<String>, &str); 5] = [
            (
                with(generate(&out, &["--resume"]), "--seed", "12"),
                "--seed",
            ),
            (
                with(generate(&out, &["--resume"]), "--model", &v1),
                "--model",
            ),
            (
                with(generate(&out, &["--resume"]), "--images", "2"),
                "--images/--captions",
            ),
            (
                with(generate(&out, &["--resume"]), "--branches", "all"),
                "--branches",
            ),
            (generate(&out, &["--resume", "--save-raw"]), "--save-raw"),
        ];
        for (args, flag) in differing {
            let line = refusal_line(&args.iter().map(String::as_str).collect::<Vec<_>>());
            assert!(
                line.contains(flag) && line.contains(s(&out)) && line.contains("another --out"),
                "{flag}: {line}"
            );
            assert!(!line.contains("different the"), "{line}");
            assert_eq!(
                files_under(&out),
                finished,
                "{flag}: the run was left as it was"
            );
        }
        let line = refusal_line(
            &with(generate(&out, &["--resume"]), "--seed", "12")
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(
            line.contains("made with 11") && line.contains("gives 12"),
            "{line}"
        );

        // Without --resume a finished run is refused as well.
        let line = refusal_line(
            &generate(&out, &[])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(
            line.contains("finished run") && line.contains("--resume"),
            "{line}"
        );

        // A finished run whose record is gone cannot be checked: refused.
        std::fs::remove_file(out.join("run.json")).unwrap();
        let line = refusal_line(
            &generate(&out, &["--resume"])
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        );
        assert!(line.contains("run.json"), "{line}");
    }

    #[test]
    fn resume_into_an_empty_folder_starts_the_run() {
        let dir = temp_dir();
        let out = dir.path().join("fresh");
        assert_ok(&run(&generate(&out, &["--resume", "--quiet"])));
        assert!(out.join("run.json").is_file() && out.join("samples.csv").is_file());
    }
}

mod links {
    use super::*;
    use stackgan_eval::images::{decode_rgb, list_images};
    use std::os::unix::fs::symlink;

    fn folder_of_two(dir: &Path) -> PathBuf {
        let folder = dir.join("images");
        std::fs::create_dir_all(&folder).unwrap();
        for name in ["00.png", "01.png"] {
            std::fs::copy(Path::new(fixture("e2e/fake")).join(name), folder.join(name)).unwrap();
        }
        folder
    }

    fn stats_args<'a>(folder: &'a Path, out: &'a Path) -> Vec<&'a str> {
        vec![
            "stats",
            "--images",
            s(folder),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(out),
            "--device",
            "cpu",
        ]
    }

    #[test]
    fn links_that_cannot_be_followed_are_named_or_skipped_and_counted() {
        let cases: [(&str, &str); 3] = [
            ("self.png", "loops"),
            ("gone.png", "broken symbolic link"),
            ("up", "leads back to the link"),
        ];
        for (name, words) in cases {
            let dir = temp_dir();
            let folder = folder_of_two(dir.path());
            let link = folder.join(name);
            match name {
                "self.png" => symlink(&link, &link).unwrap(),
                "gone.png" => symlink(folder.join("missing.png"), &link).unwrap(),
                _ => symlink("..", &link).unwrap(),
            }
            let listed = list_images(&folder).unwrap();
            assert!(listed.contains(&link), "{name} is listed: {listed:?}");
            let message = decode_rgb(&link).unwrap_err().to_string();
            assert!(
                message.contains(name) && message.contains(words),
                "{message}"
            );

            let out = dir.path().join("stats.npz");
            let line = refusal_line(&stats_args(&folder, &out));
            assert!(line.contains(name) && line.contains("--skip-bad"), "{line}");
            assert!(!out.exists());

            let mut args = stats_args(&folder, &out);
            args.push("--skip-bad");
            let output = tool(&args);
            assert_ok(&output);
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(stdout.contains("1 unreadable skipped"), "{stdout}");
        }
    }

    #[test]
    fn links_to_folders_are_followed() {
        let dir = temp_dir();
        let elsewhere = folder_of_two(&dir.path().join("elsewhere"));
        let folder = dir.path().join("set");
        std::fs::create_dir(&folder).unwrap();
        symlink(&elsewhere, folder.join("linked")).unwrap();
        assert_eq!(list_images(&folder).unwrap().len(), 2);
        // Two folders whose links lead to each other: the walk ends, and
        // the link that would close the circle is listed (to be refused).
        let (a, b) = (folder.join("a"), folder.join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        symlink(&b, a.join("to-b")).unwrap();
        symlink(&a, b.join("to-a")).unwrap();
        let listed = list_images(&folder).unwrap();
        assert!(listed.contains(&a.join("to-b/to-a")), "{listed:?}");
        assert!(listed.contains(&b.join("to-a/to-b")), "{listed:?}");
        assert_eq!(listed.len(), 4, "{listed:?}");
    }
}

mod device {
    use super::*;

    /// The CPU wheel of onnxruntime (what scripts/setup.sh installs) has no CUDA
    /// provider: the default `--device auto` uses the CPU without a word. (With
    /// onnxruntime-gpu, CUDA either runs or its failure is said once.)
    #[test]
    fn device_auto_is_quiet_when_onnx_runtime_has_no_cuda() {
        let library = stackgan_eval::runtime::library_in_virtualenv(&root().join(".venv")).unwrap();
        let cuda_built_in = library
            .parent()
            .unwrap()
            .join("libonnxruntime_providers_cuda.so")
            .exists();
        let dir = temp_dir();
        let out = dir.path().join("f.npz");
        let output = tool(&[
            "extract",
            "--images",
            fixture("e2e/fake"),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(&out),
        ]);
        assert_ok(&output);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mentions = stderr.matches("CUDA").count();
        if cuda_built_in {
            assert!(mentions <= 1, "{stderr}");
        } else {
            assert_eq!(mentions, 0, "{stderr}");
        }
    }
}

mod wording {
    use super::*;
    use stackgan_eval::images::decode_rgb;
    use stackgan_eval::models::Manifest;

    #[test]
    fn a_model_of_the_wrong_role_is_named_in_words() {
        let generator = root().join("models/demo/demo-generator.onnx");
        let message = Manifest::read_beside(&generator).unwrap_err().to_string();
        assert!(message.contains("is a generator"), "{message}");
        assert!(
            !message.contains("Generator") && !message.contains("a Extractor"),
            "{message}"
        );
    }

    #[test]
    fn a_png_crc_error_reads_as_one_human_line() {
        let dir = temp_dir();
        let mut png = std::fs::read(Path::new(fixture("e2e/real")).join("00.png")).unwrap();
        png[29] ^= 0xff; // the IHDR chunk's CRC
        let path = dir.path().join("crc.png");
        std::fs::write(&path, png).unwrap();
        let message = decode_rgb(&path).unwrap_err().to_string();
        assert!(
            message.contains("crc.png") && message.contains("IHDR"),
            "{message}"
        );
        assert!(
            !message.contains("ChunkType") && !message.contains('{') && !message.contains('\n'),
            "{message}"
        );
    }
}

mod names {
    use super::*;
    use std::ffi::OsStr;
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    fn files_entry(path: &Path) -> Vec<u8> {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut bytes = Vec::new();
        zip.by_name("files.npy")
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        bytes
    }

    /// The data after an `.npy` header (version 1.0).
    fn npy_data(bytes: &[u8]) -> &[u8] {
        &bytes[10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize..]
    }

    #[test]
    fn names_python_wrote_with_surrogateescape_read_back_to_their_bytes() {
        let expected: Vec<Vec<u8>> = holes_reference()["surrogate_names_hex"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| hex_bytes(h.as_str().unwrap()))
            .collect();
        let numpy_file = Path::new(holes("surrogate_names.npz"));
        let features = FeatureFile::read(numpy_file).unwrap();
        let read: Vec<Vec<u8>> = features
            .files
            .iter()
            .map(|p| p.as_os_str().as_bytes().to_vec())
            .collect();
        assert_eq!(read, expected);
        // Written again, the names are the very code points numpy stored.
        let dir = temp_dir();
        let again = dir.path().join("again.npz");
        features.write(&again).unwrap();
        assert_eq!(
            npy_data(&files_entry(&again)),
            npy_data(&files_entry(numpy_file))
        );
    }

    #[test]
    fn extract_keeps_a_name_that_is_not_utf8_and_finds_the_file_again() {
        let dir = temp_dir();
        let folder = dir.path().join("images");
        std::fs::create_dir(&folder).unwrap();
        let name = OsStr::from_bytes(b"caf\xe9.png");
        std::fs::copy(
            Path::new(fixture("e2e/fake")).join("00.png"),
            folder.join(name),
        )
        .unwrap();
        let out = dir.path().join("features.npz");
        assert_ok(&tool(&[
            "extract",
            "--images",
            s(&folder),
            "--extractor",
            tiny_extractor(),
            "--out",
            s(&out),
            "--device",
            "cpu",
            "--quiet",
        ]));
        let features = FeatureFile::read(&out).unwrap();
        assert_eq!(features.files, vec![folder.join(name)]);
        assert!(features.files[0].is_file());
        // Stored as Python's os.fsdecode stores it: the byte 0xE9 as U+DCE9.
        let data = npy_data(&files_entry(&out)).to_vec();
        let points: Vec<u32> = data
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .filter(|&c| c != 0)
            .collect();
        assert!(points.contains(&0xDCE9), "{points:x?}");
    }
}
