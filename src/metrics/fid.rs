//! Fréchet Inception Distance between two sets of [`FidStats`], as pytorch-fid
//! defines it, with the matrix square root taken through symmetric eigen-solvers.

use ndarray::Array2;

use crate::linalg::{LinalgError, SqrtRoute, trace_sqrt_product};
use crate::metrics::stats::FidStats;

/// What pytorch-fid adds to both covariances' diagonals when the square root fails.
pub const FID_EPS: f64 = 1e-6;

/// Clipped negative eigenvalues below this (relative to the largest) get a warning.
pub const NEGATIVE_EIGENVALUE_WARNING: f64 = -1e-8;

/// The distance and its parts.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FrechetDistance {
    /// `mean_term + trace_term`; a tiny negative value for identical sets is float noise, kept as is.
    pub fid: f64,
    /// `‖μ1 − μ2‖²`.
    pub mean_term: f64,
    /// `tr S1 + tr S2 − 2 tr((S1 S2)^½)`.
    pub trace_term: f64,
    /// `Some(eps)` when `eps·I` had to be added to both covariances (as pytorch-fid does).
    pub eps_added: Option<f64>,
    /// Which factorisation gave `tr((S1 S2)^½)`.
    pub sqrt_route: SqrtRoute,
    /// Most negative eigenvalue met, relative to the largest (0 when none).
    pub most_negative_relative: f64,
    /// Human-readable cautions (small sample counts, non-PSD inputs).
    pub warnings: Vec<String>,
}

/// Why a distance could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum FidError {
    #[error(
        "feature dimensions differ: first statistics have D={a}, second have D={b}; compute both with the same extractor layer"
    )]
    Dimension { a: usize, b: usize },
    #[error(
        "{which} statistics are malformed: mu has {mu} entries but sigma is {rows}×{cols}; recompute them"
    )]
    Shape {
        which: &'static str,
        mu: usize,
        rows: usize,
        cols: usize,
    },
    #[error("{which} statistics contain NaN or infinity; recompute them from finite features")]
    NonFinite { which: &'static str },
    #[error("matrix square root failed even with {eps}·I added: {source}")]
    Linalg { eps: f64, source: LinalgError },
}

/// `‖μ1 − μ2‖² + tr S1 + tr S2 − 2 tr((S1 S2)^½)`.
pub fn frechet_distance(a: &FidStats, b: &FidStats) -> Result<FrechetDistance, FidError> {
    check(a, "first")?;
    check(b, "second")?;
    if a.dim() != b.dim() {
        return Err(FidError::Dimension {
            a: a.dim(),
            b: b.dim(),
        });
    }
    let mean_term: f64 = a.mu.iter().zip(&b.mu).map(|(x, y)| (x - y) * (x - y)).sum();
    let traces = a.sigma.diag().sum() + b.sigma.diag().sum();
    let (sqrt, eps_added) = match trace_sqrt_product(a.sigma.view(), b.sigma.view()) {
        Ok(t) => (t, None),
        Err(LinalgError::Lapack(_)) => {
            let offset = Array2::<f64>::eye(a.dim()) * FID_EPS;
            let s1 = &a.sigma + &offset;
            let s2 = &b.sigma + &offset;
            let t =
                trace_sqrt_product(s1.view(), s2.view()).map_err(|source| FidError::Linalg {
                    eps: FID_EPS,
                    source,
                })?;
            (t, Some(FID_EPS))
        }
        Err(source) => return Err(FidError::Linalg { eps: 0.0, source }),
    };
    // Like pytorch-fid, the offset enters the square root only, not tr S1 + tr S2.
    let trace_term = traces - 2.0 * sqrt.trace;
    let mut warnings = Vec::new();
    for (which, stats) in [("first", a), ("second", b)] {
        if let Some(n) = stats.count.filter(|&n| n < stats.dim() as u64) {
            warnings.push(format!(
                "{which} covariance is singular: N={n} < D={}; FID is biased at small N, use ≥ 2048, TTUR recommends 10,000",
                stats.dim()
            ));
        }
    }
    if sqrt.most_negative_relative < NEGATIVE_EIGENVALUE_WARNING {
        warnings.push(format!(
            "clipped negative eigenvalues down to {:.3e} of the largest: a covariance is not positive semi-definite (float32 or edited statistics?)",
            sqrt.most_negative_relative
        ));
    }
    if let Some(eps) = eps_added {
        warnings.push(format!(
            "eigen-solver failed; added {eps}·I to both covariances as pytorch-fid does"
        ));
    }
    Ok(FrechetDistance {
        fid: mean_term + trace_term,
        mean_term,
        trace_term,
        eps_added,
        sqrt_route: sqrt.route,
        most_negative_relative: sqrt.most_negative_relative,
        warnings,
    })
}

fn check(s: &FidStats, which: &'static str) -> Result<(), FidError> {
    let (rows, cols) = s.sigma.dim();
    if rows != s.mu.len() || cols != s.mu.len() {
        return Err(FidError::Shape {
            which,
            mu: s.mu.len(),
            rows,
            cols,
        });
    }
    if !s.mu.iter().chain(s.sigma.iter()).all(|v| v.is_finite()) {
        return Err(FidError::NonFinite { which });
    }
    Ok(())
}
