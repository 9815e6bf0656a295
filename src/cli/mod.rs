//! The command line: clap definitions only. Flag groups are defined once
//! (`flags`), with help text and the library's defaults; one file per
//! command family; every argument struct becomes its command's configuration
//! through `From`, the one pattern. Nothing below this module sees clap.

mod curve;
mod flags;
mod generation;
mod models;
mod scoring;
mod studies;

use clap::{Parser, Subcommand};

use stackgan_eval::app::Command as AppCommand;

#[derive(Debug, Parser)]
#[command(
    name = "stackgan-eval",
    version,
    about = "Evaluate text-to-image GANs as the StackGAN papers did: FID, IS, KID on ONNX Runtime",
    help_expected = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fréchet Inception Distance between two folders or statistics files.
    Fid(scoring::FidArgs),
    /// Inception Score of a folder (or of logits in a feature file).
    Is(scoring::IsCommandArgs),
    /// Kernel Inception Distance between two folders or feature files.
    Kid(scoring::KidCommandArgs),
    /// Several metrics in one pass over the images.
    Score(scoring::ScoreArgs),
    /// Write pytorch-fid compatible statistics (mu, sigma) of a folder.
    Stats(scoring::StatsArgs),
    /// Write a folder's features (pool, logits, logits_unbiased, files) for later runs.
    Extract(scoring::ExtractArgs),
    /// Samples of a StackGAN generator as PNGs per branch (64/, 128/, 256/) with samples.csv.
    Generate(generation::GenerateArgs),
    /// Generate and score in one streaming pass: IS, FID, KID per branch and colour consistency.
    Eval(generation::EvalArgs),
    /// Every checkpoint of a training run through eval: curve.csv, curve.json and FID/IS/KID plots against iteration.
    Curve(curve::CurveArgs),
    /// Every variant of an ablation config through the same pipeline → CSV, Markdown, JSON, charts.
    Ablation(studies::AblationArgs),
    /// Score reports (--json files) from separate runs → one table (CSV, Markdown, JSON).
    Compare(studies::CompareArgs),
    /// t-SNE map of several sets (PNG scatter plot and image maps, CSV) and their collapse statistics.
    Tsne(studies::TsneArgs),
    /// Combine the partial results of a run's shards (--shard I/N) into what the single run writes.
    Merge(studies::MergeArgs),
    /// Run the whole pipeline on the bundled demo models and images.
    Demo(studies::DemoArgs),
    /// One HTML page (index.html, self-contained) of runs' JSON reports: tables, charts, branch grids, failure triage.
    Report(studies::ReportArgs),
    /// The model cache and conversion without Python: fetch, list, convert.
    Models(models::ModelsArgs),
}

impl From<Command> for AppCommand {
    fn from(command: Command) -> Self {
        match command {
            Command::Fid(a) => AppCommand::Score(a.into()),
            Command::Is(a) => AppCommand::Score(a.into()),
            Command::Kid(a) => AppCommand::Score(a.into()),
            Command::Score(a) => AppCommand::Score(a.into()),
            Command::Stats(a) => AppCommand::Stats(a.into()),
            Command::Extract(a) => AppCommand::Extract(a.into()),
            Command::Generate(a) => AppCommand::Generate(a.into()),
            Command::Eval(a) => AppCommand::Eval(a.into()),
            Command::Curve(a) => AppCommand::Curve(a.into()),
            Command::Ablation(a) => AppCommand::Ablation(a.into()),
            Command::Compare(a) => AppCommand::Compare(a.into()),
            Command::Tsne(a) => AppCommand::Tsne(a.into()),
            Command::Merge(a) => AppCommand::Merge(a.into()),
            Command::Demo(a) => AppCommand::Demo(a.into()),
            Command::Report(a) => AppCommand::Report(a.into()),
            Command::Models(a) => AppCommand::Models(a.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};
    use stackgan_eval::app::Command as AppCommand;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &str) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("stackgan-eval").chain(args.split_whitespace()))
    }

    #[test]
    fn bad_counts_and_flags_a_command_does_not_honour_are_refused_naming_the_flag() {
        // (arguments, what the error must name)
        let refusals = [
            ("generate --model g.onnx --out o --images -1", "--images"),
            ("generate --model g.onnx --out o --images many", "--images"),
            ("generate --model g.onnx --out o --samples -5", "--samples"),
            ("eval --model g.onnx --captions -2", "--captions"),
            ("score --fake f --kid-subsets -1", "--kid-subsets"),
            ("score --fake f --splits 0", "--splits"),
            ("score --fake f --batch-size 5000", "--batch-size"),
            ("score --fake f --metrics fid,xyz", "xyz"),
            ("is --images f --is-protocol pytorch", "--is-protocol"),
            ("tsne --set a=b --out o --perplexity x", "--perplexity"),
            ("tsne --set a=b --out o --skip-bad", "--skip-bad"),
            ("tsne --set a=b --out o --json t.json", "--json"),
            (
                "stats --images f --extractor e --out o --json t.json",
                "--json",
            ),
            (
                "extract --images f --extractor e --out o --json t.json",
                "--json",
            ),
            ("demo --json t.json", "--json"),
            (
                "generate --model g.onnx --out o --protocol plain",
                "--protocol",
            ),
        ];
        for (args, names) in refusals {
            let error = parse(args).expect_err(args).to_string();
            assert!(error.contains(names), "{args}: {error}");
        }
    }

    #[test]
    fn defaults_come_from_the_library() {
        let Ok(Cli {
            command: Command::Score(args),
        }) = parse("score --fake f")
        else {
            panic!("score parses");
        };
        let AppCommand::Score(command) = AppCommand::from(Command::Score(args)) else {
            panic!("score is a score command");
        };
        assert_eq!(
            command.scoring,
            stackgan_eval::scoring::ScoringOptions::default()
        );
        assert_eq!(
            command.exec.batch_size,
            stackgan_eval::options::ExecOptions::DEFAULT_BATCH_SIZE
        );
        assert!(command.real.is_none());
    }
}
