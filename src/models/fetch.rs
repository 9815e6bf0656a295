//! Fetch on first use, as pytorch-fid does: the published weights are
//! downloaded from the address pytorch-fid uses (or a mirror, or read from a
//! file given with `--from`), checked against the SHA-256 that torch hub's
//! naming puts in the file name (the 8 hex digits before `.pth` are the start
//! of the file's SHA-256), converted natively, and cached with a record of
//! the full hash. The download goes into a temporary folder in the cache and
//! only a converted, verified entry is renamed into place; every error
//! removes the temporary folder, so a failed or cut-off download leaves
//! nothing behind.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::cache::{CachedModel, FetchRecord, ModelCache};
use super::verify::{file_sha256, hex};
use crate::convert::{ConvertError, InceptionKind, ModelKind, read_checkpoint};
use crate::progress::Progress;

/// Points every fetch at a mirror of the weight file (`--url` on `models fetch`).
pub const URL_VAR: &str = "STACKGAN_EVAL_WEIGHTS_URL";
/// The SHA-256 (or its first 8 or more hex digits) the fetched file must
/// have (`--sha256` on `models fetch`).
pub const SHA256_VAR: &str = "STACKGAN_EVAL_WEIGHTS_SHA256";

/// Weights the tool fetches and converts by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownWeights {
    /// The cache entry's name, and the name `models fetch` takes.
    pub name: &'static str,
    /// What they are, for messages.
    pub description: &'static str,
    /// Where their publisher serves them.
    pub url: &'static str,
    /// The start of the file's SHA-256, as its name gives it.
    pub sha256_prefix: &'static str,
    /// What `models convert --kind` makes of them.
    pub kind: ModelKind,
}

/// pytorch-fid 0.3.0's `FID_WEIGHTS_URL`: the TF-2015 Inception weights
/// ported by pytorch-fid, the network FID is defined with.
pub fn fid_inception() -> KnownWeights {
    KnownWeights {
        name: "fid-inception",
        description: "pytorch-fid's FID Inception weights",
        url: "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",
        sha256_prefix: "6726825d",
        kind: ModelKind::Inception(InceptionKind::Fid),
    }
}

/// Every model `models fetch` knows, by name.
pub fn known_weights() -> Vec<KnownWeights> {
    vec![fid_inception()]
}

impl KnownWeights {
    /// The names `models fetch` takes.
    pub fn names() -> Vec<&'static str> {
        known_weights().iter().map(|k| k.name).collect()
    }

    /// The known weights called `name`.
    pub fn by_name(name: &str) -> Option<KnownWeights> {
        known_weights().into_iter().find(|k| k.name == name)
    }
}

/// A SHA-256 a file must have: 64 hex digits, or the first 8 or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSha256(String);

impl FromStr for ExpectedSha256 {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let hex = text.trim();
        if (8..=64).contains(&hex.len()) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(ExpectedSha256(hex.to_ascii_lowercase()))
        } else {
            Err(format!(
                "`{}` is not a SHA-256; give its 64 hex digits (or the first 8 or more)",
                text.escape_debug()
            ))
        }
    }
}

impl ExpectedSha256 {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `sha256` (hex) is this hash or starts with it.
    pub fn matches(&self, sha256: &str) -> bool {
        sha256.to_ascii_lowercase().starts_with(&self.0)
    }
}

impl std::fmt::Display for ExpectedSha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the weights come from and what they must hash to; unset parts
/// are the known weights' own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeightsSource {
    /// A mirror (`--url`, `STACKGAN_EVAL_WEIGHTS_URL`).
    pub url: Option<String>,
    /// Another expected hash (`--sha256`, `STACKGAN_EVAL_WEIGHTS_SHA256`).
    pub sha256: Option<ExpectedSha256>,
    /// A weight file already on this machine (`--from`): no download.
    pub from: Option<PathBuf>,
}

