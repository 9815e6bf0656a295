//! # stackgan-eval
//!
//! Evaluate text-to-image GANs the way the StackGAN papers did — Inception
//! Score, FID and KID over Inception-v3 features computed with ONNX Runtime —
//! giving the same numbers as pytorch-fid and torch-fidelity.
//!
//! The pipeline: [`images`] (walk, decode, resize) → [`features`] (run an
//! extractor model through [`runtime`]) → [`metrics`] (statistics and
//! distances; they take features, never models). [`scoring`] ties them
//! together: one [`scoring::Scorer`] opens the runtime and the models once
//! and turns folders, files and generated samples ([`generate`]) into typed
//! reports; [`ablation`], [`collapse`] and [`curve`] compute through it; [`report`]
//! writes every file. [`app`] is the command line's half: a command's
//! configuration in, the library's compute, the report's writers out.

pub mod ablation;
pub mod analysis;
pub mod app;
pub mod atomic;
pub mod collapse;
pub mod convert;
pub mod curve;
pub mod features;
pub mod generate;
pub mod images;
pub mod linalg;
pub mod metrics;
pub mod models;
pub mod npy;
pub mod options;
pub mod progress;
pub mod report;
pub mod rng;
pub mod runtime;
pub mod scoring;
pub mod shard;
mod spelling;
pub mod synthetic;
