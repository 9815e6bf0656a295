//! `demo`: the whole pipeline on the bundled demo models — scoring of
//! procedurally drawn image sets, then generate → eval with the bundled
//! StackGAN-v2 generator — written to `reports/demo/`.
//!
//! Three sets are drawn with a fixed seed: `real` (varied shapes, colours and
//! backgrounds), `diverse` (the same kinds of picture, blurred and noisier —
//! a decent generator) and `collapsed` (a handful of pictures repeated with
//! small noise — a mode-collapsed generator). Each set is scored against
//! `real` (`real` itself gives the floor); the table shows the collapse.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use image::{Rgb, RgbImage};

use super::RunOptions;
use super::ablation::{self, AblationConfig};
use super::eval::{self, EvalConfig};
use super::report::ScoreReport;
use super::score::{self, IsOptions, Metric, PrdcOptions, ScoreConfig};
use super::tables::{add_score_row, score_table};
use super::tsne::{self, TsneCommand};
use crate::analysis::TsneConfig;
use crate::atomic::write_bytes_atomically;
use crate::generate::JobSpec;
use crate::metrics::KidConfig;
use crate::metrics::PrdcConfig;
use crate::report::{CsvExporter, Exporter};

#[derive(Debug, Clone)]
pub struct DemoConfig {
    pub out: PathBuf,
    /// Folder holding `demo-extractor.onnx` and its manifest.
    pub models: PathBuf,
    pub options: RunOptions,
}

/// Images per drawn set.
const SET_SIZE: usize = 200;
const SEED: u64 = 2017;
/// Noise seed of the demo generator's samples.
const GENERATOR_SEED: u32 = 0;

pub fn run(config: &DemoConfig) -> anyhow::Result<()> {
    let extractor = config.models.join("demo-extractor.onnx");
    anyhow::ensure!(
        extractor.is_file(),
        "demo model {} is missing; run from the repository root or pass --models FOLDER",
        extractor.display()
    );
    let images = config.out.join("images");
    let real = images.join("real");
    draw_set(&real, SetKind::Real, SEED)?;
    let mut rows = Vec::new();
    // `real` against itself is the floor: FID ≈ 0 and the IS of the real set.
    for (name, kind) in [
        ("real", SetKind::Real),
        ("diverse", SetKind::Diverse),
        ("collapsed", SetKind::Collapsed),
    ] {
        let folder = images.join(name);
        if kind != SetKind::Real {
            draw_set(&folder, kind, SEED + 1)?;
        }
        let mut options = config.options.clone();
        options.json = Some(config.out.join(format!("score-{name}.json")));
        if !options.quiet {
            eprintln!("demo: scoring {name} against real");
        }
        options.quiet = true;
        let report = score::run(&ScoreConfig {
            metrics: vec![Metric::Fid, Metric::Is, Metric::Kid, Metric::Prdc],
            real: Some(real.clone()),
            fake: folder,
            fake_flag: "--fake",
            extractor: Some(extractor.clone()),
            classifier: None,
            is: IsOptions::default(),
            kid: KidConfig {
                subset_size: 100,
                ..KidConfig::default()
            },
            prdc: PrdcOptions::default(),
            options,
        })?;
        rows.push((name, report));
    }
    let generator_section = generator_demo(config, &real, &extractor)?;
    let comparison_section = comparison_demo(config)?;
    let tsne_section = tsne_demo(config, &extractor)?;
    let table = markdown_table(&rows);
    write_scores_csv(&config.out, &rows)?;
    let markdown = format!(
        "# stackgan-eval demo\n\nProcedurally drawn sets of {SET_SIZE} images (seed {SEED}), scored against `real` with the bundled demo extractor \
         (`{}`), KID on subsets of 100.\n\n{table}\n{generator_section}\n{comparison_section}\n{tsne_section}",
        extractor.display()
    );
    write_bytes_atomically(&config.out.join("report.md"), markdown.as_bytes())
        .with_context(|| format!("cannot write {}", config.out.join("report.md").display()))?;
    if !config.options.quiet {
        println!("{table}");
        println!("{generator_section}");
        println!("{comparison_section}");
        println!("{tsne_section}");
        println!("report: {}", config.out.join("report.md").display());
    }
    Ok(())
}

