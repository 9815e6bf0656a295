//! PNG figures: t-SNE scatter plots, paper-style t-SNE image maps, bar
//! charts with error bars and line charts (training curves).
//!
//! Text is drawn with DejaVu Sans embedded in the binary (`assets/`), so the
//! figures look the same on a bare machine with no system fonts. Every file is
//! rendered in memory and written atomically.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub use super::canvas::PlotError;
use super::canvas::{FONT, render, write_png};
pub use super::image_map::{image_map_png, snap_to_grid};

/// Width and height of scatter plots.
pub const SCATTER_SIZE: (u32, u32) = (1200, 1000);
/// Width and height of bar charts.
pub const BAR_CHART_SIZE: (u32, u32) = (1200, 800);
/// Width and height of line charts.
pub const LINE_CHART_SIZE: (u32, u32) = (1200, 800);

/// Okabe & Ito's colour-blind-safe palette, most distinguishable first
/// (yellow last: it is faint on white).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(240, 228, 66),  // yellow
];

/// Scatter plot of labelled 2-d point sets (t-SNE maps of several generators),
/// 1200×1000 px: one colour per set, a legend with each set's size, a title
/// and axes "t-SNE 1" / "t-SNE 2".
pub fn scatter_png(
    path: &Path,
    title: &str,
    sets: &[(String, Vec<(f64, f64)>)],
) -> Result<(), PlotError> {
    let invalid = |what: String| PlotError::Invalid {
        path: path.to_path_buf(),
        what,
    };
    if sets.iter().all(|(_, points)| points.is_empty()) {
        return Err(PlotError::Empty {
            path: path.to_path_buf(),
            what: "no points in any set".into(),
        });
    }
    for (name, points) in sets {
        if let Some(i) = points
            .iter()
            .position(|p| !(p.0.is_finite() && p.1.is_finite()))
        {
            return Err(invalid(format!("point {i} of set '{name}' is not finite")));
        }
    }
    let all = || sets.iter().flat_map(|(_, p)| p.iter().copied());
    let x_range = padded_range(all().map(|p| p.0), 0.0);
    let y_range = padded_range(all().map(|p| p.1), legend_headroom(sets.len()));
    let image = render(path, SCATTER_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 36))
            .margin(24)
            .x_label_area_size(70)
            .y_label_area_size(90)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("t-SNE 1")
            .y_desc("t-SNE 2")
            .axis_desc_style((FONT, 26))
            .label_style((FONT, 20))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (index, (name, points)) in sets.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let filled = color.mix(0.75).filled();
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 4, filled)))
                .map_err(|e| e.to_string())?
                .label(format!("{name} ({})", points.len()))
                .legend(move |(x, y)| Circle::new((x + 10, y), 7, color.filled()));
        }
        draw_legend(&mut chart)
    })?;
    write_png(path, &image)
}

/// One line of a line chart: its name in the legend and its points
/// `(x, y, ± spread)`, drawn in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    /// `(x, y, whisker)`: a ± spread or a confidence interval.
    pub points: Vec<(f64, f64, Option<ErrorBar>)>,
}

