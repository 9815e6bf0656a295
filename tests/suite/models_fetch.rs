//! `models fetch`, the model cache, `models list` and the default extractor,
//! against a local HTTP server on 127.0.0.1 ([`TestServer`]) serving a
//! stand-in of pytorch-fid's weight file: `checkpoints/fid-inception-legacy.pth.gz`,
//! full size, with pytorch-fid 0.3.0's keys, shapes and dtypes, written by
//! torch.save in the legacy serialisation `pt_inception-2015-12-05-6726825d.pth`
//! has (`tests/fixtures/checkpoints/make.py`). The SHA-256 the fetch must
//! find is the one Python's hashlib computed there (`fid-inception.json`).
//! The conversion itself is checked against torch and the Python exporter in
//! `convert_inception`; here, that a fetched model is exactly what
//! `models convert` makes of the same file.

use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use crate::server::{Reply, TestServer};
use crate::util::{Refusal, assert_ok, command, fixture, json, s, temp_dir};

/// The name pytorch-fid's weight file has.
const WEIGHTS: &str = "pt_inception-2015-12-05-6726825d.pth";

/// The stand-in's bytes, decompressed once for all tests.
fn stand_in() -> Arc<Vec<u8>> {
    static BYTES: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    BYTES
        .get_or_init(|| {
            let file = std::fs::File::open(fixture("checkpoints/fid-inception-legacy.pth.gz"))
                .expect("the stand-in fixture");
            let mut bytes = Vec::new();
            flate2::read::GzDecoder::new(file)
                .read_to_end(&mut bytes)
                .expect("the stand-in decompresses");
            Arc::new(bytes)
        })
        .clone()
}

/// The stand-in's SHA-256 and size, as Python computed them.
fn stand_in_hash() -> (String, u64) {
    let about = json(fixture("checkpoints/fid-inception.json"));
    let sha256 = about["sha256_of_file"].as_str().expect("sha256_of_file");
    let bytes = about["bytes"].as_u64().expect("bytes");
    (sha256.to_string(), bytes)
}

