//! `eval --shard I/N` and the merge of its shards.
//!
//! The items are the samples of the plan; noise is keyed by each sample
//! (seed, image, caption, draw), so shard `I` draws exactly the single run's
//! samples of its range. A shard keeps, per branch, the raw rows the
//! extractor and the classifier gave (`b0.pool`, `b0.logits`, …) and each
//! sample's colour-consistency distances (float64, in the header), and its
//! context keeps the report as far as the models made it. The reference
//! side is read from a statistics or feature file (its SHA-256 recorded;
//! the merge reads it again), never split. The merge feeds the rows shard by
//! shard to the accumulators the single run feeds batch by batch, and sums
//! the distances in the same order: the same report, bit for bit.

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use super::eval::{Streamed, generate_and_run};
use super::metric::Needs;
use super::options::ScoringOptions;
use super::partial::{IsPlan, SidePlan, read_file};
use super::report::{BranchReport, ColorPair, EvalReport, GeneratorProvenance, ScoreReport};
use super::scorer::Scorer;
use super::side::SideAccumulator;
use super::source::{Input, Source};
use crate::features::{FeatureFile, IsSetup};
use crate::generate::JobSpec;
use crate::metrics::ColorConsistencyAccumulator;
use crate::models::file_sha256;
use crate::progress::Progress;
use crate::report::Stamp;
use crate::shard::{MergeError, Partial, PartialHeader, PartialKind, Shard, ShardSet, plan_hash};

/// What every shard of an eval run shares beyond the data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalContext {
    pub options: ScoringOptions,
    pub real: Option<SidePlan>,
    /// Each branch's report before any metric: the models, protocol, provider.
    pub base: ScoreReport,
    /// How the IS reads the logits (the model that made them).
    pub logits: IsPlan,
    /// The report without scores: generator, inputs, seed, sampling, branches.
    pub report: EvalReport,
}

impl Scorer {
    /// Shard `shard` of `eval`: its partial result.
    pub fn eval_shard(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Input>,
        spec: &JobSpec,
        shard: Shard,
        progress: &dyn Progress,
    ) -> anyhow::Result<Partial> {
        let requirements = options.requirements();
        let real = match self.classify_reference(options, real)? {
            Some((input, Source::Folder { .. })) => bail!(
                "{}: eval --shard reads the reference from a file, not a folder; write it once with `stackgan-eval stats --images {}` (FID) or `extract` (KID, PRDC) and pass that file",
                input.label(),
                input.path.display()
            ),
            Some((input, source)) => Some(SidePlan {
                file_sha256: Some(file_sha256(source.path())?),
                input,
                needs: requirements.real.into(),
                is: None,
            }),
            None => None,
        };
        let mut job = self.prepare(options, spec, progress)?;
        let items = job.plan.len();
        let keys: Vec<Vec<u8>> = job
            .plan
            .samples
            .iter()
            .map(|s| format!("{},{},{},{}", s.id, s.image, s.caption, s.draw).into_bytes())
            .collect();
        let mut header = PartialHeader::new(
            PartialKind::Eval,
            shard,
            items,
            plan_hash(keys.iter().map(Vec::as_slice)),
        );
        let mut base = ScoreReport::new(self.batch_size);
        let (extractor, classifier) = self.eval_models(options, progress, &mut base)?;
        base.provider = Some(job.generator.provider().to_string());
        let raw = Needs {
            stats: false,
            pool: requirements.fake.pool_output(),
            logits: true,
        };
        let branches = job.branches.clone();
        let mut sides: Vec<SideAccumulator> =
            branches.iter().map(|_| SideAccumulator::new(raw)).collect();
        let mut colors: Vec<Vec<(f64, f64)>> = vec![Vec::new(); branches.len().saturating_sub(1)];
        let range = shard.range(items);
        let stage = progress.stage("eval", range.len());
        let streamed: Vec<&Streamed> = [&extractor, &classifier].into_iter().flatten().collect();
        generate_and_run(
            &mut job,
            &mut self.models,
            &streamed,
            range,
            self.batch_size,
            |samples, batch, outputs| {
                for (side, outputs) in sides.iter_mut().zip(outputs) {
                    for (model, arrays) in streamed.iter().zip(outputs) {
                        model.feed(&arrays, side)?;
                    }
                }
                for (i, color) in colors.iter_mut().enumerate() {
                    color.extend(ColorConsistencyAccumulator::distances(
                        batch.images[i].view(),
                        batch.images[i + 1].view(),
                    )?);
                }
                stage.advance(samples.len());
                Ok(())
            },
        )?;
        drop(stage);
        let mut data = FeatureFile::default();
        for (i, side) in sides.into_iter().enumerate() {
            let side = side.finish(String::new(), IsSetup::default())?;
            if let Some(pool) = side.pool {
                data.arrays.push((format!("b{i}.pool"), pool.into_owned()));
            }
            if let Some(logits) = side.logits {
                data.arrays
                    .push((format!("b{i}.logits"), logits.values.into_owned()));
            }
        }
        for (i, pairs) in colors.into_iter().enumerate() {
            let (means, covariances) = pairs.into_iter().unzip();
            header.values.insert(format!("color{i}.mean"), means);
            header
                .values
                .insert(format!("color{i}.covariance"), covariances);
        }
        base.onnxruntime = self.onnxruntime();
        let logits = classifier
            .as_ref()
            .or(extractor.as_ref())
            .map(|m| IsPlan::from(&m.is))
            .unwrap_or_else(|| IsPlan::from(&IsSetup::default()));
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
            sampling_protocol: spec.sampling.to_string(),
            sampling: job.plan.description.clone(),
            samples: items,
            branches: branches
                .iter()
                .map(|b| BranchReport {
                    resolution: b.resolution,
                    output: b.output.clone(),
                    scores: ScoreReport::default(),
                })
                .collect(),
            color_consistency: Vec::new(),
            stamp: Stamp::current(),
        };
        for (key, value) in [
            ("generator sha256", report.generator.sha256.clone()),
            ("seed", format!("{:?}", report.seed)),
            ("inputs sha256", format!("{:?}", report.inputs_sha256)),
            ("sampling", report.sampling_protocol.clone()),
        ] {
            header.provenance.insert(key.into(), value);
        }
        if let Some(plan) = &real {
            let sha256 = plan.file_sha256.clone().unwrap_or_default();
            header.provenance.insert("real file sha256".into(), sha256);
        }
        let context = EvalContext {
            options: options.clone(),
            real,
            base,
            logits,
            report,
        };
        header.context = serde_json::to_value(&context)?;
        Ok(Partial { header, data })
    }
}

