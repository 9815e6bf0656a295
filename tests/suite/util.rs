//! What the test modules share: where the fixtures are, running the binary,
//! the standard refusal check, the one relative-error assertion, seeded
//! synthetic features, thread pools, temporary folders and a local HTTP
//! server.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Debug;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ndarray::{Array, Array2, ArrayView, Dimension};
use ndarray_npy::{NpzReader, ReadableElement};
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

/// What [`TestServer`] answers on one path.
#[derive(Clone)]
pub enum Reply {
    /// The whole body, with its length.
    File(Arc<Vec<u8>>),
    /// The headers of the whole body, its first `n` bytes, then the
    /// connection closes: a transfer cut off mid-file.
    CutAfter(Arc<Vec<u8>>, usize),
    /// A redirect (302) to another path of the server, as GitHub's releases redirect.
    Redirect(String),
}

/// A small HTTP/1.1 server on 127.0.0.1 for the fetch tests: it answers each
/// path as its [`Reply`] says (404 otherwise), one connection at a time,
/// counts the requests, and stops when dropped, whatever the test did.
pub struct TestServer {
    address: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Listens on a free port of 127.0.0.1.
    pub fn start(routes: Vec<(&str, Reply)>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let address = listener.local_addr().expect("its address");
        let routes: HashMap<String, Reply> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let (requests, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let (counter, stopped) = (requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    answer(stream, &routes, address, &counter);
                }
            }
        });
        TestServer {
            address,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// The address of `path` (`/file.pth`) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.address);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads one request and answers it; a client that hangs up is no error.
fn answer(
    stream: TcpStream,
    routes: &HashMap<String, Reply>,
    address: SocketAddr,
    requests: &AtomicUsize,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(&stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    let head = |status: &str, length: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\n{extra}Connection: close\r\n\r\n")
    };
    let mut out = &stream;
    let _ = match routes.get(path) {
        Some(Reply::File(body)) => out
            .write_all(head("200 OK", body.len(), "").as_bytes())
            .and_then(|_| out.write_all(body)),
        Some(Reply::CutAfter(body, n)) => out
            .write_all(head("200 OK", body.len(), "").as_bytes())
            .and_then(|_| out.write_all(&body[..*n])),
        Some(Reply::Redirect(to)) => {
            let location = format!("Location: http://{address}{to}\r\n");
            out.write_all(head("302 Found", 0, &location).as_bytes())
        }
        None => out.write_all(head("404 Not Found", 0, "").as_bytes()),
    };
    let _ = out.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
