//! `demo`: the whole pipeline on the bundled demo models — scoring of
//! procedurally drawn image sets, then generate → eval with the bundled
//! StackGAN-v2 generator, an ablation of the v1 and v2 generators and the
//! t-SNE figure — written to `reports/demo/`, with `report.md` and the page
//! `index.html` covering every section. Every step computes through one
//! scorer and hands its typed report to the writers; nothing is read back
//! from disk.
//!
//! Three sets are drawn with a fixed seed (see [`crate::synthetic`]); each
//! is scored against `real` (`real` itself gives the floor); the table
//! shows the collapse.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::page::write_page;
use super::progress::Bars;
use super::runs::{Run, RunKind};
use super::tables::{ScoreRow, score_table};
use super::write::{ablation_folder, collapse_folder};
use crate::atomic::write_bytes_atomically;
use crate::collapse::{self, CollapseConfig, MapOptions};
use crate::generate::JobSpec;
use crate::metrics::KidConfig;
use crate::options::{ExecOptions, ImageOptions};
use crate::progress::Progress;
use crate::report::target::{FolderUse, check_folder};
use crate::report::{CsvExporter, Exporter, markdown, write_json};
use crate::scoring::{BootstrapOptions, Input, Metric, ScoreReport, Scorer, ScoringOptions};
use crate::synthetic::{SetKind, draw_set};

#[derive(Debug, Clone)]
pub struct DemoCommand {
    pub exec: ExecOptions,
    /// Where the demo writes its images and report.
    pub out: PathBuf,
    /// Folder holding the demo models and embeddings.
    pub models: PathBuf,
    /// Write `OUT/index.html`, the page of every section.
    pub html: bool,
    pub quiet: bool,
}

impl DemoCommand {
    /// Run from the repository root, the demo writes here…
    pub const DEFAULT_OUT: &'static str = "reports/demo";
    /// …with the models bundled here.
    pub const DEFAULT_MODELS: &'static str = "models/demo";
}

/// Images per drawn set.
const SET_SIZE: usize = 200;
const SEED: u64 = 2017;
/// Noise seed of the demo generator's samples.
const GENERATOR_SEED: u32 = 0;

/// The demo's run: where things are, and the one scorer.
struct Demo<'a> {
    command: &'a DemoCommand,
    extractor: PathBuf,
    scorer: Scorer,
    progress: Bars,
    /// Every step's typed result, for the page.
    runs: Vec<Run>,
}

pub(super) fn run(command: &DemoCommand) -> anyhow::Result<()> {
    let extractor = command.models.join("demo-extractor.onnx");
    anyhow::ensure!(
        extractor.is_file(),
        "demo model {} is missing; run from the repository root or pass --models FOLDER",
        extractor.display()
    );
    check_folder("--out", &command.out, FolderUse::Overwrite)?;
    let mut demo = Demo {
        command,
        extractor,
        scorer: Scorer::new(command.exec.clone(), ImageOptions::default()),
        progress: Bars::new(command.quiet),
        runs: Vec::new(),
    };
    let rows = demo.score_sets()?;
    let generator_section = demo.generator()?;
    let comparison_section = demo.comparison()?;
    let tsne_section = demo.tsne()?;
    let table = markdown_table(&rows);
    write_scores_csv(&command.out, &rows)?;
    let markdown = format!(
        "# stackgan-eval demo\n\nProcedurally drawn sets of {SET_SIZE} images (seed {SEED}), scored against `real` with the bundled demo extractor \
         (`{}`), KID on subsets of 100; in brackets, 95% bootstrap intervals ({} replicates, seed {}; FID's and KID's centred on the value).\n\n{table}\n{generator_section}\n{comparison_section}\n{tsne_section}",
        demo.extractor.display(),
        BootstrapOptions::default().replicates,
        BootstrapOptions::default().seed
    );
    let report = command.out.join("report.md");
    write_bytes_atomically(&report, markdown.as_bytes())
        .with_context(|| format!("cannot write {}", report.display()))?;
    let intro = [format!(
        "Procedurally drawn sets of {SET_SIZE} images (seed {SEED}) scored against `real` with the bundled demo extractor ({}); \
         the bundled StackGAN-v2 generator through generate → eval; StackGAN-v1 against v2 as an ablation; the t-SNE figure. \
         The generators are untrained stand-ins: the numbers show the pipeline at work, not a trained GAN.",
        demo.extractor.display()
    )];
    let page = if command.html {
        Some(write_page(
            &command.out,
            "stackgan-eval demo",
            &intro,
            &demo.runs,
        )?)
    } else {
        None
    };
    if !command.quiet {
        println!("{table}");
        println!("{generator_section}");
        println!("{comparison_section}");
        println!("{tsne_section}");
        println!("report: {}", report.display());
        if let Some(page) = page {
            println!("page: {}", page.display());
        }
    }
    Ok(())
}

