//! The four resize modes, each reproducing the implementation it names.

use super::ImageError;
use super::bilinear::{resize_rgb8_bilinear, tf1_mix, tf1_taps, torch_mix, torch_taps};
use super::pillow::{Filter, resize_rgb8, resize_rgb8_as_f32};
use image::RgbImage;
use ndarray::{Array3, ArrayView3, ArrayViewMut3};
use std::fmt;
use std::str::FromStr;

/// How an image is resized to the network's input size; each mode is the
/// resize of one reference implementation, because the choice moves FID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResizeMode {
    /// pytorch-fid: `F.interpolate(bilinear, align_corners=False)` without
    /// antialias, on `ToTensor()` floats in [0, 1].
    LegacyPytorch,
    /// clean-fid: Pillow's antialiased bicubic on each channel as a float
    /// image (mode `F`, values 0..255), clipped to [0, 255], not re-quantised
    /// (Pillow ≤ 12's pass order).
    Clean,
    /// TensorFlow 1 `resize_bilinear` (align_corners=False, no half-pixel
    /// centres) on floats 0..255, as torch-fidelity reimplements it.
    LegacyTf,
    /// Pillow ≤ 12 `resize(BILINEAR)` on the 8-bit RGB image (antialiased,
    /// rounded to 8 bits): StackGAN's Inception Score protocol
    /// (`scipy.misc.imresize`); bit-exact with Pillow 12.3.
    PilBilinear,
}

impl ResizeMode {
    /// All modes, in the order the command line lists them.
    pub const ALL: [ResizeMode; 4] = [
        ResizeMode::LegacyPytorch,
        ResizeMode::Clean,
        ResizeMode::LegacyTf,
        ResizeMode::PilBilinear,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ResizeMode::LegacyPytorch => "legacy-pytorch",
            ResizeMode::Clean => "clean",
            ResizeMode::LegacyTf => "legacy-tf",
            ResizeMode::PilBilinear => "pil-bilinear",
        }
    }
}

impl fmt::Display for ResizeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ResizeMode {
    type Err = ImageError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResizeMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| ImageError::UnknownResizeMode { given: s.into() })
    }
}

/// Resizes `img` to `height × width` with `mode`; returns CHW float32 on the
/// unit scale (pixel / 255), the values the network sees before mean/std.
///
/// Each mode computes on the scale its reference uses: `legacy-pytorch`
/// divides by 255 first (ToTensor, then interpolate); the others resize
/// 0..255 values and divide by 255 afterwards.
pub fn resize_rgb(img: &RgbImage, mode: ResizeMode, height: usize, width: usize) -> Array3<f32> {
    let mut out = Array3::<f32>::zeros((3, height, width));
    resize_rgb_into(img, mode, &Normalise::UNIT, out.view_mut());
    out
}

/// The per-channel map from a resized unit-scale value to the network input:
/// `(v − mean[c]) / std[c]`, applied as each output row is written.
pub(crate) struct Normalise {
    pub(crate) mean: [f32; 3],
    pub(crate) std: [f32; 3],
}

impl Normalise {
    /// Mean 0, std 1: leaves every value exactly as it is.
    pub(crate) const UNIT: Normalise = Normalise {
        mean: [0.0; 3],
        std: [1.0; 3],
    };

    #[inline(always)]
    fn apply(&self, c: usize, unit: f32) -> f32 {
        (unit - self.mean[c]) / self.std[c]
    }
}

/// [`resize_rgb`] into an existing `3 × height × width` array, normalised.
pub(crate) fn resize_rgb_into(
    img: &RgbImage,
    mode: ResizeMode,
    norm: &Normalise,
    mut out: ArrayViewMut3<f32>,
) {
    let (h, w) = (img.height() as usize, img.width() as usize);
    let (out_h, out_w) = (out.shape()[1], out.shape()[2]);
    match out.as_slice_mut() {
        Some(chw) => resize_into_chw(img.as_raw(), (h, w), (out_h, out_w), mode, norm, chw),
        None => {
            let mut chw = vec![0.0f32; 3 * out_h * out_w];
            resize_into_chw(img.as_raw(), (h, w), (out_h, out_w), mode, norm, &mut chw);
            let chw = ArrayView3::from_shape((3, out_h, out_w), &chw).expect("3 × h × w values");
            out.assign(&chw);
        }
    }
}

/// The resize of each mode, writing rows straight into a contiguous CHW
/// buffer with the normalisation applied on the way.
fn resize_into_chw(
    src: &[u8],
    (h, w): (usize, usize),
    (out_h, out_w): (usize, usize),
    mode: ResizeMode,
    norm: &Normalise,
    chw: &mut [f32],
) {
    let plane = out_h * out_w;
    let mut write_row = |y: usize, row: &[f32], map: &dyn Fn(usize, f32) -> f32| {
        for c in 0..3 {
            let dst = &mut chw[c * plane + y * out_w..][..out_w];
            for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
                *d = map(c, px[c]);
            }
        }
    };
    match mode {
        ResizeMode::LegacyPytorch => {
            let (rows, cols) = (torch_taps(h, out_h), torch_taps(w, out_w));
            let unit = byte_values(|v| v / 255.0);
            let map = |c: usize, v: f32| norm.apply(c, v);
            resize_rgb8_bilinear(src, (h, w), (&rows, &cols), &unit, torch_mix, |y, row| {
                write_row(y, row, &map)
            });
        }
        ResizeMode::LegacyTf => {
            let (rows, cols) = (tf1_taps(h, out_h), tf1_taps(w, out_w));
            let level = byte_values(|v| v);
            let map = |c: usize, v: f32| norm.apply(c, v / 255.0);
            resize_rgb8_bilinear(src, (h, w), (&rows, &cols), &level, tf1_mix, |y, row| {
                write_row(y, row, &map)
            });
        }
        ResizeMode::Clean => {
            let map = |c: usize, v: f32| norm.apply(c, v.clamp(0.0, 255.0) / 255.0);
            resize_rgb8_as_f32(src, (h, w), (out_h, out_w), Filter::Bicubic, |y, row| {
                write_row(y, row, &map)
            });
        }
        ResizeMode::PilBilinear => {
            // An 8-bit result has 256 possible values per channel.
            let lut: [[f32; 256]; 3] =
                std::array::from_fn(|c| byte_values(|v| norm.apply(c, v / 255.0)));
            resize_rgb8(src, (h, w), (out_h, out_w), Filter::Bilinear, |y, row| {
                for (c, lut) in lut.iter().enumerate() {
                    let dst = &mut chw[c * plane + y * out_w..][..out_w];
                    for (d, px) in dst.iter_mut().zip(row.chunks_exact(3)) {
                        *d = lut[px[c] as usize];
                    }
                }
            });
        }
    }
}

/// `f(byte as f32)` for every byte value.
fn byte_values(f: impl Fn(f32) -> f32) -> [f32; 256] {
    std::array::from_fn(|b| f(b as f32))
}

/// Resizes an 8-bit RGB image exactly as Pillow ≤ 12's `resize(BILINEAR)`.
pub fn pil_bilinear_rgb8(img: &RgbImage, height: usize, width: usize) -> RgbImage {
    let (h, w) = (img.height() as usize, img.width() as usize);
    let mut data = vec![0u8; height * width * 3];
    resize_rgb8(
        img.as_raw(),
        (h, w),
        (height, width),
        Filter::Bilinear,
        |y, row| data[y * width * 3..(y + 1) * width * 3].copy_from_slice(row),
    );
    RgbImage::from_raw(width as u32, height as u32, data)
        .expect("buffer size is height × width × 3")
}
