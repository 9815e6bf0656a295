//! Failure triage: the StackGAN++ paper's failure cases — severe (collapsed),
//! moderate (visible artifacts, an early sign of collapse), mild (smooth but
//! no clear object) — sorted by measurable proxies, not by a human eye.
//!
//! Each evaluated sample gets at most one kind, the first whose rule holds:
//! - **severe**: a member of a near-duplicate cluster: its nearest OTHER
//!   evaluated sample is strictly closer than the near-duplicate distance
//!   calibrated on the real set (the rule of the near-duplicate rate). Score:
//!   that distance; smaller is worse.
//! - **moderate**: outside the real k-NN manifold: no real sample's k-NN ball
//!   holds it (precision's criterion, PR-DC's k). Score: the smallest
//!   `distance / radius` over the real balls, at least 1; larger is worse.
//! - **mild**: low classifier confidence: the largest softmax probability of
//!   its IS logits (float64, after the IS protocol's dropped columns) is
//!   strictly below [`TriageConfig::confidence_threshold`]. Score: that
//!   probability; smaller is worse.
//!
//! The rest are fine. The neighbour facts come from the searches PR-DC makes
//! ([`crate::metrics::prdc_per_sample`]), so the counts agree with precision
//! and the near-duplicate rate by construction.

use std::path::PathBuf;

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use super::prdc::{DuplicateThreshold, SampleNeighbours};

/// The triage's settings, with their one default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TriageConfig {
    /// Worst examples kept per kind.
    pub worst_per_kind: usize,
    /// A sample whose largest class probability is below this has no clear
    /// object (mild). 0.5: no class holds even half of the probability mass,
    /// a fixed rule that does not depend on the real set having logits.
    pub confidence_threshold: f64,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            worst_per_kind: 8,
            confidence_threshold: 0.5,
        }
    }
}

/// The paper's three kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    Severe,
    Moderate,
    Mild,
}

impl FailureKind {
    /// Most to least serious: the order in which the rules are tried.
    pub const ALL: [FailureKind; 3] = [
        FailureKind::Severe,
        FailureKind::Moderate,
        FailureKind::Mild,
    ];

    /// The kind's spelling, as in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::Severe => "severe",
            FailureKind::Moderate => "moderate",
            FailureKind::Mild => "mild",
        }
    }

    /// Whether a larger score is worse (moderate) or a smaller one (the others).
    fn larger_is_worse(self) -> bool {
        self == FailureKind::Moderate
    }
}

/// Samples of each kind; every sample is counted once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriageCounts {
    pub severe: usize,
    pub moderate: usize,
    pub mild: usize,
    pub fine: usize,
}

impl TriageCounts {
    /// The count of one kind.
    pub fn of(&self, kind: FailureKind) -> usize {
        match kind {
            FailureKind::Severe => self.severe,
            FailureKind::Moderate => self.moderate,
            FailureKind::Mild => self.mild,
        }
    }

    fn add(&mut self, kind: Option<FailureKind>) {
        match kind {
            Some(FailureKind::Severe) => self.severe += 1,
            Some(FailureKind::Moderate) => self.moderate += 1,
            Some(FailureKind::Mild) => self.mild += 1,
            None => self.fine += 1,
        }
    }
}

/// One of the worst samples of a kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageExample {
    pub kind: FailureKind,
    /// Position in the evaluated set (the order its images or rows were read).
    pub index: usize,
    /// The sample's image file as the command line named it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The kind's score (see the module docs for its meaning and direction).
    pub score: f64,
}

/// The triage of one evaluated set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub counts: TriageCounts,
    /// Severe: nearest other sample strictly closer than this.
    pub duplicate_distance: f64,
    /// The quantile of the real set's nearest-neighbour distances that set it.
    pub duplicate_quantile: f64,
    /// Moderate: outside every real k-NN ball of this many neighbours.
    pub k: usize,
    /// Mild: largest class probability strictly below this; absent when the
    /// set had no logits, so that no sample could be judged mild.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_threshold: Option<f64>,
    /// At most this many examples per kind.
    pub worst_per_kind: usize,
    /// The worst examples, severe then moderate then mild, worst first.
    pub examples: Vec<TriageExample>,
}

/// What the triage reads of one evaluated set.
pub struct TriageInput<'a> {
    /// The neighbour facts of each sample against the real set.
    pub neighbours: &'a SampleNeighbours,
    /// The near-duplicate distance, calibrated on the real set.
    pub threshold: &'a DuplicateThreshold,
    /// PR-DC's k, which made the real balls.
    pub k: usize,
    /// Largest class probability per sample ([`max_probabilities`]), when the set has logits.
    pub confidence: Option<&'a [f64]>,
    /// Each sample's image file where known (empty when none is).
    pub files: &'a [Option<PathBuf>],
}

