//! Text embeddings: `[images, captions, dim]` (the char-CNN-RNN layout of the
//! StackGAN data sets, converted by `models/convert_embeddings.py`) or
//! `[N, dim]` (one caption per image), checked before any work starts.

use std::path::{Path, PathBuf};

use ndarray::{Array3, ArrayView1, Ix3};

use super::GenerateError;
use crate::npy::{self, shape_text};

/// Embeddings of every caption of every image, as float32.
#[derive(Debug, Clone)]
pub struct Embeddings {
    path: PathBuf,
    data: Array3<f32>,
}

impl Embeddings {
    /// Reads a `.npy` of float32 or float64, rank 2 or 3, checks its last
    /// axis is `dim` and that every value is finite.
    pub fn read(path: &Path, dim: usize) -> Result<Embeddings, GenerateError> {
        let fail = |reason: String| GenerateError::Embeddings {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path)
            .map_err(|e| fail(format!("cannot open it ({e}); check the path")))?;
        let (array, header) = npy::read_f32(&bytes).map_err(|e| {
            fail(format!(
                "{e}; convert the embeddings with models/convert_embeddings.py (float32, [images, captions, {dim}])"
            ))
        })?;
        let shape = shape_text(&header.shape);
        let data = match header.shape.as_slice() {
            [n, d] => array
                .into_shape_with_order((*n, 1, *d))
                .map_err(|e| fail(e.to_string()))?,
            [_, _, _] => array
                .into_dimensionality::<Ix3>()
                .map_err(|e| fail(e.to_string()))?,
            _ => {
                return Err(fail(format!(
                    "it holds {}; expected [images, captions, {dim}] or [N, {dim}]",
                    header.describe()
                )));
            }
        };
        let (images, captions, width) = data.dim();
        if width != dim {
            return Err(fail(format!(
                "embeddings are {width}-d (shape {shape}) but the model takes {dim}-d text embeddings; use the embeddings the model was trained with"
            )));
        }
        if images == 0 || captions == 0 {
            return Err(fail(format!(
                "shape {shape} holds no embedding; pass a file with at least one"
            )));
        }
        if let Some(((image, caption, _), value)) =
            data.indexed_iter().find(|(_, v)| !v.is_finite())
        {
            return Err(fail(format!(
                "value {value} at image {image}, caption {caption} is not finite; regenerate the embeddings"
            )));
        }
        Ok(Embeddings {
            path: path.to_path_buf(),
            data,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn images(&self) -> usize {
        self.data.dim().0
    }

    pub fn captions(&self) -> usize {
        self.data.dim().1
    }

    /// The embedding of one caption of one image.
    pub fn get(&self, image: usize, caption: usize) -> ArrayView1<'_, f32> {
        self.data.slice(ndarray::s![image, caption, ..])
    }
}
