//! The model cache: models the tool fetched and converted itself, kept under
//! the user's cache folder (`$XDG_CACHE_HOME/stackgan-eval`, else
//! `$HOME/.cache/stackgan-eval`) as pytorch-fid keeps its weights under
//! torch's. Each entry is a folder named after the model holding the model,
//! its manifest and a record of where the weights came from. An entry is
//! built in a temporary folder beside it and renamed into place whole, so a
//! folder of that name is always complete: a fetch that fails or is cut off
//! leaves nothing under the entry's name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ExpectedSha256, FetchError};

/// The cache's folder under the user's cache folder.
pub const CACHE_FOLDER: &str = "stackgan-eval";

/// The record of an entry's origin, written last into its folder.
pub const RECORD_FILE: &str = "fetched.json";

/// How long a staging folder may go untouched before it counts as left by a
/// killed process (a download that slow would be no download).
const STALE_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Where the cache is and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCache {
    root: PathBuf,
}

/// Where a cached model's weights came from, as its `fetched.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FetchRecord {
    /// The cache entry's name (`fid-inception`).
    pub model: String,
    /// The weight file's name (`pt_inception-2015-12-05-6726825d.pth`).
    pub weights: String,
    /// The address it was downloaded from, or the file it was read from (`--from`).
    pub source: String,
    /// SHA-256 of the weight file, in full.
    pub weights_sha256: String,
    /// Size of the weight file in bytes.
    pub weights_bytes: u64,
    /// SHA-256 of the converted `.onnx` (its manifest records the same).
    pub onnx_sha256: String,
    /// Size of the `.onnx` in bytes.
    pub onnx_bytes: u64,
    /// The stackgan-eval version that converted it.
    pub tool_version: String,
}

/// A complete cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedModel {
    /// The `.onnx`; its manifest is beside it.
    pub onnx: PathBuf,
    pub record: FetchRecord,
}

impl CachedModel {
    /// Whether the weights it was made from are the ones `expected` names.
    pub fn made_from(&self, expected: &ExpectedSha256) -> bool {
        expected.matches(&self.record.weights_sha256)
    }
}

impl ModelCache {
    /// The cache at `root` (for callers that choose it themselves).
    pub fn at(root: impl Into<PathBuf>) -> ModelCache {
        ModelCache { root: root.into() }
    }

