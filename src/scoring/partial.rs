//! `score --shard I/N` and the merge of its shards.
//!
//! A score run's items are the reference folder's images followed by the
//! evaluated folder's (only the sides the metrics read and that are
//! folders); a shard takes its contiguous range of that list, so it may hold
//! the end of one side and the start of the other. It keeps each side's raw
//! rows (`real.pool`, `fake.pool`, `fake.logits`, float32, in order), and its
//! context keeps the options, the report as the passes recorded it (models,
//! protocol, resize, notes) and how the IS reads the logits. A side given as
//! a statistics or feature file is not split: the shards record its path and
//! SHA-256, and the merge reads it. The merge feeds each side's rows, shard
//! by shard, to the [`SideAccumulator`] the single run feeds batch by batch,
//! then measures: the same numbers, bit for bit (see [`crate::shard::merge`]).

use std::ops::Range;
use std::path::Path;

use anyhow::{Context, bail};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::measure::measure;
use super::metric::Needs;
use super::model::setup;
use super::options::ScoringOptions;
use super::report::ScoreReport;
use super::scorer::{Pass, Role, Scorer, record};
use super::side::{Side, SideAccumulator};
use super::source::{Input, Source};
use crate::features::{FeatureFile, Features, IsSetup};
use crate::images::ImageList;
use crate::metrics::FidStats;
use crate::models::file_sha256;
use crate::progress::Progress;
use crate::shard::{Partial, PartialHeader, PartialKind, Shard, ShardSet, plan_hash};

/// Where one side of a sharded score run comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidePlan {
    pub input: Input,
    /// What the metrics need from it.
    pub needs: NeedsPlan,
    /// A statistics or feature file: its SHA-256 (the merge reads it);
    /// `None`: a folder, split among the shards.
    pub file_sha256: Option<String>,
    /// How the IS reads this side's logits (the model that made them).
    pub is: Option<IsPlan>,
}

/// [`Needs`], as a context records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsPlan {
    pub stats: bool,
    pub pool: bool,
    pub logits: bool,
}

impl From<Needs> for NeedsPlan {
    fn from(n: Needs) -> Self {
        NeedsPlan {
            stats: n.stats,
            pool: n.pool,
            logits: n.logits,
        }
    }
}

impl From<NeedsPlan> for Needs {
    fn from(n: NeedsPlan) -> Self {
        Needs {
            stats: n.stats,
            pool: n.pool,
            logits: n.logits,
        }
    }
}

/// [`IsSetup`], as a context records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsPlan {
    pub logits: Option<String>,
    pub drop_columns: Option<Vec<usize>>,
    pub protocol: crate::models::IsProtocol,
}

impl From<&IsSetup> for IsPlan {
    fn from(s: &IsSetup) -> Self {
        IsPlan {
            logits: s.logits.clone(),
            drop_columns: s.drop_columns.clone(),
            protocol: s.protocol,
        }
    }
}

impl From<&IsPlan> for IsSetup {
    fn from(p: &IsPlan) -> Self {
        IsSetup {
            logits: p.logits.clone(),
            drop_columns: p.drop_columns.clone(),
            protocol: p.protocol,
        }
    }
}

/// What every shard of a score run shares beyond the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreContext {
    pub options: ScoringOptions,
    pub real: Option<SidePlan>,
    pub fake: SidePlan,
    /// The report as the passes recorded it, before any metric (no skipped images).
    pub report: ScoreReport,
}

/// One side as a shard sees it: the classified source, the folder's images, their place among the items.
struct Planned {
    name: &'static str,
    input: Input,
    source: Source,
    needs: Needs,
    /// The items of this side among the run's.
    items: Range<usize>,
}

impl Planned {
    fn images(&self) -> ImageList {
        match &self.source {
            Source::Folder { images, .. } => images.clone(),
            _ => ImageList::default(),
        }
    }
}

