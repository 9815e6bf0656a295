//! The commands: a configuration in, the library's compute, the typed report
//! out through the report layer's writers. The only part of the library that
//! prints or picks file names; no command calls another. Output targets are
//! checked before any model loads, and a result that cannot be written is
//! printed to stdout before the error.

mod ablation;
mod compare;
mod curve;
mod demo;
mod eval;
mod extract;
mod figures;
mod generate;
mod merge;
mod models;
mod page;
mod paired;
mod progress;
mod report;
mod runs;
mod score;
mod stats;
mod tables;
mod tsne;
mod write;

pub use ablation::AblationCommand;
pub use compare::CompareCommand;
pub use curve::CurveCommand;
pub use demo::DemoCommand;
pub use eval::EvalCommand;
pub use extract::ExtractCommand;
pub use generate::GenerateCommand;
pub use merge::MergeCommand;
pub use models::{ConvertCommand, FetchCommand, ListCommand, ModelsCommand};
pub use report::ReportCommand;
pub use score::ScoreCommand;
pub use stats::StatsCommand;
pub use tsne::TsneCommand;

/// A validated command.
#[derive(Debug, Clone)]
pub enum Command {
    /// `fid`, `is`, `kid` and `score`: one pass, the metrics asked for.
    Score(ScoreCommand),
    Stats(StatsCommand),
    Extract(ExtractCommand),
    Generate(GenerateCommand),
    Eval(EvalCommand),
    /// Shards' partial results → the single run's result.
    Merge(MergeCommand),
    Curve(CurveCommand),
    Ablation(AblationCommand),
    Compare(CompareCommand),
    Tsne(TsneCommand),
    Demo(DemoCommand),
    /// Run reports (JSON) → one HTML page.
    Report(ReportCommand),
    /// `models fetch`, `models list`, `models convert`.
    Models(ModelsCommand),
}

/// Runs a command to completion.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Score(command) => score::run(&command),
        Command::Stats(command) => stats::run(&command),
        Command::Extract(command) => extract::run(&command),
        Command::Generate(command) => generate::run(&command),
        Command::Eval(command) => eval::run(&command),
        Command::Merge(command) => merge::run(&command),
        Command::Curve(command) => curve::run(&command),
        Command::Ablation(command) => ablation::run(&command),
        Command::Compare(command) => compare::run(&command),
        Command::Tsne(command) => tsne::run(&command),
        Command::Demo(command) => demo::run(&command),
        Command::Report(command) => report::run(&command),
        Command::Models(command) => models::run(&command),
    }
}
