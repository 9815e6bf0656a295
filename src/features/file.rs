//! Feature files: `.npz` with one float32 array per model output (`pool`,
//! `logits`, `logits_unbiased`, N rows each) and `files` (the image paths as
//! numpy fixed-width unicode, so `np.load` reads them without pickles).
//! A plain `.npy` holds the pool features alone.

use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use ndarray_npy::{NpzReader, ReadNpyExt, WriteNpyExt};

use crate::atomic::write_atomically;

#[derive(Debug, thiserror::Error)]
pub enum FeatureFileError {
    #[error("cannot write {path}: {reason}; check that the folder exists and is writable")]
    Write { path: PathBuf, reason: String },
    #[error(
        "cannot read feature file {path}: {reason}; pass a file written by `stackgan-eval extract`"
    )]
    Read { path: PathBuf, reason: String },
    #[error("feature file {path} has no array `{name}` (it has {available}); choose one of those")]
    MissingArray {
        path: PathBuf,
        name: String,
        available: String,
    },
}

/// Features of a set of images, one row per image, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureFile {
    /// (output name, N × D array), in the model's output order.
    pub arrays: Vec<(String, Array2<f32>)>,
    /// Image paths, one per row.
    pub files: Vec<String>,
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
                name: name.to_string(),
                available: self
                    .arrays
                    .iter()
                    .map(|(n, _)| n.as_str())
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
        let is_npy = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        write_atomically(path, |out| -> std::io::Result<()> {
            if is_npy {
                let pool = self.array("pool").or(self.arrays.first().map(|(_, a)| a));
                let pool = pool.ok_or_else(|| std::io::Error::other("no features to write"))?;
                pool.write_npy(out).map_err(std::io::Error::other)
            } else {
                self.write_npz(out).map_err(std::io::Error::other)
            }
        })
        .map_err(|e| fail(e.to_string()))
    }

    fn write_npz<W: Write + Seek>(&self, out: W) -> Result<(), String> {
        let mut zip = zip::ZipWriter::new(out);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        for (name, array) in &self.arrays {
            let mut bytes = Vec::new();
            array.write_npy(&mut bytes).map_err(|e| e.to_string())?;
            zip.start_file(format!("{name}.npy"), options)
                .map_err(|e| e.to_string())?;
            zip.write_all(&bytes).map_err(|e| e.to_string())?;
        }
        zip.start_file("files.npy", options)
            .map_err(|e| e.to_string())?;
        zip.write_all(&unicode_npy(&self.files))
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
        let file = File::open(path).map_err(|e| fail(e.to_string()))?;
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
        {
            let pool = read_float_matrix_npy(BufReader::new(file)).map_err(fail)?;
            return Ok(FeatureFile {
                arrays: vec![("pool".into(), pool)],
                files: Vec::new(),
            });
        }
        let mut npz = NpzReader::new(BufReader::new(file))
            .map_err(|e| fail(format!("not a readable .npz ({e})")))?;
        let mut names = npz.names().map_err(|e| fail(e.to_string()))?;
        names.sort_by_key(|n| output_rank(n));
        let mut features = FeatureFile::default();
        for name in names {
            let key = name.trim_end_matches(".npy").to_string();
            if key == "files" {
                continue;
            }
            let array = match npz.by_name::<ndarray::OwnedRepr<f32>, ndarray::Ix2>(&name) {
                Ok(a) => a,
                Err(_) => npz
                    .by_name::<ndarray::OwnedRepr<f64>, ndarray::Ix2>(&name)
                    .map_err(|e| {
                        fail(format!(
                            "array `{key}` is not a 2-D float32/float64 array ({e})"
                        ))
                    })?
                    .mapv(|v| v as f32),
            };
            features.arrays.push((key, array));
        }
        features.files = read_files_entry(path).map_err(fail)?;
        if let Some((name, bad)) = features
            .arrays
            .iter()
            .find(|(_, a)| a.nrows() != features.len())
        {
            return Err(fail(format!(
                "array `{name}` has {} rows, others {}",
                bad.nrows(),
                features.len()
            )));
        }
        if !features.files.is_empty() && features.files.len() != features.len() {
            return Err(fail(format!(
                "{} file names for {} rows",
                features.files.len(),
                features.len()
            )));
        }
        Ok(features)
    }
}

/// Keeps the usual outputs first and the rest in name order.
fn output_rank(name: &str) -> (usize, String) {
    let key = name.trim_end_matches(".npy");
    let rank = ["pool", "logits", "logits_unbiased"]
        .iter()
        .position(|k| *k == key)
        .unwrap_or(3);
    (rank, key.to_string())
}

fn read_float_matrix_npy<R: Read>(mut reader: R) -> Result<Array2<f32>, String> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    Array2::<f32>::read_npy(&bytes[..])
        .or_else(|_| Array2::<f64>::read_npy(&bytes[..]).map(|a| a.mapv(|v| v as f32)))
        .map_err(|e| format!("not a 2-D float32/float64 .npy ({e})"))
}

/// numpy `<U{n}` array of strings (UTF-32 little-endian, NUL-padded).
fn unicode_npy(strings: &[String]) -> Vec<u8> {
    let width = strings
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(0)
        .max(1);
    let dict = format!(
        "{{'descr': '<U{width}', 'fortran_order': False, 'shape': ({},), }}",
        strings.len()
    );
    let mut header = dict.into_bytes();
    let unpadded = 10 + header.len() + 1;
    header.extend(std::iter::repeat_n(b' ', (64 - unpadded % 64) % 64));
    header.push(b'\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header);
    for s in strings {
        let mut n = 0;
        for c in s.chars() {
            bytes.extend((c as u32).to_le_bytes());
            n += 1;
        }
        bytes.extend(std::iter::repeat_n(0u8, 4 * (width - n)));
    }
    bytes
}

/// The `files` entry of an npz, if present.
fn read_files_entry(path: &Path) -> Result<Vec<String>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| e.to_string())?;
    let Ok(mut entry) = zip.by_name("files.npy") else {
        return Ok(Vec::new());
    };
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    parse_unicode_npy(&bytes).ok_or_else(|| "`files` is not a 1-D numpy unicode array".to_string())
}

fn parse_unicode_npy(bytes: &[u8]) -> Option<Vec<String>> {
    if bytes.get(..6)? != b"\x93NUMPY" {
        return None;
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        _ => (
            u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?) as usize,
            12,
        ),
    };
    let header = std::str::from_utf8(bytes.get(start..start + header_len)?).ok()?;
    let descr = header.split("'descr':").nth(1)?.split('\'').nth(1)?;
    let width: usize = descr.strip_prefix("<U")?.parse().ok()?;
    let shape = header
        .split("'shape':")
        .nth(1)?
        .split('(')
        .nth(1)?
        .split(')')
        .next()?;
    let count: usize = shape.trim().trim_end_matches(',').trim().parse().ok()?;
    let data = bytes.get(start + header_len..start + header_len + count * width * 4)?;
    let strings = data
        .chunks_exact(width * 4)
        .map(|record| {
            record
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .take_while(|&c| c != 0)
                .filter_map(char::from_u32)
                .collect()
        })
        .collect();
    Some(strings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_array_round_trips_through_the_npy_layout() {
        let names = vec![
            "a/ü.png".to_string(),
            "longer/name.jpg".to_string(),
            String::new(),
        ];
        let bytes = unicode_npy(&names);
        assert_eq!(
            (bytes.len() - (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize)) % 4,
            0
        );
        assert_eq!(parse_unicode_npy(&bytes).unwrap(), names);
    }

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
