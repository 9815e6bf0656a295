//! The ablation config (`ablation.toml`): shared settings, the variants, and
//! published values to show beside the measured ones. Its sections are the
//! option types the flags build (`[is]` is [`IsOptions`], `[kid]` is
//! [`KidConfig`], `[prdc]` is [`PrdcOptions`], `[infinity]` is [`InfinityConfig`],
//! `[bootstrap]` is [`BootstrapOptions`], `[tsne]` is [`MapOptions`]),
//! with the same defaults. Read and checked as a whole — unknown keys,
//! missing files, a conditional generator without embeddings, a perplexity
//! too large for the samples — before any model runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use anyhow::bail;
use serde::{Deserialize, Deserializer};

use crate::collapse::MapOptions;
use crate::generate::{BranchSelection, JobSpec, PlanRequest, Sampling};
use crate::images::list_images;
use crate::metrics::{InfinityConfig, KidConfig};
use crate::models::{GeneratorManifest, Protocol as ScoringProtocol};
use crate::report::PaperStatus;
use crate::scoring::{BootstrapOptions, IsOptions, Metric, PrdcOptions, ScoringOptions};

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AblationFile {
    title: String,
    /// Feature extractor for FID, KID, PR-DC (and IS unless `classifier` is
    /// given); default: pytorch-fid's FID Inception from the model cache.
    #[serde(default)]
    extractor: Option<PathBuf>,
    /// A separate IS classifier (StackGAN's fine-tuned Inception).
    #[serde(default)]
    classifier: Option<PathBuf>,
    /// Reference set: image folder, statistics `.npz` or feature file.
    #[serde(default)]
    real: Option<PathBuf>,
    #[serde(default = "default_metrics")]
    metrics: Vec<Metric>,
    /// Noise seed of generator variants.
    #[serde(default)]
    seed: u32,
    #[serde(default)]
    batch_size: Option<usize>,
    /// Scoring protocol (`pytorch-fid`, `clean-fid`, `torch-fidelity`,
    /// `stackgan-is`, or the model's own), unless `--protocol` names one.
    #[serde(default)]
    protocol: Option<ScoringProtocol>,
    #[serde(default)]
    is: IsOptions,
    #[serde(default)]
    kid: KidConfig,
    #[serde(default)]
    prdc: PrdcOptions,
    /// How FID∞ and IS∞ draw their subsets.
    #[serde(default)]
    infinity: InfinityConfig,
    /// Bootstrap confidence intervals of every variant's metrics.
    #[serde(default)]
    bootstrap: Option<BootstrapOptions>,
    /// t-SNE maps of the reference set and every variant (see `stackgan-eval tsne`).
    #[serde(default)]
    tsne: Option<MapOptions>,
    #[serde(default, rename = "variant")]
    variants: Vec<VariantEntry>,
}

fn default_metrics() -> Vec<Metric> {
    ScoringOptions::default().metrics
}

/// One variant as written: a generator (with embeddings when conditional)
/// or a folder of samples.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VariantEntry {
    name: String,
    #[serde(default)]
    generator: Option<PathBuf>,
    #[serde(default)]
    embeddings: Option<PathBuf>,
    /// How the samples are chosen: `plain`, `stackgan-v2-cub`, `stackgan-v2-uncond`.
    #[serde(default, deserialize_with = "sampling_protocol")]
    sampling: Option<Sampling>,
    #[serde(default)]
    images: Option<usize>,
    #[serde(default)]
    captions: Option<usize>,
    #[serde(default)]
    samples_per_caption: Option<usize>,
    #[serde(default)]
    samples: Option<usize>,
    /// The branch scored (default: the highest resolution).
    #[serde(default)]
    branch: Option<u32>,
    /// A folder of samples instead of a generator.
    #[serde(default)]
    folder: Option<PathBuf>,
    /// Published values by metric (`fid`, `is`, `kid`).
    #[serde(default)]
    paper: BTreeMap<String, PaperEntry>,
}

