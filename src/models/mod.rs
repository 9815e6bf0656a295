//! Model manifests and the check of a model against its manifest; the
//! model cache, and the weights fetched into it on first use.

mod cache;
mod fetch;
mod generator;
mod manifest;
mod protocol;
mod verify;

use std::path::PathBuf;

use crate::runtime::TensorSignature;

pub use cache::{CACHE_FOLDER, CachedModel, FetchRecord, ModelCache, RECORD_FILE};
pub use fetch::{
    ExpectedSha256, FetchError, Fetched, KnownWeights, SHA256_VAR, URL_VAR, WeightsSource,
    default_extractor, ensure, fetch, fid_inception, known_weights,
};
pub use generator::{
    GeneratorArchitecture, GeneratorInput, GeneratorInputKind, GeneratorManifest, GeneratorOutput,
    GeneratorOutputKind,
};
pub use manifest::{
    InputSpec, IsDefaults, Manifest, OutputKind, OutputSpec, Role, manifest_path, protocol_names,
};
pub use protocol::{IsProtocol, PYTORCH_FID, Protocol, ProtocolSpec, STACKGAN_IS};
pub use verify::{file_sha256, verify_sha256, verify_signature};

/// A manifest's list as TOML writes it: `[-1, 3, 299, 299]`.
pub(crate) fn toml_list<T: std::fmt::Display>(items: &[T]) -> String {
    let items: Vec<String> = items.iter().map(T::to_string).collect();
    format!("[{}]", items.join(", "))
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "model {model} has no readable manifest {manifest} ({reason}); convert the checkpoint with `stackgan-eval models convert` (or models/export_inception.py, models/export_stackgan.py), or write one with models/write_manifest.py"
    )]
    ManifestMissing {
        model: PathBuf,
        manifest: PathBuf,
        reason: String,
    },
    #[error("manifest {manifest} is invalid: {reason}")]
    ManifestInvalid { manifest: PathBuf, reason: String },
    #[error("cannot read model {path}: {reason}")]
    ModelUnreadable { path: PathBuf, reason: String },
    #[error(
        "model {model} does not match its manifest {manifest}: {what}; re-export the model or regenerate the manifest with models/write_manifest.py"
    )]
    Mismatch {
        model: PathBuf,
        manifest: PathBuf,
        what: String,
    },
    #[error(
        "model {model} is {} (the role its manifest {manifest} gives) but {wanted}; pass a model whose manifest role fits",
        found.with_article()
    )]
    WrongRole {
        model: PathBuf,
        manifest: PathBuf,
        found: Role,
        wanted: &'static str,
    },
}
