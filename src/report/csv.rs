//! CSV: one header row of machine names; a metric is two columns (`fid`,
//! `fid_std`), a published value four (`paper_fid`, `…_std`, `…_status`,
//! `…_source`), so every number can be read back without parsing "±".

use std::path::{Path, PathBuf};

use super::table::{Cell, ColumnKind, Table};
use super::{Exporter, ReportError};
use crate::atomic::write_bytes_atomically;

pub struct CsvExporter;

impl Exporter for CsvExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let path = dir.join(format!("{stem}.csv"));
        let text = render(table)?;
        write_bytes_atomically(&path, text.as_bytes()).map_err(|e| ReportError::write(&path, e))?;
        Ok(vec![path])
    }
}

/// The table as CSV text.
pub fn render(table: &Table) -> Result<String, ReportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = Vec::new();
    for column in &table.columns {
        let key = column.key.as_str();
        match column.kind {
            ColumnKind::Metric => header.extend([key.to_string(), format!("{key}_std")]),
            ColumnKind::Paper => header.extend([
                key.to_string(),
                format!("{key}_std"),
                format!("{key}_status"),
                format!("{key}_source"),
            ]),
            _ => header.push(key.to_string()),
        }
    }
    writer.write_record(&header).map_err(ReportError::format)?;
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    for row in &table.rows {
        let mut record = Vec::new();
        for (column, cell) in table.columns.iter().zip(row) {
            let width = match column.kind {
                ColumnKind::Metric => 2,
                ColumnKind::Paper => 4,
                _ => 1,
            };
            let fields: Vec<String> = match cell {
                Cell::Text(t) => vec![t.clone()],
                Cell::Measure(m) => vec![number(Some(m.value)), number(m.std)],
                Cell::Paper(p) => vec![
                    number(Some(p.value)),
                    number(p.std),
                    serde_json::to_value(p.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    p.source.clone(),
                ],
                Cell::Empty => Vec::new(),
            };
            record.extend(
                fields
                    .into_iter()
                    .chain(std::iter::repeat(String::new()))
                    .take(width),
            );
        }
        writer.write_record(&record).map_err(ReportError::format)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReportError::Format(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ReportError::Format(e.to_string()))
}
