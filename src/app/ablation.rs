//! `ablation`: every variant of a config through the same pipeline —
//! generator variants through `eval` (one branch), folders through `score` —
//! then one table as CSV, Markdown and JSON, with published values beside
//! the measured ones where the config gives them.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::Value;

use super::RunOptions;
use super::ablation_config::{self, Ablation, VariantSource};
use super::eval::{self, EvalConfig};
use super::extract::{self, ExtractConfig};
use super::score::{self, IsOptions, PrdcOptions, ScoreConfig};
use super::tables::{add_score_row, report_rows, score_table};
use super::tsne::{self, TsneCommand};
use crate::metrics::KidConfig;
use crate::metrics::PrdcConfig;
use crate::report::{
    self, Cell, ChartExporter, ColumnKind, CsvExporter, Exporter, JsonExporter, MarkdownExporter,
    PaperValue,
};

#[derive(Debug, Clone)]
pub struct AblationConfig {
    pub config: PathBuf,
    pub out: PathBuf,
    pub options: RunOptions,
}

/// Published-value columns: metric key, heading.
const PAPER_COLUMNS: [(&str, &str); 3] = [
    ("fid", "FID (published)"),
    ("is", "IS (published)"),
    ("kid", "KID (published)"),
];

pub fn run(config: &AblationConfig) -> anyhow::Result<()> {
    let ablation = ablation_config::read(&config.config)?;
    std::fs::create_dir_all(&config.out).with_context(|| {
        format!(
            "cannot create --out {}; choose a writable folder",
            config.out.display()
        )
    })?;
    let quiet = config.options.quiet;
    let mut options = config.options.clone();
    options.quiet = true;
    options.json = None;
    if let Some(batch) = ablation.file.batch_size {
        options.batch_size = batch;
    }
    let is = is_options(&ablation);
    let kid = kid_config(&ablation);
    let prdc_options = PrdcOptions {
        k: ablation.file.prdc.k.unwrap_or(PrdcOptions::default().k),
        duplicate_quantile: ablation
            .file
            .prdc
            .duplicate_quantile
            .unwrap_or(PrdcOptions::default().duplicate_quantile),
    };
    let real = reference_side(&ablation, &config.out, &options, quiet)?;

    let mut documents: Vec<(String, Value)> = Vec::new();
    // With a [tsne] section, generator variants also write their samples, for the maps.
    let mut sample_folders: Vec<(String, PathBuf)> = Vec::new();
    for (i, variant) in ablation.variants.iter().enumerate() {
        if !quiet {
            eprintln!(
                "ablation: [{}/{}] {}",
                i + 1,
                ablation.variants.len(),
                variant.name
            );
        }
        let document = match &variant.source {
            VariantSource::Generator { job, .. } => {
                let samples = ablation
                    .file
                    .tsne
                    .as_ref()
                    .map(|_| config.out.join("samples").join(format!("{:02}", i + 1)));
                if let Some(folder) = &samples {
                    sample_folders.push((variant.name.clone(), folder.clone()));
                    if folder.exists() {
                        std::fs::remove_dir_all(folder)
                            .with_context(|| format!("cannot clear {}", folder.display()))?;
                    }
                }
                let report = eval::run(&EvalConfig {
                    job: job.clone(),
                    metrics: ablation.metrics.clone(),
                    real: real.clone(),
                    extractor: Some(ablation.file.extractor.clone()),
                    classifier: ablation.file.classifier.clone(),
                    is: is.clone(),
                    kid: kid.clone(),
                    prdc: prdc_options,
                    out: samples,
                    csv: None,
                    options: options.clone(),
                })?;
                serde_json::to_value(&report)?
            }
            VariantSource::Folder(folder) => {
                sample_folders.push((variant.name.clone(), folder.clone()));
                let report = score::run(&ScoreConfig {
                    metrics: ablation.metrics.clone(),
                    real: real.clone(),
                    fake: folder.clone(),
                    fake_flag: "folder",
                    extractor: Some(ablation.file.extractor.clone()),
                    classifier: ablation.file.classifier.clone(),
                    is: is.clone(),
                    kid: kid.clone(),
                    prdc: prdc_options,
                    options: options.clone(),
                })?;
                serde_json::to_value(&report)?
            }
        };
        documents.push((variant.name.clone(), document));
    }

    // One row per variant: a generator variant scores exactly one branch.
    let rows: Vec<(String, Value)> = documents
        .iter()
        .map(|(name, document)| {
            let (_, row) = report_rows(name, document)
                .into_iter()
                .next()
                .expect("one branch or one report");
            (name.clone(), row)
        })
        .collect();
    let values: Vec<&Value> = rows.iter().map(|(_, v)| v).collect();
    let mut table = score_table(&ablation.file.title, "variant", &values);
    let published: Vec<(&str, &str)> = PAPER_COLUMNS
        .iter()
        .copied()
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
    table.notes.push(format!(
        "Config `{}`: {} variants, metrics {}, extractor `{}`{}{}.",
        config.config.display(),
        ablation.variants.len(),
        ablation.file.metrics.join(", "),
        ablation.file.extractor.display(),
        ablation
            .file
            .classifier
            .as_ref()
            .map(|c| format!(", IS classifier `{}`", c.display()))
            .unwrap_or_default(),
        ablation
            .file
            .real
            .as_ref()
            .map(|r| format!(", reference `{}`", r.display()))
            .unwrap_or_default(),
    ));
    for ((name, row_value), variant) in rows.iter().zip(&ablation.variants) {
        let row = add_score_row(&mut table, name, row_value);
        for (metric, _) in &published {
            if let Some(paper) = variant.paper.get(*metric) {
                table.set(
                    row,
                    &format!("paper_{metric}"),
                    Cell::Paper(PaperValue {
                        value: paper.value,
                        std: paper.std,
                        status: paper.status,
                        source: paper.source.clone(),
                    }),
                );
            }
        }
    }
    let details = JsonExporter {
        details: Value::Array(
            documents
                .iter()
                .map(|(name, d)| serde_json::json!({ "variant": name, "report": d }))
                .collect(),
        ),
    };
    let exporters: [&dyn Exporter; 4] = [&CsvExporter, &MarkdownExporter, &details, &ChartExporter];
    let mut written = report::write_all(&table, &config.out, "ablation", &exporters)?;
    if let Some(section) = &ablation.file.tsne {
        let mut sets = Vec::new();
        if let Some(real) = ablation.file.real.as_ref().filter(|r| r.is_dir()) {
            sets.push(("real".to_string(), real.clone()));
        }
        sets.extend(sample_folders);
        let out = config.out.join("tsne");
        tsne::run(&TsneCommand {
            sets,
            extractor: Some(ablation.file.extractor.clone()),
            reference: None,
            samples: section.samples,
            tsne: section.config(),
            grid: section.grid.unwrap_or(30),
            thumbnail: 32,
            prdc: PrdcConfig { k: prdc_options.k },
            duplicate_quantile: prdc_options.duplicate_quantile,
            out: out.clone(),
            options: options.clone(),
        })?;
        written.push(out);
    }
    if !quiet {
        println!("{}", report::markdown(&table, 2));
        for path in written {
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}

/// The reference side, once: a folder is extracted to a feature file in
/// `out` so every variant compares against the same features (the numbers
/// equal those from the folder itself).
fn reference_side(
    ablation: &Ablation,
    out: &std::path::Path,
    options: &RunOptions,
    quiet: bool,
) -> anyhow::Result<Option<PathBuf>> {
    let Some(real) = &ablation.file.real else {
        return Ok(None);
    };
    if !real.is_dir() {
        return Ok(Some(real.clone()));
    }
    let features = out.join("real-features.npz");
    if !quiet {
        eprintln!("ablation: features of the reference set {}", real.display());
    }
    extract::run(&ExtractConfig {
        images: real.clone(),
        extractor: ablation.file.extractor.clone(),
        out: features.clone(),
        options: options.clone(),
    })?;
    Ok(Some(features))
}

fn is_options(ablation: &Ablation) -> IsOptions {
    let section = &ablation.file.is;
    IsOptions {
        splits: section.splits.unwrap_or(10),
        protocol: ablation.is_protocol,
        logits: None,
        drop_columns: section.drop_columns.clone(),
        shuffle: if section.no_shuffle {
            Some(None)
        } else {
            section.shuffle_seed.map(Some)
        },
    }
}

fn kid_config(ablation: &Ablation) -> KidConfig {
    let section = &ablation.file.kid;
    let defaults = KidConfig::default();
    KidConfig {
        subsets: section.subsets.unwrap_or(defaults.subsets),
        subset_size: section.subset_size.unwrap_or(defaults.subset_size),
        seed: section.seed.unwrap_or(defaults.seed),
        ..defaults
    }
}
