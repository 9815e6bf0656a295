//! Mode collapse as numbers: precision and recall of k-NN manifolds
//! (Kynkäänniemi et al. 2019), density and coverage (Naeem et al. 2020), and a
//! near-duplicate rate.
//!
//! [`prdc`] gives what the authors' `prdc` package (`prdc.compute_prdc`, version
//! 0.2) gives on the same features: the k-NN radius of a sample is the Euclidean
//! distance to its k-th nearest OTHER sample of the same set (the package takes the
//! (k+1)-th smallest distance of a row that includes the sample's own zero), and a
//! sample lies in a ball when its distance is strictly less than the radius.
//!
//! Distances are float64 Euclidean distances summed from coordinate differences.
//! The package expands ‖a‖² + ‖b‖² − 2a·b instead; the two differ only in the last
//! digits, which changes a count only when a distance and a radius nearly tie.
//! Given float32 features the package also rounds its distances to float32: on
//! uniform 2000×2048 sets that moved one of 10,000 density counts (1.0364, against
//! 1.0365 from both this code and the package on float64 features). Unlike the package (three N×N matrices), memory stays
//! linear in the sample counts: blocks of distances are reduced as they are made.
//!
//! A collapsed generator shows as low recall and coverage (its few modes cover
//! little of the real manifold) and as a near-duplicate rate close to 1, while
//! precision and density can stay high (its samples sit on the real manifold).

mod neighbours;

use ndarray::ArrayView2;

use neighbours::{Rows, cross_neighbours, nearest_within};

use super::bootstrap::numpy_linear_quantile;

/// PR-DC settings.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PrdcConfig {
    /// Neighbours that define a sample's ball (5, as the `prdc` package and Naeem et al.).
    pub k: usize,
}

impl Default for PrdcConfig {
    fn default() -> Self {
        PrdcConfig { k: 5 }
    }
}

/// Precision, recall, density and coverage of a fake set against a real set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Prdc {
    /// Share of fake samples inside at least one real k-NN ball (fidelity).
    pub precision: f64,
    /// Share of real samples inside at least one fake k-NN ball (diversity).
    pub recall: f64,
    /// Real balls holding each fake sample, divided by k, averaged over fake samples;
    /// 1 on average for matching distributions, may exceed 1.
    pub density: f64,
    /// Share of real samples whose own ball holds at least one fake sample.
    pub coverage: f64,
    /// Neighbours that defined the balls.
    pub k: usize,
    /// Real samples.
    pub n_real: usize,
    /// Fake samples.
    pub n_fake: usize,
}

/// What the failure triage reads of each fake sample, from the neighbour
/// searches PR-DC makes anyway (no second pass over the distances).
#[derive(Clone, Debug, PartialEq)]
pub struct SampleNeighbours {
    /// Distance from each fake sample to its nearest OTHER fake sample.
    pub nearest_other: Vec<f64>,
    /// Real k-NN balls holding each fake sample; 0 means outside the real
    /// manifold (precision's criterion).
    pub real_balls_holding: Vec<u64>,
    /// Per fake sample: the smallest `distance / radius` over the real samples'
    /// k-NN balls (float64 division); at least 1 for a sample no ball holds.
    pub ball_ratio: Vec<f64>,
}

/// Near-duplicate threshold calibrated on a real set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DuplicateThreshold {
    /// Quantile of the real nearest-neighbour distances that set `distance`.
    pub quantile: f64,
    /// Samples whose nearest other sample is closer than this are near-duplicates.
    pub distance: f64,
    /// Feature dimension of the real set; a set of another dimension is refused.
    pub dim: usize,
}

/// Why a collapse statistic could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum PrdcError {
    #[error("the {which} feature set is empty; give it at least {needed} samples")]
    Empty { which: &'static str, needed: usize },
    #[error("PR-DC k must be at least 1 (got 0); use the default k = 5")]
    ZeroK,
    #[error(
        "PR-DC k = {k} needs more than k samples in the {which} set, which has {n}; lower k below {n} or add samples"
    )]
    TooFewSamples {
        which: &'static str,
        k: usize,
        n: usize,
    },
    #[error(
        "a near-duplicate rate needs at least 2 samples in the {which} set, which has {n}; add samples"
    )]
    TooFewForDuplicates { which: &'static str, n: usize },
    #[error(
        "feature dimensions differ: {left_name} D={left}, {right_name} D={right}; use features of the same extractor layer"
    )]
    Dimension {
        left_name: &'static str,
        left: usize,
        right_name: &'static str,
        right: usize,
    },
    #[error("{which} features contain NaN or infinity; check the extractor output")]
    NonFinite { which: &'static str },
    #[error("duplicate-threshold quantile must lie strictly between 0 and 1 (got {0}); use 0.05")]
    Quantile(f64),
    #[error(
        "near-duplicate threshold distance must be finite and at least 0 (got {0}); calibrate it on real features"
    )]
    ThresholdDistance(f64),
}

