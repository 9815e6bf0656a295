//! `fid`, `is`, `kid` and `score`: every metric asked for, in one pass over
//! each image folder.

use std::path::PathBuf;

use anyhow::{Context, bail};
use ndarray::Array2;

use super::RunOptions;
use super::report::ScoreReport;
use super::sides::{Needs, Scorer, Side};
use super::sources::Source;
use crate::features::IsSetup;
use crate::metrics::{
    IsConfig, KidConfig, PrdcConfig, calibrate_duplicate_threshold, frechet_distance,
    inception_score, kernel_inception_distance, near_duplicate_rate, prdc,
};

/// A metric `score` can compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Fid,
    Is,
    Kid,
    /// Precision, recall, density, coverage and the near-duplicate rate.
    Prdc,
}

/// Collapse statistics settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrdcOptions {
    /// Neighbours defining each sample's k-NN ball (5, as Naeem et al.).
    pub k: usize,
    /// Quantile of the real set's nearest-neighbour distances below which two samples are near-duplicates.
    pub duplicate_quantile: f64,
}

impl Default for PrdcOptions {
    fn default() -> Self {
        PrdcOptions {
            k: 5,
            duplicate_quantile: 0.05,
        }
    }
}

pub use crate::models::IsProtocol;

/// Inception Score settings.
#[derive(Debug, Clone)]
pub struct IsOptions {
    pub splits: usize,
    /// How splits are formed; `None`: the scoring protocol's rule.
    pub protocol: Option<IsProtocol>,
    /// Output (or feature-file array) holding the logits; `None`: the model's default.
    pub logits: Option<String>,
    /// Columns dropped before the softmax; `None`: the model's default.
    pub drop_columns: Option<Vec<usize>>,
    /// Shuffle before splitting with numpy's RandomState(seed): `None` takes
    /// the protocol's default (torch-fidelity: seed 2020; stackgan: no shuffle),
    /// `Some(None)` keeps the file order.
    pub shuffle: Option<Option<u32>>,
}

impl Default for IsOptions {
    /// torch-fidelity's protocol with 10 splits, everything else from the model.
    fn default() -> Self {
        IsOptions {
            splits: 10,
            protocol: None,
            logits: None,
            drop_columns: None,
            shuffle: None,
        }
    }
}

/// A validated scoring run.
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    pub metrics: Vec<Metric>,
    /// The reference side (FID, KID).
    pub real: Option<PathBuf>,
    /// The evaluated side (`--fake`, or `--images`/`--features` for IS).
    pub fake: PathBuf,
    /// The flag `fake` came from, for messages.
    pub fake_flag: &'static str,
    pub extractor: Option<PathBuf>,
    /// A separate model for IS (e.g. StackGAN's fine-tuned classifier).
    pub classifier: Option<PathBuf>,
    pub is: IsOptions,
    pub kid: KidConfig,
    pub prdc: PrdcOptions,
    pub options: RunOptions,
}

/// Runs the metrics, prints the summary, writes `--json`; returns the report.
pub fn run(config: &ScoreConfig) -> anyhow::Result<ScoreReport> {
    let wants = |m| config.metrics.contains(&m);
    let (fid, is) = (wants(Metric::Fid), wants(Metric::Is));
    // KID and the collapse statistics need every feature vector, not statistics.
    let kid = wants(Metric::Kid) || wants(Metric::Prdc);
    if (fid || kid) && config.real.is_none() {
        bail!(
            "FID, KID and PRDC compare two sets: pass --real (a folder, statistics .npz or feature file)"
        );
    }
    let real = config
        .real
        .as_deref()
        .map(|p| Source::classify(p, "--real"))
        .transpose()?;
    let fake = Source::classify(&config.fake, config.fake_flag)?;
    for source in real.iter().chain([&fake]) {
        if let Source::Stats(path) = source
            && (kid || (is && source == &fake))
        {
            bail!(
                "{} holds only mu/sigma statistics, which FID alone can use; for KID, PRDC or IS pass an image folder or a feature file from `stackgan-eval extract`",
                path.display()
            );
        }
    }
    let mut scorer = Scorer::new(config);
    let mut report = ScoreReport::new(config.options.batch_size);
    let is_from_extractor = is && config.classifier.is_none();
    let real_side = real
        .as_ref()
        .map(|source| scorer.reference_side(source, fid, kid, &mut report))
        .transpose()?;
    let fake_side = scorer.side(
        &fake,
        "fake",
        Needs {
            stats: fid,
            pool: kid,
            logits: is_from_extractor,
        },
        &mut report,
    )?;

    let is_logits = match (is, &config.classifier) {
        (false, _) => None,
        (true, None) => fake_side.logits.clone(),
        (true, Some(classifier)) => {
            Some(scorer.classifier_logits(classifier, &fake, &mut report)?)
        }
    };
    let labels = SideLabels {
        real: format!(
            "--real {}",
            config
                .real
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        fake: format!("{} {}", config.fake_flag, config.fake.display()),
    };
    let request = MetricRequest {
        metrics: &config.metrics,
        is: &config.is,
        kid: &config.kid,
        prdc: &config.prdc,
    };
    compute_metrics(
        &request,
        &labels,
        real_side.as_ref(),
        &fake_side,
        is_logits,
        scorer.is_setup.clone(),
        &mut report,
    )?;
    if let Some(runtime) = &scorer.runtime {
        report.onnxruntime = Some(runtime.version());
    }
    if let Some(json) = &config.options.json {
        report.write_json(json)?;
    }
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if !config.options.quiet {
        println!("{}", report.summary());
    }
    Ok(report)
}

/// Labels of the two sides, for messages.
pub(super) struct SideLabels {
    pub(super) real: String,
    pub(super) fake: String,
}

/// Which metrics to compute and their settings.
pub(super) struct MetricRequest<'a> {
    pub(super) metrics: &'a [Metric],
    pub(super) is: &'a IsOptions,
    pub(super) kid: &'a KidConfig,
    pub(super) prdc: &'a PrdcOptions,
}

