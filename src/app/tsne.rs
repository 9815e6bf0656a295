//! `tsne`: the paper's mode-collapse figure and its numbers. Each set (an
//! image folder, a `generate` run, or a feature file) goes through the
//! extractor; all sets share one PCA + Barnes-Hut t-SNE map, drawn as a
//! scatter plot and as image maps (each sample's thumbnail at its place),
//! next to collapse statistics against the reference set: precision, recall,
//! density, coverage and the near-duplicate rate.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use image::RgbImage;
use ndarray::{Array2, Axis, concatenate};
use rayon::prelude::*;
use serde::Serialize;

use super::RunOptions;
use super::progress::image_bar;
use super::sides::stack;
use crate::analysis::{TsneConfig, embed};
use crate::atomic::write_bytes_atomically;
use crate::features::{Extractor, FeatureFile, run_over_images};
use crate::images::{ImageBatches, decode_rgb, list_images, pil_bilinear_rgb8};
use crate::metrics::{PrdcConfig, calibrate_duplicate_threshold, near_duplicate_rate, prdc};
use crate::models::OutputKind;
use crate::report::{
    self, Cell, ColumnKind, CsvExporter, Exporter, JsonExporter, MarkdownExporter, Table,
};
use crate::rng::NumpyRandomState;
use crate::runtime::Runtime;

#[derive(Debug, Clone)]
pub struct TsneCommand {
    /// (name, source) in the order given.
    pub sets: Vec<(String, PathBuf)>,
    pub extractor: Option<PathBuf>,
    /// The set the collapse statistics compare against (default: `real`, else the first).
    pub reference: Option<String>,
    /// At most this many samples per set, drawn with the t-SNE seed.
    pub samples: Option<usize>,
    pub tsne: TsneConfig,
    /// Cells per side of the image maps.
    pub grid: usize,
    /// Thumbnail side in pixels.
    pub thumbnail: u32,
    pub prdc: PrdcConfig,
    /// Quantile of the reference set's nearest-neighbour distances below which two samples are near-duplicates.
    pub duplicate_quantile: f64,
    pub out: PathBuf,
    pub options: RunOptions,
}

/// One set's samples: their files (for thumbnails) and features.
struct SetData {
    name: String,
    files: Vec<Option<PathBuf>>,
    features: Array2<f32>,
}

/// Collapse statistics of one set against the reference.
#[derive(Debug, Clone, Serialize)]
struct Collapse {
    set: String,
    samples: usize,
    precision: f64,
    recall: f64,
    density: f64,
    coverage: f64,
    near_duplicate_rate: f64,
}

