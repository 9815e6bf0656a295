//! FID statistics (mean and covariance of features), pytorch-fid's `.npz` format,
//! and their exact, mergeable, batch-size independent accumulation in float64.

use std::path::{Path, PathBuf};

use ndarray::linalg::general_mat_mul;
use ndarray::{Array0, Array1, Array2, ArrayD, ArrayView2, Axis, Ix1, Ix2};
use ndarray_npy::{NpzWriter, ReadNpyExt};

use crate::atomic::write_atomically;
use crate::linalg::smallest_eigenvalue;
use crate::npy::{self, NpyHeader, Npz, NpzError, shape_text};

/// Rows are folded into the running statistics in blocks of this many, whatever
/// the caller's batch size, so the result never depends on how rows were batched.
pub const BLOCK_ROWS: usize = 256;

/// How far `sigma` may be from symmetric, relative to its largest entry
/// (see [`FidStats::check_covariance`]).
pub const ASYMMETRY_TOLERANCE: f64 = 1e-6;

/// How many float32 roundings of `‖Σ‖_F` an eigenvalue may fall below zero
/// (see [`FidStats::check_covariance`]).
pub const NEGATIVE_EIGENVALUE_ROUNDING: f64 = 4.0;

/// 2⁻²⁴: float32's unit roundoff.
const FLOAT32_ROUNDING: f64 = 1.0 / 16_777_216.0;