impl WeightsSource {
    /// The mirror and hash the environment variables set.
    pub fn from_env() -> Result<WeightsSource, FetchError> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let sha256 = match var(SHA256_VAR) {
            Some(text) => Some(text.parse().map_err(|reason| FetchError::Setting {
                setting: SHA256_VAR.to_string(),
                reason,
            })?),
            None => None,
        };
        Ok(WeightsSource {
            url: var(URL_VAR),
            sha256,
            from: None,
        })
    }

    /// The hash `known` must have from this source.
    pub fn expected(&self, known: &KnownWeights) -> ExpectedSha256 {
        self.sha256
            .clone()
            .unwrap_or_else(|| ExpectedSha256(known.sha256_prefix.to_string()))
    }

    /// Where `known` is read from: the `--from` file, else the address it is
    /// downloaded from.
    fn origin(&self, known: &KnownWeights) -> Result<Origin, FetchError> {
        if let Some(path) = &self.from {
            return Ok(Origin::File(path.clone()));
        }
        let (url, setting) = match &self.url {
            Some(url) => (url.clone(), format!("{URL_VAR} (or --url)")),
            None => (known.url.to_string(), "the built-in address".to_string()),
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(FetchError::Setting {
                setting,
                reason: format!(
                    "`{}` is not an http:// or https:// address",
                    url.escape_debug()
                ),
            });
        }
        Ok(Origin::Address(url))
    }
}

/// Where a weight file is read from.
enum Origin {
    File(PathBuf),
    Address(String),
}

/// Why weights could not be fetched; each message names the address, file
/// or setting at fault and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(
        "no cache folder: neither XDG_CACHE_HOME nor HOME is set; set XDG_CACHE_HOME to a writable folder"
    )]
    NoCacheFolder,
    #[error(
        "model cache {}: {reason}; set XDG_CACHE_HOME to a writable folder",
        path.display()
    )]
    Cache { path: PathBuf, reason: String },
    #[error("{setting}: {reason}")]
    Setting { setting: String, reason: String },
    #[error(
        "cannot download {url}: {reason}; nothing was cached. Check the connection, point {URL_VAR} at a mirror (or `models fetch {model} --url`), or copy the file here and run `stackgan-eval models fetch {model} --from FILE.pth`"
    )]
    Download {
        url: String,
        reason: String,
        /// The known weights' name, for the fix.
        model: &'static str,
    },
    #[error(
        "{origin}: its SHA-256 is {found}, expected {expected}; nothing was cached. The file is not the expected weights or is damaged: fetch it again, or set {SHA256_VAR} (or `models fetch --sha256`) if you expect another file"
    )]
    Hash {
        /// The address or file.
        origin: String,
        found: String,
        expected: String,
    },
    #[error("--from {}: {reason}", path.display())]
    From { path: PathBuf, reason: String },
    #[error("{origin}: the weights do not convert: {reason}; nothing was cached")]
    Convert { origin: String, reason: String },
}

/// How a model came to be in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// It was there already, made from the expected weights: nothing was requested.
    Cached(CachedModel),
    /// It was fetched, checked and converted just now.
    New(CachedModel),
}

impl Fetched {
    pub fn model(&self) -> &CachedModel {
        match self {
            Fetched::Cached(model) | Fetched::New(model) => model,
        }
    }
}

/// `known` from the cache when it holds it made from the expected weights,
/// else fetched, checked, converted and cached first.
pub fn ensure(
    known: &KnownWeights,
    source: &WeightsSource,
    cache: &ModelCache,
    progress: &dyn Progress,
) -> Result<Fetched, FetchError> {
    let expected = source.expected(known);
    if source.from.is_none()
        && let Some(cached) = cache.cached(known.name)
        && cached.made_from(&expected)
    {
        return Ok(Fetched::Cached(cached));
    }
    fetch(known, source, cache, progress).map(Fetched::New)
}

/// The extractor a command runs when it is given none: pytorch-fid's FID
/// Inception from the user's cache, fetched first when the cache lacks it
/// (from the mirror and with the hash the environment variables set).
pub fn default_extractor(progress: &dyn Progress) -> Result<PathBuf, FetchError> {
    let cache = ModelCache::from_env()?;
    let source = WeightsSource::from_env()?;
    Ok(ensure(&fid_inception(), &source, &cache, progress)?
        .model()
        .onnx
        .clone())
}

