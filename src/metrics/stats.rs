//! FID statistics (mean and covariance of features), pytorch-fid's `.npz` format,
//! and their exact, mergeable, batch-size independent accumulation in float64.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::atomic::write_atomically;
use ndarray::linalg::general_mat_mul;
use ndarray::{Array0, Array1, Array2, ArrayD, ArrayView2, Axis, Ix1, Ix2};
use ndarray_npy::{NpzReader, NpzWriter};

/// Rows are folded into the running statistics in blocks of this many, whatever
/// the caller's batch size, so the result never depends on how rows were batched.
pub const BLOCK_ROWS: usize = 256;

/// Mean and unbiased covariance (N − 1) of features, float64 — pytorch-fid's `mu`/`sigma`.
#[derive(Clone, Debug)]
pub struct FidStats {
    /// Feature mean, shape (D,).
    pub mu: Array1<f64>,
    /// Feature covariance divided by N − 1, shape (D, D).
    pub sigma: Array2<f64>,
    /// Number of feature vectors behind the statistics, when known.
    pub count: Option<u64>,
}

/// Errors reading, writing or accumulating statistics.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    #[error("cannot open statistics file {path}: {source}; check the path")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a readable .npz archive ({reason}); recreate it with `stackgan-eval stats` or numpy.savez"
    )]
    NotNpz { path: PathBuf, reason: String },
    #[error(
        "{path} has no array `{key}`; a pytorch-fid statistics file holds `mu` (D,) and `sigma` (D,D)"
    )]
    MissingKey { path: PathBuf, key: &'static str },
    #[error(
        "{path}: array `{key}` cannot be read as float64 or float32 ({reason}); save it as a float array"
    )]
    BadArray {
        path: PathBuf,
        key: &'static str,
        reason: String,
    },
    #[error("{path}: {detail}; a pytorch-fid statistics file holds `mu` (D,) and `sigma` (D,D)")]
    Shape { path: PathBuf, detail: String },
    #[error(
        "{path}: array `{key}` contains NaN or infinity; recompute the statistics from finite features"
    )]
    NonFinite { path: PathBuf, key: &'static str },
    #[error(
        "cannot write statistics file {path}: {reason}; check the folder exists and is writable"
    )]
    Write { path: PathBuf, reason: String },
    #[error(
        "feature batch has {got} columns but the statistics have {expected}; use features of the same extractor layer"
    )]
    Dimension { expected: usize, got: usize },
    #[error("feature batch contains NaN or infinity; check the extractor output")]
    NonFiniteFeatures,
    #[error("FID statistics need at least 2 feature vectors, got {count}; add images")]
    TooFewSamples { count: u64 },
}

impl FidStats {
    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        self.mu.len()
    }

    /// Reads a pytorch-fid `.npz` (plain or compressed): `mu`, `sigma` as float32 or
    /// float64, and an optional integer `count`.
    pub fn read_npz(path: &Path) -> Result<FidStats, StatsError> {
        let file = File::open(path).map_err(|source| StatsError::Open {
            path: path.into(),
            source,
        })?;
        let not_npz = |e: &dyn std::fmt::Display| StatsError::NotNpz {
            path: path.into(),
            reason: e.to_string(),
        };
        let mut npz = NpzReader::new(BufReader::new(file)).map_err(|e| not_npz(&e))?;
        let names = npz.names().map_err(|e| not_npz(&e))?;
        let mu = read_float(&mut npz, &names, path, "mu")?;
        let sigma = read_float(&mut npz, &names, path, "sigma")?;
        let count = if names.iter().any(|n| n == "count") {
            read_count(&mut npz, path)?
        } else {
            None
        };
        let shape_err = |detail: String| StatsError::Shape {
            path: path.into(),
            detail,
        };
        let mu = mu
            .into_dimensionality::<Ix1>()
            .map_err(|_| shape_err("`mu` is not one-dimensional".into()))?;
        let sigma = sigma
            .into_dimensionality::<Ix2>()
            .map_err(|_| shape_err("`sigma` is not two-dimensional".into()))?;
        if sigma.dim() != (mu.len(), mu.len()) {
            return Err(shape_err(format!(
                "`mu` has shape ({},) but `sigma` has {:?}",
                mu.len(),
                sigma.dim()
            )));
        }
        if !mu.iter().all(|v| v.is_finite()) {
            return Err(StatsError::NonFinite {
                path: path.into(),
                key: "mu",
            });
        }
        if !sigma.iter().all(|v| v.is_finite()) {
            return Err(StatsError::NonFinite {
                path: path.into(),
                key: "sigma",
            });
        }
        Ok(FidStats { mu, sigma, count })
    }

    /// Writes `mu`, `sigma` (float64) and `count` (int64, when known) as a plain `.npz`
    /// that pytorch-fid reads, atomically (no half-written file under `path`).
    pub fn write_npz(&self, path: &Path) -> Result<(), StatsError> {
        write_atomically(path, |out| -> std::io::Result<()> {
            let mut npz = NpzWriter::new(out);
            npz.add_array("mu", &self.mu)
                .map_err(std::io::Error::other)?;
            npz.add_array("sigma", &self.sigma)
                .map_err(std::io::Error::other)?;
            if let Some(count) = self.count {
                npz.add_array("count", &Array0::from_elem((), count as i64))
                    .map_err(std::io::Error::other)?;
            }
            npz.finish().map_err(std::io::Error::other)?;
            Ok(())
        })
        .map_err(|e| StatsError::Write {
            path: path.into(),
            reason: e.to_string(),
        })
    }
}

