//! Generator output → 8-bit RGB, as StackGAN-v2 saves its samples:
//! `x.add(1).div(2).mul(255).clamp(0, 255).byte()` on float32, so values are
//! truncated, not rounded. `eval` scores exactly these pixels, which is why it
//! agrees with scoring the written PNGs.

use image::RgbImage;
use ndarray::ArrayView3;

/// One CHW image with values in `range` (StackGAN: `[-1, 1]`) as 8-bit RGB.
pub fn to_rgb8(image: ArrayView3<f32>, range: [f32; 2]) -> RgbImage {
    let (channels, height, width) = image.dim();
    assert_eq!(channels, 3, "generator images are RGB");
    let [low, high] = range;
    let span = high - low;
    let mut out = RgbImage::new(width as u32, height as u32);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        for c in 0..3 {
            let v = image[[c, y as usize, x as usize]];
            pixel.0[c] = quantize(v, low, span);
        }
    }
    out
}

/// `((v − low) / span · 255)` clamped to [0, 255] and truncated; NaN → 0.
fn quantize(v: f32, low: f32, span: f32) -> u8 {
    let scaled = (v - low) / span * 255.0;
    scaled.clamp(0.0, 255.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_torch_byte() {
        let q = |v| quantize(v, -1.0, 2.0);
        assert_eq!(q(-1.0), 0);
        assert_eq!(q(1.0), 255);
        assert_eq!(q(1.5), 255);
        assert_eq!(q(-3.0), 0);
        // (0 + 1) / 2 · 255 = 127.5 → 127 (truncated, not rounded).
        assert_eq!(q(0.0), 127);
        assert_eq!(q(f32::NAN), 0);
    }
}
