//! `eval`: generate and score in one streaming pass. Each batch of samples
//! goes through the generator, is quantised to 8-bit exactly as `generate`
//! writes its PNGs, and goes on through the extractor (and the IS
//! classifier) into one side accumulator per branch — the same accumulators
//! a folder pass fills; nothing but statistics, features and logits is kept.
//! Colour consistency is measured between adjacent kept branches on the
//! float images.

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use image::RgbImage;
use ndarray::{Array2, Axis};
use rayon::prelude::*;

use super::metric::Needs;
use super::model::{Outputs, outputs, setup};
use super::options::{IsOptions, ScoringOptions};
use super::report::{BranchReport, ColorPair, EvalReport, GeneratorProvenance, ScoreReport};
use super::scorer::{Role, Scorer, feed, record, record_drift};
use super::side::{Side, SideAccumulator};
use super::source::Input;
use crate::features::{Extractor, IsSetup, OnDevice};
use crate::generate::{GeneratedBatch, Job, JobSpec, Opened, RunFolder, Sample, to_rgb8};
use crate::images::{Preprocess, preprocess_batch};
use crate::metrics::ColorConsistencyAccumulator;
use crate::progress::Progress;
use crate::report::Stamp;

/// A model the stream runs on every branch's images.
pub(super) struct Streamed {
    model: PathBuf,
    outputs: Outputs,
    preprocess: Preprocess,
    /// What this model gives the Inception Score, when it makes the logits.
    pub(super) is: IsSetup,
}

impl Streamed {
    /// Runs a branch's images through this model's session on one device.
    fn run_on(
        &self,
        device: &mut OnDevice<'_>,
        images: &[RgbImage],
    ) -> anyhow::Result<Vec<Array2<f32>>> {
        let input = preprocess_batch(images, &self.preprocess);
        Ok(device.run(input.view(), &self.outputs.names())?)
    }

    /// Hands what [`Streamed::run_on`] returned to a branch's side.
    pub(super) fn feed(
        &self,
        arrays: &[Array2<f32>],
        side: &mut SideAccumulator,
    ) -> anyhow::Result<()> {
        feed(&self.outputs, arrays, side)
    }
}

/// What the streamed models made of one generated batch: `[branch][model]`,
/// each the model's requested outputs.
pub(super) type BatchOutputs = Vec<Vec<Vec<Array2<f32>>>>;

/// Generates the samples of `range` over every device (`--devices`) and
/// runs each kept branch's 8-bit images through the `streamed` models on
/// the same device; `sink` receives each batch's samples, the batch and the
/// models' outputs, in sample order, so that every accumulator adds what a
/// one-device run adds.
pub(super) fn generate_and_run(
    job: &mut Job,
    models: &mut [Extractor],
    streamed: &[&Streamed],
    range: Range<usize>,
    batch_size: usize,
    sink: impl FnMut(&[Sample], GeneratedBatch, BatchOutputs) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let value_range = job.generator.manifest().value_range;
    let (devices, uses) = sessions_per_device(models, streamed, job.generator.devices())?;
    job.spread(
        range,
        batch_size,
        &[],
        devices,
        |sessions, batch| {
            batch
                .images
                .iter()
                .map(|images| {
                    let rgb: Vec<RgbImage> = images
                        .axis_iter(Axis(0))
                        .into_par_iter()
                        .map(|image| to_rgb8(image, value_range))
                        .collect();
                    streamed
                        .iter()
                        .zip(&uses)
                        .map(|(model, &k)| model.run_on(&mut sessions[k], &rgb))
                        .collect()
                })
                .collect()
        },
        sink,
    )
}

