//! Partial-result files: what one shard of a run writes for `merge`.
//!
//! A partial result is an `.npz` that numpy reads: `partial.npy` holds the
//! header — UTF-8 JSON as a `uint8` array
//! (`json.loads(np.load(f)["partial"].tobytes())`) — and the other arrays
//! are the shard's data, float32 rows in item order: `pool`, `logits`,
//! `logits_unbiased` (`extract`, `stats`), or one set per side,
//! `real.pool`, `fake.logits`, … (`score`, `eval`), with `files` (the image
//! paths) where the command keeps them.
//!
//! The header says which run the shard belongs to and which part it is:
//! the command, `I/N`, the number of items of the whole run, the range of
//! them the shard did, a SHA-256 of the ordered item list (the plan), and
//! the provenance every shard of one run shares (extractor path and
//! SHA-256, protocol, resize mode, provider, options, seed, model, tool
//! version), flat `name → value` pairs so that a disagreement is named.
//! The data is kept as the network gave it, never reduced: see
//! the `merge` module beside this one for why that makes the merge exact.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array1;
use ndarray_npy::{ReadNpyExt, WriteNpyExt};
use sha2::{Digest, Sha256};

use super::Shard;
use crate::atomic::write_atomically;
use crate::features::{FeatureFile, MatrixError, matrix};
use crate::npy::{self, NpyHeader, Npz, NpzError};

/// What the header's `format` says, so that any other `.npz` is told apart.
pub const FORMAT: &str = "stackgan-eval partial result";
/// The layout version this build writes and reads.
pub const VERSION: u32 = 1;
/// The header's array name.
const HEADER: &str = "partial";

/// The command whose run a shard is part of: its partial results merge
/// into what that command writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartialKind {
    Stats,
    Extract,
    Score,
    Eval,
}

impl std::fmt::Display for PartialKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PartialKind::Stats => "stats",
            PartialKind::Extract => "extract",
            PartialKind::Score => "score",
            PartialKind::Eval => "eval",
        })
    }
}

/// Who a shard is and what run it belongs to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PartialHeader {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    pub kind: PartialKind,
    pub shard: Shard,
    /// Items (images, samples) of the whole run.
    pub items: usize,
    /// The items this shard did, `[start, end)`.
    pub start: usize,
    pub end: usize,
    /// SHA-256 of the ordered item list of the whole run ([`plan_hash`]).
    pub plan: String,
    /// What every shard of the run shares: extractor, protocol, resize,
    /// options, seed, model, tool version.
    pub provenance: BTreeMap<String, String>,
    /// Items the shard skipped as unreadable (`--skip-bad`).
    #[serde(default)]
    pub skipped: usize,
    /// What the merged result needs beyond the data (a report's settings),
    /// the same in every shard.
    #[serde(default)]
    pub context: serde_json::Value,
    /// Float64 values per item that the merge sums in order (colour
    /// consistency's distances), exact in JSON.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Vec<f64>>,
}

impl PartialHeader {
    /// The header of `shard` of a run over `items` items whose ordered list hashes to `plan`.
    pub fn new(kind: PartialKind, shard: Shard, items: usize, plan: String) -> PartialHeader {
        let range = shard.range(items);
        let mut provenance = BTreeMap::new();
        provenance.insert("tool version".into(), env!("CARGO_PKG_VERSION").into());
        PartialHeader {
            format: FORMAT.into(),
            version: VERSION,
            kind,
            shard,
            items,
            start: range.start,
            end: range.end,
            plan,
            provenance,
            skipped: 0,
            context: serde_json::Value::Null,
            values: BTreeMap::new(),
        }
    }
}

/// One shard's partial result: its header and its rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    pub header: PartialHeader,
    pub data: FeatureFile,
}

/// Why a partial result cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum PartialError {
    #[error(
        "cannot write partial result {path}: {reason}; check that the folder exists and is writable"
    )]
    Write { path: PathBuf, reason: String },
    #[error("cannot open {path} ({source}); check the path of each shard's partial result")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a partial result ({reason}); pass the files that `--shard I/N` wrote")]
    NotPartial { path: PathBuf, reason: String },
    #[error("{path} is damaged or truncated ({reason}); run its shard again")]
    Damaged { path: PathBuf, reason: String },
    #[error(
        "{path} is a partial result of layout {found}, this build reads {VERSION}; merge with the version that wrote it ({tool})"
    )]
    Version {
        path: PathBuf,
        found: u32,
        tool: String,
    },
}

/// SHA-256 (hex) of an ordered item list: the plan every shard of a run
/// must share, so shards of different folders, sample plans or orders are
/// never merged.
pub fn plan_hash<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = Sha256::new();
    for item in items {
        hasher.update((item.len() as u64).to_le_bytes());
        hasher.update(item);
    }
    format!("{:x}", hasher.finalize())
}

/// [`plan_hash`] of file paths, by their bytes.
pub fn path_plan(paths: &[PathBuf]) -> String {
    plan_hash(paths.iter().map(|p| p.as_os_str().as_encoded_bytes()))
}

