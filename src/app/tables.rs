//! Score reports (as written to `--json`) → rows of a report table, the same
//! way for `compare` and `ablation`, with the provenance every number needs.

use serde_json::Value;

use crate::report::{Cell, ColumnKind, Table};

/// The metric columns: key in the table, heading, JSON keys of value and spread.
const METRICS: [(&str, &str, &str, Option<&str>); 8] = [
    ("fid", "FID ↓", "fid", None),
    ("is", "IS ↑", "is_mean", Some("is_std")),
    ("kid", "KID ↓", "kid_mean", Some("kid_std")),
    ("precision", "precision ↑", "precision", None),
    ("recall", "recall ↑", "recall", None),
    ("density", "density ↑", "density", None),
    ("coverage", "coverage ↑", "coverage", None),
    (
        "near_duplicate_rate",
        "near-duplicates ↓",
        "near_duplicate_rate",
        None,
    ),
];

/// Provenance columns: key, heading, where in the JSON.
const PROVENANCE: [(&str, &str, &[&str]); 11] = [
    ("n_fake", "images", &["n_fake"]),
    ("n_real", "real images", &["n_real"]),
    ("extractor_sha256", "extractor", &["extractor", "sha256"]),
    ("classifier_sha256", "classifier", &["classifier", "sha256"]),
    ("resize", "resize", &["resize"]),
    ("provider", "provider", &["provider"]),
    ("kid_seed", "KID seed", &["kid_seed"]),
    ("is_shuffle_seed", "IS shuffle seed", &["is_shuffle_seed"]),
    ("onnxruntime", "onnxruntime", &["onnxruntime"]),
    ("generator_sha256", "generator", &["generator_sha256"]),
    ("seed", "noise seed", &["seed"]),
];

/// A table with a label column, the metric columns that any of `reports`
/// holds, and the provenance columns.
pub(super) fn score_table(title: &str, label: &str, reports: &[&Value]) -> Table {
    let mut table = Table::new(title);
    table.column("label", label, ColumnKind::Label);
    for (key, heading, value_key, _) in METRICS {
        if reports
            .iter()
            .any(|r| r.get(value_key).is_some_and(|v| !v.is_null()))
        {
            table.column(key, heading, ColumnKind::Metric);
        }
    }
    for (key, heading, _) in PROVENANCE {
        table.column(key, heading, ColumnKind::Provenance);
    }
    table
}

/// Adds one row for `report` (the flat JSON of a score report).
pub(super) fn add_score_row(table: &mut Table, label: &str, report: &Value) -> usize {
    let row = table.row();
    table.set(row, "label", Cell::text(label));
    for (key, _, value_key, std_key) in METRICS {
        if table.columns.iter().any(|c| c.key == key) {
            let value = report.get(value_key).and_then(Value::as_f64);
            let std = std_key.and_then(|k| report.get(k)).and_then(Value::as_f64);
            table.set(row, key, Cell::measure(value, std));
        }
    }
    for (key, _, path) in PROVENANCE {
        let mut value = Some(report);
        for step in path {
            value = value.and_then(|v| v.get(*step));
        }
        let text = match value {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let text = match (key, text) {
            // IS-only reports count their images as `n_images`.
            ("n_fake", None) => report
                .get("n_images")
                .and_then(Value::as_u64)
                .map(|n| n.to_string()),
            (_, text) => text,
        };
        table.set(row, key, Cell::optional(text));
    }
    row
}

/// The rows a report file contributes: a score report is one row; an `eval`
/// report one row per branch (`label 256²`), carrying the generator's hash
/// and the noise seed.
pub(super) fn report_rows(label: &str, report: &Value) -> Vec<(String, Value)> {
    match report.get("branches").and_then(Value::as_array) {
        Some(branches) => branches
            .iter()
            .map(|b| {
                let resolution = b.get("resolution").and_then(Value::as_u64).unwrap_or(0);
                let mut row = b.clone();
                if let Some(fields) = row.as_object_mut() {
                    let generator = report
                        .pointer("/generator/sha256")
                        .cloned()
                        .unwrap_or(Value::Null);
                    fields.insert("generator_sha256".into(), generator);
                    fields.insert(
                        "seed".into(),
                        report.get("seed").cloned().unwrap_or(Value::Null),
                    );
                }
                (format!("{label} {resolution}²"), row)
            })
            .collect(),
        None => vec![(label.to_string(), report.clone())],
    }
}
