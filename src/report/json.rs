//! JSON: the table as data (columns with their kinds, rows of cells) plus
//! whatever detailed records the report carries (each run's full result).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::table::Table;
use super::{Exporter, ReportError};
use crate::atomic::write_bytes_atomically;

/// Writes the table and `details` (e.g. every variant's full score report).
pub struct JsonExporter {
    pub details: serde_json::Value,
}

#[derive(Serialize)]
struct Document<'a> {
    table: &'a Table,
    details: &'a serde_json::Value,
    tool: &'static str,
    tool_version: &'static str,
}

impl Exporter for JsonExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let path = dir.join(format!("{stem}.json"));
        let document = Document {
            table,
            details: &self.details,
            tool: "stackgan-eval",
            tool_version: env!("CARGO_PKG_VERSION"),
        };
        let mut text = serde_json::to_string_pretty(&document)
            .map_err(|e| ReportError::Format(e.to_string()))?;
        text.push('\n');
        write_bytes_atomically(&path, text.as_bytes()).map_err(|e| ReportError::write(&path, e))?;
        Ok(vec![path])
    }
}
