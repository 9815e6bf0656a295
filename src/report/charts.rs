//! PNG bar charts: one chart per metric column of a table, one bar per row,
//! with the bootstrap interval as the error bar where there is one, else the spread.

use std::path::{Path, PathBuf};

use super::plot::{ErrorBar, bar_chart_with_errors_png};
use super::table::{Cell, ColumnKind, Table};
use super::{Exporter, ReportError};

pub struct ChartExporter;

impl Exporter for ChartExporter {
    fn write(&self, table: &Table, dir: &Path, stem: &str) -> Result<Vec<PathBuf>, ReportError> {
        let mut written = Vec::new();
        for (index, column) in table.columns.iter().enumerate() {
            if column.kind != ColumnKind::Metric {
                continue;
            }
            let bars: Vec<(String, f64, Option<ErrorBar>)> = table
                .rows
                .iter()
                .enumerate()
                .filter_map(|(row, cells)| match &cells[index] {
                    Cell::Measure(m) => {
                        let error = m.ci.map(ErrorBar::Interval).or(m.std.map(ErrorBar::Spread));
                        Some((table.label(row), m.value, error))
                    }
                    _ => None,
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            let path = dir.join(format!("{stem}-{}.png", column.key));
            // The chart names its metric; the table's title is in the reports beside it.
            bar_chart_with_errors_png(&path, &column.heading, &column.heading, &bars)
                .map_err(|e| ReportError::Format(e.to_string()))?;
            written.push(path);
        }
        Ok(written)
    }
}