impl Demo<'_> {
    fn images(&self) -> PathBuf {
        self.command.out.join("images")
    }

    /// Every metric, with the extractor, KID on subsets of
    /// `kid_subset_size`, and bootstrap intervals (the default settings).
    fn options(&self, kid_subset_size: usize) -> ScoringOptions {
        ScoringOptions {
            metrics: Metric::ALL.to_vec(),
            extractor: Some(self.extractor.clone()),
            kid: KidConfig {
                subset_size: kid_subset_size,
                ..KidConfig::default()
            },
            bootstrap: Some(BootstrapOptions::default()),
            ..ScoringOptions::default()
        }
    }

    /// Draws the three sets and scores each against `real` (`score-NAME.json`).
    fn score_sets(&mut self) -> anyhow::Result<Vec<(&'static str, ScoreReport)>> {
        let real = self.images().join("real");
        draw_set(&real, SetKind::Real, SEED, SET_SIZE)?;
        let options = self.options(100);
        let mut rows = Vec::new();
        // `real` against itself is the floor: FID ≈ 0 and the IS of the real set.
        for (name, kind) in [
            ("real", SetKind::Real),
            ("diverse", SetKind::Diverse),
            ("collapsed", SetKind::Collapsed),
        ] {
            let folder = self.images().join(name);
            if kind != SetKind::Real {
                draw_set(&folder, kind, SEED + 1, SET_SIZE)?;
            }
            self.progress
                .note(&format!("demo: scoring {name} against real"));
            let report = self.scorer.score(
                &options,
                Some(&Input::new("--real", &real)),
                &Input::new("--fake", folder),
                &self.progress,
            )?;
            let json = self.command.out.join(format!("score-{name}.json"));
            write_json(&json, &report)?;
            let mut run = Run::new(&json, RunKind::score(&report));
            run.label = name.to_string();
            self.runs.push(run);
            rows.push((name, report));
        }
        Ok(rows)
    }

    /// Generate → eval with the bundled generator: its samples (written to
    /// `images/generated/`) scored per branch against `real`, and the colour
    /// consistency between branches. Returns the report's Markdown section.
    fn generator(&mut self) -> anyhow::Result<String> {
        let models = &self.command.models;
        let model = models.join("demo-generator.onnx");
        let embeddings = models.join("demo-embeddings.npy");
        let generated = self.images().join("generated");
        if generated.exists() {
            std::fs::remove_dir_all(&generated)
                .with_context(|| format!("cannot clear {}", generated.display()))?;
        }
        self.progress.note(&format!(
            "demo: generating with {} and scoring every branch against real",
            model.display()
        ));
        let job = JobSpec {
            model: model.clone(),
            embeddings: Some(embeddings.clone()),
            seed: GENERATOR_SEED,
            ..JobSpec::default()
        };
        let real = Input::new("--real", self.images().join("real"));
        let options = self.options(50);
        let report = self.scorer.eval(
            &options,
            Some(&real),
            &job,
            Some(&generated),
            &self.progress,
        )?;
        let json = self.command.out.join("eval-generator.json");
        write_json(&json, &report)?;
        self.runs
            .push(Run::new(&json, RunKind::eval(&report, Some(&generated))));
        let mut out = format!(
            "\n## Generator: generate → eval\n\nThe bundled StackGAN-v2 generator (`{}`, untrained, GF_DIM 4) on `{}`: {}, seed {GENERATOR_SEED}. \
             Each branch is scored against `real` (KID on subsets of 50); the images are in `images/generated/`.\n\n\
             | branch | FID ↓ | IS ↑ | KID ↓ | recall ↑ | coverage ↑ | near-duplicates ↓ | images |\n|---|---|---|---|---|---|---|---|\n",
            model.display(),
            embeddings.display(),
            report.sampling
        );
        for branch in &report.branches {
            let r = &branch.scores;
            let _ = writeln!(
                out,
                "| {0}×{0} | {1} | {2} | {3} |",
                branch.resolution,
                score_cells(r),
                collapse_cells(r),
                r.n_fake.unwrap_or(0)
            );
        }
        out.push_str("\n| colour consistency | mean ‖Δμ‖² | mean ‖ΔΣ‖²_F | 50·MSE(μ) + 250·MSE(Σ) |\n|---|---|---|---|\n");
        for pair in &report.color_consistency {
            let _ = writeln!(
                out,
                "| {} → {} | {:.6} | {:.6} | {:.6} |",
                pair.from,
                pair.to,
                pair.result.mean_distance,
                pair.result.covariance_distance,
                pair.result.loss
            );
        }
        Ok(out)
    }

    /// The "StackGAN-v1 against StackGAN-v2" comparison: an ablation config
    /// (written to `OUT/ablation.toml`, the same as
    /// examples/ablation/demo.toml with this run's folders) run into
    /// `OUT/ablation/`. Returns its Markdown section.
    fn comparison(&mut self) -> anyhow::Result<String> {
        let config = self.command.out.join("ablation.toml");
        write_bytes_atomically(&config, ablation_config(self.command).as_bytes())
            .with_context(|| format!("cannot write {}", config.display()))?;
        self.progress
            .note(&format!("demo: v1 against v2 ({})", config.display()));
        let ablation = crate::ablation::read(&config)?;
        let report = crate::ablation::run(&ablation, &mut self.scorer, None, &self.progress)?;
        let folder = self.command.out.join("ablation");
        let (table, _) = ablation_folder(&folder, &ablation, &report)?;
        let kind = RunKind::ablation(&table, &report.variants);
        self.runs
            .push(Run::new(&folder.join("ablation.json"), kind));
        // The section sits under the demo's title: one heading level down.
        Ok(format!(
            "{}\nFiles: `ablation/ablation.csv`, `ablation/ablation.json`; config `ablation.toml`.\n",
            markdown(&table, 2)
        ))
    }

    /// The mode-collapse figure: one t-SNE map of the drawn sets and the v2
    /// generator's samples, image maps, and the collapse statistics, in `OUT/tsne/`.
    fn tsne(&mut self) -> anyhow::Result<String> {
        let images = self.images();
        self.progress
            .note("demo: t-SNE of the drawn sets and the generator's samples");
        let config = CollapseConfig {
            sets: [
                ("real", "real"),
                ("diverse", "diverse"),
                ("collapsed", "collapsed"),
                ("StackGAN-v2", "generated"),
            ]
            .iter()
            .map(|(name, folder)| (name.to_string(), images.join(folder)))
            .collect(),
            reference: Some("real".into()),
            extractor: Some(self.extractor.clone()),
            map: MapOptions {
                grid: 20,
                ..MapOptions::default()
            },
            prdc: Default::default(),
        };
        let report = collapse::compute(&config, &mut self.scorer, &self.progress)?;
        let dir = self.command.out.join("tsne");
        let table = collapse_folder(&dir, &report, &config.map)?;
        let kind = RunKind::Collapse {
            table: table.clone(),
        };
        self.runs.push(Run::new(&dir.join("collapse.json"), kind));
        Ok(format!(
            "{}\n![t-SNE of the four sets](tsne/tsne-scatter.png)\n\n![image map](tsne/tsne-map-all.png)\n\n\
             One PCA-50 + Barnes-Hut t-SNE map (perplexity 30, seed 0) of all four sets; the collapsed set forms a few tight clusters. \
             Files in `tsne/`: the scatter plot, an image map per set and for all, `tsne-coordinates.csv`, `collapse.csv/.json`.\n",
            markdown(&table, 2)
        ))
    }
}

