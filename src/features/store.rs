//! Feature rows kept for the metrics that need every vector (KID, PRDC) or
//! every logit row (IS), collected batch by batch. A 2048-d pool feature is
//! 8 KiB an image: 800 MB at 100k images, per side. Below a threshold the
//! rows stay in memory; past it they go to an anonymous temporary file
//! (deleted by the OS when closed, whatever happens), which is then mapped,
//! so the metrics read one `ArrayView2` either way and the kernel, not the
//! heap, holds the pages — clean file pages it can drop and read again.
//! The numbers do not depend on where the rows lie.

use std::fs::File;
use std::io::{BufWriter, Write};

use memmap2::Mmap;
use ndarray::{Array2, ArrayView2};

/// Bytes of rows a store keeps in memory before it spills to a file
/// (`STACKGAN_EVAL_SPILL_MB` overrides it; 0 spills every store).
pub const SPILL_BYTES: usize = 128 << 20;

/// The spill threshold in force: `STACKGAN_EVAL_SPILL_MB`, else [`SPILL_BYTES`].
pub fn spill_bytes() -> usize {
    std::env::var("STACKGAN_EVAL_SPILL_MB")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .map_or(SPILL_BYTES, |mb| mb.saturating_mul(1 << 20))
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "feature rows of {got} columns after rows of {expected}; the model's outputs changed width"
    )]
    Columns { expected: usize, got: usize },
    #[error(
        "cannot spill features to a temporary file ({0}); free space in the temporary folder or point TMPDIR at a larger one"
    )]
    Spill(std::io::Error),
}

/// Rows collected in order, in memory or spilled to a file.
pub struct FeatureStore {
    columns: Option<usize>,
    rows: usize,
    memory: Vec<f32>,
    spill: Option<BufWriter<File>>,
    limit: usize,
}

impl Default for FeatureStore {
    fn default() -> Self {
        FeatureStore::with_limit(spill_bytes())
    }
}

impl FeatureStore {
    /// A store that spills past `limit` bytes of rows.
    pub fn with_limit(limit: usize) -> FeatureStore {
        FeatureStore {
            columns: None,
            rows: 0,
            memory: Vec::new(),
            spill: None,
            limit,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends `batch`'s rows.
    pub fn push(&mut self, batch: ArrayView2<f32>) -> Result<(), StoreError> {
        let columns = *self.columns.get_or_insert(batch.ncols());
        if batch.ncols() != columns {
            return Err(StoreError::Columns {
                expected: columns,
                got: batch.ncols(),
            });
        }
        let standard = batch.as_standard_layout();
        let values = standard.as_slice().unwrap_or_default();
        let bytes = (self.memory.len() + values.len()) * size_of::<f32>();
        if self.spill.is_none() && bytes > self.limit {
            let mut file = BufWriter::new(tempfile::tempfile().map_err(StoreError::Spill)?);
            file.write_all(bytemuck::cast_slice(&self.memory))
                .map_err(StoreError::Spill)?;
            self.memory = Vec::new();
            self.spill = Some(file);
        }
        match &mut self.spill {
            Some(file) => file
                .write_all(bytemuck::cast_slice(values))
                .map_err(StoreError::Spill)?,
            None => self.memory.extend_from_slice(values),
        }
        self.rows += batch.nrows();
        Ok(())
    }

    /// The rows, `None` when none were pushed.
    pub fn finish(self) -> Result<Option<Features>, StoreError> {
        let Some(columns) = self.columns else {
            return Ok(None);
        };
        let rows = self.rows;
        let Some(file) = self.spill else {
            let array = Array2::from_shape_vec((rows, columns), self.memory)
                .map_err(|e| StoreError::Spill(std::io::Error::other(e)))?;
            return Ok(Some(Features::Memory(array)));
        };
        let file = file
            .into_inner()
            .map_err(|e| StoreError::Spill(e.into_error()))?;
        // SAFETY: the file is an unnamed temporary file only this store can
        // reach; nothing writes to it while it is mapped.
        let map = unsafe { Mmap::map(&file) }.map_err(StoreError::Spill)?;
        let mapped = Features::Mapped { map, rows, columns };
        if mapped.try_view().is_none() {
            return Err(StoreError::Spill(std::io::Error::other(format!(
                "the spilled file does not hold {rows} rows of {columns} floats"
            ))));
        }
        Ok(Some(mapped))
    }
}

/// Finished rows: an array, or a mapped spill file.
pub enum Features {
    Memory(Array2<f32>),
    Mapped {
        map: Mmap,
        rows: usize,
        columns: usize,
    },
}

impl Features {
    /// The rows as a matrix.
    pub fn view(&self) -> ArrayView2<'_, f32> {
        self.try_view()
            .expect("a mapped spill's size is checked when it is mapped")
    }

    fn try_view(&self) -> Option<ArrayView2<'_, f32>> {
        match self {
            Features::Memory(array) => Some(array.view()),
            Features::Mapped { map, rows, columns } => {
                let values: &[f32] = bytemuck::try_cast_slice(&map[..]).ok()?;
                ArrayView2::from_shape((*rows, *columns), values).ok()
            }
        }
    }

    pub fn nrows(&self) -> usize {
        self.view().nrows()
    }

    pub fn ncols(&self) -> usize {
        self.view().ncols()
    }

    /// Whether the rows lie in a spill file.
    pub fn is_mapped(&self) -> bool {
        matches!(self, Features::Mapped { .. })
    }

    /// The rows as an owned array (a copy when mapped).
    pub fn into_owned(self) -> Array2<f32> {
        match self {
            Features::Memory(array) => array,
            mapped => mapped.view().to_owned(),
        }
    }
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, columns) = self.view().dim();
        let place = if self.is_mapped() { "mapped" } else { "memory" };
        write!(f, "Features({rows}×{columns}, {place})")
    }
}

impl Clone for Features {
    /// A copy in memory (a side is cloned only when an ablation keeps its reference).
    fn clone(&self) -> Self {
        Features::Memory(self.view().to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Axis, concatenate};

    fn batches() -> Vec<Array2<f32>> {
        (0..5)
            .map(|b| {
                Array2::from_shape_fn((3 + b, 7), |(i, j)| (b * 100 + i * 7 + j) as f32 * 0.37)
            })
            .collect()
    }

    #[test]
    fn spilled_rows_read_back_as_kept_ones() {
        let parts = batches();
        let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
        let whole = concatenate(Axis(0), &views).unwrap();
        for limit in [0, 200, usize::MAX] {
            let mut store = FeatureStore::with_limit(limit);
            for part in &parts {
                store.push(part.view()).unwrap();
            }
            let features = store.finish().unwrap().unwrap();
            assert_eq!(features.is_mapped(), limit != usize::MAX, "limit {limit}");
            assert_eq!(features.view(), whole.view(), "limit {limit}");
            assert_eq!(features.clone().into_owned(), whole, "limit {limit}");
        }
        // A transposed (non-standard) batch is stored in row order.
        let mut store = FeatureStore::with_limit(0);
        store.push(whole.t()).unwrap();
        assert_eq!(store.finish().unwrap().unwrap().view(), whole.t());
    }

    #[test]
    fn a_width_change_is_refused_and_an_empty_store_has_no_rows() {
        let mut store = FeatureStore::with_limit(0);
        store.push(Array2::zeros((2, 3)).view()).unwrap();
        let err = store.push(Array2::zeros((2, 4)).view()).unwrap_err();
        assert!(
            err.to_string().contains("4 columns after rows of 3"),
            "{err}"
        );
        assert!(FeatureStore::with_limit(0).finish().unwrap().is_none());
    }
}
