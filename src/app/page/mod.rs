//! The one page builder behind `report` and the `--html` flags of
//! `ablation`, `eval`, `tsne` and `demo`: typed runs → a
//! [`Page`](crate::report::html::Page) — a section per run (consecutive
//! score reports share one table) with its provenance, table, the charts and
//! maps its command wrote, branch grids from its samples and its failure
//! triage — written to `DIR/index.html`, images linked in place or copied
//! into `DIR/assets/`.

use std::path::{Path, PathBuf};

use anyhow::Context;

mod grids;

use grids::{branch_grid, variant_grid};

use super::runs::{Run, RunKind};
use super::tables::{ScoreRow, score_table};
use crate::atomic::write_bytes_atomically;
use crate::metrics::Triage;
use crate::report::html::{Assets, Block, Figure, Page, Section, Thumbnail, TriageView, render};
use crate::report::{Cell, ColumnKind, Table};
use crate::scoring::{EvalReport, ScoreReport};

/// Largest side of a triage thumbnail, in pixels.
const THUMBNAIL: u32 = 96;
/// The page's file in its folder.
pub(super) const INDEX_HTML: &str = "index.html";

/// Writes the page of `runs` into `out` (created if need be); returns its path.
pub(super) fn write_page(
    out: &Path,
    title: &str,
    intro: &[String],
    runs: &[Run],
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| {
        format!(
            "cannot create --out {}; choose a writable folder",
            out.display()
        )
    })?;
    let mut assets = Assets::new(out);
    let mut sections = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        // Consecutive score reports are rows of one table.
        let scores = runs[i..]
            .iter()
            .take_while(|r| matches!(r.kind, RunKind::Score { .. }))
            .count();
        if scores > 0 {
            sections.push(score_section(&runs[i..i + scores], &mut assets)?);
            i += scores;
            continue;
        }
        sections.push(section(&runs[i], &mut assets)?);
        i += 1;
    }
    let page = Page {
        title: title.to_string(),
        intro: intro.to_vec(),
        sections,
    };
    let path = out.join(INDEX_HTML);
    write_bytes_atomically(&path, render(&page).as_bytes()).with_context(|| {
        format!(
            "cannot write {}; check that the folder is writable",
            path.display()
        )
    })?;
    Ok(path)
}

fn section(run: &Run, assets: &mut Assets) -> anyhow::Result<Section> {
    let mut section = Section {
        source: run.source.as_ref().map(|p| p.display().to_string()),
        ..Section::default()
    };
    match &run.kind {
        RunKind::Score { .. } => unreachable!("score reports are grouped"),
        RunKind::Eval { report, samples } => {
            eval_section(&mut section, run, report, samples.as_deref(), assets)?
        }
        RunKind::Ablation { table, variants } => {
            section.heading = table.title.clone();
            section.blocks.push(Block::Table(untitled(table)));
            let keys = table
                .columns
                .iter()
                .filter(|c| c.kind == ColumnKind::Metric);
            let charts = keys
                .map(|c| {
                    (
                        format!("ablation-{}.png", c.key),
                        format!("{} per variant.", c.heading),
                    )
                })
                .collect::<Vec<_>>();
            push_figures(&mut section, &run.folder, &charts, assets)?;
            section.blocks.push(variant_grid(run, variants, assets)?);
            for (name, triages) in variants {
                for triage in triages.iter().flatten() {
                    push_triage(&mut section, name, triage, &run.folder, assets);
                }
            }
            let tsne = run.folder.join("tsne");
            if tsne.is_dir() {
                section
                    .blocks
                    .push(Block::Heading("t-SNE map of the variants".into()));
                push_figures(&mut section, &tsne, &tsne_figures(&tsne), assets)?;
            }
        }
        RunKind::Collapse { table } => {
            section.heading = "t-SNE map and mode collapse".into();
            section.blocks.push(Block::Table(table.clone()));
            push_figures(
                &mut section,
                &run.folder,
                &tsne_figures(&run.folder),
                assets,
            )?;
        }
        RunKind::Curve { table } => {
            section.heading = table.title.clone();
            section.blocks.push(Block::Table(untitled(table)));
            let charts = ["fid", "is", "kid"]
                .map(|k| {
                    (
                        format!("curve-{k}.png"),
                        format!("{} over training, one line per branch.", k.to_uppercase()),
                    )
                })
                .to_vec();
            push_figures(&mut section, &run.folder, &charts, assets)?;
        }
    }
    Ok(section)
}

