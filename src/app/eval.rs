//! `eval`: generate and score in one streaming pass. Each batch of samples
//! goes through the generator, is quantised to 8-bit exactly as `generate`
//! writes its PNGs, and goes on through the extractor (and the IS classifier)
//! per branch; nothing but statistics, features and logits is kept. Colour
//! consistency is measured between adjacent kept branches on the float images.

use std::path::PathBuf;

use anyhow::{Context, bail};
use image::RgbImage;
use ndarray::{Array2, Axis};
use rayon::prelude::*;
use serde::Serialize;

use super::RunOptions;
use super::progress::image_bar;
use super::report::ScoreReport;
use super::score::{
    IsOptions, Metric, MetricRequest, PrdcOptions, ScoreConfig, SideLabels, compute_metrics,
};
use super::sides::{Scorer, Side, logits_output, provenance, record_setup, stack};
use super::sources::Source;
use crate::atomic::write_bytes_atomically;
use crate::features::Extractor;
use crate::generate::{Job, JobSpec, Opened, RunFolder, to_rgb8};
use crate::images::preprocess_batch;
use crate::metrics::{ColorConsistency, ColorConsistencyAccumulator, KidConfig, StatsAccumulator};
use crate::models::OutputKind;

#[derive(Debug, Clone)]
pub struct EvalConfig {
    pub job: JobSpec,
    pub metrics: Vec<Metric>,
    /// Reference set for FID and KID: a folder, statistics `.npz` or feature file.
    pub real: Option<PathBuf>,
    pub extractor: Option<PathBuf>,
    /// A separate classifier for IS (StackGAN's fine-tuned Inception).
    pub classifier: Option<PathBuf>,
    pub is: IsOptions,
    pub kid: KidConfig,
    pub prdc: PrdcOptions,
    /// Also write the images (as `generate` does) to this folder.
    pub out: Option<PathBuf>,
    /// Append one row per branch to this CSV file.
    pub csv: Option<PathBuf>,
    pub options: RunOptions,
}

/// Which generator produced the samples.
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorProvenance {
    pub path: String,
    pub name: String,
    pub sha256: String,
    pub family: String,
    pub config: String,
}

/// The scores of one branch.
#[derive(Debug, Clone, Serialize)]
pub struct BranchReport {
    pub resolution: u32,
    pub output: String,
    #[serde(flatten)]
    pub scores: ScoreReport,
}

/// Colour consistency between two kept branches.
#[derive(Debug, Clone, Serialize)]
pub struct ColorPair {
    pub from: u32,
    pub to: u32,
    #[serde(flatten)]
    pub result: ColorConsistency,
}

/// What `eval` writes to `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub generator: GeneratorProvenance,
    /// SHA-256 of the embeddings or noise file.
    pub inputs_sha256: Option<String>,
    pub seed: Option<u32>,
    pub protocol: String,
    pub sampling: String,
    pub samples: usize,
    pub branches: Vec<BranchReport>,
    pub color_consistency: Vec<ColorPair>,
    pub tool: &'static str,
    pub tool_version: &'static str,
}

/// What one branch accumulates while samples stream by.
struct BranchAccumulator {
    stats: Option<StatsAccumulator>,
    pools: Vec<Array2<f32>>,
    logits: Vec<Array2<f32>>,
    count: usize,
}

