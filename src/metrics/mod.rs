//! Metrics over features or statistics (never models): FID and its statistics,
//! Inception Score, their extrapolations to infinitely many samples (FID∞, IS∞), KID, PR-DC and near-duplicates (collapse), and colour consistency
//! between generator branches.

pub mod bootstrap;
pub mod color;
pub mod fid;
pub mod inception_score;
pub mod infinity;
pub mod kid;
pub mod prdc;
pub mod stats;
pub mod triage;

pub use bootstrap::{
    Resample, draw_resamples, percentile_interval, recentred_interval, resampled_stats,
};
pub use color::{
    ColorConsistency, ColorConsistencyAccumulator, ColorError, ColorMoments, color_moments,
};
pub use fid::{FidError, FrechetDistance, frechet_distance};
pub use inception_score::{InceptionScore, IsConfig, IsError, SplitRule, inception_score};
pub use infinity::{Extrapolation, InfinityConfig, InfinityError, fid_infinity, is_infinity};
pub use kid::{KernelInceptionDistance, KidConfig, KidError, kernel_inception_distance};
pub use prdc::{
    DuplicateThreshold, Prdc, PrdcConfig, PrdcError, SampleNeighbours,
    calibrate_duplicate_threshold, near_duplicate_rate, prdc, prdc_per_sample, prdc_weighted,
};
pub use stats::{CovarianceProblem, FidStats, StatsAccumulator, StatsError};
pub use triage::{
    FailureKind, Triage, TriageConfig, TriageCounts, TriageError, TriageExample, TriageInput,
    max_probabilities, triage,
};
