//! Image stage speed on a CUB-sized photo (500×375): decode, each resize
//! mode to 299×299, and the whole decode + preprocess of one JPEG or PNG.
//!
//! `cargo bench --bench images -- --sample-size 10`

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};
use ndarray::Array3;
use stackgan_eval::images::{Preprocess, ResizeMode, decode_rgb, preprocess_into, resize_rgb};
use std::hint::black_box;
use std::path::PathBuf;

/// A deterministic photo-like image: smooth gradients plus a fixed texture.
fn photo(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let texture = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) % 32;
        let r = (128.0 + 100.0 * (x as f32 / 23.0).sin() * (y as f32 / 31.0).cos()) as u32;
        Rgb([
            (r + texture).min(255) as u8,
            ((x * 255 / width) + texture).min(255) as u8,
            ((y * 255 / height) + texture).min(255) as u8,
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

criterion_group!(benches, bench_images);
criterion_main!(benches);