pub fn run(config: &TsneCommand) -> anyhow::Result<()> {
    if config.sets.is_empty() {
        bail!("tsne needs at least one --set NAME=SOURCE");
    }
    let mut names = std::collections::BTreeSet::new();
    for (name, _) in &config.sets {
        if !names.insert(name) {
            bail!("--set {name} is given twice; give each set its own name");
        }
    }
    // Everything that can be checked without a model, first.
    let mut plans = Vec::new();
    for (name, source) in &config.sets {
        plans.push((name.clone(), plan_set(name, source, config)?));
    }
    let total: usize = plans.iter().map(|(_, p)| p.len()).sum();
    config
        .tsne
        .validate(total, 2)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let reference = match &config.reference {
        Some(name) => plans
            .iter()
            .position(|(n, _)| n == name)
            .with_context(|| format!("--reference {name} is not one of the --set names"))?,
        None => plans.iter().position(|(n, _)| n == "real").unwrap_or(0),
    };
    let k = config.prdc.k;
    if let Some((name, plan)) = plans.iter().find(|(_, p)| p.len() <= k) {
        bail!(
            "--set {name} has {} samples, too few for k = {k} nearest neighbours; add samples or lower --prdc-k",
            plan.len()
        );
    }
    std::fs::create_dir_all(&config.out).with_context(|| {
        format!(
            "cannot create --out {}; choose a writable folder",
            config.out.display()
        )
    })?;

    let mut extractor = None;
    let mut sets = Vec::new();
    for (name, plan) in plans {
        let data = match plan {
            SetPlan::Images(files) => {
                if extractor.is_none() {
                    let path = config.extractor.clone().context(
                        "image sets need a model: pass --extractor MODEL.onnx (export one with models/export_inception.py)",
                    )?;
                    let runtime = Runtime::load(config.options.runtime.clone())?;
                    extractor = Some(Extractor::open(&runtime, &path)?);
                }
                let model = extractor.as_mut().expect("opened above");
                let features = pool_features(model, &files, &name, &config.options)?;
                SetData {
                    name,
                    files: files.into_iter().map(Some).collect(),
                    features,
                }
            }
            SetPlan::Features { features, files } => SetData {
                name,
                files,
                features,
            },
        };
        sets.push(data);
    }
    let dims: Vec<usize> = sets.iter().map(|s| s.features.ncols()).collect();
    if dims.windows(2).any(|w| w[0] != w[1]) {
        bail!(
            "the sets' features have different dimensions ({dims:?}); make them with one extractor"
        );
    }

    // Collapse statistics against the reference set.
    let real = sets[reference].features.view();
    let threshold = calibrate_duplicate_threshold(real, config.duplicate_quantile)?;
    let mut collapse = Vec::new();
    for set in &sets {
        let scores = prdc(real, set.features.view(), &config.prdc)?;
        collapse.push(Collapse {
            set: set.name.clone(),
            samples: set.features.nrows(),
            precision: scores.precision,
            recall: scores.recall,
            density: scores.density,
            coverage: scores.coverage,
            near_duplicate_rate: near_duplicate_rate(set.features.view(), &threshold)?,
        });
    }

    // One map for all sets.
    if !config.options.quiet {
        eprintln!(
            "tsne: PCA to {} dimensions and Barnes-Hut t-SNE of {total} samples",
            config.tsne.pca_dims
        );
    }
    let views: Vec<_> = sets.iter().map(|s| s.features.view()).collect();
    let all = concatenate(Axis(0), &views)?;
    let map = embed(all.view(), &config.tsne)?;
    let mut offset = 0;
    let mut points: Vec<Vec<(f64, f64)>> = Vec::new();
    for set in &sets {
        let n = set.features.nrows();
        points.push(
            (offset..offset + n)
                .map(|i| (map[[i, 0]], map[[i, 1]]))
                .collect(),
        );
        offset += n;
    }
    write_coordinates(&config.out.join("tsne-coordinates.csv"), &sets, &points)?;
    let scatter_sets: Vec<(String, Vec<(f64, f64)>)> = sets
        .iter()
        .zip(&points)
        .map(|(s, p)| (s.name.clone(), p.clone()))
        .collect();
    crate::report::plot::scatter_png(
        &config.out.join("tsne-scatter.png"),
        &format!(
            "t-SNE of {} features (perplexity {})",
            feature_label(config),
            config.tsne.perplexity
        ),
        &scatter_sets,
    )?;
    let mut map_files = Vec::new();
    let mut combined_points = Vec::new();
    let mut combined_thumbs = Vec::new();
    for (set, set_points) in sets.iter().zip(&points) {
        let Some(thumbs) = thumbnails(set, config.thumbnail)? else {
            eprintln!(
                "tsne: --set {} has no image files; it appears in the scatter plot only",
                set.name
            );
            continue;
        };
        let path = config.out.join(format!("tsne-map-{}.png", slug(&set.name)));
        let cells = config.grid * config.grid;
        let (map_points, map_thumbs) = take_at_most(set_points, &thumbs, cells);
        crate::report::plot::image_map_png(
            &path,
            &format!("t-SNE image map: {}", set.name),
            &map_points,
            &map_thumbs,
            config.grid,
            config.thumbnail,
        )?;
        map_files.push(path);
        combined_points.extend(set_points.iter().copied());
        combined_thumbs.extend(thumbs);
    }
    if map_files.len() > 1 {
        let cells = config.grid * config.grid;
        let (map_points, map_thumbs) = take_at_most(&combined_points, &combined_thumbs, cells);
        let path = config.out.join("tsne-map-all.png");
        crate::report::plot::image_map_png(
            &path,
            "t-SNE image map: all sets",
            &map_points,
            &map_thumbs,
            config.grid,
            config.thumbnail,
        )?;
    }

    let table = collapse_table(&collapse, &sets[reference].name, &threshold, config);
    let setup = extractor
        .as_ref()
        .and_then(|e| config.options.setup(e).ok());
    let details = JsonExporter {
        details: serde_json::json!({
            "collapse": collapse,
            "tsne": config.tsne,
            "reference": sets[reference].name,
            "duplicate_threshold": threshold,
            "prdc_k": config.prdc.k,
            "extractor": extractor.as_ref().map(|e| serde_json::json!({
                "path": e.path().display().to_string(),
                "sha256": e.sha256(),
                "protocol": setup.as_ref().map(|s| s.protocol.to_string()),
                "resize": setup.as_ref().map(|s| s.preprocess.resize.to_string()),
                "provider": e.provider().to_string(),
            })),
        }),
    };
    let exporters: [&dyn Exporter; 3] = [&CsvExporter, &MarkdownExporter, &details];
    report::write_all(&table, &config.out, "collapse", &exporters)?;
    if !config.options.quiet {
        println!("{}", report::markdown(&table, 2));
        println!("wrote {}", config.out.display());
    }
    Ok(())
}