fn sha256_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The server of these tests: the file behind a redirect (as GitHub
/// serves its releases), the file itself, and the file cut off halfway.
fn server() -> TestServer {
    let bytes = stand_in();
    let half = bytes.len() / 2;
    TestServer::start(vec![
        (
            &format!("/releases/{WEIGHTS}"),
            Reply::Redirect(format!("/files/{WEIGHTS}")),
        ),
        (&format!("/files/{WEIGHTS}"), Reply::File(bytes.clone())),
        (&format!("/cut/{WEIGHTS}"), Reply::CutAfter(bytes, half)),
    ])
}

/// The entry folder of the FID Inception in the cache under `cache_home`.
fn entry(cache_home: &Path) -> PathBuf {
    cache_home.join("stackgan-eval").join("fid-inception")
}

/// Everything under the cache root, for "nothing was cached".
fn cache_contents(cache_home: &Path) -> Vec<String> {
    match std::fs::read_dir(cache_home.join("stackgan-eval")) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// `args` with the cache under `cache_home` and the weights variables as given.
fn in_cache(cache_home: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut run = command(args);
    run.env("XDG_CACHE_HOME", cache_home)
        .env_remove("STACKGAN_EVAL_WEIGHTS_URL")
        .envs(env.iter().copied());
    run.output().expect("the binary runs")
}

#[test]
fn fetch_downloads_checks_converts_and_caches_once() {
    let server = server();
    let dir = temp_dir();
    let cache_home = dir.path().join("cache");
    let (sha256, bytes) = stand_in_hash();
    let url = server.url(&format!("/releases/{WEIGHTS}"));
    let fetch = [
        "models",
        "fetch",
        "fid-inception",
        "--url",
        &url,
        "--sha256",
        &sha256,
    ];
    let run = in_cache(&cache_home, &fetch, &[]);
    assert_ok(&run);
    assert_eq!(server.requests(), 2, "the redirect, then the file");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("fetched") && stderr.contains(&url),
        "{stderr}"
    );

    // The entry holds the model, its manifest and the record: no weights, no temporary files.
    let entry = entry(&cache_home);
    let mut files: Vec<String> = std::fs::read_dir(&entry)
        .expect("the entry")
        .map(|e| {
            e.expect("a file")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert_eq!(
        files,
        ["fetched.json", "fid-inception.onnx", "fid-inception.toml"]
    );
    assert_eq!(cache_contents(&cache_home), ["fid-inception"]);
    let onnx = entry.join("fid-inception.onnx");
    let record = json(entry.join("fetched.json"));
    assert_eq!(record["weights_sha256"], sha256.as_str());
    assert_eq!(record["weights_bytes"], bytes);
    assert_eq!(record["weights"], WEIGHTS);
    assert_eq!(record["source"], url.as_str());
    let onnx_sha256 = sha256_of(&onnx);
    assert_eq!(record["onnx_sha256"], onnx_sha256.as_str());
    let manifest = std::fs::read_to_string(entry.join("fid-inception.toml")).expect("manifest");
    assert!(
        manifest.contains(&format!("onnx_sha256 = \"{onnx_sha256}\"")),
        "{manifest}"
    );

    // Exactly what `models convert` makes of the same file.
    let local = dir.path().join(WEIGHTS);
    std::fs::write(&local, stand_in().as_slice()).expect("the stand-in on disk");
    let converted = dir.path().join("fid-inception.onnx");
    let convert = [
        "models",
        "convert",
        "--checkpoint",
        s(&local),
        "--kind",
        "fid",
        "--out",
        s(&converted),
    ];
    assert_ok(&in_cache(&cache_home, &convert, &[]));
    assert_eq!(
        sha256_of(&converted),
        onnx_sha256,
        "fetch converts as convert does"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("fid-inception.toml")).expect("manifest"),
        manifest
    );

    // A second call, through the environment variables, uses the cache without a request.
    let env = [
        ("STACKGAN_EVAL_WEIGHTS_URL", url.as_str()),
        ("STACKGAN_EVAL_WEIGHTS_SHA256", sha256.as_str()),
    ];
    let again = in_cache(&cache_home, &["models", "fetch", "fid-inception"], &env);
    assert_ok(&again);
    assert_eq!(server.requests(), 2, "no request for a cached model");
    assert!(String::from_utf8_lossy(&again.stdout).contains("already cached"));

    // `models list` shows where the cache is, the model, its hashes and sizes.
    let list = in_cache(&cache_home, &["models", "list"], &[]);
    assert_ok(&list);
    let listed = String::from_utf8_lossy(&list.stdout);
    for shown in [
        s(&cache_home.join("stackgan-eval")),
        s(&onnx),
        &onnx_sha256,
        &sha256,
        &bytes.to_string(),
        &std::fs::metadata(&onnx).expect("onnx").len().to_string(),
        WEIGHTS,
    ] {
        assert!(
            listed.contains(shown),
            "models list should show {shown}:\n{listed}"
        );
    }
}

#[test]
fn failed_fetches_are_one_line_errors_and_cache_nothing() {
    let server = server();
    let dir = temp_dir();
    let cache_home = dir.path().join("cache");
    let (sha256, _) = stand_in_hash();
    let (url, cut) = (
        server.url(&format!("/files/{WEIGHTS}")),
        server.url(&format!("/cut/{WEIGHTS}")),
    );
    let missing = server.url("/missing.pth");
    let zeros = "0".repeat(64);
    let not_weights = dir.path().join("notes.pth");
    std::fs::write(&not_weights, b"not a checkpoint").expect("a file");
    let not_weights_sha256 = sha256_of(&not_weights);
    let gone = dir.path().join("gone.pth");
    let entry = entry(&cache_home);
    let fetch = |extra: &[&'static str]| {
        let mut args = vec!["models", "fetch", "fid-inception"];
        args.extend(extra);
        args
    };
    let leak = |text: &str| -> &'static str { Box::leak(text.to_string().into_boxed_str()) };
    // (row, environment)
    let rows = [
        // A file that is not the expected one: both hashes named.
        (
            Refusal {
                args: fetch(&["--url", leak(&url), "--sha256", leak(&zeros)]),
                output: &entry,
                names: &url,
                also: &[&sha256, &zeros, "nothing was cached"],
            },
            vec![],
        ),
        // pytorch-fid's own check: the digits in the name start the file's SHA-256.
        (
            Refusal {
                args: fetch(&[]),
                output: &entry,
                names: &url,
                also: &[&sha256, "expected 6726825d"],
            },
            vec![("STACKGAN_EVAL_WEIGHTS_URL", url.as_str())],
        ),
        (
            Refusal {
                args: fetch(&[]),
                output: &entry,
                names: &url,
                also: &[&sha256, &zeros],
            },
            vec![
                ("STACKGAN_EVAL_WEIGHTS_URL", url.as_str()),
                ("STACKGAN_EVAL_WEIGHTS_SHA256", zeros.as_str()),
            ],
        ),
        // The connection closes halfway through the file.
        (
            Refusal {
                args: fetch(&["--url", leak(&cut), "--sha256", leak(&sha256)]),
                output: &entry,
                names: &cut,
                also: &["nothing was cached", "--from"],
            },
            vec![],
        ),
        (
            Refusal {
                args: fetch(&["--url", leak(&missing)]),
                output: &entry,
                names: &missing,
                also: &["404"],
            },
            vec![],
        ),
        (
            Refusal {
                args: fetch(&["--url", "http://127.0.0.1:9/w.pth"]),
                output: &entry,
                names: "http://127.0.0.1:9/w.pth",
                also: &["STACKGAN_EVAL_WEIGHTS_URL"],
            },
            vec![],
        ),
        (
            Refusal {
                args: fetch(&["--url", "ftp://mirror/w.pth"]),
                output: &entry,
                names: "ftp://mirror/w.pth",
                also: &["http"],
            },
            vec![],
        ),
        (
            Refusal {
                args: fetch(&["--sha256", "6726825"]),
                output: &entry,
                names: "--sha256",
                also: &["hex"],
            },
            vec![],
        ),
        (
            Refusal {
                args: fetch(&[]),
                output: &entry,
                names: "STACKGAN_EVAL_WEIGHTS_SHA256",
                also: &["xyz"],
            },
            vec![("STACKGAN_EVAL_WEIGHTS_SHA256", "xyz")],
        ),
        (
            Refusal {
                args: fetch(&["--from", leak(s(&gone))]),
                output: &entry,
                names: s(&gone),
                also: &["--from"],
            },
            vec![],
        ),
        // A file with the hash it is said to have, which is no checkpoint.
        (
            Refusal {
                args: fetch(&[
                    "--from",
                    leak(s(&not_weights)),
                    "--sha256",
                    leak(&not_weights_sha256),
                ]),
                output: &entry,
                names: s(&not_weights),
                also: &["do not convert"],
            },
            vec![],
        ),
        (
            Refusal {
                args: vec!["models", "fetch", "inception"],
                output: &entry,
                names: "inception",
                also: &["fid-inception"],
            },
            vec![],
        ),
    ];
    for (row, env) in &rows {
        let mut vars: Vec<(&str, &OsStr)> = vec![("XDG_CACHE_HOME", cache_home.as_os_str())];
        vars.extend(env.iter().map(|(k, v)| (*k, OsStr::new(*v))));
        row.check_in(&vars);
        assert!(
            cache_contents(&cache_home).is_empty(),
            "{:?} left {:?} in the cache",
            row.args,
            cache_contents(&cache_home)
        );
    }
    // The three wrong hashes, the cut-off transfer and the 404 were real requests.
    assert_eq!(server.requests(), 5);
}

#[test]
fn fid_with_nothing_else_fetches_the_default_extractor_once_then_runs() {
    let server = server();
    let dir = temp_dir();
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("a home");
    // A few images a side keep the full-size Inception quick on a CPU.
    let (real, fake) = (dir.path().join("real"), dir.path().join("fake"));
    for (from, to) in [("e2e/real", &real), ("e2e/fake", &fake)] {
        std::fs::create_dir(to).expect("a folder");
        for name in ["00.png", "01.png", "02.png", "03.png"] {
            std::fs::copy(Path::new(fixture(from)).join(name), to.join(name)).expect("an image");
        }
    }
    let (sha256, _) = stand_in_hash();
    let url = server.url(&format!("/releases/{WEIGHTS}"));
    let user = |args: &[&str]| {
        let mut run = command(args);
        run.env_remove("XDG_CACHE_HOME")
            .env("HOME", &home)
            .env("STACKGAN_EVAL_WEIGHTS_URL", &url)
            .env("STACKGAN_EVAL_WEIGHTS_SHA256", &sha256);
        run.output().expect("the binary runs")
    };
    let report = |n: usize| dir.path().join(format!("fid{n}.json"));
    let fid = |n: usize| {
        user(&[
            "fid",
            "--real",
            s(&real),
            "--fake",
            s(&fake),
            "--json",
            s(&report(n)),
        ])
    };
    let first = fid(1);
    assert_ok(&first);
    let stderr = String::from_utf8_lossy(&first.stderr);
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("fetched")).collect();
    assert_eq!(said.len(), 1, "one line says it fetched:\n{stderr}");
    assert_eq!(server.requests(), 2, "fetched once (redirect and file)");
    let onnx = home.join(".cache/stackgan-eval/fid-inception/fid-inception.onnx");
    let record = json(onnx.with_file_name("fetched.json"));
    let first_report = json(report(1));
    assert_eq!(first_report["extractor"]["path"], s(&onnx));
    assert_eq!(first_report["extractor"]["sha256"], record["onnx_sha256"]);
    assert_eq!(
        first_report["extractor"]["name"],
        "pytorch-fid-inception-v3"
    );
    assert_eq!(first_report["protocol"], "pytorch-fid");
    assert!(first_report["fid"].is_number());

    // Then it runs from the cache: no request, nothing said, the same report.
    let second = fid(2);
    assert_ok(&second);
    assert_eq!(server.requests(), 2, "the cached model is used");
    assert!(!String::from_utf8_lossy(&second.stderr).contains("fetched"));
    assert_eq!(json(report(2))["fid"], first_report["fid"]);
    // The default is that model exactly: the same run with it named gives the same number.
    let named = dir.path().join("named.json");
    let with_flag = user(&[
        "fid",
        "--real",
        s(&real),
        "--fake",
        s(&fake),
        "--extractor",
        s(&onnx),
        "--json",
        s(&named),
    ]);
    assert_ok(&with_flag);
    assert_eq!(json(&named)["fid"], first_report["fid"]);

    // Other commands share the default: `stats` from the cache, without a request.
    let stats = dir.path().join("real-stats.npz");
    assert_ok(&user(&[
        "stats",
        "--images",
        s(&real),
        "--out",
        s(&stats),
        "--quiet",
    ]));
    assert!(stats.is_file());
    assert_eq!(server.requests(), 2);

    let list = user(&["models", "list"]);
    assert_ok(&list);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains(s(&onnx)) && listed.contains(&sha256),
        "{listed}"
    );
}

