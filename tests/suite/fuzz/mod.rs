//! A fuzz harness on stable Rust (no nightly, no cargo-fuzz): seeded
//! mutations of the committed fixtures — bit flips, byte inserts and
//! deletes, truncations, splices, tokens of each format, edge values in
//! integer fields and numbers in text — plus purely random inputs, through
//! every parser a user feeds. Each input runs in-process under
//! `catch_unwind` with a time limit; a panic, a hang or a refusal that is
//! not one line naming the file is a failure (see `engine.rs`).
//!
//! The bounded run is part of `cargo test --release` (fixed, seeded counts:
//! the same inputs every time). The long run is one command:
//!
//! ```sh
//! STACKGAN_FUZZ_INPUTS=20000 cargo test --release --test suite fuzz -- --nocapture
//! ```
//!
//! (`STACKGAN_FUZZ_SEED` draws other inputs, `STACKGAN_FUZZ_TIMEOUT_S` sets
//! the hang limit, default 10 s.) Each parser prints its counts.

mod checkpoints;
mod engine;
mod partials;
mod stackgan;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::util::root;
use engine::{Report, Rng, Target, fuzz, fuzz_with, mutate};
use ndarray::{Array1, Array2, Array3};
use stackgan_eval::app::{self, Command, CompareCommand, ReportCommand};
use stackgan_eval::features::FeatureFile;
use stackgan_eval::generate::{
    Branch, Embeddings, NoiseFile, Opened, PlanRequest, RunFolder, RunIdentity,
};
use stackgan_eval::images::decode_rgb;
use stackgan_eval::metrics::FidStats;
use stackgan_eval::models::{GeneratorManifest, Manifest};

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = root().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file in a fixture folder.
fn folder(path: &str) -> Vec<Vec<u8>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join(path))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths.iter().map(read).collect()
}

fn tokens(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|t| t.to_vec()).collect()
}

fn check(report: &Report, name: &str) {
    eprintln!(
        "fuzz {name}: {} inputs ({} accepted, {} refused): {} panics, {} hangs, {} bad messages in {:.1} s",
        report.inputs,
        report.accepted,
        report.refused,
        report.panics,
        report.hangs,
        report.bad_messages,
        report.seconds
    );
    assert!(
        report.failures.is_empty(),
        "fuzz {name}: failing inputs kept in {:?}",
        report.failures
    );
}

fn run(target: Target) {
    let report = fuzz(&target);
    check(&report, target.name);
}

/// A small `.npy` or `.npz` written in memory, as seeds.
fn npz(arrays: &[(&str, ndarray::ArrayD<f64>)], f32: bool, compressed: bool) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    {
        let mut writer = if compressed {
            ndarray_npy::NpzWriter::new_compressed(&mut bytes)
        } else {
            ndarray_npy::NpzWriter::new(&mut bytes)
        };
        for (name, array) in arrays {
            if f32 {
                writer.add_array(*name, &array.mapv(|v| v as f32)).unwrap();
            } else {
                writer.add_array(*name, array).unwrap();
            }
        }
        writer.finish().unwrap();
    }
    bytes.into_inner()
}

fn npy(array: &ndarray::ArrayD<f32>) -> Vec<u8> {
    let mut bytes = Vec::new();
    ndarray_npy::WriteNpyExt::write_npy(array, &mut bytes).unwrap();
    bytes
}

/// CRC-32 (IEEE), as PNG chunks and zip members carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (!(crc & 1)).wrapping_add(1));
        }
    }
    !crc
}

/// A mutated image whose PNG chunks carry valid CRCs again, so that the
/// decoder looks at their contents.
fn png_with_valid_crcs(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = mutate(rng, seeds, tokens);
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let length = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let end = at + 8 + length as usize;
        if end + 4 > bytes.len() {
            break;
        }
        let crc = crc32(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
        at = end + 4;
    }
    bytes
}

/// The members of a zip (name, contents), or `None` when `bytes` is none.
fn zip_members(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let mut members = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).ok()?;
        let mut data = Vec::new();
        entry.read_to_end(&mut data).ok()?;
        members.push((entry.name().to_string(), data));
    }
    Some(members)
}

/// A well-formed zip (valid checksums) of `members`, stored or deflated.
fn zip_of(members: &[(String, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut out);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, bytes) in members {
            if writer.start_file(name.as_str(), options).is_ok() {
                writer.write_all(bytes).unwrap();
            }
        }
        writer.finish().unwrap();
    }
    out.into_inner()
}

