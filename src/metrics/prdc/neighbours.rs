//! Exact Euclidean neighbour searches over feature rows, in float64, by blocks.
//!
//! Distances come from coordinate differences, not from the Gram expansion
//! ‖a‖² + ‖b‖² − 2a·b, which loses digits when two samples nearly coincide — the
//! very near-duplicates these statistics look for. Each squared distance is summed
//! in one fixed lane order whichever block, tile shape or thread computes it, so
//! every result is bit-identical for any thread count; only what each statistic
//! needs (k smallest distances per row, counts) outlives a block.

use std::borrow::Cow;
use std::ops::Range;

use ndarray::ArrayView2;
use rayon::prelude::*;

/// Rows per block; a pair of blocks is one unit of parallel work.
const BLOCK: usize = 64;
/// Partial sums per distance: coordinate `d` is added to lane `d % LANES`.
const LANES: usize = 4;
/// Rows of the first and second set that one micro-tile pairs up.
const TILE_ROWS: usize = 4;
const TILE_COLS: usize = 2;

/// A feature matrix as contiguous rows (borrowed when already in row-major order).
pub(super) struct Rows<'a> {
    data: Cow<'a, [f32]>,
    n: usize,
    dim: usize,
}

impl<'a> Rows<'a> {
    pub(super) fn new(x: ArrayView2<'a, f32>) -> Self {
        let (n, dim) = x.dim();
        let data = match x.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            None => Cow::Owned(x.iter().copied().collect()),
        };
        Rows { data, n, dim }
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    fn blocks(&self) -> usize {
        self.n.div_ceil(BLOCK)
    }

    fn block(&self, b: usize) -> Range<usize> {
        b * BLOCK..((b + 1) * BLOCK).min(self.n)
    }
}

/// Squared distances between `R` rows of one set and `C` rows of another, in
/// float64 with the fixed lane order described in the module docs.
#[inline(always)]
fn squared_distances<const R: usize, const C: usize>(
    a: [&[f32]; R],
    b: [&[f32]; C],
) -> [[f64; C]; R] {
    let a = a.map(|row| row.as_chunks::<LANES>());
    let b = b.map(|row| row.as_chunks::<LANES>());
    let mut acc = [[[0.0f64; LANES]; C]; R];
    for k in 0..a[0].0.len() {
        let mut x = [[0.0f64; LANES]; R];
        let mut y = [[0.0f64; LANES]; C];
        for (x, (full, _)) in x.iter_mut().zip(&a) {
            for (x, &v) in x.iter_mut().zip(&full[k]) {
                *x = f64::from(v);
            }
        }
        for (y, (full, _)) in y.iter_mut().zip(&b) {
            for (y, &v) in y.iter_mut().zip(&full[k]) {
                *y = f64::from(v);
            }
        }
        for r in 0..R {
            for c in 0..C {
                for l in 0..LANES {
                    let t = x[r][l] - y[c][l];
                    acc[r][c][l] += t * t;
                }
            }
        }
    }
    for (acc, (_, x_tail)) in acc.iter_mut().zip(&a) {
        for (lanes, (_, y_tail)) in acc.iter_mut().zip(&b) {
            for ((sum, &x), &y) in lanes.iter_mut().zip(*x_tail).zip(*y_tail) {
                let t = f64::from(x) - f64::from(y);
                *sum += t * t;
            }
        }
    }
    acc.map(|row| row.map(|s| (s[0] + s[1]) + (s[2] + s[3])))
}

/// One task's tile of distances between a block of rows and another block.
#[derive(Default)]
struct Tile {
    cols: usize,
    distances: Vec<f64>,
}