fn sampling_protocol<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Sampling>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// A published number to show beside a measured one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaperEntry {
    pub value: f64,
    #[serde(default)]
    pub std: Option<f64>,
    pub status: PaperStatus,
    /// Where the number is printed (paper table, release README); required for `sourced`.
    #[serde(default)]
    pub source: String,
}

/// What a variant is evaluated from.
#[derive(Debug, Clone)]
pub enum VariantSource {
    Generator { job: JobSpec },
    Folder(PathBuf),
}

/// A checked variant.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: String,
    pub source: VariantSource,
    /// Published values by metric (`fid`, `is`, `kid`).
    pub paper: BTreeMap<String, PaperEntry>,
}

/// A checked config: paths resolved against the config's folder, files present.
#[derive(Debug, Clone)]
pub struct Ablation {
    /// The config file.
    pub path: PathBuf,
    pub title: String,
    /// Metrics, models and metric settings every variant is scored with.
    pub scoring: ScoringOptions,
    /// The reference set.
    pub real: Option<PathBuf>,
    /// Overrides the batch size of the command line.
    pub batch_size: Option<usize>,
    /// The scoring protocol, unless the command line names one.
    pub protocol: Option<ScoringProtocol>,
    pub tsne: Option<MapOptions>,
    pub variants: Vec<Variant>,
}

/// Reads and checks `path`; every error names the config, the variant and the fix.
pub fn read(path: &Path) -> anyhow::Result<Ablation> {
    let config = path.display().to_string();
    let fail = |e: anyhow::Error| anyhow::anyhow!("ablation config {config}: {e}");
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read ablation config {config} ({e}); check the path")
    })?;
    let file: AblationFile = toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "ablation config {config}: {}; see examples/ablation/*.toml for the keys",
            one_line(&e.to_string())
        )
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let scoring = scoring_options(&file, base).map_err(fail)?;
    let real = file.real.as_ref().map(|r| resolve(base, r));
    if let Some(real) = &real {
        must_exist("real", real).map_err(fail)?;
    }
    if scoring.requirements().real.any() && real.is_none() {
        return Err(fail(anyhow::anyhow!(
            "FID, KID and PRDC need `real` (a folder, statistics .npz or feature file)"
        )));
    }
    if file.variants.is_empty() {
        return Err(fail(anyhow::anyhow!("no [[variant]]; add at least one")));
    }
    let mut names = BTreeSet::new();
    let mut variants = Vec::new();
    for entry in &file.variants {
        if !names.insert(entry.name.clone()) {
            return Err(fail(anyhow::anyhow!(
                "two variants are called `{}`; names must differ",
                entry.name
            )));
        }
        let variant = check_variant(entry, base, file.seed).map_err(|e| {
            anyhow::anyhow!("ablation config {config}, variant `{}`: {e}", entry.name)
        })?;
        variants.push(variant);
    }
    if let Some(map) = &file.tsne {
        check_map(map, real.as_deref(), &variants).map_err(|e| {
            anyhow::anyhow!(
                "ablation config {config}, [tsne]: {e} (perplexity is set in the config)"
            )
        })?;
    }
    Ok(Ablation {
        path: path.to_path_buf(),
        title: file.title,
        scoring,
        real,
        batch_size: file.batch_size,
        protocol: file.protocol.clone(),
        tsne: file.tsne,
        variants,
    })
}

/// The scoring settings, models resolved and present, settings consistent.
fn scoring_options(file: &AblationFile, base: &Path) -> anyhow::Result<ScoringOptions> {
    let extractor = file.extractor.as_ref().map(|e| resolve(base, e));
    if let Some(extractor) = &extractor {
        must_exist("extractor", extractor)?;
    }
    let classifier = file.classifier.as_ref().map(|c| resolve(base, c));
    if let Some(classifier) = &classifier {
        must_exist("classifier", classifier)?;
    }
    file.is.check().map_err(|e| anyhow::anyhow!("[is]: {e}"))?;
    file.infinity
        .check()
        .map_err(|e| anyhow::anyhow!("[infinity] (points, min_samples): {e}"))?;
    if let Some(bootstrap) = &file.bootstrap {
        bootstrap
            .check()
            .map_err(|e| anyhow::anyhow!("[bootstrap]: {e}"))?;
    }
    if file.metrics.is_empty() {
        bail!(
            "`metrics` is empty; name at least one of {}",
            Metric::NAMES.join(", ")
        );
    }
    if file.batch_size == Some(0) {
        bail!("`batch_size` must be at least 1");
    }
    Ok(ScoringOptions {
        metrics: file.metrics.clone(),
        extractor,
        classifier,
        is: file.is.clone(),
        kid: file.kid.clone(),
        prdc: file.prdc,
        infinity: file.infinity.clone(),
        bootstrap: file.bootstrap,
    })
}

