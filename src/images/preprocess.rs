//! The network input of one image: resize, then `(pixel/255 − mean) / std`.

use super::ImageError;
use super::resize::{Normalise, ResizeMode, resize_rgb_into};
use image::RgbImage;
use ndarray::{Array4, ArrayViewMut3, Axis};
use rayon::prelude::*;

/// How an RGB image becomes a CHW float32 network input.
///
/// The value fed to the network is `(v − mean[c]) / std[c]` where `v` is the
/// resized pixel on the unit scale (pixel / 255). pytorch-fid's `2x − 1` is
/// mean 0.5, std 0.5; torch-fidelity's `(x − 128) / 128` is mean and std
/// 128/255; ImageNet normalisation uses the usual per-channel values.
#[derive(Clone, Debug, PartialEq)]
pub struct Preprocess {
    /// Resize mode, which fixes the interpolation of the reference protocol.
    pub resize: ResizeMode,
    /// Network input height (299 for Inception-v3).
    pub height: usize,
    /// Network input width (299 for Inception-v3).
    pub width: usize,
    /// Per-channel mean subtracted on the unit scale.
    pub mean: [f32; 3],
    /// Per-channel standard deviation divided by on the unit scale.
    pub std: [f32; 3],
}

impl Preprocess {
    /// pytorch-fid's Inception input: 299×299, legacy-pytorch, `2x − 1`.
    pub fn pytorch_fid() -> Self {
        crate::models::PYTORCH_FID.preprocess(299, 299)
    }

    /// Checks the sizes and the standard deviations before any work.
    pub fn validate(&self) -> Result<(), ImageError> {
        if self.height == 0 || self.width == 0 {
            return Err(ImageError::InvalidParameter {
                parameter: "input size",
                reason: format!(
                    "{}×{} has a zero side; use the model's input size, e.g. 299×299",
                    self.height, self.width
                ),
            });
        }
        if self.std.iter().any(|s| !s.is_finite() || *s == 0.0)
            || self.mean.iter().any(|m| !m.is_finite())
        {
            return Err(ImageError::InvalidParameter {
                parameter: "normalisation",
                reason: format!(
                    "mean {:?} / std {:?} must be finite with std ≠ 0; check the model manifest",
                    self.mean, self.std
                ),
            });
        }
        Ok(())
    }
}

/// Writes the network input of `img` into `out` (shape 3 × height × width).
///
/// # Panics
/// If `out` does not have shape `(3, p.height, p.width)`: the caller sizes
/// the batch tensor, so a mismatch is a programming error, not user input.
pub fn preprocess_into(img: &RgbImage, p: &Preprocess, mut out: ArrayViewMut3<f32>) {
    assert_eq!(out.dim(), (3, p.height, p.width), "output tensor shape");
    let norm = Normalise {
        mean: p.mean,
        std: p.std,
    };
    resize_rgb_into(img, p.resize, &norm, out.view_mut());
}

/// The network input of a batch of in-memory images (`[N, 3, height, width]`),
/// prepared in parallel; the same values as [`preprocess_into`] one by one.
pub fn preprocess_batch(images: &[RgbImage], p: &Preprocess) -> Array4<f32> {
    let mut tensor = Array4::<f32>::zeros((images.len(), 3, p.height, p.width));
    tensor
        .axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(images.par_iter())
        .for_each(|(slot, img)| preprocess_into(img, p, slot));
    tensor
}
