//! Reports: one [`Table`] shape, written by one exporter per format (CSV,
//! JSON, Markdown, PNG bar charts) behind the [`Exporter`] trait; the one
//! JSON writer and the one provenance [`Stamp`]; one HTML page per run
//! (`html`); the checks of output
//! targets made before any work; and the figures (`plot`: t-SNE scatter
//! plots, image maps, bar charts with error bars) drawn with plotters and an
//! embedded font. Every file is written atomically.

mod canvas;
mod charts;
pub mod csv;
pub mod html;
mod image_map;
mod json;
mod markdown;
pub mod plot;
mod stamp;
mod table;
pub mod target;

use std::path::{Path, PathBuf};

pub use charts::ChartExporter;
pub use csv::CsvExporter;
pub use html::HtmlExporter;
pub use json::{JsonExporter, json_text, write_json};
pub use markdown::{MarkdownExporter, render as markdown};
pub use stamp::Stamp;
pub use table::{Cell, Column, ColumnKind, Measure, PaperStatus, PaperValue, Table};

/// Writes a table in one format into `dir` as `stem.<ext>` (a chart
/// exporter may write several files); returns the paths written.
pub trait Exporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError>;
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {reason}; check that the folder is writable")]
    Write { path: PathBuf, reason: String },
    #[error("cannot format the report: {0}")]
    Format(String),
    #[error("{path} has other columns than this report; choose a new file")]
    Columns { path: PathBuf },
}

impl ReportError {
    fn write(path: &Path, e: impl std::fmt::Display) -> ReportError {
        ReportError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        }
    }

    fn format(e: impl std::fmt::Display) -> ReportError {
        ReportError::Format(e.to_string())
    }
}

/// Writes `table` with every exporter; returns all paths written.
pub fn write_all(
    table: &Table,
    dir: &Path,
    stem: &str,
    exporters: &[&dyn Exporter],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| ReportError::write(dir, e))?;
    let mut written = Vec::new();
    for exporter in exporters {
        written.extend(exporter.write(table, dir, stem)?);
    }
    Ok(written)
}