fn read_float(
    npz: &mut NpzReader<BufReader<File>>,
    names: &[String],
    path: &Path,
    key: &'static str,
) -> Result<ArrayD<f64>, StatsError> {
    if !names.iter().any(|n| n == key) {
        return Err(StatsError::MissingKey {
            path: path.into(),
            key,
        });
    }
    match npz.by_name::<_, ndarray::IxDyn>(key) {
        Ok(a) => Ok(a),
        Err(first) => npz
            .by_name::<ndarray::OwnedRepr<f32>, ndarray::IxDyn>(key)
            .map(|a| a.mapv(f64::from))
            .map_err(|_| StatsError::BadArray {
                path: path.into(),
                key,
                reason: first.to_string(),
            }),
    }
}

fn read_count(
    npz: &mut NpzReader<BufReader<File>>,
    path: &Path,
) -> Result<Option<u64>, StatsError> {
    let single = |len: usize| len == 1;
    if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<i64>, ndarray::IxDyn>("count") {
        if single(a.len()) && a.iter().all(|&c| c >= 0) {
            return Ok(a.iter().next().map(|&c| c as u64));
        }
    } else if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<u64>, ndarray::IxDyn>("count") {
        if single(a.len()) {
            return Ok(a.iter().next().copied());
        }
    } else if let Ok(a) = npz.by_name::<ndarray::OwnedRepr<i32>, ndarray::IxDyn>("count")
        && single(a.len())
        && a.iter().all(|&c| c >= 0)
    {
        return Ok(a.iter().next().map(|&c| c as u64));
    }
    Err(StatsError::BadArray {
        path: path.into(),
        key: "count",
        reason: "expected one non-negative integer".into(),
    })
}

/// Streaming, mergeable accumulation of [`FidStats`] in float64.
///
/// Rows are buffered and folded in fixed blocks of [`BLOCK_ROWS`]: each block is
/// centred on its own mean, its scatter `XcᵀXc` comes from one BLAS gemm, and blocks
/// combine with Chan et al.'s pairwise mean/M2 update — no `E[xxᵀ] − μμᵀ`
/// cancellation. Shards merged with [`merge`](Self::merge) give the statistics of
/// the whole up to f64 rounding.
#[derive(Clone, Debug)]
pub struct StatsAccumulator {
    dim: usize,
    folded: u64,
    mean: Array1<f64>,
    m2: Array2<f64>,
    pending: Vec<f64>,
}

impl StatsAccumulator {
    /// An empty accumulator for D-dimensional features.
    pub fn new(dim: usize) -> Self {
        StatsAccumulator {
            dim,
            folded: 0,
            mean: Array1::zeros(dim),
            m2: Array2::zeros((dim, dim)),
            pending: Vec::with_capacity(BLOCK_ROWS * dim),
        }
    }

