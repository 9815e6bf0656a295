//! The t-SNE image map of the StackGAN++ paper: every sample's image placed on
//! a square grid where its t-SNE coordinates fall, so that a collapsed
//! generator shows up as runs of near-identical thumbnails.

use std::path::Path;

use image::{RgbImage, imageops};
use plotters::prelude::*;

use super::canvas::{FONT, PlotError, cell_thumbnail, render, write_png};

/// Height of the title strip above the grid, in pixels.
const TITLE_STRIP_PX: u32 = 64;
/// Largest side of a map, in pixels (a 30 × 30 grid of 128-px cells is 3840).
const MAX_SIDE_PX: u32 = 16_384;

/// Grid cells (column, row) for `points`, one distinct cell each, on a
/// `grid` × `grid` board: x grows to the right, y grows upwards (row 0 is the
/// top, like the image).
///
/// The points' bounding box is stretched over the board. Each point prefers the
/// cell it falls in; points are placed in order of their distance to that
/// cell's centre (closest first, ties by index), each taking the free cell
/// nearest to its own position (ties by row, then column). Deterministic, and
/// a point at a corner of the bounding box lands in that corner cell whenever
/// it is the point nearest that corner.
///
/// # Panics
///
/// If `points.len() > grid²` (no free cell left); [`image_map_png`] checks
/// this and returns an error first.
pub fn snap_to_grid(points: &[(f64, f64)], grid: usize) -> Vec<(usize, usize)> {
    let positions = grid_positions(points, grid);
    let centre_distance = |&(u, v): &(f64, f64)| {
        let (c, r) = (cell_of(u, grid), cell_of(v, grid));
        distance2((u, v), (c as f64 + 0.5, r as f64 + 0.5))
    };
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        centre_distance(&positions[a])
            .total_cmp(&centre_distance(&positions[b]))
            .then(a.cmp(&b))
    });
    let mut taken = vec![false; grid * grid];
    let mut cells = vec![(0, 0); points.len()];
    for i in order {
        let (u, v) = positions[i];
        let best = (0..grid * grid)
            .filter(|&cell| !taken[cell])
            .min_by(|&a, &b| {
                let da = distance2((u, v), centre(a, grid));
                let db = distance2((u, v), centre(b, grid));
                da.total_cmp(&db).then(a.cmp(&b))
            })
            .expect("points.len() ≤ grid², so a free cell remains");
        taken[best] = true;
        cells[i] = (best % grid, best / grid);
    }
    cells
}

/// Positions in grid units: x in [0, grid] left to right, y in [0, grid] top to bottom.
fn grid_positions(points: &[(f64, f64)], grid: usize) -> Vec<(f64, f64)> {
    let (x_lo, x_hi) = bounds(points.iter().map(|p| p.0));
    let (y_lo, y_hi) = bounds(points.iter().map(|p| p.1));
    let g = grid as f64;
    let scale = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            (v - lo) / (hi - lo) * g
        } else {
            g / 2.0
        }
    };
    points
        .iter()
        .map(|&(x, y)| (scale(x, x_lo, x_hi), g - scale(y, y_lo, y_hi)))
        .collect()
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The cell index along one axis of a grid position (the far edge belongs to the last cell).
fn cell_of(position: f64, grid: usize) -> usize {
    (position.floor().max(0.0) as usize).min(grid - 1)
}

fn centre(cell: usize, grid: usize) -> (f64, f64) {
    ((cell % grid) as f64 + 0.5, (cell / grid) as f64 + 0.5)
}

fn distance2(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)
}

/// The image map: `thumbnails[i]` scaled to `cell_px` and placed in the grid
/// cell [`snap_to_grid`] gives `points[i]`, under a title strip. The PNG is
/// `grid·cell_px` wide and `grid·cell_px + 64` high.
pub fn image_map_png(
    path: &Path,
    title: &str,
    points: &[(f64, f64)],
    thumbnails: &[RgbImage],
    grid: usize,
    cell_px: u32,
) -> Result<(), PlotError> {
    let invalid = |what: String| PlotError::Invalid {
        path: path.to_path_buf(),
        what,
    };
    if points.is_empty() {
        return Err(PlotError::Empty {
            path: path.to_path_buf(),
            what: "no points".into(),
        });
    }
    if points.len() != thumbnails.len() {
        return Err(invalid(format!(
            "{} points but {} thumbnails; pass one thumbnail per point",
            points.len(),
            thumbnails.len()
        )));
    }
    if grid == 0 || cell_px == 0 {
        return Err(invalid(format!(
            "grid {grid} and cell size {cell_px} px must both be at least 1"
        )));
    }
    if points.len() > grid * grid {
        return Err(invalid(format!(
            "{} points do not fit a {grid}×{grid} grid; use a grid of at least {} cells per side or fewer samples",
            points.len(),
            (points.len() as f64).sqrt().ceil()
        )));
    }
    let side = u32::try_from(grid)
        .ok()
        .and_then(|g| g.checked_mul(cell_px))
        .filter(|&s| s <= MAX_SIDE_PX)
        .ok_or_else(|| {
            invalid(format!(
                "a {grid}×{grid} grid of {cell_px}-px cells exceeds {MAX_SIDE_PX} px per side; use smaller cells"
            ))
        })?;
    if let Some(i) = points
        .iter()
        .position(|p| !(p.0.is_finite() && p.1.is_finite()))
    {
        return Err(invalid(format!("point {i} is not finite")));
    }
    if let Some(i) = thumbnails
        .iter()
        .position(|t| t.width() == 0 || t.height() == 0)
    {
        return Err(invalid(format!("thumbnail {i} is empty")));
    }

    let mut canvas = render(path, (side, side + TITLE_STRIP_PX), |root| {
        let (strip, _) = root.split_vertically(TITLE_STRIP_PX);
        let style = TextStyle::from((FONT, 34).into_font()).color(&BLACK).pos(
            plotters::style::text_anchor::Pos::new(
                plotters::style::text_anchor::HPos::Center,
                plotters::style::text_anchor::VPos::Center,
            ),
        );
        let (w, h) = strip.dim_in_pixel();
        strip
            .draw_text(title, &style, ((w / 2) as i32, (h / 2) as i32))
            .map_err(|e| e.to_string())
    })?;
    for ((col, row), thumbnail) in snap_to_grid(points, grid).into_iter().zip(thumbnails) {
        let cell = cell_thumbnail(thumbnail, cell_px);
        let x = i64::from(col as u32 * cell_px);
        let y = i64::from(TITLE_STRIP_PX + row as u32 * cell_px);
        imageops::replace(&mut canvas, &cell, x, y);
    }
    write_png(path, &canvas)
}
