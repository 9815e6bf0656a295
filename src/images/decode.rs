//! Decoding to 8-bit RGB exactly as Pillow's `Image.open(p).convert('RGB')`.
//!
//! The format is sniffed from the content, as Pillow does. Pillow's rules,
//! checked against Pillow 12/13 by `tests/fixtures/images/make.py`:
//! alpha is dropped, never composited; grey is replicated; palettes are
//! expanded (transparency ignored); 16-bit grey (`I;16`) is *clipped* to 255,
//! while 16-bit grey+alpha, RGB and RGBA keep the *high byte*.
//!
//! PNG, BMP and WebP are bit-exact. JPEG is not: the `image` crate decodes
//! with zune-jpeg, whose IDCT and chroma upsampling differ from Pillow's
//! libjpeg-turbo by up to 1 (greyscale, 4:4:4: 2) and 3–5 (4:2:0, 4:2:2,
//! progressive) levels on a few pixels (mean 0.01–0.4 levels).

use super::ImageError;
use image::{DynamicImage, ImageReader, RgbImage};
use std::io::Cursor;
use std::path::Path;

/// Reads and decodes one image file to 8-bit RGB, Pillow-compatibly.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, ImageError> {
    let unreadable = |reason: String| ImageError::Unreadable {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    if bytes.is_empty() {
        return Err(unreadable("the file is empty".into()));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(e.to_string()))?;
    if reader.format().is_none() {
        return Err(unreadable("not a PNG, JPEG, BMP or WebP file".into()));
    }
    let decoded = reader.decode().map_err(|e| unreadable(e.to_string()))?;
    Ok(to_rgb_like_pillow(decoded))
}

/// Converts a decoded image to RGB with Pillow's per-mode rules.
fn to_rgb_like_pillow(img: DynamicImage) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let from_fn =
        |f: &dyn Fn(u32, u32) -> [u8; 3]| RgbImage::from_fn(w, h, |x, y| image::Rgb(f(x, y)));
    let high = |v: u16| (v >> 8) as u8;
    match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        DynamicImage::ImageLuma16(g) => from_fn(&|x, y| [g.get_pixel(x, y).0[0].min(255) as u8; 3]),
        DynamicImage::ImageLumaA16(g) => from_fn(&|x, y| [high(g.get_pixel(x, y).0[0]); 3]),
        DynamicImage::ImageRgb16(c) => from_fn(&|x, y| c.get_pixel(x, y).0.map(high)),
        DynamicImage::ImageRgba16(c) => from_fn(&|x, y| {
            let [r, g, b, _] = c.get_pixel(x, y).0;
            [high(r), high(g), high(b)]
        }),
        // 8-bit grey, grey+alpha and RGBA: replicate grey, drop alpha.
        other => other.to_rgb8(),
    }
}
