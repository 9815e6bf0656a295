//! `eval`: generate and score in one streaming pass. Each batch of samples
//! goes through the generator, is quantised to 8-bit exactly as `generate`
//! writes its PNGs, and goes on through the extractor (and the IS
//! classifier) into one side accumulator per branch — the same accumulators
//! a folder pass fills; nothing but statistics, features and logits is kept.
//! Colour consistency is measured between adjacent kept branches on the
//! float images.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use image::RgbImage;
use ndarray::Axis;
use rayon::prelude::*;

use super::metric::Needs;
use super::model::{Outputs, outputs, setup};
use super::options::{IsOptions, ScoringOptions};
use super::report::{BranchReport, ColorPair, EvalReport, GeneratorProvenance, ScoreReport};
use super::scorer::{Role, Scorer, feed, record};
use super::side::{Side, SideAccumulator};
use super::source::Input;
use crate::features::{Extractor, IsSetup};
use crate::generate::{Job, JobSpec, Opened, RunFolder, to_rgb8};
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
    pub(super) fn run(
        &self,
        models: &mut [Extractor],
        images: &[RgbImage],
        side: &mut SideAccumulator,
    ) -> anyhow::Result<()> {
        let model = models
            .iter_mut()
            .find(|m| m.path() == self.model)
            .with_context(|| format!("model {} is not open", self.model.display()))?;
        let input = preprocess_batch(images, &self.preprocess);
        let arrays = model.run(input.view(), &self.outputs.names())?;
        feed(&self.outputs, &arrays, side)
    }
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
        let value_range = job.generator.manifest().value_range;
        let mut sides: Vec<SideAccumulator> = branches
            .iter()
            .map(|_| SideAccumulator::new(requirements.fake))
            .collect();
        let mut colors: Vec<ColorConsistencyAccumulator> = (1..branches.len())
            .map(|_| ColorConsistencyAccumulator::new())
            .collect();
        let stage = progress.stage("eval", job.plan.len());
        let batch_size = self.batch_size;
        let models = &mut self.models;
        job.run(0, batch_size, &[], |samples, batch| {
            if let Some(folder) = folder.as_mut() {
                folder.write_batch(samples, batch)?;
            }
            let sides = sides.iter_mut().zip(&branches);
            for (images, (side, branch)) in batch.images.iter().zip(sides) {
                let rgb: Vec<RgbImage> = images
                    .axis_iter(Axis(0))
                    .into_par_iter()
                    .map(|image| to_rgb8(image, value_range))
                    .collect();
                for model in [&extractor, &classifier].into_iter().flatten() {
                    model.run(models, &rgb, side)?;
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
            anyhow::Ok(())
        })?;
        drop(stage);
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
