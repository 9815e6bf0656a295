//! The integration tests, as one binary: one module per area and topic, the
//! helpers they share in `util`.
//!
//! Every number is checked against an independent reference (numpy, scipy,
//! Pillow, torch, pytorch-fid, torch-fidelity, prdc, scikit-learn) made by the
//! script committed beside its fixture (`tests/fixtures/*/make*.py`); each
//! module's doc comment names its references and tolerances.

mod server;
mod util;

mod analysis_tsne;
mod bad_inputs;
mod cli;
mod cli_ablation;
mod cli_bootstrap;
mod cli_core;
mod cli_generate;
mod collapse_triage;
mod convert_checkpoint;
mod convert_float16;
mod convert_graph;
mod convert_inception;
mod convert_stackgan;
mod curve;
mod fuzz;
mod images_batches;
mod images_decode;
mod images_pillow12;
mod images_resize;
mod metrics_bootstrap;
mod metrics_color;
mod metrics_fid;
mod metrics_infinity;
mod metrics_is;
mod metrics_kid;
mod metrics_prdc;
mod metrics_rng;
mod metrics_stats;
mod models_fetch;
mod models_protocol;
mod report_html;
mod report_plot;
mod scale_gpu;
mod scale_spill;
mod shard_merge;
mod slurm;