enum SetPlan {
    Images(Vec<PathBuf>),
    Features {
        features: Array2<f32>,
        files: Vec<Option<PathBuf>>,
    },
}

impl SetPlan {
    fn len(&self) -> usize {
        match self {
            SetPlan::Images(files) => files.len(),
            SetPlan::Features { features, .. } => features.nrows(),
        }
    }
}

/// What a `--set` source holds, subsampled.
fn plan_set(name: &str, source: &Path, config: &TsneCommand) -> anyhow::Result<SetPlan> {
    if source.is_dir() {
        let folder = run_branch_folder(source);
        let files = list_images(&folder).with_context(|| format!("--set {name}"))?;
        let keep = subsample(files.len(), config.samples, config.tsne.seed);
        return Ok(SetPlan::Images(
            keep.into_iter().map(|i| files[i].clone()).collect(),
        ));
    }
    if !source.exists() {
        bail!(
            "--set {name}={}: no such file or folder; pass an image folder, a generate run or a feature file",
            source.display()
        );
    }
    let file = FeatureFile::read(source).with_context(|| format!("--set {name}"))?;
    let pool = file
        .require(source, "pool")
        .with_context(|| format!("--set {name}"))?;
    let keep = subsample(pool.nrows(), config.samples, config.tsne.seed);
    let features = pool.select(Axis(0), &keep);
    let files = keep
        .iter()
        .map(|&i| file.files.get(i).map(PathBuf::from).filter(|p| p.is_file()))
        .collect();
    Ok(SetPlan::Features { features, files })
}

/// A `generate` run (a folder with samples.csv) is read at its highest branch.
fn run_branch_folder(folder: &Path) -> PathBuf {
    if !folder.join(crate::generate::SAMPLES_CSV).is_file() {
        return folder.to_path_buf();
    }
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let resolution: u32 = e.file_name().to_str()?.parse().ok()?;
            e.path().is_dir().then_some((resolution, e.path()))
        })
        .max_by_key(|(r, _)| *r)
        .map(|(_, p)| p)
        .unwrap_or_else(|| folder.to_path_buf())
}

/// Indices kept: all, or `limit` drawn with numpy's RandomState(seed), in file order.
fn subsample(n: usize, limit: Option<usize>, seed: u64) -> Vec<usize> {
    match limit {
        Some(limit) if limit < n => {
            let mut keep = NumpyRandomState::new(seed as u32).choice_without_replacement(n, limit);
            keep.sort_unstable();
            keep
        }
        _ => (0..n).collect(),
    }
}

