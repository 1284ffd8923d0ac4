//! A line chart as an SVG or PNG image (plotters): a title, the times
//! (UTC) across, the values up, a line per series and a legend naming
//! them. The text is laid out with DejaVu Sans Mono, built into the
//! program (data/fonts/), and drawn with it in PNGs (`chart::glyphs`),
//! so a machine without fonts draws the same PNG; the SVG names the font
//! family and is the same bytes for the same chart.

use std::sync::Once;

use std::ops::Range;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::glyphs::{FONT, Glyphs};
use super::scale::{TimeTicks, ValueTicks};
use super::{Chart, Error, colour};

/// Pixels across and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

impl Size {
    pub const DEFAULT: Size = Size {
        width: 1000,
        height: 500,
    };
}

/// Pixels a time label takes across with its margin, about (20
/// characters of 8 pixels): how many time ticks fit.
const LABEL_PIXELS: u32 = 8 * 20;
const TITLE_POINTS: u32 = 20;
const LABEL_POINTS: u32 = 13;

/// The chart as an SVG document.
pub fn svg(chart: &Chart, size: Size) -> Result<String, Error> {
    let mut text = String::new();
    {
        let root =
            SVGBackend::with_string(&mut text, (size.width, size.height)).into_drawing_area();
        draw(chart, size, &root)?;
        root.present().map_err(drawing)?;
    }
    Ok(text)
}

/// The chart as a PNG file (8-bit RGB).
pub fn png(chart: &Chart, size: Size) -> Result<Vec<u8>, Error> {
    let mut pixels = vec![0u8; size.width as usize * size.height as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut pixels, (size.width, size.height));
        let root = Glyphs::new(bitmap).into_drawing_area();
        draw(chart, size, &root)?;
        root.present().map_err(drawing)?;
    }
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size.width, size.height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(bytes)
}

fn drawing(error: impl std::fmt::Display) -> Error {
    Error::Drawing(error.to_string())
}

/// Makes the built-in font the one plotters draws every family with.
fn register_font() {
    static REGISTERED: Once = Once::new();
    REGISTERED.call_once(|| {
        for family in ["monospace", "sans-serif"] {
            // The bytes are a font file built into the program: a test
            // draws with them.
            let _ = plotters::style::register_font(family, FontStyle::Normal, FONT);
        }
    });
}

fn draw<DB: DrawingBackend>(
    chart: &Chart,
    size: Size,
    root: &DrawingArea<DB, Shift>,
) -> Result<(), Error> {
    let bounds = chart.drawable()?;
    register_font();
    let font = |points: u32| (FontFamily::Monospace, points);
    root.fill(&WHITE).map_err(drawing)?;
    let times = TimeTicks::new(
        bounds.first,
        bounds.last,
        (size.width / LABEL_PIXELS).max(1) as usize,
    );
    let values = ValueTicks::new(bounds.low, bounds.high, (size.height / 60).max(2) as usize);
    let (first, last) = (bounds.first.as_secs_f64(), bounds.last.as_secs_f64());
    // One time only: a minute either side.
    let (first, last) = if last > first {
        (first, last)
    } else {
        (first - 60.0, last + 60.0)
    };
    let x_ticks: Vec<f64> = times.seconds.iter().map(|&s| s as f64).collect();
    let mut plot = ChartBuilder::on(root)
        .caption(&chart.title, font(TITLE_POINTS))
        .margin(12)
        // Room for half the last time label, centred on its tick.
        .margin_right(LABEL_PIXELS / 2)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            Axis::new(first..last, x_ticks),
            Axis::new(values.low()..values.high(), values.values.clone()),
        )
        .map_err(drawing)?;
    let time_label = |x: &f64| times.label(*x as i64);
    let value_label = |y: &f64| values.label(*y);
    plot.configure_mesh()
        .x_label_formatter(&time_label)
        .y_label_formatter(&value_label)
        .x_labels(times.seconds.len())
        .y_labels(values.values.len())
        .label_style(font(LABEL_POINTS))
        .x_desc("time (UTC)")
        .axis_desc_style(font(LABEL_POINTS))
        .light_line_style(WHITE)
        .draw()
        .map_err(drawing)?;
    for (n, series) in chart.series.iter().enumerate() {
        let (r, g, b) = colour(n);
        let style = RGBColor(r, g, b).stroke_width(2);
        let points: Vec<(f64, f64)> = series
            .points
            .iter()
            .map(|&(t, v)| (t.as_secs_f64(), v))
            .collect();
        let drawn = if let [only] = points[..] {
            plot.draw_series([Circle::new(only, 3, style.filled())])
        } else {
            plot.draw_series(LineSeries::new(points, style))
        }
        .map_err(drawing)?;
        drawn
            .label(series.name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    plot.configure_series_labels()
        .label_font(font(LABEL_POINTS))
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// A linear axis whose ticks are the scale's, not plotters' own.
struct Axis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Axis {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Axis {
        Axis {
            linear: range.into(),
            ticks,
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}
