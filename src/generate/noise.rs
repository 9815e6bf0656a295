//! The generator's inputs for a batch of samples: seeded noise that depends
//! only on the seed and the sample (never on the batch size or the thread
//! count), or exact arrays from a noise file.
//!
//! Seeded draws are numpy's legacy generator seeded with a key array, so a
//! Python user can reproduce any sample's noise exactly:
//!
//! ```text
//! z   = np.random.RandomState([seed, 0, image, caption, draw]).standard_normal(z_dim).astype(np.float32)
//! z   = np.random.RandomState([seed, 0, image, draw]).standard_normal(z_dim)            # z shared by an image's captions
//! eps = np.random.RandomState([seed, 1 + j, image, caption, draw]).standard_normal(dim) # j-th eps input (eps1: j = 0)
//! ```
//!
//! An unconditional model's sample `i` is image `i`, caption 0, draw 0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayViewMut1, Axis, Ix2};
use rayon::prelude::*;

use super::GenerateError;
use super::embeddings::Embeddings;
use super::plan::Sample;
use crate::models::{GeneratorInputKind, GeneratorManifest};
use crate::npy::{self, Npz, shape_text};
use crate::rng::NumpyRandomState;

/// Key tag of the `z` stream; `eps` inputs use `1 + j`.
const Z_TAG: u32 = 0;

