//! The GPU flags on any machine: `--device cuda:N`, `--devices`,
//! `--precision` parse; a pass spread over several devices gives the
//! one-device numbers bit for bit; and what a run cannot honour is refused in one
//! line naming the flag and the fix, before anything is written. (The CPU
//! numbers through I/O binding are the ones `cli_core` and `cli` check
//! against the references.)

use std::path::{Path, PathBuf};

use ndarray::{Array2, Axis};
use stackgan_eval::features::{Extractor, run_over_images};
use stackgan_eval::generate::{JobSpec, PlanRequest};
use stackgan_eval::images::{ImageBatches, image_list};
use stackgan_eval::options::{ExecOptions, ImageOptions};
use stackgan_eval::progress::Silent;
use stackgan_eval::runtime::{Device, DeviceList, Runtime, RuntimeConfig};
use stackgan_eval::scoring::{Input, Metric, Scorer, ScoringOptions};

use crate::util::{Refusal, demo_model, fixture, s, temp_dir, tiny_extractor};

#[test]
fn gpu_settings_a_run_cannot_honour_are_refused_in_one_line() {
    let dir = temp_dir();
    let out = dir.path().join("fid.json");
    let generated = dir.path().join("generated");
    let fid = |extra: &[&'static str]| {
        let mut args = vec![
            "fid",
            "--real",
            fixture("e2e/real"),
            "--fake",
            fixture("e2e/fake"),
            "--extractor",
            tiny_extractor(),
            "--json",
            s(&out),
        ];
        args.extend_from_slice(extra);
        args
    };
    for row in [
        Refusal {
            args: fid(&["--device", "cuda:x"]),
            output: &out,
            names: "cuda:x",
            also: &["cuda:N"],
        },
        Refusal {
            args: fid(&["--precision", "bf16"]),
            output: &out,
            names: "bf16",
            also: &["fp32, tf32 or fp16"],
        },
        Refusal {
            args: fid(&["--devices", "0,0"]),
            output: &out,
            names: "--devices",
            also: &["listed twice"],
        },
        // Reduced precision is a GPU setting.
        Refusal {
            args: fid(&["--device", "cpu", "--precision", "tf32"]),
            output: &out,
            names: "--precision tf32",
            also: &["--device cuda"],
        },
        Refusal {
            args: fid(&["--device", "cpu", "--precision", "fp16"]),
            output: &out,
            names: "--precision fp16",
            also: &["--device cuda"],
        },
        // Generators always run in float32: generate, which runs no image
        // model, has no --precision.
        Refusal {
            args: vec![
                "generate",
                "--model",
                demo_model("demo-generator.onnx"),
                "--embeddings",
                demo_model("demo-embeddings.npy"),
                "--out",
                s(&generated),
                "--precision",
                "fp16",
            ],
            output: &generated,
            names: "--precision",
            also: &["see --help"],
        },
        // Without a CUDA provider there is no GPU to spread the run over.
        Refusal {
            args: fid(&["--devices", "0,1"]),
            output: &out,
            names: "--devices 0,1",
            also: &["onnxruntime-gpu", "drop --devices"],
        },
        // --devices names the devices: --device beside it is one too many.
        Refusal {
            args: fid(&["--devices", "0,1", "--device", "cuda:1"]),
            output: &out,
            names: "--devices",
            also: &["--device"],
        },
    ] {
        row.check();
    }
}

/// What a pass over a folder gave: the files in order, every output
/// stacked, and the files skipped.
type Pass = (Vec<PathBuf>, Vec<Array2<f32>>, Vec<PathBuf>);

