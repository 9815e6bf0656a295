//! Typed reports → report tables: every column reads a field of a typed
//! report, so a renamed field is a compile error, not a silently empty
//! column. Shared by `compare`, `ablation`, `eval --csv`, `tsne` and the demo.

use crate::ablation::{Ablation, AblationReport, VariantScores};
use crate::collapse::CollapseReport;
use crate::curve::CurveRow;
use crate::metrics::Triage;
use crate::report::{Cell, ColumnKind, PaperValue, Table};
use crate::scoring::{BOOTSTRAPPED, EvalReport, ScoreReport};

/// One row of a score table: a label, the scores, and where they came from.
pub(super) struct ScoreRow<'a> {
    pub(super) label: String,
    pub(super) scores: &'a ScoreReport,
    /// The generator of an `eval` branch.
    pub(super) generator_sha256: Option<&'a str>,
    /// The noise seed of an `eval` branch.
    pub(super) seed: Option<u32>,
}

impl<'a> ScoreRow<'a> {
    pub(super) fn score(label: &str, scores: &'a ScoreReport) -> ScoreRow<'a> {
        ScoreRow {
            label: label.to_string(),
            scores,
            generator_sha256: None,
            seed: None,
        }
    }

    /// One row per branch of an `eval` report, labelled `label 256²`.
    pub(super) fn branches(label: &str, report: &'a EvalReport) -> Vec<ScoreRow<'a>> {
        report
            .branches
            .iter()
            .map(|branch| ScoreRow {
                label: format!("{label} {}²", branch.resolution),
                scores: &branch.scores,
                generator_sha256: Some(&report.generator.sha256),
                seed: report.seed,
            })
            .collect()
    }
}

type Number = fn(&ScoreReport) -> Option<f64>;

/// The metric columns: key in the table, heading, value, spread.
pub(super) const METRICS: [(&str, &str, Number, Number); 10] = [
    ("fid", "FID ↓", |r| r.fid, |_| None),
    ("is", "IS ↑", |r| r.is_mean, |r| r.is_std),
    ("kid", "KID ↓", |r| r.kid_mean, |r| r.kid_std),
    ("precision", "precision ↑", |r| r.precision, |_| None),
    ("recall", "recall ↑", |r| r.recall, |_| None),
    ("density", "density ↑", |r| r.density, |_| None),
    ("coverage", "coverage ↑", |r| r.coverage, |_| None),
    (
        "near_duplicate_rate",
        "near-duplicates ↓",
        |r| r.near_duplicate_rate,
        |_| None,
    ),
    // The spread of an extrapolation is the standard error of its intercept.
    ("fid_inf", "FID∞ ↓", |r| r.fid_inf, |r| r.fid_inf_stderr),
    ("is_inf", "IS∞ ↑", |r| r.is_inf, |r| r.is_inf_stderr),
];

/// The bootstrap interval `scores` holds for the metric column `key`.
pub(super) fn interval(key: &str, scores: &ScoreReport) -> Option<[f64; 2]> {
    let report_key = match key {
        "is" => "is_mean",
        "kid" => "kid_mean",
        other => other,
    };
    BOOTSTRAPPED
        .iter()
        .find(|b| b.key == report_key)
        .and_then(|b| (b.interval)(scores))
}

/// A metric cell with the bootstrap interval the report holds for it.
fn measured(key: &str, value: Option<f64>, spread: Option<f64>, scores: &ScoreReport) -> Cell {
    match Cell::measure(value, spread) {
        Cell::Measure(mut m) => {
            m.ci = interval(key, scores);
            Cell::Measure(m)
        }
        other => other,
    }
}

type Text = fn(&ScoreRow) -> Option<String>;

fn text(value: Option<impl ToString>) -> Option<String> {
    value.map(|v| v.to_string())
}

/// The provenance columns: key, heading, value.
const PROVENANCE: [(&str, &str, Text); 12] = [
    // IS-only reports count their images as `n_images`.
    ("n_fake", "images", |r| {
        text(r.scores.n_fake.or(r.scores.n_images))
    }),
    ("n_real", "real images", |r| text(r.scores.n_real)),
    ("extractor_sha256", "extractor", |r| {
        text(r.scores.extractor.as_ref().map(|m| &m.sha256))
    }),
    ("classifier_sha256", "classifier", |r| {
        text(r.scores.classifier.as_ref().map(|m| &m.sha256))
    }),
    ("protocol", "protocol", |r| r.scores.protocol.clone()),
    ("resize", "resize", |r| r.scores.resize.clone()),
    ("provider", "provider", |r| r.scores.provider.clone()),
    ("kid_seed", "KID seed", |r| text(r.scores.kid_seed)),
    ("is_shuffle_seed", "IS shuffle seed", |r| {
        text(r.scores.is_shuffle_seed)
    }),
    ("onnxruntime", "onnxruntime", |r| {
        r.scores.onnxruntime.clone()
    }),
    ("generator_sha256", "generator", |r| {
        text(r.generator_sha256)
    }),
    ("seed", "noise seed", |r| text(r.seed)),
];

/// A table with a label column, the metric columns any row holds, the
/// provenance columns, and one row per `rows`, in order.
pub(super) fn score_table(title: &str, label: &str, rows: &[ScoreRow]) -> Table {
    let mut table = Table::new(title);
    table.column("label", label, ColumnKind::Label);
    let metrics: Vec<_> = METRICS
        .iter()
        .filter(|(_, _, value, _)| rows.iter().any(|r| value(r.scores).is_some()))
        .collect();
    for (key, heading, _, _) in &metrics {
        table.column(key, heading, ColumnKind::Metric);
    }
    for (key, heading, _) in PROVENANCE {
        table.column(key, heading, ColumnKind::Provenance);
    }
    for row in rows {
        let index = table.row();
        table.set(index, "label", Cell::text(&row.label));
        for (key, _, value, spread) in &metrics {
            table.set(
                index,
                key,
                measured(key, value(row.scores), spread(row.scores), row.scores),
            );
        }
        for (key, _, value) in PROVENANCE {
            table.set(index, key, Cell::optional(value(row)));
        }
    }
    table
}

/// Published-value columns: metric, heading.
const PAPER_COLUMNS: [(&str, &str); 3] = [
    ("fid", "FID (published)"),
    ("is", "IS (published)"),
    ("kid", "KID (published)"),
];

/// One row per variant (a generator variant scores exactly one branch),
/// with the published values the config gives beside the measured ones.
pub(super) fn ablation_table(ablation: &Ablation, report: &AblationReport) -> Table {
    let rows: Vec<ScoreRow> = report
        .variants
        .iter()
        .filter_map(|result| match &result.report {
            VariantScores::Generator(eval) => eval.branches.first().map(|branch| ScoreRow {
                label: result.variant.clone(),
                scores: &branch.scores,
                generator_sha256: Some(&eval.generator.sha256),
                seed: eval.seed,
            }),
            VariantScores::Folder(scores) => Some(ScoreRow::score(&result.variant, scores)),
        })
        .collect();
    let mut table = score_table(&ablation.title, "variant", &rows);
    let published: Vec<(&str, &str)> = PAPER_COLUMNS
        .into_iter()
        .filter(|(metric, _)| {
            ablation
                .variants
                .iter()
                .any(|v| v.paper.contains_key(*metric))
        })
        .collect();
    for (metric, heading) in &published {
        table.column(&format!("paper_{metric}"), heading, ColumnKind::Paper);
    }
    table.notes.push(ablation_note(ablation));
    for (index, row) in rows.iter().enumerate() {
        let Some(variant) = ablation.variants.iter().find(|v| v.name == row.label) else {
            continue;
        };
        for (metric, _) in &published {
            if let Some(paper) = variant.paper.get(*metric) {
                let cell = Cell::Paper(PaperValue {
                    value: paper.value,
                    std: paper.std,
                    status: paper.status,
                    source: paper.source.clone(),
                });
                table.set(index, &format!("paper_{metric}"), cell);
            }
        }
    }
    table
}

/// What the ablation measured, with what.
fn ablation_note(ablation: &Ablation) -> String {
    let scoring = &ablation.scoring;
    let path = |p: Option<&std::path::PathBuf>, what: &str| {
        p.map(|p| format!(", {what} `{}`", p.display()))
            .unwrap_or_default()
    };
    format!(
        "Config `{}`: {} variants, metrics {}, extractor `{}`{}{}.",
        ablation.path.display(),
        ablation.variants.len(),
        scoring
            .metrics
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", "),
        scoring
            .extractor
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        path(scoring.classifier.as_ref(), "IS classifier"),
        path(ablation.real.as_ref(), "reference"),
    )
}

/// The `eval --csv` columns.
const EVAL_COLUMNS: [&str; 20] = [
    "generator",
    "generator_sha256",
    "sampling_protocol",
    "seed",
    "samples",
    "resolution",
    "is_mean",
    "is_std",
    "is_mean_ci_low",
    "is_mean_ci_high",
    "fid",
    "fid_ci_low",
    "fid_ci_high",
    "kid_mean",
    "kid_std",
    "kid_mean_ci_low",
    "kid_mean_ci_high",
    "color_mean_distance_from_lower",
    "color_covariance_distance_from_lower",
    "color_loss_from_lower",
];

/// The `eval --csv` table without rows: its header.
pub(super) fn eval_columns() -> Table {
    let mut table = Table::new("eval");
    for key in EVAL_COLUMNS {
        table.column(key, key, ColumnKind::Provenance);
    }
    table
}

/// The `eval --csv` rows: one per branch; the colour columns hold the pair
/// that ends at the branch.
pub(super) fn eval_table(report: &EvalReport) -> Table {
    let mut table = eval_columns();
    let number = |v: Option<f64>| Cell::optional(v.map(|v| format!("{v}")));
    for branch in &report.branches {
        let color = report
            .color_consistency
            .iter()
            .find(|c| c.to == branch.resolution)
            .map(|c| &c.result);
        let s = &branch.scores;
        let cells = [
            Cell::text(&report.generator.name),
            Cell::text(&report.generator.sha256),
            Cell::text(&report.sampling_protocol),
            Cell::optional(report.seed),
            Cell::text(report.samples.to_string()),
            Cell::text(branch.resolution.to_string()),
            number(s.is_mean),
            number(s.is_std),
            number(s.is_mean_ci.map(|ci| ci[0])),
            number(s.is_mean_ci.map(|ci| ci[1])),
            number(s.fid),
            number(s.fid_ci.map(|ci| ci[0])),
            number(s.fid_ci.map(|ci| ci[1])),
            number(s.kid_mean),
            number(s.kid_std),
            number(s.kid_mean_ci.map(|ci| ci[0])),
            number(s.kid_mean_ci.map(|ci| ci[1])),
            number(color.map(|c| c.mean_distance)),
            number(color.map(|c| c.covariance_distance)),
            number(color.map(|c| c.loss)),
        ];
        let row = table.row();
        for (key, cell) in EVAL_COLUMNS.iter().zip(cells) {
            table.set(row, key, cell);
        }
    }
    table
}

/// A training curve: one row per checkpoint and branch, in iteration
/// order — iteration, checkpoint, branch, the metrics any row holds, then
/// where each number came from.
pub(super) fn curve_table(rows: &[CurveRow]) -> Table {
    let mut table = Table::new("Training curve");
    table.column("iteration", "iteration", ColumnKind::Provenance);
    table.column("checkpoint", "checkpoint", ColumnKind::Label);
    table.column("branch", "branch", ColumnKind::Provenance);
    let branches = || rows.iter().flat_map(|r| r.report.branches.iter());
    let metrics: Vec<_> = METRICS
        .iter()
        .filter(|(_, _, value, _)| branches().any(|b| value(&b.scores).is_some()))
        .collect();
    for (key, heading, _, _) in &metrics {
        table.column(key, heading, ColumnKind::Metric);
    }
    for key in ["samples", "seed", "generator_sha256", "checkpoint_sha256"] {
        table.column(key, key, ColumnKind::Provenance);
    }
    for row in rows {
        let name = std::path::Path::new(&row.checkpoint)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| row.checkpoint.clone());
        for branch in &row.report.branches {
            let index = table.row();
            table.set(index, "iteration", Cell::text(row.iteration.to_string()));
            table.set(index, "checkpoint", Cell::text(&name));
            table.set(index, "branch", Cell::text(branch.resolution.to_string()));
            for (key, _, value, spread) in &metrics {
                let cell = measured(
                    key,
                    value(&branch.scores),
                    spread(&branch.scores),
                    &branch.scores,
                );
                table.set(index, key, cell);
            }
            table.set(index, "samples", Cell::text(row.report.samples.to_string()));
            table.set(index, "seed", Cell::optional(row.report.seed));
            table.set(
                index,
                "generator_sha256",
                Cell::text(&row.report.generator.sha256),
            );
            table.set(
                index,
                "checkpoint_sha256",
                Cell::text(&row.checkpoint_sha256),
            );
        }
    }
    table
}