impl Partial {
    /// Writes the partial result atomically (nothing under `path` until it is whole).
    pub fn write(&self, path: &Path) -> Result<(), PartialError> {
        let fail = |reason: String| PartialError::Write {
            path: path.to_path_buf(),
            reason,
        };
        let json = serde_json::to_vec(&self.header).map_err(|e| fail(e.to_string()))?;
        let mut header = Vec::new();
        Array1::from_vec(json)
            .write_npy(&mut header)
            .map_err(|e| fail(e.to_string()))?;
        write_atomically(path, |out| -> std::io::Result<()> {
            self.data
                .write_npz(out, &[(HEADER, header)])
                .map_err(std::io::Error::other)
        })
        .map_err(|e| fail(e.to_string()))
    }

    /// The header of a partial result alone (a merge checks every shard's
    /// before it reads any data).
    pub fn read_header(path: &Path) -> Result<PartialHeader, PartialError> {
        Ok(open(path)?.1)
    }

    /// Reads a partial result, refusing anything else in one line naming the file.
    pub fn read(path: &Path) -> Result<Partial, PartialError> {
        let damaged = |reason: String| PartialError::Damaged {
            path: path.to_path_buf(),
            reason,
        };
        let (mut npz, header) = open(path)?;
        let mut data = FeatureFile::default();
        let names: Vec<String> = npz.names().to_vec();
        for name in names.iter().filter(|n| *n != HEADER) {
            let bytes = npz.bytes(name).map_err(&damaged)?;
            if name == "files" {
                data.files = npy::read_unicode_array(&bytes)
                    .map_err(|e| damaged(format!("`files`: {e}")))?;
                continue;
            }
            let array = matrix(&bytes).map_err(|e| {
                let shown = npy::printable(name);
                damaged(match e {
                    MatrixError::Unreadable(reason) => format!("array `{shown}`: {reason}"),
                    MatrixError::Shape(what) => format!("array `{shown}` holds {what}"),
                })
            })?;
            data.arrays.push((name.clone(), array));
        }
        let items = header.end - header.start;
        if let Some((name, array)) = data.arrays.iter().find(|(_, a)| a.nrows() > items) {
            return Err(damaged(format!(
                "array `{}` has {} rows for the {items} items of shard {}",
                npy::printable(name),
                array.nrows(),
                header.shard
            )));
        }
        if header.kind != PartialKind::Score && header.kind != PartialKind::Eval {
            let rows = items.saturating_sub(header.skipped);
            let counts = data.arrays.iter().map(|(_, a)| a.nrows());
            let files = (!data.files.is_empty()).then_some(data.files.len());
            if let Some(wrong) = counts.chain(files).find(|&n| n != rows) {
                return Err(damaged(format!(
                    "it holds {wrong} rows where its {items} items less {} skipped make {rows}",
                    header.skipped
                )));
            }
        }
        Ok(Partial { header, data })
    }
}

/// Opens a partial result and reads its header.
fn open(path: &Path) -> Result<(Npz, PartialHeader), PartialError> {
    let not_partial = |reason: String| PartialError::NotPartial {
        path: path.to_path_buf(),
        reason,
    };
    let damaged = |reason: String| PartialError::Damaged {
        path: path.to_path_buf(),
        reason,
    };
    let mut npz = Npz::open(path).map_err(|e| match e {
        NpzError::Open(source) => PartialError::Open {
            path: path.to_path_buf(),
            source,
        },
        NpzError::NotArchive(reason) => damaged(format!("not a readable .npz: {reason}")),
    })?;
    if !npz.has(HEADER) {
        return Err(not_partial(format!("it has no `{HEADER}` header")));
    }
    let bytes = npz.bytes(HEADER).map_err(&damaged)?;
    let npy_header = NpyHeader::parse(&bytes).map_err(&damaged)?;
    if npy_header.descr != "|u1" || npy_header.shape.len() != 1 {
        return Err(not_partial(format!(
            "its `{HEADER}` array holds {}, not JSON bytes",
            npy_header.describe()
        )));
    }
    let json = Array1::<u8>::read_npy(&bytes[..])
        .map_err(|_| damaged(format!("its `{HEADER}` array cannot be read")))?;
    let value: serde_json::Value = serde_json::from_slice(json.as_slice().unwrap_or(&[]))
        .map_err(|e| not_partial(format!("its header is not JSON ({e})")))?;
    if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(not_partial(format!(
            "its header's format is not `{FORMAT}`"
        )));
    }
    if let Some(found) = value.get("version").and_then(|v| v.as_u64())
        && found != u64::from(VERSION)
    {
        return Err(PartialError::Version {
            path: path.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            tool: value
                .pointer("/provenance/tool version")
                .and_then(|v| v.as_str())
                .unwrap_or("unknown")
                .to_string(),
        });
    }
    let header: PartialHeader = serde_json::from_value(value)
        .map_err(|e| not_partial(format!("its header is incomplete ({e})")))?;
    if header.shard.index >= header.shard.count
        || header.shard.range(header.items) != (header.start..header.end)
    {
        return Err(damaged(format!(
            "its header's shard {} does not cover items {}..{} of {}",
            header.shard, header.start, header.end, header.items
        )));
    }
    Ok((npz, header))
}
