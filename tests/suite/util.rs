//! What the test modules share: where the fixtures are, running the binary,
//! the standard refusal check, the one relative-error assertion, seeded
//! synthetic features, thread pools and temporary folders, running a
//! generator on a reference's inputs and comparing with its outputs, and
//! manifests compared field by field.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt::Debug;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ndarray::{Array, Array2, ArrayD, ArrayView, Dimension, IxDyn};
use ndarray_npy::{NpzReader, NpzWriter, ReadableElement};
use serde_json::Value;
use stackgan_eval::rng::NumpyRandomState;

/// The repository root: commands run here, fixtures are found from here.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A path under the repository root, as a `&'static str` so that it can sit in
/// the `&[&str]` argument lists of [`tool`] (leaked: a few bytes, in tests).
pub fn repo_path(relative: &str) -> &'static str {
    let full = root().join(relative);
    let text = full.to_str().expect("the repository path is UTF-8");
    Box::leak(text.to_string().into_boxed_str())
}

/// A file or folder under `tests/fixtures/`.
pub fn fixture(relative: &str) -> &'static str {
    repo_path(&format!("tests/fixtures/{relative}"))
}

/// A file of the bundled demo models (`models/demo/`).
pub fn demo_model(name: &str) -> &'static str {
    repo_path(&format!("models/demo/{name}"))
}

/// The 32×32 stand-in Inception of the end-to-end fixtures.
pub fn tiny_extractor() -> &'static str {
    fixture("models/tiny-extractor.onnx")
}

/// `path` as a command-line argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// The `stackgan-eval` binary with `args`, run from the repository root as a
/// user's run would be, so it finds the ONNX Runtime library the way the
/// README says (`.venv`, or `ORT_DYLIB_PATH` when the caller sets it).
///
/// Hermetic about the model cache: it is [`empty_cache`], and the weights
/// address is one nothing answers, so a command that would fetch the default
/// extractor fails at once instead of using the user's cache or the
/// internet. Tests of the cache set `XDG_CACHE_HOME`, `HOME` and the
/// `STACKGAN_EVAL_WEIGHTS_*` variables themselves.
pub fn command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stackgan-eval"));
    command
        .current_dir(root())
        .args(args)
        .env("XDG_CACHE_HOME", empty_cache())
        .env("STACKGAN_EVAL_WEIGHTS_URL", UNREACHABLE_WEIGHTS)
        .env_remove("STACKGAN_EVAL_WEIGHTS_SHA256");
    command
}

/// The weights address [`command`] gives: port 9 (discard) on this machine, closed.
pub const UNREACHABLE_WEIGHTS: &str = "http://127.0.0.1:9/pt_inception-2015-12-05-6726825d.pth";

/// The cache folder [`command`] gives: nothing is ever cached in it (every
/// fetch from [`UNREACHABLE_WEIGHTS`] fails).
pub fn empty_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite-empty-cache")
}

/// Runs the binary to completion and returns what it printed.
pub fn tool<S: AsRef<OsStr>>(args: &[S]) -> Output {
    command(args).output().expect("the binary runs")
}

/// Runs `generate` of the demo generator on the demo embeddings into `out`,
/// quietly, with `flags`, and asserts that it succeeded.
pub fn generate_demo(out: &Path, flags: &[&str]) {
    let mut args = vec![
        "generate",
        "--model",
        demo_model("demo-generator.onnx"),
        "--embeddings",
        demo_model("demo-embeddings.npy"),
        "--out",
        s(out),
        "--quiet",
    ];
    args.extend(flags);
    assert_ok(&tool(&args));
}

/// Asserts that a run succeeded, showing its output if it did not.
pub fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs the binary with `args` and asserts a refusal: exit code 2, exactly
/// one line on stderr, starting with `error:`, no panic text. Returns the
/// error line.
pub fn refusal_line<S: AsRef<OsStr> + Debug>(args: &[S]) -> String {
    refusal_of(&mut command(args), &format!("{args:?}"))
}

/// [`refusal_line`] of a prepared command (its own environment); `args`
/// names it in failures.
pub fn refusal_of(command: &mut Command, args: &str) -> String {
    let run = command.output().expect("the binary runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "args {args}\nstderr: {stderr}");
    assert!(
        !stderr.contains("panicked"),
        "args {args}\nstderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error:"),
        "one error line expected, args {args}\nstderr: {stderr}"
    );
    lines[0].to_string()
}

/// The standard refusal ([`refusal_line`]) whose line contains `names` (the
/// file or flag at fault), with `output` not created. Returns the error line
/// for further checks.
pub fn assert_refused<S: AsRef<OsStr> + Debug>(args: &[S], names: &str, output: &Path) -> String {
    naming(refusal_line(args), names, output)
}

