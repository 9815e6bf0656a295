//! Failure triage as the StackGAN++ paper sorts its failures — severe
//! (collapsed), moderate (visible artifacts), mild (no clear object) — read
//! from a report's `"triage"` object and drawn as counts per kind, the rule
//! that decides each kind, and the worst examples as thumbnails. The page
//! renders the numbers the triage computed; it computes none.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::assets::ImageRef;
use super::esc;

/// A report's `"triage"` object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Triage {
    pub counts: TriageCounts,
    /// A sample whose nearest other sample is closer than this is a near-duplicate.
    pub duplicate_distance: Option<f64>,
    /// The k of the real samples' k-NN balls.
    pub k: Option<usize>,
    /// Classifier confidence under which a sample has no clear object.
    pub confidence_threshold: Option<f64>,
    /// Examples kept per kind.
    pub worst_per_kind: Option<usize>,
    pub examples: Vec<TriageExample>,
}

/// Samples per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TriageCounts {
    pub severe: usize,
    pub moderate: usize,
    pub mild: usize,
    pub fine: usize,
}

/// The paper's three kinds of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TriageKind {
    Severe,
    Moderate,
    Mild,
}

impl TriageKind {
    pub const ALL: [TriageKind; 3] = [TriageKind::Severe, TriageKind::Moderate, TriageKind::Mild];

    pub fn name(self) -> &'static str {
        match self {
            TriageKind::Severe => "severe",
            TriageKind::Moderate => "moderate",
            TriageKind::Mild => "mild",
        }
    }
}

/// One of the worst samples of a kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageExample {
    pub kind: TriageKind,
    pub index: usize,
    /// The image, as the run was given it (relative to where it ran, or absolute).
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub score: Option<f64>,
}

/// A triage on the page: whose it is, and each example's thumbnail or why
/// there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageView {
    pub label: String,
    pub triage: Triage,
    pub thumbnails: Vec<Result<ImageRef, String>>,
}

impl Triage {
    fn count(&self, kind: TriageKind) -> usize {
        match kind {
            TriageKind::Severe => self.counts.severe,
            TriageKind::Moderate => self.counts.moderate,
            TriageKind::Mild => self.counts.mild,
        }
    }

    /// How a kind is decided, with this run's parameters.
    pub fn rule(&self, kind: TriageKind) -> String {
        let number =
            |v: Option<f64>| v.map_or_else(|| "the run's threshold".into(), |v| format!("{v:.6}"));
        match kind {
            TriageKind::Severe => format!(
                "Collapsed: the sample belongs to a near-duplicate cluster — its nearest other sample is closer than the duplicate distance {}.",
                number(self.duplicate_distance)
            ),
            TriageKind::Moderate => format!(
                "Visible artifacts: the sample lies outside every real sample's k-NN ball (k = {}), off the real manifold.",
                self.k
                    .map_or_else(|| "the run's k".into(), |k| k.to_string())
            ),
            TriageKind::Mild => format!(
                "No clear object: the classifier's top confidence is below {}.",
                number(self.confidence_threshold)
            ),
        }
    }
}

impl TriageView {
    pub fn html(&self) -> String {
        let t = &self.triage;
        let total = t.counts.severe + t.counts.moderate + t.counts.mild + t.counts.fine;
        let mut out = format!(
            "<div class=\"triage\">\n<h3>Failure triage: {}</h3>\n<table class=\"counts\">\n\
             <thead><tr><th>kind</th><th>samples</th><th>share</th><th>how it is decided</th></tr></thead>\n<tbody>\n",
            esc(&self.label)
        );
        let share = |n: usize| {
            if total == 0 {
                "–".to_string()
            } else {
                format!("{:.1}%", 100.0 * n as f64 / total as f64)
            }
        };
        for kind in TriageKind::ALL {
            let n = t.count(kind);
            let _ = writeln!(
                out,
                "<tr class=\"{0}\"><th scope=\"row\">{0}</th><td class=\"num\" data-key=\"triage_{0}\" data-value=\"{n}\">{n}</td><td class=\"num\">{1}</td><td>{2}</td></tr>",
                kind.name(),
                share(n),
                esc(&t.rule(kind))
            );
        }
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">fine</th><td class=\"num\" data-key=\"triage_fine\" data-value=\"{0}\">{0}</td><td class=\"num\">{1}</td><td>None of the above.</td></tr>\n</tbody>\n</table>",
            t.counts.fine,
            share(t.counts.fine)
        );
        for kind in TriageKind::ALL {
            let shown: Vec<_> = t
                .examples
                .iter()
                .zip(&self.thumbnails)
                .filter(|(e, _)| e.kind == kind)
                .collect();
            if shown.is_empty() {
                continue;
            }
            let _ = writeln!(out, "<figure class=\"examples\"><div class=\"thumbs\">");
            for (example, thumbnail) in shown {
                let score = example
                    .score
                    .map(|s| format!(", score {s:.4}"))
                    .unwrap_or_default();
                let label = format!("#{}{score}", example.index);
                match thumbnail {
                    Ok(image) => {
                        let _ = write!(
                            out,
                            "<span class=\"thumb\">{}<small>{}</small></span>",
                            image.img_tag(&label),
                            esc(&label)
                        );
                    }
                    Err(why) => {
                        let _ = write!(
                            out,
                            "<span class=\"thumb missing\" title=\"{}\">missing<small>{}</small></span>",
                            esc(why),
                            esc(&label)
                        );
                    }
                }
            }
            let _ = writeln!(
                out,
                "</div><figcaption>Worst {} examples.</figcaption></figure>",
                kind.name()
            );
        }
        out.push_str("</div>\n");
        out
    }
}
