//! Converts stand-in Inception-v3 weights with the native converter and says
//! how long it took and how much memory it held.
//!
//! ```sh
//! cargo run --release --example convert_stand_in -- tests/fixtures/convert/fid.json out/fid.onnx
//! ```
//!
//! The fixture file (written by `tests/fixtures/convert/make.py`) names the
//! kind, the weight file's name, the seed and the checkpoint's keys and
//! shapes; the weights are drawn from them by `convert::stand_in` exactly as
//! the script drew the ones it saved for the Python exporter. The script runs
//! this to check the written files with `onnx.checker`; `benches/peer/
//! convert_peer.py` runs it to compare time and peak memory with the Python
//! exporter's.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::convert::{InceptionKind, ModelKind, convert};

#[derive(serde::Deserialize)]
struct Fixture {
    kind: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    drop_columns: Vec<usize>,
    weights: String,
    seed: u32,
    layout: Vec<(String, Vec<usize>)>,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [fixture, out] = args.as_slice() else {
        bail!("usage: convert_stand_in FIXTURE.json OUT.onnx");
    };
    let text = std::fs::read_to_string(fixture).with_context(|| format!("reading {fixture}"))?;
    let fixture: Fixture =
        serde_json::from_str(&text).with_context(|| format!("parsing {fixture}"))?;
    let kind = kind(&fixture)?;

    let start = Instant::now();
    let weights = stand_in_weights(&fixture.layout, fixture.seed, Path::new(&fixture.weights));
    let drawn = start.elapsed().as_secs_f64();
    let peak_weights = peak_rss_mib();

    let start = Instant::now();
    let converted = convert(&weights, &kind, &PathBuf::from(out))?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "{}: {} bytes, sha256 {}; weights drawn in {drawn:.2} s (peak {peak_weights:.0} MiB), converted in {seconds:.2} s (peak {:.0} MiB)",
        converted.onnx.display(),
        converted.bytes,
        converted.sha256,
        peak_rss_mib()
    );
    Ok(())
}

/// The fixture's kind with its classifier options.
fn kind(fixture: &Fixture) -> anyhow::Result<ModelKind> {
    let mut kind: ModelKind = fixture.kind.parse().map_err(anyhow::Error::msg)?;
    let ModelKind::Inception(InceptionKind::Classifier(options)) = &mut kind else {
        return Ok(kind);
    };
    if let Some(variant) = &fixture.variant {
        options.variant = variant.parse().map_err(anyhow::Error::msg)?;
    }
    options.drop_columns = fixture.drop_columns.clone();
    Ok(kind)
}

/// The process's peak resident memory so far (`VmHWM`), in MiB; 0 where unknown.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
