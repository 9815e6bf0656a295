//! The scoring core. [`Metric`] spelt one way everywhere; what each metric
//! needs from each side ([`Requirements`], decided in one place); the one
//! [`Scorer`] that loads the runtime and each model once and turns image
//! folders, statistics, feature files and generated samples into typed
//! reports ([`ScoreReport`], [`EvalReport`]). `score`, `stats`, `extract`,
//! `eval`, `ablation`, `tsne` and the demo all compute through it.

mod bootstrap;
mod eval;
mod eval_partial;
mod extract;
mod measure;
mod metric;
mod model;
mod options;
mod paired;
mod partial;
mod report;
mod scorer;
mod side;
mod source;

pub use bootstrap::{BOOTSTRAPPED, Bootstrapped};
pub use eval_partial::{EvalContext, merge_eval};
pub use extract::{Extraction, ModelRun, Statistics};
pub use measure::measure;
pub use metric::{Metric, Needs, Requirements};
pub use options::{BootstrapOptions, IsOptions, IsProtocol, PrdcOptions, ScoringOptions};
pub use paired::{PairedComparison, PairedRule, Verdict, compare_paired};
pub use partial::{ScoreContext, merge_score};
pub use report::{
    BootstrapSummary, BranchReport, ColorPair, EvalReport, GeneratorProvenance, ModelProvenance,
    ReportFile, ScoreReport,
};
pub use scorer::Scorer;
pub use side::{IsLogits, Side, SideAccumulator};
pub use source::{Input, Source};
