//! JSON: the one writer of JSON files — a report as one pretty-printed
//! object with a final newline — and the table exporter, which writes the
//! table as data (columns with their kinds, rows of cells) beside the
//! detailed records the report carries (each run's full result).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::stamp::Stamp;
use super::table::Table;
use super::{Exporter, ReportError};
use crate::atomic::write_bytes_atomically;

/// `value` as the text of a JSON file.
pub fn json_text(value: &impl Serialize) -> Result<String, ReportError> {
    let mut text = serde_json::to_string_pretty(value).map_err(ReportError::format)?;
    text.push('\n');
    Ok(text)
}

/// Writes `value` to `path` as JSON, atomically.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ReportError> {
    let text = json_text(value)?;
    write_bytes_atomically(path, text.as_bytes()).map_err(|e| ReportError::write(path, e))
}

/// Writes the table and `details` (e.g. every variant's full score report).
/// The details are stored with their keys in sorted order, whatever the
/// order of the fields that made them, so the file reads the same when a
/// type gains or reorders a field.
pub struct JsonExporter {
    details: serde_json::Value,
}

impl JsonExporter {
    pub fn new(details: &impl Serialize) -> Result<JsonExporter, ReportError> {
        Ok(JsonExporter {
            details: serde_json::to_value(details).map_err(ReportError::format)?,
        })
    }
}

#[derive(Serialize)]
struct Document<'a> {
    table: &'a Table,
    details: &'a serde_json::Value,
    #[serde(flatten)]
    stamp: Stamp,
}

impl Exporter for JsonExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let path = dir.join(format!("{stem}.json"));
        let document = Document {
            table,
            details: &self.details,
            stamp: Stamp::current(),
        };
        write_json(&path, &document)?;
        Ok(vec![path])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Cell, ColumnKind};

    #[derive(Serialize)]
    struct Detail {
        zeta: u32,
        alpha: f64,
    }

    #[test]
    fn documents_carry_the_table_sorted_details_and_one_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::new("t");
        table.column("fid", "FID", ColumnKind::Metric);
        let row = table.row();
        table.set(row, "fid", Cell::measure(Some(0.1), Some(0.2)));
        let details = [Detail {
            zeta: 1,
            alpha: 1e-300,
        }];
        let exporter = JsonExporter::new(&details).unwrap();
        let written = exporter.write(&table, dir.path(), "report").unwrap();
        let text = std::fs::read_to_string(&written[0]).unwrap();
        assert!(text.ends_with("}\n"), "one object and a newline");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["tool"], "stackgan-eval");
        assert_eq!(value["tool_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(value["table"]["rows"][0][0]["value"], 0.1);
        assert_eq!(value["details"][0]["alpha"].as_f64(), Some(1e-300));
        let alpha = text.find("\"alpha\"").unwrap();
        assert!(
            alpha < text.find("\"zeta\"").unwrap(),
            "details keys sorted"
        );
        assert_eq!(text.matches("\"tool\"").count(), 1, "one stamp");
        assert_eq!(
            json_text(&details).unwrap(),
            format!("{}\n", serde_json::to_string_pretty(&details).unwrap())
        );
    }
}