/// `` `a`, `b` `` for messages.
fn quoted<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names
        .map(|n| format!("`{}`", npy::printable(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where the noise comes from.
#[derive(Debug, Clone)]
pub enum NoiseSource {
    /// Drawn from the seed as the module documentation says.
    Seeded { seed: u32, z_per_image: bool },
    /// Rows of a noise file, one per sample, by input name.
    File(NoiseFile),
}

/// A `.npz` holding one `[N, dim]` array per generator input, by input name.
#[derive(Debug, Clone)]
pub struct NoiseFile {
    pub path: PathBuf,
    arrays: BTreeMap<String, Array2<f32>>,
    rows: usize,
}

impl NoiseFile {
    /// Reads the arrays the model's inputs name and checks their shapes and values.
    pub fn read(path: &Path, manifest: &GeneratorManifest) -> Result<NoiseFile, GenerateError> {
        let fail = |reason: String| GenerateError::NoiseFile {
            path: path.to_path_buf(),
            reason,
        };
        let mut npz = Npz::open(path).map_err(|e| fail(e.to_string()))?;
        let missing: Vec<&str> = manifest
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .filter(|name| !npz.has(name))
            .collect();
        if !missing.is_empty() {
            return Err(fail(format!(
                "it lacks {}; the model's inputs are {} (each [N, dim])",
                quoted(missing.iter().copied()),
                quoted(manifest.inputs.iter().map(|i| i.name.as_str()))
            )));
        }
        let mut arrays = BTreeMap::new();
        let mut rows = None;
        for input in &manifest.inputs {
            let name = input.name.as_str();
            let shown = npy::printable(name);
            let not_matrix = |what: String| {
                fail(format!(
                    "`{shown}`: {what}; store it as a float32 [N, {}] array",
                    input.width()
                ))
            };
            let bytes = npz.bytes(name).map_err(fail)?;
            let (array, header) = npy::read_f32(&bytes).map_err(|e| not_matrix(e.to_string()))?;
            let array = array
                .into_dimensionality::<Ix2>()
                .map_err(|_| not_matrix(format!("it holds {}", header.describe())))?;
            if array.ncols() != input.width() {
                return Err(fail(format!(
                    "`{shown}` has shape {}; the model takes [N, {}]",
                    shape_text(array.shape()),
                    input.width()
                )));
            }
            match rows {
                None => rows = Some(array.nrows()),
                Some(n) if n != array.nrows() => {
                    return Err(fail(format!(
                        "`{shown}` has {} rows and another input {n}; every input needs one row per sample",
                        array.nrows()
                    )));
                }
                Some(_) => {}
            }
            if let Some(((row, column), value)) = array.indexed_iter().find(|(_, v)| !v.is_finite())
            {
                return Err(fail(format!(
                    "`{shown}`[{row}, {column}] = {value} is not finite; write the noise again with finite values"
                )));
            }
            arrays.insert(name.to_string(), array);
        }
        let rows = rows.unwrap_or(0);
        if rows == 0 {
            return Err(fail(
                "it holds no rows; give one row per sample for every input".into(),
            ));
        }
        Ok(NoiseFile {
            path: path.to_path_buf(),
            arrays,
            rows,
        })
    }

    /// Samples in the file.
    pub fn rows(&self) -> usize {
        self.rows
    }
}

/// One generator input and where its values come from.
#[derive(Debug, Clone)]
struct InputSlot {
    name: String,
    kind: GeneratorInputKind,
    width: usize,
    /// The key tag of a noise input.
    tag: u32,
}

/// Builds the generator's input arrays for any batch of samples.
pub struct InputFeed {
    slots: Vec<InputSlot>,
    embeddings: Option<Embeddings>,
    noise: NoiseSource,
}

impl InputFeed {
    /// `embeddings` must be given for a conditional model fed seeded noise.
    pub fn new(
        manifest: &GeneratorManifest,
        embeddings: Option<Embeddings>,
        noise: NoiseSource,
    ) -> Self {
        let mut eps_seen = 0;
        let slots = manifest
            .inputs
            .iter()
            .map(|input| {
                let tag = match input.kind {
                    GeneratorInputKind::NoiseZ => Z_TAG,
                    GeneratorInputKind::NoiseEps => {
                        eps_seen += 1;
                        eps_seen
                    }
                    GeneratorInputKind::TextEmbedding => u32::MAX,
                };
                InputSlot {
                    name: input.name.clone(),
                    kind: input.kind,
                    width: input.width(),
                    tag,
                }
            })
            .collect();
        InputFeed {
            slots,
            embeddings,
            noise,
        }
    }

    /// The input arrays (name, `[samples, dim]`) for `samples`, in manifest order.
    pub fn batch(&self, samples: &[Sample]) -> Vec<(String, Array2<f32>)> {
        self.slots
            .iter()
            .map(|slot| {
                let mut array = Array2::<f32>::zeros((samples.len(), slot.width));
                array
                    .axis_iter_mut(Axis(0))
                    .into_par_iter()
                    .zip(samples.par_iter())
                    .for_each(|(row, sample)| self.fill(slot, sample, row));
                (slot.name.clone(), array)
            })
            .collect()
    }

    fn fill(&self, slot: &InputSlot, sample: &Sample, mut row: ArrayViewMut1<f32>) {
        match &self.noise {
            NoiseSource::File(file) => row.assign(&file.arrays[&slot.name].row(sample.id)),
            NoiseSource::Seeded { seed, z_per_image } => {
                if slot.kind == GeneratorInputKind::TextEmbedding {
                    let embeddings = self.embeddings.as_ref().expect("checked by the caller");
                    row.assign(&embeddings.get(sample.image, sample.caption));
                    return;
                }
                let key = noise_key(
                    *seed,
                    slot.tag,
                    sample,
                    slot.kind == GeneratorInputKind::NoiseZ && *z_per_image,
                );
                let mut rng = NumpyRandomState::from_key(&key);
                rng.fill_standard_normal(
                    row.as_slice_mut().expect("rows of a standard-layout array"),
                );
            }
        }
    }
}

/// The key of one sample's draw for one input (see the module documentation).
pub fn noise_key(seed: u32, tag: u32, sample: &Sample, shared_by_captions: bool) -> Vec<u32> {
    let (image, caption, draw) = (
        sample.image as u32,
        sample.caption as u32,
        sample.draw as u32,
    );
    if shared_by_captions {
        vec![seed, tag, image, draw]
    } else {
        vec![seed, tag, image, caption, draw]
    }
}
