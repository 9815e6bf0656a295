//! `compare --paired`: whether two runs differ beyond the noise of sampling,
//! metric by metric, from their bootstrap replicates.
//!
//! When both runs drew their replicates alike — the same seed, replicate
//! count and sample counts, so replicate `b` of each resampled the same row
//! positions — the test is paired: the percentile interval of the
//! replicate differences `A_b − B_b` at the runs' level, centred on the
//! measured difference as the runs' own intervals are on their values;
//! "different" when it excludes 0. Pairing cancels what both runs share (the same reference
//! rows, the bias a resample adds to FID and KID) and gives a narrower
//! interval than the two intervals side by side. Otherwise the rule is the
//! intervals' overlap: "different" only when they do not overlap, with
//! `[A_low − B_high, A_high − B_low]` as the interval of the difference — a
//! conservative rule, said so in every verdict that uses it.

use std::fmt;

use anyhow::bail;
use serde::Serialize;

use super::bootstrap::BOOTSTRAPPED;
use super::report::{BootstrapSummary, ScoreReport};
use crate::metrics::recentred_interval;

/// Whether the two values differ beyond their bootstrap noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    #[serde(rename = "different")]
    Different,
    #[serde(rename = "no difference")]
    NoDifference,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Different => "different",
            Verdict::NoDifference => "no difference",
        })
    }
}

/// Which rule decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedRule {
    /// Percentile interval of the paired replicate differences excludes 0.
    ReplicateDifferences,
    /// The two intervals do not overlap (replicates not drawn alike).
    IntervalOverlap,
}

impl PairedRule {
    /// The rule in words, for tables and notes.
    pub fn describe(self) -> &'static str {
        match self {
            PairedRule::ReplicateDifferences => {
                "paired: percentile interval of the replicate differences A − B excludes 0"
            }
            PairedRule::IntervalOverlap => {
                "unpaired (replicates not drawn alike): the two intervals do not overlap; conservative"
            }
        }
    }
}

/// One metric's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairedComparison {
    /// Report key: `fid`, `is_mean`, `kid_mean`, `precision`, …
    pub metric: String,
    pub a: f64,
    pub b: f64,
    /// `a − b`.
    pub difference: f64,
    /// Interval of `a − b` under `rule`.
    pub difference_ci: [f64; 2],
    pub level: f64,
    pub rule: PairedRule,
    pub verdict: Verdict,
    /// Why the paired rule could not be used, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpaired_because: Option<String>,
}

/// Verdicts for every metric both reports hold with an interval. `a_name`
/// and `b_name` name the reports in refusals; a report without a bootstrap
/// is refused.
pub fn compare_paired(
    a: &ScoreReport,
    a_name: &str,
    b: &ScoreReport,
    b_name: &str,
) -> anyhow::Result<Vec<PairedComparison>> {
    let summary = |report: &ScoreReport, name: &str| match &report.bootstrap {
        Some(summary) => Ok(summary.clone()),
        None => bail!(
            "{name} has no bootstrap intervals; score it again with --bootstrap B (and the other run's --bootstrap-seed, for a paired test)"
        ),
    };
    let (sa, sb) = (summary(a, a_name)?, summary(b, b_name)?);
    let mismatch = unpaired_reason(a, &sa, b, &sb);
    let mut verdicts = Vec::new();
    for metric in &BOOTSTRAPPED {
        let (Some(va), Some(vb), Some(ia), Some(ib)) = (
            (metric.value)(a),
            (metric.value)(b),
            (metric.interval)(a),
            (metric.interval)(b),
        ) else {
            continue;
        };
        let paired = match (
            &mismatch,
            sa.values.get(metric.key),
            sb.values.get(metric.key),
        ) {
            (Some(reason), _, _) => Err(reason.clone()),
            (None, Some(ra), Some(rb))
                if ra.len() == sa.replicates && rb.len() == sb.replicates =>
            {
                Ok((ra, rb))
            }
            (None, _, _) => Err(
                "not every replicate value is in both reports (some were not finite)".to_string(),
            ),
        };
        let (difference_ci, rule, unpaired_because) = match paired {
            Ok((ra, rb)) => {
                let differences: Vec<f64> = ra.iter().zip(rb).map(|(x, y)| x - y).collect();
                let Some(interval) = recentred_interval(&differences, va - vb, sa.level) else {
                    continue;
                };
                (interval, PairedRule::ReplicateDifferences, None)
            }
            Err(reason) => (
                [ia[0] - ib[1], ia[1] - ib[0]],
                PairedRule::IntervalOverlap,
                Some(reason),
            ),
        };
        let verdict = if difference_ci[0] > 0.0 || difference_ci[1] < 0.0 {
            Verdict::Different
        } else {
            Verdict::NoDifference
        };
        verdicts.push(PairedComparison {
            metric: metric.key.to_string(),
            a: va,
            b: vb,
            difference: va - vb,
            difference_ci,
            level: sa.level,
            rule,
            verdict,
            unpaired_because,
        });
    }
    if verdicts.is_empty() {
        bail!(
            "{a_name} and {b_name} share no metric with a bootstrap interval; score both with the same --metrics and --bootstrap"
        );
    }
    Ok(verdicts)
}

/// Why the replicates of the two runs cannot be paired, if they cannot.
fn unpaired_reason(
    a: &ScoreReport,
    sa: &BootstrapSummary,
    b: &ScoreReport,
    sb: &BootstrapSummary,
) -> Option<String> {
    let counts = |r: &ScoreReport| (r.n_real, r.n_fake.or(r.n_images));
    if sa.seed != sb.seed {
        Some(format!(
            "bootstrap seeds differ ({} and {})",
            sa.seed, sb.seed
        ))
    } else if sa.replicates != sb.replicates {
        Some(format!(
            "replicate counts differ ({} and {})",
            sa.replicates, sb.replicates
        ))
    } else if counts(a) != counts(b) {
        Some("sample counts differ".to_string())
    } else if sa.level != sb.level {
        Some(format!("levels differ ({} and {})", sa.level, sb.level))
    } else {
        None
    }
}
