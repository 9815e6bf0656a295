//! The trace of a matrix square root, `tr((S1 S2)^½)`, through symmetric
//! eigen-solvers (LAPACK via ndarray-linalg).
//!
//! For symmetric positive semi-definite `S1`, `S2` the eigenvalues of `S1 S2` equal
//! those of the symmetric matrix `Bᵀ S2 B` for any factor `S1 = B Bᵀ`, so the trace
//! of the square root is the sum of the square roots of those (real, ≥ 0)
//! eigenvalues. That avoids scipy's general `sqrtm` (Schur form of a non-symmetric
//! product) and its imaginary-component failures, and it is much faster.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{Cholesky, UPLO};

/// Which factorisation gave the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SqrtRoute {
    /// `S1 = L Lᵀ` (Cholesky of the first matrix), eigenvalues of `Lᵀ S2 L`.
    CholeskyFirst,
    /// `S2 = L Lᵀ` (the trace is symmetric in the two), eigenvalues of `Lᵀ S1 L`.
    CholeskySecond,
    /// Neither is positive definite: `S1 = V diag(w) Vᵀ`, `B = V diag(√w⁺)`,
    /// eigenvalues of `Bᵀ S2 B` restricted to the columns with `w > 0`.
    Eigen,
}

/// `tr((S1 S2)^½)` and how trustworthy it is.
#[derive(Clone, Debug)]
pub struct TraceSqrt {
    /// Sum of square roots of the eigenvalues of the product, negative ones (rounding
    /// noise) counted as zero. Small positive eigenvalues are kept: with real features
    /// (condition numbers of 1e10 and more) they carry a real part of the trace.
    /// Rank deficiency is handled before the product is formed: a Cholesky factor is
    /// used only when numerically full rank, and the eigen route keeps only the
    /// eigenvalues of `S1` above `n·ε·λmax`.
    pub trace: f64,
    /// The factorisation used.
    pub route: SqrtRoute,
    /// The most negative eigenvalue met (of the product, or of `S1` on the eigen
    /// route) divided by the largest one; `0.0` when none was negative. Values far
    /// below zero (say < −1e-8) mean an input was not positive semi-definite.
    pub most_negative_relative: f64,
}

/// Failures of the matrix routines.
#[derive(Debug, thiserror::Error)]
pub enum LinalgError {
    #[error(
        "matrix shapes differ or are not square: {}×{} vs {}×{}; pass two D×D covariance matrices",
        a.0, a.1, b.0, b.1
    )]
    Shape {
        a: (usize, usize),
        b: (usize, usize),
    },
    #[error("matrix contains NaN or infinity; recompute the covariance from finite features")]
    NonFinite,
    #[error(
        "LAPACK eigen-solver failed ({0}); the covariance is badly conditioned, add a small multiple of the identity"
    )]
    Lapack(String),
}

/// `tr((S1 S2)^½)` for symmetric PSD `s1`, `s2` (only their lower triangles are read
/// by the factorisations). Tries Cholesky of `s1`, then of `s2`, then falls back to
/// the eigendecomposition of `s1` (needed when N < D makes both singular).
pub fn trace_sqrt_product(
    s1: ArrayView2<f64>,
    s2: ArrayView2<f64>,
) -> Result<TraceSqrt, LinalgError> {
    if !s1.is_square() || s1.dim() != s2.dim() {
        return Err(LinalgError::Shape {
            a: s1.dim(),
            b: s2.dim(),
        });
    }
    if !s1.iter().chain(s2.iter()).all(|v| v.is_finite()) {
        return Err(LinalgError::NonFinite);
    }
    if let Some(l) = full_rank_cholesky(s1) {
        return from_factor(l.view(), s2, SqrtRoute::CholeskyFirst, 0.0);
    }
    if let Some(l) = full_rank_cholesky(s2) {
        return from_factor(l.view(), s1, SqrtRoute::CholeskySecond, 0.0);
    }
    trace_sqrt_by_eigen(s1, s2)
}

