//! Inception Score from classifier logits, matching torch-fidelity 0.4
//! (`isc_features_to_metric`) or the StackGAN/OpenAI scripts, by configuration.

use ndarray::{Array2, ArrayView2, Axis};

use crate::rng::NumpyRandomState;

/// How images are cut into splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SplitRule {
    /// `torch.chunk` semantics: parts of `ceil(n / splits)` rows, the last one shorter;
    /// this can give fewer parts than `splits` (n = 250, splits = 60 gives 50 parts).
    Chunk,
    /// Part i is rows `[i·n/splits, (i+1)·n/splits)` (integer division): torch-fidelity
    /// 0.4, OpenAI's and StackGAN's `inception_score.py`.
    Contiguous,
}

/// Inception Score settings; see the presets.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IsConfig {
    /// Number of splits (the score is averaged over them).
    pub splits: usize,
    /// How rows are assigned to splits.
    pub split_rule: SplitRule,
    /// Logit columns removed before the softmax (StackGAN drops background class 0).
    pub drop_columns: Vec<usize>,
    /// Shuffle rows first with numpy `RandomState(seed).permutation(n)`; `None` keeps the order.
    pub shuffle_seed: Option<u32>,
    /// Delta degrees of freedom of the std over splits (torch-fidelity and StackGAN use `np.std`: 0).
    pub std_ddof: u8,
    /// Keep only the first `n − n mod k` rows (after the shuffle); StackGAN's
    /// scripts run batches of 64 and drop the remainder.
    pub whole_batches_of: Option<usize>,
}

impl IsConfig {
    /// torch-fidelity 0.4 defaults: 10 contiguous splits, shuffle with seed 2020, `np.std`.
    pub fn torch_fidelity() -> Self {
        IsConfig {
            splits: 10,
            split_rule: SplitRule::Contiguous,
            drop_columns: Vec::new(),
            shuffle_seed: Some(2020),
            std_ddof: 0,
            whole_batches_of: None,
        }
    }

    /// StackGAN's `inception_score.py`: drop background column 0, batches of 64 with
    /// the remainder dropped, 10 contiguous splits, `np.std`. The original shuffle is
    /// unseeded (not reproducible); this preset keeps the input order.
    pub fn stackgan() -> Self {
        IsConfig {
            splits: 10,
            split_rule: SplitRule::Contiguous,
            drop_columns: vec![0],
            shuffle_seed: None,
            std_ddof: 0,
            whole_batches_of: Some(64),
        }
    }
}

/// The score over splits.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InceptionScore {
    /// Mean of the split scores.
    pub mean: f64,
    /// Standard deviation of the split scores (with the configured ddof).
    pub std: f64,
    /// `exp(E[KL(p(y|x) ‖ p(y))])` for each split, in order.
    pub split_scores: Vec<f64>,
    /// Images used (after any truncation to whole batches).
    pub n: usize,
}

/// Why a score could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum IsError {
    #[error(
        "{n} images but {splits} splits; use at least as many images as --splits, or lower --splits"
    )]
    TooFewImages { n: usize, splits: usize },
    #[error("--splits must be at least 1")]
    NoSplits,
    #[error(
        "cannot drop logit column {column}: the classifier has {classes} classes; fix the dropped column list"
    )]
    DropColumn { column: usize, classes: usize },
    #[error("no classes are left after dropping columns; keep at least one logit column")]
    NoClasses,
    #[error("logits of image {row} contain NaN or infinity; check the classifier output")]
    NonFinite { row: usize },
    #[error("std_ddof {ddof} leaves no degrees of freedom for {parts} splits; use std_ddof 0")]
    Ddof { ddof: u8, parts: usize },
}