/// One table of score reports, the first one's provenance, each one's warnings and triage.
fn score_section(runs: &[Run], assets: &mut Assets) -> anyhow::Result<Section> {
    let reports: Vec<(&Run, &ScoreReport)> = runs
        .iter()
        .filter_map(|run| match &run.kind {
            RunKind::Score { report } => Some((run, report.as_ref())),
            _ => None,
        })
        .collect();
    let rows: Vec<ScoreRow> = reports
        .iter()
        .map(|(run, report)| ScoreRow::score(&run.label, report))
        .collect();
    let mut section = Section {
        heading: match runs {
            [one] => format!("Scores: {}", one.label),
            _ => "Scores".into(),
        },
        source: Some(
            runs.iter()
                .filter_map(|r| r.source.as_ref().map(|p| p.display().to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        )
        .filter(|s| !s.is_empty()),
        provenance: reports
            .first()
            .map(|(_, r)| provenance(r))
            .unwrap_or_default(),
        blocks: vec![Block::Table(score_table("", "run", &rows))],
    };
    for (run, report) in &reports {
        for warning in &report.warnings {
            section
                .blocks
                .push(Block::Note(format!("{}: {warning}", run.label)));
        }
        if let Some(triage) = &report.triage {
            push_triage(&mut section, &run.label, triage, &run.folder, assets);
        }
    }
    Ok(section)
}

fn eval_section(
    section: &mut Section,
    run: &Run,
    report: &EvalReport,
    samples: Option<&Path>,
    assets: &mut Assets,
) -> anyhow::Result<()> {
    let generator = &report.generator;
    section.heading = format!("Generator {}: every branch scored", generator.name);
    section.provenance = vec![
        (
            "generator".into(),
            format!(
                "{} ({}, {})",
                generator.path, generator.family, generator.config
            ),
        ),
        ("generator SHA-256".into(), generator.sha256.clone()),
        ("sampling".into(), report.sampling.clone()),
        ("sampling protocol".into(), report.sampling_protocol.clone()),
    ];
    if let Some(seed) = report.seed {
        section
            .provenance
            .push(("noise seed".into(), seed.to_string()));
    }
    if let Some(sha) = &report.inputs_sha256 {
        section
            .provenance
            .push(("inputs SHA-256".into(), sha.clone()));
    }
    if let Some(first) = report.branches.first() {
        section.provenance.extend(provenance(&first.scores));
    }
    // Rows named by the branch alone: the heading names the generator.
    let rows = ScoreRow::branches("", report);
    section
        .blocks
        .push(Block::Table(score_table("", "branch", &rows)));
    if !report.color_consistency.is_empty() {
        section.blocks.push(Block::Table(colour_table(report)));
    }
    match samples {
        Some(folder) => section.blocks.push(branch_grid(folder, &run.label, assets)?),
        None => section.blocks.push(Block::Paragraph(
            "No samples beside this report: pass `report --samples FOLDER` (the folder `eval --out` or `generate --out` wrote) to see the branches side by side.".into(),
        )),
    }
    for branch in &report.branches {
        if let Some(triage) = &branch.scores.triage {
            let label = format!("{} {}×{}", run.label, branch.resolution, branch.resolution);
            push_triage(section, &label, triage, &run.folder, assets);
        }
    }
    Ok(())
}

/// What was run and with which models, from a score report.
fn provenance(r: &ScoreReport) -> Vec<(String, String)> {
    let mut fields = vec![(
        "tool".to_string(),
        format!("{} {}", r.stamp.tool, r.stamp.tool_version),
    )];
    let mut push = |field: &str, value: Option<String>| {
        if let Some(value) = value {
            fields.push((field.to_string(), value));
        }
    };
    for (role, model) in [("extractor", &r.extractor), ("classifier", &r.classifier)] {
        push(
            role,
            model.as_ref().map(|m| format!("{} ({})", m.name, m.path)),
        );
        push(
            &format!("{role} SHA-256"),
            model.as_ref().map(|m| m.sha256.clone()),
        );
    }
    push("protocol", r.protocol.clone());
    push("resize", r.resize.clone());
    push(
        "provider",
        r.provider.as_ref().map(|p| match &r.onnxruntime {
            Some(version) => format!("{p}, ONNX Runtime {version}"),
            None => p.clone(),
        }),
    );
    let seeds: Vec<String> = [
        ("KID subsets", r.kid_seed),
        ("IS shuffle", r.is_shuffle_seed),
    ]
    .iter()
    .filter_map(|(what, seed)| seed.map(|s| format!("{what} {s}")))
    .collect();
    push("seeds", (!seeds.is_empty()).then(|| seeds.join(", ")));
    push("batch size", Some(r.batch_size.to_string()));
    fields
}

/// The colour-consistency pairs of an eval report as a table.
fn colour_table(report: &EvalReport) -> Table {
    let mut table = Table::new("Colour consistency between branches");
    table.column("pair", "branches", ColumnKind::Label);
    table.column("mean_distance", "mean ‖Δμ‖²", ColumnKind::Metric);
    table.column("covariance_distance", "mean ‖ΔΣ‖²_F", ColumnKind::Metric);
    table.column("loss", "50·MSE(μ) + 250·MSE(Σ)", ColumnKind::Metric);
    for pair in &report.color_consistency {
        let row = table.row();
        table.set(
            row,
            "pair",
            Cell::text(format!("{} → {}", pair.from, pair.to)),
        );
        let r = &pair.result;
        table.set(
            row,
            "mean_distance",
            Cell::measure(Some(r.mean_distance), None),
        );
        table.set(
            row,
            "covariance_distance",
            Cell::measure(Some(r.covariance_distance), None),
        );
        table.set(row, "loss", Cell::measure(Some(r.loss), None));
    }
    table
}

fn untitled(table: &Table) -> Table {
    Table {
        title: String::new(),
        ..table.clone()
    }
}

/// The t-SNE figures a folder holds: the scatter plot, the map of all
/// sets, then one map per set, in name order.
fn tsne_figures(folder: &Path) -> Vec<(String, String)> {
    let mut figures = vec![
        (
            "tsne-scatter.png".to_string(),
            "t-SNE of every set's features, one colour per set.".to_string(),
        ),
        (
            "tsne-map-all.png".to_string(),
            "Image map of all sets: each sample's thumbnail at its place on the map.".to_string(),
        ),
    ];
    let mut per_set: Vec<String> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    n.starts_with("tsne-map-") && n.ends_with(".png") && n != "tsne-map-all.png"
                })
                .collect()
        })
        .unwrap_or_default();
    per_set.sort();
    for name in per_set {
        let set = name
            .trim_start_matches("tsne-map-")
            .trim_end_matches(".png")
            .to_string();
        figures.push((name, format!("Image map of {set}.")));
    }
    figures
}

