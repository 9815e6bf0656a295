//! Decoding to 8-bit RGB exactly as Pillow's `Image.open(p).convert('RGB')`.
//!
//! The format is sniffed from the content, as Pillow does. Pillow's rules,
//! checked against Pillow 12/13 by `tests/fixtures/images/make.py`:
//! alpha is dropped, never composited; grey is replicated; palettes are
//! expanded (transparency ignored); 16-bit grey (`I;16`) is *clipped* to 255,
//! while 16-bit grey+alpha, RGB and RGBA keep the *high byte*.
//!
//! PNG, BMP and WebP are bit-exact through the `image` crate. JPEG goes
//! through libjpeg-turbo (the library Pillow uses) with Pillow's settings,
//! so YCbCr (any subsampling), RGB, greyscale and progressive JPEGs are
//! bit-exact too. CMYK/YCCK JPEGs, and JPEGs whose sampling libjpeg-turbo's
//! TurboJPEG API cannot describe, or on which libjpeg-turbo reports an error
//! or warning, fall back to the `image` crate's decoder (zune-jpeg): they
//! decode, or fail, as before, but are not guaranteed to match Pillow to
//! the level (zune-jpeg differs from libjpeg-turbo by a few levels).

use super::ImageError;
use super::walk::link_problem;
use image::{DynamicImage, ImageFormat, ImageReader, RgbImage};
use std::cell::Cell;
use std::io::Cursor;
use std::path::Path;
use turbojpeg::{Colorspace, Decompressor, PixelFormat};

/// Reads and decodes one image file to 8-bit RGB, Pillow-compatibly.
pub fn decode_rgb(path: &Path) -> Result<RgbImage, ImageError> {
    // Some decoder messages end in a newline; errors are one line.
    let unreadable = |reason: String| ImageError::Unreadable {
        path: path.to_path_buf(),
        reason: reason.trim_end().replace('\n', " "),
    };
    let bytes = std::fs::read(path)
        .map_err(|e| unreadable(link_problem(path).unwrap_or_else(|| e.to_string())))?;
    if bytes.is_empty() {
        return Err(unreadable("the file is empty".into()));
    }
    let format = image::guess_format(&bytes).ok();
    if format == Some(ImageFormat::Jpeg)
        && let Some(decoded) = decode_jpeg_like_pillow(&bytes)
    {
        return decoded.map_err(unreadable);
    }
    if format.is_none() {
        return Err(unreadable("not a PNG, JPEG, BMP or WebP file".into()));
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| unreadable(plain_words(&e.to_string())))?;
    let decoded = reader
        .decode()
        .map_err(|e| unreadable(plain_words(&e.to_string())))?;
    Ok(to_rgb_like_pillow(decoded))
}

/// A decoder's message with the Rust structures some of them print
/// (`ChunkType { type: IHDR, critical: true, … }`) reduced to what a person
/// reads (`IHDR`).
fn plain_words(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find("ChunkType { type: ") {
        out.push_str(&rest[..start]);
        let after = &rest[start + "ChunkType { type: ".len()..];
        let name_end = after.find([',', ' ', '}']).unwrap_or(after.len());
        out.push_str(&after[..name_end]);
        rest = match after.find('}') {
            Some(close) => &after[close + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

thread_local! {
    /// One TurboJPEG decompressor per thread, reused from image to image.
    static DECOMPRESSOR: Cell<Option<Decompressor>> = const { Cell::new(None) };
}

/// The largest JPEG decoded here, in RGB bytes; larger ones go to the
/// fallback decoder, whose memory limit then gives the error.
const MAX_JPEG_BYTES: usize = 512 << 20;

/// Decodes a JPEG with libjpeg-turbo to RGB, as Pillow does (accurate
/// integer IDCT, fancy upsampling). `None` sends the file to the fallback
/// decoder: a CMYK/YCCK colour space, a header TurboJPEG cannot describe
/// (e.g. unusual chroma sampling), an oversized image, or a libjpeg-turbo
/// error or warning (TurboJPEG fails on warnings that Pillow ignores, such
/// as extraneous bytes; the fallback decides whether the file is usable).
/// A file that ends early is an error, as in Pillow ("image file is
/// truncated"), rather than a grey-filled image.
fn decode_jpeg_like_pillow(bytes: &[u8]) -> Option<Result<RgbImage, String>> {
    // A decompressor that reported an error is dropped, not reused:
    // libjpeg-turbo 2.1 can crash when a handle is reused after a failed
    // header read.
    let mut decompressor = match DECOMPRESSOR.take() {
        Some(d) => d,
        None => Decompressor::new().ok()?,
    };
    let header = decompressor.read_header(bytes).ok()?;
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        DECOMPRESSOR.set(Some(decompressor));
        return None;
    }
    let (width, height) = (header.width, header.height);
    let len = width.checked_mul(height)?.checked_mul(3)?;
    if len > MAX_JPEG_BYTES {
        return None;
    }
    let (w, h) = (u32::try_from(width).ok()?, u32::try_from(height).ok()?);
    let mut pixels = vec![0u8; len];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width,
        pitch: width * 3,
        height,
        format: PixelFormat::RGB,
    };
    match decompressor.decompress(bytes, image) {
        Ok(()) => {
            DECOMPRESSOR.set(Some(decompressor));
            RgbImage::from_raw(w, h, pixels).map(Ok)
        }
        Err(e) if e.to_string().contains("Premature end of JPEG file") => {
            Some(Err("the JPEG file is truncated".into()))
        }
        Err(_) => None,
    }
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

#[cfg(test)]
mod tests {
    #[test]
    fn chunk_structures_read_as_chunk_names() {
        assert_eq!(
            super::plain_words(
                "Format error decoding Png: CRC error: expected 0x1 have 0x2 while decoding ChunkType { type: IHDR, critical: true, private: false, reserved: false, safecopy: false } chunk."
            ),
            "Format error decoding Png: CRC error: expected 0x1 have 0x2 while decoding IHDR chunk."
        );
    }
}
