//! `compare`: score reports from separate runs (days, machines, tools'
//! versions), read back typed → one table, written as CSV, Markdown, JSON
//! and charts; with `--paired`, a verdict per metric beside it (`paired.*`).

use std::path::PathBuf;

use anyhow::bail;

use super::paired::{paired_table, verdicts};
use super::tables::{ScoreRow, score_table};
use crate::report::target::{FolderUse, check_folder};
use crate::report::{self, ChartExporter, CsvExporter, Exporter, JsonExporter, MarkdownExporter};
use crate::scoring::ReportFile;

#[derive(Debug, Clone)]
pub struct CompareCommand {
    /// `--json` files of `fid`, `is`, `kid`, `score` or `eval`.
    pub reports: Vec<PathBuf>,
    /// Row labels, one per report (default: the file stems).
    pub labels: Option<Vec<String>>,
    /// Folder for compare.csv/.md/.json and the charts.
    pub out: Option<PathBuf>,
    pub title: String,
    /// `--paired`: a verdict per metric on whether the two runs differ
    /// beyond their bootstrap intervals.
    pub paired: bool,
    pub quiet: bool,
}

impl CompareCommand {
    pub const DEFAULT_TITLE: &'static str = "Comparison";
}

/// `n` things, in words: "1 label", "2 labels".
fn count(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

pub(super) fn run(command: &CompareCommand) -> anyhow::Result<()> {
    if command.reports.is_empty() {
        bail!("compare needs score reports: pass one or more JSON files written with --json");
    }
    if let Some(labels) = &command.labels
        && labels.len() != command.reports.len()
    {
        bail!(
            "--labels gives {} for {}; give one label per report, in order",
            count(labels.len(), "label"),
            count(command.reports.len(), "report")
        );
    }
    if let Some(out) = &command.out {
        check_folder("--out", out, FolderUse::Overwrite)?;
    }
    let mut documents = Vec::new();
    for (i, path) in command.reports.iter().enumerate() {
        let label = match &command.labels {
            Some(labels) => labels[i].clone(),
            None => path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| format!("run {}", i + 1)),
        };
        documents.push((label, ReportFile::read(path)?));
    }
    let paired = match command.paired {
        true => {
            let groups = verdicts(&documents, &command.reports)?;
            let labels = [documents[0].0.as_str(), documents[1].0.as_str()];
            Some((paired_table(&groups, labels), groups))
        }
        false => None,
    };
    let rows: Vec<ScoreRow> = documents
        .iter()
        .flat_map(|(label, document)| match document {
            ReportFile::Score(scores) => vec![ScoreRow::score(label, scores)],
            ReportFile::Eval(eval) => ScoreRow::branches(label, eval),
        })
        .collect();
    let mut table = score_table(&command.title, "run", &rows);
    table.notes.push(format!(
        "{}: {}.",
        count(command.reports.len(), "report"),
        command
            .reports
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if let Some(out) = &command.out {
        let reports: Vec<&ReportFile> = documents.iter().map(|(_, d)| d).collect();
        let details = JsonExporter::new(&reports)?;
        let exporters: [&dyn Exporter; 4] =
            [&CsvExporter, &MarkdownExporter, &details, &ChartExporter];
        report::write_all(&table, out, "compare", &exporters)?;
        if let Some((paired, groups)) = &paired {
            let details = JsonExporter::new(groups)?;
            let exporters: [&dyn Exporter; 3] = [&CsvExporter, &MarkdownExporter, &details];
            report::write_all(paired, out, "paired", &exporters)?;
        }
    }
    if !command.quiet {
        println!("{}", report::markdown(&table, 2));
        if let Some((paired, _)) = &paired {
            println!("{}", report::markdown(paired, 2));
        }
    }
    Ok(())
}
