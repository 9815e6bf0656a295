//! A generation job: the model, where its inputs come from and which samples
//! to draw, validated before the model runs; then batches in sample order.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::GenerateError;
use super::embeddings::Embeddings;
use super::generator::{Branch, BranchSelection, GeneratedBatch, Generator};
use super::noise::{InputFeed, NoiseFile, NoiseSource};
use super::output::RunIdentity;
use super::plan::{PlanRequest, Sample, SamplePlan, Sampling};
use crate::models::{GeneratorManifest, file_sha256};
use crate::runtime::{Runtime, fanout};
use crate::shard::Shard;

/// What to generate, as the user gave it.
#[derive(Debug, Clone, Default)]
pub struct JobSpec {
    pub model: PathBuf,
    /// `[images, captions, dim]` or `[N, dim]` text embeddings (conditional models).
    pub embeddings: Option<PathBuf>,
    /// Exact inputs, one row per sample, instead of seeded noise.
    pub noise: Option<PathBuf>,
    pub seed: u32,
    pub sampling: Sampling,
    pub plan: PlanRequest,
    pub branches: BranchSelection,
}

/// A validated job, its model opened.
pub struct Job {
    pub generator: Generator,
    pub plan: SamplePlan,
    pub branches: Vec<Branch>,
    /// SHA-256 of the embeddings or noise file (for `--resume` and reports).
    pub inputs_sha256: Option<String>,
    /// The seed, when the noise is seeded.
    pub seed: Option<u32>,
    feed: InputFeed,
}

impl Job {
    /// Checks the flags and files against the model's manifest, then opens the model.
    pub fn prepare(runtime: &Runtime, spec: &JobSpec) -> Result<Job, GenerateError> {
        let Checked {
            plan,
            noise,
            embeddings,
            inputs_sha256,
        } = check(spec)?;
        let seed = matches!(noise, NoiseSource::Seeded { .. }).then_some(spec.seed);
        let generator = Generator::open(runtime, &spec.model)?;
        let branches = generator.branches(&spec.branches)?;
        let feed = InputFeed::new(generator.manifest(), embeddings, noise);
        Ok(Job {
            generator,
            plan,
            branches,
            inputs_sha256,
            seed,
            feed,
        })
    }

    /// What makes this run this run, for `--resume`'s check.
    pub fn identity(&self, spec: &JobSpec, save_raw: bool, shard: Shard) -> RunIdentity {
        RunIdentity {
            model_sha256: self.generator.sha256().to_string(),
            inputs_sha256: self.inputs_sha256.clone(),
            seed: self.seed,
            sampling: spec.sampling.to_string(),
            plan: spec.plan.clone(),
            branches: self.branches.iter().map(|b| b.resolution).collect(),
            save_raw,
            samples: self.plan.len(),
            shard,
        }
    }

    /// Generates the samples from `start` on in batches of `batch_size`,
    /// handing each batch to `sink` in sample order. `extras` names the
    /// non-image outputs to fetch too.
    pub fn run<E: From<GenerateError> + Send>(
        &mut self,
        start: usize,
        batch_size: usize,
        extras: &[String],
        sink: impl FnMut(&[Sample], &GeneratedBatch) -> Result<(), E>,
    ) -> Result<(), E> {
        self.run_range(start..self.plan.len(), batch_size, extras, sink)
    }

    /// Like [`Job::run`] for the samples of `range` alone (a shard's).
    pub fn run_range<E: From<GenerateError> + Send>(
        &mut self,
        range: Range<usize>,
        batch_size: usize,
        extras: &[String],
        mut sink: impl FnMut(&[Sample], &GeneratedBatch) -> Result<(), E>,
    ) -> Result<(), E> {
        let devices = vec![(); self.generator.devices()];
        self.spread(
            range,
            batch_size,
            extras,
            devices,
            |_, _| Ok(()),
            |samples, batch, ()| sink(samples, &batch),
        )
    }

