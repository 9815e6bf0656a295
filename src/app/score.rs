//! `fid`, `is`, `kid` and `score`: every metric asked for, in one pass over
//! each side; the summary on stdout, the report as `--json`.

use std::path::PathBuf;

use super::progress::Bars;
use super::write::{json_or_stdout, write_partial};
use crate::options::{ExecOptions, ImageOptions};
use crate::report::target::check_file;
use crate::scoring::{BOOTSTRAPPED, Input, ScoreReport, Scorer, ScoringOptions};
use crate::shard::{Partial, Shard};

use anyhow::Context;

#[derive(Debug, Clone)]
pub struct ScoreCommand {
    pub exec: ExecOptions,
    pub images: ImageOptions,
    pub scoring: ScoringOptions,
    /// The reference side (FID, KID, PR-DC).
    pub real: Option<Input>,
    /// The evaluated side (`--fake`, or `--images`/`--features` for IS).
    pub fake: Input,
    pub json: Option<PathBuf>,
    pub quiet: bool,
    /// This process's part of the run (`--shard`, else the Slurm job
    /// array's task), or why the job array's variables make no shard.
    pub shard: Result<Shard, String>,
}

pub(super) fn run(command: &ScoreCommand) -> anyhow::Result<()> {
    let shard = command.shard.clone().map_err(anyhow::Error::msg)?;
    if let Some(json) = &command.json {
        check_file("--json", json)?;
    }
    if !shard.is_whole() {
        let json = command.json.as_ref().with_context(|| {
            format!("--shard {shard} writes this shard's partial result where the report goes: pass --json FILE")
        })?;
        let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
        let progress = Bars::new(command.quiet);
        let partial = scorer.score_shard(
            &command.scoring,
            command.real.as_ref(),
            &command.fake,
            shard,
            &progress,
        )?;
        let warnings = partial_warnings(&partial);
        return write_partial(&partial, &warnings, json, command.quiet);
    }
    if let Some(real) = &command.real
        && !command.scoring.requirements().real.any()
    {
        eprintln!(
            "warning: {} is not read: --metrics {} compares no two sets",
            real.label(),
            command
                .scoring
                .metrics
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut scorer = Scorer::new(command.exec.clone(), command.images.clone());
    let progress = Bars::new(command.quiet);
    let report = scorer.score(
        &command.scoring,
        command.real.as_ref(),
        &command.fake,
        &progress,
    )?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if !command.quiet {
        println!("{}", summary(&report));
    }
    if let Some(json) = &command.json {
        json_or_stdout("--json", json, &report)?;
    }
    Ok(())
}

/// The notes the shard's passes recorded (a `--resize` that replaced the protocol's).
fn partial_warnings(partial: &Partial) -> Vec<String> {
    partial
        .header
        .context
        .pointer("/report/warnings")
        .and_then(|w| serde_json::from_value(w.clone()).ok())
        .unwrap_or_default()
}

/// The human-readable lines for stdout.
pub(super) fn summary(report: &ScoreReport) -> String {
    let mut lines = Vec::new();
    if let Some(fid) = report.fid {
        lines.push(format!(
            "FID  {fid:.6}   (real {} · fake {})",
            count(report.n_real),
            count(report.n_fake)
        ));
    }
    if let (Some(mean), Some(std)) = (report.is_mean, report.is_std) {
        lines.push(format!(
            "IS   {mean:.6} ± {std:.6}   ({}, {} splits, {})",
            count(report.n_images),
            report.is_splits.unwrap_or(0),
            report.is_protocol.as_deref().unwrap_or("")
        ));
    }
    if let (Some(mean), Some(std)) = (report.kid_mean, report.kid_std) {
        lines.push(format!(
            "KID  {mean:.6} ± {std:.6}   ({} subsets of {})",
            report.kid_subsets.unwrap_or(0),
            report.kid_subset_size.unwrap_or(0)
        ));
    }
    if let (Some(p), Some(r), Some(d), Some(c)) = (
        report.precision,
        report.recall,
        report.density,
        report.coverage,
    ) {
        lines.push(format!(
            "PRDC precision {p:.4} · recall {r:.4} · density {d:.4} · coverage {c:.4}   (k = {})",
            report.prdc_k.unwrap_or(0)
        ));
    }
    if let Some(rate) = report.near_duplicate_rate {
        lines.push(format!(
            "near-duplicates {rate:.4}   (nearest neighbour closer than {:.6}, the {} quantile of the real set's)",
            report.duplicate_distance.unwrap_or(f64::NAN),
            report.duplicate_quantile.unwrap_or(f64::NAN)
        ));
    }
    lines.extend(interval_line(report));
    for (role, model) in [
        ("extractor", &report.extractor),
        ("classifier", &report.classifier),
    ] {
        if let Some(model) = model {
            lines.push(format!(
                "{role} {} (sha256 {})",
                model.path,
                &model.sha256[..12.min(model.sha256.len())]
            ));
        }
    }
    lines.extend(setup_line(report));
    if report.skipped_images > 0 {
        lines.push(format!(
            "skipped {} unreadable images (--skip-bad)",
            report.skipped_images
        ));
    }
    lines.join("\n")
}

/// "bootstrap 95% intervals (B = 100, seed 0): FID [14.9, 15.8] · …", when computed.
pub(super) fn interval_line(report: &ScoreReport) -> Option<String> {
    let bootstrap = report.bootstrap.as_ref()?;
    let intervals: Vec<String> = BOOTSTRAPPED
        .iter()
        .filter_map(|m| {
            (m.interval)(report).map(|[low, high]| format!("{} [{low:.6}, {high:.6}]", m.key))
        })
        .collect();
    Some(format!(
        "bootstrap {}% intervals (B = {}, seed {}): {}",
        bootstrap.level * 100.0,
        bootstrap.replicates,
        bootstrap.seed,
        intervals.join(" · ")
    ))
}

fn count(n: Option<usize>) -> String {
    n.map_or_else(|| "?".to_string(), |n| format!("{n} images"))
}

/// "protocol P: resize R, provider": how the images were fed, when any were.
pub(super) fn setup_line(report: &ScoreReport) -> Option<String> {
    let (resize, provider) = (report.resize.as_ref()?, report.provider.as_ref()?);
    let protocol = report.protocol.as_deref().unwrap_or("custom");
    Some(format!("protocol {protocol}: resize {resize}, {provider}"))
}