/// The report of the whole run from its shards (`merge` of `eval` shards).
pub fn merge_eval(shards: &ShardSet) -> anyhow::Result<EvalReport> {
    let context: EvalContext = serde_json::from_value(shards.header().context.clone())
        .with_context(|| {
            format!(
                "{}: the shards' context cannot be read; run them again",
                shards.parts[0].0.display()
            )
        })?;
    let requirements = context.options.requirements();
    let mut report = context.report;
    let mut sides: Vec<SideAccumulator> = report
        .branches
        .iter()
        .map(|_| SideAccumulator::new(requirements.fake))
        .collect();
    let mut colors: Vec<ColorConsistencyAccumulator> = (1..sides.len())
        .map(|_| ColorConsistencyAccumulator::new())
        .collect();
    shards.each(|path, partial| {
        let fail = |reason: String| MergeError::Data {
            path: path.display().to_string(),
            reason,
        };
        let samples = partial.header.end - partial.header.start;
        for (i, side) in sides.iter_mut().enumerate() {
            side.count(samples);
            if let Some(pool) = partial.data.array(&format!("b{i}.pool")) {
                side.add_pool(pool).map_err(|e| fail(format!("{e:#}")))?;
            }
            if let Some(logits) = partial.data.array(&format!("b{i}.logits")) {
                side.add_logits(logits)
                    .map_err(|e| fail(format!("{e:#}")))?;
            }
        }
        for (i, color) in colors.iter_mut().enumerate() {
            let values = |what: &str| {
                partial
                    .header
                    .values
                    .get(&format!("color{i}.{what}"))
                    .ok_or_else(|| fail(format!("it has no colour distances `color{i}.{what}`")))
            };
            let (means, covariances) = (values("mean")?, values("covariance")?);
            if means.len() != samples || covariances.len() != samples {
                return Err(fail(format!(
                    "it holds {} colour distances for {samples} samples",
                    means.len()
                )));
            }
            let pairs: Vec<(f64, f64)> = means
                .iter()
                .copied()
                .zip(covariances.iter().copied())
                .collect();
            color.add_distances(&pairs);
        }
        Ok(())
    })?;
    let real = context
        .real
        .as_ref()
        .map(|plan| read_file(plan, &context.options))
        .transpose()?;
    let logits = IsSetup::from(&context.logits);
    for (branch, side) in report.branches.iter_mut().zip(sides) {
        let label = format!("the {}×{} branch", branch.resolution, branch.resolution);
        let side = side.finish(label, logits.clone())?;
        let mut scores = context.base.clone();
        super::measure::measure(
            &context.options,
            real.as_ref(),
            &side,
            &mut scores,
            &crate::progress::Silent,
        )?;
        branch.scores = scores;
    }
    report.color_consistency = colors
        .iter()
        .enumerate()
        .filter_map(|(i, acc)| {
            acc.finish().map(|result| ColorPair {
                from: report.branches[i].resolution,
                to: report.branches[i + 1].resolution,
                result,
            })
        })
        .collect();
    Ok(report)
}
