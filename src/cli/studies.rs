//! `ablation`, `compare`, `tsne` and `demo`: the commands that compare
//! models and sets and write report folders.

use std::path::PathBuf;

use clap::Args;

use super::flags::{
    BootstrapArgs, ExtractorArg, HtmlArg, MapArgs, PrdcArgs, ProtocolArgs, QuietArg,
    ScoringRuntimeArgs,
};
use stackgan_eval::app::{
    AblationCommand, CompareCommand, DemoCommand, MergeCommand, ReportCommand, TsneCommand,
};
use stackgan_eval::collapse::CollapseConfig;

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Every shard's partial result (the files `--shard I/N` wrote), in any order.
    #[arg(required = true, value_name = "PART")]
    pub parts: Vec<PathBuf>,
    /// The merged statistics .npz (`stats` shards) or feature file (`extract` shards).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The merged report (`score` and `eval` shards).
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<MergeArgs> for MergeCommand {
    fn from(a: MergeArgs) -> Self {
        MergeCommand {
            parts: a.parts,
            out: a.out,
            json: a.json,
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct AblationArgs {
    /// The ablation config (TOML; see examples/ablation/).
    #[arg(long)]
    pub config: PathBuf,
    /// Folder for ablation.csv, ablation.md, ablation.json and the charts.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub html: HtmlArg,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Replaces the config's `[bootstrap]` section.
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<AblationArgs> for AblationCommand {
    fn from(a: AblationArgs) -> Self {
        AblationCommand {
            exec: a.runtime.into(),
            images: a.protocol.into(),
            config: a.config,
            out: a.out,
            html: a.html.html,
            bootstrap: a.bootstrap.into(),
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// JSON reports written by fid, is, kid, score or eval (--json).
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// One label per report, comma-separated (default: the file names).
    #[arg(long, value_delimiter = ',')]
    pub labels: Option<Vec<String>>,
    /// Folder for compare.csv, compare.md, compare.json and the charts.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The table's title.
    #[arg(long, default_value = CompareCommand::DEFAULT_TITLE)]
    pub title: String,
    /// Two reports with bootstrap intervals: say per metric whether they differ ("different" / "no difference"), from the paired replicate differences when both drew their replicates alike (same --bootstrap-seed, B and sample counts), else from the intervals' overlap; writes paired.csv/.md/.json into --out.
    #[arg(long)]
    pub paired: bool,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<CompareArgs> for CompareCommand {
    fn from(a: CompareArgs) -> Self {
        CompareCommand {
            reports: a.reports,
            labels: a.labels,
            out: a.out,
            title: a.title,
            paired: a.paired,
            quiet: a.quiet.quiet,
        }
    }
}

fn parse_set(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, source)) if !name.is_empty() && !source.is_empty() => {
            Ok((name.to_string(), PathBuf::from(source)))
        }
        _ => Err(format!("`{text}` is not NAME=SOURCE, e.g. --set real=cub/")),
    }
}

#[derive(Debug, Args)]
pub struct TsneArgs {
    /// A set to map, NAME=SOURCE (image folder, generate run folder, or feature file); repeat it.
    #[arg(long = "set", required = true, value_parser = parse_set)]
    pub sets: Vec<(String, PathBuf)>,
    #[command(flatten)]
    pub extractor: ExtractorArg,
    /// The set the collapse statistics compare against (default: the set called real, else the first).
    #[arg(long)]
    pub reference: Option<String>,
    #[command(flatten)]
    pub map: MapArgs,
    #[command(flatten)]
    pub prdc: PrdcArgs,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub html: HtmlArg,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<TsneArgs> for TsneCommand {
    fn from(a: TsneArgs) -> Self {
        TsneCommand {
            exec: a.runtime.into(),
            images: a.protocol.into(),
            collapse: CollapseConfig {
                sets: a.sets,
                reference: a.reference,
                extractor: a.extractor.extractor,
                map: a.map.into(),
                prdc: a.prdc.into(),
            },
            out: a.out,
            html: a.html.html,
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo writes its images and report.
    #[arg(long, default_value = DemoCommand::DEFAULT_OUT)]
    pub out: PathBuf,
    /// The bundled demo models.
    #[arg(long, default_value = DemoCommand::DEFAULT_MODELS)]
    pub models: PathBuf,
    /// Write the demo's page, OUT/index.html (the default; see `report`).
    #[arg(long, overrides_with = "no_html")]
    pub html: bool,
    /// Leave the page out (report.md, JSON, CSV and charts only).
    #[arg(long)]
    pub no_html: bool,
    #[command(flatten)]
    pub runtime: ScoringRuntimeArgs,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<DemoArgs> for DemoCommand {
    fn from(a: DemoArgs) -> Self {
        DemoCommand {
            exec: a.runtime.into(),
            out: a.out,
            models: a.models,
            html: !a.no_html,
            quiet: a.quiet.quiet,
        }
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The runs' JSON files: --json reports of fid, is, kid, score, eval; ablation.json; collapse.json (tsne); curve.json.
    #[arg(required = true, value_name = "RUN.json")]
    pub runs: Vec<PathBuf>,
    /// The page's folder: index.html and assets/ (created if need be).
    #[arg(long)]
    pub out: PathBuf,
    /// The folder generate or eval --out wrote (with samples.csv), for the branch grids of eval reports
    /// (default: the report's own folder when samples.csv is there).
    #[arg(long)]
    pub samples: Option<PathBuf>,
    /// The page's title.
    #[arg(long, default_value = ReportCommand::DEFAULT_TITLE)]
    pub title: String,
    #[command(flatten)]
    pub quiet: QuietArg,
}

impl From<ReportArgs> for ReportCommand {
    fn from(a: ReportArgs) -> Self {
        ReportCommand {
            runs: a.runs,
            out: a.out,
            samples: a.samples,
            title: a.title,
            quiet: a.quiet.quiet,
        }
    }
}