/// The failure triage's columns: key, heading.
const TRIAGE_COLUMNS: [(&str, &str); 2] = [("severe", "severe"), ("moderate", "moderate")];

/// The triage's severe and moderate counts as cells (empty without a triage).
fn triage_counts(triage: Option<&Triage>) -> [(&'static str, Cell); 2] {
    let count = |n: Option<usize>| Cell::optional(n);
    [
        ("severe", count(triage.map(|t| t.counts.severe))),
        ("moderate", count(triage.map(|t| t.counts.moderate))),
    ]
}

/// Each set's collapse statistics against the reference set.
pub(super) fn collapse_table(report: &CollapseReport) -> Table {
    let mut table = Table::new("Mode collapse: each set against the reference set");
    table.notes.push(format!(
        "Reference `{}`. Precision and recall: k-NN manifolds (Kynkäänniemi et al. 2019); density and coverage: Naeem et al. 2020; k = {}. \
         Near-duplicate rate: share of samples whose nearest other sample is closer than {:.6} (the {} quantile of the reference set's nearest-neighbour distances). \
         Failure triage, one kind per sample: severe = such a near-duplicate; moderate = otherwise outside every reference k-NN ball (precision's criterion); \
         no mild column, since the map reads no classifier logits.",
        report.reference, report.prdc_k, report.threshold.distance, report.threshold.quantile
    ));
    table.column("set", "set", ColumnKind::Label);
    for (key, heading) in [
        ("precision", "precision ↑"),
        ("recall", "recall ↑"),
        ("density", "density ↑"),
        ("coverage", "coverage ↑"),
        ("near_duplicate_rate", "near-duplicates ↓"),
    ] {
        table.column(key, heading, ColumnKind::Metric);
    }
    for (key, heading) in TRIAGE_COLUMNS {
        table.column(key, heading, ColumnKind::Provenance);
    }
    table.column("samples", "samples", ColumnKind::Provenance);
    table.column("seed", "t-SNE seed", ColumnKind::Provenance);
    for c in &report.collapse {
        let row = table.row();
        let measure = |v: f64| Cell::measure(Some(v), None);
        table.set(row, "set", Cell::text(&c.set));
        table.set(row, "precision", measure(c.precision));
        table.set(row, "recall", measure(c.recall));
        table.set(row, "density", measure(c.density));
        table.set(row, "coverage", measure(c.coverage));
        table.set(row, "near_duplicate_rate", measure(c.near_duplicate_rate));
        for (key, count) in triage_counts(c.triage.as_ref()) {
            table.set(row, key, count);
        }
        table.set(row, "samples", Cell::text(c.samples.to_string()));
        table.set(row, "seed", Cell::text(report.tsne.seed.to_string()));
    }
    table
}
