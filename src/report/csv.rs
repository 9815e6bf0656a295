//! CSV, the one CSV writer: one header row of machine names; a metric is two
//! columns (`fid`, `fid_std`), four when a row holds a bootstrap interval
//! (`fid_ci_low`, `fid_ci_high`), a published value four (`paper_fid`, `…_std`,
//! `…_status`, `…_source`), so every number can be read back without
//! parsing "±". Fields are quoted by the `csv` crate where they need it.

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
    let mut text = header(table)?;
    text.push_str(&rows(table)?);
    Ok(text)
}

/// Appends the table's rows to the CSV file at `path` (header first when the
/// file is new), atomically; refuses a file whose header differs.
pub fn append(path: &Path, table: &Table) -> Result<(), ReportError> {
    let header = header(table)?;
    let mut text = match std::fs::read_to_string(path) {
        Ok(existing) => {
            if existing.lines().next() != header.lines().next() {
                return Err(ReportError::Columns {
                    path: path.to_path_buf(),
                });
            }
            existing
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(ReportError::write(path, e)),
    };
    if text.is_empty() {
        text = header;
    } else if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&rows(table)?);
    write_bytes_atomically(path, text.as_bytes()).map_err(|e| ReportError::write(path, e))
}

/// Whether the CSV file at `path` could take the table's rows: absent, or
/// with the same header.
pub fn check_append(path: &Path, table: &Table) -> Result<(), ReportError> {
    match std::fs::read_to_string(path) {
        Ok(existing) if existing.lines().next() != header(table)?.lines().next() => {
            Err(ReportError::Columns {
                path: path.to_path_buf(),
            })
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ReportError::write(path, e)),
    }
}

/// Whether some row holds a bootstrap interval in column `index`.
fn has_interval(table: &Table, index: usize) -> bool {
    table
        .rows
        .iter()
        .any(|row| matches!(&row[index], Cell::Measure(m) if m.ci.is_some()))
}

fn header(table: &Table) -> Result<String, ReportError> {
    let mut header = Vec::new();
    for (index, column) in table.columns.iter().enumerate() {
        let key = column.key.as_str();
        match column.kind {
            ColumnKind::Metric => {
                header.extend([key.to_string(), format!("{key}_std")]);
                if has_interval(table, index) {
                    header.extend([format!("{key}_ci_low"), format!("{key}_ci_high")]);
                }
            }
            ColumnKind::Paper => header.extend([
                key.to_string(),
                format!("{key}_std"),
                format!("{key}_status"),
                format!("{key}_source"),
            ]),
            _ => header.push(key.to_string()),
        }
    }
    records(std::iter::once(header))
}

fn rows(table: &Table) -> Result<String, ReportError> {
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v}"));
    let intervals: Vec<bool> = (0..table.columns.len())
        .map(|index| has_interval(table, index))
        .collect();
    let records_of = table.rows.iter().map(|row| {
        let mut record = Vec::new();
        for ((column, cell), &interval) in table.columns.iter().zip(row).zip(&intervals) {
            let width = match column.kind {
                ColumnKind::Metric if interval => 4,
                ColumnKind::Metric => 2,
                ColumnKind::Paper => 4,
                _ => 1,
            };
            let fields: Vec<String> = match cell {
                Cell::Text(t) => vec![t.clone()],
                Cell::Measure(m) => vec![
                    number(Some(m.value)),
                    number(m.std),
                    number(m.ci.map(|[low, _]| low)),
                    number(m.ci.map(|[_, high]| high)),
                ],
                Cell::Paper(p) => vec![
                    number(Some(p.value)),
                    number(p.std),
                    p.status.name().to_string(),
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
        record
    });
    records(records_of)
}

/// Records as CSV text, quoted where a field needs it: the one place CSV is
/// formatted (tables here, a run's `samples.csv` in `generate`).
pub fn records(records: impl Iterator<Item = Vec<String>>) -> Result<String, ReportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for record in records {
        writer.write_record(&record).map_err(ReportError::format)?;
    }
    let bytes = writer.into_inner().map_err(ReportError::format)?;
    String::from_utf8(bytes).map_err(ReportError::format)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{PaperStatus, PaperValue};

    fn table() -> Table {
        let mut table = Table::new("t");
        table.column("label", "label", ColumnKind::Label);
        table.column("fid", "FID", ColumnKind::Metric);
        table.column("paper_fid", "FID (published)", ColumnKind::Paper);
        table.column("file", "file", ColumnKind::Provenance);
        let row = table.row();
        table.set(row, "label", Cell::text("v2, \"tree\""));
        table.set(row, "fid", Cell::measure(Some(1.5), None));
        table.set(
            row,
            "paper_fid",
            Cell::Paper(PaperValue {
                value: 15.3,
                std: Some(0.25),
                status: PaperStatus::Sourced,
                source: "Table 2,\nrow 3".into(),
            }),
        );
        let row = table.row();
        table.set(row, "label", Cell::text("plain"));
        table.set(row, "file", Cell::text("a/b.png"));
        table
    }

    #[test]
    fn fields_are_quoted_where_they_need_it_and_columns_keep_their_width() {
        let text = render(&table()).unwrap();
        assert_eq!(
            text,
            "label,fid,fid_std,paper_fid,paper_fid_std,paper_fid_status,paper_fid_source,file\n\
             \"v2, \"\"tree\"\"\",1.5,,15.3,0.25,sourced,\"Table 2,\nrow 3\",\n\
             plain,,,,,,,a/b.png\n"
        );
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let first = reader.records().next().unwrap().unwrap();
        assert_eq!(&first[0], "v2, \"tree\"");
        assert_eq!(&first[6], "Table 2,\nrow 3");
    }

    #[test]
    fn appending_keeps_one_header_and_refuses_other_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runs.csv");
        append(&path, &table()).unwrap();
        append(&path, &table()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().filter(|l| l.starts_with("label,")).count(), 1);
        assert_eq!(csv::Reader::from_path(&path).unwrap().records().count(), 4);
        let mut other = Table::new("other");
        other.column("x", "x", ColumnKind::Label);
        assert!(matches!(
            append(&path, &other),
            Err(ReportError::Columns { .. })
        ));
        assert!(matches!(
            check_append(&path, &other),
            Err(ReportError::Columns { .. })
        ));
        check_append(&path, &table()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "refusal writes nothing"
        );
    }
}
