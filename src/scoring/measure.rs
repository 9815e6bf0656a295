//! From what the two sides yielded to the numbers of a report.

use anyhow::{Context, bail};

use super::bootstrap::bootstrap;
use super::metric::Metric;
use super::options::ScoringOptions;
use super::report::ScoreReport;
use super::side::Side;
use crate::metrics::{
    DuplicateThreshold, SampleNeighbours, TriageConfig, TriageInput, calibrate_duplicate_threshold,
    fid_infinity, frechet_distance, inception_score, is_infinity, kernel_inception_distance,
    max_probabilities, near_duplicate_rate, prdc_per_sample, triage,
};
use crate::progress::Progress;

/// Computes the metrics `options` asks for into `report`, with their
/// bootstrap intervals when asked (the replicates on `progress`). `real` is
/// `None` only when no metric compares two sets.
pub fn measure(
    options: &ScoringOptions,
    real: Option<&Side>,
    fake: &Side,
    report: &mut ScoreReport,
    progress: &dyn Progress,
) -> anyhow::Result<()> {
    let compares = options.requirements().real.any();
    let real = match (compares, real) {
        (false, _) => None,
        (true, Some(real)) => Some(real),
        (true, None) => bail!(
            "FID, FID∞, KID and PRDC compare two sets: pass --real (a folder, statistics .npz or feature file)"
        ),
    };
    let mut neighbours = None;
    if let Some(real) = real {
        report.n_real = real.count;
        report.n_fake = fake.count;
        if options.wants(Metric::Fid) {
            fid(real, fake, report)?;
        }
        if options.wants(Metric::Kid) {
            kid(options, real, fake, report)?;
        }
        if options.wants(Metric::Prdc) {
            neighbours = Some(collapse(options, real, fake, report)?);
        }
        if options.wants(Metric::FidInf) {
            fid_inf(options, real, fake, report)?;
        }
    }
    if options.wants(Metric::Is) {
        is(options, fake, report)?;
        if let Some((neighbours, threshold)) = &neighbours {
            report.triage = Some(failure_triage(options, neighbours, threshold, fake)?);
        }
    }
    if options.wants(Metric::IsInf) {
        is_inf(options, fake, report)?;
    }
    bootstrap(options, real, fake, report, progress)
}

/// The pool features of a side, which the requirements asked it for.
fn pool<'a>(side: &'a Side, metric: &str) -> anyhow::Result<&'a crate::features::Features> {
    side.pool
        .as_ref()
        .with_context(|| format!("{metric} needs the feature vectors of {}", side.label))
}

/// The FID statistics of a side, which the requirements asked it for.
fn statistics(side: &Side) -> anyhow::Result<&crate::metrics::FidStats> {
    side.stats
        .as_ref()
        .with_context(|| format!("FID needs the statistics of {}", side.label))
}

fn fid(real: &Side, fake: &Side, report: &mut ScoreReport) -> anyhow::Result<()> {
    let (a, b) = (statistics(real)?, statistics(fake)?);
    if a.dim() != b.dim() {
        bail!(
            "statistics have different dimensions: {} is {}-d, {} is {}-d; compute both with the same extractor",
            real.label,
            a.dim(),
            fake.label,
            b.dim()
        );
    }
    let distance = frechet_distance(a, b)?;
    report.fid = Some(distance.fid);
    report.fid_eps_added = distance.eps_added;
    report.warnings.extend(distance.warnings);
    Ok(())
}

fn kid(
    options: &ScoringOptions,
    real: &Side,
    fake: &Side,
    report: &mut ScoreReport,
) -> anyhow::Result<()> {
    let (a, b) = (pool(real, "KID")?, pool(fake, "KID")?);
    let result = kernel_inception_distance(a.view(), b.view(), &options.kid)?;
    report.kid_mean = Some(result.mean);
    report.kid_std = Some(result.std);
    report.kid_subsets = Some(result.subsets);
    report.kid_subset_size = Some(result.subset_size);
    report.kid_seed = Some(options.kid.seed);
    Ok(())
}