/// Line chart, 1200×800 px: one coloured line with a marker per point for
/// each series, ± spreads or intervals as error bars, a legend naming the series, axes
/// `x_label` and `y_label` (whole numbers on the x axis: iterations).
pub fn line_chart_png(
    path: &Path,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[Series],
) -> Result<(), PlotError> {
    if series.iter().all(|s| s.points.is_empty()) {
        return Err(PlotError::Empty {
            path: path.to_path_buf(),
            what: "no points in any series".into(),
        });
    }
    for line in series {
        let bad = line
            .points
            .iter()
            .find(|(x, y, e)| !(x.is_finite() && y.is_finite() && e.is_none_or(ErrorBar::valid)));
        if let Some(point) = bad {
            return Err(PlotError::Invalid {
                path: path.to_path_buf(),
                what: format!(
                    "point {point:?} of '{}' is not finite (or has a negative spread or an inverted interval)",
                    line.name
                ),
            });
        }
    }
    let all = || series.iter().flat_map(|s| s.points.iter().copied());
    let x_range = padded_range(all().map(|p| p.0), 0.0);
    let ends = all().flat_map(|(_, y, e)| {
        let (low, high) = e.map_or((y, y), |e| e.ends(y));
        [low.min(y), high.max(y)]
    });
    let y_range = padded_range(ends, legend_headroom(series.len()));
    let image = render(path, LINE_CHART_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 36))
            .margin(24)
            .x_label_area_size(70)
            .y_label_area_size(110)
            .build_cartesian_2d(x_range.clone(), y_range.clone())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| significant(*y))
            .axis_desc_style((FONT, 26))
            .label_style((FONT, 20))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (index, line) in series.iter().enumerate() {
            let color = PALETTE[index % PALETTE.len()];
            let stroke = color.stroke_width(3);
            let xy = || line.points.iter().map(|&(x, y, _)| (x, y));
            chart
                .draw_series([PathElement::new(xy().collect::<Vec<_>>(), stroke)])
                .map_err(|e| e.to_string())?
                .label(line.name.clone())
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(-4, 0), (16, 0)], stroke)
                        + Circle::new((6, 0), 5, color.filled())
                });
            chart
                .draw_series(xy().map(|p| Circle::new(p, 6, color.filled())))
                .map_err(|e| e.to_string())?;
            let bars = line.points.iter().filter_map(|&(x, y, e)| {
                let (low, high) = e?.ends(y);
                Some(PathElement::new(
                    vec![(x, low), (x, high)],
                    color.stroke_width(2),
                ))
            });
            chart.draw_series(bars).map_err(|e| e.to_string())?;
        }
        draw_legend(&mut chart)
    })?;
    write_png(path, &image)
}

/// The legend of every chart with series: upper right, on a light box.
fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 22))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .margin(12)
        .draw()
        .map_err(|e| e.to_string())
}

/// The range of `values` widened by 5% on each side (±1 around a single value),
/// plus `headroom` (a fraction of the span) on top.
fn padded_range(values: impl Iterator<Item = f64>, headroom: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let span = if hi > lo { hi - lo } else { 20.0 };
    (lo - 0.05 * span)..(hi + (0.05 + headroom) * span)
}

/// Extra room above the points, as a fraction of their span, so that the legend
/// (≈ 32 px per set plus margins, in a plot area ≈ 830 px high) covers no point.
fn legend_headroom(sets: usize) -> f64 {
    let legend = ((32.0 * sets as f64 + 40.0) / 830.0).min(0.75);
    // The legend's share f of the padded range needs headroom h = f·(1.1 + h).
    1.1 * legend / (1.0 - legend)
}

/// Bar chart, 1200×800 px: one bar per variant with its value and an optional
/// ± error bar, the variant names under the bars, `y_label` on the value axis.
pub fn bar_chart_png(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[(String, f64, Option<f64>)],
) -> Result<(), PlotError> {
    let bars: Vec<(String, f64, Option<ErrorBar>)> = groups
        .iter()
        .map(|(name, value, error)| (name.clone(), *value, error.map(ErrorBar::Spread)))
        .collect();
    bar_chart_with_errors_png(path, title, y_label, &bars)
}

/// What a bar's whisker shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ErrorBar {
    /// ± a spread (a standard deviation over splits or subsets).
    Spread(f64),
    /// A confidence interval `[low, high]` (the bootstrap's).
    Interval([f64; 2]),
}

impl ErrorBar {
    /// The whisker's ends around `value`.
    fn ends(self, value: f64) -> (f64, f64) {
        match self {
            ErrorBar::Spread(e) => (value - e, value + e),
            ErrorBar::Interval([low, high]) => (low, high),
        }
    }

    fn valid(self) -> bool {
        match self {
            ErrorBar::Spread(e) => e.is_finite() && e >= 0.0,
            ErrorBar::Interval([low, high]) => low.is_finite() && high.is_finite() && low <= high,
        }
    }
}

