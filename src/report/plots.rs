//! Charts, each drawn once over any plotters backend and written as PNG and SVG.
//!
//! Text uses DejaVu Sans shipped in assets/ (through plotters' ab_glyph feature), so the charts
//! look the same on every machine and need no system font lookup.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::{anyhow, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::analysis::analyze;
use crate::atomic::{write_atomically, Temporary};
use crate::results::{CellResult, CellStatistics, Estimate, Results};

const FONT: &str = "sans-serif";
const WIDTH: u32 = 1400;
/// Lowest value drawn on a log axis, µs (zero latencies are clamped to it).
const LOG_FLOOR_US: f64 = 0.01;
/// Percentile axis goes up to 99.9999 %.
const MAX_NINES: f64 = 6.0;
/// Height of a line chart's plot, above its legend.
const LINE_PLOT_HEIGHT: u32 = 820;
/// Legend entries per row under a line chart; two fit the longest cell ids side by side.
const LEGEND_COLUMNS: usize = 2;
/// Height of one legend row, px.
const LEGEND_ROW: u32 = 30;
/// Left edge of the legend, aligned with the plot's y axis.
const LEGEND_LEFT: i32 = 120;
/// Dark, distinct colours (Tableau's, then deeper ones), so 14 cells stay apart on white.
const COLOURS: [(u8, u8, u8); 14] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (0, 0, 128),
    (128, 0, 0),
    (0, 100, 0),
    (75, 0, 130),
];

fn colour(i: usize) -> RGBColor {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    RGBColor(r, g, b)
}

/// Registers the bundled DejaVu Sans as [`FONT`], once per process; every later call returns the
/// first call's outcome.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(
                FONT,
                FontStyle::Normal,
                include_bytes!("../../assets/DejaVuSans.ttf"),
            )
            .map_err(|_| "the bundled font assets/DejaVuSans.ttf is not a valid font".to_string())
        })
        .clone()
        .map_err(|e| anyhow!(e))
}

/// What a chart shows.
enum Chart {
    /// One horizontal bar per label (the median), with its 95% interval as a whisker.
    Bars {
        title: String,
        axis: String,
        labels: Vec<String>,
        values: Vec<f64>,
        intervals: Vec<(f64, f64)>,
    },
    /// A heat map: one row per label, one column per second, colour on a log scale; readable
    /// however many cells there are, where as many overlaid lines are not.
    Heat {
        title: String,
        scale: String,
        rows: Vec<(String, Vec<f64>)>,
    },
    /// Lines on a log-scale latency axis over the percentile, on HdrHistogram's log scale:
    /// x = log10(1 / (1 − p)).
    Lines {
        title: String,
        y_axis: String,
        series: Vec<(String, Vec<(f64, f64)>)>,
    },
}

impl Chart {
    /// Pixel height that fits the chart: a row per bar, or the plot plus a legend row per
    /// [`LEGEND_COLUMNS`] series.
    fn height(&self) -> u32 {
        match self {
            Chart::Bars { labels, .. } => 200 + 44 * labels.len() as u32,
            Chart::Heat { rows, .. } => 260 + 36 * rows.len() as u32,
            Chart::Lines { series, .. } => {
                LINE_PLOT_HEIGHT + 20 + LEGEND_ROW * series.len().div_ceil(LEGEND_COLUMNS) as u32
            }
        }
    }
}

