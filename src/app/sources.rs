//! What a path on the command line holds: an image folder, pytorch-fid
//! statistics (`.npz` with `mu`, `sigma`) or a feature file from `extract`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Folder(PathBuf),
    Stats(PathBuf),
    Features(PathBuf),
}

impl Source {
    /// Classifies `path`; `flag` names the option it came from, for messages.
    pub fn classify(path: &Path, flag: &str) -> anyhow::Result<Source> {
        if path.is_dir() {
            return Ok(Source::Folder(path.to_path_buf()));
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
            Some("npz") => {
                let file = File::open(path)
                    .with_context(|| format!("{flag} {}: cannot open", path.display()))?;
                let names = ndarray_npy::NpzReader::new(BufReader::new(file))
                    .and_then(|mut npz| npz.names())
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "{flag} {}: not a readable .npz ({e}); it may be truncated — write it again with `stackgan-eval stats` or `extract`",
                            path.display()
                        )
                    })?;
                let has = |key: &str| names.iter().any(|n| n.trim_end_matches(".npy") == key);
                if has("mu") && has("sigma") {
                    Ok(Source::Stats(path.to_path_buf()))
                } else {
                    Ok(Source::Features(path.to_path_buf()))
                }
            }
            _ => bail!(
                "{flag} {}: not a folder, .npz or .npy; pass an image folder, pytorch-fid statistics (.npz with mu, sigma) or a feature file from `stackgan-eval extract`",
                path.display()
            ),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Folder(p) | Source::Stats(p) | Source::Features(p) => p,
        }
    }
}
