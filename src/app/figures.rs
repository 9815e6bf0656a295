//! The t-SNE figures of a collapse report: the coordinates as CSV, the
//! scatter plot, and the paper-style image maps (each sample's thumbnail at
//! its place), one per set and one of all sets.

use std::path::{Path, PathBuf};

use anyhow::Context;
use image::RgbImage;
use rayon::prelude::*;

use crate::collapse::{CollapseReport, MapOptions, MappedSet};
use crate::images::{decode_rgb, pil_bilinear_rgb8};
use crate::report::plot::{image_map_png, scatter_png};
use crate::report::{Cell, ColumnKind, CsvExporter, Exporter, Table};

/// Writes the coordinates, the scatter plot and the image maps into `dir`.
/// `features` names the features in the scatter plot's title.
pub(super) fn write_maps(
    dir: &Path,
    report: &CollapseReport,
    map: &MapOptions,
    features: &str,
) -> anyhow::Result<()> {
    CsvExporter.write(&coordinates(report), dir, "tsne-coordinates")?;
    let scatter: Vec<(String, Vec<(f64, f64)>)> = report
        .sets
        .iter()
        .map(|s| (s.name.clone(), s.points.clone()))
        .collect();
    let title = format!(
        "t-SNE of {features} features (perplexity {})",
        report.tsne.perplexity
    );
    scatter_png(&dir.join("tsne-scatter.png"), &title, &scatter)?;
    let cells = map.grid * map.grid;
    let mut maps = Vec::new();
    let mut all_points = Vec::new();
    let mut all_thumbs = Vec::new();
    for set in &report.sets {
        let Some(thumbs) = thumbnails(set, map.thumbnail)? else {
            eprintln!(
                "tsne: --set {} has no image files; it appears in the scatter plot only",
                set.name
            );
            continue;
        };
        let path = dir.join(format!("tsne-map-{}.png", slug(&set.name)));
        let (points, thumbs_shown) = take_at_most(&set.points, &thumbs, cells);
        let title = format!("t-SNE image map: {}", set.name);
        image_map_png(
            &path,
            &title,
            &points,
            &thumbs_shown,
            map.grid,
            map.thumbnail,
        )?;
        maps.push(path);
        all_points.extend(set.points.iter().copied());
        all_thumbs.extend(thumbs);
    }
    if maps.len() > 1 {
        let (points, thumbs) = take_at_most(&all_points, &all_thumbs, cells);
        let path: PathBuf = dir.join("tsne-map-all.png");
        let title = "t-SNE image map: all sets";
        image_map_png(&path, title, &points, &thumbs, map.grid, map.thumbnail)?;
    }
    Ok(())
}

/// `set,index,file,x,y`: every sample's place on the map.
fn coordinates(report: &CollapseReport) -> Table {
    let mut table = Table::new("t-SNE coordinates");
    for key in ["set", "index", "file", "x", "y"] {
        table.column(key, key, ColumnKind::Provenance);
    }
    for set in &report.sets {
        for (i, ((x, y), file)) in set.points.iter().zip(&set.files).enumerate() {
            let row = table.row();
            table.set(row, "set", Cell::text(&set.name));
            table.set(row, "index", Cell::text(i.to_string()));
            let file = file.as_ref().map(|f| f.display().to_string());
            table.set(row, "file", Cell::text(file.unwrap_or_default()));
            table.set(row, "x", Cell::text(x.to_string()));
            table.set(row, "y", Cell::text(y.to_string()));
        }
    }
    table
}

/// Thumbnails of a set's samples, or `None` when its files are unknown.
fn thumbnails(set: &MappedSet, side: u32) -> anyhow::Result<Option<Vec<RgbImage>>> {
    let Some(files) = set.files.iter().cloned().collect::<Option<Vec<PathBuf>>>() else {
        return Ok(None);
    };
    let thumbs = files
        .par_iter()
        .map(|path| {
            decode_rgb(path)
                .map(|img| pil_bilinear_rgb8(&img, side as usize, side as usize))
                .with_context(|| format!("thumbnail of {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(thumbs))
}

/// At most `cells` points (the map has no room for more), evenly spaced, in order.
fn take_at_most(
    points: &[(f64, f64)],
    thumbs: &[RgbImage],
    cells: usize,
) -> (Vec<(f64, f64)>, Vec<RgbImage>) {
    let n = points.len().min(cells);
    let step = points.len().div_ceil(n.max(1)).max(1);
    let picked: Vec<usize> = (0..points.len()).step_by(step).take(n).collect();
    (
        picked.iter().map(|&i| points[i]).collect(),
        picked.iter().map(|&i| thumbs[i].clone()).collect(),
    )
}

/// A set's name as part of a file name.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}
