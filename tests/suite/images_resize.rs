//! Resize modes and preprocessing against the implementations they name:
//! torch `F.interpolate`, Pillow (float `F` bicubic and 8-bit bilinear) and
//! torch-fidelity's TF1 bilinear. References: tests/fixtures/images/make.py.

use ndarray::Array3;
use ndarray_npy::read_npy;
use stackgan_eval::images::{
    ImageError, Preprocess, ResizeMode, decode_rgb, pil_bilinear_rgb8, preprocess_into, resize_rgb,
};
use std::path::Path;

use crate::util::{fixture, max_abs_diff};

/// (source, out height, out width): down, up and mixed non-square cases.
const CASES: [(&str, usize, usize); 5] = [
    ("rgb_17x23.png", 37, 29),
    ("rgb_17x23.png", 9, 6),
    ("photo_40x31.png", 11, 16),
    ("photo_40x31.png", 45, 20),
    ("p_40x31.png", 31, 40),
];

fn source(name: &str) -> image::RgbImage {
    decode_rgb(Path::new(fixture(&format!("images/src/{name}")))).unwrap()
}

fn reference_f32(name: &str, h: usize, w: usize, mode: ResizeMode) -> Array3<f32> {
    read_npy(fixture(&format!(
        "images/ref/resize/{name}_{h}x{w}_{mode}.npy"
    )))
    .unwrap()
}

/// Largest difference over all cases, on the [0, 255] scale.
fn worst_case_255(mode: ResizeMode, reference_scale: f32) -> f32 {
    let mut worst = 0.0f32;
    for (name, h, w) in CASES {
        let ours = resize_rgb(&source(name), mode, h, w).mapv(|v| v * 255.0);
        let reference = reference_f32(name, h, w, mode).mapv(|v| v * reference_scale);
        let d = max_abs_diff(ours.view(), reference.view());
        eprintln!("{mode} {name} -> {h}x{w}: max |diff| {d:e} on the 0..255 scale");
        worst = worst.max(d);
    }
    worst
}

#[test]
fn legacy_pytorch_matches_torch_interpolate() {
    // Reference on [0, 1]; 4e-5 on the 0..255 scale is 1.6e-7 on [0, 1]:
    // one to two float32 ulps (measured 3.05e-5, on about 1/3 of values).
    assert!(worst_case_255(ResizeMode::LegacyPytorch, 255.0) <= 4e-5);
}

#[test]
fn clean_matches_pillow_float_bicubic() {
    // Measured 7.6e-6: one float32 ulp at 255.
    assert!(worst_case_255(ResizeMode::Clean, 1.0) <= 2e-5);
}

#[test]
fn legacy_tf_matches_torch_fidelity_tf1_bilinear() {
    // Measured 7.6e-6: one float32 ulp at 255 (our ×255 of the unit value).
    assert!(worst_case_255(ResizeMode::LegacyTf, 1.0) <= 1e-5);
}

#[test]
fn pil_bilinear_is_bit_exact_with_pillow() {
    for (name, h, w) in CASES {
        let ours = pil_bilinear_rgb8(&source(name), h, w);
        let reference: Array3<u8> = read_npy(fixture(&format!(
            "images/ref/resize/{name}_{h}x{w}_pil-bilinear.npy"
        )))
        .unwrap();
        assert_eq!(
            ours.as_raw().as_slice(),
            reference.as_slice().unwrap(),
            "{name} -> {h}x{w}"
        );
        let unit = resize_rgb(&source(name), ResizeMode::PilBilinear, h, w);
        for ((c, y, x), v) in unit.indexed_iter() {
            assert_eq!(*v, reference[[y, x, c]] as f32 / 255.0);
        }
    }
}

#[test]
fn pil_bilinear_is_bit_exact_at_the_inception_size() {
    let ours = pil_bilinear_rgb8(&source("photo_40x31.png"), 299, 299);
    let reference: Array3<u8> = read_npy(fixture(
        "images/ref/resize/photo_40x31.png_299x299_pil-bilinear.npy",
    ))
    .unwrap();
    assert_eq!(ours.as_raw().as_slice(), reference.as_slice().unwrap());
}

