//! Criterion bench of native conversion at full size, to a written `.onnx`
//! and manifest: the FID Inception's 23.9 M stand-in weights
//! (tests/fixtures/convert/fid.json, drawn as `convert::stand_in` draws
//! them) and the StackGAN-v2 birds generator at the released widths
//! (21.3 M weights in its checkpoint's layout, drawn the same way).
//!
//! Run briefly: `cargo bench --bench convert -- --sample-size 10`.
//! `benches/peer/convert_peer.py` compares `models convert` with the Python
//! exporters (wall time and peak memory) on weight files of both.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use stackgan_eval::convert::inception::{self, Variant};
use stackgan_eval::convert::stackgan::{self, StackganKind, V2Widths, Widths};
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

fn bench_convert_stackgan(c: &mut Criterion) {
    let layout = stackgan::layout(&Widths::V2(V2Widths::CUB_BIRDS));
    let weights = stand_in_weights(&layout, 0, Path::new("netG_birds.pth"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().join("v2-birds.onnx");
    let kind = ModelKind::Stackgan(StackganKind::V2Birds);

    let mut group = c.benchmark_group("convert stackgan-v2 birds (21.3 M weights)");
    group.sample_size(10);
    group.bench_function("to .onnx + .toml on disk", |b| {
        b.iter(|| black_box(convert(&weights, &kind, &out).expect("writes")))
    });
    group.finish();
}

criterion_group!(benches, bench_convert, bench_convert_stackgan);
criterion_main!(benches);