/// The open models' sessions per device: `devices[d][k]` is the session of
/// the k-th distinct model of `streamed` on device d, and `uses[i]` the k
/// the i-th streamed model runs on (an extractor that is also the
/// classifier is one model).
#[allow(clippy::type_complexity)]
fn sessions_per_device<'a>(
    models: &'a mut [Extractor],
    streamed: &[&Streamed],
    count: usize,
) -> anyhow::Result<(Vec<Vec<OnDevice<'a>>>, Vec<usize>)> {
    let mut paths: Vec<&Path> = Vec::new();
    let mut uses = Vec::new();
    for model in streamed {
        match paths.iter().position(|p| *p == model.model) {
            Some(k) => uses.push(k),
            None => {
                uses.push(paths.len());
                paths.push(&model.model);
            }
        }
    }
    let mut per_model: Vec<Option<Vec<OnDevice<'a>>>> = paths.iter().map(|_| None).collect();
    for model in models.iter_mut() {
        if let Some(k) = paths.iter().position(|p| *p == model.path()) {
            per_model[k] = Some(model.on_devices());
        }
    }
    let mut sessions = Vec::new();
    for (opened, path) in per_model.into_iter().zip(&paths) {
        let opened = opened.with_context(|| format!("model {} is not open", path.display()))?;
        if opened.len() != count {
            bail!(
                "model {} runs on {} devices and the generator on {count}; open both with the same --devices",
                path.display(),
                opened.len()
            );
        }
        sessions.push(opened.into_iter());
    }
    let devices = (0..count)
        .map(|_| sessions.iter_mut().filter_map(Iterator::next).collect())
        .collect();
    Ok((devices, uses))
}

/// The samples to draw and where their PNGs go, if anywhere.
struct Generation<'a> {
    spec: &'a JobSpec,
    job: Job,
    out: Option<&'a Path>,
}

impl Scorer {
    /// Generates the samples of `spec` and scores every branch against
    /// `--real` (`eval`); `out` also receives the PNGs, as `generate` writes them.
    pub fn eval(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Input>,
        spec: &JobSpec,
        out: Option<&Path>,
        progress: &dyn Progress,
    ) -> anyhow::Result<EvalReport> {
        let real = self.classify_reference(options, real)?;
        let job = self.prepare(options, spec, progress)?;
        let mut base = ScoreReport::new(self.batch_size);
        // The reference side first: a bad --real fails before any generation.
        let real_side = match &real {
            Some((input, source)) => Some(self.side(options, source, input, progress, &mut base)?),
            None => None,
        };
        let generation = Generation { spec, job, out };
        self.stream(options, real_side.as_ref(), generation, base, progress)
    }

    /// Like [`Scorer::eval`] against a reference side computed once before
    /// (every generator variant of an ablation).
    pub fn eval_against(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Side>,
        spec: &JobSpec,
        out: Option<&Path>,
        progress: &dyn Progress,
    ) -> anyhow::Result<EvalReport> {
        let job = self.prepare(options, spec, progress)?;
        let base = ScoreReport::new(self.batch_size);
        let generation = Generation { spec, job, out };
        self.stream(options, real, generation, base, progress)
    }

    /// Like [`Scorer::eval`] against a reference side computed once before
    /// by [`Scorer::reference`], which recorded it in `base` (every
    /// checkpoint of a training curve): the reports are `eval`'s.
    pub fn eval_with_reference(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Side>,
        base: &ScoreReport,
        spec: &JobSpec,
        out: Option<&Path>,
        progress: &dyn Progress,
    ) -> anyhow::Result<EvalReport> {
        let job = self.prepare(options, spec, progress)?;
        let generation = Generation { spec, job, out };
        self.stream(options, real, generation, base.clone(), progress)
    }

    /// Checks the settings, then opens the generator and draws up its samples.
    pub(super) fn prepare(
        &mut self,
        options: &ScoringOptions,
        spec: &JobSpec,
        progress: &dyn Progress,
    ) -> anyhow::Result<Job> {
        options.check()?;
        let job = Job::prepare(self.runtime()?, spec)?;
        progress.note(&format!("eval: {}", job.plan.description));
        Ok(job)
    }