/// The demo's ablation config; paths relative to the config's folder, so the
/// written config (and the report, which names them) reads the same on every machine.
fn ablation_config(command: &DemoCommand) -> String {
    let models = command.models.clone();
    let images = command.out.join("images");
    let quote = |p: PathBuf| toml_string(&relative_path(&command.out, &p));
    format!(
        r#"# Written by `stackgan-eval demo`: the bundled untrained v1 and v2 generators and the drawn sets.
title = "Demo: StackGAN-v1 against StackGAN-v2 (bundled untrained models)"
extractor = {extractor}
real = {real}
metrics = ["fid", "is", "kid", "prdc"]
seed = {GENERATOR_SEED}

[kid]
subset_size = 50

[bootstrap]
replicates = {replicates}

[[variant]]
name = "v1 256²"
generator = {v1}
embeddings = {embeddings}

[[variant]]
name = "v2 256²"
generator = {v2}
embeddings = {embeddings}

[[variant]]
name = "v2 64²"
generator = {v2}
embeddings = {embeddings}
branch = 64

[[variant]]
name = "diverse set"
folder = {diverse}

[[variant]]
name = "collapsed set"
folder = {collapsed}
"#,
        replicates = BootstrapOptions::default().replicates,
        extractor = quote(models.join("demo-extractor.onnx")),
        real = quote(images.join("real")),
        v1 = quote(models.join("demo-generator-v1.onnx")),
        v2 = quote(models.join("demo-generator.onnx")),
        embeddings = quote(models.join("demo-embeddings.npy")),
        diverse = quote(images.join("diverse")),
        collapsed = quote(images.join("collapsed")),
    )
}

