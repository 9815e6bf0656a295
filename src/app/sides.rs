//! What each side of a comparison yields — statistics, pool features,
//! logits — from a folder (one streaming pass through the model), a
//! statistics file or a feature file.

use std::path::Path;

use anyhow::{Context, bail};
use ndarray::{Array2, Axis, concatenate};

use super::RunOptions;
use super::progress::image_bar;
use super::report::{ModelProvenance, ScoreReport};
use super::score::{IsOptions, ScoreConfig};
use super::sources::Source;
use crate::features::{Extractor, FeatureFile, IsSetup, ProtocolSetup, run_over_images};
use crate::images::Preprocess;
use crate::metrics::{FidStats, StatsAccumulator};
use crate::models::OutputKind;
use crate::runtime::Runtime;

/// What one side of the comparison yields.
#[derive(Default)]
pub(super) struct Side {
    /// Samples behind this side; unknown for a statistics file without `count`.
    pub(super) count: Option<usize>,
    pub(super) stats: Option<FidStats>,
    pub(super) pool: Option<Array2<f32>>,
    pub(super) logits: Option<Array2<f32>>,
}

/// What each side must yield.
#[derive(Clone, Copy)]
pub(super) struct Needs {
    pub(super) stats: bool,
    pub(super) pool: bool,
    pub(super) logits: bool,
}

/// Holds the runtime and the extractor, opened on first need.
pub(super) struct Scorer<'a> {
    config: &'a ScoreConfig,
    pub(super) runtime: Option<Runtime>,
    extractor: Option<Extractor>,
    /// What the IS model's protocol and manifest give the Inception Score.
    pub(super) is_setup: IsSetup,
}

impl<'a> Scorer<'a> {
    pub(super) fn new(config: &'a ScoreConfig) -> Self {
        Scorer {
            config,
            runtime: None,
            extractor: None,
            is_setup: IsSetup::default(),
        }
    }

    pub(super) fn runtime(&mut self) -> anyhow::Result<&Runtime> {
        if self.runtime.is_none() {
            self.runtime = Some(Runtime::load(self.config.options.runtime.clone())?);
        }
        Ok(self.runtime.as_ref().expect("just set"))
    }

    fn open(&mut self, path: &Path) -> anyhow::Result<Extractor> {
        let extractor = Extractor::open(self.runtime()?, path)?;
        Ok(extractor)
    }

    pub(super) fn side(
        &mut self,
        source: &Source,
        label: &str,
        needs: Needs,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        match source {
            Source::Stats(path) => {
                let stats = FidStats::read_npz(path)?;
                let count = stats.count.map(|c| c as usize);
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
                    count: Some(file.len()),
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

    /// The reference side: statistics for FID, every feature vector for
    /// KID and PRDC (`pool`).
    pub(super) fn reference_side(
        &mut self,
        source: &Source,
        stats: bool,
        pool: bool,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        let needs = Needs {
            stats,
            pool,
            logits: false,
        };
        self.side(source, "real", needs, report)
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
            self.extractor = Some(self.open(&path)?);
        }
        let options = &self.config.options;
        let extractor = self.extractor.as_mut().expect("opened above");
        let setup = options.setup(extractor)?;
        report.extractor = Some(provenance(extractor, &setup));
        record_setup(&setup, report);
        self.is_setup = setup.is.clone();
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
            Some(logits_output(extractor, &setup.is, &self.config.is)?)
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
        report.provider = Some(extractor.provider().to_string());
        let (side, skipped) = pass(
            extractor,
            folder,
            label,
            setup.preprocess,
            options,
            &outputs,
            needs,
        )?;
        report.skipped_images += skipped;
        Ok(side)
    }

    /// IS logits from a separate classifier over the fake images.
    pub(super) fn classifier_logits(
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
        let options = &self.config.options;
        let setup = options.setup(&classifier)?;
        report.classifier = Some(provenance(&classifier, &setup));
        record_setup(&setup, report);
        self.is_setup = setup.is.clone();
        let name = logits_output(&classifier, &setup.is, &self.config.is)?;
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
            setup.preprocess,
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
    preprocess: Preprocess,
    options: &RunOptions,
    outputs: &[&str],
    needs: Needs,
) -> anyhow::Result<(Side, usize)> {
    let (batches, total) = options.batches(folder, preprocess)?;
    let bar = image_bar(total, label, options.quiet);
    let mut accumulator: Option<StatsAccumulator> = None;
    let mut pools = Vec::new();
    let mut logits = Vec::new();
    let logits_index = outputs.len() - 1;
    let summary = run_over_images(
        extractor,
        batches,
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
    let side = Side {
        count: Some(summary.images),
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

/// Batches of rows, one on top of the other.
pub(super) fn stack(parts: Vec<Array2<f32>>) -> anyhow::Result<Array2<f32>> {
    let views: Vec<_> = parts.iter().map(|a| a.view()).collect();
    Ok(concatenate(Axis(0), &views)?)
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
    let setup = options.setup(extractor)?;
    if let Some(note) = setup.override_note() {
        eprintln!("warning: {note}");
    }
    let needs = Needs {
        stats: true,
        pool: false,
        logits: false,
    };
    let (side, skipped) = pass(
        extractor,
        folder,
        "stats",
        setup.preprocess,
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

/// The output IS reads: the flag, else the protocol's (or the manifest's)
/// choice, else unbiased logits, else logits.
pub(super) fn logits_output(
    model: &Extractor,
    setup: &IsSetup,
    options: &IsOptions,
) -> anyhow::Result<String> {
    let name = options
        .logits
        .clone()
        .or_else(|| setup.logits.clone())
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

pub(super) fn provenance(model: &Extractor, setup: &ProtocolSetup) -> ModelProvenance {
    ModelProvenance {
        path: model.path().display().to_string(),
        name: model.manifest().name.clone(),
        sha256: model.sha256().to_string(),
        protocol: Some(setup.protocol.to_string()),
    }
}

/// The report's protocol and resize (the first model's), and a note when
/// `--resize` replaced the protocol's.
pub(super) fn record_setup(setup: &ProtocolSetup, report: &mut ScoreReport) {
    report
        .protocol
        .get_or_insert_with(|| setup.protocol.to_string());
    report
        .resize
        .get_or_insert_with(|| setup.preprocess.resize.to_string());
    if let Some(note) = setup.override_note()
        && !report.warnings.contains(&note)
    {
        report.warnings.push(note);
    }
}
