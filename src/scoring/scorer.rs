//! The one scorer: it loads ONNX Runtime and each model once, and turns image
//! folders, statistics files and feature files into the sides the metrics
//! need. `score`, `stats`, `extract`, `eval`, `ablation`, `tsne` and the demo
//! all run through it.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ndarray::Array2;

use super::bootstrap::check_source;
use super::measure::measure;
use super::metric::Needs;
use super::model::{Outputs, outputs, provenance, setup};
use super::options::{IsOptions, ScoringOptions};
use super::report::ScoreReport;
use super::side::{Side, SideAccumulator};
use super::source::{Input, Source};
use crate::features::{Extractor, FeatureFile, ProtocolSetup, run_over_images};
use crate::images::{ImageBatches, ImageList};
use crate::metrics::FidStats;
use crate::models::Protocol;
use crate::options::{ExecOptions, ImageOptions};
use crate::progress::Progress;
use crate::runtime::{Runtime, RuntimeConfig};

/// Which model a pass runs, and so where the report records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// The feature extractor: its provenance, resize mode and provider are the report's.
    Extractor,
    /// A separate IS classifier: recorded beside the extractor.
    Classifier,
}

/// One streaming pass over image files.
pub(super) struct Pass<'a> {
    pub(super) role: Role,
    pub(super) model: &'a Path,
    /// How messages name the side.
    pub(super) name: String,
    /// The progress stage's label.
    pub(super) stage: &'a str,
    pub(super) needs: Needs,
    pub(super) skip_bad: bool,
}

/// The runtime and the models, opened once and kept.
pub struct Scorer {
    runtime_config: RuntimeConfig,
    runtime: Option<Runtime>,
    pub(super) batch_size: usize,
    pub(super) images: ImageOptions,
    /// Every model opened so far.
    pub(super) models: Vec<Extractor>,
    /// The default extractor, once it was looked up in the model cache.
    default_extractor: Option<PathBuf>,
}

