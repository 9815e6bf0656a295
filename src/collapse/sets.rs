//! What a `--set NAME=SOURCE` holds — an image folder, a `generate` run (read
//! at its highest branch) or a feature file — subsampled with the map's seed.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ndarray::{Array2, Axis};

use crate::features::FeatureFile;
use crate::generate::SAMPLES_CSV;
use crate::images::list_images;
use crate::rng::NumpyRandomState;

/// One set's samples, before any model runs.
pub(super) enum SetPlan {
    /// Image files, to go through the extractor.
    Images(Vec<PathBuf>),
    /// Stored features, and the image file of each row where it still exists.
    Features {
        features: Array2<f32>,
        files: Vec<Option<PathBuf>>,
    },
}

impl SetPlan {
    pub(super) fn len(&self) -> usize {
        match self {
            SetPlan::Images(files) => files.len(),
            SetPlan::Features { features, .. } => features.nrows(),
        }
    }

    /// What `source` holds, at most `samples` of it drawn with `seed`.
    pub(super) fn read(
        name: &str,
        source: &Path,
        samples: Option<usize>,
        seed: u64,
    ) -> anyhow::Result<SetPlan> {
        if source.is_dir() {
            let folder = run_branch_folder(source);
            let files = list_images(&folder).with_context(|| format!("--set {name}"))?;
            let keep = subsample(files.len(), samples, seed);
            return Ok(SetPlan::Images(
                keep.into_iter().map(|i| files[i].clone()).collect(),
            ));
        }
        if !source.exists() {
            bail!(
                "--set {name}={}: no such file or folder; pass an image folder, a generate run or a feature file",
                source.display()
            );
        }
        let file = FeatureFile::read(source).with_context(|| format!("--set {name}"))?;
        let pool = file
            .require(source, "pool")
            .with_context(|| format!("--set {name}"))?;
        let keep = subsample(pool.nrows(), samples, seed);
        let features = pool.select(Axis(0), &keep);
        let files = keep
            .iter()
            .map(|&i| file.files.get(i).map(PathBuf::from).filter(|p| p.is_file()))
            .collect();
        Ok(SetPlan::Features { features, files })
    }
}

/// A `generate` run (a folder with samples.csv) is read at its highest branch.
fn run_branch_folder(folder: &Path) -> PathBuf {
    if !folder.join(SAMPLES_CSV).is_file() {
        return folder.to_path_buf();
    }
    std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let resolution: u32 = e.file_name().to_str()?.parse().ok()?;
            e.path().is_dir().then_some((resolution, e.path()))
        })
        .max_by_key(|(r, _)| *r)
        .map(|(_, p)| p)
        .unwrap_or_else(|| folder.to_path_buf())
}

/// Indices kept: all, or `limit` drawn with numpy's RandomState(seed), in file order.
fn subsample(n: usize, limit: Option<usize>, seed: u64) -> Vec<usize> {
    match limit {
        Some(limit) if limit < n => {
            let mut keep = NumpyRandomState::new(seed as u32).choice_without_replacement(n, limit);
            keep.sort_unstable();
            keep
        }
        _ => (0..n).collect(),
    }
}
