//! Principal component scores, the step before t-SNE that brings 2048-d
//! Inception features down to ~50 dimensions (as the t-SNE authors and
//! scikit-learn's guide recommend), through LAPACK's `dsyevr`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, Axis, s};

use crate::linalg::SingleThreadedBlas;

/// Failures of the principal component analysis.
#[derive(Debug, thiserror::Error)]
pub enum PcaError {
    #[error("PCA needs at least one sample and one feature column, got a {rows}×{cols} matrix")]
    Empty { rows: usize, cols: usize },
    #[error("PCA needs at least one component (--pca-dims), got 0")]
    NoComponents,
    #[error("LAPACK failed in PCA: {0}")]
    Lapack(String),
}

/// Scores of the centred samples on their first `dims` principal axes
/// (N × min(dims, D, N), float64), in order of decreasing variance.
///
/// Each axis has its sign fixed so that its largest-magnitude loading (first
/// one on a tie) is positive, so the scores are reproducible across LAPACK
/// builds. The eigen-problem is the smaller of the D×D scatter matrix and the
/// N×N Gram matrix of the centred data; both give the same scores. OpenBLAS
/// runs on one thread meanwhile, so the scores are the same bits whatever
/// `OPENBLAS_NUM_THREADS` is (≈2 s for 5,000 × 2048 on one core).
pub fn principal_components(
    features: ArrayView2<f32>,
    dims: usize,
) -> Result<Array2<f64>, PcaError> {
    let (n, d) = features.dim();
    if n == 0 || d == 0 {
        return Err(PcaError::Empty { rows: n, cols: d });
    }
    if dims == 0 {
        return Err(PcaError::NoComponents);
    }
    let k = dims.min(d).min(n);
    let _single = SingleThreadedBlas::new();
    let centred = centred(features);
    let mut loadings = if d <= n {
        let mut scatter = Array2::<f64>::zeros((d, d));
        general_mat_mul(1.0, &centred.t(), &centred, 0.0, &mut scatter);
        top_eigenvectors(scatter, k)?
    } else {
        // Xc Xcᵀ u = λ u  ⇒  the loading is Xcᵀ u (scaled by 1/√λ, irrelevant here
        // since it is normalised below; a zero-variance axis gives zero scores).
        let mut gram = Array2::<f64>::zeros((n, n));
        general_mat_mul(1.0, &centred, &centred.t(), 0.0, &mut gram);
        let vectors = top_eigenvectors(gram, k)?;
        let mut loadings = centred.t().dot(&vectors);
        for mut column in loadings.columns_mut() {
            let norm = column.dot(&column).sqrt();
            if norm > 0.0 {
                column /= norm;
            }
        }
        loadings
    };
    fix_signs(&mut loadings);
    Ok(centred.dot(&loadings))
}

/// The samples in float64 minus their column means.
fn centred(features: ArrayView2<f32>) -> Array2<f64> {
    let mut x = features.mapv(f64::from);
    let mean = x.sum_axis(Axis(0)) / x.nrows() as f64;
    x -= &mean;
    x
}

/// Flips each column so that its largest-|.| entry (the first on a tie) is positive.
fn fix_signs(loadings: &mut Array2<f64>) {
    for mut column in loadings.columns_mut() {
        let mut largest = 0.0f64;
        for &v in column.iter() {
            if v.abs() > largest.abs() {
                largest = v;
            }
        }
        if largest < 0.0 {
            column.mapv_inplace(|v| -v);
        }
    }
}

/// The eigenvectors (columns) of the `k` largest eigenvalues, largest first, of a
/// symmetric matrix, through LAPACK's `dsyevr` with an index range (the
/// reduction to tridiagonal form dominates; only k vectors are computed).
fn top_eigenvectors(matrix: Array2<f64>, k: usize) -> Result<Array2<f64>, PcaError> {
    let n = matrix.nrows();
    let order =
        i32::try_from(n).map_err(|_| PcaError::Lapack(format!("dimension {n} too large")))?;
    let count = i32::try_from(k).map_err(|_| PcaError::Lapack(format!("{k} components")))?;
    // Row-major storage of a symmetric matrix is its own column-major transpose.
    let mut a = matrix
        .as_standard_layout()
        .into_owned()
        .into_raw_vec_and_offset()
        .0;
    let [jobz, range, uplo] = [b'V', b'I', b'L'].map(|c| c as std::ffi::c_char);
    let (vl, vu, abstol) = (0.0f64, 0.0f64, 0.0f64);
    let (il, iu) = (order - count + 1, order);
    let mut found = 0i32;
    let mut w = vec![0.0f64; n];
    let mut z = vec![0.0f64; n * k];
    let mut isuppz = vec![0i32; 2 * k];
    let mut dsyevr = |work: &mut [f64], lwork: i32, iwork: &mut [i32], liwork: i32| -> i32 {
        let mut info = 0;
        // SAFETY: `a` is n×n with leading dimension n, `w` holds n values, `z` is n×k
        // (column-major, ldz = n) and `isuppz` 2k entries, enough for the k = iu − il + 1
        // eigenpairs asked for; `work`/`iwork` hold `lwork`/`liwork` entries or one each
        // for the size query (−1).
        unsafe {
            lapack_sys::dsyevr_(
                &jobz,
                &range,
                &uplo,
                &order,
                a.as_mut_ptr(),
                &order,
                &vl,
                &vu,
                &il,
                &iu,
                &abstol,
                &mut found,
                w.as_mut_ptr(),
                z.as_mut_ptr(),
                &order,
                isuppz.as_mut_ptr(),
                work.as_mut_ptr(),
                &lwork,
                iwork.as_mut_ptr(),
                &liwork,
                &mut info,
            );
        }
        info
    };
    crate::linalg::with_workspace("dsyevr", &mut dsyevr).map_err(PcaError::Lapack)?;
    if found != count {
        return Err(PcaError::Lapack(format!(
            "dsyevr found {found} of {count} eigenpairs"
        )));
    }
    // Column-major n×k read row-major is k×n; LAPACK's order is ascending.
    let ascending = Array2::from_shape_vec((k, n), z)
        .map_err(|e| PcaError::Lapack(e.to_string()))?
        .reversed_axes();
    Ok(ascending.slice(s![.., ..;-1]).to_owned())
}
