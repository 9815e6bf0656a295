//! Trustworthiness of an embedding (Venna & Kaski 2001), the score
//! `sklearn.manifold.trustworthiness` computes: how far the k nearest
//! neighbours in the map are from being nearest neighbours in the original
//! space. 1 means every map neighbour is a true neighbour.

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;

/// Inputs that trustworthiness cannot score.
#[derive(Debug, thiserror::Error)]
pub enum TrustworthinessError {
    #[error(
        "the features have {high} rows but the embedding has {low}; pass the embedding of exactly these features"
    )]
    RowMismatch { high: usize, low: usize },
    #[error(
        "trustworthiness needs 1 ≤ k < n/2 neighbours; got k = {k} for {n} samples (the largest allowed is {max})"
    )]
    Neighbours { k: usize, n: usize, max: usize },
}

/// Trustworthiness with `k` neighbours and Euclidean distances on both sides,
/// as `sklearn.manifold.trustworthiness(high, low, n_neighbors=k)`:
///
/// `T(k) = 1 − 2 / (n k (2n − 3k − 1)) · Σᵢ Σ_{j ∈ Nₖ(i) in the map} max(0, r(i, j) − k)`,
///
/// where `r(i, j)` is the rank of `j` among the neighbours of `i` in the
/// original space. Distances are computed exactly in float64 (scikit-learn
/// uses `‖x‖² − 2x·y + ‖y‖²`, in float32 for float32 input), and ties are broken
/// by sample index, so the two agree except on near-exact distance ties.
/// The sum is over integers, so the value is the same for any thread count.
pub fn trustworthiness(
    high: ArrayView2<f32>,
    low: ArrayView2<f64>,
    k: usize,
) -> Result<f64, TrustworthinessError> {
    let n = high.nrows();
    if low.nrows() != n {
        return Err(TrustworthinessError::RowMismatch {
            high: n,
            low: low.nrows(),
        });
    }
    // scikit-learn requires k < n / 2 (true division).
    let max = n.saturating_sub(1) / 2;
    if k == 0 || 2 * k >= n {
        return Err(TrustworthinessError::Neighbours { k, n, max });
    }
    let penalty: u64 = (0..n)
        .into_par_iter()
        .map(|i| {
            let low_distances = squared_distances(low.row(i), low, |v| v);
            let neighbours = nearest(&low_distances, i, k);
            let high_distances = squared_distances(high.row(i), high, f64::from);
            neighbours
                .iter()
                .map(|&j| (rank(&high_distances, i, j) as u64).saturating_sub(k as u64))
                .sum::<u64>()
        })
        .sum();
    let (n, k) = (n as f64, k as f64);
    Ok(1.0 - penalty as f64 * (2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0))))
}

/// Squared Euclidean distances from `point` to every row, summed in float64.
fn squared_distances<T: Copy + Sync>(
    point: ArrayView1<T>,
    rows: ArrayView2<T>,
    to_f64: impl Fn(T) -> f64,
) -> Vec<f64> {
    rows.rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .zip(point.iter())
                .map(|(&a, &b)| {
                    let d = to_f64(a) - to_f64(b);
                    d * d
                })
                .sum()
        })
        .collect()
}

/// The `k` samples nearest to `i` (excluding `i`; ties broken by index), in no order.
fn nearest(distances: &[f64], i: usize, k: usize) -> Vec<usize> {
    let mut others: Vec<usize> = (0..distances.len()).filter(|&m| m != i).collect();
    let by_distance = |a: &usize, b: &usize| distances[*a].total_cmp(&distances[*b]).then(a.cmp(b));
    others.select_nth_unstable_by(k - 1, by_distance);
    others.truncate(k);
    others
}

/// 1-based rank of `j` among the samples other than `i`, by distance then index.
fn rank(distances: &[f64], i: usize, j: usize) -> usize {
    let dj = distances[j];
    1 + distances
        .iter()
        .enumerate()
        .filter(|&(m, &dm)| m != i && m != j && (dm < dj || (dm == dj && m < j)))
        .count()
}