impl Scorer {
    /// Shard `shard` of `score`: its partial result.
    pub fn score_shard(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Input>,
        fake: &Input,
        shard: Shard,
        progress: &dyn Progress,
    ) -> anyhow::Result<Partial> {
        options.check()?;
        let requirements = options.requirements();
        let real = self.classify_reference(options, real)?;
        let fake_source = Source::classify(fake)?;
        super::bootstrap::check_source(options, &fake.flag, &fake_source)?;
        fake_source.check(requirements.fake)?;
        if requirements.classifier && !matches!(fake_source, Source::Folder { .. }) {
            bail!(
                "--classifier runs on images: pass an image folder, or drop --classifier to use the logits stored in {}",
                fake_source.path().display()
            );
        }
        let mut sides = Vec::new();
        let mut next = 0;
        let mut add = |name, input: Input, source: Source, needs: Needs| {
            let count = match &source {
                Source::Folder { images, .. } if needs.any() || name == "fake" => images.len(),
                _ => 0,
            };
            sides.push(Planned {
                name,
                input,
                source,
                needs,
                items: next..next + count,
            });
            next += count;
        };
        if let Some((input, source)) = real {
            add("real", input, source, requirements.real);
        }
        add("fake", fake.clone(), fake_source, requirements.fake);
        let items = next;
        let plan = plan_hash(sides.iter().flat_map(|side| {
            let name = side.name;
            side.images()
                .iter()
                .map(move |p| {
                    let mut item = name.as_bytes().to_vec();
                    item.push(0);
                    item.extend_from_slice(p.as_os_str().as_encoded_bytes());
                    item
                })
                .collect::<Vec<_>>()
        }));
        let mut header = PartialHeader::new(PartialKind::Score, shard, items, plan);
        let range = shard.range(items);
        let mut report = ScoreReport::new(self.batch_size);
        let mut data = FeatureFile::default();
        let mut plans = Vec::new();
        for side in &sides {
            let mut is = None;
            let file_sha256 = match &side.source {
                Source::Folder { images, .. } => {
                    let start =
                        range.start.clamp(side.items.start, side.items.end) - side.items.start;
                    let end = range.end.clamp(side.items.start, side.items.end) - side.items.start;
                    let mine = images.slice(start..end);
                    if side.needs.any() {
                        let model = self.extractor(options.extractor.as_deref(), progress)?;
                        let needs = Needs {
                            stats: false,
                            pool: side.needs.pool_output(),
                            logits: side.needs.logits,
                        };
                        let pass = Pass {
                            role: Role::Extractor,
                            model: &model,
                            name: side.input.label(),
                            stage: side.name,
                            needs,
                            skip_bad: self.images.skip_bad,
                        };
                        let rows = self.shard_pass(
                            &pass,
                            mine.clone(),
                            options,
                            progress,
                            &mut report,
                            &mut header.skipped,
                        )?;
                        if side.name == "fake" {
                            // The merged triage names its examples as the single run does.
                            data.files = rows.files.iter().flatten().cloned().collect();
                        }
                        keep(
                            &mut data,
                            side.name,
                            rows.pool.map(Features::into_owned),
                            rows.logits.map(|l| l.values.into_owned()),
                        );
                        if side.needs.logits {
                            is = Some(IsPlan::from(&self.is_setup(&model)?));
                        }
                    }
                    if side.name == "fake"
                        && requirements.classifier
                        && let Some(classifier) = &options.classifier
                    {
                        let pass = Pass {
                            role: Role::Classifier,
                            model: classifier,
                            name: side.input.label(),
                            stage: "classify",
                            needs: Needs {
                                logits: true,
                                ..Needs::default()
                            },
                            skip_bad: self.images.skip_bad,
                        };
                        let mut ignored = 0;
                        let rows = self.shard_pass(
                            &pass,
                            mine,
                            options,
                            progress,
                            &mut report,
                            &mut ignored,
                        )?;
                        keep(
                            &mut data,
                            "classified",
                            None,
                            rows.logits.map(|l| l.values.into_owned()),
                        );
                        is = Some(IsPlan::from(&self.is_setup(classifier)?));
                    }
                    None
                }
                file => Some(file_sha256(file.path())?),
            };
            if let Some(sha256) = &file_sha256 {
                header
                    .provenance
                    .insert(format!("{} file sha256", side.name), sha256.clone());
            }
            plans.push(SidePlan {
                input: side.input.clone(),
                needs: side.needs.into(),
                file_sha256,
                is,
            });
        }
        report.onnxruntime = self.onnxruntime();
        let fake_plan = plans.pop().context("the evaluated side is planned")?;
        let context = ScoreContext {
            options: options.clone(),
            real: plans.pop(),
            fake: fake_plan,
            report,
        };
        header.context = serde_json::to_value(&context)?;
        Ok(Partial { header, data })
    }

    /// How the IS reads the logits of `model` under this run's protocol.
    fn is_setup(&mut self, model: &Path) -> anyhow::Result<IsSetup> {
        let images = self.images.clone();
        let model = self.model(model)?;
        Ok(setup(model, &images)?.is)
    }

    /// A pass over `paths` (possibly none: then only the model is recorded),
    /// its unreadable images added to `skipped`.
    fn shard_pass(
        &mut self,
        pass: &Pass,
        paths: ImageList,
        options: &ScoringOptions,
        progress: &dyn Progress,
        report: &mut ScoreReport,
        skipped: &mut usize,
    ) -> anyhow::Result<Side> {
        if paths.is_empty() {
            let images = self.images.clone();
            let model = self.model(pass.model)?;
            let setup = setup(model, &images)?;
            record(report, pass.role, model, &setup);
            return Ok(Side::default());
        }
        let before = report.skipped_images;
        let side = self.pass(pass, paths, &options.is, progress, report)?;
        *skipped += report.skipped_images - before;
        report.skipped_images = before;
        Ok(side)
    }
}

