//! `fid`, `is`, `kid` and `score`: every metric asked for, in one pass over
//! each image folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ndarray::{Array2, Axis, concatenate};

use super::RunOptions;
use super::progress::image_bar;
use super::report::{ModelProvenance, ScoreReport};
use super::sources::Source;
use crate::features::{Extractor, FeatureFile, run_over_images};
use crate::images::list_images;
use crate::metrics::{
    FidStats, IsConfig, KidConfig, StatsAccumulator, frechet_distance, inception_score,
    kernel_inception_distance,
};
use crate::models::OutputKind;
use crate::runtime::Runtime;

/// A metric `score` can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Fid,
    Is,
    Kid,
}

/// How the Inception Score's splits and spread are formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsProtocol {
    /// torch-fidelity 0.4: contiguous splits, shuffled with seed 2020 by default.
    TorchFidelity,
    /// StackGAN's script: contiguous splits, batches of 64 with the remainder dropped.
    Stackgan,
}

/// Inception Score settings.
#[derive(Debug, Clone)]
pub struct IsOptions {
    pub splits: usize,
    pub protocol: IsProtocol,
    /// Output (or feature-file array) holding the logits; `None`: the model's default.
    pub logits: Option<String>,
    /// Columns dropped before the softmax; `None`: the model's default.
    pub drop_columns: Option<Vec<usize>>,
    /// Shuffle before splitting with numpy's RandomState(seed): `None` takes
    /// the protocol's default (torch-fidelity: seed 2020; stackgan: no shuffle),
    /// `Some(None)` keeps the file order.
    pub shuffle: Option<Option<u32>>,
}

/// A validated scoring run.
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    pub metrics: Vec<Metric>,
    /// The reference side (FID, KID).
    pub real: Option<PathBuf>,
    /// The evaluated side (`--fake`, or `--images`/`--features` for IS).
    pub fake: PathBuf,
    /// The flag `fake` came from, for messages.
    pub fake_flag: &'static str,
    pub extractor: Option<PathBuf>,
    /// A separate model for IS (e.g. StackGAN's fine-tuned classifier).
    pub classifier: Option<PathBuf>,
    pub is: IsOptions,
    pub kid: KidConfig,
    pub options: RunOptions,
}

/// What one side of the comparison yields.
#[derive(Default)]
struct Side {
    count: usize,
    stats: Option<FidStats>,
    pool: Option<Array2<f32>>,
    logits: Option<Array2<f32>>,
}

/// What each side must yield.
#[derive(Clone, Copy)]
struct Needs {
    stats: bool,
    pool: bool,
    logits: bool,
}