/// Generate → eval with the bundled generator: its samples (written to
/// `images/generated/`) scored per branch against `real`, and the colour
/// consistency between branches. Returns the report's Markdown section.
fn generator_demo(config: &DemoConfig, real: &Path, extractor: &Path) -> anyhow::Result<String> {
    let model = config.models.join("demo-generator.onnx");
    let embeddings = config.models.join("demo-embeddings.npy");
    let generated = config.out.join("images").join("generated");
    if generated.exists() {
        std::fs::remove_dir_all(&generated)
            .with_context(|| format!("cannot clear {}", generated.display()))?;
    }
    let mut options = config.options.clone();
    options.json = Some(config.out.join("eval-generator.json"));
    if !options.quiet {
        eprintln!(
            "demo: generating with {} and scoring every branch against real",
            model.display()
        );
    }
    options.quiet = true;
    let report = eval::run(&EvalConfig {
        job: JobSpec {
            model: model.clone(),
            embeddings: Some(embeddings.clone()),
            seed: GENERATOR_SEED,
            ..JobSpec::default()
        },
        metrics: vec![Metric::Fid, Metric::Is, Metric::Kid, Metric::Prdc],
        real: Some(real.to_path_buf()),
        extractor: Some(extractor.to_path_buf()),
        classifier: None,
        is: IsOptions::default(),
        kid: KidConfig {
            subset_size: 50,
            ..KidConfig::default()
        },
        prdc: PrdcOptions::default(),
        out: Some(generated.clone()),
        csv: None,
        options,
    })?;
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
/// (written to `OUT/ablation.toml`, the same as examples/ablation/demo.toml
/// with this run's folders) run into `OUT/ablation/`. Returns its Markdown.
fn comparison_demo(config: &DemoConfig) -> anyhow::Result<String> {
    // Paths relative to the config's folder, so the written config (and the
    // report, which names them) reads the same on every machine.
    let models = config.models.clone();
    let images = config.out.join("images");
    let quote = |p: PathBuf| toml_string(&relative_path(&config.out, &p));
    let text = format!(
        r#"# Written by `stackgan-eval demo`: the bundled untrained v1 and v2 generators and the drawn sets.
title = "Demo: StackGAN-v1 against StackGAN-v2 (bundled untrained models)"
extractor = {extractor}
real = {real}
metrics = ["fid", "is", "kid", "prdc"]
seed = {GENERATOR_SEED}

[kid]
subset_size = 50

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
        extractor = quote(models.join("demo-extractor.onnx")),
        real = quote(images.join("real")),
        v1 = quote(models.join("demo-generator-v1.onnx")),
        v2 = quote(models.join("demo-generator.onnx")),
        embeddings = quote(models.join("demo-embeddings.npy")),
        diverse = quote(images.join("diverse")),
        collapsed = quote(images.join("collapsed")),
    );
    let config_path = config.out.join("ablation.toml");
    write_bytes_atomically(&config_path, text.as_bytes())
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let out = config.out.join("ablation");
    let mut options = config.options.clone();
    options.quiet = true;
    if !config.options.quiet {
        eprintln!("demo: v1 against v2 ({})", config_path.display());
    }
    ablation::run(&AblationConfig {
        config: config_path,
        out: out.clone(),
        options,
    })?;
    let markdown = std::fs::read_to_string(out.join("ablation.md"))
        .with_context(|| format!("cannot read {}", out.join("ablation.md").display()))?;
    // The section sits under the demo's title: one heading level down.
    Ok(format!(
        "#{markdown}\nFiles: `ablation/ablation.csv`, `ablation/ablation.json`; config `ablation.toml`.\n"
    ))
}

/// The mode-collapse figure: one t-SNE map of the drawn sets and the v2
/// generator's samples, image maps, and the collapse statistics, in `OUT/tsne/`.
fn tsne_demo(config: &DemoConfig, extractor: &Path) -> anyhow::Result<String> {
    let images = config.out.join("images");
    let out = config.out.join("tsne");
    let mut options = config.options.clone();
    if !options.quiet {
        eprintln!("demo: t-SNE of the drawn sets and the generator's samples");
    }
    options.quiet = true;
    let sets = [
        ("real", images.join("real")),
        ("diverse", images.join("diverse")),
        ("collapsed", images.join("collapsed")),
        ("StackGAN-v2", images.join("generated")),
    ];
    tsne::run(&TsneCommand {
        sets: sets
            .iter()
            .map(|(n, p)| (n.to_string(), p.clone()))
            .collect(),
        extractor: Some(extractor.to_path_buf()),
        reference: Some("real".into()),
        samples: None,
        tsne: TsneConfig::default(),
        grid: 20,
        thumbnail: 32,
        prdc: PrdcConfig::default(),
        duplicate_quantile: PrdcOptions::default().duplicate_quantile,
        out: out.clone(),
        options,
    })?;
    let table = std::fs::read_to_string(out.join("collapse.md"))
        .with_context(|| format!("cannot read {}", out.join("collapse.md").display()))?;
    Ok(format!(
        "#{table}\n![t-SNE of the four sets](tsne/tsne-scatter.png)\n\n![image map](tsne/tsne-map-all.png)\n\n\
         One PCA-50 + Barnes-Hut t-SNE map (perplexity 30, seed 0) of all four sets; the collapsed set forms a few tight clusters. \
         Files in `tsne/`: the scatter plot, an image map per set and for all, `tsne-coordinates.csv`, `collapse.csv/.json`.\n"
    ))
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
            "| {name} | {} | {:.3} | {} | {} |",
            score_cells(r),
            r.precision.unwrap_or(f64::NAN),
            collapse_cells(r),
            r.n_fake.unwrap_or(0)
        );
    }
    out
}

