//! `merge`: the partial results of a run's shards → what the single run
//! writes (the statistics `.npz`, the feature file, the report).

use std::path::PathBuf;

use anyhow::Context;

use super::eval::table;
use super::score::summary;
use super::write::json_or_stdout;
use crate::report::json_text;
use crate::report::target::check_file;
use crate::scoring::{merge_eval, merge_score};
use crate::shard::{PartialKind, ShardSet};

#[derive(Debug, Clone)]
pub struct MergeCommand {
    /// Every shard's partial result, in any order.
    pub parts: Vec<PathBuf>,
    /// What the single run writes with `--out`: statistics, features.
    pub out: Option<PathBuf>,
    /// What the single run writes with `--json`: the report.
    pub json: Option<PathBuf>,
    pub quiet: bool,
}

pub(super) fn run(command: &MergeCommand) -> anyhow::Result<()> {
    for (flag, target) in [("--out", &command.out), ("--json", &command.json)] {
        if let Some(path) = target {
            check_file(flag, path)?;
        }
    }
    let shards = ShardSet::open(&command.parts)?;
    let header = shards.header();
    let (kind, count, items) = (shards.kind, header.shard.count, header.items);
    let out = || {
        command.out.as_ref().with_context(|| {
            format!("merging `{kind}` shards writes what `{kind} --out` writes: pass --out FILE")
        })
    };
    match kind {
        PartialKind::Stats => {
            let out = out()?;
            let stats = shards.statistics()?;
            stats
                .write_npz(out)
                .with_context(|| format!("--out {}", out.display()))?;
            if !command.quiet {
                println!(
                    "wrote {}: {}-d statistics of {} images from {count} shards ({items} listed{})",
                    out.display(),
                    stats.dim(),
                    stats.count.unwrap_or(0),
                    skipped(shards.skipped()),
                );
            }
        }
        PartialKind::Extract => {
            let out = out()?;
            let features = shards.features()?;
            features.write(out)?;
            if !command.quiet {
                println!(
                    "wrote {}: features of {} images from {count} shards ({items} listed{})",
                    out.display(),
                    features.len(),
                    skipped(shards.skipped()),
                );
            }
        }
        PartialKind::Score => {
            let report = merge_score(&shards)?;
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            if !command.quiet {
                println!("{}", summary(&report));
            }
            match &command.json {
                Some(json) => json_or_stdout("--json", json, &report)?,
                None => print!("{}", json_text(&report)?),
            }
        }
        PartialKind::Eval => {
            let report = merge_eval(&shards)?;
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
            match &command.json {
                Some(json) => json_or_stdout("--json", json, &report)?,
                None => print!("{}", json_text(&report)?),
            }
        }
    }
    Ok(())
}

fn skipped(count: usize) -> String {
    if count > 0 {
        format!(", {count} unreadable skipped")
    } else {
        String::new()
    }
}
