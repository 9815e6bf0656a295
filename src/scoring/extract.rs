//! Whole folders (or file lists) through the extractor for the commands
//! that keep what it outputs rather than score it: `stats` (FID statistics),
//! `extract` (every output, for later runs) and `tsne` (pool features).

use std::path::{Path, PathBuf};

use anyhow::Context;
use ndarray::Array2;

use super::metric::Needs;
use super::model::{pool_output, setup};
use super::options::IsOptions;
use super::report::ScoreReport;
use super::scorer::{Pass, Role, Scorer};
use super::source::Input;
use crate::features::{FeatureFile, FeatureStore, run_over_images};
use crate::images::{ImageBatches, ImageList, ResizeMode, image_list};
use crate::metrics::FidStats;
use crate::models::Protocol;
use crate::progress::{Progress, Silent};
use crate::runtime::Provider;
use crate::shard::{Partial, PartialHeader, PartialKind, Shard, path_plan};

/// Every output of the extractor for every image of a folder (`extract`).
pub struct Extraction {
    pub features: FeatureFile,
    /// The outputs kept, in the model's order.
    pub outputs: Vec<String>,
    pub skipped: usize,
    /// The scoring protocol the images were fed under, and its resize (or `--resize`'s).
    pub protocol: Protocol,
    pub resize: ResizeMode,
    pub provider: Provider,
    /// Things a reader should know (a `--resize` that replaced the protocol's).
    pub warnings: Vec<String>,
}

/// Which of the extractor's outputs a pass keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kept {
    /// Every output (`extract`).
    All,
    /// The pool features (`stats`' shards).
    Pool,
}

/// FID statistics of a folder (`stats`) and how they were made.
pub struct Statistics {
    pub stats: FidStats,
    /// Unreadable images skipped under `--skip-bad`.
    pub skipped: usize,
    /// The scoring protocol the images were fed under.
    pub protocol: String,
    /// Things a reader should know (a `--resize` that replaced the protocol's).
    pub warnings: Vec<String>,
}

/// A model as a run used it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelRun {
    pub path: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub resize: Option<String>,
    pub provider: String,
}

impl Scorer {
    /// FID statistics of a folder (`stats`); `extractor` `None`: the default.
    pub fn statistics(
        &mut self,
        extractor: Option<&Path>,
        folder: &Input,
        progress: &dyn Progress,
    ) -> anyhow::Result<Statistics> {
        let extractor = self.extractor(extractor, progress)?;
        let pass = Pass {
            role: Role::Extractor,
            model: &extractor,
            name: folder.label(),
            stage: "stats",
            needs: Needs {
                stats: true,
                ..Needs::default()
            },
            skip_bad: self.images.skip_bad,
        };
        let mut report = ScoreReport::new(self.batch_size);
        let paths = image_list(&folder.path)?;
        let side = self.pass(&pass, paths, &IsOptions::default(), progress, &mut report)?;
        let stats = side
            .stats
            .with_context(|| format!("{}: no statistics formed", folder.label()))?;
        Ok(Statistics {
            stats,
            skipped: report.skipped_images,
            protocol: report.protocol.unwrap_or_default(),
            warnings: report.warnings,
        })
    }

    /// The pool features of `files`, in order, none skipped (`tsne`);
    /// `extractor` `None`: the default.
    pub fn pool_features(
        &mut self,
        extractor: Option<&Path>,
        files: Vec<PathBuf>,
        name: &str,
        progress: &dyn Progress,
    ) -> anyhow::Result<Array2<f32>> {
        let extractor = self.extractor(extractor, progress)?;
        let pass = Pass {
            role: Role::Extractor,
            model: &extractor,
            name: name.to_string(),
            stage: name,
            needs: Needs {
                pool: true,
                ..Needs::default()
            },
            skip_bad: false,
        };
        let mut report = ScoreReport::new(self.batch_size);
        let side = self.pass(
            &pass,
            files.into(),
            &IsOptions::default(),
            progress,
            &mut report,
        )?;
        side.pool
            .map(crate::features::Features::into_owned)
            .with_context(|| format!("--set {name}: no features were computed"))
    }

    /// Every output of the extractor for every image of a folder
    /// (`extract`); `extractor` `None`: the default.
    pub fn extract(
        &mut self,
        extractor: Option<&Path>,
        folder: &Path,
        progress: &dyn Progress,
    ) -> anyhow::Result<Extraction> {
        let paths = image_list(folder)?;
        self.extract_files(extractor, paths, Kept::All, progress)
    }

