//! # stackgan-eval
//!
//! Evaluate text-to-image GANs the way the StackGAN papers did — Inception
//! Score, FID and KID over Inception-v3 features computed with ONNX Runtime —
//! giving the same numbers as pytorch-fid and torch-fidelity.
//!
//! The pipeline: [`images`] (walk, decode, resize) → [`features`] (run an
//! extractor model through [`runtime`]) → [`metrics`] (statistics and
//! distances; they take features, never models).

pub mod analysis;
pub mod app;
pub mod atomic;
pub mod features;
pub mod generate;
pub mod images;
pub mod linalg;
pub mod metrics;
pub mod models;
pub mod npy;
pub mod report;
pub mod rng;
pub mod runtime;
