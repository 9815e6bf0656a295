//! Reading a full-size FID Inception checkpoint with the native reader.
//!
//! The file is the stand-in of tests/fixtures/checkpoints/ (written by
//! torch.save in the legacy serialisation, like pytorch-fid's
//! `pt_inception-2015-12-05-6726825d.pth`; 95.6 MB), decompressed once to
//! `target/bench-data/fid-inception-legacy.pth`. When
//! `benches/peer/checkpoint_peer.py` has run, its zip-serialised copy
//! `target/bench-data/fid-inception-zip.pth` is read too. Before timing, one
//! read of each, in a fresh process (this bench run again), reports its time
//! and the peak resident memory it took (Linux: VmHWM after resetting it
//! through /proc/self/clear_refs).
//!
//! Run: `cargo bench --bench checkpoint`; then
//! `python benches/peer/checkpoint_peer.py` times torch.load on the same files.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use stackgan_eval::convert::read_checkpoint;

const DATA: &str = "target/bench-data";

/// Set to a checkpoint's path, the bench reads it once, reports, and exits.
const ONE_READ: &str = "STACKGAN_BENCH_ONE_READ";

/// The legacy stand-in, decompressed once (streaming: no 96 MB buffer).
fn legacy_file() -> PathBuf {
    let path = Path::new(DATA).join("fid-inception-legacy.pth");
    if !path.is_file() {
        std::fs::create_dir_all(DATA).expect("target/bench-data is writable");
        let gz = std::fs::File::open("tests/fixtures/checkpoints/fid-inception-legacy.pth.gz")
            .expect("the committed stand-in");
        let partial = path.with_extension("partial");
        let mut out = std::fs::File::create(&partial).expect("a bench file");
        std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut out).expect("decompressed");
        std::fs::rename(&partial, &path).expect("renamed");
    }
    path
}

/// A line of /proc/self/status in MiB (`VmRSS`, `VmHWM`), where there is one.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// One read of `path`: its time and the peak resident memory while it ran.
fn report_one_read(path: &Path) {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let before = status_mib("VmRSS:");
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let start = Instant::now();
    let dict = read_checkpoint(path).expect("the stand-in reads");
    let seconds = start.elapsed().as_secs_f64();
    let peak = status_mib("VmHWM:");
    let values: usize = dict.tensors.values().map(|t| t.len()).sum();
    let size = path.metadata().map(|m| m.len()).unwrap_or_default() as f64 / 1e6;
    match (before, peak, reset) {
        (Some(before), Some(peak), true) => eprintln!(
            "read_checkpoint {name}: {size:.1} MB, {} tensors, {values} values read in {seconds:.3} s; \
             peak RSS {peak:.0} MiB (before the read {before:.0} MiB, so +{:.0} MiB)",
            dict.tensors.len(),
            peak - before
        ),
        _ => {
            eprintln!("{name}: {size:.1} MB read in {seconds:.3} s (no /proc memory figures here)")
        }
    }
}

fn checkpoints(c: &mut Criterion) {
    if let Some(path) = std::env::var_os(ONE_READ) {
        report_one_read(Path::new(&path));
        std::process::exit(0);
    }
    let mut files = vec![("legacy", legacy_file())];
    let zip = Path::new(DATA).join("fid-inception-zip.pth");
    if zip.is_file() {
        files.push(("zip", zip));
    }
    for (_, path) in &files {
        let exe = std::env::current_exe().expect("the bench's own path");
        let status = std::process::Command::new(exe)
            .arg("--bench")
            .env(ONE_READ, path)
            .status()
            .expect("the bench runs again");
        assert!(status.success(), "one read of {}", path.display());
    }
    let mut group = c.benchmark_group("read_checkpoint");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(15));
    for (name, path) in &files {
        group.bench_function(format!("fid-inception-{name}"), |b| {
            b.iter(|| black_box(read_checkpoint(path).expect("the stand-in reads")))
        });
    }
    group.finish();
}

criterion_group!(benches, checkpoints);
criterion_main!(benches);