/// Why a matrix cannot be a covariance.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CovarianceProblem {
    #[error(
        "`sigma` is not symmetric: entries differ from their transposed partners by up to {relative:.1e} of the largest entry, beyond the {ASYMMETRY_TOLERANCE:.0e} that rounding explains"
    )]
    Asymmetric { relative: f64 },
    #[error(
        "`sigma` has the eigenvalue {eigenvalue:.3e}, below the {floor:.3e} that rounding explains, so it is not positive semi-definite"
    )]
    NotPositive { eigenvalue: f64, floor: f64 },
    #[error("`sigma`'s eigenvalues cannot be computed ({0})")]
    Unsolvable(String),
}

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
        "statistics file {path}: {reason}; recreate it with `stackgan-eval stats` or numpy.savez"
    )]
    NotNpz { path: PathBuf, reason: String },
    #[error(
        "{path} has no array `{key}`; a pytorch-fid statistics file holds `mu` (D,) and `sigma` (D,D)"
    )]
    MissingKey { path: PathBuf, key: &'static str },
    #[error(
        "{path}: array `{key}` cannot be read as float64 or float32: {reason}; save it as a float array"
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
        "{path}: {problem}; a covariance is symmetric and positive semi-definite: recompute the statistics from the features (`stackgan-eval stats`) instead of editing them"
    )]
    NotCovariance {
        path: PathBuf,
        problem: CovarianceProblem,
    },
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
    /// float64, and an optional integer `count`; then checks that `sigma` can
    /// be a covariance (see [`FidStats::check_covariance`]).
    pub fn read_npz(path: &Path) -> Result<FidStats, StatsError> {
        let mut npz = Npz::open(path).map_err(|e| match e {
            NpzError::Open(source) => StatsError::Open {
                path: path.into(),
                source,
            },
            other => StatsError::NotNpz {
                path: path.into(),
                reason: other.to_string(),
            },
        })?;
        for key in ["mu", "sigma"] {
            if !npz.has(key) {
                return Err(StatsError::MissingKey {
                    path: path.into(),
                    key,
                });
            }
        }
        let mu = read_float(&mut npz, path, "mu")?;
        let sigma = read_float(&mut npz, path, "sigma")?;
        let count = if npz.has("count") {
            read_count(&mut npz, path)?
        } else {
            None
        };
        let shape_err = |detail: String| StatsError::Shape {
            path: path.into(),
            detail,
        };
        let mu = match mu.into_dimensionality::<Ix1>() {
            Ok(mu) => mu,
            Err(_) => return Err(shape_err("`mu` is not one-dimensional".into())),
        };
        let sigma = sigma.into_dimensionality::<Ix2>().map_err(|_| {
            shape_err(format!(
                "`sigma` is not two-dimensional (`mu` has shape ({},))",
                mu.len()
            ))
        })?;
        if sigma.dim() != (mu.len(), mu.len()) {
            return Err(shape_err(format!(
                "`mu` has shape ({},) but `sigma` has {}",
                mu.len(),
                shape_text(&[sigma.nrows(), sigma.ncols()])
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
        let stats = FidStats { mu, sigma, count };
        stats
            .check_covariance()
            .map_err(|problem| StatsError::NotCovariance {
                path: path.into(),
                problem,
            })?;
        Ok(stats)
    }

    /// Checks that `sigma` is what a covariance computed in floating point can
    /// be: symmetric, and positive semi-definite up to rounding.
    ///
    /// Symmetry: `max |Σij − Σji| ≤ ASYMMETRY_TOLERANCE · max |Σij|`. Every
    /// tool that writes these files (numpy's `cov`, torch's `cov`, this one)
    /// gives a matrix symmetric to float64 rounding, and storing it as float32
    /// keeps it exactly symmetric; a covariance summed in float32 in two
    /// orders differs by a few float32 steps (2⁻²⁴ ≈ 6e-8 each). An edited
    /// matrix, a Cholesky factor or a transposed product differs at 1e-2 and
    /// more. pytorch-fid would take `sqrtm` of such a product and give another
    /// number than the symmetric route used here, so it is refused.
    ///
    /// Eigenvalues: the smallest may be negative by at most
    /// `NEGATIVE_EIGENVALUE_ROUNDING · 2⁻²⁴ · ‖Σ‖_F`. Rounding every entry of
    /// a positive semi-definite matrix to float32 moves each eigenvalue by at
    /// most `2⁻²⁴ · ‖Σ‖_F` (Weyl's inequality with `‖E‖₂ ≤ ‖E‖_F`); the factor
    /// leaves room for the rounding of the covariance's own computation.
    /// Within that bound negative eigenvalues are rounding and are clipped to
    /// zero (pytorch-fid's real part of `sqrtm` does the same); beyond it the
    /// matrix is not a covariance, and pytorch-fid either stops with
    /// "Imaginary component" or returns a number that means nothing.
    pub fn check_covariance(&self) -> Result<(), CovarianceProblem> {
        let sigma = &self.sigma;
        let largest = sigma.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let asymmetry = sigma
            .indexed_iter()
            .fold(0.0f64, |m, ((i, j), v)| m.max((v - sigma[[j, i]]).abs()));
        if asymmetry > ASYMMETRY_TOLERANCE * largest {
            return Err(CovarianceProblem::Asymmetric {
                relative: asymmetry / largest,
            });
        }
        let frobenius = sigma.iter().map(|v| v * v).sum::<f64>().sqrt();
        let floor = -NEGATIVE_EIGENVALUE_ROUNDING * FLOAT32_ROUNDING * frobenius;
        match smallest_eigenvalue(sigma.view()) {
            Ok(Some(smallest)) if smallest < floor => Err(CovarianceProblem::NotPositive {
                eigenvalue: smallest,
                floor,
            }),
            Ok(_) => Ok(()),
            Err(e) => Err(CovarianceProblem::Unsolvable(e.to_string())),
        }
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

fn read_float(npz: &mut Npz, path: &Path, key: &'static str) -> Result<ArrayD<f64>, StatsError> {
    let bad = |reason: String| StatsError::BadArray {
        path: path.into(),
        key,
        reason,
    };
    let bytes = npz.bytes(key).map_err(bad)?;
    npy::read_f64(&bytes).map_err(|e| bad(e.to_string()))
}

fn read_count(npz: &mut Npz, path: &Path) -> Result<Option<u64>, StatsError> {
    let bad = |reason: String| StatsError::BadArray {
        path: path.into(),
        key: "count",
        reason,
    };
    let bytes = npz.bytes("count").map_err(bad)?;
    let header = NpyHeader::parse(&bytes).map_err(bad)?;
    let count = match header.descr.as_str() {
        "<i8" | "<i4" => ArrayD::<i64>::read_npy(&bytes[..])
            .ok()
            .or_else(|| {
                ArrayD::<i32>::read_npy(&bytes[..])
                    .ok()
                    .map(|a| a.mapv(i64::from))
            })
            .and_then(|a| single(a.iter().copied())),
        "<u8" => ArrayD::<u64>::read_npy(&bytes[..])
            .ok()
            .and_then(|a| single(a.iter().copied()))
            .and_then(|c| i64::try_from(c).ok()),
        _ => None,
    };
    match count {
        Some(c) if c >= 0 => Ok(Some(c as u64)),
        _ => Err(bad(format!(
            "expected one non-negative integer, found {}",
            header.describe()
        ))),
    }
}

/// The only value of a one-element array.
fn single<T>(mut values: impl Iterator<Item = T>) -> Option<T> {
    let first = values.next()?;
    values.next().is_none().then_some(first)
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
