//! Feature files: `.npz` with one float32 array per model output (`pool`,
//! `logits`, `logits_unbiased`, N rows each) and `files` (the image paths as
//! numpy fixed-width unicode, so `np.load` reads them without pickles; bytes
//! of a name that are not UTF-8 are kept as Python's `surrogateescape` does,
//! so `os.fsencode` gives the name back). A plain `.npy` holds the pool
//! features alone.

use std::io::{Seek, Write};
use std::path::{Path, PathBuf};

use ndarray::{Array2, Ix2};
use ndarray_npy::WriteNpyExt;

use crate::atomic::write_atomically;
use crate::npy::{self, Npz};

#[derive(Debug, thiserror::Error)]
pub enum FeatureFileError {
    #[error("cannot write {path}: {reason}; check that the folder exists and is writable")]
    Write { path: PathBuf, reason: String },
    #[error(
        "cannot read feature file {path}: {reason}; pass a file written by `stackgan-eval extract`"
    )]
    Read { path: PathBuf, reason: String },
    #[error(
        "feature file {path}: {reason}; a feature file holds 2-D float arrays, one row per image (pool features (N, D) in a .npy)"
    )]
    Shape { path: PathBuf, reason: String },
    #[error("feature file {path} has no array `{name}` (it has {available}); choose one of those")]
    MissingArray {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error(
        "{path} holds `{present}` but no `{missing}`: pytorch-fid statistics need both `mu` (D,) and `sigma` (D, D); write the file again with `stackgan-eval stats` (or numpy.savez(path, mu=mu, sigma=sigma))"
    )]
    HalfStatistics {
        path: PathBuf,
        present: &'static str,
        missing: &'static str,
    },
    #[error(
        "{path} holds pytorch-fid statistics (`mu`, `sigma`), not features; use it where statistics are taken (FID's --real/--fake), or pass a feature file from `stackgan-eval extract`"
    )]
    Statistics { path: PathBuf },
}

/// Features of a set of images, one row per image, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureFile {
    /// (output name, N × D array), in the model's output order.
    pub arrays: Vec<(String, Array2<f32>)>,
    /// Image paths, one per row.
    pub files: Vec<PathBuf>,
}

