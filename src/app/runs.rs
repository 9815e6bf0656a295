//! The runs a page shows, read back typed from the JSON their commands
//! wrote — the `--json` reports of `fid`, `is`, `kid`, `score` and `eval`,
//! `ablation.json`, `collapse.json` (`tsne`) and `curve.json`, each with the
//! failure triage it carries — or taken from a command that just computed
//! them (`--html`, the demo). Anything else is refused, naming the file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;
use serde_json::Value;

use crate::ablation::{VariantResult, VariantScores};
use crate::curve::{CurveRow, Settings};
use crate::metrics::Triage;
use crate::report::{Stamp, Table};
use crate::scoring::{EvalReport, ScoreReport};

/// One run on the page.
#[derive(Debug, Clone)]
pub(super) struct Run {
    /// The JSON file the run was read from, or that its command wrote.
    pub(super) source: Option<PathBuf>,
    /// The folder holding the run's charts and maps.
    pub(super) folder: PathBuf,
    /// What names the run in headings and table rows (the file's stem).
    pub(super) label: String,
    pub(super) kind: RunKind,
}

/// What a run is, typed.
#[derive(Debug, Clone)]
pub(super) enum RunKind {
    /// `fid`, `is`, `kid`, `score`.
    Score { report: Box<ScoreReport> },
    /// `eval`, and the samples folder of its branch grid.
    Eval {
        report: Box<EvalReport>,
        samples: Option<PathBuf>,
    },
    /// `ablation.json`: the table and each variant's triages (one per branch).
    Ablation {
        table: Table,
        variants: Vec<(String, Vec<Option<Triage>>)>,
    },
    /// `collapse.json` of `tsne`.
    Collapse { table: Table },
    /// `curve.json`.
    Curve { table: Table },
}

/// How a refused file is named: its path, what is wrong, the fix.
fn refuse(path: &Path, what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: {what}; pass the --json of fid, is, kid, score or eval, or the ablation.json, collapse.json or curve.json a run wrote",
        path.display()
    )
}