pub fn run(config: &EvalConfig) -> anyhow::Result<EvalReport> {
    let wants = |m| config.metrics.contains(&m);
    let (fid, is, kid) = (wants(Metric::Fid), wants(Metric::Is), wants(Metric::Kid));
    if (fid || kid) && config.real.is_none() {
        bail!(
            "FID and KID need a reference set: pass --real (a folder, statistics .npz or feature file), or --metrics is"
        );
    }
    let extractor_path = config.extractor.clone().context(
        "eval scores the generated images: pass --extractor MODEL.onnx (export one with models/export_inception.py)",
    )?;
    let real = config
        .real
        .as_deref()
        .map(|p| Source::classify(p, "--real"))
        .transpose()?;
    if let Some(Source::Stats(path)) = &real
        && kid
    {
        bail!(
            "{} holds only mu/sigma statistics, which FID alone can use; for KID or PRDC pass an image folder or a feature file from `stackgan-eval extract`",
            path.display()
        );
    }
    let score_config = ScoreConfig {
        metrics: config.metrics.clone(),
        real: config.real.clone(),
        fake: config.job.model.clone(),
        fake_flag: "--model",
        extractor: Some(extractor_path.clone()),
        classifier: config.classifier.clone(),
        is: config.is.clone(),
        kid: config.kid.clone(),
        prdc: config.prdc,
        options: config.options.clone(),
    };
    let mut scorer = Scorer::new(&score_config);
    let options = &config.options;
    let mut job = Job::prepare(scorer.runtime()?, &config.job)?;
    let mut extractor = Extractor::open(scorer.runtime()?, &extractor_path)?;
    let mut classifier = match &config.classifier {
        Some(path) if is => Some(Extractor::open(scorer.runtime()?, path)?),
        _ => None,
    };
    let quiet = options.quiet;
    if !quiet {
        eprintln!("eval: {}", job.plan.description);
    }

    // The reference side first: a bad --real fails before any generation.
    let mut base_report = ScoreReport::new(options.batch_size);
    let real_side = real
        .as_ref()
        .map(|source| scorer.reference_side(source, fid, kid, &mut base_report))
        .transpose()?;

    let pool_name = extractor
        .output_of_kind(OutputKind::Pool)
        .map(str::to_string)
        .with_context(|| {
            format!(
                "model {} has no pool output; FID and KID need one",
                extractor.path().display()
            )
        })?;
    let extractor_setup = options.setup(&extractor)?;
    let classifier_setup = match &classifier {
        Some(model) => Some(options.setup(model)?),
        None => None,
    };
    let extractor_logits = match (is, &classifier) {
        (true, None) => Some(logits_output(&extractor, &extractor_setup.is, &config.is)?),
        _ => None,
    };
    let classifier_logits = match (&classifier, &classifier_setup) {
        (Some(model), Some(setup)) => Some(logits_output(model, &setup.is, &config.is)?),
        _ => None,
    };
    let mut outputs: Vec<&str> = Vec::new();
    if fid || kid {
        outputs.push(pool_name.as_str());
    }
    if let Some(name) = &extractor_logits {
        outputs.push(name.as_str());
    }
    let extractor_preprocess = extractor_setup.preprocess.clone();
    let classifier_preprocess = classifier_setup.as_ref().map(|s| s.preprocess.clone());
    base_report.extractor = Some(provenance(&extractor, &extractor_setup));
    base_report.classifier = classifier
        .as_ref()
        .zip(classifier_setup.as_ref())
        .map(|(model, setup)| provenance(model, setup));
    base_report.protocol = None;
    base_report.resize = None;
    record_setup(&extractor_setup, &mut base_report);
    if let Some(setup) = &classifier_setup {
        record_setup(setup, &mut base_report);
    }
    base_report.provider = Some(job.generator.provider().to_string());
    let is_setup = classifier_setup.unwrap_or(extractor_setup).is;

    let mut folder = match &config.out {
        None => None,
        Some(out) => {
            let identity = job.identity(&config.job, false);
            let value_range = job.generator.manifest().value_range;
            match RunFolder::open(out, identity, &job.branches, value_range, Vec::new(), false)? {
                Opened::Run { folder, .. } => Some(folder),
                Opened::Complete => unreachable!("only --resume finds a finished run"),
            }
        }
    };

    let branches = job.branches.clone();
    let value_range = job.generator.manifest().value_range;
    let mut accumulators: Vec<BranchAccumulator> = branches
        .iter()
        .map(|_| BranchAccumulator {
            stats: None,
            pools: Vec::new(),
            logits: Vec::new(),
            count: 0,
        })
        .collect();
    let mut colors: Vec<ColorConsistencyAccumulator> = (1..branches.len())
        .map(|_| ColorConsistencyAccumulator::new())
        .collect();
    let bar = image_bar(job.plan.len(), "eval", quiet);
    let logits_index = outputs.len().saturating_sub(1);
    job.run(0, options.batch_size, &[], |samples, batch| {
        if let Some(folder) = folder.as_mut() {
            folder.write_batch(samples, batch)?;
        }
        for (images, acc) in batch.images.iter().zip(accumulators.iter_mut()) {
            let rgb: Vec<RgbImage> = images
                .axis_iter(Axis(0))
                .into_par_iter()
                .map(|image| to_rgb8(image, value_range))
                .collect();
            if !outputs.is_empty() {
                let arrays = extractor.run(
                    preprocess_batch(&rgb, &extractor_preprocess).view(),
                    &outputs,
                )?;
                if fid {
                    acc.stats
                        .get_or_insert_with(|| StatsAccumulator::new(arrays[0].ncols()))
                        .add(arrays[0].view())?;
                }
                if kid {
                    acc.pools.push(arrays[0].clone());
                }
                if extractor_logits.is_some() {
                    acc.logits.push(arrays[logits_index].clone());
                }
            }
            if let (Some(model), Some(name), Some(preprocess)) = (
                classifier.as_mut(),
                &classifier_logits,
                &classifier_preprocess,
            ) {
                let mut arrays =
                    model.run(preprocess_batch(&rgb, preprocess).view(), &[name.as_str()])?;
                acc.logits.push(arrays.remove(0));
            }
            acc.count += samples.len();
        }
        for (i, color) in colors.iter_mut().enumerate() {
            color.add(batch.images[i].view(), batch.images[i + 1].view())?;
        }
        bar.inc(samples.len() as u64);
        anyhow::Ok(())
    })?;
    bar.finish_and_clear();
    if let Some(folder) = folder {
        folder.finish(&job.plan.samples, job.seed)?;
    }

    let request = MetricRequest {
        metrics: &config.metrics,
        is: &config.is,
        kid: &config.kid,
        prdc: &config.prdc,
    };
    let mut branch_reports = Vec::new();
    for (branch, acc) in branches.iter().zip(accumulators) {
        let stack = |parts: Vec<Array2<f32>>| -> anyhow::Result<Option<Array2<f32>>> {
            (!parts.is_empty()).then(|| stack(parts)).transpose()
        };
        let side = Side {
            count: Some(acc.count),
            stats: acc.stats.map(|a| a.finish()).transpose()?,
            pool: stack(acc.pools)?,
            logits: None,
        };
        let logits = stack(acc.logits)?;
        let mut report = base_report.clone();
        let labels = SideLabels {
            real: format!(
                "--real {}",
                config
                    .real
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            ),
            fake: format!("the {}×{} branch", branch.resolution, branch.resolution),
        };
        compute_metrics(
            &request,
            &labels,
            real_side.as_ref(),
            &side,
            logits,
            is_setup.clone(),
            &mut report,
        )?;
        if let Some(runtime) = &scorer.runtime {
            report.onnxruntime = Some(runtime.version());
        }
        branch_reports.push(BranchReport {
            resolution: branch.resolution,
            output: branch.output.clone(),
            scores: report,
        });
    }
    let color_consistency = colors
        .iter()
        .enumerate()
        .filter_map(|(i, acc)| {
            acc.finish().map(|result| ColorPair {
                from: branches[i].resolution,
                to: branches[i + 1].resolution,
                result,
            })
        })
        .collect();
    let manifest = job.generator.manifest();
    let report = EvalReport {
        generator: GeneratorProvenance {
            path: job.generator.path().display().to_string(),
            name: manifest.name.clone(),
            sha256: job.generator.sha256().to_string(),
            family: manifest.generator.family.clone(),
            config: manifest.generator.config.clone(),
        },
        inputs_sha256: job.inputs_sha256.clone(),
        seed: job.seed,
        protocol: config.job.protocol.to_string(),
        sampling: job.plan.description.clone(),
        samples: job.plan.len(),
        branches: branch_reports,
        color_consistency,
        tool: "stackgan-eval",
        tool_version: env!("CARGO_PKG_VERSION"),
    };
    if let Some(json) = &options.json {
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        write_bytes_atomically(json, text.as_bytes()).with_context(|| {
            format!(
                "--json {}: cannot write; check that the folder exists and is writable",
                json.display()
            )
        })?;
    }
    if let Some(csv) = &config.csv {
        append_csv(csv, &report)?;
    }
    for branch in &report.branches {
        for warning in &branch.scores.warnings {
            eprintln!(
                "warning: {}×{}: {warning}",
                branch.resolution, branch.resolution
            );
        }
    }
    if !quiet {
        println!("{}", table(&report));
    }
    Ok(report)
}