/// [`bar_chart_png`] with either kind of whisker per bar: a spread (`4.04 ± 0.05`)
/// or an interval (`15.3 [14.9, 15.8]`).
pub fn bar_chart_with_errors_png(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[(String, f64, Option<ErrorBar>)],
) -> Result<(), PlotError> {
    if groups.is_empty() {
        return Err(PlotError::Empty {
            path: path.to_path_buf(),
            what: "no bars".into(),
        });
    }
    for (name, value, error) in groups {
        let error_ok = error.is_none_or(ErrorBar::valid);
        if !value.is_finite() || !error_ok {
            return Err(PlotError::Invalid {
                path: path.to_path_buf(),
                what: format!(
                    "bar '{name}' has value {value} and error {error:?}; values must be finite, errors finite and ≥ 0, intervals finite with low ≤ high"
                ),
            });
        }
    }
    let ends = |v: f64, e: Option<ErrorBar>| e.map_or((v, v), |e| e.ends(v));
    let low = groups
        .iter()
        .map(|(_, v, e)| ends(*v, *e).0.min(*v))
        .fold(0.0f64, f64::min);
    let high = groups
        .iter()
        .map(|(_, v, e)| ends(*v, *e).1.max(*v))
        .fold(0.0f64, f64::max);
    let span = if high > low { high - low } else { 1.0 };
    let y_range = (low - if low < 0.0 { 0.08 * span } else { 0.0 })..(high + 0.08 * span);
    let image = render(path, BAR_CHART_SIZE, |root| {
        // Bar i spans [i + 0.1, i + 0.9] on a plain axis; the names are drawn under
        // the centres by hand (plotters' segmented axes misplace a single bar).
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 36))
            .margin(24)
            .x_label_area_size(70)
            .y_label_area_size(100)
            .build_cartesian_2d(0.0..groups.len() as f64, y_range.clone())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_desc("variant")
            .y_desc(y_label)
            .axis_desc_style((FONT, 26))
            .label_style((FONT, 20))
            .draw()
            .map_err(|e| e.to_string())?;
        let whisker = BLACK.stroke_width(2);
        let centred = |size: u32, v: VPos| {
            TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, v))
        };
        for (i, (name, value, error)) in groups.iter().enumerate() {
            let (left, centre) = (i as f64, i as f64 + 0.5);
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series([Rectangle::new(
                    [(left + 0.1, 0.0), (left + 0.9, *value)],
                    color.mix(0.85).filled(),
                )])
                .map_err(|e| e.to_string())?;
            let (bottom, top) = ends(*value, *error);
            if error.is_some() {
                let cap = |y: f64| {
                    EmptyElement::at((centre, y))
                        + PathElement::new(vec![(-12, 0), (12, 0)], whisker)
                };
                chart
                    .draw_series([PathElement::new(
                        vec![(centre, bottom), (centre, top)],
                        whisker,
                    )])
                    .map_err(|e| e.to_string())?;
                chart
                    .draw_series([cap(bottom), cap(top)])
                    .map_err(|e| e.to_string())?;
            }
            let label = match error {
                Some(ErrorBar::Spread(e)) => {
                    format!("{} ± {}", significant(*value), significant(*e))
                }
                Some(ErrorBar::Interval([low, high])) => format!(
                    "{} [{}, {}]",
                    significant(*value),
                    significant(*low),
                    significant(*high)
                ),
                None => significant(*value),
            };
            // Above a positive bar and its error bar, below a negative one.
            let (end, offset, anchor) = if *value >= 0.0 {
                (top.max(*value), -8, VPos::Bottom)
            } else {
                (bottom.min(*value), 8, VPos::Top)
            };
            chart
                .draw_series([EmptyElement::at((centre, end))
                    + Text::new(label, (0, offset), centred(20, anchor))])
                .map_err(|e| e.to_string())?;
            let (x, y) = chart.backend_coord(&(centre, y_range.start));
            root.draw(&Text::new(
                name.as_str(),
                (x, y + 10),
                centred(20, VPos::Top),
            ))
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    write_png(path, &image)
}

/// A value with four significant digits, without trailing zeros (4.04, 0.05, 15.3).
fn significant(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let decimals = (3 - value.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}
