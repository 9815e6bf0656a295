//! Markdown: the title, the notes, a table with "mean ± std" cells (and
//! "[low, high]" bootstrap intervals where computed) and published values
//! marked as sourced or unverified, then a legend.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::table::{Cell, ColumnKind, PaperStatus, Table};
use super::{Exporter, ReportError};
use crate::atomic::write_bytes_atomically;

pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let path = dir.join(format!("{stem}.md"));
        write_bytes_atomically(&path, render(table, 1).as_bytes())
            .map_err(|e| ReportError::write(&path, e))?;
        Ok(vec![path])
    }
}

/// The table as Markdown, its title at heading `level`.
pub fn render(table: &Table, level: usize) -> String {
    let mut out = format!("{} {}\n\n", "#".repeat(level.max(1)), table.title);
    for note in &table.notes {
        let _ = writeln!(out, "{note}");
    }
    if !table.notes.is_empty() {
        out.push('\n');
    }
    // Columns no row fills (a classifier nobody used) are left out of the
    // human table; the CSV and JSON keep every column.
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| table.rows.iter().any(|row| row[i] != Cell::Empty))
        .collect();
    let headings: Vec<&str> = shown
        .iter()
        .map(|&i| table.columns[i].heading.as_str())
        .collect();
    let _ = writeln!(out, "| {} |", headings.join(" | "));
    let _ = writeln!(out, "|{}|", vec!["---"; headings.len()].join("|"));
    let mut statuses = Vec::new();
    for row in &table.rows {
        let cells: Vec<String> = shown
            .iter()
            .map(|&i| (&row[i], &table.columns[i]))
            .map(|(cell, column)| match cell {
                // 12 hex digits identify a model; data files keep the whole hash.
                Cell::Text(t) if column.key.ends_with("sha256") => t.chars().take(12).collect(),
                Cell::Text(t) => t.replace('|', "\\|"),
                Cell::Measure(m) => with_interval(with_spread(m.value, m.std), m.ci),
                Cell::Paper(p) => {
                    statuses.push(p.status);
                    format!("{}{}", with_spread(p.value, p.std), marker(p.status))
                }
                Cell::Empty => "–".into(),
            })
            .collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if table.columns.iter().any(|c| c.kind == ColumnKind::Paper) {
        out.push_str("\nPublished values: ");
        out.push_str("* sourced (the config names the source), † unverified (recalled, not found in a readable copy).");
        out.push('\n');
        let sources: Vec<String> = table
            .rows
            .iter()
            .flatten()
            .filter_map(|c| match c {
                Cell::Paper(p) if !p.source.is_empty() => Some(p.source.clone()),
                _ => None,
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !sources.is_empty() {
            let _ = writeln!(out, "Sources: {}.", sources.join("; "));
        }
    }
    out
}

/// Four significant decimals is what the reference tools print.
pub(super) fn with_spread(value: f64, std: Option<f64>) -> String {
    match std {
        Some(std) => format!("{} ± {}", format_number(value), format_number(std)),
        None => format_number(value),
    }
}

/// `15.3000 [14.9000, 15.8000]`: a bootstrap interval after the value.
fn with_interval(text: String, ci: Option<[f64; 2]>) -> String {
    match ci {
        Some([low, high]) => format!("{text} [{}, {}]", format_number(low), format_number(high)),
        None => text,
    }
}

pub(super) fn format_number(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

pub(super) fn marker(status: PaperStatus) -> &'static str {
    match status {
        PaperStatus::Sourced => " *",
        PaperStatus::Unverified => " †",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PaperValue;

    #[test]
    fn markdown_shows_spreads_marks_published_values_and_hides_empty_columns() {
        let mut table = Table::new("Ablation");
        table.notes.push("Config `a.toml`.".into());
        table.column("label", "variant", ColumnKind::Label);
        table.column("fid", "FID ↓", ColumnKind::Metric);
        table.column("is", "IS ↑", ColumnKind::Metric);
        table.column("paper_is", "IS (published)", ColumnKind::Paper);
        table.column("extractor_sha256", "extractor", ColumnKind::Provenance);
        table.column("classifier_sha256", "classifier", ColumnKind::Provenance);
        let row = table.row();
        table.set(row, "label", Cell::text("v1 | v2"));
        table.set(row, "fid", Cell::measure(Some(15.3), None));
        table.set(row, "is", Cell::measure(Some(3.7), Some(0.00004)));
        table.set(
            row,
            "paper_is",
            Cell::Paper(PaperValue {
                value: 3.7,
                std: Some(0.04),
                status: PaperStatus::Unverified,
                source: String::new(),
            }),
        );
        table.set(row, "extractor_sha256", Cell::text("0123456789abcdef0123"));
        let row = table.row();
        table.set(row, "label", Cell::text("v3"));
        table.set(
            row,
            "paper_is",
            Cell::Paper(PaperValue {
                value: 4.04,
                std: None,
                status: PaperStatus::Sourced,
                source: "a README".into(),
            }),
        );
        assert_eq!(
            render(&table, 2),
            "## Ablation\n\nConfig `a.toml`.\n\n\
             | variant | FID ↓ | IS ↑ | IS (published) | extractor |\n|---|---|---|---|---|\n\
             | v1 \\| v2 | 15.3000 | 3.7000 ± 4.000e-5 | 3.7000 ± 0.0400 † | 0123456789ab |\n\
             | v3 | – | – | 4.0400 * | – |\n\
             \nPublished values: * sourced (the config names the source), † unverified (recalled, not found in a readable copy).\n\
             Sources: a README.\n"
        );
    }
}