#[test]
fn preprocess_normalises_the_resized_values_per_channel() {
    // clean-fid order: resize 0..255 floats, then scale; ImageNet mean/std.
    let (mean, std) = ([0.485f32, 0.456, 0.406], [0.229f32, 0.224, 0.225]);
    let p = Preprocess {
        resize: ResizeMode::Clean,
        height: 11,
        width: 16,
        mean,
        std,
    };
    let mut out = Array3::zeros((3, 11, 16));
    preprocess_into(&source("photo_40x31.png"), &p, out.view_mut());
    let reference = reference_f32("photo_40x31.png", 11, 16, ResizeMode::Clean);
    let expected = Array3::from_shape_fn((3, 11, 16), |(c, y, x)| {
        (reference[[c, y, x]] / 255.0 - mean[c]) / std[c]
    });
    let d = max_abs_diff(out.view(), expected.view());
    // One ulp at 255 (7.6e-6) becomes 1.4e-7 after /255/0.224: allow 5e-7.
    assert!(d <= 5e-7, "{d}");
}

#[test]
fn resize_mode_names_round_trip_and_unknown_names_are_errors() {
    for mode in ResizeMode::ALL {
        assert_eq!(mode.to_string().parse::<ResizeMode>().unwrap(), mode);
    }
    assert_eq!(
        "legacy-tf".parse::<ResizeMode>().unwrap(),
        ResizeMode::LegacyTf
    );
    let err = "bicubic".parse::<ResizeMode>().unwrap_err();
    assert!(matches!(err, ImageError::UnknownResizeMode { .. }));
    assert!(err.to_string().contains("bicubic") && err.to_string().contains("pil-bilinear"));
}

fn preprocessed(mode: ResizeMode, mean: f32, std: f32) -> Array3<f32> {
    let p = Preprocess {
        resize: mode,
        height: 21,
        width: 27,
        mean: [mean; 3],
        std: [std; 3],
    };
    let mut out = Array3::zeros((3, 21, 27));
    preprocess_into(&source("photo_40x31.png"), &p, out.view_mut());
    out
}

#[test]
fn preprocess_matches_pytorch_fid_input() {
    // pytorch-fid: ToTensor, interpolate, 2x - 1. Tolerance: f32 rounding of values in [-1, 1].
    let reference: Array3<f32> =
        read_npy(fixture("images/ref/preprocess/pytorch_fid_21x27.npy")).unwrap();
    let d = max_abs_diff(
        preprocessed(ResizeMode::LegacyPytorch, 0.5, 0.5).view(),
        reference.view(),
    );
    eprintln!("pytorch-fid input: max |diff| {d:e}");
    assert!(d <= 4e-7, "{d}");
}

#[test]
fn preprocess_matches_torch_fidelity_input() {
    // torch-fidelity: TF1 bilinear on 0..255, then (x - 128) / 128 = mean = std = 128/255.
    let reference: Array3<f32> =
        read_npy(fixture("images/ref/preprocess/torch_fidelity_21x27.npy")).unwrap();
    let d = max_abs_diff(
        preprocessed(ResizeMode::LegacyTf, 128.0 / 255.0, 128.0 / 255.0).view(),
        reference.view(),
    );
    eprintln!("torch-fidelity input: max |diff| {d:e}");
    assert!(d <= 5e-7, "{d}");
}

#[test]
fn invalid_preprocess_parameters_are_rejected() {
    let mut p = Preprocess::pytorch_fid();
    assert!(p.validate().is_ok());
    p.std[1] = 0.0;
    assert!(p.validate().unwrap_err().to_string().contains("std"));
    let mut p = Preprocess::pytorch_fid();
    p.height = 0;
    assert!(matches!(
        p.validate(),
        Err(ImageError::InvalidParameter { .. })
    ));
}