/// The named figures that exist in `folder`, side by side.
fn push_figures(
    section: &mut Section,
    folder: &Path,
    figures: &[(String, String)],
    assets: &mut Assets,
) -> anyhow::Result<()> {
    let mut shown = Vec::new();
    for (name, caption) in figures {
        let path = folder.join(name);
        if path.is_file() {
            let image = assets.image(&path, name.trim_end_matches(".png"))?;
            shown.push(Figure {
                image,
                caption: caption.clone(),
            });
        }
    }
    if !shown.is_empty() {
        section.blocks.push(Block::Figures(shown));
    }
    Ok(())
}

/// A triage with its worst examples as thumbnails; an example whose image
/// cannot be read is marked missing on the page (and said so on stderr);
/// one the run kept no image of (`eval` without `--out`) is marked so.
fn push_triage(
    section: &mut Section,
    label: &str,
    triage: &Triage,
    folder: &Path,
    assets: &mut Assets,
) {
    let mut missing = 0;
    let thumbnails = triage
        .examples
        .iter()
        .map(|example| {
            let Some(file) = &example.file else {
                return Thumbnail::NotKept;
            };
            let given = Path::new(file);
            // As given (relative to where the run ran), else beside the report.
            let path = [given.to_path_buf(), folder.join(given)]
                .into_iter()
                .find(|p| p.is_file())
                .unwrap_or_else(|| given.to_path_buf());
            let name = format!("triage-{label}-{}-{}", example.kind.name(), example.index);
            match assets.thumbnail(&path, THUMBNAIL, &name) {
                Ok(image) => Thumbnail::Image(image),
                Err(e) => {
                    missing += 1;
                    Thumbnail::Missing(e.to_string())
                }
            }
        })
        .collect();
    if missing > 0 {
        eprintln!(
            "warning: {missing} triage example(s) of {label} could not be read; the page marks them missing (run `report` where the run ran)"
        );
    }
    section.blocks.push(Block::Triage(TriageView {
        label: label.to_string(),
        triage: triage.clone(),
        thumbnails,
    }));
}
