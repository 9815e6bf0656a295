//! Finding the ONNX Runtime shared library that `ort` loads at run time.
//!
//! Order: the `--ort-library` flag, `ORT_DYLIB_PATH`, the project's own
//! virtualenv (`.venv`, made by `scripts/setup.sh`, next to the working
//! directory or above the executable), then the system library folders.

use std::path::{Path, PathBuf};

use super::RuntimeError;

/// Where a library candidate came from, for messages and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibrarySource {
    Flag,
    Environment,
    Virtualenv,
    System,
}

/// Resolves the library to load, or says where it looked and how to get one.
pub fn find_library(flag: Option<&Path>) -> Result<(PathBuf, LibrarySource), RuntimeError> {
    if let Some(path) = flag {
        return existing(path, "--ort-library").map(|p| (p, LibrarySource::Flag));
    }
    if let Some(value) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return existing(Path::new(&value), "ORT_DYLIB_PATH")
            .map(|p| (p, LibrarySource::Environment));
    }
    let mut looked = Vec::new();
    for root in virtualenv_roots() {
        let venv = root.join(".venv");
        looked.push(venv.display().to_string());
        if let Some(lib) = library_in_virtualenv(&venv) {
            return Ok((lib, LibrarySource::Virtualenv));
        }
    }
    for dir in [
        "/usr/local/lib",
        "/usr/lib",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
    ] {
        looked.push(dir.to_string());
        if let Some(lib) = versioned_library_in(Path::new(dir)) {
            return Ok((lib, LibrarySource::System));
        }
    }
    Err(RuntimeError::LibraryNotFound {
        looked: looked.join(", "),
    })
}

fn existing(path: &Path, origin: &'static str) -> Result<PathBuf, RuntimeError> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(RuntimeError::LibraryMissing {
            path: path.to_path_buf(),
            origin,
        })
    }
}

/// The working directory and every ancestor of the executable (so a binary in
/// `target/release/` finds the project's `.venv`).
fn virtualenv_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.dedup();
    roots
}

/// `lib/python3.*/site-packages/onnxruntime/capi/libonnxruntime.so*` inside a virtualenv.
pub fn library_in_virtualenv(venv: &Path) -> Option<PathBuf> {
    let lib = std::fs::read_dir(venv.join("lib")).ok()?;
    let mut pythons: Vec<PathBuf> = lib
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python3"))
        })
        .collect();
    pythons.sort();
    pythons
        .iter()
        .find_map(|py| versioned_library_in(&py.join("site-packages/onnxruntime/capi")))
}

/// `libonnxruntime.so` or the highest `libonnxruntime.so.1.x.y` in a folder.
fn versioned_library_in(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so"))
        })
        .collect();
    found.sort();
    found.pop()
}