/// An `.npz` whose members are mutated inside a well-formed archive (valid
/// checksums), sometimes renamed, dropped or doubled.
fn npz_with_mutated_member(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len())];
    let Some(mut members) = zip_members(seed).filter(|m| !m.is_empty()) else {
        return mutate(rng, seeds, tokens);
    };
    let i = rng.below(members.len());
    match rng.below(8) {
        0 => {
            members.remove(i);
        }
        1 => {
            let copy = members[i].clone();
            members.push(copy);
        }
        2 => {
            let names = [
                "mu.npy",
                "sigma.npy",
                "pool.npy",
                "files.npy",
                "count.npy",
                "x",
            ];
            members[i].0 = names[rng.below(names.len())].to_string();
        }
        _ => members[i].1 = mutate(rng, &[members[i].1.clone()], tokens),
    }
    let method = if rng.below(2) == 0 {
        zip::CompressionMethod::Stored
    } else {
        zip::CompressionMethod::Deflated
    };
    zip_of(&members, method)
}

const NPY_TOKENS: [&[u8]; 16] = [
    b"\x93NUMPY",
    b"\x01\x00",
    b"\x02\x00",
    b"'descr': '<f8'",
    b"'descr': '<f4'",
    b"'descr': '>f4'",
    b"'descr': '<i8'",
    b"'descr': '|O'",
    b"'descr': '<U9'",
    b"'fortran_order': True",
    b"'shape': (4000000000, 2048), ",
    b"'shape': (), ",
    b"'shape': (3, 0), ",
    b"((((((((((((((((((((((((((((((((",
    b"PK\x03\x04",
    b"PK\x05\x06",
];

fn npz_tokens(extra: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut all = tokens(&NPY_TOKENS);
    all.extend(tokens(&[
        b"PK\x01\x02",
        b"PK\x06\x06",
        b"PK\x06\x07",
        b".npy",
        b"\xff\xff\xff\xff",
    ]));
    all.extend(tokens(extra));
    all
}

#[test]
fn images() {
    let mut seeds = folder("tests/fixtures/images/src");
    seeds.extend(folder("tests/fixtures/images/bad"));
    // A lossless WebP and a grey JPEG, made here: other decoder paths.
    let image = image::RgbImage::from_fn(9, 7, |x, y| image::Rgb([x as u8 * 20, y as u8 * 30, 99]));
    for format in [image::ImageFormat::WebP, image::ImageFormat::Jpeg] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        image.write_to(&mut bytes, format).unwrap();
        seeds.push(bytes.into_inner());
    }
    run(Target {
        name: "images",
        file_name: "input.png",
        must_name: "input.png",
        custom: Some(png_with_valid_crcs),
        inputs: 300,
        seeds,
        tokens: tokens(&[
            b"IHDR",
            b"IDAT",
            b"IEND",
            b"PLTE",
            b"tRNS",
            b"acTL",
            b"fcTL",
            b"\xff\xd8",
            b"\xff\xc0",
            b"\xff\xc2",
            b"\xff\xc4",
            b"\xff\xda",
            b"\xff\xd9",
            b"\xff\xdd",
            b"RIFF",
            b"WEBP",
            b"VP8 ",
            b"VP8L",
            b"VP8X",
            b"ALPH",
            b"ANIM",
            b"BM",
            b"\xff\xff\xff\x7f",
            b"\x00\x00\x00\x00",
            b"\x00\x00\x40\x00",
        ]),
        parse: Arc::new(|path| decode_rgb(path).map(|_| ()).map_err(|e| e.to_string())),
    });
}

