//! The one shape every report takes: a titled table of rows (a variant, a
//! run, a set) and columns (a label, a metric with its spread, a published
//! value, a provenance field), which each exporter writes in its format.

use serde::{Deserialize, Serialize};

/// A measured number and, where the metric has one, its standard deviation
/// and, where one was computed (`--bootstrap`), its confidence interval.
// Unknown fields refused: a published value (which has `status`) must not
// read back as a measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    pub value: f64,
    pub std: Option<f64>,
    /// Bootstrap percentile interval `[low, high]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<[f64; 2]>,
}

/// Whether a published number was found in a readable source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaperStatus {
    /// Backed by a source the config names.
    Sourced,
    /// Recalled, not found in a readable copy: shown, but marked.
    Unverified,
}

impl PaperStatus {
    /// The spelling in configs and CSV files.
    pub fn name(self) -> &'static str {
        match self {
            PaperStatus::Sourced => "sourced",
            PaperStatus::Unverified => "unverified",
        }
    }
}

/// A number from a paper or a release README, beside a measured one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaperValue {
    pub value: f64,
    pub std: Option<f64>,
    pub status: PaperStatus,
    pub source: String,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Cell {
    Text(String),
    Measure(Measure),
    Paper(PaperValue),
    Empty,
}

/// What a column holds; exporters lay each kind out in their own way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnKind {
    /// The row's name.
    Label,
    /// A measured metric (charted).
    Metric,
    /// A published value of a metric.
    Paper,
    /// Where the numbers come from: model hashes, resize mode, provider, counts, seeds.
    Provenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    /// Machine name, used as the CSV header (`fid`, `is`, `extractor_sha256`).
    pub key: String,
    /// Human heading (`FID ↓`).
    pub heading: String,
    pub kind: ColumnKind,
}

/// A report table (read back from a report's JSON by the HTML page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub title: String,
    /// Sentences printed under the title (what was measured, how).
    pub notes: Vec<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(title: impl Into<String>) -> Self {
        Table {
            title: title.into(),
            notes: Vec::new(),
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// Adds a column (empty in the rows already there); returns its index.
    pub fn column(&mut self, key: &str, heading: &str, kind: ColumnKind) -> usize {
        for row in &mut self.rows {
            row.push(Cell::Empty);
        }
        self.columns.push(Column {
            key: key.into(),
            heading: heading.into(),
            kind,
        });
        self.columns.len() - 1
    }

    /// Adds a row of empty cells; returns its index.
    pub fn row(&mut self) -> usize {
        self.rows.push(vec![Cell::Empty; self.columns.len()]);
        self.rows.len() - 1
    }

    /// Sets the cell of row `row` in the column called `key`.
    ///
    /// # Panics
    /// If there is no such column: columns are fixed by the code that builds the table.
    pub fn set(&mut self, row: usize, key: &str, cell: Cell) {
        let column = self
            .columns
            .iter()
            .position(|c| c.key == key)
            .unwrap_or_else(|| panic!("table has no column `{key}`"));
        self.rows[row][column] = cell;
    }

    /// The label of a row (its first label column).
    pub fn label(&self, row: usize) -> String {
        self.columns
            .iter()
            .position(|c| c.kind == ColumnKind::Label)
            .and_then(|i| match &self.rows[row][i] {
                Cell::Text(t) => Some(t.clone()),
                _ => None,
            })
            .unwrap_or_else(|| format!("row {}", row + 1))
    }
}

impl Cell {
    pub fn text(value: impl Into<String>) -> Cell {
        Cell::Text(value.into())
    }

    /// A measure, or empty when the metric was not computed.
    pub fn measure(value: Option<f64>, std: Option<f64>) -> Cell {
        match value {
            Some(value) => Cell::Measure(Measure {
                value,
                std,
                ci: None,
            }),
            None => Cell::Empty,
        }
    }

    /// Text, or empty.
    pub fn optional(value: Option<impl ToString>) -> Cell {
        value.map_or(Cell::Empty, |v| Cell::Text(v.to_string()))
    }
}
