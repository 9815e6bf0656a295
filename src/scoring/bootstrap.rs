//! Bootstrap confidence intervals (`--bootstrap B`, an ablation's
//! `[bootstrap]`): which metrics get one, from which side, and the replicates
//! computed in parallel.
//!
//! Each replicate resamples the rows of both sides with replacement (the
//! evaluated side alone for IS) and computes the metric again with the same
//! settings: FID from the resampled mean and covariance, KID on the
//! resampled sets with the usual seeded subsets, IS on the resampled logits
//! with the same split rule, PR-DC over the distinct resampled rows weighted
//! by multiplicity. The interval is the percentile interval of the replicate
//! values moved by the bootstrap's bias estimate, so that it is centred on
//! the value measured ([`recentred_interval`]): a resample's repeated rows
//! shift every metric (FID and KID grow; PR-DC's balls over the distinct
//! rows widen), and the shift is not the sampling noise the interval is
//! for. Shares are then clipped to [0, 1], density to ≥ 0, IS to ≥ 1. It covers the sampling of images (which real and generated
//! samples happened to be scored), not the network's weights nor training.
//!
//! The indices are drawn up front from one numpy `RandomState(seed)`
//! ([`crate::metrics::bootstrap`]); replicates are computed in parallel, one
//! per thread with single-threaded BLAS, and collected in order, so the
//! result is the same bits whatever the thread counts.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use ndarray::ArrayView2;
use rayon::prelude::*;

use super::metric::Metric;
use super::options::ScoringOptions;
use super::report::{BootstrapSummary, ScoreReport};
use super::side::Side;
use super::source::Source;
use crate::linalg::SingleThreadedBlas;
use crate::metrics::{
    Resample, draw_resamples, frechet_distance, inception_score, kernel_inception_distance,
    prdc_weighted, recentred_interval, resampled_stats,
};
use crate::progress::Progress;

/// A metric that gets an interval: its key in reports (`fid`, `is_mean`),
/// its value and its interval there.
pub struct Bootstrapped {
    pub key: &'static str,
    pub value: fn(&ScoreReport) -> Option<f64>,
    pub interval: fn(&ScoreReport) -> Option<[f64; 2]>,
    slot: fn(&mut ScoreReport) -> &mut Option<[f64; 2]>,
    /// The values the metric can take; an interval is clipped to them.
    range: [f64; 2],
}

impl Bootstrapped {
    /// The metric's interval from its `replicates` around `value` at `level`:
    /// re-centred on the value ([`recentred_interval`]), within the metric's range.
    pub fn interval_of(&self, replicates: &[f64], value: f64, level: f64) -> Option<[f64; 2]> {
        let [low, high] = recentred_interval(replicates, value, level)?;
        let [min, max] = self.range;
        Some([low.clamp(min, max), high.clamp(min, max)])
    }
}

/// The table entry of a metric whose value is the report field `$value`,
/// whose interval is the field `$ci` and whose values lie in `[$min, $max]`.
macro_rules! bootstrapped {
    ($key:literal, $value:ident, $ci:ident, $min:expr, $max:expr) => {
        Bootstrapped {
            key: $key,
            value: |r| r.$value,
            interval: |r| r.$ci,
            slot: |r| &mut r.$ci,
            range: [$min, $max],
        }
    };
}

/// Every metric that gets an interval, in report order.
pub const BOOTSTRAPPED: [Bootstrapped; 7] = [
    bootstrapped!("fid", fid, fid_ci, f64::NEG_INFINITY, f64::INFINITY),
    bootstrapped!("is_mean", is_mean, is_mean_ci, 1.0, f64::INFINITY),
    bootstrapped!(
        "kid_mean",
        kid_mean,
        kid_mean_ci,
        f64::NEG_INFINITY,
        f64::INFINITY
    ),
    bootstrapped!("precision", precision, precision_ci, 0.0, 1.0),
    bootstrapped!("recall", recall, recall_ci, 0.0, 1.0),
    bootstrapped!("density", density, density_ci, 0.0, f64::INFINITY),
    bootstrapped!("coverage", coverage, coverage_ci, 0.0, 1.0),
];

