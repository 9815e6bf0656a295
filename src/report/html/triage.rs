//! Failure triage as the StackGAN++ paper sorts its failures — severe
//! (collapsed), moderate (visible artifacts), mild (no clear object) — read
//! from a report's `"triage"` object and drawn as counts per kind, the rule
//! that decides each kind, and the worst examples as thumbnails. The page
//! renders the numbers the triage computed; it computes none.

use std::fmt::Write as _;

use super::assets::ImageRef;
use super::esc;
use crate::metrics::{FailureKind, Triage};

/// A triage on the page: whose it is, and each example's thumbnail or why
/// there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageView {
    pub label: String,
    pub triage: Triage,
    pub thumbnails: Vec<Thumbnail>,
}

/// A triage example's picture on the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Thumbnail {
    Image(ImageRef),
    /// The report names an image that cannot be read: why.
    Missing(String),
    /// The run kept no image of the sample (e.g. `eval` without `--out`).
    NotKept,
}

/// How a kind is decided, with this run's parameters.
fn rule(triage: &Triage, kind: FailureKind) -> String {
    match kind {
        FailureKind::Severe => format!(
            "Collapsed: the sample belongs to a near-duplicate cluster — its nearest other sample is closer than the duplicate distance {:.6} (the {} quantile of the real set's nearest-neighbour distances).",
            triage.duplicate_distance, triage.duplicate_quantile
        ),
        FailureKind::Moderate => format!(
            "Visible artifacts: the sample lies outside every real sample's k-NN ball (k = {}), off the real manifold.",
            triage.k
        ),
        FailureKind::Mild => match triage.confidence_threshold {
            Some(threshold) => {
                format!("No clear object: the classifier's top confidence is below {threshold:.6}.")
            }
            None => "Not judged: the run had no classifier logits for these samples.".to_string(),
        },
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
        for kind in FailureKind::ALL {
            let n = t.counts.of(kind);
            let _ = writeln!(
                out,
                "<tr class=\"{0}\"><th scope=\"row\">{0}</th><td class=\"num\" data-key=\"triage_{0}\" data-value=\"{n}\">{n}</td><td class=\"num\">{1}</td><td>{2}</td></tr>",
                kind.name(),
                share(n),
                esc(&rule(t, kind))
            );
        }
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">fine</th><td class=\"num\" data-key=\"triage_fine\" data-value=\"{0}\">{0}</td><td class=\"num\">{1}</td><td>None of the above.</td></tr>\n</tbody>\n</table>",
            t.counts.fine,
            share(t.counts.fine)
        );
        for kind in FailureKind::ALL {
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
                let label = format!("#{}, score {:.4}", example.index, example.score);
                match thumbnail {
                    Thumbnail::Image(image) => {
                        let _ = write!(
                            out,
                            "<span class=\"thumb\">{}<small>{}</small></span>",
                            image.img_tag(&label),
                            esc(&label)
                        );
                    }
                    Thumbnail::Missing(why) => {
                        let _ = write!(
                            out,
                            "<span class=\"thumb missing\" title=\"{}\">missing<small>{}</small></span>",
                            esc(why),
                            esc(&label)
                        );
                    }
                    Thumbnail::NotKept => {
                        let _ = write!(
                            out,
                            "<span class=\"thumb not-kept\" title=\"the run kept no image of this sample\">no image kept<small>{}</small></span>",
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