    /// Feature dimension D.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of feature vectors added so far.
    pub fn count(&self) -> u64 {
        self.folded + self.pending_rows() as u64
    }

    fn pending_rows(&self) -> usize {
        self.pending.len().checked_div(self.dim).unwrap_or(0)
    }

    /// Adds a batch of feature rows (N, D).
    pub fn add(&mut self, batch: ArrayView2<f32>) -> Result<(), StatsError> {
        if batch.ncols() != self.dim {
            return Err(StatsError::Dimension {
                expected: self.dim,
                got: batch.ncols(),
            });
        }
        if !batch.iter().all(|v| v.is_finite()) {
            return Err(StatsError::NonFiniteFeatures);
        }
        for row in batch.rows() {
            self.pending.extend(row.iter().map(|&v| f64::from(v)));
            if self.pending_rows() == BLOCK_ROWS {
                self.fold_pending();
            }
        }
        Ok(())
    }

    fn fold_pending(&mut self) {
        let rows = self.pending_rows();
        if rows == 0 {
            return;
        }
        let block = ArrayView2::from_shape((rows, self.dim), &self.pending)
            .expect("pending holds whole rows");
        let (mean, m2) = block_moments(block);
        chan_merge(
            &mut self.folded,
            &mut self.mean,
            &mut self.m2,
            rows as u64,
            &mean,
            &m2,
        );
        self.pending.clear();
    }

    /// Merges another accumulator (a shard of the same data set) into this one.
    pub fn merge(&mut self, other: &StatsAccumulator) -> Result<(), StatsError> {
        if other.dim != self.dim {
            return Err(StatsError::Dimension {
                expected: self.dim,
                got: other.dim,
            });
        }
        if other.folded > 0 {
            chan_merge(
                &mut self.folded,
                &mut self.mean,
                &mut self.m2,
                other.folded,
                &other.mean,
                &other.m2,
            );
        }
        for row in other.pending.chunks(self.dim.max(1)) {
            self.pending.extend_from_slice(row);
            if self.pending_rows() == BLOCK_ROWS {
                self.fold_pending();
            }
        }
        Ok(())
    }

    /// The mean and unbiased covariance of everything added; needs ≥ 2 rows.
    pub fn finish(&self) -> Result<FidStats, StatsError> {
        let count = self.count();
        if count < 2 {
            return Err(StatsError::TooFewSamples { count });
        }
        let mut whole = self.clone();
        whole.fold_pending();
        let scale = 1.0 / (count - 1) as f64;
        let m2 = &whole.m2;
        let sigma = Array2::from_shape_fn((self.dim, self.dim), |(i, j)| {
            0.5 * (m2[[i, j]] + m2[[j, i]]) * scale
        });
        Ok(FidStats {
            mu: whole.mean,
            sigma,
            count: Some(count),
        })
    }
}

/// Mean and scatter matrix `Σ (x − mean)(x − mean)ᵀ` of one block.
fn block_moments(block: ArrayView2<f64>) -> (Array1<f64>, Array2<f64>) {
    let mean = block.mean_axis(Axis(0)).expect("block is not empty");
    let centred = &block - &mean;
    let mut m2 = Array2::zeros((block.ncols(), block.ncols()));
    general_mat_mul(1.0, &centred.t(), &centred, 0.0, &mut m2);
    (mean, m2)
}

/// Chan et al.'s pairwise update: fold (n_b, mean_b, m2_b) into (n_a, mean_a, m2_a).
fn chan_merge(
    n_a: &mut u64,
    mean_a: &mut Array1<f64>,
    m2_a: &mut Array2<f64>,
    n_b: u64,
    mean_b: &Array1<f64>,
    m2_b: &Array2<f64>,
) {
    if *n_a == 0 {
        *n_a = n_b;
        mean_a.assign(mean_b);
        m2_a.assign(m2_b);
        return;
    }
    let n = *n_a + n_b;
    let delta = mean_b - &*mean_a;
    let weight = (*n_a as f64) * (n_b as f64) / (n as f64);
    *m2_a += m2_b;
    let column = delta.view().insert_axis(Axis(1));
    general_mat_mul(weight, &column, &column.t(), 1.0, m2_a);
    mean_a.scaled_add(n_b as f64 / n as f64, &delta);
    *n_a = n;
}