/// Runs the metrics, prints the summary, writes `--json`; returns the report.
pub fn run(config: &ScoreConfig) -> anyhow::Result<ScoreReport> {
    let wants = |m| config.metrics.contains(&m);
    let (fid, is, kid) = (wants(Metric::Fid), wants(Metric::Is), wants(Metric::Kid));
    if (fid || kid) && config.real.is_none() {
        bail!(
            "FID and KID compare two sets: pass --real (a folder, statistics .npz or feature file)"
        );
    }
    let real = config
        .real
        .as_deref()
        .map(|p| Source::classify(p, "--real"))
        .transpose()?;
    let fake = Source::classify(&config.fake, config.fake_flag)?;
    for source in real.iter().chain([&fake]) {
        if let Source::Stats(path) = source
            && (kid || (is && source == &fake))
        {
            bail!(
                "{} holds only mu/sigma statistics, which FID alone can use; for KID or IS pass an image folder or a feature file from `stackgan-eval extract`",
                path.display()
            );
        }
    }
    let mut scorer = Scorer::new(config);
    let mut report = ScoreReport::new(config.options.batch_size);
    let is_from_extractor = is && config.classifier.is_none();
    let real_side = match &real {
        Some(source) => Some(scorer.side(
            source,
            "real",
            Needs {
                stats: fid,
                pool: kid,
                logits: false,
            },
            &mut report,
        )?),
        None => None,
    };
    let fake_side = scorer.side(
        &fake,
        "fake",
        Needs {
            stats: fid,
            pool: kid,
            logits: is_from_extractor,
        },
        &mut report,
    )?;

    if let (true, Some(real_side)) = (fid, &real_side) {
        let (a, b) = (
            real_side.stats.as_ref().expect("needed"),
            fake_side.stats.as_ref().expect("needed"),
        );
        if a.dim() != b.dim() {
            bail!(
                "statistics have different dimensions: --real {} is {}-d, {} {} is {}-d; compute both with the same extractor",
                config.real.as_ref().expect("checked").display(),
                a.dim(),
                config.fake_flag,
                config.fake.display(),
                b.dim()
            );
        }
        let distance = frechet_distance(a, b)?;
        report.fid = Some(distance.fid);
        report.fid_eps_added = distance.eps_added;
        report.warnings.extend(distance.warnings);
    }
    if fid || kid {
        report.n_real = real_side.as_ref().map(|s| s.count);
        report.n_fake = Some(fake_side.count);
    }
    if let (true, Some(real_side)) = (kid, &real_side) {
        let (a, b) = (
            real_side.pool.as_ref().expect("needed"),
            fake_side.pool.as_ref().expect("needed"),
        );
        let result = kernel_inception_distance(a.view(), b.view(), &config.kid)?;
        report.kid_mean = Some(result.mean);
        report.kid_std = Some(result.std);
        report.kid_subsets = Some(result.subsets);
        report.kid_subset_size = Some(result.subset_size);
        report.kid_seed = Some(config.kid.seed);
    }
    if is {
        let logits = match &config.classifier {
            None => fake_side.logits.expect("needed"),
            Some(classifier) => scorer.classifier_logits(classifier, &fake, &mut report)?,
        };
        let manifest_columns = scorer.default_drop_columns.clone();
        let mut is_config = match config.is.protocol {
            IsProtocol::TorchFidelity => IsConfig::torch_fidelity(),
            IsProtocol::Stackgan => IsConfig::stackgan(),
        };
        is_config.splits = config.is.splits;
        if let Some(columns) = config.is.drop_columns.clone().or(manifest_columns) {
            is_config.drop_columns = columns;
        }
        if let Some(shuffle) = config.is.shuffle {
            is_config.shuffle_seed = shuffle;
        }
        let logits = logits.mapv(f64::from);
        let score = inception_score(logits.view(), &is_config)?;
        report.is_mean = Some(score.mean);
        report.is_std = Some(score.std);
        report.is_splits = Some(config.is.splits);
        report.n_images = Some(score.n);
        report.is_shuffle_seed = is_config.shuffle_seed;
        report.is_protocol = Some(
            match config.is.protocol {
                IsProtocol::TorchFidelity => "torch-fidelity",
                IsProtocol::Stackgan => "stackgan",
            }
            .into(),
        );
    }
    if let Some(runtime) = &scorer.runtime {
        report.onnxruntime = Some(runtime.version());
    }
    if let Some(json) = &config.options.json {
        report.write_json(json)?;
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if !config.options.quiet {
        println!("{}", report.summary());
    }
    Ok(report)
}

/// Holds the runtime and the extractor, opened on first need.
struct Scorer<'a> {
    config: &'a ScoreConfig,
    runtime: Option<Runtime>,
    extractor: Option<Extractor>,
    /// The `[inception_score]` drop columns of the model's manifest, if it has that section.
    default_drop_columns: Option<Vec<usize>>,
}

impl<'a> Scorer<'a> {
    fn new(config: &'a ScoreConfig) -> Self {
        Scorer {
            config,
            runtime: None,
            extractor: None,
            default_drop_columns: None,
        }
    }

    fn runtime(&mut self) -> anyhow::Result<&Runtime> {
        if self.runtime.is_none() {
            self.runtime = Some(Runtime::load(self.config.options.runtime.clone())?);
        }
        Ok(self.runtime.as_ref().expect("just set"))
    }

    fn open(&mut self, path: &Path) -> anyhow::Result<Extractor> {
        let extractor = Extractor::open(self.runtime()?, path)?;
        Ok(extractor)
    }

