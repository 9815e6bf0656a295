//! Metrics over features or statistics (never models): FID and its statistics,
//! Inception Score, KID, PR-DC and near-duplicates (collapse), and colour consistency
//! between generator branches.

pub mod bootstrap;
pub mod color;
pub mod fid;
pub mod inception_score;
pub mod kid;
pub mod prdc;
pub mod stats;

pub use bootstrap::{Resample, draw_resamples, percentile_interval, resampled_stats};
pub use color::{
    ColorConsistency, ColorConsistencyAccumulator, ColorError, ColorMoments, color_moments,
};
pub use fid::{FidError, FrechetDistance, frechet_distance};
pub use inception_score::{InceptionScore, IsConfig, IsError, SplitRule, inception_score};
pub use kid::{KernelInceptionDistance, KidConfig, KidError, kernel_inception_distance};
pub use prdc::{
    DuplicateThreshold, Prdc, PrdcConfig, PrdcError, calibrate_duplicate_threshold,
    near_duplicate_rate, prdc, prdc_weighted,
};
pub use stats::{CovarianceProblem, FidStats, StatsAccumulator, StatsError};
