//! PNG figures: they decode back at the requested size, the image map puts every
//! thumbnail in its own cell, and bad input is an error, not a panic or a file.

use std::collections::HashSet;
use std::path::Path;

use image::{Rgb, RgbImage};
use stackgan_eval::report::plot::{
    BAR_CHART_SIZE, ErrorBar, LINE_CHART_SIZE, PlotError, SCATTER_SIZE, Series, bar_chart_png,
    image_map_png, line_chart_png, scatter_png, snap_to_grid,
};

use crate::util::temp_dir;

fn decode(path: &Path) -> RgbImage {
    image::open(path).expect("a decodable PNG").to_rgb8()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Points on a jittered spiral, deterministic.
fn spiral(n: usize, phase: f64) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let t = i as f64 * 0.3 + phase;
            (t.cos() * (1.0 + 0.1 * t), t.sin() * (1.0 + 0.1 * t))
        })
        .collect()
}

#[test]
fn scatter_writes_a_png_of_the_documented_size_with_coloured_points() {
    let dir = temp_dir();
    let path = dir.path().join("tsne.png");
    let sets = vec![
        ("real".to_string(), spiral(200, 0.0)),
        ("StackGAN-v2".to_string(), spiral(200, 2.0)),
        ("collapsed".to_string(), vec![(0.1, 0.1); 50]),
    ];
    scatter_png(&path, "t-SNE of Inception features", &sets).unwrap();
    let png = decode(&path);
    assert_eq!(png.dimensions(), SCATTER_SIZE);
    // The first two palette colours (blue, orange) appear somewhere, blended or not.
    let bluish = png.pixels().any(|p| p[2] > 150 && p[0] < 80);
    let orangish = png.pixels().any(|p| p[0] > 200 && p[1] > 120 && p[2] < 80);
    assert!(bluish && orangish, "set colours missing");
    assert_eq!(
        files_in(dir.path()),
        vec!["tsne.png"],
        "no temporary file left"
    );
}

