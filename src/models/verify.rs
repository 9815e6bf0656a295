//! The model-against-manifest check: file hash, input and output signatures.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{Manifest, ModelError, manifest_path, toml_list};
use crate::runtime::TensorSignature;

/// Hex SHA-256 of a file, streamed.
pub fn file_sha256(path: &Path) -> Result<String, ModelError> {
    let unreadable = |e: std::io::Error| ModelError::ModelUnreadable {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(unreadable)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Bytes as lowercase hex digits (how SHA-256 sums are written).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the model file is the one its manifest (which records
/// `expected`) was written for.
pub fn verify_sha256(model: &Path, expected: &str, sha256: &str) -> Result<(), ModelError> {
    if expected.eq_ignore_ascii_case(sha256) {
        return Ok(());
    }
    Err(ModelError::Mismatch {
        model: model.to_path_buf(),
        manifest: manifest_path(model),
        what: format!("its SHA-256 is {sha256}, the manifest says {expected}"),
    })
}

/// Checks the model's inputs and outputs against the manifest; the error says
/// exactly what disagrees.
pub fn verify_signature(
    model: &Path,
    manifest: &Manifest,
    inputs: &[TensorSignature],
    outputs: &[TensorSignature],
) -> Result<(), ModelError> {
    let mismatch = |what: String| ModelError::Mismatch {
        model: model.to_path_buf(),
        manifest: manifest_path(model),
        what,
    };
    let input = &manifest.input;
    check_tensor("input", &input.name, &input.shape, inputs).map_err(mismatch)?;
    for output in &manifest.outputs {
        check_tensor("output", &output.name, &output.shape, outputs).map_err(mismatch)?;
    }
    Ok(())
}

/// Finds the manifest's tensor `name` among the model's and checks its type and shape.
pub(super) fn check_tensor(
    role: &str,
    name: &str,
    shape: &[i64],
    model: &[TensorSignature],
) -> Result<(), String> {
    let shown = name.escape_debug();
    let found = model.iter().find(|t| t.name == name).ok_or_else(|| {
        let names: Vec<String> = model
            .iter()
            .map(|t| format!("`{}`", t.name.escape_debug()))
            .collect();
        format!(
            "the manifest's {role} `{shown}` is not an {role} of the model (it has {})",
            names.join(", ")
        )
    })?;
    if !found.is_float32 {
        return Err(format!("{role} `{shown}` is not float32"));
    }
    if !shapes_agree(shape, &found.shape) {
        return Err(format!(
            "{role} `{shown}` has shape {}, the manifest says {}",
            toml_list(&found.shape),
            toml_list(shape)
        ));
    }
    Ok(())
}

/// Same rank, and every axis that both fix has the same length.
fn shapes_agree(manifest: &[i64], model: &[i64]) -> bool {
    manifest.len() == model.len()
        && manifest
            .iter()
            .zip(model)
            .all(|(a, b)| *a < 0 || *b < 0 || a == b)
}

#[cfg(test)]
mod tests {
    use super::shapes_agree;

    #[test]
    fn dynamic_axes_agree_with_anything_fixed_axes_must_match() {
        assert!(shapes_agree(&[-1, 3, 299, 299], &[-1, 3, 299, 299]));
        assert!(shapes_agree(&[-1, 3, 299, 299], &[8, 3, 299, 299]));
        assert!(!shapes_agree(&[-1, 3, 299, 299], &[-1, 3, 28, 28]));
        assert!(!shapes_agree(&[-1, 2048], &[-1, 2048, 1, 1]));
    }
}
