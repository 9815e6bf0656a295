//! Reports: one [`Table`] shape, written by one exporter per format (CSV,
//! JSON, Markdown, PNG bar charts) behind the [`Exporter`] trait; and the
//! figures (`plot`: t-SNE scatter plots, image maps, bar charts with error
//! bars) drawn with plotters and an embedded font. Every file is written
//! atomically.

mod charts;
mod csv;
mod image_map;
mod json;
mod markdown;
pub mod plot;
mod table;

use std::path::{Path, PathBuf};

pub use charts::ChartExporter;
pub use csv::CsvExporter;
pub use json::JsonExporter;
pub use markdown::{MarkdownExporter, render as markdown};
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
