//! The fuzzing engine: seeded mutations of a corpus, each input run in a
//! worker thread under `catch_unwind` with a time limit.
//!
//! An input is a failure when its parser panics, runs past the time limit
//! (a hang), or refuses it with a message that is not one line naming the
//! file, or that shows Rust's debug notation. Failing inputs are written to
//! `STACKGAN_FUZZ_FAILURES` (default `target/tmp/fuzz-failures/<parser>/`)
//! and their paths printed. The input being run is always on disk in
//! `target/tmp/fuzz-work/<process id>/<parser>/`, so after a crash (an abort
//! is no panic) the culprit is there.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// A parser a user feeds: where its input goes, and how it is called.
pub struct Target {
    pub name: &'static str,
    /// The input's file name (its extension matters to some parsers).
    pub file_name: &'static str,
    /// What every refusal must name: the file name, or the folder it is in.
    pub must_name: &'static str,
    /// Inputs to run by default (raised by `STACKGAN_FUZZ_INPUTS`).
    pub inputs: usize,
    pub seeds: Vec<Vec<u8>>,
    /// Tokens of the format, inserted or written over the input.
    pub tokens: Vec<Vec<u8>>,
    /// A format-aware mutator used for half the inputs (checksums fixed,
    /// archive members mutated inside their archive), so that inputs get
    /// past the first integrity check.
    pub custom: Option<Mutator>,
    /// Parses the file at the path; `Err` holds the message the user would read.
    pub parse: Parser,
}

/// Parses the file at a path; `Err` holds the message the user would read.
pub type Parser = Arc<dyn Fn(&Path) -> Result<(), String> + Send + Sync>;

/// Makes one input from the seeds and tokens.
pub type Mutator = fn(&mut Rng, &[Vec<u8>], &[Vec<u8>]) -> Vec<u8>;

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub inputs: usize,
    pub accepted: usize,
    pub refused: usize,
    pub panics: usize,
    pub hangs: usize,
    pub bad_messages: usize,
    pub failures: Vec<PathBuf>,
    pub seconds: f64,
}

/// splitmix64: small, seeded, the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One input: a mutated seed, or (one time in ten) random bytes.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) -> Vec<u8> {
    if seeds.is_empty() || rng.below(10) == 0 {
        let len = [0, 1, 8, 64, 512, 4096][rng.below(6)];
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if !seeds.is_empty() && rng.below(2) == 0 {
            // A real header followed by noise.
            let seed = &seeds[rng.below(seeds.len())];
            let keep = rng.below(seed.len().min(64) + 1);
            bytes.splice(0..0, seed[..keep].iter().copied());
        }
        return bytes;
    }
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(6) {
        mutate_once(rng, &mut data, seeds, tokens);
    }
    data
}

fn mutate_once(rng: &mut Rng, data: &mut Vec<u8>, seeds: &[Vec<u8>], tokens: &[Vec<u8>]) {
    let len = data.len();
    let at = |rng: &mut Rng| rng.below(len + 1);
    match rng.below(11) {
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = [0, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'-', b'\n'][rng.below(9)];
        }
        2 => {
            let i = at(rng);
            let insert: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
            data.splice(i..i, insert);
        }
        3 if len > 0 => {
            let i = rng.below(len);
            let end = (i + 1 + rng.below(64)).min(len);
            data.drain(i..end);
        }
        4 => data.truncate(at(rng)),
        5 if len > 0 => {
            let i = rng.below(len);
            let end = (i + 1 + rng.below(256)).min(len);
            let copy = data[i..end].to_vec();
            let to = at(rng);
            data.splice(to..to, copy);
        }
        6 => {
            // Splice: this input's head, another seed's tail.
            let other = &seeds[rng.below(seeds.len())];
            let cut = at(rng);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        7 if !tokens.is_empty() => {
            let token = &tokens[rng.below(tokens.len())];
            let i = at(rng);
            data.splice(i..i, token.iter().copied());
        }
        8 if !tokens.is_empty() && len > 0 => {
            let token = &tokens[rng.below(tokens.len())];
            let i = rng.below(len);
            let end = (i + token.len()).min(len);
            data.splice(i..end, token.iter().copied());
        }
        9 if len >= 4 => {
            // An integer field: a little-endian u16 or u32 set to an edge value.
            let i = rng.below(len - 3);
            let value: u32 =
                [0, 1, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, rng.next() as u32][rng.below(6)];
            let width = if rng.below(2) == 0 { 2 } else { 4 };
            data[i..i + width].copy_from_slice(&value.to_le_bytes()[..width]);
        }
        10 if len > 0 => {
            // A number in text: made huge, negative or zero.
            let i = rng.below(len);
            if let Some(start) = (i..len).find(|&j| data[j].is_ascii_digit()) {
                let end = (start..len)
                    .find(|&j| !data[j].is_ascii_digit())
                    .unwrap_or(len);
                let number: &[u8] = [
                    &b"0"[..],
                    b"-1",
                    b"99999999999999999999",
                    b"4294967296",
                    b"1e308",
                ][rng.below(5)];
                data.splice(start..end, number.iter().copied());
            }
        }
        _ => {
            if len > 0 {
                let i = rng.below(len);
                data[i] = rng.next() as u8;
            }
        }
    }
}

/// Parsers' messages must read as one line naming the file, in words.
fn message_problem(message: &str, must_name: &str) -> Option<String> {
    if message.contains('\n') {
        return Some("the message spans several lines".into());
    }
    if !message.contains(must_name) {
        return Some(format!("the message does not name {must_name}"));
    }
    const DEBUG_NOTATION: [&str; 8] = [
        "Some(",
        "None)",
        "Ok(",
        "Err(",
        "Os {",
        "Kind(",
        "ChunkType",
        "Error {",
    ];
    DEBUG_NOTATION
        .iter()
        .find(|n| message.contains(*n))
        .map(|n| format!("the message shows Rust debug notation `{n}`"))
}