/// Computes the requested metrics from what the sides yielded into `report`.
/// `is_logits` are the evaluated images' logits (extractor or classifier);
/// `model_is` holds what that model's protocol and manifest give the IS.
pub(super) fn compute_metrics(
    request: &MetricRequest,
    labels: &SideLabels,
    real_side: Option<&Side>,
    fake_side: &Side,
    is_logits: Option<Array2<f32>>,
    model_is: IsSetup,
    report: &mut ScoreReport,
) -> anyhow::Result<()> {
    let wants = |m| request.metrics.contains(&m);
    let (fid, is, kid) = (wants(Metric::Fid), wants(Metric::Is), wants(Metric::Kid));
    if let (true, Some(real_side)) = (fid, real_side) {
        let (a, b) = (
            real_side.stats.as_ref().expect("needed"),
            fake_side.stats.as_ref().expect("needed"),
        );
        if a.dim() != b.dim() {
            bail!(
                "statistics have different dimensions: {} is {}-d, {} is {}-d; compute both with the same extractor",
                labels.real,
                a.dim(),
                labels.fake,
                b.dim()
            );
        }
        let distance = frechet_distance(a, b)?;
        report.fid = Some(distance.fid);
        report.fid_eps_added = distance.eps_added;
        report.warnings.extend(distance.warnings);
    }
    if fid || kid {
        report.n_real = real_side.and_then(|s| s.count);
        report.n_fake = fake_side.count;
    }
    if let (true, Some(real_side)) = (kid, real_side) {
        let (a, b) = (
            real_side.pool.as_ref().expect("needed"),
            fake_side.pool.as_ref().expect("needed"),
        );
        let result = kernel_inception_distance(a.view(), b.view(), request.kid)?;
        report.kid_mean = Some(result.mean);
        report.kid_std = Some(result.std);
        report.kid_subsets = Some(result.subsets);
        report.kid_subset_size = Some(result.subset_size);
        report.kid_seed = Some(request.kid.seed);
    }
    if let (true, Some(real_side)) = (wants(Metric::Prdc), real_side) {
        let (a, b) = (
            real_side.pool.as_ref().expect("needed"),
            fake_side.pool.as_ref().expect("needed"),
        );
        let config = PrdcConfig { k: request.prdc.k };
        let result = prdc(a.view(), b.view(), &config)?;
        let threshold = calibrate_duplicate_threshold(a.view(), request.prdc.duplicate_quantile)?;
        report.precision = Some(result.precision);
        report.recall = Some(result.recall);
        report.density = Some(result.density);
        report.coverage = Some(result.coverage);
        report.prdc_k = Some(result.k);
        report.near_duplicate_rate = Some(near_duplicate_rate(b.view(), &threshold)?);
        report.duplicate_distance = Some(threshold.distance);
        report.duplicate_quantile = Some(threshold.quantile);
    }
    if is {
        let logits = is_logits.context("IS needs logits of the evaluated images")?;
        let is_protocol = request.is.protocol.unwrap_or(model_is.protocol);
        let mut is_config = match is_protocol {
            IsProtocol::TorchFidelity => IsConfig::torch_fidelity(),
            IsProtocol::Stackgan => IsConfig::stackgan(),
        };
        is_config.splits = request.is.splits;
        if let Some(columns) = request.is.drop_columns.clone().or(model_is.drop_columns) {
            is_config.drop_columns = columns;
        }
        if let Some(shuffle) = request.is.shuffle {
            is_config.shuffle_seed = shuffle;
        }
        let logits = logits.mapv(f64::from);
        let score = inception_score(logits.view(), &is_config)?;
        report.is_mean = Some(score.mean);
        report.is_std = Some(score.std);
        report.is_splits = Some(request.is.splits);
        report.n_images = Some(score.n);
        report.is_shuffle_seed = is_config.shuffle_seed;
        report.is_protocol = Some(is_protocol.to_string());
    }
    Ok(())
}
