//! What a path given for one side holds — an image folder, pytorch-fid
//! statistics (`.npz` with `mu`, `sigma`) or a feature file from `extract` —
//! classified once, and checked against what the metrics need from it
//! before any model runs.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::metric::Needs;
use crate::images::{ImageList, image_list};

/// A path and the flag (or config key) it came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Input {
    pub flag: String,
    pub path: PathBuf,
}

impl Input {
    pub fn new(flag: impl Into<String>, path: impl Into<PathBuf>) -> Input {
        Input {
            flag: flag.into(),
            path: path.into(),
        }
    }

    /// `--real cub/`: how messages name this side.
    pub fn label(&self) -> String {
        format!("{} {}", self.flag, self.path.display())
    }
}

/// One side of a comparison, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A folder and the images found in it, listed when classified so that
    /// an empty folder is refused before the other side is read.
    Folder {
        path: PathBuf,
        images: ImageList,
    },
    Stats(PathBuf),
    Features(PathBuf),
}

impl Source {
    /// Classifies `input.path`.
    pub fn classify(input: &Input) -> anyhow::Result<Source> {
        let (path, flag) = (input.path.as_path(), input.flag.as_str());
        if path.is_dir() {
            let images = image_list(path)?;
            return Ok(Source::Folder {
                path: path.to_path_buf(),
                images,
            });
        }
        if !path.exists() {
            bail!(
                "{flag} {}: no such file or folder; pass an image folder, a statistics .npz or a feature file",
                path.display()
            );
        }
        let extension = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match extension.as_deref() {
            Some("npy") => Ok(Source::Features(path.to_path_buf())),
            Some("npz") if holds_statistics(path, flag)? => Ok(Source::Stats(path.to_path_buf())),
            Some("npz") => Ok(Source::Features(path.to_path_buf())),
            _ => bail!(
                "{flag} {}: not a folder, .npz or .npy; pass an image folder, pytorch-fid statistics (.npz with mu, sigma) or a feature file from `stackgan-eval extract`",
                path.display()
            ),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Folder { path: p, .. } | Source::Stats(p) | Source::Features(p) => p,
        }
    }

    /// Refuses a source that cannot yield what `needs` asks (statistics
    /// where feature vectors or logits are needed).
    pub fn check(&self, needs: Needs) -> anyhow::Result<()> {
        if let Source::Stats(path) = self
            && (needs.pool || needs.logits)
        {
            bail!(
                "{} holds only mu/sigma statistics, which FID alone can use; for FID∞ (on the evaluated side), KID, PRDC, IS or IS∞ pass an image folder or a feature file from `stackgan-eval extract`",
                path.display()
            );
        }
        Ok(())
    }
}

/// Whether the `.npz` holds `mu` and `sigma` (statistics) rather than features.
fn holds_statistics(path: &Path, flag: &str) -> anyhow::Result<bool> {
    let file =
        File::open(path).with_context(|| format!("{flag} {}: cannot open", path.display()))?;
    let names = ndarray_npy::NpzReader::new(BufReader::new(file))
        .and_then(|mut npz| npz.names())
        .map_err(|e| {
            anyhow::anyhow!(
                "{flag} {}: not a readable .npz ({e}); it may be truncated — write it again with `stackgan-eval stats` or `extract`",
                path.display()
            )
        })?;
    let has = |key: &str| names.iter().any(|n| n.trim_end_matches(".npy") == key);
    Ok(has("mu") && has("sigma"))
}