    /// One shard of `stats` (`kind` [`PartialKind::Stats`]: the pool
    /// features) or `extract` (every output and the file names) over a
    /// folder: its partial result, and the extraction it holds.
    pub fn folder_shard(
        &mut self,
        kind: PartialKind,
        extractor: Option<&Path>,
        folder: &Path,
        shard: Shard,
        progress: &dyn Progress,
    ) -> anyhow::Result<(Partial, Extraction)> {
        let all = image_list(folder)?;
        let mut header = PartialHeader::new(kind, shard, all.len(), path_plan(&all));
        let paths = all.slice(shard.range(all.len()));
        let kept = match kind {
            PartialKind::Stats => Kept::Pool,
            _ => Kept::All,
        };
        let mut extraction = self.extract_files(extractor, paths, kept, progress)?;
        let model = self.describe(extractor)?;
        let provenance = [
            ("extractor", model.path),
            ("extractor sha256", model.sha256),
            ("protocol", extraction.protocol.to_string()),
            ("resize mode", extraction.resize.to_string()),
            ("provider", extraction.provider.to_string()),
            ("outputs", extraction.outputs.join(" ")),
        ];
        header
            .provenance
            .extend(provenance.map(|(k, v)| (k.to_string(), v)));
        header.skipped = extraction.skipped;
        if kind == PartialKind::Stats {
            extraction.features.files.clear();
        }
        let partial = Partial {
            header,
            data: extraction.features.clone(),
        };
        Ok((partial, extraction))
    }

    /// The extractor's outputs (`kept`) for `paths`, in order.
    fn extract_files(
        &mut self,
        extractor: Option<&Path>,
        paths: ImageList,
        kept: Kept,
        progress: &dyn Progress,
    ) -> anyhow::Result<Extraction> {
        let (images, batch_size) = (self.images.clone(), self.batch_size);
        let extractor = self.extractor(extractor, progress)?;
        let model = self.model(&extractor)?;
        let names: Vec<String> = match kept {
            Kept::All => model
                .manifest()
                .outputs
                .iter()
                .map(|o| o.name.clone())
                .collect(),
            Kept::Pool => vec![pool_output(model)?],
        };
        let outputs: Vec<&str> = names.iter().map(String::as_str).collect();
        let setup = setup(model, &images)?;
        let stage = progress.stage("extract", paths.len());
        let batches =
            ImageBatches::new(paths, setup.preprocess.clone(), batch_size, images.skip_bad)?;
        // Rows go straight into one growing buffer per output (never
        // spilled: the feature file is written from memory), so the pass
        // holds each output once rather than its batches and then a copy.
        let mut stores: Vec<FeatureStore> = outputs
            .iter()
            .map(|_| FeatureStore::with_limit(usize::MAX))
            .collect();
        let mut files = Vec::new();
        let summary = run_over_images(
            model,
            batches,
            &outputs,
            &|n| stage.advance(n),
            |batch_paths, arrays| {
                files.extend(batch_paths.iter().cloned());
                for (store, array) in stores.iter_mut().zip(arrays) {
                    store.push(array.view())?;
                }
                anyhow::Ok(())
            },
        )?;
        drop(stage);
        let mut arrays = Vec::new();
        for (name, store) in names.iter().cloned().zip(stores) {
            let array = match store.finish()? {
                Some(rows) => rows.into_owned(),
                None => Array2::zeros((0, 0)),
            };
            arrays.push((name, array));
        }
        Ok(Extraction {
            features: FeatureFile { arrays, files },
            outputs: names,
            skipped: summary.skipped.len(),
            warnings: setup.override_note().into_iter().collect(),
            resize: setup.preprocess.resize,
            protocol: setup.protocol,
            provider: model.provider(),
        })
    }

    /// The extractor's provenance as a pass records it: path, hash,
    /// protocol, resize mode, provider; `extractor` `None`: the default.
    pub fn describe(&mut self, extractor: Option<&Path>) -> anyhow::Result<ModelRun> {
        let images = self.images.clone();
        let extractor = self.extractor(extractor, &Silent)?;
        let model = self.model(&extractor)?;
        let setup = setup(model, &images).ok();
        Ok(ModelRun {
            path: model.path().display().to_string(),
            sha256: model.sha256().to_string(),
            protocol: setup.as_ref().map(|s| s.protocol.to_string()),
            resize: setup.as_ref().map(|s| s.preprocess.resize.to_string()),
            provider: model.provider().to_string(),
        })
    }
}
