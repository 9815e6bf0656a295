//! `compare`: score reports from separate runs (days, machines, tools'
//! versions) → one table, written as CSV, Markdown, JSON and charts.

use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

use super::tables::{add_score_row, report_rows, score_table};
use crate::report::{self, ChartExporter, CsvExporter, Exporter, JsonExporter, MarkdownExporter};

#[derive(Debug, Clone)]
pub struct CompareConfig {
    /// `--json` files of `fid`, `is`, `kid`, `score` or `eval`.
    pub reports: Vec<PathBuf>,
    /// Row labels, one per report (default: the file stems).
    pub labels: Option<Vec<String>>,
    /// Folder for compare.csv/.md/.json and the charts.
    pub out: Option<PathBuf>,
    pub title: String,
    pub quiet: bool,
}

pub fn run(config: &CompareConfig) -> anyhow::Result<()> {
    if config.reports.is_empty() {
        bail!("compare needs score reports: pass one or more JSON files written with --json");
    }
    if let Some(labels) = &config.labels
        && labels.len() != config.reports.len()
    {
        bail!(
            "--labels gives {} labels for {} reports; give one per report, in order",
            labels.len(),
            config.reports.len()
        );
    }
    let mut documents = Vec::new();
    for (i, path) in config.reports.iter().enumerate() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report {}; check the path", path.display()))?;
        let value: Value = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not JSON; pass files written by --json",
                path.display()
            )
        })?;
        if value.get("tool").and_then(Value::as_str) != Some("stackgan-eval") {
            bail!(
                "{} is not a stackgan-eval report (no \"tool\": \"stackgan-eval\"); pass files written by --json",
                path.display()
            );
        }
        let label = match &config.labels {
            Some(labels) => labels[i].clone(),
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("run {}", i + 1)),
        };
        documents.push((label, value));
    }
    let rows: Vec<(String, Value)> = documents
        .iter()
        .flat_map(|(label, value)| report_rows(label, value))
        .collect();
    let values: Vec<&Value> = rows.iter().map(|(_, v)| v).collect();
    let mut table = score_table(&config.title, "run", &values);
    table.notes.push(format!(
        "{} report(s): {}.",
        config.reports.len(),
        config
            .reports
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    for (label, value) in &rows {
        add_score_row(&mut table, label, value);
    }
    if let Some(out) = &config.out {
        let details = JsonExporter {
            details: Value::Array(documents.iter().map(|(_, v)| v.clone()).collect()),
        };
        let exporters: [&dyn Exporter; 4] =
            [&CsvExporter, &MarkdownExporter, &details, &ChartExporter];
        report::write_all(&table, out, "compare", &exporters)?;
    }
    if !config.quiet {
        println!("{}", report::markdown(&table, 2));
    }
    Ok(())
}