const CSV_HEADER: &str = "generator,generator_sha256,protocol,seed,samples,resolution,is_mean,is_std,fid,kid_mean,kid_std,color_mean_distance_from_lower,color_covariance_distance_from_lower,color_loss_from_lower";

/// One CSV row per branch; the colour columns hold the pair that ends at it.
fn csv_rows(report: &EvalReport) -> Vec<String> {
    let number = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    report
        .branches
        .iter()
        .map(|branch| {
            let color = report
                .color_consistency
                .iter()
                .find(|c| c.to == branch.resolution);
            let s = &branch.scores;
            [
                report.generator.name.clone(),
                report.generator.sha256.clone(),
                report.protocol.clone(),
                report.seed.map(|s| s.to_string()).unwrap_or_default(),
                report.samples.to_string(),
                branch.resolution.to_string(),
                number(s.is_mean),
                number(s.is_std),
                number(s.fid),
                number(s.kid_mean),
                number(s.kid_std),
                number(color.map(|c| c.result.mean_distance)),
                number(color.map(|c| c.result.covariance_distance)),
                number(color.map(|c| c.result.loss)),
            ]
            .join(",")
        })
        .collect()
}

/// Appends the rows to `path` (with the header when the file is new), atomically.
fn append_csv(path: &std::path::Path, report: &EvalReport) -> anyhow::Result<()> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(existing) => {
            if existing.lines().next() != Some(CSV_HEADER) {
                bail!(
                    "--csv {}: the file has other columns; choose a new file",
                    path.display()
                );
            }
            existing
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{CSV_HEADER}\n"),
        Err(e) => bail!("--csv {}: cannot read it ({e})", path.display()),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    for row in csv_rows(report) {
        text.push_str(&row);
        text.push('\n');
    }
    write_bytes_atomically(path, text.as_bytes()).with_context(|| {
        format!(
            "--csv {}: cannot write; check that the folder exists and is writable",
            path.display()
        )
    })
}

