//! The generator pipeline: a StackGAN generator exported to ONNX, fed text
//! embeddings and seeded noise (or exact noise from a file), producing images
//! at every branch of the tree, written as PNGs or streamed into the metrics.

mod embeddings;
mod generator;
mod job;
mod noise;
mod output;
mod plan;
mod quantize;
mod run;

use std::path::PathBuf;

pub use embeddings::Embeddings;
pub use generator::{Branch, BranchSelection, GeneratedBatch, Generator, branch_folder};
pub use job::{Job, JobSpec};
pub use noise::{InputFeed, NoiseFile, NoiseSource, noise_key};
pub use output::{Opened, RAW_NPZ, RUN_JSON, RawOutput, RunFolder, RunIdentity, SAMPLES_CSV};
pub use plan::{PlanRequest, Sample, SamplePlan, Sampling, V2_BATCH, V2_UNCOND_SAMPLES};
pub use quantize::to_rgb8;
pub use run::{GenerateConfig, GenerateReport, generate};

use crate::models::ModelError;
use crate::runtime::RuntimeError;

/// Errors of generation; each names the file or flag and the fix.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error("embeddings {path}: {reason}")]
    Embeddings { path: PathBuf, reason: String },
    #[error("noise file {path}: {reason}")]
    NoiseFile { path: PathBuf, reason: String },
    #[error("{flag} {reason}")]
    Flag { flag: &'static str, reason: String },
    #[error("cannot write {path}: {reason}; choose a writable --out")]
    Output { path: PathBuf, reason: String },
    #[error(
        "output folder {out} is not usable: {reason}; choose an empty --out (or pass --resume to continue an interrupted run there)"
    )]
    OutputNotEmpty { out: PathBuf, reason: String },
    #[error(
        "output folder {out} holds an unfinished run ({done} of {total} samples); pass --resume to continue it, or choose another --out"
    )]
    Unfinished {
        out: PathBuf,
        done: usize,
        total: usize,
    },
    #[error(
        "output folder {out} already holds a finished run; choose another --out (the same command with --resume checks that it is this run and does nothing)"
    )]
    Finished { out: PathBuf },
    #[error(
        "--resume: output folder {out} holds a finished run without {}, so whether it is this run cannot be checked; choose another --out",
        output::RUN_JSON
    )]
    FinishedUnknown { out: PathBuf },
    #[error(
        "--resume: {flag} differs from the run in {out}, which was made with {was} (this command gives {now}); repeat the run's own {flag}, or choose another --out"
    )]
    ResumeMismatch {
        out: PathBuf,
        flag: &'static str,
        was: String,
        now: String,
    },
}