/// The refusal `line` names `names`, and `output` was not written.
fn naming(line: String, names: &str, output: &Path) -> String {
    assert!(
        line.contains(names),
        "the error should name {names}: {line}"
    );
    assert!(
        !output.exists(),
        "{} was written despite the error",
        output.display()
    );
    line
}

/// One row of a refusal table.
pub struct Refusal<'a> {
    /// The command line after the binary's name.
    pub args: Vec<&'a str>,
    /// What the command was asked to write; it must not exist afterwards.
    pub output: &'a Path,
    /// What the error line must contain: the file or flag at fault.
    pub names: &'a str,
    /// Further fragments the error line must contain (the fix, both sizes, …).
    pub also: &'a [&'a str],
}

impl Refusal<'_> {
    /// Runs the row: the standard refusal, then every `also` fragment.
    pub fn check(&self) {
        self.check_in(&[]);
    }

    /// [`Refusal::check`] with environment variables set for the run.
    pub fn check_in(&self, env: &[(&str, &OsStr)]) {
        let mut command = command(&self.args);
        command.envs(env.iter().copied());
        let line = refusal_of(&mut command, &format!("{:?} with {env:?}", self.args));
        let line = naming(line, self.names, self.output);
        for fragment in self.also {
            assert!(
                line.contains(fragment),
                "args {:?}: the error should say {fragment}: {line}",
                self.args
            );
        }
    }
}

/// The one relative-error assertion: passes when
/// `|got − expected| ≤ tol · max(|expected|, 1e-300)`. The floor only matters
/// for an expected 0, which then demands `|got| ≤ tol · 1e-300` (0, in practice)
/// instead of dividing by zero.
pub fn assert_rel(got: f64, expected: f64, tol: f64, what: &str) {
    let error = (got - expected).abs();
    assert!(
        error <= tol * expected.abs().max(1e-300),
        "{what}: got {got}, expected {expected}, relative error {:e} > {tol:e}",
        error / expected.abs()
    );
}