impl Scorer {
    /// Opens nothing yet: the runtime and each model load on first use.
    pub fn new(exec: ExecOptions, images: ImageOptions) -> Scorer {
        Scorer {
            runtime_config: exec.runtime,
            runtime: None,
            batch_size: exec.batch_size,
            images,
            models: Vec::new(),
            default_extractor: None,
        }
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Changes the batch size of the passes from here on (an ablation config's `batch_size`).
    pub fn set_batch_size(&mut self, batch_size: usize) {
        self.batch_size = batch_size;
    }

    /// Feeds the models under `protocol` from here on, unless the command
    /// line named one (an ablation config's `protocol`).
    pub fn default_protocol(&mut self, protocol: &Protocol) {
        self.images.protocol.get_or_insert_with(|| protocol.clone());
    }

    pub fn images(&self) -> &ImageOptions {
        &self.images
    }

    /// ONNX Runtime, loaded on first use.
    pub fn runtime(&mut self) -> anyhow::Result<&Runtime> {
        load_runtime(&mut self.runtime, &self.runtime_config)
    }

    /// The ONNX Runtime version, when it was loaded.
    pub fn onnxruntime(&self) -> Option<String> {
        self.runtime.as_ref().map(Runtime::version)
    }

    /// The extractor that reads images: `given` (`--extractor`, a config's
    /// `extractor`), else the default every command shares — pytorch-fid's
    /// FID Inception from the model cache, fetched on first use. Asked only
    /// when images are to be read, so statistics and feature files fetch nothing.
    pub fn extractor(
        &mut self,
        given: Option<&Path>,
        progress: &dyn Progress,
    ) -> anyhow::Result<PathBuf> {
        if let Some(path) = given.or(self.default_extractor.as_deref()) {
            return Ok(path.to_path_buf());
        }
        let path = crate::models::default_extractor(progress)?;
        Ok(self.default_extractor.insert(path).clone())
    }

    /// The model at `path`, opened on first use.
    pub(super) fn model(&mut self, path: &Path) -> anyhow::Result<&mut Extractor> {
        let index = match self.models.iter().position(|m| m.path() == path) {
            Some(index) => index,
            None => {
                let runtime = load_runtime(&mut self.runtime, &self.runtime_config)?;
                let model = Extractor::open(runtime, path)?;
                self.models.push(model);
                self.models.len() - 1
            }
        };
        Ok(&mut self.models[index])
    }

    /// `--real` against the evaluated set (`fid`, `is`, `kid`, `score`).
    pub fn score(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Input>,
        fake: &Input,
        progress: &dyn Progress,
    ) -> anyhow::Result<ScoreReport> {
        options.check()?;
        // Both sides are checked before either is read.
        let real = self.classify_reference(options, real)?;
        let fake_source = classify_evaluated(options, fake)?;
        let mut report = ScoreReport::new(self.batch_size);
        let real_side = match &real {
            Some((input, source)) => {
                Some(self.side(options, source, input, progress, &mut report)?)
            }
            None => None,
        };
        let fake_side = self.evaluated(options, &fake_source, fake, progress, &mut report)?;
        self.finish(options, real_side.as_ref(), &fake_side, report, progress)
    }

    /// The evaluated set against a reference side computed once before
    /// (every folder variant of an ablation).
    pub fn score_against(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Side>,
        fake: &Input,
        progress: &dyn Progress,
    ) -> anyhow::Result<ScoreReport> {
        options.check()?;
        let fake_source = classify_evaluated(options, fake)?;
        let mut report = ScoreReport::new(self.batch_size);
        let fake_side = self.evaluated(options, &fake_source, fake, progress, &mut report)?;
        self.finish(options, real, &fake_side, report, progress)
    }

    /// The reference side as the metrics need it (`None` when they compare
    /// nothing), its pass recorded in `report`: computed once for several
    /// evaluated sets (every variant of an ablation).
    pub fn reference(
        &mut self,
        options: &ScoringOptions,
        real: Option<&Input>,
        progress: &dyn Progress,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Option<Side>> {
        match self.classify_reference(options, real)? {
            Some((input, source)) => {
                Ok(Some(self.side(options, &source, &input, progress, report)?))
            }
            None => Ok(None),
        }
    }

    /// The reference side classified and checked, when the metrics need one.
    pub(super) fn classify_reference(
        &self,
        options: &ScoringOptions,
        real: Option<&Input>,
    ) -> anyhow::Result<Option<(Input, Source)>> {
        let needs = options.requirements().real;
        if !needs.any() {
            return Ok(None);
        }
        let real = real.context(
            "FID, FID∞, KID and PRDC compare two sets: pass --real (a folder, statistics .npz or feature file)",
        )?;
        let source = Source::classify(real)?;
        check_source(options, &real.flag, &source)?;
        source.check(needs)?;
        Ok(Some((real.clone(), source)))
    }

    /// The reference side as the metrics need it.
    pub(super) fn side(
        &mut self,
        options: &ScoringOptions,
        source: &Source,
        input: &Input,
        progress: &dyn Progress,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        let needs = options.requirements().real;
        self.side_of(options, source, input, needs, "real", progress, report)
    }

    /// What a classified source yields for `needs`.
    #[allow(clippy::too_many_arguments)]
    fn side_of(
        &mut self,
        options: &ScoringOptions,
        source: &Source,
        input: &Input,
        needs: Needs,
        stage: &str,
        progress: &dyn Progress,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        let name = input.label();
        if !needs.any() {
            return Ok(Side {
                label: name,
                ..Side::default()
            });
        }
        match source {
            Source::Stats(path) => Ok(Side::from_stats(name, FidStats::read_npz(path)?)),
            Source::Features(path) => {
                Side::from_features(name, &FeatureFile::read(path)?, path, needs, &options.is)
            }
            Source::Folder { images, .. } => {
                let model = self.extractor(options.extractor.as_deref(), progress)?;
                let pass = Pass {
                    role: Role::Extractor,
                    model: &model,
                    name,
                    stage,
                    needs,
                    skip_bad: self.images.skip_bad,
                };
                self.pass(&pass, images.clone(), &options.is, progress, report)
            }
        }
    }

    /// The evaluated side, with IS logits from the classifier when there is one.
    fn evaluated(
        &mut self,
        options: &ScoringOptions,
        source: &Source,
        input: &Input,
        progress: &dyn Progress,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        let requirements = options.requirements();
        let mut side = self.side_of(
            options,
            source,
            input,
            requirements.fake,
            "fake",
            progress,
            report,
        )?;
        if let (true, Source::Folder { images, .. }, Some(classifier)) =
            (requirements.classifier, source, &options.classifier)
        {
            let pass = Pass {
                role: Role::Classifier,
                model: classifier,
                name: input.label(),
                stage: "classify",
                needs: Needs {
                    logits: true,
                    ..Needs::default()
                },
                skip_bad: self.images.skip_bad,
            };
            let classified = self.pass(&pass, images.clone(), &options.is, progress, report)?;
            side.logits = classified.logits;
        }
        Ok(side)
    }

    /// The metrics of the two sides, with the runtime's version.
    pub(super) fn finish(
        &self,
        options: &ScoringOptions,
        real: Option<&Side>,
        fake: &Side,
        mut report: ScoreReport,
        progress: &dyn Progress,
    ) -> anyhow::Result<ScoreReport> {
        measure(options, real, fake, &mut report, progress)?;
        report.onnxruntime = self.onnxruntime();
        Ok(report)
    }

    /// One streaming pass of `paths` through a model, recorded in `report`.
    pub(super) fn pass(
        &mut self,
        pass: &Pass,
        paths: ImageList,
        is: &IsOptions,
        progress: &dyn Progress,
        report: &mut ScoreReport,
    ) -> anyhow::Result<Side> {
        let (images, batch_size) = (self.images.clone(), self.batch_size);
        let model = self.model(pass.model)?;
        let setup = setup(model, &images)?;
        let outputs = outputs(model, &setup, pass.needs, is)?;
        record(report, pass.role, model, &setup);
        let total = paths.len();
        let batches =
            ImageBatches::new(paths, setup.preprocess.clone(), batch_size, pass.skip_bad)?;
        let stage = progress.stage(pass.stage, total);
        let mut side = SideAccumulator::new(pass.needs);
        let names = outputs.names();
        let summary = run_over_images(
            model,
            batches,
            &names,
            &|n| stage.advance(n),
            |paths, arrays| {
                side.count(paths.len());
                side.add_files(paths.iter().cloned().map(Some));
                feed(&outputs, arrays, &mut side)
            },
        )?;
        drop(stage);
        record_drift(report, model);
        if summary.images == 0 {
            bail!(
                "{}: no readable images (all {} were skipped); check the folder",
                pass.name,
                summary.skipped.len()
            );
        }
        report.skipped_images += summary.skipped.len();
        side.finish(pass.name.clone(), setup.is)
    }
}

fn load_runtime<'a>(
    slot: &'a mut Option<Runtime>,
    config: &RuntimeConfig,
) -> anyhow::Result<&'a Runtime> {
    let runtime = match slot.take() {
        Some(runtime) => runtime,
        None => Runtime::load(config.clone())?,
    };
    Ok(slot.insert(runtime))
}

/// The evaluated source, refused when the metrics cannot use it, before any model runs.
fn classify_evaluated(options: &ScoringOptions, input: &Input) -> anyhow::Result<Source> {
    let source = Source::classify(input)?;
    let requirements = options.requirements();
    check_source(options, &input.flag, &source)?;
    source.check(requirements.fake)?;
    let folder = matches!(source, Source::Folder { .. });
    if requirements.classifier && !folder {
        bail!(
            "--classifier runs on images: pass an image folder, or drop --classifier to use the logits stored in {}",
            source.path().display()
        );
    }
    Ok(source)
}

/// Records in `report` that `model` ran in `role` as `setup` says: the
/// extractor's protocol and resize are the report's (a classifier's stand
/// in its provenance), and a note when `--resize` replaced a protocol's.
pub(super) fn record(
    report: &mut ScoreReport,
    role: Role,
    model: &Extractor,
    setup: &ProtocolSetup,
) {
    let (protocol, resize) = (
        setup.protocol.to_string(),
        setup.preprocess.resize.to_string(),
    );
    match role {
        Role::Extractor => {
            report.extractor = Some(provenance(model, setup));
            report.protocol = Some(protocol);
            report.resize = Some(resize);
            report.provider = Some(model.provider().to_string());
            report.devices = match model.devices() {
                1 => Vec::new(),
                _ => model.device_names(),
            };
        }
        Role::Classifier => {
            report.classifier = Some(provenance(model, setup));
            report.protocol.get_or_insert(protocol);
            report.resize.get_or_insert(resize);
            report
                .provider
                .get_or_insert_with(|| model.provider().to_string());
        }
    }
    if let Some(note) = setup.override_note()
        && !report.warnings.contains(&note)
    {
        report.warnings.push(note);
    }
}

/// Adds to `report`'s warnings, once, what reduced `--precision` measured
/// on `model`'s first batch.
pub(super) fn record_drift(report: &mut ScoreReport, model: &Extractor) {
    if let Some(note) = model.drift()
        && !report.warnings.iter().any(|w| w == note)
    {
        report.warnings.push(note.to_string());
    }
}

/// Hands one batch's outputs to the side.
pub(super) fn feed(
    outputs: &Outputs,
    arrays: &[Array2<f32>],
    side: &mut SideAccumulator,
) -> anyhow::Result<()> {
    let array = |index: usize| {
        arrays
            .get(index)
            .with_context(|| format!("the model returned no output `{}`", outputs.names[index]))
    };
    if let Some(index) = outputs.pool {
        side.add_pool(array(index)?)?;
    }
    if let Some(index) = outputs.logits {
        side.add_logits(array(index)?)?;
    }
    Ok(())
}