/// PR-DC and the near-duplicate rate; returns what the failure triage reads.
fn collapse(
    options: &ScoringOptions,
    real: &Side,
    fake: &Side,
    report: &mut ScoreReport,
) -> anyhow::Result<(SampleNeighbours, DuplicateThreshold)> {
    let (a, b) = (pool(real, "PRDC")?, pool(fake, "PRDC")?);
    let (result, neighbours) = prdc_per_sample(a.view(), b.view(), &options.prdc.config())?;
    let threshold = calibrate_duplicate_threshold(a.view(), options.prdc.duplicate_quantile)?;
    report.precision = Some(result.precision);
    report.recall = Some(result.recall);
    report.density = Some(result.density);
    report.coverage = Some(result.coverage);
    report.prdc_k = Some(result.k);
    report.near_duplicate_rate = Some(near_duplicate_rate(b.view(), &threshold)?);
    report.duplicate_distance = Some(threshold.distance);
    report.duplicate_quantile = Some(threshold.quantile);
    Ok((neighbours, threshold))
}

/// The evaluated samples sorted into the paper's failure kinds, with the IS
/// logits' confidence under the IS protocol's dropped columns.
fn failure_triage(
    options: &ScoringOptions,
    neighbours: &SampleNeighbours,
    threshold: &DuplicateThreshold,
    fake: &Side,
) -> anyhow::Result<crate::metrics::Triage> {
    let logits = logits(fake, "the failure triage")?;
    let drop_columns = options.is.config(&logits.model).drop_columns;
    let confidence = max_probabilities(logits.values.view(), &drop_columns)?;
    let input = TriageInput {
        neighbours,
        threshold,
        k: options.prdc.k,
        confidence: Some(&confidence),
        files: &fake.files,
    };
    Ok(triage(&input, &TriageConfig::default())?)
}

fn fid_inf(
    options: &ScoringOptions,
    real: &Side,
    fake: &Side,
    report: &mut ScoreReport,
) -> anyhow::Result<()> {
    let (stats, rows) = (statistics(real)?, pool(fake, "FID∞")?);
    let (fit, warnings) = fid_infinity(stats, rows.view(), &options.infinity)
        .with_context(|| format!("FID∞ of {}", fake.label))?;
    report.fid_inf = Some(fit.value);
    report.fid_inf_residual = Some(fit.residual_rms);
    report.fid_inf_stderr = Some(fit.stderr);
    report.fid_inf_counts = Some(fit.counts);
    report.fid_inf_values = Some(fit.values);
    report.inf_seed = Some(options.infinity.seed);
    report.warnings.extend(warnings);
    Ok(())
}

fn is_inf(options: &ScoringOptions, fake: &Side, report: &mut ScoreReport) -> anyhow::Result<()> {
    let logits = logits(fake, "IS∞")?;
    let columns = options.is.config(&logits.model).drop_columns;
    let fit = is_infinity(logits.values.view(), &columns, &options.infinity)
        .with_context(|| format!("IS∞ of {}", fake.label))?;
    report.is_inf = Some(fit.value);
    report.is_inf_residual = Some(fit.residual_rms);
    report.is_inf_stderr = Some(fit.stderr);
    report.is_inf_counts = Some(fit.counts);
    report.is_inf_values = Some(fit.values);
    report.inf_seed = Some(options.infinity.seed);
    Ok(())
}

/// The IS logits of the evaluated side, which the requirements asked it for.
fn logits<'a>(fake: &'a Side, metric: &str) -> anyhow::Result<&'a super::side::IsLogits> {
    fake.logits
        .as_ref()
        .with_context(|| format!("{metric} needs logits of {}", fake.label))
}

fn is(options: &ScoringOptions, fake: &Side, report: &mut ScoreReport) -> anyhow::Result<()> {
    let logits = logits(fake, "IS")?;
    let config = options.is.config(&logits.model);
    let score = inception_score(logits.values.view(), &config)?;
    report.is_mean = Some(score.mean);
    report.is_std = Some(score.std);
    report.is_splits = Some(options.is.splits);
    report.n_images = Some(score.n);
    report.is_shuffle_seed = config.shuffle_seed;
    report.is_protocol = Some(options.is.protocol(&logits.model).to_string());
    Ok(())
}