impl Tile {
    /// Distances between rows `ra` of `a` and rows `rb` of `b`.
    ///
    /// Uses AVX2 registers where the CPU has them. No fused multiply-add is ever
    /// emitted (Rust does not contract float operations), so every path rounds
    /// every operation identically and gives the same bits.
    fn compute(&mut self, a: &Rows, ra: Range<usize>, b: &Rows, rb: Range<usize>) {
        self.cols = rb.len();
        self.distances.clear();
        self.distances.resize(ra.len() * rb.len(), 0.0);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { self.fill_avx2(a, ra, b, rb) };
        }
        self.fill(a, ra, b, rb)
    }

    /// The distances from row `r` of the first block to every row of the second.
    fn row(&self, r: usize) -> &[f64] {
        &self.distances[r * self.cols..(r + 1) * self.cols]
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fill_avx2(&mut self, a: &Rows, ra: Range<usize>, b: &Rows, rb: Range<usize>) {
        self.fill(a, ra, b, rb)
    }

    #[inline(always)]
    fn fill(&mut self, a: &Rows, ra: Range<usize>, b: &Rows, rb: Range<usize>) {
        let cols = self.cols;
        let mut at = |i: usize, j: usize, sq: f64| {
            self.distances[(i - ra.start) * cols + j - rb.start] = sq.sqrt();
        };
        let mut i = ra.start;
        while i < ra.end {
            let rows = TILE_ROWS.min(ra.end - i);
            let mut j = rb.start;
            while j < rb.end {
                let tile_cols = TILE_COLS.min(rb.end - j);
                if rows == TILE_ROWS && tile_cols == TILE_COLS {
                    let d = squared_distances(
                        std::array::from_fn::<_, TILE_ROWS, _>(|r| a.row(i + r)),
                        std::array::from_fn::<_, TILE_COLS, _>(|c| b.row(j + c)),
                    );
                    for (r, row) in d.iter().enumerate() {
                        for (c, &sq) in row.iter().enumerate() {
                            at(i + r, j + c, sq);
                        }
                    }
                } else {
                    for r in 0..rows {
                        for c in 0..tile_cols {
                            let [[sq]] = squared_distances([a.row(i + r)], [b.row(j + c)]);
                            at(i + r, j + c, sq);
                        }
                    }
                }
                j += tile_cols;
            }
            i += rows;
        }
    }
}

/// Contiguous, roughly equal shares of `units` work items, one per parallel task;
/// at most `MAX_SHARES`, since each share keeps its own per-sample lists.
fn shares(units: usize) -> Vec<Range<usize>> {
    const MAX_SHARES: usize = 64;
    let count = (4 * rayon::current_num_threads()).clamp(1, MAX_SHARES.min(units.max(1)));
    (0..count)
        .map(|s| s * units / count..(s + 1) * units / count)
        .collect()
}

/// Inserts `d` into `best`, the ascending list of the smallest distances seen.
fn keep_smallest(best: &mut [f64], d: f64) {
    let last = best.len() - 1;
    if d < best[last] {
        let mut p = last;
        while p > 0 && best[p - 1] > d {
            best[p] = best[p - 1];
            p -= 1;
        }
        best[p] = d;
    }
}

/// The `k` smallest distances from every row of `x` to the OTHER rows of `x`,
/// ascending: row `i`'s list is `out[i * k..(i + 1) * k]`. Needs `1 ≤ k < x.n`.
///
/// Each distance is computed once (block pairs above the diagonal) and offered to
/// both of its rows. The k smallest values of a multiset do not depend on the order
/// they arrive in, so the merge of the tasks' lists is the same for any thread count.
pub(super) fn nearest_within(x: &Rows, k: usize) -> Vec<f64> {
    let nb = x.blocks();
    let pairs: Vec<(usize, usize)> = (0..nb)
        .flat_map(|bi| (bi..nb).map(move |bj| (bi, bj)))
        .collect();
    let lists: Vec<Vec<f64>> = shares(pairs.len())
        .into_par_iter()
        .map(|share| {
            let mut best = vec![f64::INFINITY; x.n * k];
            let mut tile = Tile::default();
            for &(bi, bj) in &pairs[share] {
                let (ri, rj) = (x.block(bi), x.block(bj));
                tile.compute(x, ri.clone(), x, rj.clone());
                for (r, i) in ri.enumerate() {
                    for (&d, j) in tile.row(r).iter().zip(rj.clone()) {
                        if bi == bj && j <= i {
                            continue;
                        }
                        keep_smallest(&mut best[i * k..(i + 1) * k], d);
                        keep_smallest(&mut best[j * k..(j + 1) * k], d);
                    }
                }
            }
            best
        })
        .collect();
    let mut lists = lists.into_iter();
    let mut best = lists.next().unwrap_or_else(|| vec![f64::INFINITY; x.n * k]);
    for other in lists {
        for (mine, theirs) in best.chunks_mut(k).zip(other.chunks(k)) {
            for &d in theirs {
                keep_smallest(mine, d);
            }
        }
    }
    best
}

/// What precision, recall, density and coverage need from the real–fake distances.
pub(super) struct CrossNeighbours {
    /// Per fake sample: how many real k-NN balls hold it (`d < real radius`).
    pub(super) real_balls_holding_fake: Vec<u64>,
    /// Per real sample: whether some fake k-NN ball holds it (`d < fake radius`).
    pub(super) real_in_fake_ball: Vec<bool>,
    /// Per real sample: the distance to its nearest fake sample.
    pub(super) nearest_fake: Vec<f64>,
    /// Per fake sample: the smallest `d / real radius` over the real samples
    /// (≥ 1 exactly when no real ball holds it; how far outside it lies).
    pub(super) nearest_ball_ratio: Vec<f64>,
}

