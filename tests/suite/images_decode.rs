//! Decoding and folder walking, against Pillow's `Image.open(p).convert('RGB')`
//! (reference arrays written by tests/fixtures/images/make.py).

use ndarray::Array3;
use ndarray_npy::read_npy;
use stackgan_eval::images::{ImageError, decode_rgb, list_images};
use std::fs;
use std::path::Path;

use crate::util::{fixture, temp_dir};

/// Decodes a fixture and its Pillow reference as HWC u8 arrays.
fn decoded_and_reference(name: &str) -> (Array3<u8>, Array3<u8>) {
    let img = decode_rgb(Path::new(fixture(&format!("images/src/{name}")))).unwrap();
    let (w, h) = img.dimensions();
    let ours = Array3::from_shape_vec((h as usize, w as usize, 3), img.into_raw()).unwrap();
    let reference: Array3<u8> =
        read_npy(fixture(&format!("images/ref/decode/{name}.npy"))).unwrap();
    (ours, reference)
}

/// The fixture decodes to exactly Pillow's bytes.
fn assert_decodes_like_pillow(name: &str) {
    let (ours, reference) = decoded_and_reference(name);
    assert_eq!(ours.dim(), reference.dim(), "{name}: shape");
    let differing = ours.iter().zip(&reference).filter(|(a, b)| a != b).count();
    assert_eq!(
        differing, 0,
        "{name}: {differing} channel values differ from Pillow"
    );
}

#[test]
fn lossless_formats_decode_bit_exactly_like_pillow() {
    let names = [
        "rgb_17x23.png",
        "photo_40x31.png",
        "rgb_17x23.bmp",
        "rgb_17x23.webp",
        "rgba_17x23.png",
        "la_13x11.png",
        "l_13x11.png",
        "p_40x31.png",
        "p_trns_40x31.png",
        "grey16_7x9.png",
        "rgb16_7x9.png",
        "la16_7x9.png",
        "rgba16_7x9.png",
    ];
    for name in names {
        assert_decodes_like_pillow(name);
    }
}

#[test]
fn sixteen_bit_grey_is_clipped_and_colour_keeps_the_high_byte() {
    // First row of grey16_7x9.png: 0, 1, 255, 256, 257, 65280, 65535.
    let (ours, _) = decoded_and_reference("grey16_7x9.png");
    let row: Vec<u8> = (0..7).map(|x| ours[[0, x, 0]]).collect();
    assert_eq!(row, [0, 1, 255, 255, 255, 255, 255]);
}

#[test]
fn jpeg_decodes_bit_exactly_like_pillow() {
    // libjpeg-turbo with Pillow's settings: every subsampling, greyscale and
    // progressive JPEG gives Pillow's exact bytes.
    for name in [
        "jpeg_444_40x31.jpg",
        "jpeg_grey_40x31.jpg",
        "jpeg_420_40x31.jpg",
        "jpeg_422_40x31.jpg",
        "jpeg_prog_40x31.jpg",
    ] {
        assert_decodes_like_pillow(name);
    }
}

#[test]
fn cmyk_jpeg_falls_back_and_stays_near_pillow() {
    // libjpeg-turbo's TurboJPEG API cannot convert CMYK to RGB, so the
    // `image` crate decodes it; the bounds are the values measured on this
    // fixture (max |diff| exact, mean rounded up).
    let name = "jpeg_cmyk_40x31.jpg";
    let (ours, reference) = decoded_and_reference(name);
    assert_eq!(ours.dim(), reference.dim(), "{name}: shape");
    let diffs: Vec<u8> = ours
        .iter()
        .zip(&reference)
        .map(|(a, b)| a.abs_diff(*b))
        .collect();
    let max = *diffs.iter().max().unwrap();
    let mean = diffs.iter().map(|&d| d as f64).sum::<f64>() / diffs.len() as f64;
    eprintln!("{name}: max |diff| {max}, mean |diff| {mean:.4}");
    assert!(max <= 1 && mean <= 0.01, "{name}: max {max}, mean {mean}");
}

fn assert_unreadable(path: &Path) {
    let err = decode_rgb(path).unwrap_err();
    assert!(matches!(err, ImageError::Unreadable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("--skip-bad"), "{message}");
}

#[test]
fn bad_files_are_errors_that_name_the_file_and_the_fix() {
    for name in [
        "zero.png",
        "text.png",
        "truncated.png",
        "truncated.jpg",
        "truncated_scan.jpg",
    ] {
        assert_unreadable(Path::new(fixture(&format!("images/bad/{name}"))));
    }
    assert_unreadable(Path::new(fixture("images/bad/does-not-exist.png")));
}

#[test]
fn listing_is_recursive_sorted_case_insensitive_and_skips_hidden_entries() {
    let dir = temp_dir();
    let root = dir.path();
    for f in [
        "b/2.JPG",
        "b/1.png",
        "a.webp",
        "c/d/e.Jpeg",
        "z.BMP",
        "notes.txt",
        ".hidden.png",
        ".cache/x.png",
        "b/._1.png",
    ] {
        let p = root.join(f);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, b"x").unwrap();
    }
    let found: Vec<String> = list_images(root)
        .unwrap()
        .iter()
        .map(|p| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        found,
        ["a.webp", "b/1.png", "b/2.JPG", "c/d/e.Jpeg", "z.BMP"]
    );
}

#[test]
fn listing_errors_name_the_folder() {
    let dir = temp_dir();
    let missing = dir.path().join("missing");
    let err = list_images(&missing).unwrap_err();
    assert!(matches!(err, ImageError::FolderMissing { .. }) && err.to_string().contains("missing"));

    let file = dir.path().join("file.png");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(
        list_images(&file).unwrap_err(),
        ImageError::NotAFolder { .. }
    ));

    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    fs::write(empty.join("readme.txt"), b"x").unwrap();
    let err = list_images(&empty).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, ImageError::NoImages { .. }), "{err:?}");
    assert!(
        message.contains("empty") && message.contains("png, jpg, jpeg, bmp, webp"),
        "{message}"
    );
}
