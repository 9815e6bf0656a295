//! A converted model on disk: `M.onnx` and its manifest `M.toml` beside it,
//! each written whole or not at all, the manifest recording the hash of the
//! file that was written.

use std::path::{Path, PathBuf};

use super::ConvertError;
use super::onnx::OnnxModel;
use crate::atomic::write_bytes_atomically;
use crate::models::{file_sha256, manifest_path};

/// What a conversion wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The `.onnx` file.
    pub onnx: PathBuf,
    /// Its manifest, `.toml` beside it.
    pub manifest: PathBuf,
    /// SHA-256 of the `.onnx` file, as the manifest records it.
    pub sha256: String,
    /// Size of the `.onnx` file in bytes.
    pub bytes: u64,
}

/// Refuses a target the manifest cannot sit beside: checked before any work.
pub(super) fn check_target(out: &Path) -> Result<(), ConvertError> {
    if out.extension().is_some_and(|e| e == "onnx") {
        return Ok(());
    }
    Err(ConvertError::Write {
        path: out.to_path_buf(),
        reason:
            "the converted model's name must end in .onnx (its manifest goes beside it as .toml)"
                .into(),
    })
}

/// Writes `model` to `out` and then the manifest `manifest(sha256)` makes
/// beside it; if the manifest cannot be written, the model is removed again.
pub(super) fn write_model(
    out: &Path,
    model: &OnnxModel,
    manifest: impl FnOnce(&str) -> Result<String, ConvertError>,
) -> Result<Converted, ConvertError> {
    check_target(out)?;
    let bytes = model.to_bytes();
    let size = bytes.len() as u64;
    let unwritable = |path: &Path, e: &dyn std::fmt::Display| ConvertError::Write {
        path: path.to_path_buf(),
        reason: format!("cannot write it ({e}); check the folder exists and is writable"),
    };
    write_bytes_atomically(out, &bytes).map_err(|e| unwritable(out, &e))?;
    drop(bytes);
    let toml = manifest_path(out);
    let written = file_sha256(out)
        .map_err(|e| unwritable(out, &e))
        .and_then(|sha| {
            let text = manifest(&sha)?;
            write_bytes_atomically(&toml, text.as_bytes()).map_err(|e| unwritable(&toml, &e))?;
            Ok(sha)
        });
    match written {
        Ok(sha256) => Ok(Converted {
            onnx: out.to_path_buf(),
            manifest: toml,
            sha256,
            bytes: size,
        }),
        Err(error) => {
            let _ = std::fs::remove_file(out);
            Err(error)
        }
    }
}
