//! Whole folders (or file lists) through the extractor for the commands
//! that keep what it outputs rather than score it: `stats` (FID statistics),
//! `extract` (every output, for later runs) and `tsne` (pool features).

use std::path::{Path, PathBuf};

use anyhow::Context;
use ndarray::Array2;

use super::metric::Needs;
use super::model::preparation;
use super::options::IsOptions;
use super::report::ScoreReport;
use super::scorer::{Pass, Role, Scorer};
use super::side::stack;
use super::source::Input;
use crate::features::{FeatureFile, run_over_images};
use crate::images::{ImageBatches, ResizeMode, list_images};
use crate::metrics::FidStats;
use crate::progress::Progress;
use crate::runtime::Provider;

/// Every output of the extractor for every image of a folder (`extract`).
pub struct Extraction {
    pub features: FeatureFile,
    /// The outputs kept, in the model's order.
    pub outputs: Vec<String>,
    pub skipped: usize,
    pub resize: ResizeMode,
    pub provider: Provider,
}

/// A model as a run used it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelRun {
    pub path: String,
    pub sha256: String,
    pub resize: Option<String>,
    pub provider: String,
}

impl Scorer {
    /// FID statistics of a folder (`stats`); returns them and the count of skipped images.
    pub fn statistics(
        &mut self,
        extractor: &Path,
        folder: &Input,
        progress: &dyn Progress,
    ) -> anyhow::Result<(FidStats, usize)> {
        let pass = Pass {
            role: Role::Extractor,
            model: extractor,
            name: folder.label(),
            stage: "stats",
            needs: Needs {
                stats: true,
                ..Needs::default()
            },
            skip_bad: self.images.skip_bad,
        };
        let mut report = ScoreReport::new(self.batch_size);
        let paths = list_images(&folder.path)?;
        let side = self.pass(&pass, paths, &IsOptions::default(), progress, &mut report)?;
        let stats = side
            .stats
            .with_context(|| format!("{}: no statistics formed", folder.label()))?;
        Ok((stats, report.skipped_images))
    }

    /// The pool features of `files`, in order, none skipped (`tsne`).
    pub fn pool_features(
        &mut self,
        extractor: &Path,
        files: Vec<PathBuf>,
        name: &str,
        progress: &dyn Progress,
    ) -> anyhow::Result<Array2<f32>> {
        let pass = Pass {
            role: Role::Extractor,
            model: extractor,
            name: name.to_string(),
            stage: name,
            needs: Needs {
                pool: true,
                ..Needs::default()
            },
            skip_bad: false,
        };
        let mut report = ScoreReport::new(self.batch_size);
        let side = self.pass(&pass, files, &IsOptions::default(), progress, &mut report)?;
        side.pool
            .with_context(|| format!("--set {name}: no features were computed"))
    }

    /// Every output of the extractor for every image of a folder (`extract`).
    pub fn extract(
        &mut self,
        extractor: &Path,
        folder: &Path,
        progress: &dyn Progress,
    ) -> anyhow::Result<Extraction> {
        let (resize, batch_size, skip_bad) =
            (self.images.resize, self.batch_size, self.images.skip_bad);
        let model = self.model(extractor)?;
        let names: Vec<String> = model
            .manifest()
            .outputs
            .iter()
            .map(|o| o.name.clone())
            .collect();
        let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (mode, preprocess) = preparation(model, resize)?;
        let paths = list_images(folder)?;
        let stage = progress.stage("extract", paths.len());
        let batches = ImageBatches::new(paths, preprocess, batch_size, skip_bad)?;
        let mut parts: Vec<Vec<Array2<f32>>> = vec![Vec::new(); outputs.len()];
        let mut files = Vec::new();
        let summary = run_over_images(
            model,
            batches,
            &outputs,
            &|n| stage.advance(n),
            |batch_paths, arrays| {
                files.extend(batch_paths.iter().cloned());
                for (part, array) in parts.iter_mut().zip(arrays) {
                    part.push(array.clone());
                }
                anyhow::Ok(())
            },
        )?;
        drop(stage);
        let mut arrays = Vec::new();
        for (name, part) in names.iter().cloned().zip(parts) {
            arrays.push((name, stack(&part)?));
        }
        Ok(Extraction {
            features: FeatureFile { arrays, files },
            outputs: names,
            skipped: summary.skipped.len(),
            resize: mode,
            provider: model.provider(),
        })
    }

    /// The extractor's provenance as a pass records it: path, hash, resize mode, provider.
    pub fn describe(&mut self, extractor: &Path) -> anyhow::Result<ModelRun> {
        let resize = self.images.resize;
        let model = self.model(extractor)?;
        Ok(ModelRun {
            path: model.path().display().to_string(),
            sha256: model.sha256().to_string(),
            resize: model.resize_mode(resize).ok().map(|r| r.to_string()),
            provider: model.provider().to_string(),
        })
    }
}