/// Largest absolute difference between two float32 arrays of the same shape.
pub fn max_abs_diff<D: Dimension>(a: ArrayView<f32, D>, b: ArrayView<f32, D>) -> f32 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A JSON file (a report, or a fixture's reference values).
pub fn json(path: impl AsRef<Path>) -> Value {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One array of an `.npz` file.
pub fn npz_array<A: ReadableElement, D: Dimension>(
    path: impl AsRef<Path>,
    name: &str,
) -> Array<A, D> {
    let path = path.as_ref();
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    NpzReader::new(file)
        .and_then(|mut npz| npz.by_name(name))
        .unwrap_or_else(|e| panic!("{} `{name}`: {e}", path.display()))
}

/// tests/fixtures/metrics/make.py's `synthetic_features`, bit for bit: `n × d`
/// uniform draws of numpy's `RandomState(seed)`, or `u² · 1.5 + 0.1` of them
/// when `square` (a second, differently shaped distribution).
pub fn synthetic_features(seed: u32, n: usize, d: usize, square: bool) -> Array2<f32> {
    let mut rng = NumpyRandomState::new(seed);
    Array2::from_shape_simple_fn((n, d), || {
        let u = rng.random_sample();
        (if square { u * u * 1.5 + 0.1 } else { u }) as f32
    })
}

/// Runs `f` in a rayon pool of `threads` threads.
pub fn with_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// Every float array of an `.npz` by name (int64 arrays converted), as the
/// generator fixtures and `generate --save-raw` write them.
pub fn read_npz(path: &Path) -> BTreeMap<String, ArrayD<f32>> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut npz = NpzReader::new(file).expect("npz");
    let mut arrays = BTreeMap::new();
    for name in npz.names().expect("names") {
        let key = name.trim_end_matches(".npy").to_string();
        if let Ok(array) = npz.by_name::<ndarray::OwnedRepr<f32>, IxDyn>(&name) {
            arrays.insert(key, array);
        } else if let Ok(array) = npz.by_name::<ndarray::OwnedRepr<i64>, IxDyn>(&name) {
            arrays.insert(key, array.mapv(|v| v as f32));
        }
    }
    arrays
}

/// Runs `generate --noise` of `model` on a generator reference's `input_*`
/// arrays into `dir/out` with `--save-raw`; returns the output folder and
/// raw.npz, after checking raw.npz holds those very inputs (it is itself a
/// noise file).
pub fn generate_from_reference(
    model: &Path,
    reference: &BTreeMap<String, ArrayD<f32>>,
    dir: &Path,
) -> (PathBuf, BTreeMap<String, ArrayD<f32>>) {
    let noise = dir.join("noise.npz");
    let mut npz = NpzWriter::new(File::create(&noise).unwrap());
    for (name, array) in reference {
        if let Some(input) = name.strip_prefix("input_") {
            npz.add_array(input, array).unwrap();
        }
    }
    npz.finish().unwrap();
    let out = dir.join("out");
    assert_ok(&tool(&[
        "generate",
        "--model",
        s(model),
        "--noise",
        s(&noise),
        "--out",
        s(&out),
        "--save-raw",
        "--device",
        "cpu",
        "--quiet",
    ]));
    let raw = read_npz(&out.join("raw.npz"));
    for (key, expected) in reference {
        if let Some(input) = key.strip_prefix("input_") {
            assert_eq!(&raw[input], expected, "input {input} in raw.npz");
        }
    }
    (out, raw)
}

/// The stride a reference stores an image output at (`stride_imgR`; 1 when absent).
fn reference_stride(reference: &BTreeMap<String, ArrayD<f32>>, output: &str) -> usize {
    reference
        .get(&format!("stride_{output}"))
        .and_then(|stride| stride.iter().next().copied())
        .map_or(1, |stride| stride as usize)
}

/// (output, max abs difference) of every `{source}_{output}` array of a
/// generator reference against raw.npz, images taken at the reference's stride.
pub fn output_differences(
    raw: &BTreeMap<String, ArrayD<f32>>,
    reference: &BTreeMap<String, ArrayD<f32>>,
    source: &str,
) -> Vec<(String, f32)> {
    let prefix = format!("{source}_");
    let differences: Vec<(String, f32)> = reference
        .iter()
        .filter_map(|(key, expected)| Some((key.strip_prefix(&prefix)?, expected)))
        .map(|(output, expected)| {
            let got = raw
                .get(output)
                .unwrap_or_else(|| panic!("raw.npz has no `{output}`"));
            let step = reference_stride(reference, output) as isize;
            let got = if got.ndim() == 4 {
                got.slice(ndarray::s![.., .., ..;step, ..;step])
                    .to_owned()
                    .into_dyn()
            } else {
                got.clone()
            };
            (
                output.to_string(),
                max_abs_diff(got.view(), expected.view()),
            )
        })
        .collect();
    assert!(
        !differences.is_empty(),
        "the reference has no {source}_* arrays"
    );
    differences
}

/// The PNGs `generate` wrote for every image output of a generator
/// reference are its `{source}_imgR` arrays quantised as upstream saves them
/// (`(x + 1) / 2 · 255`, truncated), within one level.
pub fn assert_pngs_match(out: &Path, reference: &BTreeMap<String, ArrayD<f32>>, source: &str) {
    let prefix = format!("{source}_img");
    for (key, expected) in reference {
        let Some(side) = key.strip_prefix(&prefix) else {
            continue;
        };
        let resolution: usize = side.parse().unwrap();
        let step = reference_stride(reference, &format!("img{side}"));
        for sample in 0..expected.shape()[0] {
            let png = image::open(out.join(format!("{resolution}/{sample:06}.png")))
                .unwrap()
                .to_rgb8();
            assert_eq!(png.dimensions(), (resolution as u32, resolution as u32));
            let mut worst = 0i32;
            for c in 0..3 {
                for y in 0..expected.shape()[2] {
                    for x in 0..expected.shape()[3] {
                        let v = expected[[sample, c, y, x]];
                        let want = (((v + 1.0) / 2.0 * 255.0).clamp(0.0, 255.0)) as i32;
                        let have = png.get_pixel((x * step) as u32, (y * step) as u32).0[c] as i32;
                        worst = worst.max((want - have).abs());
                    }
                }
            }
            assert!(
                worst <= 1,
                "img{side} sample {sample}: PNG differs from the quantised reference by {worst} levels"
            );
        }
    }
}

/// A manifest as TOML values, floats as float32 (the tool reads them so),
/// without the hash (each file has its own): manifests compared field by field.
pub fn manifest_values(path: &Path) -> toml::Value {
    fn to_f32(value: &mut toml::Value) {
        match value {
            toml::Value::Float(f) => *f = f64::from(*f as f32),
            toml::Value::Array(items) => items.iter_mut().for_each(to_f32),
            toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| to_f32(v)),
            _ => {}
        }
    }
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut value: toml::Value = toml::from_str(&text).unwrap();
    value.as_table_mut().unwrap().remove("onnx_sha256");
    to_f32(&mut value);
    value
}

/// Every file under `dir` (recursively): its path relative to `dir`, its bytes.
pub fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}