/// The eigen route alone (exposed so benches and tests can compare routes).
pub fn trace_sqrt_by_eigen(
    s1: ArrayView2<f64>,
    s2: ArrayView2<f64>,
) -> Result<TraceSqrt, LinalgError> {
    let (w, v) = symmetric_eigen(s1.to_owned(), true)?;
    let v = v.expect("vectors requested");
    let s1_negative = most_negative_relative(&w);
    let cutoff = noise_floor(&w);
    let keep: Vec<usize> = (0..w.len()).filter(|&i| w[i] > cutoff).collect();
    if keep.is_empty() {
        return Ok(TraceSqrt {
            trace: 0.0,
            route: SqrtRoute::Eigen,
            most_negative_relative: s1_negative,
        });
    }
    let mut b = v.select(Axis(1), &keep);
    for (mut column, &i) in b.axis_iter_mut(Axis(1)).zip(&keep) {
        column *= w[i].sqrt();
    }
    from_factor(b.view(), s2, SqrtRoute::Eigen, s1_negative)
}

/// The smallest eigenvalue of a symmetric matrix (lower triangle read), or
/// `None` when a Cholesky factorisation succeeds: the matrix is then
/// positive definite and no eigen-solve is needed.
pub fn smallest_eigenvalue(s: ArrayView2<f64>) -> Result<Option<f64>, LinalgError> {
    if !s.is_square() {
        return Err(LinalgError::Shape {
            a: s.dim(),
            b: s.dim(),
        });
    }
    if s.is_empty() || s.cholesky(UPLO::Lower).is_ok() {
        return Ok(None);
    }
    let (values, _) = symmetric_eigen(s.to_owned(), false)?;
    Ok(values.first().copied())
}

/// Given `S = B Bᵀ`, the trace of `(S T)^½` from the eigenvalues of `Bᵀ T B`.
fn from_factor(
    b: ArrayView2<f64>,
    t: ArrayView2<f64>,
    route: SqrtRoute,
    earlier_negative: f64,
) -> Result<TraceSqrt, LinalgError> {
    let tb = t.dot(&b);
    let mut sandwich = Array2::<f64>::zeros((b.ncols(), b.ncols()));
    general_mat_mul(1.0, &b.t(), &tb, 0.0, &mut sandwich);
    let (eig, _) = symmetric_eigen(sandwich, false)?;
    let trace = eig.iter().map(|&e| e.max(0.0).sqrt()).sum();
    let most_negative_relative = most_negative_relative(&eig).min(earlier_negative);
    Ok(TraceSqrt {
        trace,
        route,
        most_negative_relative,
    })
}

/// `S = L Lᵀ` when `S` is numerically of full rank: every pivot `L_ii²` above
/// `n·ε·max S_ii`. A rank-deficient covariance can still pass LAPACK's test
/// with pivots of rounding size; its factor would then turn rounding noise
/// into eigenvalues of the product.
fn full_rank_cholesky(s: ArrayView2<f64>) -> Option<Array2<f64>> {
    let l = s.cholesky(UPLO::Lower).ok()?;
    let largest = s.diag().iter().copied().fold(0.0, f64::max);
    let floor = largest * s.nrows() as f64 * f64::EPSILON;
    l.diag().iter().all(|&p| p * p > floor).then_some(l)
}

/// Eigenvalues (ascending) and, if asked, eigenvectors (columns) of a
/// symmetric matrix through LAPACK's divide-and-conquer `dsyevd`.
///
/// Called directly because ndarray-linalg's `eigvalsh` runs `dsyev` with
/// eigenvectors even when only values are wanted — at 2048-d that is ~7 s of
/// single-threaded plane rotations instead of well under a second.
fn symmetric_eigen(
    matrix: Array2<f64>,
    vectors: bool,
) -> Result<(Array1<f64>, Option<Array2<f64>>), LinalgError> {
    let n = matrix.nrows();
    if n == 0 {
        return Ok((Array1::zeros(0), vectors.then(|| Array2::zeros((0, 0)))));
    }
    let order =
        i32::try_from(n).map_err(|_| LinalgError::Lapack(format!("dimension {n} too large")))?;
    // Row-major storage of a symmetric matrix is its own column-major transpose.
    let mut a = matrix
        .as_standard_layout()
        .into_owned()
        .into_raw_vec_and_offset()
        .0;
    let mut w = vec![0.0f64; n];
    let jobz = if vectors { b'V' } else { b'N' } as std::ffi::c_char;
    let uplo = b'L' as std::ffi::c_char;
    let mut dsyevd = |work: &mut [f64], lwork: i32, iwork: &mut [i32], liwork: i32| -> i32 {
        let mut info = 0;
        // SAFETY: `a` is n×n and `w` holds n values; `work` and `iwork` hold at least
        // `lwork` and `liwork` entries, or one each for the size query (−1).
        unsafe {
            lapack_sys::dsyevd_(
                &jobz,
                &uplo,
                &order,
                a.as_mut_ptr(),
                &order,
                w.as_mut_ptr(),
                work.as_mut_ptr(),
                &lwork,
                iwork.as_mut_ptr(),
                &liwork,
                &mut info,
            );
        }
        info
    };
    with_workspace("dsyevd", &mut dsyevd).map_err(LinalgError::Lapack)?;
    // Column-major eigenvectors read row-major are Vᵀ.
    let v = vectors.then(|| {
        Array2::from_shape_vec((n, n), a)
            .expect("n×n")
            .reversed_axes()
    });
    Ok((Array1::from(w), v))
}