impl FeatureFile {
    /// The array named `name`.
    pub fn array(&self, name: &str) -> Option<&Array2<f32>> {
        self.arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Like [`FeatureFile::array`], with an error naming the file and what it holds.
    pub fn require(&self, path: &Path, name: &str) -> Result<&Array2<f32>, FeatureFileError> {
        self.array(name)
            .ok_or_else(|| FeatureFileError::MissingArray {
                path: path.to_path_buf(),
                name: npy::printable(name),
                available: self
                    .arrays
                    .iter()
                    .map(|(n, _)| npy::printable(n))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// Number of rows (images).
    pub fn len(&self) -> usize {
        self.arrays
            .first()
            .map_or(self.files.len(), |(_, a)| a.nrows())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `.npz` (everything) or `.npy` (the `pool` array), atomically.
    pub fn write(&self, path: &Path) -> Result<(), FeatureFileError> {
        let fail = |reason: String| FeatureFileError::Write {
            path: path.to_path_buf(),
            reason,
        };
        write_atomically(path, |out| -> std::io::Result<()> {
            if is_npy(path) {
                let pool = self.array("pool").or(self.arrays.first().map(|(_, a)| a));
                let pool = pool.ok_or_else(|| std::io::Error::other("no features to write"))?;
                pool.write_npy(out).map_err(std::io::Error::other)
            } else {
                self.write_npz(out, &[]).map_err(std::io::Error::other)
            }
        })
        .map_err(|e| fail(e.to_string()))
    }

    /// Writes the `.npz` to `out`, with `leading` (name, whole `.npy`)
    /// entries before the arrays (a partial result's header).
    pub(crate) fn write_npz<W: Write + Seek>(
        &self,
        out: W,
        leading: &[(&str, Vec<u8>)],
    ) -> Result<(), String> {
        let mut zip = zip::ZipWriter::new(out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        for (name, bytes) in leading {
            zip.start_file(format!("{name}.npy"), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(bytes).map_err(|e| e.to_string())?;
        }
        for (name, array) in &self.arrays {
            let mut bytes = Vec::new();
            array.write_npy(&mut bytes).map_err(|e| e.to_string())?;
            zip.start_file(format!("{name}.npy"), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        zip.start_file("files.npy", options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&npy::unicode_array(&self.files))
            .map_err(|e| e.to_string())?;
        zip.finish().map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Reads a `.npz` written by `extract` (or any npz of 2-D float arrays),
    /// or a `.npy` of pool features.
    pub fn read(path: &Path) -> Result<FeatureFile, FeatureFileError> {
        let fail = |reason: String| FeatureFileError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let shape_error = |reason: String| FeatureFileError::Shape {
            path: path.to_path_buf(),
            reason,
        };
        if is_npy(path) {
            let bytes = std::fs::read(path)
                .map_err(|e| fail(format!("cannot open it ({e}); check the path")))?;
            let pool = matrix(&bytes).map_err(|e| match e {
                MatrixError::Unreadable(reason) => fail(reason),
                MatrixError::Shape(what) => shape_error(format!("it holds {what}")),
            })?;
            return Ok(FeatureFile {
                arrays: vec![("pool".into(), pool)],
                files: Vec::new(),
            });
        }
        let mut npz = Npz::open(path).map_err(|e| fail(e.to_string()))?;
        if !npz.has("pool") {
            match (npz.has("mu"), npz.has("sigma")) {
                (true, true) => {
                    return Err(FeatureFileError::Statistics {
                        path: path.to_path_buf(),
                    });
                }
                (true, false) => return Err(half_statistics(path, "mu", "sigma")),
                (false, true) => return Err(half_statistics(path, "sigma", "mu")),
                (false, false) => {}
            }
        }
        let mut names: Vec<String> = npz.names().to_vec();
        names.sort_by_key(|n| output_rank(n));
        let mut features = FeatureFile::default();
        for name in names {
            let bytes = npz.bytes(&name).map_err(fail)?;
            if name == "files" {
                features.files =
                    npy::read_unicode_array(&bytes).map_err(|e| fail(format!("`files`: {e}")))?;
                continue;
            }
            let shown = npy::printable(&name);
            let array = matrix(&bytes).map_err(|e| match e {
                MatrixError::Unreadable(reason) => fail(format!("array `{shown}`: {reason}")),
                MatrixError::Shape(what) => shape_error(format!("array `{shown}` holds {what}")),
            })?;
            features.arrays.push((name, array));
        }
        if let Some((name, bad)) = features
            .arrays
            .iter()
            .find(|(_, a)| a.nrows() != features.len())
        {
            return Err(shape_error(format!(
                "array `{}` has {} rows, others {}",
                npy::printable(name),
                bad.nrows(),
                features.len()
            )));
        }
        if !features.files.is_empty() && features.files.len() != features.len() {
            return Err(shape_error(format!(
                "{} file names for {} rows",
                features.files.len(),
                features.len()
            )));
        }
        Ok(features)
    }
}

fn half_statistics(path: &Path, present: &'static str, missing: &'static str) -> FeatureFileError {
    FeatureFileError::HalfStatistics {
        path: path.to_path_buf(),
        present,
        missing,
    }
}

fn is_npy(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
}

/// Keeps the usual outputs first and the rest in name order.
fn output_rank(name: &str) -> (usize, String) {
    let rank = ["pool", "logits", "logits_unbiased"]
        .iter()
        .position(|k| *k == name)
        .unwrap_or(3);
    (rank, name.to_string())
}

pub(crate) enum MatrixError {
    /// Not a readable `.npy`.
    Unreadable(String),
    /// A readable array of the wrong dtype or rank: what it is.
    Shape(String),
}

/// A 2-D float32/float64 `.npy` as float32.
pub(crate) fn matrix(bytes: &[u8]) -> Result<Array2<f32>, MatrixError> {
    let (array, header) = npy::read_f32(bytes).map_err(|e| match e {
        npy::FloatArrayError::NotFloat(header) => MatrixError::Shape(header.describe()),
        other => MatrixError::Unreadable(other.to_string()),
    })?;
    array
        .into_dimensionality::<Ix2>()
        .map_err(|_| MatrixError::Shape(header.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_file_round_trips_and_keeps_output_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.npz");
        let features = FeatureFile {
            arrays: vec![
                (
                    "pool".into(),
                    Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 / 7.0),
                ),
                (
                    "logits".into(),
                    Array2::from_shape_fn((3, 2), |(i, j)| i as f32 - j as f32),
                ),
            ],
            files: vec!["x.png".into(), "y.png".into(), "z.png".into()],
        };
        features.write(&path).unwrap();
        assert_eq!(FeatureFile::read(&path).unwrap(), features);
    }
}
