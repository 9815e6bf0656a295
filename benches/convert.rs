//! Criterion bench of the native Inception conversion at full size: the FID
//! Inception's 23.9 M stand-in weights (tests/fixtures/convert/fid.json,
//! drawn as `convert::stand_in` draws them) to a written `.onnx` + manifest.
//!
//! Run briefly: `cargo bench --bench convert -- --sample-size 10`.
//! `benches/peer/convert_peer.py` compares wall time and peak memory with
//! the Python exporter (`models/export_inception.py`) on the same weights.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use stackgan_eval::convert::inception::{self, Variant};
use stackgan_eval::convert::stand_in::stand_in_weights;
use stackgan_eval::convert::{InceptionKind, ModelKind, convert};

#[derive(serde::Deserialize)]
struct Fixture {
    weights: String,
    seed: u32,
    layout: Vec<(String, Vec<usize>)>,
}

fn bench_convert(c: &mut Criterion) {
    let text = std::fs::read_to_string("tests/fixtures/convert/fid.json")
        .expect("run from the repository root");
    let fixture: Fixture = serde_json::from_str(&text).expect("the fixture parses");
    let weights = stand_in_weights(&fixture.layout, fixture.seed, Path::new(&fixture.weights));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("fid.onnx");
    let kind = ModelKind::Inception(InceptionKind::Fid);

    let mut group = c.benchmark_group("convert fid inception (23.9 M weights)");
    group.sample_size(10);
    group.bench_function("graph to bytes", |b| {
        b.iter(|| {
            black_box(
                inception::build(&weights, Variant::Fid, 1008)
                    .expect("fits")
                    .to_bytes()
                    .len(),
            )
        })
    });
    group.bench_function("to .onnx + .toml on disk", |b| {
        b.iter(|| black_box(convert(&weights, &kind, &out).expect("writes")))
    });
    group.finish();
}

criterion_group!(benches, bench_convert);
criterion_main!(benches);