/// Why a triage could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error(
        "triage: {what} has {got} entries for {expected} samples; the sets come from different runs"
    )]
    Lengths {
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("triage: the confidence threshold must lie in (0, 1] (got {0}); use the default 0.5")]
    Threshold(f64),
    #[error(
        "triage: logit column {column} cannot be dropped from {classes} classes; fix the dropped columns"
    )]
    DropColumn { column: usize, classes: usize },
    #[error(
        "triage: the logits of sample {row} contain NaN or infinity; check the classifier output"
    )]
    NonFinite { row: usize },
}

/// Sorts every sample into its kind and keeps the worst examples of each.
pub fn triage(input: &TriageInput, config: &TriageConfig) -> Result<Triage, TriageError> {
    let n = input.neighbours.nearest_other.len();
    let check = |what, got: usize| match got == n {
        true => Ok(()),
        false => Err(TriageError::Lengths {
            what,
            got,
            expected: n,
        }),
    };
    check(
        "real_balls_holding",
        input.neighbours.real_balls_holding.len(),
    )?;
    check("ball_ratio", input.neighbours.ball_ratio.len())?;
    if let Some(confidence) = input.confidence {
        check("confidence", confidence.len())?;
    }
    let threshold = config.confidence_threshold;
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(TriageError::Threshold(threshold));
    }
    let mut counts = TriageCounts::default();
    let mut judged: Vec<(FailureKind, usize, f64)> = Vec::new();
    for i in 0..n {
        let kind = kind_of(input, threshold, i);
        counts.add(kind.map(|(kind, _)| kind));
        if let Some((kind, score)) = kind {
            judged.push((kind, i, score));
        }
    }
    // Worst first within each kind; ties go to the lower index.
    judged.sort_by(|a, b| {
        let by_score = match a.0.larger_is_worse() {
            true => b.2.total_cmp(&a.2),
            false => a.2.total_cmp(&b.2),
        };
        a.0.cmp(&b.0).then(by_score).then(a.1.cmp(&b.1))
    });
    let mut examples = Vec::new();
    for kind in FailureKind::ALL {
        let worst = judged.iter().filter(|(k, _, _)| *k == kind);
        for &(kind, index, score) in worst.take(config.worst_per_kind) {
            let file = input.files.get(index).cloned().flatten();
            examples.push(TriageExample {
                kind,
                index,
                file: file.map(|f| f.display().to_string()),
                score,
            });
        }
    }
    Ok(Triage {
        counts,
        duplicate_distance: input.threshold.distance,
        duplicate_quantile: input.threshold.quantile,
        k: input.k,
        confidence_threshold: input.confidence.map(|_| threshold),
        worst_per_kind: config.worst_per_kind,
        examples,
    })
}

/// The kind of sample `i` and its score, the first rule that holds; `None`: fine.
fn kind_of(input: &TriageInput, threshold: f64, i: usize) -> Option<(FailureKind, f64)> {
    let neighbours = input.neighbours;
    let nearest = neighbours.nearest_other[i];
    if nearest < input.threshold.distance {
        return Some((FailureKind::Severe, nearest));
    }
    if neighbours.real_balls_holding[i] == 0 {
        return Some((FailureKind::Moderate, neighbours.ball_ratio[i]));
    }
    let confidence = input.confidence?[i];
    (confidence < threshold).then_some((FailureKind::Mild, confidence))
}

