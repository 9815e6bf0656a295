//! `compare A.json B.json --paired`: a verdict per metric (and per branch of
//! `eval` reports) on whether the two runs differ beyond their bootstrap
//! noise, as a table printed and written beside the comparison.

use anyhow::bail;
use serde::Serialize;

use crate::report::{Cell, ColumnKind, Table};
use crate::scoring::{PairedComparison, ReportFile, ScoreReport, compare_paired};

/// The verdicts of one pair of score reports (a run, or one branch of each).
#[derive(Debug, Serialize)]
pub(super) struct PairedGroup {
    /// `run`, or the branch (`256²`).
    pub(super) scope: String,
    pub(super) verdicts: Vec<PairedComparison>,
}

/// The verdicts of two reports, `A` and `B` named by `names`: score reports
/// as a whole, eval reports branch by branch (the resolutions both hold).
pub(super) fn verdicts(
    documents: &[(String, ReportFile)],
    paths: &[std::path::PathBuf],
) -> anyhow::Result<Vec<PairedGroup>> {
    let [(_, a), (_, b)] = documents else {
        bail!(
            "--paired compares two reports, and {} were given; pass exactly two JSON files",
            documents.len()
        );
    };
    let (a_name, b_name) = (
        paths[0].display().to_string(),
        paths[1].display().to_string(),
    );
    let group = |scope: String, x: &ScoreReport, y: &ScoreReport| {
        compare_paired(x, &a_name, y, &b_name).map(|verdicts| PairedGroup { scope, verdicts })
    };
    match (a, b) {
        (ReportFile::Score(x), ReportFile::Score(y)) => Ok(vec![group("run".into(), x, y)?]),
        (ReportFile::Eval(x), ReportFile::Eval(y)) => {
            let groups: Vec<PairedGroup> = x
                .branches
                .iter()
                .filter_map(|bx| {
                    let by = y
                        .branches
                        .iter()
                        .find(|by| by.resolution == bx.resolution)?;
                    Some(group(format!("{}²", bx.resolution), &bx.scores, &by.scores))
                })
                .collect::<anyhow::Result<_>>()?;
            if groups.is_empty() {
                bail!(
                    "{a_name} and {b_name} share no branch resolution; compare eval reports of the same generator family"
                );
            }
            Ok(groups)
        }
        _ => bail!(
            "{a_name} and {b_name} are of different kinds (one eval, one score report); --paired compares two of the same kind"
        ),
    }
}

/// The verdicts as a table: one row per metric (and branch).
pub(super) fn paired_table(groups: &[PairedGroup], labels: [&str; 2]) -> Table {
    let mut table = Table::new(format!("Paired comparison: {} − {}", labels[0], labels[1]));
    let rules: std::collections::BTreeSet<&str> = groups
        .iter()
        .flat_map(|g| &g.verdicts)
        .map(|v| v.rule.describe())
        .collect();
    table.notes.push(format!(
        "A = {}, B = {}. Rule: {}. Intervals cover the sampling of images (the rows resampled), not the network's weights nor training.",
        labels[0],
        labels[1],
        rules.into_iter().collect::<Vec<_>>().join("; ")
    ));
    for reason in groups
        .iter()
        .flat_map(|g| &g.verdicts)
        .filter_map(|v| v.unpaired_because.as_deref())
        .collect::<std::collections::BTreeSet<_>>()
    {
        table.notes.push(format!("Not paired: {reason}."));
    }
    table.column("metric", "metric", ColumnKind::Label);
    for (key, heading) in [
        ("scope", "scope"),
        ("a", "A"),
        ("b", "B"),
        ("difference", "A − B"),
        ("difference_ci_low", "interval low"),
        ("difference_ci_high", "interval high"),
        ("level", "level"),
        ("rule", "rule"),
        ("verdict", "verdict"),
    ] {
        table.column(key, heading, ColumnKind::Provenance);
    }
    for group in groups {
        for v in &group.verdicts {
            let row = table.row();
            let number = |x: f64| Cell::text(format!("{x}"));
            table.set(row, "metric", Cell::text(&v.metric));
            table.set(row, "scope", Cell::text(&group.scope));
            table.set(row, "a", number(v.a));
            table.set(row, "b", number(v.b));
            table.set(row, "difference", number(v.difference));
            table.set(row, "difference_ci_low", number(v.difference_ci[0]));
            table.set(row, "difference_ci_high", number(v.difference_ci[1]));
            table.set(row, "level", number(v.level));
            let rule = serde_json::to_value(v.rule)
                .ok()
                .and_then(|r| r.as_str().map(str::to_string))
                .unwrap_or_default();
            table.set(row, "rule", Cell::text(rule));
            table.set(row, "verdict", Cell::text(v.verdict.to_string()));
        }
    }
    table
}