/// Precision, recall, density and coverage of `fake` (N2, D) against `real` (N1, D)
/// with k-NN balls of `cfg.k` neighbours; both sets need more than k samples.
///
/// Matches `prdc.compute_prdc(real, fake, nearest_k=k)`. Where that package raises
/// (a set of exactly k + 1 samples, whose (k+1)-th partition index is out of range)
/// this takes the farthest other sample as the radius.
pub fn prdc(
    real: ArrayView2<f32>,
    fake: ArrayView2<f32>,
    cfg: &PrdcConfig,
) -> Result<Prdc, PrdcError> {
    prdc_per_sample(real, fake, cfg).map(|(scores, _)| scores)
}

/// [`prdc`] and, from the same searches, what each fake sample's neighbours
/// say of it (the failure triage's input).
pub fn prdc_per_sample(
    real: ArrayView2<f32>,
    fake: ArrayView2<f32>,
    cfg: &PrdcConfig,
) -> Result<(Prdc, SampleNeighbours), PrdcError> {
    weighted_with_neighbours(real, None, fake, None, cfg)
}

/// [`prdc`] of sets that hold each row `weights[i]` times (a bootstrap
/// resample), given each distinct row once; `None`: every row once, which is
/// [`prdc`] exactly.
///
/// The k-NN radii are taken over the distinct rows. Over the repeated rows a
/// copy would be its own nearest neighbour: with k = 5 every row drawn six
/// times or more would get radius 0, and rows drawn twice would pull radii
/// towards 0 at random — the intervals would measure that artefact. Over the
/// distinct rows (about 63% of n), each ball still holds k other samples,
/// and precision, recall, density and coverage, which are close to
/// independent of n at fixed k, keep their scale. The weights then count
/// each sample as often as it was drawn: the shares are over the resampled
/// set, and density sums the distinct real balls holding each fake sample,
/// weighted by that sample's multiplicity.
pub fn prdc_weighted(
    real: ArrayView2<f32>,
    real_weights: Option<&[u32]>,
    fake: ArrayView2<f32>,
    fake_weights: Option<&[u32]>,
    cfg: &PrdcConfig,
) -> Result<Prdc, PrdcError> {
    weighted_with_neighbours(real, real_weights, fake, fake_weights, cfg).map(|(scores, _)| scores)
}

/// [`prdc_weighted`] with each fake sample's neighbour facts.
fn weighted_with_neighbours(
    real: ArrayView2<f32>,
    real_weights: Option<&[u32]>,
    fake: ArrayView2<f32>,
    fake_weights: Option<&[u32]>,
    cfg: &PrdcConfig,
) -> Result<(Prdc, SampleNeighbours), PrdcError> {
    let k = cfg.k;
    if k == 0 {
        return Err(PrdcError::ZeroK);
    }
    check_set("real", real, k + 1)?;
    check_set("fake", fake, k + 1)?;
    check_same_dim(("real", real.ncols()), ("fake", fake.ncols()))?;
    let (real_rows, fake_rows) = (Rows::new(real), Rows::new(fake));
    let real_radii = kth_of_each(&nearest_within(&real_rows, k), k);
    let fake_lists = nearest_within(&fake_rows, k);
    let fake_radii = kth_of_each(&fake_lists, k);
    let cross = cross_neighbours(&real_rows, &fake_rows, &real_radii, &fake_radii);
    let real_weight = |i: usize| real_weights.map_or(1, |w| u64::from(w[i]));
    let fake_weight = |i: usize| fake_weights.map_or(1, |w| u64::from(w[i]));
    let n_real: u64 = (0..real.nrows()).map(real_weight).sum();
    let n_fake: u64 = (0..fake.nrows()).map(fake_weight).sum();
    // Weighted counts of the rows where `hit` holds.
    let count_real = |hit: &dyn Fn(usize) -> bool| -> u64 {
        (0..real.nrows()).filter(|&i| hit(i)).map(real_weight).sum()
    };

    let holding = &cross.real_balls_holding_fake;
    let covered = count_real(&|i| cross.nearest_fake[i] < real_radii[i]);
    let in_fake_ball = count_real(&|i| cross.real_in_fake_ball[i]);
    let held: u64 = (0..fake.nrows())
        .filter(|&j| holding[j] > 0)
        .map(fake_weight)
        .sum();
    let holding_total: u64 = (0..fake.nrows()).map(|j| holding[j] * fake_weight(j)).sum();
    let scores = Prdc {
        precision: share(held, n_fake),
        recall: share(in_fake_ball, n_real),
        // The package's order: (1 / k) * mean(count per fake sample).
        density: (1.0 / k as f64) * (holding_total as f64 / n_fake as f64),
        coverage: share(covered, n_real),
        k,
        n_real: n_real as usize,
        n_fake: n_fake as usize,
    };
    let samples = SampleNeighbours {
        nearest_other: fake_lists.chunks(k).map(|list| list[0]).collect(),
        real_balls_holding: cross.real_balls_holding_fake,
        ball_ratio: cross.nearest_ball_ratio,
    };
    Ok((scores, samples))
}

