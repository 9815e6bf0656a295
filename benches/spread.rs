//! What spreading a pass over several sessions (`--devices`) costs or gains
//! on the CPU: 200 PNGs (64×64) through the demo extractor, as `stats` and
//! `fid` run them, with one session of 1 and of every-core threads against
//! one session per core of one thread each (the fan-out and its in-order
//! hand-over). On a GPU node the sessions are GPUs; here they measure the
//! machinery. Needs ONNX Runtime (`scripts/setup.sh`).
//!
//! `cargo bench --bench spread -- --sample-size 10`

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use image::RgbImage;
use stackgan_eval::features::{Extractor, run_over_images};
use stackgan_eval::images::ImageBatches;
use stackgan_eval::runtime::{Device, DeviceList, Runtime, RuntimeConfig};

const IMAGES: usize = 200;
const BATCH: usize = 25;

fn write_images(dir: &Path) -> Vec<PathBuf> {
    (0..IMAGES as u32)
        .map(|seed| {
            let img = RgbImage::from_fn(64, 64, |x, y| {
                let v = (x * 7 + y * 13 + seed * 29) % 256;
                image::Rgb([v as u8, ((v * 3) % 256) as u8, ((x + seed) % 256) as u8])
            });
            let path = dir.join(format!("{seed:04}.png"));
            img.save(&path).unwrap();
            path
        })
        .collect()
}

fn spread(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = write_images(dir.path());
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo/demo-extractor.onnx");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let layouts = [
        ("1_session_1_thread", 1, 1),
        ("1_session_all_threads", 1, cores),
        ("1_session_per_core_1_thread", cores, 1),
    ];
    let mut group = c.benchmark_group("spread_pass");
    group.throughput(Throughput::Elements(IMAGES as u64));
    for (name, sessions, threads) in layouts {
        let runtime = Runtime::load(RuntimeConfig {
            device: Device::Cpu,
            threads: Some(threads),
            devices: (sessions > 1).then(|| DeviceList(vec![Device::Cpu; sessions])),
            ..RuntimeConfig::default()
        })
        .expect("ONNX Runtime: run scripts/setup.sh");
        let mut extractor = Extractor::open(&runtime, &model).unwrap();
        let preprocess = extractor.setup(None, None).unwrap().preprocess;
        group.bench_function(
            BenchmarkId::new(name, format!("{sessions}x{threads}")),
            |b| {
                b.iter(|| {
                    let batches =
                        ImageBatches::new(files.clone(), preprocess.clone(), BATCH, false).unwrap();
                    let mut rows = 0;
                    run_over_images::<anyhow::Error>(
                        &mut extractor,
                        batches,
                        &["pool"],
                        &|_| {},
                        |_, arrays| {
                            rows += black_box(arrays[0].nrows());
                            Ok(())
                        },
                    )
                    .unwrap();
                    assert_eq!(rows, IMAGES);
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, spread);
criterion_main!(benches);