/// Checks one variant; errors name the key and the fix.
fn check_variant(entry: &VariantEntry, base: &Path, seed: u32) -> anyhow::Result<Variant> {
    let generator = entry.generator.as_ref().map(|p| resolve(base, p));
    let folder = entry.folder.as_ref().map(|p| resolve(base, p));
    let embeddings = entry.embeddings.as_ref().map(|p| resolve(base, p));
    let source = match (generator, folder) {
        (Some(_), Some(_)) | (None, None) => {
            bail!("give either `generator` (with `embeddings` if it is conditional) or `folder`")
        }
        (None, Some(folder)) => folder_variant(entry, folder)?,
        (Some(model), None) => generator_variant(entry, model, embeddings, seed)?,
    };
    for (metric, paper) in &entry.paper {
        if !["fid", "is", "kid"].contains(&metric.as_str()) {
            bail!("paper.{metric}: published values are for fid, is or kid");
        }
        if paper.status == PaperStatus::Sourced && paper.source.trim().is_empty() {
            bail!(
                "paper.{metric} is marked sourced but names no `source`; name it, or mark it unverified"
            );
        }
    }
    Ok(Variant {
        name: entry.name.clone(),
        source,
        paper: entry.paper.clone(),
    })
}

fn folder_variant(entry: &VariantEntry, folder: PathBuf) -> anyhow::Result<VariantSource> {
    if !folder.is_dir() {
        bail!("folder {} does not exist", folder.display());
    }
    let generator_only = [
        ("embeddings", entry.embeddings.is_some()),
        ("sampling", entry.sampling.is_some()),
        ("branch", entry.branch.is_some()),
        ("images", entry.images.is_some()),
        ("captions", entry.captions.is_some()),
        (
            "samples",
            entry.samples.is_some() || entry.samples_per_caption.is_some(),
        ),
    ];
    if let Some((key, _)) = generator_only.iter().find(|(_, set)| *set) {
        bail!("`{key}` is for generator variants; a folder variant takes the images as they are");
    }
    Ok(VariantSource::Folder(folder))
}

fn generator_variant(
    entry: &VariantEntry,
    model: PathBuf,
    embeddings: Option<PathBuf>,
    seed: u32,
) -> anyhow::Result<VariantSource> {
    if !model.is_file() {
        bail!("generator {} does not exist", model.display());
    }
    let manifest = GeneratorManifest::read_beside(&model)?;
    match (manifest.text_input(), &embeddings) {
        (Some(text), None) => bail!(
            "generator {} is conditional (text_embedding [N, {}]) and needs `embeddings`",
            model.display(),
            text.width()
        ),
        (None, Some(_)) => bail!(
            "generator {} is unconditional; drop `embeddings`",
            model.display()
        ),
        (_, Some(e)) if !e.is_file() => bail!("embeddings {} do not exist", e.display()),
        _ => {}
    }
    if let Some(branch) = entry.branch
        && !manifest
            .image_outputs()
            .iter()
            .any(|o| o.resolution == Some(branch))
    {
        bail!("the generator has no {branch}×{branch} branch");
    }
    let job = JobSpec {
        model,
        embeddings,
        noise: None,
        seed,
        sampling: entry.sampling.unwrap_or_default(),
        plan: PlanRequest {
            images: entry.images,
            captions: entry.captions,
            samples_per_caption: entry.samples_per_caption,
            samples: entry.samples,
        },
        branches: match entry.branch {
            Some(b) => BranchSelection::Resolutions(vec![b]),
            None => BranchSelection::Last,
        },
    };
    // Embeddings, sampling and sample counts, checked now, not halfway through.
    job.check()?;
    Ok(VariantSource::Generator { job })
}