/// A weight file on disk, hashed.
struct Weights {
    path: PathBuf,
    /// The address or `--from` file, for messages and the record.
    source: String,
    sha256: String,
    bytes: u64,
}

/// Fetches (or reads `--from`), checks, converts and caches `known`,
/// replacing what the cache held under its name.
pub fn fetch(
    known: &KnownWeights,
    source: &WeightsSource,
    cache: &ModelCache,
    progress: &dyn Progress,
) -> Result<CachedModel, FetchError> {
    let expected = source.expected(known);
    // The address is checked before anything is created.
    let origin = source.origin(known)?;
    let outdated = cache
        .cached(known.name)
        .map(|old| old.record.weights_sha256);
    let staged = cache.staging(known.name)?;
    let weights = match &origin {
        Origin::File(path) => local(path)?,
        Origin::Address(url) => {
            let file = staged.path().join(file_name(url, known));
            download(url, &file, known.name, progress)?
        }
    };
    if !expected.matches(&weights.sha256) {
        return Err(FetchError::Hash {
            origin: weights.source,
            found: weights.sha256,
            expected: expected.to_string(),
        });
    }
    let onnx = staged.path().join(format!("{}.onnx", known.name));
    // The reader's messages name the file it read: here the address, once.
    let convert_error = |error: ConvertError| {
        let text = error.to_string();
        let prefix = format!("{}: ", weights.path.display());
        FetchError::Convert {
            origin: weights.source.clone(),
            reason: text.strip_prefix(&prefix).unwrap_or(&text).to_string(),
        }
    };
    let state = read_checkpoint(&weights.path).map_err(convert_error)?;
    let converted = crate::convert::convert(&state, &known.kind, &onnx).map_err(convert_error)?;
    drop(state);
    if let Origin::Address(_) = origin {
        // The weights are recorded by name and hash; the model is what is kept.
        let _ = std::fs::remove_file(&weights.path);
    }
    let record = FetchRecord {
        model: known.name.to_string(),
        weights: weights
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        source: weights.source,
        weights_sha256: weights.sha256,
        weights_bytes: weights.bytes,
        onnx_sha256: converted.sha256,
        onnx_bytes: converted.bytes,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let cached = cache.install(staged, known.name, &record)?;
    // Said once the model is in place, so that a failure prints its error alone.
    progress.note(&format!(
        "{}: {} {} from {} (sha256 {}), converted them and cached the model as {}{}",
        known.name,
        match origin {
            Origin::File(_) => "read",
            Origin::Address(_) => "fetched",
        },
        known.description,
        record.source,
        record.weights_sha256,
        cached.onnx.display(),
        outdated
            .map(|sha| format!(", replacing the one made from other weights (sha256 {sha})"))
            .unwrap_or_default()
    ));
    Ok(cached)
}

/// The name the download is saved under: the address's last segment when it
/// is a plain file name, else the known one.
fn file_name(url: &str, known: &KnownWeights) -> String {
    let last = |u: &str| {
        u.split(['?', '#'])
            .next()
            .and_then(|path| path.rsplit('/').next())
            .map(str::to_string)
    };
    let plain = |name: &String| {
        !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    last(url)
        .filter(plain)
        .or_else(|| last(known.url))
        .unwrap_or_else(|| format!("{}.pth", known.name))
}

/// A `--from` file, hashed.
fn local(path: &Path) -> Result<Weights, FetchError> {
    let from = |reason: String| FetchError::From {
        path: path.to_path_buf(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|e| {
        from(match e.kind() {
            std::io::ErrorKind::NotFound => "no such file; pass the downloaded .pth".to_string(),
            _ => format!("cannot be read ({e})"),
        })
    })?;
    if !metadata.is_file() {
        return Err(from("is not a file; pass the downloaded .pth".into()));
    }
    let sha256 = file_sha256(path).map_err(|e| from(e.to_string()))?;
    Ok(Weights {
        path: path.to_path_buf(),
        source: path.display().to_string(),
        sha256,
        bytes: metadata.len(),
    })
}

/// How long a server may take to accept the connection and to answer; the
/// body itself may take as long as it takes (96 MB on a slow line).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Downloads `url` (following redirects, as GitHub's releases need) into
/// `file`, hashing it on the way, with a progress bar of the bytes.
fn download(
    url: &str,
    file: &Path,
    label: &'static str,
    progress: &dyn Progress,
) -> Result<Weights, FetchError> {
    let failed = |reason: String| FetchError::Download {
        url: url.escape_debug().to_string(),
        reason,
        model: label,
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(CONNECT_TIMEOUT))
        .timeout_recv_response(Some(RESPONSE_TIMEOUT))
        .user_agent(concat!("stackgan-eval/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let length = response.body().content_length();
    let mut reader = response.body_mut().as_reader();
    let mut out = BufWriter::new(
        File::create(file).map_err(|e| failed(format!("cannot write {} ({e})", file.display())))?,
    );
    let stage = progress.transfer(label, length);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = reader.read(&mut buffer).map_err(|e| {
            let of = length.map(|l| format!(" of {l}")).unwrap_or_default();
            failed(format!(
                "the transfer was cut off after {bytes}{of} bytes ({e})"
            ))
        })?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        out.write_all(&buffer[..read])
            .map_err(|e| failed(format!("cannot write {} ({e})", file.display())))?;
        bytes += read as u64;
        stage.advance(read);
    }
    drop(stage);
    if let Some(length) = length
        && bytes != length
    {
        return Err(failed(format!(
            "the transfer was cut off after {bytes} of {length} bytes"
        )));
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(|e| failed(format!("cannot write {} ({e})", file.display())))?;
    Ok(Weights {
        path: file.to_path_buf(),
        source: url.escape_debug().to_string(),
        sha256: hex(&hasher.finalize()),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_hashes_are_hex_of_8_to_64_digits() {
        assert_eq!(
            "6726825D".parse::<ExpectedSha256>().unwrap().as_str(),
            "6726825d"
        );
        assert!("6726825".parse::<ExpectedSha256>().is_err(), "too short");
        assert!("6726825g".parse::<ExpectedSha256>().is_err(), "not hex");
        assert!(
            "a".repeat(65).parse::<ExpectedSha256>().is_err(),
            "too long"
        );
        let prefix: ExpectedSha256 = "6726825d".parse().unwrap();
        assert!(prefix.matches("6726825d00ff"));
        assert!(!prefix.matches("00ff6726825d"));
    }

    #[test]
    fn the_fid_weights_are_pytorch_fids_and_their_name_gives_the_hash() {
        let known = fid_inception();
        // pytorch-fid 0.3.0, pytorch_fid/inception.py: FID_WEIGHTS_URL.
        assert_eq!(
            known.url,
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
        );
        assert!(
            known
                .url
                .ends_with(&format!("-{}.pth", known.sha256_prefix))
        );
        assert_eq!(
            WeightsSource::default().expected(&known).as_str(),
            known.sha256_prefix
        );
        assert_eq!(
            file_name(known.url, &known),
            "pt_inception-2015-12-05-6726825d.pth"
        );
    }

    #[test]
    fn a_mirror_keeps_its_file_name_when_it_is_plain() {
        let known = fid_inception();
        assert_eq!(
            file_name("http://127.0.0.1:9/m/w-1.pth?token=x", &known),
            "w-1.pth"
        );
        for odd in ["http://h/", "http://h/..", "http://h/a%2Fb.pth"] {
            assert_eq!(
                file_name(odd, &known),
                "pt_inception-2015-12-05-6726825d.pth",
                "{odd}"
            );
        }
    }

    #[test]
    fn only_http_addresses_are_fetched() {
        let source = WeightsSource {
            url: Some("ftp://example.org/w.pth".into()),
            ..WeightsSource::default()
        };
        let Err(error) = source.origin(&fid_inception()) else {
            panic!("ftp:// is refused");
        };
        let error = error.to_string();
        assert!(
            error.contains(URL_VAR) && error.contains("ftp://"),
            "{error}"
        );
    }
}