impl Run {
    /// Reads a run's JSON file.
    pub(super) fn read(path: &Path) -> anyhow::Result<Run> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read report {}; check the path", path.display()))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| refuse(path, format!("not JSON ({e})")))?;
        let ours = serde_json::from_value::<Stamp>(value.clone()).is_ok_and(|s| s.is_ours());
        if !ours {
            return Err(refuse(
                path,
                "not a stackgan-eval file (no \"tool\": \"stackgan-eval\")",
            ));
        }
        let kind = RunKind::from_value(value).map_err(|e| refuse(path, e))?;
        Ok(Run {
            source: Some(path.to_path_buf()),
            folder: path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            label: stem(path),
            kind,
        })
    }

    /// A run its command just computed, as the page shows it.
    pub(super) fn new(source: &Path, kind: RunKind) -> Run {
        Run {
            source: Some(source.to_path_buf()),
            folder: source
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            label: stem(source),
            kind,
        }
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `curve.json`, the parts the page shows.
#[derive(Deserialize)]
struct CurveFile {
    settings: Settings,
    rows: Vec<CurveFileRow>,
}

#[derive(Deserialize)]
struct CurveFileRow {
    iteration: u64,
    checkpoint: String,
    checkpoint_sha256: String,
    converted: Option<String>,
    report: EvalReport,
}

impl RunKind {
    /// The run a document holds, told apart by its keys.
    fn from_value(value: Value) -> Result<RunKind, String> {
        let object = value.as_object().ok_or("not a JSON object")?;
        if let (Some(table), Some(details)) = (object.get("table"), object.get("details")) {
            let table = read_table(table)?;
            return if let Some(variants) = details.as_array() {
                let variants = variants
                    .iter()
                    .map(|v| {
                        let name = v.get("variant").and_then(Value::as_str);
                        let name = name.ok_or("an ablation variant without a name")?;
                        Ok((
                            name.to_string(),
                            triages(v.get("report").unwrap_or(&Value::Null))?,
                        ))
                    })
                    .collect::<Result<_, String>>()?;
                Ok(RunKind::Ablation { table, variants })
            } else if details.get("collapse").is_some() {
                Ok(RunKind::Collapse { table })
            } else {
                Err("a table, but neither an ablation's nor a t-SNE's".into())
            };
        }
        if object.contains_key("rows") && object.contains_key("settings") {
            let curve: CurveFile =
                serde_json::from_value(value).map_err(|e| format!("not a curve.json ({e})"))?;
            let rows: Vec<CurveRow> = curve
                .rows
                .into_iter()
                .map(|r| CurveRow {
                    iteration: r.iteration,
                    checkpoint: r.checkpoint,
                    checkpoint_sha256: r.checkpoint_sha256,
                    converted: r.converted,
                    settings: curve.settings.clone(),
                    report: r.report,
                })
                .collect();
            return Ok(RunKind::Curve {
                table: super::tables::curve_table(&rows),
            });
        }
        if object.contains_key("branches") {
            let report = typed(&value, "an eval report")?;
            return Ok(RunKind::eval(&report, None));
        }
        Ok(RunKind::score(&typed(&value, "a score report")?))
    }

    /// A score report the command holds.
    pub(super) fn score(report: &ScoreReport) -> RunKind {
        RunKind::Score {
            report: Box::new(report.clone()),
        }
    }

    /// An eval report the command holds, its samples in `samples`.
    pub(super) fn eval(report: &EvalReport, samples: Option<&Path>) -> RunKind {
        RunKind::Eval {
            report: Box::new(report.clone()),
            samples: samples.map(Path::to_path_buf),
        }
    }

    /// An ablation's table and its variants' triages (one per branch).
    pub(super) fn ablation(table: &Table, variants: &[VariantResult]) -> RunKind {
        let variants = variants
            .iter()
            .map(|v| {
                let triages = match &v.report {
                    VariantScores::Generator(eval) => eval
                        .branches
                        .iter()
                        .map(|b| b.scores.triage.clone())
                        .collect(),
                    VariantScores::Folder(score) => vec![score.triage.clone()],
                };
                (v.variant.clone(), triages)
            })
            .collect();
        RunKind::Ablation {
            table: table.clone(),
            variants,
        }
    }
}

/// A table read back, every row as wide as the header.
fn read_table(value: &Value) -> Result<Table, String> {
    let table: Table =
        Table::deserialize(value).map_err(|e| format!("its table is not a report table ({e})"))?;
    if let Some(i) = table
        .rows
        .iter()
        .position(|r| r.len() != table.columns.len())
    {
        return Err(format!(
            "row {} of its table has {} cells for {} columns",
            i + 1,
            table.rows[i].len(),
            table.columns.len()
        ));
    }
    Ok(table)
}

/// A score or eval report read typed; when it is not one, a broken
/// `"triage"` is named as the reason.
fn typed<T: serde::de::DeserializeOwned>(value: &Value, what: &str) -> Result<T, String> {
    T::deserialize(value).map_err(|e| match triages(value) {
        Err(triage) => triage,
        Ok(_) => format!("not {what} ({e})"),
    })
}

/// A report's `"triage"`, when it has one.
fn triage_of(report: &Value) -> Result<Option<Triage>, String> {
    match report.get("triage") {
        None | Some(Value::Null) => Ok(None),
        Some(t) => Triage::deserialize(t)
            .map(Some)
            .map_err(|e| format!("its \"triage\" is not a failure triage ({e})")),
    }
}

/// The triages of an eval report (one per branch) or of a score report.
fn triages(report: &Value) -> Result<Vec<Option<Triage>>, String> {
    match report.get("branches").and_then(Value::as_array) {
        Some(branches) => branches.iter().map(triage_of).collect(),
        None => Ok(vec![triage_of(report)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_apart_and_strangers_refused() {
        let score = serde_json::json!({"fid": 1.5, "skipped_images": 0, "batch_size": 50, "warnings": [],
            "tool": "stackgan-eval", "tool_version": "0",
            "triage": {"counts": {"severe": 3, "moderate": 0, "mild": 0, "fine": 7},
                "duplicate_distance": 0.1, "duplicate_quantile": 0.05, "k": 5, "worst_per_kind": 8,
                "examples": [{"kind": "severe", "index": 2, "file": "a.png", "score": 0.01}]}});
        let RunKind::Score { report } = RunKind::from_value(score).unwrap() else {
            panic!("a score report");
        };
        assert_eq!(report.fid, Some(1.5));
        let triage = report.triage.unwrap();
        assert_eq!(triage.counts.severe, 3);
        assert_eq!(triage.examples[0].index, 2);
        let ragged = serde_json::json!({"table": {"title": "t", "notes": [], "columns": [
            {"key": "a", "heading": "a", "kind": "label"}], "rows": [[]]}, "details": []});
        let error = RunKind::from_value(ragged).unwrap_err();
        assert!(error.contains("row 1"), "{error}");
        let bad_kind = serde_json::json!({"skipped_images": 0, "batch_size": 1, "warnings": [],
            "triage": {"examples": [{"kind": "awful", "index": 0}]}});
        assert!(
            RunKind::from_value(bad_kind)
                .unwrap_err()
                .contains("triage")
        );
    }
}