#[test]
fn scatter_rejects_empty_and_non_finite_input() {
    let dir = temp_dir();
    let path = dir.path().join("tsne.png");
    assert!(matches!(
        scatter_png(&path, "t", &[]),
        Err(PlotError::Empty { .. })
    ));
    let empty = vec![("a".to_string(), vec![])];
    assert!(matches!(
        scatter_png(&path, "t", &empty),
        Err(PlotError::Empty { .. })
    ));
    let nan = vec![("a".to_string(), vec![(0.0, 1.0), (f64::NAN, 0.0)])];
    let err = scatter_png(&path, "t", &nan).unwrap_err();
    assert!(err.to_string().contains("point 1 of set 'a'"), "{err}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn snap_to_grid_gives_distinct_cells_deterministically() {
    let points = spiral(300, 0.5);
    let cells = snap_to_grid(&points, 20);
    assert_eq!(cells.len(), 300);
    assert!(cells.iter().all(|&(c, r)| c < 20 && r < 20));
    assert_eq!(
        cells.iter().collect::<HashSet<_>>().len(),
        300,
        "one thumbnail per cell"
    );
    assert_eq!(cells, snap_to_grid(&points, 20));
}

#[test]
fn snap_to_grid_puts_corner_points_in_corner_cells() {
    // Four corners of the bounding box and a crowd in the middle; y grows upwards,
    // row 0 is the top.
    let mut points = vec![(0.0, 10.0), (10.0, 10.0), (0.0, 0.0), (10.0, 0.0)];
    points.extend((0..30).map(|i| (4.0 + 0.05 * i as f64, 5.0 + 0.03 * i as f64)));
    let cells = snap_to_grid(&points, 8);
    assert_eq!(&cells[..4], &[(0, 0), (7, 0), (0, 7), (7, 7)]);
    assert_eq!(cells.iter().collect::<HashSet<_>>().len(), points.len());
}

#[test]
fn snap_to_grid_fills_a_full_board_and_handles_a_single_point() {
    let points = spiral(49, 0.0);
    let cells = snap_to_grid(&points, 7);
    assert_eq!(cells.iter().collect::<HashSet<_>>().len(), 49);
    let one = snap_to_grid(&[(3.0, -2.0)], 5);
    assert_eq!(one, vec![(2, 2)], "a lone point goes to the middle");
}

#[test]
fn image_map_places_every_thumbnail_in_its_own_cell() {
    let dir = temp_dir();
    let path = dir.path().join("map.png");
    let (grid, cell_px) = (6usize, 16u32);
    let points = spiral(30, 0.0);
    // Distinct solid colours, at a size other than the cell's so they are rescaled.
    let thumbnails: Vec<RgbImage> = (0..30u8)
        .map(|i| RgbImage::from_pixel(24, 20, Rgb([i * 8, 255 - i * 8, 100])))
        .collect();
    image_map_png(
        &path,
        "StackGAN-v2 birds",
        &points,
        &thumbnails,
        grid,
        cell_px,
    )
    .unwrap();
    let png = decode(&path);
    assert_eq!(png.dimensions(), (96, 96 + 64));
    for (i, (col, row)) in snap_to_grid(&points, grid).into_iter().enumerate() {
        let x = col as u32 * cell_px + cell_px / 2;
        let y = 64 + row as u32 * cell_px + cell_px / 2;
        assert_eq!(
            png.get_pixel(x, y),
            &thumbnails[i].get_pixel(0, 0).clone(),
            "thumbnail {i}"
        );
    }
    // The title strip has dark text pixels.
    let dark = (0..96).flat_map(|x| (0..64).map(move |y| (x, y)));
    assert!(dark.into_iter().any(|(x, y)| png.get_pixel(x, y)[0] < 100));
}

#[test]
fn image_map_rejects_bad_input() {
    let dir = temp_dir();
    let path = dir.path().join("map.png");
    let tile = RgbImage::from_pixel(4, 4, Rgb([1, 2, 3]));
    let err = image_map_png(&path, "t", &[], &[], 5, 8).unwrap_err();
    assert!(matches!(err, PlotError::Empty { .. }), "{err}");
    let err = image_map_png(&path, "t", &[(0.0, 0.0)], &[], 5, 8).unwrap_err();
    assert!(
        err.to_string().contains("1 points but 0 thumbnails"),
        "{err}"
    );
    let five = vec![(0.0, 0.0); 5];
    let err = image_map_png(&path, "t", &five, &vec![tile.clone(); 5], 2, 8).unwrap_err();
    assert!(
        err.to_string().contains("at least 3 cells per side"),
        "{err}"
    );
    let err =
        image_map_png(&path, "t", &[(0.0, 0.0)], std::slice::from_ref(&tile), 0, 8).unwrap_err();
    assert!(matches!(err, PlotError::Invalid { .. }), "{err}");
    let err = image_map_png(&path, "t", &[(0.0, 0.0)], &[tile], 200, 100).unwrap_err();
    assert!(err.to_string().contains("px per side"), "{err}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn bar_chart_writes_a_png_of_the_documented_size() {
    let dir = temp_dir();
    let path = dir.path().join("ablation.png");
    let groups = vec![
        ("StackGAN-v2".to_string(), 4.04, Some(0.05)),
        ("no-JCU".to_string(), 3.72, Some(0.08)),
        ("all-256".to_string(), 3.10, None),
    ];
    bar_chart_png(
        &path,
        "Inception Score by variant",
        "Inception Score",
        &groups,
    )
    .unwrap();
    assert_eq!(decode(&path).dimensions(), BAR_CHART_SIZE);
    // Negative values draw bars below zero.
    let mixed = vec![
        ("a".to_string(), -1.5, Some(0.2)),
        ("b".to_string(), 2.0, None),
    ];
    bar_chart_png(&path, "Δ FID", "Δ FID", &mixed).unwrap();
    assert_eq!(decode(&path).dimensions(), BAR_CHART_SIZE);
    let single = vec![("only".to_string(), 0.0, Some(0.0))];
    bar_chart_png(&path, "one bar", "value", &single).unwrap();
    assert_eq!(decode(&path).dimensions(), BAR_CHART_SIZE);
}

#[test]
fn bar_chart_rejects_empty_and_non_finite_input() {
    let dir = temp_dir();
    let path = dir.path().join("bars.png");
    assert!(matches!(
        bar_chart_png(&path, "t", "y", &[]),
        Err(PlotError::Empty { .. })
    ));
    let nan = vec![("a".to_string(), f64::NAN, None)];
    assert!(matches!(
        bar_chart_png(&path, "t", "y", &nan),
        Err(PlotError::Invalid { .. })
    ));
    let negative_error = vec![("a".to_string(), 1.0, Some(-0.1))];
    let err = bar_chart_png(&path, "t", "y", &negative_error).unwrap_err();
    assert!(err.to_string().contains("bar 'a'"), "{err}");
    assert!(files_in(dir.path()).is_empty());
}

#[test]
fn line_charts_draw_each_series_in_its_colour_and_refuse_bad_points() {
    let dir = temp_dir();
    let path = dir.path().join("curve.png");
    let series = vec![
        Series {
            name: "64×64".into(),
            points: vec![
                (1000.0, 40.0, None),
                (2000.0, 30.0, None),
                (3000.0, 25.0, None),
            ],
        },
        Series {
            name: "256×256".into(),
            points: vec![
                (1000.0, 60.0, Some(ErrorBar::Spread(2.0))),
                (3000.0, 35.0, Some(ErrorBar::Interval([33.0, 38.0]))),
            ],
        },
    ];
    line_chart_png(&path, "FID over training", ("iteration", "FID"), &series).unwrap();
    let image = decode(&path);
    assert_eq!(image.dimensions(), LINE_CHART_SIZE);
    // Okabe & Ito's blue and orange: the first two series.
    for colour in [Rgb([0, 114, 178]), Rgb([230, 159, 0])] {
        assert!(image.pixels().any(|p| *p == colour), "{colour:?} is drawn");
    }
    let bad = [
        vec![],
        vec![Series {
            name: "nan".into(),
            points: vec![(1.0, f64::NAN, None)],
        }],
        vec![Series {
            name: "negative spread".into(),
            points: vec![(1.0, 2.0, Some(ErrorBar::Spread(-1.0)))],
        }],
    ];
    let refused = dir.path().join("refused.png");
    for series in bad {
        let error = line_chart_png(&refused, "t", ("x", "y"), &series).unwrap_err();
        assert!(
            matches!(error, PlotError::Empty { .. } | PlotError::Invalid { .. }),
            "{error}"
        );
        assert!(!refused.exists());
    }
}
