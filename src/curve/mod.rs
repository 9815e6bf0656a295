//! Training curves: every checkpoint of a training run through the same
//! evaluation `eval` runs, one row per checkpoint and branch, in iteration
//! order — the figure StackGAN++ uses to show that v2 trains more stably
//! than v1.
//!
//! The work is resumable and shardable by checkpoint: each checkpoint's
//! result is kept in the output folder ([`CurveStore`]) with the identity of
//! the settings that produced it ([`Settings`]); a later run skips the
//! checkpoints already scored with the same settings, refuses a folder whose
//! rows were scored with other settings, and rescores a checkpoint whose
//! file changed. `--shard I/N` scores part `I` of the sorted checkpoint list;
//! a run without it scores what is left and returns every row.

mod checkpoints;
mod run;
mod settings;
mod store;

use std::path::PathBuf;

pub use checkpoints::{Checkpoint, CheckpointFormat, discover, iteration};
pub use run::{CurveConfig, CurveRun, Failure, run};
pub use settings::{Settings, SettingsOf};
pub use store::{CurveRow, CurveStore};

/// Why a curve cannot be computed; each message names the file or flag and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CurveError {
    #[error("--checkpoints {pattern}: {reason}")]
    Pattern { pattern: String, reason: String },
    #[error(
        "--checkpoints: {} has no iteration number in its name; rename it like netG_210000.pth (the last number in the name is the iteration)",
        path.display()
    )]
    NoIteration { path: PathBuf },
    #[error(
        "--checkpoints: {} and {} both give iteration {iteration}; keep one (narrow the pattern or move one away)",
        first.display(),
        second.display()
    )]
    SameIteration {
        iteration: u64,
        first: PathBuf,
        second: PathBuf,
    },
    #[error(
        "--kind: {} is a PyTorch checkpoint; give --kind (v2-birds, v2-uncond, v1-stage1 or v1-stage2) to convert it",
        path.display()
    )]
    NoKind { path: PathBuf },
    #[error(
        "--out: {} was scored with other settings ({setting}); use the first run's flags, another --out, or delete {} to score every checkpoint again",
        path.display(),
        path.parent().unwrap_or(path).display()
    )]
    OtherSettings { path: PathBuf, setting: String },
    #[error("--out: {} is not a curve row ({reason}); delete it to score its checkpoint again", path.display())]
    BadRow { path: PathBuf, reason: String },
    #[error("--out: cannot write {}: {reason}; check that the folder is writable", path.display())]
    Write { path: PathBuf, reason: String },
}
