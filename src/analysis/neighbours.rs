//! Exact k-nearest-neighbour lists, the input of t-SNE's sparse affinities.
//!
//! Brute force over all pairs, parallel over query points: each list depends
//! only on the data (ties broken by index), never on the thread count, unlike
//! the randomised vantage-point trees inside the t-SNE crates.

use ndarray::ArrayView2;
use rayon::prelude::*;

/// One neighbour of a sample: its row and squared Euclidean distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neighbour {
    pub index: usize,
    pub squared_distance: f64,
}

/// The `k` nearest other rows of every row of `points` (N × d), nearest first;
/// equal distances are ordered by row index. `k` is capped at N − 1.
pub fn nearest_neighbours(points: ArrayView2<f64>, k: usize) -> Vec<Vec<Neighbour>> {
    let n = points.nrows();
    let dims = points.ncols();
    let flat = points.as_standard_layout().into_owned();
    let flat = flat.as_slice().expect("standard layout");
    let row = |i: usize| &flat[i * dims..(i + 1) * dims];
    let k = k.min(n.saturating_sub(1));
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |candidates: &mut Vec<Neighbour>, i| {
            candidates.clear();
            candidates.extend((0..n).filter(|&j| j != i).map(|j| Neighbour {
                index: j,
                squared_distance: squared_distance(row(i), row(j)),
            }));
            let order = |a: &Neighbour, b: &Neighbour| {
                a.squared_distance
                    .total_cmp(&b.squared_distance)
                    .then(a.index.cmp(&b.index))
            };
            if k < candidates.len() {
                candidates.select_nth_unstable_by(k, order);
            }
            let mut nearest = candidates[..k].to_vec();
            nearest.sort_unstable_by(order);
            nearest
        })
        .collect()
}

/// `Σ (aᵢ − bᵢ)²` with four interleaved partial sums (a fixed order, so the
/// result is reproducible, and four times the throughput of one running sum).
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let (a4, a_rest) = a.split_at(a.len() - a.len() % 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (x, y) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for lane in 0..4 {
            let d = x[lane] - y[lane];
            lanes[lane] += d * d;
        }
    }
    let tail: f64 = a_rest
        .iter()
        .zip(b_rest)
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn neighbours_are_sorted_with_ties_by_index() {
        // Points on a line at 0, 1, 2, 3 and a duplicate of 1.
        let points = array![[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [1.0, 0.0]];
        let lists = nearest_neighbours(points.view(), 3);
        let indices = |i: usize| lists[i].iter().map(|n| n.index).collect::<Vec<_>>();
        assert_eq!(indices(1), vec![4, 0, 2]);
        assert_eq!(indices(4), vec![1, 0, 2]);
        assert_eq!(indices(3), vec![2, 1, 4]);
        assert_eq!(lists[3][0].squared_distance, 1.0);
        assert_eq!(lists[3][2].squared_distance, 4.0);
        assert_eq!(nearest_neighbours(points.view(), 10)[0].len(), 4);
    }

    #[test]
    fn squared_distance_handles_every_tail_length() {
        for d in 1..10 {
            let a: Vec<f64> = (0..d).map(|i| i as f64 * 0.5).collect();
            let b: Vec<f64> = (0..d).map(|i| 1.0 - i as f64).collect();
            let expected: f64 = a.iter().zip(&b).map(|(x, y)| (x - y).powi(2)).sum();
            assert!((squared_distance(&a, &b) - expected).abs() <= 1e-12 * expected.max(1.0));
        }
    }
}