/// Inception Score of `logits` (N, classes); softmax in float64.
pub fn inception_score<A: Copy + Into<f64>>(
    logits: ArrayView2<A>,
    cfg: &IsConfig,
) -> Result<InceptionScore, IsError> {
    if cfg.splits == 0 {
        return Err(IsError::NoSplits);
    }
    if let Some(row) = logits
        .rows()
        .into_iter()
        .position(|r| !r.iter().all(|&v| v.into().is_finite()))
    {
        return Err(IsError::NonFinite { row });
    }
    let classes = logits.ncols();
    if let Some(&column) = cfg.drop_columns.iter().find(|&&c| c >= classes) {
        return Err(IsError::DropColumn { column, classes });
    }
    let kept: Vec<usize> = (0..classes)
        .filter(|c| !cfg.drop_columns.contains(c))
        .collect();
    if kept.is_empty() {
        return Err(IsError::NoClasses);
    }
    let mut order: Vec<usize> = match cfg.shuffle_seed {
        Some(seed) => NumpyRandomState::new(seed).permutation(logits.nrows()),
        None => (0..logits.nrows()).collect(),
    };
    if let Some(k) = cfg.whole_batches_of.filter(|&k| k > 0) {
        order.truncate(order.len() - order.len() % k);
    }
    let n = order.len();
    if n < cfg.splits {
        return Err(IsError::TooFewImages {
            n,
            splits: cfg.splits,
        });
    }
    // One split at a time in float64: memory is a tenth of the logits, not
    // twice them. The split's layout decides the order in which `mean_axis`
    // sums, so it is the one a row slice of the whole selection gave before
    // (column-major when the split is every row, else row-major): the
    // numbers stay what they were, bit for bit.
    let split_scores: Vec<f64> = split_ranges(n, cfg.splits, cfg.split_rule)
        .into_iter()
        .map(|(start, end)| {
            let selected = logits
                .select(Axis(0), &order[start..end])
                .select(Axis(1), &kept)
                .mapv(Into::into);
            let log_p = log_softmax_rows(selected.view());
            let log_p = if end - start == n {
                log_p
                    .reversed_axes()
                    .as_standard_layout()
                    .reversed_axes()
                    .to_owned()
            } else {
                log_p.as_standard_layout().into_owned()
            };
            split_score(log_p.view())
        })
        .collect();
    let parts = split_scores.len();
    if parts <= cfg.std_ddof as usize {
        return Err(IsError::Ddof {
            ddof: cfg.std_ddof,
            parts,
        });
    }
    let mean = split_scores.iter().sum::<f64>() / parts as f64;
    let var = split_scores
        .iter()
        .map(|s| (s - mean) * (s - mean))
        .sum::<f64>()
        / (parts - cfg.std_ddof as usize) as f64;
    Ok(InceptionScore {
        mean,
        std: var.sqrt(),
        split_scores,
        n,
    })
}

/// Row ranges `[start, end)` of each split.
pub fn split_ranges(n: usize, splits: usize, rule: SplitRule) -> Vec<(usize, usize)> {
    match rule {
        SplitRule::Contiguous => (0..splits)
            .map(|i| (i * n / splits, (i + 1) * n / splits))
            .collect(),
        SplitRule::Chunk => {
            let size = n.div_ceil(splits).max(1);
            (0..n)
                .step_by(size)
                .map(|start| (start, (start + size).min(n)))
                .collect()
        }
    }
}

/// Row-wise `log softmax`, max-shifted.
fn log_softmax_rows(logits: ArrayView2<f64>) -> Array2<f64> {
    let mut out = logits.to_owned();
    for mut row in out.rows_mut() {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = max + row.iter().map(|&v| (v - max).exp()).sum::<f64>().ln();
        row.mapv_inplace(|v| v - log_sum);
    }
    out
}

/// `exp(mean_x KL(p(y|x) ‖ p(y)))` with `p(y)` the mean of the split's `p(y|x)`.
fn split_score(log_p: ArrayView2<f64>) -> f64 {
    let p = log_p.mapv(f64::exp);
    let log_q = p
        .mean_axis(Axis(0))
        .expect("split is not empty")
        .mapv(f64::ln);
    let kl_sum: f64 = p
        .rows()
        .into_iter()
        .zip(log_p.rows())
        .map(|(p_row, lp_row)| {
            p_row
                .iter()
                .zip(lp_row.iter())
                .zip(log_q.iter())
                .map(|((p, lp), lq)| p * (lp - lq))
                .sum::<f64>()
        })
        .sum();
    (kl_sum / log_p.nrows() as f64).exp()
}