enum Verdict {
    Accepted,
    Refused(String),
    Panicked(String),
}

type Job = (Vec<u8>, Sender<Verdict>);

thread_local! {
    /// The message of the last panic on a worker thread.
    static LAST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

const WORKER_NAME: &str = "fuzz-worker";

/// Panics on worker threads are recorded, not printed; others go to the
/// hook that was there before.
fn quiet_worker_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WORKER_NAME) {
                let location = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{payload}{location}")));
            } else {
                previous(info);
            }
        }));
    });
}

/// A worker thread with its own input file; abandoned if it hangs.
fn start_worker(input: PathBuf, parse: Parser) -> Sender<Job> {
    let (sender, receiver): (Sender<Job>, Receiver<Job>) = channel();
    std::thread::Builder::new()
        .name(WORKER_NAME.into())
        .spawn(move || {
            for (bytes, reply) in receiver {
                let verdict = match std::fs::write(&input, &bytes) {
                    Err(e) => Verdict::Refused(format!("cannot write the input: {e}")),
                    Ok(()) => match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        parse(&input)
                    })) {
                        Ok(Ok(())) => Verdict::Accepted,
                        Ok(Err(message)) => Verdict::Refused(message),
                        Err(_) => Verdict::Panicked(
                            LAST_PANIC
                                .with(|p| p.borrow_mut().take())
                                .unwrap_or_else(|| "a panic".into()),
                        ),
                    },
                };
                if reply.send(verdict).is_err() {
                    break;
                }
            }
        })
        .expect("a worker thread starts");
    sender
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Runs `target`: its input count (or `STACKGAN_FUZZ_INPUTS`) from the seed
/// (`STACKGAN_FUZZ_SEED`, default fixed), each within `STACKGAN_FUZZ_TIMEOUT_S`.
pub fn fuzz(target: &Target) -> Report {
    let inputs = env_number("STACKGAN_FUZZ_INPUTS").map_or(target.inputs, |n| n as usize);
    let seed = env_number("STACKGAN_FUZZ_SEED").unwrap_or(0x5EED_F022);
    let limit = Duration::from_secs(env_number("STACKGAN_FUZZ_TIMEOUT_S").unwrap_or(10));
    fuzz_with(target, inputs, seed, limit)
}

/// Runs `inputs` inputs of `target` drawn from `seed`, each within `limit`.
pub fn fuzz_with(target: &Target, inputs: usize, seed: u64, limit: Duration) -> Report {
    quiet_worker_panics();
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let failures_dir = std::env::var_os("STACKGAN_FUZZ_FAILURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.join("fuzz-failures"))
        .join(target.name);
    let work = tmp
        .join("fuzz-work")
        .join(std::process::id().to_string())
        .join(target.name);
    let mut generation = 0;
    let new_input = |generation: usize| {
        let dir = work.join(generation.to_string());
        std::fs::create_dir_all(&dir).expect("a work folder");
        dir.join(target.file_name)
    };
    let mut worker = start_worker(new_input(generation), target.parse.clone());
    let mut rng = Rng::new(seed ^ fnv(target.name));
    let mut report = Report::default();
    let started = Instant::now();
    let failure = Mutex::new(Vec::new());
    let record = |index: usize, kind: &str, bytes: &[u8], why: &str| {
        if failure.lock().unwrap().len() >= MAX_KEPT {
            return;
        }
        std::fs::create_dir_all(&failures_dir).expect("a failures folder");
        let path = failures_dir.join(format!("{index:06}-{kind}-{}", target.file_name));
        std::fs::write(&path, bytes).expect("the failing input is kept");
        eprintln!(
            "fuzz {}: {kind}: {why}; input kept in {}",
            target.name,
            path.display()
        );
        failure.lock().unwrap().push(path);
    };
    for index in 0..inputs {
        let bytes = match target.custom {
            Some(custom) if rng.below(2) == 0 => custom(&mut rng, &target.seeds, &target.tokens),
            _ => mutate(&mut rng, &target.seeds, &target.tokens),
        };
        let (reply, verdict) = channel();
        worker
            .send((bytes.clone(), reply))
            .expect("the worker is listening");
        report.inputs += 1;
        match verdict.recv_timeout(limit) {
            Ok(Verdict::Accepted) => report.accepted += 1,
            Ok(Verdict::Refused(message)) => {
                report.refused += 1;
                if let Some(problem) = message_problem(&message, target.must_name) {
                    report.bad_messages += 1;
                    record(index, "message", &bytes, &format!("{problem}: {message}"));
                }
            }
            Ok(Verdict::Panicked(message)) => {
                report.panics += 1;
                record(index, "panic", &bytes, &message);
            }
            Err(_) => {
                report.hangs += 1;
                record(
                    index,
                    "hang",
                    &bytes,
                    &format!("no answer within {limit:?}"),
                );
                generation += 1;
                worker = start_worker(new_input(generation), target.parse.clone());
            }
        }
    }
    report.failures = failure.into_inner().unwrap();
    if report.hangs == 0 {
        // Nothing is still reading it; a crash would have left it for study.
        let _ = std::fs::remove_dir_all(&work);
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Failing inputs kept (and printed) per parser; the counts include all.
const MAX_KEPT: usize = 20;

/// FNV-1a: a stable number per target name, so targets draw different inputs.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