    fn side(
        &mut self,
        source: &Source,
        label: &str,
        needs: Needs,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        match source {
            Source::Stats(path) => {
                let stats = FidStats::read_npz(path)?;
                let count = stats.count.map_or(0, |c| c as usize);
                Ok(Side {
                    count,
                    stats: Some(stats),
                    ..Side::default()
                })
            }
            Source::Features(path) => {
                let file = FeatureFile::read(path)?;
                let pool = file.require(path, "pool")?;
                let mut side = Side {
                    count: file.len(),
                    ..Side::default()
                };
                if needs.stats {
                    side.stats = Some(stats_of(pool, path)?);
                }
                if needs.pool {
                    side.pool = Some(pool.clone());
                }
                if needs.logits {
                    let name = self.config.is.logits.clone().unwrap_or_else(|| {
                        if file.array("logits_unbiased").is_some() {
                            "logits_unbiased"
                        } else {
                            "logits"
                        }
                        .into()
                    });
                    side.logits = Some(file.require(path, &name)?.clone());
                }
                Ok(side)
            }
            Source::Folder(folder) => self.folder_side(folder, label, needs, report),
        }
    }

    fn folder_side(
        &mut self,
        folder: &Path,
        label: &str,
        needs: Needs,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        if self.extractor.is_none() {
            let path = self.config.extractor.clone().context(
                "an image folder needs a model: pass --extractor MODEL.onnx (export one with models/export_inception.py)",
            )?;
            let extractor = self.open(&path)?;
            report.extractor = Some(provenance(&extractor));
            self.default_drop_columns = extractor
                .manifest()
                .inception_score
                .as_ref()
                .map(|s| s.drop_columns.clone());
            self.extractor = Some(extractor);
        }
        let options = &self.config.options;
        let extractor = self.extractor.as_mut().expect("opened above");
        let pool_name = extractor
            .output_of_kind(OutputKind::Pool)
            .map(str::to_string)
            .with_context(|| {
                format!(
                    "model {} has no pool output; FID and KID need one",
                    extractor.path().display()
                )
            })?;
        let logits_name = if needs.logits {
            Some(logits_output(extractor, &self.config.is)?)
        } else {
            None
        };
        let mut outputs = Vec::new();
        if needs.stats || needs.pool {
            outputs.push(pool_name.as_str());
        }
        if let Some(name) = &logits_name {
            outputs.push(name.as_str());
        }
        let resize = extractor.resize_mode(options.resize)?;
        report.resize = Some(resize.to_string());
        report.provider = Some(extractor.provider().to_string());
        let (side, skipped) = pass(extractor, folder, label, resize, options, &outputs, needs)?;
        report.skipped_images += skipped;
        Ok(side)
    }