/// Calibrates the near-duplicate threshold on real features: the `quantile`
/// (0.05 by convention) of the distances from each real sample to its nearest OTHER
/// real sample, with numpy's default linear interpolation (`np.quantile`).
///
/// By construction the real set itself then has a near-duplicate rate of about
/// `quantile`, a held-out real sample of the same size about the same, and a
/// collapsed generator a rate near 1.
pub fn calibrate_duplicate_threshold(
    real: ArrayView2<f32>,
    quantile: f64,
) -> Result<DuplicateThreshold, PrdcError> {
    if !(quantile > 0.0 && quantile < 1.0) {
        return Err(PrdcError::Quantile(quantile));
    }
    check_duplicate_set("real", real)?;
    let mut nearest = nearest_within(&Rows::new(real), 1);
    nearest.sort_unstable_by(f64::total_cmp);
    Ok(DuplicateThreshold {
        quantile,
        distance: numpy_linear_quantile(&nearest, quantile),
        dim: real.ncols(),
    })
}

/// Share of samples in `set` whose nearest OTHER sample of `set` is strictly closer
/// than `threshold.distance`: about the threshold's quantile for real data, near 1
/// for a collapsed generator.
pub fn near_duplicate_rate(
    set: ArrayView2<f32>,
    threshold: &DuplicateThreshold,
) -> Result<f64, PrdcError> {
    if !(threshold.distance.is_finite() && threshold.distance >= 0.0) {
        return Err(PrdcError::ThresholdDistance(threshold.distance));
    }
    check_duplicate_set("scored", set)?;
    check_same_dim(("threshold's real", threshold.dim), ("scored", set.ncols()))?;
    let nearest = nearest_within(&Rows::new(set), 1);
    let close = nearest.iter().filter(|&&d| d < threshold.distance).count();
    Ok(share(close as u64, set.nrows() as u64))
}

/// The last (k-th smallest) entry of each row's ascending list of `k` distances.
fn kth_of_each(lists: &[f64], k: usize) -> Vec<f64> {
    lists.chunks(k).map(|list| list[k - 1]).collect()
}

fn share(count: u64, total: u64) -> f64 {
    count as f64 / total as f64
}

fn check_set(which: &'static str, x: ArrayView2<f32>, needed: usize) -> Result<(), PrdcError> {
    let n = x.nrows();
    if n == 0 {
        return Err(PrdcError::Empty { which, needed });
    }
    if n < needed {
        return Err(PrdcError::TooFewSamples {
            which,
            k: needed - 1,
            n,
        });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(PrdcError::NonFinite { which });
    }
    Ok(())
}

fn check_duplicate_set(which: &'static str, x: ArrayView2<f32>) -> Result<(), PrdcError> {
    match x.nrows() {
        0 => Err(PrdcError::Empty { which, needed: 2 }),
        1 => Err(PrdcError::TooFewForDuplicates { which, n: 1 }),
        _ if x.iter().any(|v| !v.is_finite()) => Err(PrdcError::NonFinite { which }),
        _ => Ok(()),
    }
}

fn check_same_dim(
    (left_name, left): (&'static str, usize),
    (right_name, right): (&'static str, usize),
) -> Result<(), PrdcError> {
    if left == right {
        Ok(())
    } else {
        Err(PrdcError::Dimension {
            left_name,
            left,
            right_name,
            right,
        })
    }
}