#[test]
fn statistics_and_feature_files_need_no_model_and_fetch_nothing() {
    let server = server();
    let dir = temp_dir();
    let cache_home = dir.path().join("cache");
    let url = server.url(&format!("/files/{WEIGHTS}"));
    let env = [("STACKGAN_EVAL_WEIGHTS_URL", url.as_str())];
    let runs: [&[&str]; 2] = [
        &[
            "fid",
            "--real",
            fixture("metrics/stats64_a_f32.npz"),
            "--fake",
            fixture("metrics/stats64_b_compressed.npz"),
        ],
        &[
            "kid",
            "--real",
            fixture("e2e/real_pool.npy"),
            "--fake",
            fixture("e2e/fake_pool.npy"),
            "--kid-subset-size",
            "10",
        ],
    ];
    for args in runs {
        assert_ok(&in_cache(&cache_home, args, &env));
    }
    assert_eq!(server.requests(), 0);
    assert!(!cache_home.exists(), "no cache folder was made");
}

#[test]
fn convert_refusals_name_the_file_and_write_nothing() {
    let dir = temp_dir();
    let out = dir.path().join("m.onnx");
    let text = dir.path().join("notes.pth");
    std::fs::write(&text, b"not a checkpoint").expect("a file");
    let weights = dir.path().join(WEIGHTS);
    std::fs::write(&weights, stand_in().as_slice()).expect("the stand-in on disk");
    let gone = dir.path().join("gone.pth");
    let convert = |checkpoint: &Path, kind: &'static str, out: &Path| {
        let leak = |p: &Path| -> &'static str { Box::leak(s(p).to_string().into_boxed_str()) };
        vec![
            "models",
            "convert",
            "--checkpoint",
            leak(checkpoint),
            "--kind",
            kind,
            "--out",
            leak(out),
        ]
    };
    let rows = [
        Refusal {
            args: convert(&gone, "fid", &out),
            output: &out,
            names: s(&gone),
            also: &["does not exist"],
        },
        Refusal {
            args: convert(&text, "fid", &out),
            output: &out,
            names: s(&text),
            also: &[],
        },
        // pytorch-fid's 1008 classes are not torchvision's 1000.
        Refusal {
            args: convert(&weights, "imagenet", &out),
            output: &out,
            names: s(&weights),
            also: &["--kind classifier"],
        },
        Refusal {
            args: convert(&weights, "fid", &dir.path().join("m.bin")),
            output: &dir.path().join("m.bin"),
            names: "m.bin",
            also: &[".onnx"],
        },
        Refusal {
            args: convert(&weights, "stylegan", &out),
            output: &out,
            names: "--kind",
            also: &["stylegan"],
        },
    ];
    for row in &rows {
        row.check();
        assert!(!out.with_extension("toml").exists());
    }
}
