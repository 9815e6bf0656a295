//! The four resize modes, each reproducing the implementation it names.

use super::ImageError;
use super::pillow::{Filter, resize_interleaved_u8, resize_plane_f32};
use image::RgbImage;
use ndarray::{Array3, ArrayViewMut3};
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
    /// image (mode `F`, values 0..255), clipped to [0, 255], not re-quantised.
    Clean,
    /// TensorFlow 1 `resize_bilinear` (align_corners=False, no half-pixel
    /// centres) on floats 0..255, as torch-fidelity reimplements it.
    LegacyTf,
    /// Pillow `resize(BILINEAR)` on the 8-bit RGB image (antialiased, rounded
    /// to 8 bits): StackGAN's Inception Score protocol (`scipy.misc.imresize`).
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
    resize_rgb_into(img, mode, out.view_mut());
    out
}

/// [`resize_rgb`] into an existing `3 × height × width` array.
pub(crate) fn resize_rgb_into(img: &RgbImage, mode: ResizeMode, mut out: ArrayViewMut3<f32>) {
    let (h, w) = (img.height() as usize, img.width() as usize);
    let (out_h, out_w) = (out.shape()[1], out.shape()[2]);
    if mode == ResizeMode::PilBilinear {
        let resized =
            resize_interleaved_u8(img.as_raw(), 3, (h, w), (out_h, out_w), Filter::Bilinear);
        for (c, mut dst) in out.outer_iter_mut().enumerate() {
            let plane = resized[c..].iter().step_by(3).map(|&v| v as f32 / 255.0);
            dst.iter_mut().zip(plane).for_each(|(d, v)| *d = v);
        }
        return;
    }
    for (c, mut dst) in out.outer_iter_mut().enumerate() {
        let plane: Vec<f32> = img.as_raw()[c..]
            .iter()
            .step_by(3)
            .map(|&v| v as f32)
            .collect();
        let resized = match mode {
            ResizeMode::LegacyPytorch => {
                let unit: Vec<f32> = plane.iter().map(|v| v / 255.0).collect();
                torch_bilinear(&unit, (h, w), (out_h, out_w))
            }
            ResizeMode::LegacyTf => {
                let mut r = tf1_bilinear(&plane, (h, w), (out_h, out_w));
                r.iter_mut().for_each(|v| *v /= 255.0);
                r
            }
            ResizeMode::Clean => {
                let mut r = resize_plane_f32(&plane, (h, w), (out_h, out_w), Filter::Bicubic);
                r.iter_mut().for_each(|v| *v = v.clamp(0.0, 255.0) / 255.0);
                r
            }
            ResizeMode::PilBilinear => unreachable!("handled above on the interleaved image"),
        };
        dst.iter_mut().zip(resized).for_each(|(d, v)| *d = v);
    }
}

/// Resizes an 8-bit RGB image exactly as Pillow's `resize(BILINEAR)`.
pub fn pil_bilinear_rgb8(img: &RgbImage, height: usize, width: usize) -> RgbImage {
    let (h, w) = (img.height() as usize, img.width() as usize);
    let data = resize_interleaved_u8(img.as_raw(), 3, (h, w), (height, width), Filter::Bilinear);
    RgbImage::from_raw(width as u32, height as u32, data)
        .expect("buffer size is height × width × 3")
}

/// One source tap pair of a linear interpolation: indices and weights.
struct Lerp {
    lo: usize,
    hi: usize,
    w_lo: f32,
    w_hi: f32,
}

/// PyTorch's bilinear source taps (align_corners=False), in float32; the
/// source coordinate `scale·(d + ½) − ½` is rounded once, as PyTorch's
/// vectorised CPU kernels compute it (a fused multiply-add).
fn torch_taps(in_size: usize, out_size: usize) -> Vec<Lerp> {
    let scale = in_size as f32 / out_size as f32;
    (0..out_size)
        .map(|d| {
            let src = scale.mul_add(d as f32 + 0.5, -0.5).max(0.0);
            let lo = src as usize;
            let hi = if lo + 1 < in_size { lo + 1 } else { lo };
            let w_hi = (src - lo as f32).clamp(0.0, 1.0);
            Lerp {
                lo,
                hi,
                w_lo: 1.0 - w_hi,
                w_hi,
            }
        })
        .collect()
}

fn torch_bilinear(src: &[f32], (h, w): (usize, usize), (out_h, out_w): (usize, usize)) -> Vec<f32> {
    let rows = torch_taps(h, out_h);
    let cols = torch_taps(w, out_w);
    let mut out = Vec::with_capacity(out_h * out_w);
    for r in &rows {
        let (upper, lower) = (
            &src[r.lo * w..(r.lo + 1) * w],
            &src[r.hi * w..(r.hi + 1) * w],
        );
        out.extend(cols.iter().map(|c| {
            let top = upper[c.lo] * c.w_lo + upper[c.hi] * c.w_hi;
            let bottom = lower[c.lo] * c.w_lo + lower[c.hi] * c.w_hi;
            top * r.w_lo + bottom * r.w_hi
        }));
    }
    out
}

/// TF1's source taps (align_corners=False, half_pixel_centers=False):
/// source = destination × in/out, in float32.
fn tf1_taps(in_size: usize, out_size: usize) -> Vec<Lerp> {
    let scale = (in_size as f64 / out_size as f64) as f32;
    (0..out_size)
        .map(|d| {
            let src = d as f32 * scale;
            let lo = src as usize;
            let hi = (lo + 1).min(in_size - 1);
            let frac = src - lo as f32;
            Lerp {
                lo,
                hi,
                w_lo: 1.0 - frac,
                w_hi: frac,
            }
        })
        .collect()
}

fn tf1_bilinear(src: &[f32], (h, w): (usize, usize), (out_h, out_w): (usize, usize)) -> Vec<f32> {
    let rows = tf1_taps(h, out_h);
    let cols = tf1_taps(w, out_w);
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    let mut out = Vec::with_capacity(out_h * out_w);
    for r in &rows {
        let (upper, lower) = (
            &src[r.lo * w..(r.lo + 1) * w],
            &src[r.hi * w..(r.hi + 1) * w],
        );
        out.extend(cols.iter().map(|c| {
            let top = lerp(upper[c.lo], upper[c.hi], c.w_hi);
            let bottom = lerp(lower[c.lo], lower[c.hi], c.w_hi);
            lerp(top, bottom, r.w_hi)
        }));
    }
    out
}
