//! Helpers the command-line tests share: fixture paths, running the binary,
//! and the checks every failing command must pass.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture path as a `&'static str`, handy in argument lists.
pub fn fixture(path: &str) -> &'static str {
    let full = root().join("tests/fixtures").join(path);
    Box::leak(
        full.to_str()
            .expect("utf-8 path")
            .to_string()
            .into_boxed_str(),
    )
}

pub fn tiny_extractor() -> &'static str {
    fixture("models/tiny-extractor.onnx")
}

pub fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_stackgan-eval"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("json written")).expect("valid json")
}

pub fn reference() -> Value {
    json(Path::new(fixture("e2e/reference.json")))
}

pub fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn relative_difference(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-12)
}

/// Runs a command that must fail: exit code 2, one line on stderr naming
/// `names`, and `must_not_exist` not created.
pub fn assert_clean_failure(args: &[&str], names: &str, must_not_exist: &Path) -> String {
    let output = tool(args);
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(
        output.status.code(),
        Some(2),
        "args {args:?}\nstderr: {stderr}"
    );
    let error_lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        error_lines.len(),
        1,
        "one error line expected, got: {stderr}"
    );
    assert!(
        error_lines[0].contains(names),
        "the error should name {names}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        !must_not_exist.exists(),
        "{} was written despite the error",
        must_not_exist.display()
    );
    stderr
}