/// LAPACK's float and integer workspaces.
type Workspace<'a> = &'a mut [f64];
type WorkspaceInts<'a> = &'a mut [i32];

/// Runs a LAPACK routine that takes `work` and `iwork` arrays twice: first
/// to ask their sizes (lengths −1), then with arrays of those sizes. `call`
/// returns LAPACK's `info`; the error names the routine and it.
pub(crate) fn with_workspace(
    routine: &str,
    call: &mut dyn FnMut(Workspace<'_>, i32, WorkspaceInts<'_>, i32) -> i32,
) -> Result<(), String> {
    let (mut work_size, mut iwork_size) = ([0.0f64], [0i32]);
    let info = call(&mut work_size, -1, &mut iwork_size, -1);
    if info != 0 {
        return Err(format!("{routine} workspace query returned {info}"));
    }
    let (lwork, liwork) = (work_size[0] as i32, iwork_size[0]);
    let mut work = vec![0.0f64; lwork.max(1) as usize];
    let mut iwork = vec![0i32; liwork.max(1) as usize];
    match call(&mut work, lwork, &mut iwork, liwork) {
        0 => Ok(()),
        info => Err(format!("{routine} returned {info}")),
    }
}

/// Eigenvalues at or below this are indistinguishable from zero: `n·ε·λmax`
/// (numpy's `matrix_rank` tolerance).
fn noise_floor(values: &Array1<f64>) -> f64 {
    let max = values.iter().copied().fold(0.0, f64::max);
    max * values.len() as f64 * f64::EPSILON
}

/// The most negative value divided by the largest, or 0 when none is negative.
fn most_negative_relative(values: &Array1<f64>) -> f64 {
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    if min < 0.0 && max > 0.0 {
        min / max
    } else if min < 0.0 {
        -1.0
    } else {
        0.0
    }
}

unsafe extern "C" {
    fn openblas_get_num_threads() -> std::ffi::c_int;
    fn openblas_set_num_threads(threads: std::ffi::c_int);
}

/// Runs OpenBLAS on one thread while alive. Its threaded kernels sum in an
/// order that depends on the thread count (measured: the eigen-solver at
/// 2048-d, and `XᵀX` for 800 × 700 and 300 × 64 inputs, though not for
/// 5,000 × 2048), which would change the last bits of the scores — and so the
/// whole t-SNE map — with `OPENBLAS_NUM_THREADS`. Restores the previous count
/// on drop; a lock keeps two of these from interleaving save and restore.
pub(crate) struct SingleThreadedBlas {
    previous: std::ffi::c_int,
    _lock: std::sync::MutexGuard<'static, ()>,
}

impl SingleThreadedBlas {
    pub(crate) fn new() -> Self {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let lock = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // SAFETY: plain getter and setter of OpenBLAS's global thread count.
        let previous = unsafe { openblas_get_num_threads() };
        unsafe { openblas_set_num_threads(1) };
        SingleThreadedBlas {
            previous,
            _lock: lock,
        }
    }
}

impl Drop for SingleThreadedBlas {
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        unsafe { openblas_set_num_threads(self.previous) };
    }
}