/// Every set's sample count is known before any model runs: a perplexity
/// too large for them is refused now.
fn check_map(map: &MapOptions, real: Option<&Path>, variants: &[Variant]) -> anyhow::Result<()> {
    let cap = |n: usize| map.samples.map_or(n, |s| s.min(n));
    let mut total = 0;
    if let Some(real) = real.filter(|r| r.is_dir()) {
        total += cap(list_images(real)
            .map_err(|e| anyhow::anyhow!("real: {e}"))?
            .len());
    }
    for variant in variants {
        total += cap(match &variant.source {
            VariantSource::Generator { job } => job.check().map(|plan| plan.len()).unwrap_or(0),
            VariantSource::Folder(folder) => list_images(folder).map(|f| f.len()).unwrap_or(0),
        });
    }
    map.tsne().validate(total, 2)?;
    Ok(())
}

fn must_exist(what: &str, path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        bail!(
            "{what} {} does not exist; fix the path (relative paths start at the config's folder)",
            path.display()
        );
    }
    Ok(())
}

/// A path of the config, relative to its folder.
fn resolve(base: &Path, path: &Path) -> PathBuf {
    if path.is_relative() {
        tidy(&base.join(path))
    } else {
        path.to_path_buf()
    }
}

/// `a/b/../../c` → `c`, without touching the file system (for messages and reports).
fn tidy(path: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// A parser's multi-line message on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A config folder with a stand-in extractor file and a folder of 20 samples.
    fn workspace() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.onnx"), b"stand-in").unwrap();
        let samples = dir.path().join("samples");
        std::fs::create_dir(&samples).unwrap();
        for i in 0..20 {
            image::RgbImage::new(4, 4)
                .save(samples.join(format!("{i:02}.png")))
                .unwrap();
        }
        dir
    }

    fn read_text(dir: &Path, text: &str) -> anyhow::Result<Ablation> {
        let path = dir.join("ablation.toml");
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    const HEAD: &str = "title = \"t\"\nextractor = \"e.onnx\"\n";
    const FOLDER: &str = "[[variant]]\nname = \"a\"\nfolder = \"samples\"\n";

    #[test]
    fn without_extractor_the_default_one_is_used() {
        let dir = workspace();
        let body = format!("title = \"t\"\nreal = \"samples\"\n{FOLDER}");
        let ablation = read_text(dir.path(), &body).unwrap();
        // `None`: the scorer's default, pytorch-fid's FID Inception from the model cache.
        assert_eq!(ablation.scoring.extractor, None);
    }

    #[test]
    fn sections_take_the_defaults_of_the_flags() {
        let dir = workspace();
        let body = format!(
            "{HEAD}real = \"samples\"\n[kid]\nsubset_size = 50\n[tsne]\ngrid = 15\nperplexity = 5\n{FOLDER}"
        );
        let ablation = read_text(dir.path(), &body).unwrap();
        let scoring = &ablation.scoring;
        assert_eq!(scoring.metrics, ScoringOptions::default().metrics);
        assert_eq!(scoring.is, IsOptions::default());
        assert_eq!(scoring.prdc, PrdcOptions::default());
        let kid = KidConfig {
            subset_size: 50,
            ..KidConfig::default()
        };
        assert_eq!(scoring.kid, kid);
        let map = MapOptions {
            grid: 15,
            perplexity: 5.0,
            ..MapOptions::default()
        };
        assert_eq!(ablation.tsne, Some(map));
        assert_eq!(
            scoring.extractor.as_deref(),
            Some(dir.path().join("e.onnx").as_path())
        );
        assert_eq!(
            ablation.real.as_deref(),
            Some(dir.path().join("samples").as_path())
        );
        assert!(
            matches!(&ablation.variants[0].source, VariantSource::Folder(f) if f.ends_with("samples"))
        );
        let is = read_text(
            dir.path(),
            &format!(
                "{HEAD}metrics = [\"is\"]\n[is]\nprotocol = \"stackgan\"\nsplits = 4\n{FOLDER}"
            ),
        )
        .unwrap();
        assert_eq!(is.scoring.metrics, vec![Metric::Is]);
        assert_eq!(
            is.scoring.is.protocol,
            Some(crate::scoring::IsProtocol::Stackgan)
        );
        assert_eq!(is.scoring.is.splits, 4);
        assert!(is.real.is_none());
        assert_eq!(is.protocol, None, "the model's default unless named");
        let tf = read_text(
            dir.path(),
            &format!("{HEAD}metrics = [\"is\"]\nprotocol = \"torch-fidelity\"\n{FOLDER}"),
        )
        .unwrap();
        assert_eq!(tf.protocol, Some(ScoringProtocol::TorchFidelity));
    }

    #[test]
    fn bad_configs_are_refused_in_one_line_naming_the_key_and_the_fix() {
        let dir = workspace();
        let is = format!("{HEAD}metrics = [\"is\"]\n");
        let generator = "[[variant]]\nname = \"g\"\ngenerator = \"e.onnx\"\nfolder = \"samples\"\n";
        // (config body, what the error names)
        let cases = [
            (format!("{is}colour = 1\n{FOLDER}"), "colour"),
            (format!("{is}[kid]\nsubset = 5\n{FOLDER}"), "subset"),
            (format!("{is}[tsne]\nperplexty = 5\n{FOLDER}"), "perplexty"),
            (
                format!("{is}[is]\nprotocol = \"tf\"\n{FOLDER}"),
                "unknown IS protocol `tf`",
            ),
            (format!("{is}[is]\nsplits = \"ten\"\n{FOLDER}"), "splits"),
            (
                format!("{is}[is]\nshuffle_seed = 1\nno_shuffle = true\n{FOLDER}"),
                "no_shuffle",
            ),
            (
                format!("{HEAD}metrics = [\"fid\", \"xyz\"]\n{FOLDER}"),
                "unknown metric `xyz`",
            ),
            (
                format!("{HEAD}metrics = [\"fid\"]\n{FOLDER}"),
                "need `real`",
            ),
            (
                format!("{HEAD}metrics = []\n{FOLDER}"),
                "`metrics` is empty",
            ),
            (format!("{is}batch_size = 0\n{FOLDER}"), "batch_size"),
            (
                format!("{is}protocol = \"Clean FID\"\n{FOLDER}"),
                "`Clean FID` is not a protocol name",
            ),
            (
                format!("title = \"t\"\nextractor = \"gone.onnx\"\nmetrics = [\"is\"]\n{FOLDER}"),
                "gone.onnx does not exist",
            ),
            (is.clone(), "no [[variant]]"),
            (
                format!("{is}{FOLDER}{FOLDER}"),
                "two variants are called `a`",
            ),
            (format!("{is}{generator}"), "either `generator`"),
            (
                format!("{is}{FOLDER}sampling = \"plain\"\n"),
                "`sampling` is for generator variants",
            ),
            (
                format!("{is}{FOLDER}sampling = \"cub\"\n"),
                "unknown sampling protocol `cub`",
            ),
            (format!("{is}{FOLDER}protocol = \"plain\"\n"), "protocol"),
            (
                format!("{is}{FOLDER}paper.is = {{ value = 4.0, status = \"sourced\" }}\n"),
                "names no `source`",
            ),
            (
                format!("{is}{FOLDER}paper.lpips = {{ value = 4.0, status = \"unverified\" }}\n"),
                "published values are for fid, is or kid",
            ),
            (
                format!("{is}{FOLDER}paper.is = {{ value = 4.0, status = \"maybe\" }}\n"),
                "maybe",
            ),
            (format!("{is}[tsne]\nperplexity = 500\n{FOLDER}"), "[tsne]"),
        ];
        for (body, names) in cases {
            let error = format!("{:#}", read_text(dir.path(), &body).unwrap_err());
            assert!(error.contains(names), "should name {names}: {error}");
            assert!(error.contains("ablation.toml"), "names the config: {error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }
}