/// Keeps a side's rows under `side.pool`, `side.logits`.
fn keep(
    data: &mut FeatureFile,
    side: &str,
    pool: Option<Array2<f32>>,
    logits: Option<Array2<f32>>,
) {
    if let Some(pool) = pool {
        data.arrays.push((format!("{side}.pool"), pool));
    }
    if let Some(logits) = logits {
        data.arrays.push((format!("{side}.logits"), logits));
    }
}

/// The report of the whole run from its shards (`merge` of `score` shards).
pub fn merge_score(shards: &ShardSet) -> anyhow::Result<ScoreReport> {
    let context: ScoreContext = serde_json::from_value(shards.header().context.clone())
        .with_context(|| {
            format!(
                "{}: the shards' context cannot be read; run them again",
                shards.parts[0].0.display()
            )
        })?;
    let folder = |plan: &SidePlan| plan.file_sha256.is_none();
    let mut real = context
        .real
        .as_ref()
        .filter(|p| folder(p))
        .map(|p| SideAccumulator::new(p.needs.into()));
    let mut fake = folder(&context.fake).then(|| SideAccumulator::new(context.fake.needs.into()));
    let mut classified: Vec<Array2<f32>> = Vec::new();
    shards.each(|path, partial| {
        let array = |name: &str| partial.data.array(name);
        for (name, side) in [("real", real.as_mut()), ("fake", fake.as_mut())] {
            let Some(side) = side else { continue };
            let pool = array(&format!("{name}.pool"));
            let logits = array(&format!("{name}.logits"));
            if let Some(rows) = pool.or(logits) {
                side.count(rows.nrows());
            }
            let fail = |e: anyhow::Error| crate::shard::MergeError::Data {
                path: path.display().to_string(),
                reason: format!("{e:#}"),
            };
            if let Some(pool) = pool {
                side.add_pool(pool).map_err(fail)?;
            }
            if let Some(logits) = logits {
                side.add_logits(logits).map_err(fail)?;
            }
            if name == "fake" {
                side.add_files(partial.data.files.iter().cloned().map(Some));
            }
        }
        if let Some(logits) = array("classified.logits") {
            classified.push(logits.clone());
        }
        Ok(())
    })?;
    let real = match (&context.real, real) {
        (Some(plan), Some(accumulator)) => Some(finish(plan, accumulator)?),
        (Some(plan), None) => Some(read_file(plan, &context.options)?),
        (None, _) => None,
    };
    let mut fake = match fake {
        Some(accumulator) => finish(&context.fake, accumulator)?,
        None => read_file(&context.fake, &context.options)?,
    };
    if !classified.is_empty() {
        let mut logits = SideAccumulator::new(Needs {
            logits: true,
            ..Needs::default()
        });
        for part in &classified {
            logits.add_logits(part)?;
        }
        let is = context
            .fake
            .is
            .as_ref()
            .map(IsSetup::from)
            .unwrap_or_default();
        fake.logits = logits.finish(fake.label.clone(), is)?.logits;
    }
    let mut report = context.report;
    report.skipped_images = shards.skipped();
    measure(
        &context.options,
        real.as_ref(),
        &fake,
        &mut report,
        &crate::progress::Silent,
    )?;
    Ok(report)
}

/// A folder side from its accumulated rows (as the single run's pass makes it).
fn finish(plan: &SidePlan, accumulator: SideAccumulator) -> anyhow::Result<Side> {
    let label = plan.input.label();
    if !Needs::from(plan.needs).any() {
        return Ok(Side {
            label,
            ..Side::default()
        });
    }
    let is = plan.is.as_ref().map(IsSetup::from).unwrap_or_default();
    accumulator.finish(label, is)
}

/// A side given as a statistics or feature file, checked against the hash the shards recorded.
pub(super) fn read_file(plan: &SidePlan, options: &ScoringOptions) -> anyhow::Result<Side> {
    let path = &plan.input.path;
    let sha256 = file_sha256(path)?;
    if Some(&sha256) != plan.file_sha256.as_ref() {
        bail!(
            "{} changed since the shards read it (SHA-256 {sha256}, the shards saw {}); put the file back or run the shards again",
            plan.input.label(),
            plan.file_sha256.as_deref().unwrap_or("none")
        );
    }
    let label = plan.input.label();
    match Source::classify(&plan.input)? {
        Source::Stats(path) => Ok(Side::from_stats(label, FidStats::read_npz(&path)?)),
        Source::Features(path) => Side::from_features(
            label,
            &FeatureFile::read(&path)?,
            &path,
            plan.needs.into(),
            &options.is,
        ),
        Source::Folder { .. } => bail!(
            "{} is a folder now; the shards read a file there",
            plan.input.label()
        ),
    }
}