/// `to` as seen from the folder `from` (`../../models/demo/x.onnx`).
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (from, to) = (absolute(from), absolute(to));
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for component in &to[common..] {
        path.push(component);
    }
    path
}

/// A path as a TOML basic string.
fn toml_string(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn markdown_table(rows: &[(&str, ScoreReport)]) -> String {
    let mut out = String::from(
        "| set | FID ↓ | IS ↑ | KID ↓ | precision ↑ | recall ↑ | coverage ↑ | near-duplicates ↓ | images |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (name, r) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} |",
            score_cells(r),
            with_interval(r.precision, r.precision_ci, 3),
            collapse_cells(r),
            r.n_fake.unwrap_or(0)
        );
    }
    out
}

/// `value` to `decimals`, with its bootstrap interval `[low, high]` when there is one.
fn with_interval(value: Option<f64>, ci: Option<[f64; 2]>, decimals: usize) -> String {
    let value = value.unwrap_or(f64::NAN);
    match ci {
        Some([low, high]) => format!("{value:.decimals$} [{low:.decimals$}, {high:.decimals$}]"),
        None => format!("{value:.decimals$}"),
    }
}

/// The FID, IS and KID cells of a Markdown row, each with its interval.
fn score_cells(r: &ScoreReport) -> String {
    format!(
        "{} | {} ± {:.3} | {} ± {:.4}",
        with_interval(r.fid, r.fid_ci, 3),
        with_interval(r.is_mean, r.is_mean_ci, 3),
        r.is_std.unwrap_or(f64::NAN),
        with_interval(r.kid_mean, r.kid_mean_ci, 4),
        r.kid_std.unwrap_or(f64::NAN)
    )
}

/// The recall, coverage and near-duplicate cells of a Markdown row.
fn collapse_cells(r: &ScoreReport) -> String {
    format!(
        "{} | {} | {:.3}",
        with_interval(r.recall, r.recall_ci, 3),
        with_interval(r.coverage, r.coverage_ci, 3),
        r.near_duplicate_rate.unwrap_or(f64::NAN)
    )
}

/// `scores.csv`: the drawn sets' reports as a report table (every metric and its provenance).
fn write_scores_csv(out: &Path, rows: &[(&str, ScoreReport)]) -> anyhow::Result<()> {
    let rows: Vec<ScoreRow> = rows
        .iter()
        .map(|(name, report)| ScoreRow::score(name, report))
        .collect();
    let table = score_table("Demo: drawn sets against real", "set", &rows);
    CsvExporter.write(&table, out, "scores")?;
    Ok(())
}