    /// IS logits from a separate classifier over the fake images.
    fn classifier_logits(
        &mut self,
        path: &Path,
        fake: &Source,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Array2<f32>> {
        let Source::Folder(folder) = fake else {
            bail!(
                "--classifier runs on images: pass an image folder, or drop --classifier to use the logits stored in {}",
                fake.path().display()
            );
        };
        let mut classifier = self.open(path)?;
        report.classifier = Some(provenance(&classifier));
        self.default_drop_columns = classifier
            .manifest()
            .inception_score
            .as_ref()
            .map(|s| s.drop_columns.clone());
        let name = logits_output(&classifier, &self.config.is)?;
        let options = &self.config.options;
        let resize = classifier.resize_mode(options.resize)?;
        report.resize.get_or_insert_with(|| resize.to_string());
        report
            .provider
            .get_or_insert_with(|| classifier.provider().to_string());
        let needs = Needs {
            stats: false,
            pool: false,
            logits: true,
        };
        let (side, skipped) = pass(
            &mut classifier,
            folder,
            "classify",
            resize,
            options,
            &[name.as_str()],
            needs,
        )?;
        report.skipped_images += skipped;
        Ok(side.logits.expect("requested"))
    }
}

/// One streaming pass over a folder, keeping what `needs` asks for.
fn pass(
    extractor: &mut Extractor,
    folder: &Path,
    label: &str,
    resize: crate::images::ResizeMode,
    options: &RunOptions,
    outputs: &[&str],
    needs: Needs,
) -> anyhow::Result<(Side, usize)> {
    let paths = list_images(folder)?;
    let bar = image_bar(paths.len(), label, options.quiet);
    let preprocess = extractor.preprocess(resize);
    let mut accumulator: Option<StatsAccumulator> = None;
    let mut pools = Vec::new();
    let mut logits = Vec::new();
    let logits_index = outputs.len() - 1;
    let summary = run_over_images(
        extractor,
        paths,
        preprocess,
        options.batch_size,
        options.skip_bad,
        outputs,
        &|n| bar.inc(n as u64),
        |_, arrays| {
            if needs.stats {
                let pool = &arrays[0];
                accumulator
                    .get_or_insert_with(|| StatsAccumulator::new(pool.ncols()))
                    .add(pool.view())?;
            }
            if needs.pool {
                pools.push(arrays[0].clone());
            }
            if needs.logits {
                logits.push(arrays[logits_index].clone());
            }
            anyhow::Ok(())
        },
    )?;
    bar.finish_and_clear();
    if summary.images == 0 {
        bail!(
            "{}: no readable images (all {} were skipped); check the folder",
            folder.display(),
            summary.skipped.len()
        );
    }
    let stack = |parts: Vec<Array2<f32>>| -> anyhow::Result<Array2<f32>> {
        let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
        Ok(concatenate(Axis(0), &views)?)
    };
    let side = Side {
        count: summary.images,
        stats: accumulator
            .map(|a| a.finish())
            .transpose()
            .with_context(|| format!("{}: cannot form statistics", folder.display()))?,
        pool: if needs.pool {
            Some(stack(pools)?)
        } else {
            None
        },
        logits: if needs.logits {
            Some(stack(logits)?)
        } else {
            None
        },
    };
    Ok((side, summary.skipped.len()))
}

/// FID statistics of a folder through `extractor` (for `stats`).
pub(super) fn folder_statistics(
    extractor: &mut Extractor,
    folder: &Path,
    options: &RunOptions,
) -> anyhow::Result<(FidStats, usize)> {
    let pool = extractor
        .output_of_kind(OutputKind::Pool)
        .map(str::to_string)
        .with_context(|| format!("model {} has no pool output", extractor.path().display()))?;
    let resize = extractor.resize_mode(options.resize)?;
    let needs = Needs {
        stats: true,
        pool: false,
        logits: false,
    };
    let (side, skipped) = pass(
        extractor,
        folder,
        "stats",
        resize,
        options,
        &[pool.as_str()],
        needs,
    )?;
    Ok((side.stats.expect("requested"), skipped))
}

fn stats_of(pool: &Array2<f32>, path: &Path) -> anyhow::Result<FidStats> {
    let mut accumulator = StatsAccumulator::new(pool.ncols());
    accumulator.add(pool.view())?;
    accumulator
        .finish()
        .with_context(|| format!("{}: cannot form statistics", path.display()))
}

/// The output IS reads: the flag, else the manifest's choice, else unbiased logits, else logits.
fn logits_output(model: &Extractor, options: &IsOptions) -> anyhow::Result<String> {
    let name = options
        .logits
        .clone()
        .or_else(|| {
            model
                .manifest()
                .inception_score
                .as_ref()
                .and_then(|s| s.logits.clone())
        })
        .or_else(|| {
            model
                .output_of_kind(OutputKind::LogitsUnbiased)
                .map(str::to_string)
        })
        .or_else(|| model.output_of_kind(OutputKind::Logits).map(str::to_string))
        .with_context(|| {
            format!(
                "model {} has no logits output; IS needs one (--logits NAME)",
                model.path().display()
            )
        })?;
    model.require_output(&name)?;
    Ok(name)
}

fn provenance(model: &Extractor) -> ModelProvenance {
    ModelProvenance {
        path: model.path().display().to_string(),
        name: model.manifest().name.clone(),
        sha256: model.sha256().to_string(),
        protocol: model.manifest().protocol.clone(),
    }
}