/// The largest softmax probability of each row of `logits`, in float64, with
/// `drop_columns` removed first (as the Inception Score removes them):
/// `1 / Σ exp(l − max l)`.
pub fn max_probabilities(
    logits: ArrayView2<f32>,
    drop_columns: &[usize],
) -> Result<Vec<f64>, TriageError> {
    let classes = logits.ncols();
    if let Some(&column) = drop_columns.iter().find(|&&c| c >= classes) {
        return Err(TriageError::DropColumn { column, classes });
    }
    let kept: Vec<usize> = (0..classes).filter(|c| !drop_columns.contains(c)).collect();
    if kept.is_empty() {
        return Err(TriageError::DropColumn {
            column: classes.saturating_sub(1),
            classes,
        });
    }
    logits
        .rows()
        .into_iter()
        .enumerate()
        .map(|(row, values)| {
            let values: Vec<f64> = kept.iter().map(|&c| f64::from(values[c])).collect();
            if !values.iter().all(|v| v.is_finite()) {
                return Err(TriageError::NonFinite { row });
            }
            let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = values.iter().map(|v| (v - max).exp()).sum();
            Ok(1.0 / total)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn neighbours(nearest: &[f64], holding: &[u64], ratio: &[f64]) -> SampleNeighbours {
        SampleNeighbours {
            nearest_other: nearest.to_vec(),
            real_balls_holding: holding.to_vec(),
            ball_ratio: ratio.to_vec(),
        }
    }

    fn threshold(distance: f64) -> DuplicateThreshold {
        DuplicateThreshold {
            quantile: 0.05,
            distance,
            dim: 2,
        }
    }

    /// Severe before moderate before mild; worst first; at most K each.
    #[test]
    fn each_sample_gets_the_most_serious_kind_that_holds() {
        // Sample 0: a near-duplicate that is also outside and unsure: severe.
        // 1: outside, unsure: moderate. 2, 5: unsure: mild. 3: fine. 4: severe.
        let facts = neighbours(
            &[0.1, 2.0, 2.0, 2.0, 0.05, 2.0],
            &[0, 0, 3, 1, 2, 4],
            &[1.5, 1.2, 0.5, 0.9, 0.3, 0.2],
        );
        let confidence = [0.1, 0.2, 0.3, 0.9, 0.9, 0.25];
        let files: Vec<Option<PathBuf>> = (0..6)
            .map(|i| (i != 4).then(|| PathBuf::from(format!("set/{i:03}.png"))))
            .collect();
        let input = TriageInput {
            neighbours: &facts,
            threshold: &threshold(0.5),
            k: 5,
            confidence: Some(&confidence),
            files: &files,
        };
        let config = TriageConfig {
            worst_per_kind: 1,
            ..TriageConfig::default()
        };
        let result = triage(&input, &config).unwrap();
        assert_eq!(
            result.counts,
            TriageCounts {
                severe: 2,
                moderate: 1,
                mild: 2,
                fine: 1
            }
        );
        let picked: Vec<_> = result
            .examples
            .iter()
            .map(|e| (e.kind, e.index, e.file.as_deref(), e.score))
            .collect();
        assert_eq!(
            picked,
            vec![
                (FailureKind::Severe, 4, None, 0.05),
                (FailureKind::Moderate, 1, Some("set/001.png"), 1.2),
                (FailureKind::Mild, 5, Some("set/005.png"), 0.25),
            ]
        );
        assert_eq!(result.confidence_threshold, Some(0.5));
        // Without logits nothing is mild, and the threshold is not reported.
        let no_logits = TriageInput {
            confidence: None,
            ..input
        };
        let result = triage(&no_logits, &config).unwrap();
        assert_eq!((result.counts.mild, result.counts.fine), (0, 3));
        assert_eq!(result.confidence_threshold, None);
    }

    #[test]
    fn inconsistent_inputs_are_refused() {
        let facts = neighbours(&[1.0, 1.0], &[1], &[0.5, 0.5]);
        let input = TriageInput {
            neighbours: &facts,
            threshold: &threshold(0.5),
            k: 5,
            confidence: None,
            files: &[],
        };
        let error = triage(&input, &TriageConfig::default()).unwrap_err();
        assert!(
            error.to_string().contains("real_balls_holding has 1"),
            "{error}"
        );
        let facts = neighbours(&[1.0], &[1], &[0.5]);
        let input = TriageInput {
            neighbours: &facts,
            ..input
        };
        let bad = TriageConfig {
            confidence_threshold: 0.0,
            ..TriageConfig::default()
        };
        assert!(matches!(
            triage(&input, &bad),
            Err(TriageError::Threshold(_))
        ));
    }

    /// Known answers: equal logits give 1/C; a dropped column is left out.
    #[test]
    fn max_probability_is_the_largest_softmax_entry() {
        let logits = array![
            [0.0f32, 0.0, 0.0, 0.0],
            [100.0, 0.0, 0.0, 0.0],
            [0.0, 1.0, 0.0, 0.0]
        ];
        let p = max_probabilities(logits.view(), &[]).unwrap();
        assert!((p[0] - 0.25).abs() < 1e-15);
        assert!((p[1] - 1.0).abs() < 1e-15);
        let e = std::f64::consts::E;
        assert!((p[2] - e / (e + 3.0)).abs() < 1e-15);
        // Dropping the background column 0 (StackGAN's protocol).
        let p = max_probabilities(logits.view(), &[0]).unwrap();
        assert!((p[1] - 1.0 / 3.0).abs() < 1e-15);
        assert!(matches!(
            max_probabilities(logits.view(), &[4]),
            Err(TriageError::DropColumn { column: 4, .. })
        ));
        let bad = array![[f32::NAN, 0.0]];
        assert!(matches!(
            max_probabilities(bad.view(), &[]),
            Err(TriageError::NonFinite { row: 0 })
        ));
    }
}