/// The FID, IS and KID cells of a Markdown row.
fn score_cells(r: &ScoreReport) -> String {
    format!(
        "{:.3} | {:.3} ± {:.3} | {:.4} ± {:.4}",
        r.fid.unwrap_or(f64::NAN),
        r.is_mean.unwrap_or(f64::NAN),
        r.is_std.unwrap_or(f64::NAN),
        r.kid_mean.unwrap_or(f64::NAN),
        r.kid_std.unwrap_or(f64::NAN)
    )
}

/// The recall, coverage and near-duplicate cells of a Markdown row.
fn collapse_cells(r: &ScoreReport) -> String {
    format!(
        "{:.3} | {:.3} | {:.3}",
        r.recall.unwrap_or(f64::NAN),
        r.coverage.unwrap_or(f64::NAN),
        r.near_duplicate_rate.unwrap_or(f64::NAN)
    )
}

/// `scores.csv`: the drawn sets' reports as a report table (every metric and its provenance).
fn write_scores_csv(out: &Path, rows: &[(&str, ScoreReport)]) -> anyhow::Result<()> {
    let values = rows
        .iter()
        .map(|(_, r)| serde_json::to_value(r))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&serde_json::Value> = values.iter().collect();
    let mut table = score_table("Demo: drawn sets against real", "set", &refs);
    for ((name, _), value) in rows.iter().zip(&values) {
        add_score_row(&mut table, name, value);
    }
    CsvExporter.write(&table, out, "scores")?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetKind {
    Real,
    Diverse,
    Collapsed,
}

/// Draws a set into `folder` (replacing what was there), PNGs of varying size.
fn draw_set(folder: &Path, kind: SetKind, seed: u64) -> anyhow::Result<()> {
    if folder.exists() {
        std::fs::remove_dir_all(folder)
            .with_context(|| format!("cannot clear {}", folder.display()))?;
    }
    std::fs::create_dir_all(folder)
        .with_context(|| format!("cannot create {}", folder.display()))?;
    let mut rng = SplitMix64(seed ^ (kind as u64) << 32);
    for index in 0..SET_SIZE {
        let picture_seed = match kind {
            SetKind::Collapsed => rng.below(4),
            _ => rng.next(),
        };
        let mut picture = Picture::random(&mut SplitMix64(picture_seed));
        if kind == SetKind::Diverse {
            picture.blur = 1;
        }
        let noise = if kind == SetKind::Real { 0.0 } else { 12.0 };
        let image = picture.draw(&mut rng, noise);
        let path = folder.join(format!("{index:04}.png"));
        image
            .save(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// One procedural picture: a shape on a two-colour gradient.
struct Picture {
    size: (u32, u32),
    background: [[f32; 3]; 2],
    colour: [f32; 3],
    shape: u64,
    centre: (f32, f32),
    radius: f32,
    blur: u32,
}

impl Picture {
    fn random(rng: &mut SplitMix64) -> Picture {
        let mut colour = || [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0];
        let background = [colour(), colour()];
        let shape_colour = colour();
        Picture {
            size: (64 + 8 * rng.below(3) as u32, 64 + 8 * rng.below(3) as u32),
            background,
            colour: shape_colour,
            shape: rng.below(3),
            centre: (0.3 + 0.4 * rng.unit(), 0.3 + 0.4 * rng.unit()),
            radius: 0.12 + 0.2 * rng.unit(),
            blur: 0,
        }
    }

    fn draw(&self, rng: &mut SplitMix64, noise: f32) -> RgbImage {
        let (w, h) = self.size;
        let mut image = RgbImage::from_fn(w, h, |x, y| {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            let (dx, dy) = (u - self.centre.0, v - self.centre.1);
            let inside = match self.shape {
                0 => dx * dx + dy * dy < self.radius * self.radius,
                1 => dx.abs() < self.radius && dy.abs() < self.radius,
                _ => dy < self.radius && dy > -self.radius && dx.abs() < (self.radius - dy) * 0.6,
            };
            let pixel: [f32; 3] = if inside {
                self.colour
            } else {
                std::array::from_fn(|c| {
                    self.background[0][c] * (1.0 - v) + self.background[1][c] * v
                })
            };
            Rgb(pixel.map(|p| p.round() as u8))
        });
        if self.blur > 0 {
            image = image::imageops::blur(&image, self.blur as f32);
        }
        if noise > 0.0 {
            for pixel in image.pixels_mut() {
                for channel in pixel.0.iter_mut() {
                    let jitter = (rng.unit() - 0.5) * 2.0 * noise;
                    *channel = (*channel as f32 + jitter).round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        image
    }
}

/// A small, fixed, seedable generator so the demo draws the same sets everywhere.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
