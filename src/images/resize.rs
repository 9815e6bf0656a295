//! The four resize modes, each reproducing the implementation it names.

use super::ImageError;
use super::pillow::{Filter, resize_interleaved_u8, resize_plane_f32};
use image::RgbImage;
use ndarray::{Array3, ArrayViewMut2, ArrayViewMut3};
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
        for ((c, y, x), v) in out.indexed_iter_mut() {
            *v = resized[(y * out_w + x) * 3 + c] as f32 / 255.0;
        }
        return;
    }
    for (c, mut dst) in out.outer_iter_mut().enumerate() {
        let plane: Vec<f32> = img.as_raw()[c..]
            .iter()
            .step_by(3)
            .map(|&v| v as f32)
            .collect();
        match mode {
            ResizeMode::LegacyPytorch => {
                let unit: Vec<f32> = plane.iter().map(|v| v / 255.0).collect();
                torch_bilinear(&unit, (h, w), &mut dst);
            }
            ResizeMode::LegacyTf => {
                tf1_bilinear(&plane, (h, w), &mut dst);
                dst.mapv_inplace(|v| v / 255.0);
            }
            ResizeMode::Clean => {
                let r = resize_plane_f32(&plane, (h, w), (out_h, out_w), Filter::Bicubic);
                for (d, v) in dst.iter_mut().zip(r) {
                    *d = v.clamp(0.0, 255.0) / 255.0;
                }
            }
            ResizeMode::PilBilinear => unreachable!("handled above on the interleaved image"),
        }
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

fn torch_bilinear(src: &[f32], (_h, w): (usize, usize), dst: &mut ArrayViewMut2<f32>) {
    let (out_h, out_w) = dst.dim();
    let rows = torch_taps(_h, out_h);
    let cols = torch_taps(w, out_w);
    for ((y, x), o) in dst.indexed_iter_mut() {
        let (r, c) = (&rows[y], &cols[x]);
        let top = src[r.lo * w + c.lo] * c.w_lo + src[r.lo * w + c.hi] * c.w_hi;
        let bottom = src[r.hi * w + c.lo] * c.w_lo + src[r.hi * w + c.hi] * c.w_hi;
        *o = top * r.w_lo + bottom * r.w_hi;
    }
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

fn tf1_bilinear(src: &[f32], (h, w): (usize, usize), dst: &mut ArrayViewMut2<f32>) {
    let (out_h, out_w) = dst.dim();
    let rows = tf1_taps(h, out_h);
    let cols = tf1_taps(w, out_w);
    let lerp = |a: f32, b: f32, t: f32| a + (b - a) * t;
    for ((y, x), o) in dst.indexed_iter_mut() {
        let (r, c) = (&rows[y], &cols[x]);
        let top = lerp(src[r.lo * w + c.lo], src[r.lo * w + c.hi], c.w_hi);
        let bottom = lerp(src[r.hi * w + c.lo], src[r.hi * w + c.hi], c.w_hi);
        *o = lerp(top, bottom, r.w_hi);
    }
}