    fn stream(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Side>,
        generation: Generation,
        mut base: ScoreReport,
        progress: &dyn Progress,
    ) -> anyhow::Result<EvalReport> {
        let Generation { spec, mut job, out } = generation;
        let requirements = options.requirements();
        let (extractor, classifier) = self.eval_models(options, progress, &mut base)?;
        base.provider = Some(job.generator.provider().to_string());
        let mut folder = match out {
            None => None,
            Some(out) => {
                let identity = job.identity(spec, false, crate::shard::Shard::WHOLE);
                let value_range = job.generator.manifest().value_range;
                match RunFolder::open(out, identity, &job.branches, value_range, Vec::new(), false)?
                {
                    Opened::Run { folder, .. } => Some(folder),
                    Opened::Complete => bail!(
                        "--out {} already holds a finished run; choose an empty folder",
                        out.display()
                    ),
                }
            }
        };
        let branches = job.branches.clone();
        let mut sides: Vec<SideAccumulator> = branches
            .iter()
            .map(|_| SideAccumulator::new(requirements.fake))
            .collect();
        let mut colors: Vec<ColorConsistencyAccumulator> = (1..branches.len())
            .map(|_| ColorConsistencyAccumulator::new())
            .collect();
        let stage = progress.stage("eval", job.plan.len());
        let streamed: Vec<&Streamed> = [&extractor, &classifier].into_iter().flatten().collect();
        let range = 0..job.plan.len();
        generate_and_run(
            &mut job,
            &mut self.models,
            &streamed,
            range,
            self.batch_size,
            |samples, batch, outputs| {
                if let Some(folder) = folder.as_mut() {
                    folder.write_batch(samples, &batch)?;
                }
                let sides = sides.iter_mut().zip(&branches).zip(outputs);
                for ((side, branch), outputs) in sides {
                    for (model, arrays) in streamed.iter().zip(outputs) {
                        model.feed(&arrays, side)?;
                    }
                    side.count(samples.len());
                    // The PNGs `--out` received, named as the run folder names them.
                    side.add_files(samples.iter().map(|s| {
                        let (folder, out) = folder.as_ref().zip(out)?;
                        Some(out.join(folder.image_name(branch, s.id)))
                    }));
                }
                for (i, color) in colors.iter_mut().enumerate() {
                    color.add(batch.images[i].view(), batch.images[i + 1].view())?;
                }
                stage.advance(samples.len());
                Ok(())
            },
        )?;
        drop(stage);
        for model in self
            .models
            .iter()
            .filter(|m| streamed.iter().any(|s| s.model == m.path()))
        {
            record_drift(&mut base, model);
        }
        if let Some(folder) = folder {
            folder.finish(&job.plan.samples, job.seed)?;
        }
        let logits_model = classifier
            .as_ref()
            .or(extractor.as_ref())
            .map(|m| m.is.clone())
            .unwrap_or_default();
        let mut reports = Vec::new();
        for (branch, side) in branches.iter().zip(sides) {
            let label = format!("the {}×{} branch", branch.resolution, branch.resolution);
            let side = side.finish(label, logits_model.clone())?;
            reports.push(BranchReport {
                resolution: branch.resolution,
                output: branch.output.clone(),
                scores: self.finish(options, real, &side, base.clone(), progress)?,
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
        Ok(EvalReport {
            generator: GeneratorProvenance {
                path: job.generator.path().display().to_string(),
                name: manifest.name.clone(),
                sha256: job.generator.sha256().to_string(),
                family: manifest.generator.family.clone(),
                config: manifest.generator.config.clone(),
            },
            inputs_sha256: job.inputs_sha256.clone(),
            seed: job.seed,
            sampling_protocol: spec.sampling.to_string(),
            sampling: job.plan.description.clone(),
            samples: job.plan.len(),
            branches: reports,
            color_consistency,
            stamp: Stamp::current(),
        })
    }

    /// The extractor and classifier an eval streams its samples through,
    /// each opened only when the metrics need it, recorded in `base`.
    pub(super) fn eval_models(
        &mut self,
        options: &ScoringOptions,
        progress: &dyn Progress,
        base: &mut ScoreReport,
    ) -> anyhow::Result<(Option<Streamed>, Option<Streamed>)> {
        let requirements = options.requirements();
        let extractor_path = match requirements.fake.any() {
            true => Some(self.extractor(options.extractor.as_deref(), progress)?),
            false => None,
        };
        let extractor = self.streamed(
            extractor_path.as_deref(),
            Role::Extractor,
            requirements.fake,
            &options.is,
            base,
        )?;
        let classifier = self.streamed(
            options.classifier.as_deref(),
            Role::Classifier,
            Needs {
                logits: requirements.classifier,
                ..Needs::default()
            },
            &options.is,
            base,
        )?;
        Ok((extractor, classifier))
    }

    /// Opens the model a stream runs for `needs`, recorded in `report`.
    pub(super) fn streamed(
        &mut self,
        path: Option<&Path>,
        role: Role,
        needs: Needs,
        is: &IsOptions,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Option<Streamed>> {
        let Some(path) = path.filter(|_| needs.any()) else {
            return Ok(None);
        };
        let images = self.images().clone();
        let model = self.model(path)?;
        let setup = setup(model, &images)?;
        let outputs = outputs(model, &setup, needs, is)?;
        record(report, role, model, &setup);
        Ok(Some(Streamed {
            model: path.to_path_buf(),
            outputs,
            preprocess: setup.preprocess,
            is: setup.is,
        }))
    }
}
