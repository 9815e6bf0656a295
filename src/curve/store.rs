//! A curve's output folder as the record of what is done: one row file per
//! scored checkpoint (`rows/<checkpoint stem>.json`: the checkpoint, its
//! SHA-256, the settings and the `eval` report) and the ONNX files
//! converted from PyTorch checkpoints (`converted/`), reused while the
//! checkpoint and `--kind` stay the same. Every file is written whole or not
//! at all, so an interrupted run leaves no half-row.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::CurveError;
use super::checkpoints::Checkpoint;
use super::settings::Settings;
use crate::atomic::write_bytes_atomically;
use crate::convert::StackganKind;
use crate::models::manifest_path;
use crate::scoring::EvalReport;

/// The folder of row files.
pub const ROWS: &str = "rows";
/// The folder of converted checkpoints.
pub const CONVERTED: &str = "converted";

/// One checkpoint's result: what `eval` reported for it, and what it was.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurveRow {
    pub iteration: u64,
    /// The checkpoint file, as found.
    pub checkpoint: String,
    pub checkpoint_sha256: String,
    /// The ONNX generator converted from a PyTorch checkpoint, if it was one.
    pub converted: Option<String>,
    pub settings: Settings,
    pub report: EvalReport,
}

/// A curve's output folder.
#[derive(Debug, Clone)]
pub struct CurveStore {
    root: PathBuf,
}

impl CurveStore {
    /// The store in `root`; its folders are made when first written to, so
    /// a refused run leaves nothing behind.
    pub fn open(root: &Path) -> CurveStore {
        CurveStore {
            root: root.to_path_buf(),
        }
    }

    /// Makes `dir` (a folder of the store) if it is missing.
    fn make(dir: &Path) -> Result<(), CurveError> {
        std::fs::create_dir_all(dir).map_err(|e| CurveError::Write {
            path: dir.to_path_buf(),
            reason: e.to_string(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where a checkpoint's row is kept.
    pub fn row_path(&self, checkpoint: &Checkpoint) -> PathBuf {
        self.root
            .join(ROWS)
            .join(format!("{}.json", checkpoint.stem()))
    }

    /// The row kept for a checkpoint, if any.
    pub fn read_row(&self, checkpoint: &Checkpoint) -> Result<Option<CurveRow>, CurveError> {
        let path = self.row_path(checkpoint);
        let bad = |reason: String| CurveError::BadRow {
            path: path.clone(),
            reason,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(bad(e.to_string())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| bad(e.to_string()))
    }

    /// Keeps a checkpoint's row.
    pub fn write_row(&self, checkpoint: &Checkpoint, row: &CurveRow) -> Result<(), CurveError> {
        let path = self.row_path(checkpoint);
        let unwritable = |reason: String| CurveError::Write {
            path: path.clone(),
            reason,
        };
        Self::make(&self.root.join(ROWS))?;
        let mut text = serde_json::to_string_pretty(row).map_err(|e| unwritable(e.to_string()))?;
        text.push('\n');
        write_bytes_atomically(&path, text.as_bytes()).map_err(|e| unwritable(e.to_string()))
    }

    /// Where the ONNX conversion of a PyTorch checkpoint with this content
    /// (`sha256`) and `kind` goes (its folder made): a changed file or kind
    /// gets a new name.
    pub fn converted_path(
        &self,
        checkpoint: &Checkpoint,
        sha256: &str,
        kind: StackganKind,
    ) -> Result<PathBuf, CurveError> {
        let dir = self.root.join(CONVERTED);
        Self::make(&dir)?;
        let digest = &sha256[..sha256.len().min(12)];
        Ok(dir.join(format!("{}-{kind}-{digest}.onnx", checkpoint.stem())))
    }

    /// Whether a conversion is complete: its manifest is written last.
    pub fn is_converted(onnx: &Path) -> bool {
        onnx.is_file() && manifest_path(onnx).is_file()
    }
}