/// Refuses a statistics file where the bootstrap needs feature vectors
/// (FID of a side given as `mu`, `sigma` cannot be resampled).
pub(super) fn check_source(
    options: &ScoringOptions,
    flag: &str,
    source: &Source,
) -> anyhow::Result<()> {
    if options.bootstrap.is_some()
        && options.wants(Metric::Fid)
        && let Source::Stats(path) = source
    {
        bail!(
            "--bootstrap resamples feature vectors, but {flag} {} holds only FID statistics (mu, sigma); pass the image folder or a feature file from `stackgan-eval extract`, or drop --bootstrap",
            path.display()
        );
    }
    Ok(())
}

/// What each replicate computes, and from what.
struct Plan<'a> {
    options: &'a ScoringOptions,
    real: Option<ArrayView2<'a, f32>>,
    fake: Option<ArrayView2<'a, f32>>,
    logits: Option<(ArrayView2<'a, f32>, crate::metrics::IsConfig)>,
    keys: Vec<&'static str>,
}

/// Bootstrap intervals of the metrics `options` asks for, into `report`
/// (its `*_ci` fields and `bootstrap`), from the sides the point estimates
/// came from.
pub(super) fn bootstrap(
    options: &ScoringOptions,
    real: Option<&Side>,
    fake: &Side,
    report: &mut ScoreReport,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    let Some(settings) = options.bootstrap else {
        return Ok(());
    };
    settings
        .check()
        .map_err(|e| anyhow::anyhow!("bootstrap settings: {e}"))?;
    let plan = Plan::new(options, real, fake)?;
    let mut sizes = Vec::new();
    if let Some(real) = plan.real {
        sizes.push(real.nrows());
    }
    let n_fake = match (plan.fake, &plan.logits) {
        (Some(pool), Some((logits, _))) if pool.nrows() != logits.nrows() => bail!(
            "{}: {} feature vectors but {} logits; the bootstrap resamples images, so both must come from the same images",
            fake.label,
            pool.nrows(),
            logits.nrows()
        ),
        (Some(pool), _) => pool.nrows(),
        (None, Some((logits, _))) => logits.nrows(),
        (None, None) => return Ok(()),
    };
    sizes.push(n_fake);
    let resamples = draw_resamples(settings.seed, &sizes, settings.replicates);
    let stage = progress.stage_of("bootstrap", settings.replicates, "replicates");
    // One replicate per rayon thread, each with single-threaded BLAS: the
    // sums' order, and so every bit, is the same whatever
    // OPENBLAS_NUM_THREADS and RAYON_NUM_THREADS are.
    let _single = SingleThreadedBlas::new();
    let mut rows: Vec<Vec<f64>> = Vec::with_capacity(settings.replicates);
    // Chunks of one replicate per thread: the bar advances from this
    // thread, and the replicates stay in order.
    for (chunk_index, chunk) in resamples
        .chunks(rayon::current_num_threads().max(1))
        .enumerate()
    {
        let first = chunk_index * rayon::current_num_threads().max(1);
        let values: Vec<Vec<f64>> = chunk
            .par_iter()
            .enumerate()
            .map(|(i, sides)| {
                plan.replicate(sides)
                    .with_context(|| format!("bootstrap replicate {}", first + i + 1))
            })
            .collect::<anyhow::Result<_>>()?;
        stage.advance(chunk.len());
        rows.extend(values);
    }
    drop(stage);
    let mut summary = BootstrapSummary {
        replicates: settings.replicates,
        seed: settings.seed,
        level: settings.level,
        values: BTreeMap::new(),
        bias: BTreeMap::new(),
    };
    for (column, key) in plan.keys.iter().enumerate() {
        let all: Vec<f64> = rows.iter().map(|row| row[column]).collect();
        let finite: Vec<f64> = all.iter().copied().filter(|v| v.is_finite()).collect();
        if finite.len() < all.len() {
            report.warnings.push(format!(
                "bootstrap: {} of {} replicates of {key} were not finite and were left out of its interval",
                all.len() - finite.len(),
                all.len()
            ));
        }
        if let Some(metric) = BOOTSTRAPPED.iter().find(|m| m.key == *key) {
            if let (Some(value), false) = ((metric.value)(report), finite.is_empty()) {
                let mean = finite.iter().sum::<f64>() / finite.len() as f64;
                summary.bias.insert(key.to_string(), mean - value);
            }
            let interval = (metric.value)(report)
                .and_then(|value| metric.interval_of(&finite, value, settings.level));
            if let (Some([low, high]), Some(value)) = (interval, (metric.value)(report))
                && !(low..=high).contains(&value)
            {
                report.warnings.push(format!(
                    "bootstrap: {key} = {value} lies outside its interval [{low}, {high}]: the resamples' values are skewed away from it; read the interval's width, and compare runs with `compare --paired`"
                ));
            }
            *(metric.slot)(report) = interval;
        }
        summary.values.insert(key.to_string(), finite);
    }
    report.bootstrap = Some(summary);
    Ok(())
}