fn pool_features(
    model: &mut Extractor,
    files: &[PathBuf],
    name: &str,
    options: &RunOptions,
) -> anyhow::Result<Array2<f32>> {
    let pool = model
        .output_of_kind(OutputKind::Pool)
        .map(str::to_string)
        .with_context(|| format!("model {} has no pool output", model.path().display()))?;
    let batches = ImageBatches::new(
        files.to_vec(),
        options.setup(model)?.preprocess,
        options.batch_size,
        false,
    )?;
    let bar = image_bar(files.len(), name, options.quiet);
    let mut parts = Vec::new();
    run_over_images(
        model,
        batches,
        &[pool.as_str()],
        &|n| bar.inc(n as u64),
        |_, arrays| {
            parts.push(arrays[0].clone());
            anyhow::Ok(())
        },
    )?;
    bar.finish_and_clear();
    stack(parts)
}

/// Thumbnails of a set's samples, or `None` when its files are unknown.
fn thumbnails(set: &SetData, side: u32) -> anyhow::Result<Option<Vec<RgbImage>>> {
    if set.files.iter().any(Option::is_none) {
        return Ok(None);
    }
    let thumbs = set
        .files
        .par_iter()
        .map(|file| {
            let path = file.as_ref().expect("checked");
            decode_rgb(path).map(|img| pil_bilinear_rgb8(&img, side as usize, side as usize))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(thumbs))
}

/// The first `cells` points (the map has no room for more), in order.
fn take_at_most(
    points: &[(f64, f64)],
    thumbs: &[RgbImage],
    cells: usize,
) -> (Vec<(f64, f64)>, Vec<RgbImage>) {
    let n = points.len().min(cells);
    let step = points.len().div_ceil(n.max(1)).max(1);
    let picked: Vec<usize> = (0..points.len()).step_by(step).take(n).collect();
    (
        picked.iter().map(|&i| points[i]).collect(),
        picked.iter().map(|&i| thumbs[i].clone()).collect(),
    )
}

fn write_coordinates(
    path: &Path,
    sets: &[SetData],
    points: &[Vec<(f64, f64)>],
) -> anyhow::Result<()> {
    let mut text = String::from("set,index,file,x,y\n");
    for (set, set_points) in sets.iter().zip(points) {
        for (i, ((x, y), file)) in set_points.iter().zip(&set.files).enumerate() {
            let file = file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            text.push_str(&format!(
                "{},{i},{},{x},{y}\n",
                csv_field(&set.name),
                csv_field(&file)
            ));
        }
    }
    write_bytes_atomically(path, text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn feature_label(config: &TsneCommand) -> String {
    config
        .extractor
        .as_ref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "stored".into())
}

fn collapse_table(
    collapse: &[Collapse],
    reference: &str,
    threshold: &crate::metrics::DuplicateThreshold,
    config: &TsneCommand,
) -> Table {
    let mut table = Table::new("Mode collapse: each set against the reference set");
    table.notes.push(format!(
        "Reference `{reference}`. Precision and recall: k-NN manifolds (Kynkäänniemi et al. 2019); density and coverage: Naeem et al. 2020; k = {}. \
         Near-duplicate rate: share of samples whose nearest other sample is closer than {:.6} (the {} quantile of the reference set's nearest-neighbour distances).",
        config.prdc.k, threshold.distance, threshold.quantile
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
    table.column("samples", "samples", ColumnKind::Provenance);
    table.column("seed", "t-SNE seed", ColumnKind::Provenance);
    for c in collapse {
        let row = table.row();
        table.set(row, "set", Cell::text(&c.set));
        table.set(row, "precision", Cell::measure(Some(c.precision), None));
        table.set(row, "recall", Cell::measure(Some(c.recall), None));
        table.set(row, "density", Cell::measure(Some(c.density), None));
        table.set(row, "coverage", Cell::measure(Some(c.coverage), None));
        table.set(
            row,
            "near_duplicate_rate",
            Cell::measure(Some(c.near_duplicate_rate), None),
        );
        table.set(row, "samples", Cell::text(c.samples.to_string()));
        table.set(row, "seed", Cell::text(config.tsne.seed.to_string()));
    }
    table
}
