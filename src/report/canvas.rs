//! The canvas every figure is drawn on: the embedded font, rendering into
//! memory, writing the PNG atomically, and the errors of drawing.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{ImageFormat, RgbImage, imageops};
use plotters::coord::Shift;
use plotters::prelude::*;

/// The font family every figure uses (registered from the embedded TTF).
pub(super) const FONT: &str = "sans-serif";
const FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Why a figure could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot in {path}: {what}")]
    Empty { path: PathBuf, what: String },
    #[error("cannot plot {path}: {what}")]
    Invalid { path: PathBuf, what: String },
    #[error("drawing {path} failed: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("the embedded font could not be loaded: {0}")]
    Font(String),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}
/// Registers the embedded font with plotters once per process.
pub(super) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
                .map_err(|_| "DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(PlotError::Font)
}

/// Renders `size` pixels with `draw` on a white canvas and returns the RGB image.
pub(super) fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
) -> Result<RgbImage, PlotError> {
    ensure_font()?;
    let fail = |message: String| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let mut buffer = vec![255u8; size.0 as usize * size.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
        draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.to_string()))?;
    }
    RgbImage::from_raw(size.0, size.1, buffer).ok_or_else(|| fail("canvas size".into()))
}

/// Encodes `image` as PNG and writes it to `path` atomically.
pub(super) fn write_png(path: &Path, image: &RgbImage) -> Result<(), PlotError> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|e| PlotError::Draw {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    crate::atomic::write_bytes_atomically(path, &bytes).map_err(|source| PlotError::Write {
        path: path.to_path_buf(),
        source,
    })
}
/// Scales `thumbnail` to `cell_px` × `cell_px` (triangle filter, deterministic).
pub(super) fn cell_thumbnail(thumbnail: &RgbImage, cell_px: u32) -> RgbImage {
    if thumbnail.dimensions() == (cell_px, cell_px) {
        thumbnail.clone()
    } else {
        imageops::resize(thumbnail, cell_px, cell_px, imageops::FilterType::Triangle)
    }
}