/// The stdout table: one line per branch, then the colour pairs.
fn table(report: &EvalReport) -> String {
    let mut lines = vec![format!(
        "{} ({}), {} samples, {}",
        report.generator.name,
        &report.generator.sha256[..12.min(report.generator.sha256.len())],
        report.samples,
        report.protocol
    )];
    lines.push(format!(
        "{:>7}  {:>20}  {:>12}  {:>22}",
        "branch", "IS", "FID", "KID"
    ));
    for branch in &report.branches {
        let s = &branch.scores;
        let pair = |m: Option<f64>, d: Option<f64>| match (m, d) {
            (Some(m), Some(d)) => format!("{m:.4} ± {d:.4}"),
            _ => "–".into(),
        };
        lines.push(format!(
            "{:>7}  {:>20}  {:>12}  {:>22}",
            format!("{}²", branch.resolution),
            pair(s.is_mean, s.is_std),
            s.fid
                .map(|f| format!("{f:.4}"))
                .unwrap_or_else(|| "–".into()),
            pair(s.kid_mean, s.kid_std),
        ));
    }
    for color in &report.color_consistency {
        lines.push(format!(
            "colour {}→{}: mean ‖Δμ‖² {:.6}, mean ‖ΔΣ‖²_F {:.6}, loss (50·MSE μ + 250·MSE Σ) {:.6}",
            color.from,
            color.to,
            color.result.mean_distance,
            color.result.covariance_distance,
            color.result.loss
        ));
    }
    if let Some(scores) = report.branches.first().map(|b| &b.scores)
        && let (Some(resize), Some(provider)) = (&scores.resize, &scores.provider)
    {
        lines.push(format!("resize {resize}, {provider}"));
    }
    lines.join("\n")
}
