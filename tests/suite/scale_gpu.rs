//! The GPU flags on any machine: `--device cuda:N`, `--devices`,
//! `--precision` parse, and what a run cannot honour is refused in one
//! line naming the flag and the fix, before anything is written. (The CPU
//! numbers through I/O binding are the ones `cli_core` and `cli` check
//! against the references.)

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
        // Generators always run in float32: generate has no image model.
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
            names: "--precision fp16",
            also: &["generator", "float32"],
        },
        // Several GPUs in one process are not driven yet, with or without CUDA.
        Refusal {
            args: fid(&["--devices", "0,1"]),
            output: &out,
            names: "--devices 0,1",
            also: &[],
        },
    ] {
        row.check();
    }
}