impl<'a> Plan<'a> {
    fn new(
        options: &'a ScoringOptions,
        real: Option<&'a Side>,
        fake: &'a Side,
    ) -> anyhow::Result<Plan<'a>> {
        let two_sets = [Metric::Fid, Metric::Kid, Metric::Prdc]
            .into_iter()
            .any(|m| options.wants(m))
            && real.is_some();
        let pool = |side: &'a Side| {
            side.pool.as_ref().map(|p| p.view()).with_context(|| {
                format!(
                    "the bootstrap resamples feature vectors, and {} has none; pass an image folder or a feature file from `stackgan-eval extract`",
                    side.label
                )
            })
        };
        let (real_rows, fake_rows) = match (two_sets, real) {
            (true, Some(real)) => (Some(pool(real)?), Some(pool(fake)?)),
            _ => (None, None),
        };
        let logits = match (options.wants(Metric::Is), &fake.logits) {
            (true, Some(logits)) => Some((logits.values.view(), options.is.config(&logits.model))),
            (true, None) => bail!("IS needs logits of {}", fake.label),
            (false, _) => None,
        };
        let mut keys = Vec::new();
        if two_sets && options.wants(Metric::Fid) {
            keys.push("fid");
        }
        if logits.is_some() {
            keys.push("is_mean");
        }
        if two_sets && options.wants(Metric::Kid) {
            keys.push("kid_mean");
        }
        if two_sets && options.wants(Metric::Prdc) {
            keys.extend(["precision", "recall", "density", "coverage"]);
        }
        Ok(Plan {
            options,
            real: real_rows,
            fake: fake_rows,
            logits,
            keys,
        })
    }

    /// One replicate's values, in the order of `keys`. `sides` holds the
    /// reference side's resample first when there is one.
    fn replicate(&self, sides: &[Resample]) -> anyhow::Result<Vec<f64>> {
        let fake_resample = sides
            .last()
            .context("a replicate resamples the evaluated side")?;
        let two = match (self.real, self.fake, sides) {
            (Some(real), Some(fake), [real_resample, _]) => Some((real, real_resample, fake)),
            _ => None,
        };
        let mut values = Vec::with_capacity(self.keys.len());
        for key in &self.keys {
            match (*key, two) {
                ("fid", Some((real, r, fake))) => {
                    let distance = frechet_distance(
                        &resampled_stats(real, r)?,
                        &resampled_stats(fake, fake_resample)?,
                    )?;
                    values.push(distance.fid);
                }
                ("is_mean", _) => {
                    let (logits, config) = self.logits.as_ref().context("IS needs logits")?;
                    let rows = fake_resample.rows(*logits);
                    values.push(inception_score(rows.view(), config)?.mean);
                }
                ("kid_mean", Some((real, r, fake))) => {
                    let (real, fake) = (r.rows(real), fake_resample.rows(fake));
                    let kid =
                        kernel_inception_distance(real.view(), fake.view(), &self.options.kid)?;
                    values.push(kid.mean);
                }
                ("precision", Some((real, r, fake))) => {
                    let (real_rows, fake_rows) =
                        (r.distinct_rows(real), fake_resample.distinct_rows(fake));
                    let result = prdc_weighted(
                        real_rows.view(),
                        Some(&r.weights),
                        fake_rows.view(),
                        Some(&fake_resample.weights),
                        &self.options.prdc.config(),
                    )?;
                    values.extend([
                        result.precision,
                        result.recall,
                        result.density,
                        result.coverage,
                    ]);
                }
                ("recall" | "density" | "coverage", _) => {}
                (key, _) => bail!("the bootstrap of {key} needs the reference side"),
            }
        }
        Ok(values)
    }
}