#[test]
fn statistics_files() {
    let d = 3;
    let mu = Array1::from_vec(vec![0.5, -1.0, 2.0]).into_dyn();
    let sigma = Array2::from_shape_fn((d, d), |(i, j)| if i == j { 2.0 } else { 0.25 }).into_dyn();
    let count = ndarray::arr0(100.0).into_dyn();
    let mut seeds = vec![
        npz(
            &[("mu", mu.clone()), ("sigma", sigma.clone())],
            false,
            false,
        ),
        npz(&[("mu", mu.clone()), ("sigma", sigma.clone())], true, true),
        npz(
            &[("mu", mu), ("sigma", sigma), ("count", count)],
            false,
            false,
        ),
        read("tests/fixtures/metrics/stats_wrong_shape.npz"),
        read("tests/fixtures/metrics/stats_missing_sigma.npz"),
        read("tests/fixtures/metrics/stats64_a_f32.npz"),
        read("tests/fixtures/metrics/stats64_b_compressed.npz"),
    ];
    seeds.push(read("tests/fixtures/holes/covariance_negative_outside.npz"));
    run(Target {
        name: "statistics",
        file_name: "stats.npz",
        must_name: "stats.npz",
        custom: Some(npz_with_mutated_member),
        inputs: 300,
        seeds,
        tokens: npz_tokens(&[b"mu.npy", b"sigma.npy", b"count.npy"]),
        parse: Arc::new(|path| {
            FidStats::read_npz(path)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

fn feature_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.npz");
    FeatureFile {
        arrays: vec![
            (
                "pool".into(),
                Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32),
            ),
            ("logits".into(), Array2::from_elem((3, 2), 0.5)),
        ],
        files: vec!["a.png".into(), "b/ü.png".into(), "c.jpg".into()],
    }
    .write(&path)
    .unwrap();
    vec![
        std::fs::read(&path).unwrap(),
        read("tests/fixtures/holes/surrogate_names.npz"),
        read("tests/fixtures/metrics/stats_wrong_shape.npz"),
    ]
}

#[test]
fn feature_files_npz() {
    run(Target {
        name: "features-npz",
        file_name: "features.npz",
        must_name: "features.npz",
        custom: Some(npz_with_mutated_member),
        inputs: 300,
        seeds: feature_seeds(),
        tokens: npz_tokens(&[b"pool.npy", b"files.npy", b"logits_unbiased.npy", b"mu.npy"]),
        parse: Arc::new(|path| {
            FeatureFile::read(path)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

#[test]
fn feature_files_npy() {
    let seeds = vec![
        npy(&Array2::from_shape_fn((5, 3), |(i, j)| (i + j) as f32).into_dyn()),
        npy(&Array3::<f32>::zeros((2, 3, 4)).into_dyn()),
        read("tests/fixtures/metrics/kid_fake.npy"),
        read("tests/fixtures/e2e/fake_pool.npy"),
    ];
    run(Target {
        name: "features-npy",
        file_name: "features.npy",
        must_name: "features.npy",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&NPY_TOKENS),
        parse: Arc::new(|path| {
            FeatureFile::read(path)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

#[test]
fn text_embeddings() {
    let seeds = vec![
        npy(&Array3::from_shape_fn((2, 3, 8), |(i, j, k)| (i + j + k) as f32 / 9.0).into_dyn()),
        npy(&Array2::from_elem((4, 8), 0.25).into_dyn()),
        npy(&Array3::<f32>::zeros((1, 1, 5)).into_dyn()),
    ];
    run(Target {
        name: "embeddings",
        file_name: "embeddings.npy",
        must_name: "embeddings.npy",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&NPY_TOKENS),
        parse: Arc::new(|path| {
            Embeddings::read(path, 8)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

#[test]
fn noise_files() {
    let manifest =
        GeneratorManifest::read_beside(&root().join("tests/fixtures/generators/tiny-v2-cond.onnx"))
            .unwrap();
    let arrays: Vec<(String, ndarray::ArrayD<f64>)> = manifest
        .inputs
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                Array2::from_shape_fn((2, i.width()), |(r, c)| (r * 7 + c) as f64 / 10.0)
                    .into_dyn(),
            )
        })
        .collect();
    let named: Vec<(&str, ndarray::ArrayD<f64>)> = arrays
        .iter()
        .map(|(n, a)| (n.as_str(), a.clone()))
        .collect();
    let seeds = vec![npz(&named, true, false), npz(&named[..1], false, true)];
    let names: Vec<Vec<u8>> = manifest
        .inputs
        .iter()
        .map(|i| format!("{}.npy", i.name).into_bytes())
        .collect();
    let mut all_tokens = npz_tokens(&[]);
    all_tokens.extend(names);
    run(Target {
        name: "noise",
        file_name: "noise.npz",
        must_name: "noise.npz",
        custom: Some(npz_with_mutated_member),
        inputs: 300,
        seeds,
        tokens: all_tokens,
        parse: Arc::new(move |path| {
            NoiseFile::read(path, &manifest)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

const TOML_TOKENS: [&[u8]; 24] = [
    b"role = \"extractor\"\n",
    b"role = \"generator\"\n",
    b"role = \"classifier\"\n",
    b"format = 1\n",
    b"shape = [-1, 3, 299, 299]\n",
    b"shape = [-1]\n",
    b"[[outputs]]\n",
    b"[[inputs]]\n",
    b"kind = \"pool\"\n",
    b"kind = \"image\"\n",
    b"std = [0.0, 0.0, 0.0]\n",
    b"value_range = [1.0, -1.0]\n",
    b"resolution = 0\n",
    b"[inception_score]\n",
    b"drop_columns = [99999999]\n",
    b"nan",
    b"inf",
    b"-1",
    b"18446744073709551615",
    b"\"\"\"",
    b"[",
    b"]",
    b" = ",
    b"\n",
];

/// A manifest target: the input is written as `model.toml` beside a model path.
fn manifest_target(
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    read: fn(&Path) -> Result<(), String>,
) -> Target {
    Target {
        name,
        file_name: "model.toml",
        must_name: "model.toml",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&TOML_TOKENS),
        parse: Arc::new(move |path| read(&path.with_extension("onnx"))),
    }
}

#[test]
fn extractor_manifests() {
    let mut seeds = folder("tests/fixtures/models")
        .into_iter()
        .filter(|bytes| std::str::from_utf8(bytes).is_ok_and(|t| t.contains("role =")))
        .collect::<Vec<_>>();
    seeds.push(read("models/demo/demo-extractor.toml"));
    run(manifest_target("extractor-manifests", seeds, |model| {
        Manifest::read_beside(model)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }));
}

#[test]
fn generator_manifests() {
    let mut seeds = folder("tests/fixtures/generators")
        .into_iter()
        .filter(|bytes| std::str::from_utf8(bytes).is_ok_and(|t| t.contains("role =")))
        .collect::<Vec<_>>();
    seeds.push(read("models/demo/demo-generator.toml"));
    seeds.push(read("models/demo/demo-generator-v1.toml"));
    run(manifest_target("generator-manifests", seeds, |model| {
        GeneratorManifest::read_beside(model)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }));
}

/// An ablation config over files that exist, so that mutations reach past
/// the first missing path.
fn ablation_seed() -> Vec<u8> {
    let at = |p: &str| root().join(p).display().to_string();
    format!(
        r#"title = "fuzz"
extractor = "{extractor}"
real = "{real}"
metrics = ["fid", "is", "kid", "prdc"]
seed = 3
batch_size = 4

[is]
protocol = "stackgan"

[kid]
subset_size = 5

[prdc]
k = 2

[tsne]
perplexity = 2.0
samples = 5
seed = 1
grid = 4

[[variant]]
name = "folder"
folder = "{fake}"
paper.fid = {{ value = 12.5, status = "sourced", source = "the paper, table 1" }}

[[variant]]
name = "generator"
generator = "{generator}"
embeddings = "{embeddings}"
branch = 64
images = 2
captions = 1
"#,
        extractor = at("tests/fixtures/models/tiny-extractor.onnx"),
        real = at("tests/fixtures/e2e/real"),
        fake = at("tests/fixtures/e2e/fake"),
        generator = at("models/demo/demo-generator.onnx"),
        embeddings = at("models/demo/demo-embeddings.npy"),
    )
    .into_bytes()
}

/// Ablation configs as `ablation` reads and checks them before any model runs.
#[test]
fn ablation_configs() {
    let mut seeds = vec![ablation_seed()];
    seeds.extend(folder("examples/ablation"));
    let mut all = tokens(&TOML_TOKENS);
    all.extend(tokens(&[
        b"[[variant]]\n",
        b"name = \"x\"\n",
        b"metrics = [\"fid\", \"nope\"]\n",
        b"[tsne]\nperplexity = 1e300\n",
        b"samples = 0\n",
        b"paper.is = { value = nan, status = \"unverified\" }\n",
        b"sampling = \"stackgan-v2-cub\"\n",
        b"../",
    ]));
    run(Target {
        name: "ablation-configs",
        file_name: "ablation.toml",
        must_name: "ablation.toml",
        custom: None,
        inputs: 300,
        seeds,
        tokens: all,
        parse: Arc::new(|path| {
            stackgan_eval::ablation::read(path)
                .map(|_| ())
                .map_err(|e| format!("{e:#}"))
        }),
    });
}

/// Run files as `report` reads them — score and eval reports, ablation.json,
/// collapse.json, curve.json, with and without a failure triage — through
/// the command itself, the page written beside the input.
#[test]
fn report_runs() {
    let mut seeds = folder("tests/fixtures/report")
        .into_iter()
        .filter(|b| b.first() == Some(&b'{'))
        .collect::<Vec<_>>();
    for path in [
        "reports/demo/eval-generator.json",
        "reports/demo/score-collapsed.json",
        "reports/demo/ablation/ablation.json",
        "reports/demo/tsne/collapse.json",
    ] {
        seeds.push(read(path));
    }
    run(Target {
        name: "report-runs",
        file_name: "run.json",
        must_name: "run.json",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&[
            b"\"tool\": \"stackgan-eval\"",
            b"\"table\": ",
            b"\"details\": [",
            b"\"rows\": [",
            b"\"columns\": [",
            b"\"kind\": \"paper\"",
            b"\"triage\": {",
            b"\"examples\": [",
            b"\"kind\": \"severe\"",
            b"\"ci\": [",
            b"\"status\": \"unverified\"",
            b"\"branches\": [",
            b"null",
            b"-0",
            b"1e309",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"{",
            b"}",
        ]),
        parse: Arc::new(|path| {
            app::run(Command::Report(ReportCommand {
                runs: vec![path.to_path_buf()],
                out: path.with_extension("page"),
                samples: None,
                title: "fuzz".into(),
                quiet: true,
            }))
            .map_err(|e| format!("{e:#}"))
        }),
    });
}

/// Reports as `compare` reads them: through the command itself, printing
/// nothing and writing nothing (no --out, quiet).
#[test]
fn compare_reports() {
    let mut seeds = folder("tests/fixtures/compare")
        .into_iter()
        .filter(|b| b.first() == Some(&b'{'))
        .collect::<Vec<_>>();
    seeds.push(read("reports/demo/eval-generator.json"));
    seeds.push(read("reports/demo/score-collapsed.json"));
    run(Target {
        name: "compare-reports",
        file_name: "report.json",
        must_name: "report.json",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&[
            b"\"tool\": \"stackgan-eval\"",
            b"\"fid\": ",
            b"\"branches\": [",
            b"\"kid_mean\": ",
            b"\"is_mean\": ",
            b"\"n_fake\": ",
            b"\"warnings\": [",
            b"NaN",
            b"1e309",
            b"-0",
            b"null",
            b"true",
            b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            b"{",
            b"}",
            b"\\ud800",
        ]),
        parse: Arc::new(|path| {
            app::run(Command::Compare(CompareCommand {
                reports: vec![path.to_path_buf()],
                labels: None,
                out: None,
                title: "fuzz".into(),
                paired: false,
                quiet: true,
            }))
            .map_err(|e| format!("{e:#}"))
        }),
    });
}

/// `compare --paired`: a fuzzed report against a good one with bootstrap
/// replicates (tests/fixtures/bootstrap/report-b5.json, written by `score
/// --bootstrap 5`); the replicate values and settings are read back.
#[test]
fn compare_paired_reports() {
    let good = root().join("tests/fixtures/bootstrap/report-b5.json");
    run(Target {
        name: "compare-paired",
        file_name: "report.json",
        must_name: "report.json",
        custom: None,
        inputs: 300,
        seeds: vec![read("tests/fixtures/bootstrap/report-b5.json")],
        tokens: tokens(&[
            b"\"bootstrap\": {",
            b"\"values\": {",
            b"\"replicates\": ",
            b"\"seed\": ",
            b"\"level\": ",
            b"\"fid_ci\": [",
            b"\"fid\": [",
            b"NaN",
            b"1e309",
            b"-1",
            b"null",
            b"[]",
            b"{}",
        ]),
        parse: Arc::new(move |path| {
            app::run(Command::Compare(CompareCommand {
                reports: vec![path.to_path_buf(), good.clone()],
                labels: None,
                out: None,
                title: "fuzz".into(),
                paired: true,
                quiet: true,
            }))
            .map_err(|e| format!("{e:#}"))
        }),
    });
}

fn identity() -> RunIdentity {
    RunIdentity {
        model_sha256: "ab".repeat(32),
        inputs_sha256: Some("cd".repeat(32)),
        seed: Some(7),
        sampling: "plain".into(),
        plan: PlanRequest::default(),
        branches: vec![64],
        save_raw: false,
        samples: 4,
        shard: stackgan_eval::shard::Shard::WHOLE,
    }
}

/// `run.json` of a finished run, as `--resume` reads it.
#[test]
fn resume_records() {
    let mut seeds = vec![serde_json::to_vec_pretty(&identity()).unwrap()];
    let mut other = identity();
    other.plan.images = Some(3);
    other.inputs_sha256 = None;
    seeds.push(serde_json::to_vec(&other).unwrap());
    run(Target {
        name: "resume-records",
        file_name: "run.json",
        must_name: "resume-records",
        custom: None,
        inputs: 300,
        seeds,
        tokens: tokens(&[
            b"\"seed\": ",
            b"null",
            b"\"samples\": ",
            b"\"plan\": {",
            b"-1",
            b"\xc3",
        ]),
        parse: Arc::new(|path| {
            let out = path.parent().unwrap();
            std::fs::write(out.join("samples.csv"), "sample\n").unwrap();
            let branch = Branch {
                output: "img64".into(),
                resolution: 64,
            };
            match RunFolder::open(out, identity(), &[branch], [-1.0, 1.0], Vec::new(), true) {
                Ok(Opened::Complete) => Ok(()),
                Ok(Opened::Run { .. }) => Err("a finished run was taken for a new one".into()),
                Err(e) => Err(e.to_string()),
            }
        }),
    });
}

/// The format-aware mutators only help if their checksums are right.
#[test]
fn crc32_agrees_with_the_fixtures_own_checksums() {
    let png = read("tests/fixtures/images/src/rgb_17x23.png");
    let ihdr_end = 8 + 8 + 13;
    let stored = u32::from_be_bytes(png[ihdr_end..ihdr_end + 4].try_into().unwrap());
    assert_eq!(crc32(&png[12..ihdr_end]), stored);
    let mut rng = Rng::new(1);
    let seeds = vec![png.clone()];
    // No mutation tokens and a seed that survives: the fixed-up copy decodes.
    let mut decodable = 0;
    for _ in 0..50 {
        let bytes = png_with_valid_crcs(&mut rng, &seeds, &[]);
        decodable += usize::from(image::load_from_memory(&bytes).is_ok());
    }
    assert!(decodable > 0);
}

/// The harness itself: a parser that panics on some inputs and hangs on
/// others is caught at both, and the inputs are kept.
#[test]
fn the_harness_catches_panics_hangs_and_bad_messages() {
    let target = Target {
        name: "harness-self-check",
        file_name: "input.bin",
        must_name: "input.bin",
        custom: None,
        inputs: 0,
        seeds: vec![vec![0], vec![1], vec![2], vec![3]],
        tokens: Vec::new(),
        parse: Arc::new(|path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            match bytes.first().map(|b| b % 4) {
                Some(0) => panic!("a deliberate panic"),
                Some(1) => {
                    std::thread::sleep(std::time::Duration::from_millis(400));
                    Ok(())
                }
                Some(2) => Err("a message that names nothing".into()),
                _ => Ok(()),
            }
        }),
    };
    let report = fuzz_with(&target, 60, 9, std::time::Duration::from_millis(100));
    assert!(report.panics > 0, "{report:?}");
    assert!(report.hangs > 0, "{report:?}");
    assert!(report.bad_messages > 0, "{report:?}");
    assert!(report.accepted > 0, "{report:?}");
    assert!(report.failures.iter().all(|p| p.is_file()), "{report:?}");
}

/// A kept row of `curve` (`rows/<checkpoint>.json`), as a later run reads it.
#[test]
fn curve_rows() {
    use stackgan_eval::curve::SettingsOf;
    use stackgan_eval::curve::{Checkpoint, CheckpointFormat, CurveRow, CurveStore, Settings};
    use stackgan_eval::scoring::{
        BranchReport, EvalReport, GeneratorProvenance, ScoreReport, ScoringOptions,
    };

    let job = stackgan_eval::generate::JobSpec::default();
    let settings = Settings::new(SettingsOf {
        scoring: &ScoringOptions::default(),
        images: &stackgan_eval::options::ImageOptions::default(),
        job: &job,
        real: None,
        batch_size: 50,
        kind: None,
    });
    let mut scores = ScoreReport::new(50);
    scores.fid = Some(12.5);
    scores.is_mean = Some(3.25);
    scores.is_std = Some(0.125);
    let row = CurveRow {
        iteration: 100,
        checkpoint: "runs/netG_100.onnx".into(),
        checkpoint_sha256: "ab".repeat(32),
        converted: None,
        settings,
        report: EvalReport {
            generator: GeneratorProvenance {
                path: "runs/netG_100.onnx".into(),
                name: "g".into(),
                sha256: "ab".repeat(32),
                family: "stackgan-v2".into(),
                config: "v2-birds".into(),
            },
            inputs_sha256: None,
            seed: Some(0),
            sampling_protocol: "plain".into(),
            sampling: "plain".into(),
            samples: 4,
            branches: vec![BranchReport {
                resolution: 64,
                output: "img64".into(),
                scores,
            }],
            color_consistency: Vec::new(),
            stamp: stackgan_eval::report::Stamp::current(),
        },
    };
    run(Target {
        name: "curve-rows",
        file_name: "netG_100.json",
        must_name: "netG_100.json",
        custom: None,
        inputs: 300,
        seeds: vec![serde_json::to_vec_pretty(&row).unwrap()],
        tokens: tokens(&[
            b"\"iteration\": ",
            b"null",
            b"\"settings\": {",
            b"-1",
            b"1e999",
            b"\xc3",
        ]),
        parse: Arc::new(|path| {
            let root = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(root.path().join("rows")).unwrap();
            std::fs::copy(path, root.path().join("rows/netG_100.json")).unwrap();
            let checkpoint = Checkpoint {
                path: "runs/netG_100.onnx".into(),
                iteration: 100,
                format: CheckpointFormat::Onnx,
            };
            CurveStore::open(root.path())
                .read_row(&checkpoint)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}

/// The GPU flags' values (`--device`, `--precision`, `--devices`): any text
/// is parsed or refused in one line, never a panic. The file's text is the
/// flag's value; a refusal names the flag (here through the file's name).
#[test]
fn gpu_flag_values() {
    use stackgan_eval::runtime::{Device, DeviceList, Precision};
    run(Target {
        name: "gpu_flag_values",
        file_name: "flag.txt",
        must_name: "flag.txt",
        custom: None,
        inputs: 300,
        seeds: tokens(&[
            b"cuda:0", b"cuda", b"auto", b"cpu", b"tf32", b"fp16", b"0,1,2,3", b"7",
        ]),
        tokens: tokens(&[
            b"cuda:",
            b",",
            b":",
            b"-",
            b"+",
            b"4294967296",
            b"\xff",
            b" ",
            b"fp",
        ]),
        parse: Arc::new(|path| {
            let text = String::from_utf8_lossy(&std::fs::read(path).map_err(|e| e.to_string())?)
                .into_owned();
            let name = path.display();
            let devices = text.parse::<DeviceList>().map(|_| ());
            let device = text.parse::<Device>().map(|_| ());
            let precision = text.parse::<Precision>().map(|_| ());
            device
                .and(precision)
                .and(devices)
                .map_err(|e| format!("{name}: {e}"))
        }),
    });
}

/// The float16 conversion (`--precision fp16`) on mutated ONNX files: it
/// decodes whatever it is given, and must convert it or refuse it in one
/// line naming the file, never panic.
#[test]
fn float16_conversion() {
    use stackgan_eval::convert::onnx::float16::to_float16;
    run(Target {
        name: "float16_conversion",
        file_name: "model.onnx",
        must_name: "model.onnx",
        custom: None,
        inputs: 300,
        seeds: vec![
            read("tests/fixtures/models/tiny-extractor.onnx"),
            read("tests/fixtures/models/bad-output.onnx"),
            read("tests/fixtures/fp16/edge.onnx"),
            read("models/demo/demo-extractor.onnx"),
        ],
        tokens: tokens(&[
            b"\x08\x08",
            b"\x3a",
            b"\x0a\x04Cast",
            b"\x22\x06Resize",
            b"\x22\x08Constant",
            b"\x10\x01",
            b"\x10\x0a",
            b"\x48",
            b"\x70\x01",
            b"\xff\xff\xff\xff\x0f",
        ]),
        parse: Arc::new(|path| {
            let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
            to_float16(&bytes, path)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
    });
}