fn to_plot_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow!("drawing a chart: {e}")
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, chart: &Chart) -> Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(to_plot_error)?;
    match chart {
        Chart::Bars {
            title,
            axis,
            labels,
            values,
            intervals,
        } => {
            // One unit of the y axis per bar, first cell at the top. The ids are drawn beside the
            // rows by hand: a discrete axis cannot hold a single row.
            let n = labels.len().max(1);
            let row = |i: usize| (n - 1 - i) as f64;
            let label_style = TextStyle::from((FONT, 18).into_font());
            let label_width = widest(&root, labels.iter(), &label_style)?;
            let highs = intervals.iter().map(|i| i.1);
            let max = match values.iter().copied().chain(highs).fold(0.0, f64::max) {
                m if m > 0.0 => m * 1.15,
                _ => 1.0,
            };
            let mut c = ChartBuilder::on(&root)
                .caption(title, (FONT, 26))
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(label_width + 30)
                .build_cartesian_2d(0.0..max, 0.0..n as f64)
                .map_err(to_plot_error)?;
            c.configure_mesh()
                .disable_y_mesh()
                .y_labels(0)
                .x_desc(axis.as_str())
                .axis_desc_style((FONT, 20))
                .label_style((FONT, 18))
                .x_labels(8)
                .x_label_formatter(&|v| value_label(*v))
                .draw()
                .map_err(to_plot_error)?;
            c.draw_series(values.iter().enumerate().map(|(i, v)| {
                Rectangle::new(
                    [(0.0, row(i) + 0.12), (*v, row(i) + 0.88)],
                    colour(i).filled(),
                )
            }))
            .map_err(to_plot_error)?;
            // The interval: a whisker across the bar's middle with caps at both ends.
            for (i, &(low, high)) in intervals.iter().enumerate() {
                let y = row(i) + 0.5;
                let black = BLACK.stroke_width(2);
                c.draw_series([
                    PathElement::new(vec![(low, y), (high, y)], black),
                    PathElement::new(vec![(low, y - 0.2), (low, y + 0.2)], black),
                    PathElement::new(vec![(high, y - 0.2), (high, y + 0.2)], black),
                ])
                .map_err(to_plot_error)?;
            }
            c.draw_series(values.iter().enumerate().map(|(i, v)| {
                let end = intervals.get(i).map_or(*v, |&(_, high)| high.max(*v));
                Text::new(
                    format!(" {}", value_label(*v)),
                    (end, row(i) + 0.5),
                    TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(to_plot_error)?;
            for (i, label) in labels.iter().enumerate() {
                let (x, y) = c.backend_coord(&(0.0, row(i) + 0.5));
                root.draw(&Text::new(
                    label.as_str(),
                    (x - 12, y),
                    label_style.pos(Pos::new(HPos::Right, VPos::Center)),
                ))
                .map_err(to_plot_error)?;
            }
        }
        Chart::Heat { title, scale, rows } => draw_heat(&root, title, scale, rows)?,
        Chart::Lines {
            title,
            y_axis,
            series,
        } => {
            let points = series.iter().flat_map(|(_, p)| p.iter());
            let (x_max, y_max) = points.fold((1e-9f64, LOG_FLOOR_US), |(x, y), p| {
                (x.max(p.0), y.max(p.1))
            });
            let y_min = series
                .iter()
                .flat_map(|(_, p)| p.iter().map(|p| p.1))
                .fold(f64::INFINITY, f64::min)
                .clamp(LOG_FLOOR_US, y_max);
            // Whole nines on the percentile axis, so ticks fall on 90 %, 99 %, 99.9 %...
            let x_range = x_max.ceil().max(1.0);
            // The legend goes under the plot, where it cannot hide a line however many there are.
            let (plot, legend) = root.split_vertically(LINE_PLOT_HEIGHT);
            let mut c = ChartBuilder::on(&plot)
                .caption(title, (FONT, 26))
                .margin(20)
                .x_label_area_size(60)
                .y_label_area_size(100)
                .margin_right(70)
                .build_cartesian_2d(0.0..x_range, (y_min * 0.8..y_max * 1.5).log_scale())
                .map_err(to_plot_error)?;
            let percentile = |x: &f64| {
                let p = 100.0 * (1.0 - 10f64.powf(-x));
                let text = format!("{p:.4}");
                format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
            };
            c.configure_mesh()
                .x_desc("percentile")
                .y_desc(y_axis.as_str())
                .axis_desc_style((FONT, 20))
                .label_style((FONT, 18))
                .x_labels(x_range as usize + 1)
                .x_label_formatter(&percentile)
                .y_label_formatter(&|y| format!("{y}"))
                .draw()
                .map_err(to_plot_error)?;
            let rows = series.len().div_ceil(LEGEND_COLUMNS).max(1);
            let column_width = (WIDTH as i32 - LEGEND_LEFT) / LEGEND_COLUMNS as i32;
            for (i, (name, pts)) in series.iter().enumerate() {
                let color = colour(i);
                let clamped = pts.iter().map(|&(x, y)| (x, y.max(LOG_FLOOR_US)));
                c.draw_series(LineSeries::new(clamped, color.stroke_width(2)))
                    .map_err(to_plot_error)?;
                // Column-major, so the legend reads top to bottom in the order of the cells.
                let x = LEGEND_LEFT + (i / rows) as i32 * column_width;
                let y = 10 + (i % rows) as i32 * LEGEND_ROW as i32 + LEGEND_ROW as i32 / 2;
                legend
                    .draw(&PathElement::new(
                        vec![(x, y), (x + 30, y)],
                        color.stroke_width(4),
                    ))
                    .map_err(to_plot_error)?;
                legend
                    .draw(&Text::new(
                        name.as_str(),
                        (x + 40, y),
                        TextStyle::from((FONT, 18).into_font())
                            .pos(Pos::new(HPos::Left, VPos::Center)),
                    ))
                    .map_err(to_plot_error)?;
            }
        }
    }
    root.present().map_err(to_plot_error)?;
    Ok(())
}

/// The widest of `labels` in `style`, px.
fn widest<'a, DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    labels: impl Iterator<Item = &'a String>,
    style: &TextStyle,
) -> Result<u32>
where
    DB::ErrorType: 'static,
{
    let mut width = 0;
    for label in labels {
        let (w, _) = root
            .estimate_text_size(label, style)
            .map_err(to_plot_error)?;
        width = width.max(w);
    }
    Ok(width)
}

/// Viridis at five stops, dark (low) to light (high).
const VIRIDIS: [(f64, f64, f64); 5] = [
    (68.0, 1.0, 84.0),
    (59.0, 82.0, 139.0),
    (33.0, 145.0, 140.0),
    (94.0, 201.0, 98.0),
    (253.0, 231.0, 37.0),
];

/// The colour of `t` in [0, 1] on [`VIRIDIS`].
fn viridis(t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let k = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Draws a heat map: a row per cell, a column per second, the colour the value's log between
/// the smallest and largest value drawn, with the colour scale underneath.
fn draw_heat<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    scale: &str,
    rows: &[(String, Vec<f64>)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = rows.len().max(1);
    let row = |i: usize| (n - 1 - i) as f64;
    let columns = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(1);
    let label_style = TextStyle::from((FONT, 18).into_font());
    let label_width = widest(root, rows.iter().map(|r| &r.0), &label_style)?;
    let logs = rows
        .iter()
        .flat_map(|r| r.1.iter())
        .filter(|v| **v > 0.0)
        .map(|v| v.log10());
    let (lo, hi) = logs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = match lo.is_finite() {
        true => (lo, hi.max(lo + 1e-9)),
        false => (0.0, 1.0),
    };
    let (height, _) = (root.dim_in_pixel().1, ());
    let (plot, legend) = root.split_vertically(height.saturating_sub(110));
    let mut c = ChartBuilder::on(&plot)
        .caption(title, (FONT, 26))
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(label_width + 30)
        .build_cartesian_2d(0.0..columns as f64, 0.0..n as f64)
        .map_err(to_plot_error)?;
    c.configure_mesh()
        .disable_mesh()
        .y_labels(0)
        .x_desc("seconds since warm-up ended")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 18))
        .x_labels((columns + 1).min(13))
        .x_label_formatter(&|v| format!("{v:.0}"))
        .draw()
        .map_err(to_plot_error)?;
    let colour_of = |v: f64| match v > 0.0 {
        true => viridis((v.log10() - lo) / (hi - lo)),
        false => RGBColor(230, 230, 230),
    };
    for (i, (_, values)) in rows.iter().enumerate() {
        c.draw_series(values.iter().enumerate().map(|(j, &v)| {
            Rectangle::new(
                [(j as f64, row(i) + 0.06), (j as f64 + 1.0, row(i) + 0.94)],
                colour_of(v).filled(),
            )
        }))
        .map_err(to_plot_error)?;
    }
    for (i, (label, _)) in rows.iter().enumerate() {
        let (x, y) = c.backend_coord(&(0.0, row(i) + 0.5));
        plot.draw(&Text::new(
            label.as_str(),
            (x - 12, y),
            label_style.pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(to_plot_error)?;
    }
    // The colour scale: a strip of 200 steps from the smallest to the largest value.
    let (left, width) = (LEGEND_LEFT, WIDTH as i32 - 2 * LEGEND_LEFT);
    for k in 0..200 {
        let x = left + width * k / 200;
        legend
            .draw(&Rectangle::new(
                [(x, 20), (left + width * (k + 1) / 200, 50)],
                viridis(f64::from(k) / 199.0).filled(),
            ))
            .map_err(to_plot_error)?;
    }
    for k in 0..=4 {
        let t = f64::from(k) / 4.0;
        let value = 10f64.powf(lo + t * (hi - lo));
        legend
            .draw(&Text::new(
                value_label(value),
                (left + (f64::from(width) * t) as i32, 56),
                TextStyle::from((FONT, 16).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(to_plot_error)?;
    }
    legend
        .draw(&Text::new(
            scale,
            (left + width / 2, 80),
            TextStyle::from((FONT, 18).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        ))
        .map_err(to_plot_error)?;
    Ok(())
}

/// A bar's value in three significant digits, with k/M for large ones.
fn value_label(v: f64) -> String {
    match v {
        v if v >= 1e6 => format!("{:.2} M", v / 1e6),
        v if v >= 1e4 => format!("{:.0} k", v / 1e3),
        v if v >= 100.0 => format!("{v:.0}"),
        v if v >= 10.0 => format!("{v:.1}"),
        v => format!("{v:.2}"),
    }
}

/// Writes `<dir>/<name>.png` and `<dir>/<name>.svg`.
fn write_chart(dir: &Path, name: &str, chart: &Chart) -> Result<Vec<PathBuf>> {
    let height = chart.height();
    let png = dir.join(format!("{name}.png"));
    let tmp = Temporary::new(&png);
    draw(
        BitMapBackend::new(tmp.path(), (WIDTH, height)).into_drawing_area(),
        chart,
    )?;
    tmp.commit()?;
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area(),
        chart,
    )?;
    let svg_path = dir.join(format!("{name}.svg"));
    write_atomically(&svg_path, svg.as_bytes())?;
    Ok(vec![png, svg_path])
}

/// A horizontal bar chart as an SVG document, one bar per label with its interval (low, high)
/// as a whisker: for pages that inline their charts (compare.html).
pub fn bars_svg(
    title: &str,
    axis: &str,
    labels: Vec<String>,
    (values, intervals): (Vec<f64>, Vec<(f64, f64)>),
) -> Result<String> {
    register_font()?;
    let chart = Chart::Bars {
        title: title.to_string(),
        axis: axis.to_string(),
        labels,
        values,
        intervals,
    };
    let mut svg = String::new();
    draw(
        SVGBackend::with_string(&mut svg, (WIDTH, chart.height())).into_drawing_area(),
        &chart,
    )?;
    Ok(svg)
}

/// Draws every chart of a run into `dir` (created); returns the files written.
pub fn write_plots(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    register_font()?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cells = &results.cells;
    let analysis = analyze(results);
    let labels: Vec<String> = cells.iter().map(|c| c.id.clone()).collect();
    let mut files = Vec::new();
    let bars =
        |title: &str, axis: &str, metric: &dyn Fn(&CellStatistics) -> Estimate, unit: f64| {
            let estimates: Vec<Estimate> = analysis.cells.iter().map(metric).collect();
            Chart::Bars {
                title: format!(
                    "{title}, median and 95% interval of {} repeats — {}",
                    results.protocol.repeats.max(1),
                    results.workload.name
                ),
                axis: axis.to_string(),
                labels: labels.clone(),
                values: estimates.iter().map(|e| e.median / unit).collect(),
                intervals: estimates
                    .iter()
                    .map(|e| (e.low / unit, e.high / unit))
                    .collect(),
            }
        };
    files.extend(write_chart(
        dir,
        "p99_per_cell",
        &bars(
            "p99 latency of all ops",
            "p99 latency (µs)",
            &|s| s.p99_ns,
            1e3,
        ),
    )?);
    files.extend(write_chart(
        dir,
        "throughput_per_cell",
        &bars("Throughput", "state ops per second", &|s| s.ops_per_s, 1.0),
    )?);
    let distribution = Chart::Lines {
        title: format!(
            "Latency by percentile, all ops (median repeat) — {}",
            results.workload.name
        ),
        y_axis: "latency (µs)".to_string(),
        series: cells
            .iter()
            .map(|c| {
                let points = c
                    .all_ops
                    .distribution
                    .iter()
                    .filter(|(p, _)| *p < 100.0)
                    .map(|&(p, v)| {
                        (
                            (1.0 / (1.0 - p / 100.0)).log10().min(MAX_NINES),
                            v as f64 / 1e3,
                        )
                    })
                    .collect();
                (c.id.clone(), points)
            })
            .collect(),
    };
    files.extend(write_chart(dir, "latency_distribution", &distribution)?);
    let timeline = Chart::Heat {
        title: format!(
            "p99 latency per second (median repeat of each cell) — {}",
            results.workload.name
        ),
        scale: "p99 latency in the second (µs, log scale)".to_string(),
        rows: cells
            .iter()
            .map(|c: &CellResult| {
                let p99s = c.timeline.iter().map(|t| t.p99_ns as f64 / 1e3).collect();
                (c.id.clone(), p99s)
            })
            .collect(),
    };
    files.extend(write_chart(dir, "timeline", &timeline)?);
    Ok(files)
}
