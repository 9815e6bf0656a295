//! The metrics, spelt one way everywhere (flags, TOML, JSON), and what each
//! needs from the two sides of a comparison — decided here and nowhere else.

use crate::spelling::spelt_enum;

spelt_enum! {
    /// A metric `score`, `eval` and `ablation` compute.
    pub enum Metric ("metric") {
        /// Fréchet Inception Distance (statistics of both sides).
        Fid = "fid",
        /// Inception Score (logits of the evaluated side).
        Is = "is",
        /// Kernel Inception Distance (every feature vector of both sides).
        Kid = "kid",
        /// Precision, recall, density, coverage and the near-duplicate rate.
        Prdc = "prdc",
        /// FID extrapolated to infinitely many samples (Chong & Forsyth):
        /// the real side's statistics and the evaluated side's feature vectors.
        FidInf = "fid_inf",
        /// IS extrapolated to infinitely many samples (logits of the evaluated side).
        IsInf = "is_inf",
    }
}

impl Metric {
    /// The metrics computed when none are named (flags and configs alike).
    pub const DEFAULT_SET: [Metric; 3] = [Metric::Fid, Metric::Is, Metric::Kid];
}

/// What one side must yield.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// FID statistics (mean and covariance of the pool features).
    pub stats: bool,
    /// Every pool feature vector (KID, PR-DC).
    pub pool: bool,
    /// The extractor's logits (IS without a separate classifier).
    pub logits: bool,
}

impl Needs {
    /// Whether the side is needed at all.
    pub fn any(self) -> bool {
        self.stats || self.pool || self.logits
    }

    /// Whether the pool output is needed (for statistics or as vectors).
    pub fn pool_output(self) -> bool {
        self.stats || self.pool
    }
}

/// What a set of metrics needs from each side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The reference side (`--real`).
    pub real: Needs,
    /// The evaluated side, through the extractor or from a file.
    pub fake: Needs,
    /// IS logits of the evaluated images from a separate classifier.
    pub classifier: bool,
}

impl Requirements {
    /// The one place that decides which features each metric needs.
    pub fn of(metrics: &[Metric], separate_classifier: bool) -> Requirements {
        let wants = |metric| metrics.contains(&metric);
        let stats = wants(Metric::Fid);
        let pool = wants(Metric::Kid) || wants(Metric::Prdc);
        let is = wants(Metric::Is) || wants(Metric::IsInf);
        // FID∞ draws subsets of the evaluated rows against the whole reference.
        let fid_inf = wants(Metric::FidInf);
        Requirements {
            real: Needs {
                stats: stats || fid_inf,
                pool,
                logits: false,
            },
            fake: Needs {
                stats,
                pool: pool || fid_inf,
                logits: is && !separate_classifier,
            },
            classifier: is && separate_classifier,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_for_every_metric() {
        for metric in Metric::ALL {
            assert_eq!(metric.name().parse::<Metric>(), Ok(*metric));
            let json = serde_json::to_string(metric).unwrap();
            assert_eq!(json, format!("\"{metric}\""));
            assert_eq!(serde_json::from_str::<Metric>(&json).unwrap(), *metric);
        }
        let error = "FID".parse::<Metric>().unwrap_err();
        assert!(
            error.contains("`FID`") && error.contains("fid, is, kid, prdc, fid_inf, is_inf"),
            "{error}"
        );
    }

    #[test]
    fn each_metric_asks_each_side_for_what_it_uses() {
        let none = Needs::default();
        let stats = Needs {
            stats: true,
            ..none
        };
        let pool = Needs { pool: true, ..none };
        let logits = Needs {
            logits: true,
            ..none
        };
        // (metrics, separate classifier, real, fake, classifier)
        let table = [
            (vec![Metric::Fid], false, stats, stats, false),
            (vec![Metric::Is], false, none, logits, false),
            (vec![Metric::Is], true, none, none, true),
            (vec![Metric::Kid], false, pool, pool, false),
            (vec![Metric::Prdc], false, pool, pool, false),
            (vec![Metric::FidInf], false, stats, pool, false),
            (vec![Metric::IsInf], false, none, logits, false),
            (vec![Metric::IsInf], true, none, none, true),
            (
                vec![Metric::Fid, Metric::Is, Metric::Prdc],
                false,
                Needs {
                    stats: true,
                    pool: true,
                    logits: false,
                },
                Needs {
                    stats: true,
                    pool: true,
                    logits: true,
                },
                false,
            ),
        ];
        for (metrics, classifier, real, fake, classify) in table {
            let needs = Requirements::of(&metrics, classifier);
            assert_eq!(
                (needs.real, needs.fake, needs.classifier),
                (real, fake, classify),
                "{metrics:?} classifier {classifier}"
            );
        }
    }
}
