//! Image stage speed on a CUB-sized photo (500×375): decode, each resize
//! mode to 299×299, and the whole decode + preprocess of one JPEG or PNG;
//! and the feed of a GPU run: decode + resize of a batch of files into the
//! batch tensor through [`ImageBatches`], on one core (images/s per core)
//! and on every core, for generator output (256×256 PNG) and CUB photos
//! (500×375 JPEG).
//!
//! `cargo bench --bench images -- --sample-size 10` (`-- batch_feed` for the feed alone)

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};
use ndarray::Array3;
use stackgan_eval::images::{
    ImageBatches, Preprocess, ResizeMode, decode_rgb, preprocess_into, resize_rgb,
};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Images per network call in the feed benchmark (the tool's default batch size).
const BATCH: usize = 50;

/// A deterministic photo-like image: smooth gradients plus a fixed texture.
fn photo(width: u32, height: u32) -> RgbImage {
    seeded_photo(width, height, 0)
}

/// [`photo`] varied by `seed` (a different texture and phase per file).
fn seeded_photo(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = (x + seed * 17, y + seed * 29);
        let texture = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503) ^ seed) % 32;
        let r = (128.0 + 100.0 * (x as f32 / 23.0).sin() * (y as f32 / 31.0).cos()) as u32;
        Rgb([
            (r + texture).min(255) as u8,
            (((x % width) * 255 / width) + texture).min(255) as u8,
            (((y % height) * 255 / height) + texture).min(255) as u8,
        ])
    })
}

fn write_fixtures(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let img = photo(500, 375);
    let png = dir.join("bird.png");
    img.save_with_format(&png, ImageFormat::Png).unwrap();
    let jpg = dir.join("bird.jpg");
    let file = std::fs::File::create(&jpg).unwrap();
    JpegEncoder::new_with_quality(file, 90)
        .encode_image(&img)
        .unwrap();
    (jpg, png)
}

fn bench_images(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (jpg, png) = write_fixtures(dir.path());

    let mut decode = c.benchmark_group("decode_500x375");
    decode.bench_function("jpeg", |b| b.iter(|| decode_rgb(black_box(&jpg)).unwrap()));
    decode.bench_function("png", |b| b.iter(|| decode_rgb(black_box(&png)).unwrap()));
    decode.finish();

    let img = decode_rgb(&jpg).unwrap();
    let mut resize = c.benchmark_group("resize_500x375_to_299x299");
    for mode in ResizeMode::ALL {
        resize.bench_with_input(BenchmarkId::from_parameter(mode), &mode, |b, &mode| {
            b.iter(|| resize_rgb(black_box(&img), mode, 299, 299))
        });
    }
    resize.finish();

    for (decoder, file) in [("jpeg", &jpg), ("png", &png)] {
        let mut whole = c.benchmark_group(format!("decode_and_preprocess_{decoder}_500x375"));
        for mode in ResizeMode::ALL {
            let p = Preprocess {
                resize: mode,
                ..Preprocess::pytorch_fid()
            };
            let mut out = Array3::<f32>::zeros((3, 299, 299));
            whole.bench_with_input(BenchmarkId::from_parameter(mode), &mode, |b, _| {
                b.iter(|| {
                    preprocess_into(&decode_rgb(black_box(file)).unwrap(), &p, out.view_mut())
                })
            });
        }
        whole.finish();
    }
}

/// `BATCH` different seeded pictures of one size and format in `dir`.
fn write_batch(dir: &Path, width: u32, height: u32, format: ImageFormat) -> Vec<PathBuf> {
    (0..BATCH as u32)
        .map(|seed| {
            let img = seeded_photo(width, height, seed);
            let path = dir.join(format!("{seed:03}.{}", format.extensions_str()[0]));
            match format {
                ImageFormat::Jpeg => {
                    let file = std::fs::File::create(&path).unwrap();
                    JpegEncoder::new_with_quality(file, 90)
                        .encode_image(&img)
                        .unwrap();
                }
                _ => img.save_with_format(&path, format).unwrap(),
            }
            path
        })
        .collect()
}

/// One batch of files through [`ImageBatches`] (decode, resize to 299×299
/// as pytorch-fid does, normalise into the N × 3 × 299 × 299 tensor).
fn feed(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        (
            "png_256x256",
            write_batch(dir.path(), 256, 256, ImageFormat::Png),
        ),
        (
            "jpeg_500x375",
            write_batch(dir.path(), 500, 375, ImageFormat::Jpeg),
        ),
    ];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut group = c.benchmark_group("batch_feed");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, files) in &inputs {
        for threads in [1, cores] {
            let pool = Arc::new(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap(),
            );
            let id = BenchmarkId::new(*name, format!("{threads}_cores"));
            group.bench_with_input(id, files, |b, files| {
                b.iter(|| {
                    let batches = ImageBatches::new_in_pool(
                        files.clone(),
                        Preprocess::pytorch_fid(),
                        BATCH,
                        false,
                        pool.clone(),
                    )
                    .unwrap();
                    for batch in batches {
                        black_box(batch.unwrap().tensor);
                    }
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench_images, feed);
criterion_main!(benches);