/// The batches of `folder` through `extractor`, every output kept in order;
/// the pass's error as its message.
fn features_of(
    extractor: &mut Extractor,
    folder: &Path,
    batch_size: usize,
    skip_bad: bool,
) -> Result<Pass, String> {
    let setup = extractor.setup(None, None).expect("protocol");
    let names: Vec<String> = extractor
        .manifest()
        .outputs
        .iter()
        .map(|o| o.name.clone())
        .collect();
    let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
    let paths = image_list(folder).expect("folder");
    let batches =
        ImageBatches::new(paths, setup.preprocess, batch_size, skip_bad).expect("batches");
    let (mut files, mut parts) = (Vec::new(), vec![Vec::new(); outputs.len()]);
    let summary =
        run_over_images::<anyhow::Error>(extractor, batches, &outputs, &|_| {}, |paths, arrays| {
            files.extend_from_slice(paths);
            for (part, array) in parts.iter_mut().zip(arrays) {
                part.push(array.clone());
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    assert_eq!(summary.images, files.len());
    let stacked = parts
        .iter()
        .map(|part| {
            let views: Vec<_> = part.iter().map(|a| a.view()).collect();
            ndarray::concatenate(Axis(0), &views).expect("same widths")
        })
        .collect();
    let skipped = summary.skipped.into_iter().map(|(path, _)| path).collect();
    Ok((files, stacked, skipped))
}

fn same_bits(a: &[Array2<f32>], b: &[Array2<f32>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(a, b)| {
            a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        })
}

/// CPU sessions of one thread, one per entry of `devices` (`None`: one).
fn cpu_sessions(devices: Option<Vec<Device>>) -> RuntimeConfig {
    RuntimeConfig {
        device: Device::Cpu,
        threads: Some(1),
        devices: devices.map(DeviceList),
        ..RuntimeConfig::default()
    }
}

fn runtime(devices: Option<Vec<Device>>) -> Runtime {
    Runtime::load(cpu_sessions(devices)).expect("ONNX Runtime (scripts/setup.sh installs it)")
}

/// `--devices` spreads a pass's batches over one session per device, each
/// taking the next batch when free, and hands the outputs on in file
/// order. This machine has no GPU, so three CPU sessions stand in for three
/// devices: features, file order, and the FID statistics and scores made
/// from them equal the one-session run's bit for bit — with a batch size
/// that does not divide the 20 images, and with a corrupt file among them.
#[test]
fn a_pass_spread_over_several_devices_equals_the_one_device_run_bit_for_bit() {
    let one = runtime(None);
    let three = runtime(Some(vec![Device::Cpu; 3]));
    let path = Path::new(tiny_extractor());
    let mut single = Extractor::open(&one, path).expect("extractor");
    let mut spread = Extractor::open(&three, path).expect("extractor");
    assert_eq!((single.devices(), spread.devices()), (1, 3));
    let real = Path::new(fixture("e2e/real"));
    for batch_size in [3, 7] {
        let (files_1, features_1, _) =
            features_of(&mut single, real, batch_size, false).expect("one session");
        let (files_3, features_3, _) =
            features_of(&mut spread, real, batch_size, false).expect("three sessions");
        assert_eq!(files_1, files_3, "batch size {batch_size}: file order");
        assert_eq!(files_1.len(), 20);
        assert!(
            same_bits(&features_1, &features_3),
            "batch size {batch_size}: features differ"
        );
    }

    // A corrupt file in the middle: the same refusal naming it, or under
    // --skip-bad the same features and the same file skipped.
    let dir = temp_dir();
    for entry in std::fs::read_dir(real).expect("fixture") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    let corrupt = dir.path().join("10a.png");
    std::fs::write(&corrupt, b"not a PNG").expect("write");
    let refused_1 = features_of(&mut single, dir.path(), 3, false).unwrap_err();
    let refused_3 = features_of(&mut spread, dir.path(), 3, false).unwrap_err();
    assert!(refused_1.contains("10a.png"), "{refused_1}");
    assert_eq!(refused_1, refused_3);
    let skipping_1 = features_of(&mut single, dir.path(), 3, true).expect("one session");
    let skipping_3 = features_of(&mut spread, dir.path(), 3, true).expect("three sessions");
    assert_eq!(skipping_1.0, skipping_3.0);
    assert!(same_bits(&skipping_1.1, &skipping_3.1));
    assert_eq!(skipping_1.2, vec![corrupt.clone()]);
    assert_eq!(skipping_3.2, vec![corrupt]);

    // Through the scorer, as `stats` and `fid` run: the statistics too.
    let stats = |devices: Option<Vec<Device>>| {
        let exec = ExecOptions {
            runtime: cpu_sessions(devices),
            batch_size: 6,
        };
        let mut scorer = Scorer::new(exec, ImageOptions::default());
        let folder = Input::new("--images", fixture("e2e/fake"));
        scorer
            .statistics(Some(path), &folder, &Silent)
            .expect("statistics")
            .stats
    };
    let (alone, spread) = (stats(None), stats(Some(vec![Device::Cpu; 2])));
    let bits = |a: &ndarray::ArrayD<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(&alone.mu.clone().into_dyn()),
        bits(&spread.mu.clone().into_dyn())
    );
    assert_eq!(
        bits(&alone.sigma.clone().into_dyn()),
        bits(&spread.sigma.clone().into_dyn())
    );
    assert_eq!(alone.count, Some(20));
}

/// `eval` spreads its generated batches the same way: each device
/// generates a batch and runs its branches through the image models there,
/// and the sides take the outputs in sample order. Two CPU sessions of each
/// model give the one-device report (FID and IS of every branch) bit for bit.
#[test]
fn eval_spread_over_several_devices_equals_the_one_device_run_bit_for_bit() {
    let spec = JobSpec {
        model: demo_model("demo-generator.onnx").into(),
        embeddings: Some(demo_model("demo-embeddings.npy").into()),
        seed: 5,
        plan: PlanRequest {
            images: Some(8),
            captions: Some(3),
            ..PlanRequest::default()
        },
        ..JobSpec::default()
    };
    let options = ScoringOptions {
        metrics: vec![Metric::Fid, Metric::Is],
        extractor: Some(demo_model("demo-extractor.onnx").into()),
        ..ScoringOptions::default()
    };
    let real = Input::new("--real", fixture("e2e/real"));
    let eval = |devices: Option<Vec<Device>>| {
        let exec = ExecOptions {
            runtime: cpu_sessions(devices),
            batch_size: 5,
        };
        let mut scorer = Scorer::new(exec, ImageOptions::default());
        let report = scorer
            .eval(&options, Some(&real), &spec, None, &Silent)
            .expect("eval");
        assert_eq!(report.samples, 24);
        serde_json::to_string(&report.branches).expect("json")
    };
    let (alone, spread) = (eval(None), eval(Some(vec![Device::Cpu; 2])));
    assert!(alone.contains("\"fid\""), "{alone}");
    assert!(spread.contains(r#""devices":["cpu","cpu"]"#), "{spread}");
    let spread = spread.replace(r#","devices":["cpu","cpu"]"#, "");
    assert_eq!(alone, spread);
}
