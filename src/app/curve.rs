//! `curve`: every checkpoint of a training run through `eval`, then the
//! training curve in `--out`: `curve.csv` (one row per checkpoint and
//! branch, in iteration order), `curve.json` (every row's full report, the
//! settings, and the checkpoints that failed) and a line plot per metric
//! against iteration, one line per branch (`curve-fid.png`, `curve-is.png`,
//! `curve-kid.png`). With `--shard I/N` only that part's rows are scored and
//! kept (`rows/`); a run without it scores what is left and writes the curve.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use super::progress::Bars;
use super::tables::{METRICS, curve_table, interval};
use super::write::json_or_stdout;
use crate::curve::{CurveConfig, CurveRow, CurveRun, CurveStore, Failure, Settings};
use crate::options::{ExecOptions, ImageOptions};
use crate::report::plot::{ErrorBar, Series, line_chart_png};
use crate::report::target::{FolderUse, check_folder};
use crate::report::{CsvExporter, Exporter, Stamp, markdown};
use crate::scoring::{EvalReport, ScoreReport, Scorer};
use crate::shard::Shard;

#[derive(Debug, Clone)]
pub struct CurveCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    pub curve: CurveConfig,
    /// This process's part (`--shard`, else the Slurm job array's task); the
    /// error names the flag or variable at fault.
    pub shard: Result<Shard, String>,
    /// The curve's folder: rows, converted checkpoints, table and plots.
    pub out: PathBuf,
    pub quiet: bool,
}

/// The metrics plotted against iteration, as the StackGAN++ paper does.
const PLOTTED: [&str; 3] = ["fid", "is", "kid"];

pub(super) fn run(command: &CurveCommand) -> anyhow::Result<()> {
    let shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    check_folder("--out", &command.out, FolderUse::Overwrite)?;
    let store = CurveStore::open(&command.out);
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let progress = Bars::new(command.quiet);
    let run = crate::curve::run(&command.curve, shard, &store, &mut scorer, &progress)?;
    if !command.quiet {
        eprintln!(
            "curve: shard {}: {} scored, {} skipped (scored before with the same settings), {} failed, of {} checkpoints in all",
            run.shard,
            run.scored.len(),
            run.skipped.len(),
            run.failed.len(),
            run.checkpoints.len()
        );
    }
    if run.shard.is_whole() {
        write_curve(&command.out, &run, command.quiet)?;
    } else if !command.quiet {
        eprintln!(
            "curve: rows kept in {}; run `curve` again with the same flags and no --shard to score what is left and write the curve",
            command.out.join("rows").display()
        );
    }
    for failed in &run.failed {
        eprintln!("curve: {} failed: {}", failed.checkpoint, failed.reason);
    }
    if !run.failed.is_empty() {
        let names: Vec<&str> = run.failed.iter().map(|f| f.checkpoint.as_str()).collect();
        bail!(
            "{} of the checkpoints failed ({}); the other rows are kept in {}; fix or move the failed ones away and run again",
            run.failed.len(),
            names.join(", "),
            command.out.display()
        );
    }
    Ok(())
}

/// One row of `curve.json`: the checkpoint and its `eval` report.
#[derive(Serialize)]
struct JsonRow<'a> {
    iteration: u64,
    checkpoint: &'a str,
    checkpoint_sha256: &'a str,
    converted: Option<&'a str>,
    report: &'a EvalReport,
}

/// `curve.json`.
#[derive(Serialize)]
struct CurveJson<'a> {
    settings: &'a Settings,
    rows: Vec<JsonRow<'a>>,
    /// Checkpoints that could not be scored, with the reason.
    failed: &'a [Failure],
    /// What this run did: checkpoint file names.
    scored: &'a [String],
    skipped: &'a [String],
    #[serde(flatten)]
    stamp: Stamp,
}

/// `curve.csv`, `curve.json` and the plots.
fn write_curve(out: &Path, run: &CurveRun, quiet: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "cannot create --out {}; choose a writable folder",
            out.display()
        )
    })?;
    let table = curve_table(&run.rows);
    let mut written = CsvExporter.write(&table, out, "curve")?;
    let json = CurveJson {
        settings: &run.settings,
        rows: run.rows.iter().map(json_row).collect(),
        failed: &run.failed,
        scored: &run.scored,
        skipped: &run.skipped,
        stamp: Stamp::current(),
    };
    let json_path = out.join("curve.json");
    json_or_stdout("--out", &json_path, &json)?;
    written.push(json_path);
    for (key, heading, value, spread) in METRICS.iter().filter(|m| PLOTTED.contains(&m.0)) {
        // The bootstrap interval where there is one, else the spread.
        let whisker = |r: &ScoreReport| {
            interval(key, r)
                .map(ErrorBar::Interval)
                .or(spread(r).map(ErrorBar::Spread))
        };
        let series = branch_series(&run.rows, |r| value(r).map(|v| (v, whisker(r))));
        if series.iter().all(|s| s.points.is_empty()) {
            continue;
        }
        let path = out.join(format!("curve-{key}.png"));
        let title = format!("{heading} over training");
        line_chart_png(&path, &title, ("iteration", heading), &series)?;
        written.push(path);
    }
    if !quiet {
        println!("{}", markdown(&table, 4));
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

fn json_row(row: &CurveRow) -> JsonRow<'_> {
    JsonRow {
        iteration: row.iteration,
        checkpoint: &row.checkpoint,
        checkpoint_sha256: &row.checkpoint_sha256,
        converted: row.converted.as_deref(),
        report: &row.report,
    }
}

type Point = (f64, Option<ErrorBar>);

/// One series per branch resolution (lowest first): the metric at each
/// iteration where a row has it.
fn branch_series(rows: &[CurveRow], metric: impl Fn(&ScoreReport) -> Option<Point>) -> Vec<Series> {
    let mut resolutions: Vec<u32> = rows
        .iter()
        .flat_map(|r| r.report.branches.iter().map(|b| b.resolution))
        .collect();
    resolutions.sort_unstable();
    resolutions.dedup();
    resolutions
        .into_iter()
        .map(|resolution| Series {
            name: format!("{resolution}×{resolution}"),
            points: rows
                .iter()
                .filter_map(|row| {
                    let branch = row
                        .report
                        .branches
                        .iter()
                        .find(|b| b.resolution == resolution)?;
                    let (value, spread) = metric(&branch.scores)?;
                    Some((row.iteration as f64, value, spread))
                })
                .collect(),
        })
        .collect()
}