    /// The user's cache: `$XDG_CACHE_HOME/stackgan-eval` when that variable
    /// holds an absolute path (the XDG rule), else `$HOME/.cache/stackgan-eval`.
    pub fn from_env() -> Result<ModelCache, FetchError> {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let base = var("XDG_CACHE_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|home| home.join(".cache")))
            .ok_or(FetchError::NoCacheFolder)?;
        Ok(ModelCache::at(base.join(CACHE_FOLDER)))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of the entry called `name`.
    pub fn entry(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The `.onnx` of the entry called `name` (its manifest beside it).
    pub fn onnx_path(&self, name: &str) -> PathBuf {
        self.entry(name).join(format!("{name}.onnx"))
    }

    /// The entry called `name`, when it is complete and readable.
    pub fn cached(&self, name: &str) -> Option<CachedModel> {
        let onnx = self.onnx_path(name);
        let text = std::fs::read_to_string(self.entry(name).join(RECORD_FILE)).ok()?;
        let record: FetchRecord = serde_json::from_str(&text).ok()?;
        let complete = onnx.is_file() && super::manifest_path(&onnx).is_file();
        (complete && record.model == name).then_some(CachedModel { onnx, record })
    }

    /// Every complete entry, by name.
    pub fn list(&self) -> Result<Vec<CachedModel>, FetchError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.unusable(&e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        names.sort();
        Ok(names.iter().filter_map(|name| self.cached(name)).collect())
    }

    /// A fresh temporary folder inside the cache, removed when dropped
    /// unless [`ModelCache::install`] moves it into place. Staging folders
    /// of `name` a killed process left (untouched for a day) are removed first.
    pub(super) fn staging(&self, name: &str) -> Result<tempfile::TempDir, FetchError> {
        std::fs::create_dir_all(&self.root).map_err(|e| self.unusable(&e))?;
        self.sweep(name);
        tempfile::Builder::new()
            .prefix(&format!(".{name}-"))
            .tempdir_in(&self.root)
            .map_err(|e| self.unusable(&e))
    }

    /// Removes staging folders of `name` untouched for [`STALE_AFTER`]; a
    /// folder that cannot be removed is left for the next time.
    fn sweep(&self, name: &str) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        let prefix = format!(".{name}-");
        for entry in entries.filter_map(Result::ok) {
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age > STALE_AFTER);
            if stale && entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }

    /// Moves a staged entry into place as `name`, replacing an incomplete
    /// or outdated one. The record is written last, into the staging folder,
    /// so the rename publishes the entry whole. When another process cached
    /// the same model meanwhile, that entry stays and the staged one goes.
    pub(super) fn install(
        &self,
        staged: tempfile::TempDir,
        name: &str,
        record: &FetchRecord,
    ) -> Result<CachedModel, FetchError> {
        let text = serde_json::to_string_pretty(record).map_err(|e| FetchError::Cache {
            path: self.root.clone(),
            reason: format!("cannot write the record: {e}"),
        })?;
        let record_path = staged.path().join(RECORD_FILE);
        crate::atomic::write_bytes_atomically(&record_path, format!("{text}\n").as_bytes())
            .map_err(|e| self.unusable(&e))?;
        if let Some(cached) = self.cached(name)
            && cached.record.weights_sha256 == record.weights_sha256
        {
            return Ok(cached);
        }
        let entry = self.entry(name);
        if entry.exists() {
            std::fs::remove_dir_all(&entry).map_err(|e| FetchError::Cache {
                path: entry.clone(),
                reason: format!("the old entry cannot be replaced ({e})"),
            })?;
        }
        std::fs::rename(staged.path(), &entry).map_err(|e| self.unusable(&e))?;
        // The folder is in place: nothing is left to remove.
        let _ = staged.keep();
        self.cached(name).ok_or_else(|| FetchError::Cache {
            path: entry,
            reason: "the entry is incomplete after it was written".into(),
        })
    }

    fn unusable(&self, error: &std::io::Error) -> FetchError {
        FetchError::Cache {
            path: self.root.clone(),
            reason: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> FetchRecord {
        FetchRecord {
            model: name.into(),
            weights: "w.pth".into(),
            source: "http://127.0.0.1/w.pth".into(),
            weights_sha256: "6726825dabcdef".into(),
            weights_bytes: 4,
            onnx_sha256: "00".into(),
            onnx_bytes: 2,
            tool_version: "0".into(),
        }
    }

    #[test]
    fn an_entry_appears_whole_and_only_once_installed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path().join(CACHE_FOLDER));
        assert!(cache.list().unwrap().is_empty(), "no cache folder yet");
        let staged = cache.staging("m").unwrap();
        std::fs::write(staged.path().join("m.onnx"), b"on").unwrap();
        std::fs::write(staged.path().join("m.toml"), b"").unwrap();
        assert!(cache.cached("m").is_none(), "staging is not the entry");
        assert!(cache.list().unwrap().is_empty(), "staging is not listed");
        let cached = cache.install(staged, "m", &record("m")).unwrap();
        assert_eq!(cached.onnx, cache.onnx_path("m"));
        let made_from = |hex: &str| cached.made_from(&hex.parse().unwrap());
        assert!(made_from("6726825D"));
        assert!(!made_from("00000000"));
        assert_eq!(cache.list().unwrap(), vec![cached]);
        let left: Vec<_> = std::fs::read_dir(cache.root()).unwrap().collect();
        assert_eq!(left.len(), 1, "the staging folder became the entry");
        // Another process cached the same weights meanwhile: its entry stays.
        let late = cache.staging("m").unwrap();
        std::fs::write(late.path().join("m.onnx"), b"late").unwrap();
        std::fs::write(late.path().join("m.toml"), b"").unwrap();
        cache.install(late, "m", &record("m")).unwrap();
        assert_eq!(std::fs::read(cache.onnx_path("m")).unwrap(), b"on");
        assert_eq!(std::fs::read_dir(cache.root()).unwrap().count(), 1);
    }

    #[test]
    fn a_dropped_staging_folder_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path());
        let staged = cache.staging("m").unwrap();
        std::fs::write(staged.path().join("half.pth"), b"12").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn staging_folders_a_killed_process_left_are_swept_after_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path());
        let (old, fresh, other) = (
            dir.path().join(".m-killed"),
            dir.path().join(".m-running"),
            dir.path().join(".n-killed"),
        );
        for folder in [&old, &fresh, &other] {
            std::fs::create_dir(folder).unwrap();
        }
        let two_days_ago = std::time::SystemTime::now() - 2 * STALE_AFTER;
        for folder in [&old, &other] {
            std::fs::File::open(folder)
                .unwrap()
                .set_modified(two_days_ago)
                .unwrap();
        }
        let staged = cache.staging("m").unwrap();
        assert!(!old.exists(), "a day old: swept");
        assert!(fresh.exists(), "maybe another fetch under way: kept");
        assert!(other.exists(), "another model's: kept");
        drop(staged);
    }

    #[test]
    fn an_entry_missing_its_manifest_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ModelCache::at(dir.path());
        let staged = cache.staging("m").unwrap();
        std::fs::write(staged.path().join("m.onnx"), b"on").unwrap();
        std::fs::write(staged.path().join("m.toml"), b"").unwrap();
        cache.install(staged, "m", &record("m")).unwrap();
        std::fs::remove_file(cache.entry("m").join("m.toml")).unwrap();
        assert!(cache.cached("m").is_none());
    }
}
