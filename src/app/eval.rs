//! `eval`: generate and score in one streaming pass; a table per branch on
//! stdout, the report as `--json`, one CSV row per branch appended to `--csv`.

use std::path::PathBuf;

use super::page::write_page;
use super::progress::Bars;
use super::runs::{Run, RunKind};
use super::tables::{eval_columns, eval_table};
use super::write::{json_or_stdout, write_partial};
use crate::shard::Shard;

use crate::generate::JobSpec;
use crate::options::{ExecOptions, ImageOptions};
use crate::report::csv::{append, check_append, render};
use crate::report::target::{FolderUse, check_file, check_folder};
use crate::scoring::{EvalReport, Input, Scorer, ScoringOptions};
use anyhow::{Context, bail};

#[derive(Debug, Clone)]
pub struct EvalCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    pub scoring: ScoringOptions,
    pub job: JobSpec,
    /// Reference set for FID, KID, PR-DC: a folder, statistics `.npz` or feature file.
    pub real: Option<Input>,
    /// Also write the images (as `generate` does) to this folder.
    pub out: Option<PathBuf>,
    pub json: Option<PathBuf>,
    /// Append one row per branch to this CSV file.
    pub csv: Option<PathBuf>,
    /// Also write the page of the run into `--out` (`index.html`).
    pub html: bool,
    pub quiet: bool,
    /// This process's part of the run (`--shard`, else the Slurm job
    /// array's task), or why the job array's variables make no shard.
    pub shard: Result<Shard, String>,
}

pub(super) fn run(command: &EvalCommand) -> anyhow::Result<()> {
    let shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    check_targets(command)?;
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    if !shard.is_whole() {
        if command.out.is_some() || command.csv.is_some() {
            bail!(
                "--shard {shard} writes only this shard's partial result (to --json); drop --out and --csv, and write the CSV from the merged report"
            );
        }
        let json = command.json.as_ref().with_context(|| {
            format!("--shard {shard} writes this shard's partial result where the report goes: pass --json FILE")
        })?;
        let partial = scorer.eval_shard(
            &command.scoring,
            command.real.as_ref(),
            &command.job,
            shard,
            &Bars::new(command.quiet),
        )?;
        return write_partial(&partial, &[], json, command.quiet);
    }
    let report = scorer.eval(
        &command.scoring,
        command.real.as_ref(),
        &command.job,
        command.out.as_deref(),
        &Bars::new(command.quiet),
    )?;
    for branch in &report.branches {
        for warning in &branch.scores.warnings {
            eprintln!(
                "warning: {}×{}: {warning}",
                branch.resolution, branch.resolution
            );
        }
    }
    if !command.quiet {
        println!("{}", table(&report));
    }
    if let Some(json) = &command.json {
        json_or_stdout("--json", json, &report)?;
    }
    if let Some(out) = command.out.as_ref().filter(|_| command.html) {
        let run = Run {
            source: command.json.clone(),
            folder: out.clone(),
            label: report.generator.name.clone(),
            kind: RunKind::eval(&report, Some(out)),
        };
        let title = format!("eval: {}", report.generator.name);
        let page = write_page(out, &title, &[], &[run])?;
        if !command.quiet {
            eprintln!("wrote {}", page.display());
        }
    }
    if let Some(csv) = &command.csv {
        let rows = eval_table(&report);
        if let Err(error) = append(csv, &rows) {
            print!("{}", render(&rows)?);
            anyhow::bail!(
                "--csv {}: {error}; the rows are printed on stdout instead",
                csv.display()
            );
        }
    }
    Ok(())
}

/// `--json`, `--csv` and `--out`, checked before any model loads.
fn check_targets(command: &EvalCommand) -> anyhow::Result<()> {
    if let Some(json) = &command.json {
        check_file("--json", json)?;
    }
    if let Some(csv) = &command.csv {
        check_file("--csv", csv)?;
        check_append(csv, &eval_columns())
            .map_err(|e| anyhow::anyhow!("--csv {}: {e}", csv.display()))?;
    }
    if let Some(out) = &command.out {
        check_folder("--out", out, FolderUse::Empty)?;
    } else if command.html {
        bail!("--html writes the page beside the samples in --out; pass --out FOLDER");
    }
    Ok(())
}

/// The stdout table: one line per branch, then the colour pairs.
pub(super) fn table(report: &EvalReport) -> String {
    let mut lines = vec![format!(
        "{} ({}), {} samples, {}",
        report.generator.name,
        &report.generator.sha256[..12.min(report.generator.sha256.len())],
        report.samples,
        report.sampling_protocol
    )];
    lines.push(format!(
        "{:>7}  {:>20}  {:>12}  {:>22}",
        "branch", "IS", "FID", "KID"
    ));
    let pair = |m: Option<f64>, d: Option<f64>| match (m, d) {
        (Some(m), Some(d)) => format!("{m:.4} ± {d:.4}"),
        _ => "–".into(),
    };
    for branch in &report.branches {
        let s = &branch.scores;
        lines.push(format!(
            "{:>7}  {:>20}  {:>12}  {:>22}",
            format!("{}²", branch.resolution),
            pair(s.is_mean, s.is_std),
            s.fid.map_or_else(|| "–".into(), |f| format!("{f:.4}")),
            pair(s.kid_mean, s.kid_std),
        ));
    }
    for branch in &report.branches {
        let s = &branch.scores;
        if let (Some(p), Some(r), Some(c), Some(d)) =
            (s.precision, s.recall, s.coverage, s.near_duplicate_rate)
        {
            lines.push(format!(
                "{:>7}  precision {p:.4} · recall {r:.4} · coverage {c:.4} · near-duplicates {d:.4}",
                format!("{}²", branch.resolution)
            ));
        }
    }
    for branch in &report.branches {
        if let Some(line) = super::score::interval_line(&branch.scores) {
            lines.push(format!("{:>7}  {line}", format!("{}²", branch.resolution)));
        }
    }
    for color in &report.color_consistency {
        lines.push(format!(
            "colour {}→{}: mean ‖Δμ‖² {:.6}, mean ‖ΔΣ‖²_F {:.6}, loss (50·MSE μ + 250·MSE Σ) {:.6}",
            color.from,
            color.to,
            color.result.mean_distance,
            color.result.covariance_distance,
            color.result.loss
        ));
    }
    lines.extend(
        report
            .branches
            .first()
            .and_then(|b| super::score::setup_line(&b.scores)),
    );
    lines.join("\n")
}
