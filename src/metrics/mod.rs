//! Metrics over features or statistics (never models): FID and its statistics,
//! Inception Score, KID, and colour consistency between generator branches.

pub mod color;
pub mod fid;
pub mod inception_score;
pub mod kid;
pub mod stats;

pub use color::{
    ColorConsistency, ColorConsistencyAccumulator, ColorError, ColorMoments, color_moments,
};
pub use fid::{FidError, FrechetDistance, frechet_distance};
pub use inception_score::{InceptionScore, IsConfig, IsError, SplitRule, inception_score};
pub use kid::{KernelInceptionDistance, KidConfig, KidError, kernel_inception_distance};
pub use stats::{FidStats, StatsAccumulator, StatsError};