    /// Generates the samples of `range` in batches of `batch_size`, each
    /// batch on whichever device of `--devices` is free; `work` goes on with
    /// it on that device, with that device's entry of `devices` (one per
    /// device: the image models' sessions there, say), and `sink` receives
    /// each batch's samples, the batch and what `work` made, in sample
    /// order. Each sample's inputs depend on the sample alone, so where a
    /// batch runs changes nothing.
    pub fn spread<D, R, E>(
        &mut self,
        range: Range<usize>,
        batch_size: usize,
        extras: &[String],
        devices: Vec<D>,
        work: impl Fn(&mut D, &GeneratedBatch) -> Result<R, E> + Sync,
        mut sink: impl FnMut(&[Sample], GeneratedBatch, R) -> Result<(), E>,
    ) -> Result<(), E>
    where
        D: Send,
        R: Send,
        E: From<GenerateError> + Send,
    {
        let batch_size = batch_size.max(1);
        let end = range.end.min(self.plan.len());
        let samples = &self.plan.samples[range.start.min(end)..end];
        let (feed, branches) = (&self.feed, &self.branches);
        let mut workers: Vec<_> = self
            .generator
            .on_devices()
            .into_iter()
            .zip(devices)
            .collect();
        let stream = samples
            .chunks(batch_size)
            .map(|chunk| Ok((chunk, feed.batch(chunk))));
        fanout::in_order(
            &mut workers,
            stream,
            |(generator, state), (chunk, inputs)| {
                let batch = generator.run(inputs, branches, extras)?;
                let made = work(state, &batch)?;
                Ok((chunk, batch, made))
            },
            |(chunk, batch, made)| sink(chunk, batch, made),
        )
    }
}

fn reject_with_noise(spec: &JobSpec) -> Result<(), GenerateError> {
    let conflict = |flag: &'static str| {
        GenerateError::Flag {
        flag,
        reason: "cannot be combined with --noise, which gives every input of every sample; drop one of the two".into(),
    }
    };
    if spec.embeddings.is_some() {
        return Err(conflict("--embeddings"));
    }
    if spec.sampling != Sampling::Plain {
        return Err(conflict("--sampling"));
    }
    if spec.plan != PlanRequest::default() {
        return Err(conflict(
            "--images/--captions/--samples-per-caption/--samples",
        ));
    }
    Ok(())
}

fn sha_of(path: &Path) -> Result<String, GenerateError> {
    Ok(file_sha256(path)?)
}

/// What checking a spec yields, before any model runs.
struct Checked {
    plan: SamplePlan,
    noise: NoiseSource,
    embeddings: Option<Embeddings>,
    inputs_sha256: Option<String>,
}

impl JobSpec {
    /// Checks the spec against the model's manifest and the embeddings or
    /// noise file without opening the model; returns the samples it would draw.
    pub fn check(&self) -> Result<SamplePlan, GenerateError> {
        check(self).map(|c| c.plan)
    }
}

fn check(spec: &JobSpec) -> Result<Checked, GenerateError> {
    let manifest = GeneratorManifest::read_beside(&spec.model)?;
    let (plan, noise, embeddings, inputs_sha256) = if let Some(noise_path) = &spec.noise {
        reject_with_noise(spec)?;
        let file = NoiseFile::read(noise_path, &manifest)?;
        let plan = SamplePlan::rows(file.rows());
        (
            plan,
            NoiseSource::File(file),
            None,
            Some(sha_of(noise_path)?),
        )
    } else {
        match (manifest.text_input(), &spec.embeddings) {
            (Some(text), Some(path)) => {
                let embeddings = Embeddings::read(path, text.width())?;
                let plan = SamplePlan::conditional(
                    spec.sampling,
                    &spec.plan,
                    embeddings.images(),
                    embeddings.captions(),
                )?;
                let noise = NoiseSource::Seeded {
                    seed: spec.seed,
                    z_per_image: plan.z_per_image,
                };
                (plan, noise, Some(embeddings), Some(sha_of(path)?))
            }
            (Some(text), None) => {
                return Err(GenerateError::Flag {
                    flag: "--embeddings",
                    reason: format!(
                        "model {} is conditional (input `{}` [N, {}]): pass --embeddings E.npy ([images, captions, {}]), or --noise N.npz",
                        spec.model.display(),
                        text.name,
                        text.width(),
                        text.width()
                    ),
                });
            }
            (None, Some(_)) => {
                return Err(GenerateError::Flag {
                    flag: "--embeddings",
                    reason: format!(
                        "model {} is unconditional and takes no text embeddings; drop --embeddings",
                        spec.model.display()
                    ),
                });
            }
            (None, None) => {
                let plan = SamplePlan::unconditional(spec.sampling, &spec.plan)?;
                let noise = NoiseSource::Seeded {
                    seed: spec.seed,
                    z_per_image: false,
                };
                (plan, noise, None, None)
            }
        }
    };
    Ok(Checked {
        plan,
        noise,
        embeddings,
        inputs_sha256,
    })
}