/// One task's share of [`CrossNeighbours`]: per fake sample over its real
/// blocks, per real sample of its blocks.
struct CrossPart {
    holding: Vec<u64>,
    in_ball: Vec<bool>,
    nearest: Vec<f64>,
    ratio: Vec<f64>,
}

/// Walks all real–fake distances once, by blocks of real rows, keeping only the
/// per-sample counts, flags and minima that PR-DC and the failure triage need.
pub(super) fn cross_neighbours(
    real: &Rows,
    fake: &Rows,
    real_radii: &[f64],
    fake_radii: &[f64],
) -> CrossNeighbours {
    let parts: Vec<CrossPart> = shares(real.blocks())
        .into_par_iter()
        .map(|share| {
            let mut holding = vec![0u64; fake.n];
            let mut ratio = vec![f64::INFINITY; fake.n];
            let mut in_ball = Vec::new();
            let mut nearest = Vec::new();
            let mut tile = Tile::default();
            for bi in share {
                let ri = real.block(bi);
                let (first, count) = (in_ball.len(), ri.len());
                in_ball.resize(first + count, false);
                nearest.resize(first + count, f64::INFINITY);
                for bj in 0..fake.blocks() {
                    let rj = fake.block(bj);
                    tile.compute(real, ri.clone(), fake, rj.clone());
                    for (r, i) in ri.clone().enumerate() {
                        for (&d, j) in tile.row(r).iter().zip(rj.clone()) {
                            holding[j] += u64::from(d < real_radii[i]);
                            // A zero radius gives inf or NaN, which `min` passes over.
                            ratio[j] = ratio[j].min(d / real_radii[i]);
                            in_ball[first + r] |= d < fake_radii[j];
                            nearest[first + r] = nearest[first + r].min(d);
                        }
                    }
                }
            }
            CrossPart {
                holding,
                in_ball,
                nearest,
                ratio,
            }
        })
        .collect();
    let mut out = CrossNeighbours {
        real_balls_holding_fake: vec![0; fake.n],
        real_in_fake_ball: Vec::with_capacity(real.n),
        nearest_fake: Vec::with_capacity(real.n),
        nearest_ball_ratio: vec![f64::INFINITY; fake.n],
    };
    for part in parts {
        let CrossPart {
            holding,
            in_ball,
            nearest,
            ratio,
        } = part;
        for (total, h) in out.real_balls_holding_fake.iter_mut().zip(holding) {
            *total += h;
        }
        // The minimum of a set does not depend on the order parts arrive in.
        for (best, r) in out.nearest_ball_ratio.iter_mut().zip(ratio) {
            *best = best.min(r);
        }
        out.real_in_fake_ball.extend(in_ball);
        out.nearest_fake.extend(nearest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::NumpyRandomState;
    use ndarray::Array2;

    fn uniform(seed: u32, n: usize, dim: usize) -> Array2<f32> {
        let mut rng = NumpyRandomState::new(seed);
        Array2::from_shape_simple_fn((n, dim), || rng.random_sample() as f32)
    }

    /// The AVX2 and portable paths round every operation alike: same bits.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_and_portable_tiles_agree_bit_for_bit() {
        if !std::is_x86_feature_detected!("avx2") {
            return;
        }
        let (a, b) = (uniform(1, 9, 67), uniform(2, 7, 67));
        let (a, b) = (Rows::new(a.view()), Rows::new(b.view()));
        let (mut portable, mut avx2) = (Tile::default(), Tile::default());
        for tile in [&mut portable, &mut avx2] {
            tile.cols = 7;
            tile.distances = vec![0.0; 9 * 7];
        }
        portable.fill(&a, 0..9, &b, 0..7);
        // SAFETY: the CPU supports AVX2, checked above.
        unsafe { avx2.fill_avx2(&a, 0..9, &b, 0..7) };
        let bits = |t: &Tile| t.distances.iter().map(|d| d.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&portable), bits(&avx2));
    }

    /// Every distance agrees with a plain float64 difference sum to rounding.
    #[test]
    fn tiles_hold_euclidean_distances() {
        let (a, b) = (uniform(3, 9, 67), uniform(4, 7, 67));
        let (ra, rb) = (Rows::new(a.view()), Rows::new(b.view()));
        let mut tile = Tile::default();
        tile.compute(&ra, 2..9, &rb, 1..7);
        for i in 2..9 {
            for j in 1..7 {
                let exact = a
                    .row(i)
                    .iter()
                    .zip(b.row(j))
                    .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let got = tile.row(i - 2)[j - 1];
                assert!(
                    (got - exact).abs() <= 1e-14 * exact,
                    "{i},{j}: {got} vs {exact}"
                );
            }
        }
    }
}
