//! Draws the three figure kinds on synthetic data, to preview them:
//! `cargo run --example tsne_figures -- OUT_DIR` writes `OUT_DIR/scatter.png`,
//! `image_map.png` and `bar_chart.png`.
//!
//! "real" is ten Gaussian clusters in 64-d; "collapsed" puts the same number of
//! samples on two of them, as a mode-collapsed generator would. Each image-map
//! thumbnail is a tile coloured by its cluster.

use std::path::PathBuf;

use anyhow::Context;
use image::{Rgb, RgbImage};
use ndarray::Array2;
use stackgan_eval::analysis::{TsneConfig, embed};
use stackgan_eval::report::plot::{bar_chart_png, image_map_png, scatter_png};
use stackgan_eval::rng::NumpyRandomState;

const PER_SET: usize = 400;
const DIM: usize = 64;

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: tsne_figures OUT_DIR")?,
    );
    std::fs::create_dir_all(&out)?;
    let mut rng = NumpyRandomState::new(0);
    let centres = Array2::from_shape_simple_fn((10, DIM), || rng.standard_normal() * 6.0);
    let mut clusters = Vec::new();
    let features = Array2::from_shape_fn((2 * PER_SET, DIM), |(i, j)| {
        let cluster = if i < PER_SET { i % 10 } else { (i % 2) * 5 };
        if j == 0 {
            clusters.push(cluster);
        }
        (centres[[cluster, j]] + rng.standard_normal()) as f32
    });
    let map = embed(features.view(), &TsneConfig::default())?;
    let points: Vec<(f64, f64)> = map.rows().into_iter().map(|r| (r[0], r[1])).collect();

    let sets = vec![
        ("real".to_string(), points[..PER_SET].to_vec()),
        (
            "collapsed generator".to_string(),
            points[PER_SET..].to_vec(),
        ),
    ];
    scatter_png(
        &out.join("scatter.png"),
        "t-SNE of Inception features",
        &sets,
    )?;

    let thumbnails: Vec<RgbImage> = clusters
        .iter()
        .map(|&c| {
            let base = [(c * 25) as u8, (250 - c * 20) as u8, ((c * 70) % 256) as u8];
            RgbImage::from_fn(32, 32, |x, y| {
                let shade = if (x / 8 + y / 8) % 2 == 0 { 0 } else { 40 };
                Rgb(base.map(|v| v.saturating_sub(shade)))
            })
        })
        .collect();
    image_map_png(
        &out.join("image_map.png"),
        "t-SNE image map: real samples",
        &points[..PER_SET],
        &thumbnails[..PER_SET],
        30,
        32,
    )?;

    let groups = vec![
        ("StackGAN-v2".to_string(), 4.04, Some(0.05)),
        ("no-JCU".to_string(), 3.72, Some(0.08)),
        ("3G2".to_string(), 3.51, Some(0.04)),
        ("all-256".to_string(), 3.10, None),
    ];
    bar_chart_png(
        &out.join("bar_chart.png"),
        "Inception Score by variant (synthetic values)",
        "Inception Score",
        &groups,
    )?;
    println!("wrote {}", out.display());
    Ok(())
}
