//! A chart drawn with text for a terminal: braille characters (2×4 dots a
//! cell) for the lines, the values on the left, the times below, a legend
//! when there are several lines. Colours are ANSI escapes, only when asked.

use super::scale::{TimeTicks, ValueTicks};
use super::{Chart, Error, colour};

/// Cells the chart may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub columns: usize,
    pub lines: usize,
}

impl Size {
    /// The size used when nothing tells the terminal's.
    pub const DEFAULT: Size = Size {
        columns: 80,
        lines: 24,
    };
}

const MIN_COLUMNS: usize = 20;
/// Two lines of plot, the time axis and its labels.
const MIN_LINES: usize = 4;
/// Braille dots a cell holds across and down.
const DOTS_ACROSS: usize = 2;
const DOTS_DOWN: usize = 4;
/// The bit of each dot of a braille cell (U+2800 + bits), by column then
/// row.
const DOT_BITS: [[u8; DOTS_DOWN]; DOTS_ACROSS] =
    [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];
/// The braille cell without dots; an empty cell is written as a space.
const BRAILLE_BLANK: u32 = 0x2800;
/// Columns a time tick takes at most: its label and a space.
const TIME_LABEL_COLUMNS: usize = 20;
const RESET: &str = "\x1b[0m";

/// The chart as lines of text, each at most `size.columns` wide, `size.lines`
/// lines in all; with `colours`, each line (and its legend) in its colour.
pub fn render(chart: &Chart, size: Size, colours: bool) -> Result<String, Error> {
    let bounds = chart.drawable()?;
    let legend = legend_lines(chart, size.columns, colours);
    let too_small = Error::TooSmall {
        columns: size.columns,
        lines: size.lines,
        min_columns: MIN_COLUMNS,
        min_lines: MIN_LINES + legend.len(),
    };
    if size.columns < MIN_COLUMNS || size.lines < MIN_LINES + legend.len() {
        return Err(too_small);
    }
    let rows = size.lines - 2 - legend.len();
    let values = ValueTicks::new(bounds.low, bounds.high, (rows / 2).max(1));
    let value_labels: Vec<String> = values.values.iter().map(|v| values.label(*v)).collect();
    let label_width = value_labels.iter().map(String::len).max().unwrap_or(0);
    let Some(columns) = size
        .columns
        .checked_sub(label_width + 1)
        .filter(|c| *c >= 2)
    else {
        return Err(too_small);
    };
    let mut canvas = Canvas::new(columns, rows);
    let (first, last) = (bounds.first.nanos(), bounds.last.nanos());
    let dots_across = canvas.dots_across();
    let x_of = |nanos: i64| -> usize {
        if last == first {
            return dots_across / 2;
        }
        let share = (nanos - first) as f64 / (last - first) as f64;
        (share * (dots_across - 1) as f64).round() as usize
    };
    let dots_down = canvas.dots_down();
    let y_of = |value: f64| -> usize {
        let share = (values.high() - value) / (values.high() - values.low());
        (share * (dots_down - 1) as f64).round() as usize
    };
    for (line, series) in chart.series.iter().enumerate() {
        let dots: Vec<(usize, usize)> = series
            .points
            .iter()
            .map(|&(t, v)| (x_of(t.nanos()), y_of(v)))
            .collect();
        if let [only] = dots[..] {
            canvas.dot(only, line);
        }
        for pair in dots.windows(2) {
            canvas.segment(pair[0], pair[1], line);
        }
    }
    let mut out = String::new();
    for row in 0..rows {
        let label = values
            .values
            .iter()
            .zip(&value_labels)
            .find(|(value, _)| y_of(**value) / DOTS_DOWN == row)
            .map(|(_, label)| label.as_str());
        out.push_str(&format!(
            "{:>label_width$}{}",
            label.unwrap_or(""),
            if label.is_some() { '┤' } else { '│' }
        ));
        canvas.write_row(row, colours, &mut out);
        out.push('\n');
    }
    let times = TimeTicks::new(bounds.first, bounds.last, columns / TIME_LABEL_COLUMNS);
    let tick_columns: Vec<(usize, String)> = times
        .seconds
        .iter()
        .map(|&s| {
            let nanos = s * 1_000_000_000;
            (x_of(nanos.clamp(first, last)) / DOTS_ACROSS, times.label(s))
        })
        .collect();
    let mut axis: Vec<char> = vec!['─'; columns];
    for (column, _) in &tick_columns {
        axis[*column] = '┬';
    }
    out.push_str(&format!("{:label_width$}└", ""));
    out.extend(axis);
    out.push('\n');
    out.push_str(&time_labels(&tick_columns, label_width + 1, size.columns));
    out.push('\n');
    for line in legend {
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// The labels of the time ticks, each centred under its tick (shifted to
/// fit the width), leaving out those that would overlap the previous one.
fn time_labels(ticks: &[(usize, String)], offset: usize, width: usize) -> String {
    let mut line = String::new();
    let mut used = 0;
    for (column, label) in ticks {
        let start = (offset + column)
            .saturating_sub(label.len() / 2)
            .min(width.saturating_sub(label.len()));
        let gap = if used == 0 { 0 } else { 1 };
        if start < used + gap || start + label.len() > width {
            continue;
        }
        line.push_str(&" ".repeat(start - used));
        line.push_str(label);
        used = start + label.len();
    }
    line
}

/// `⣿ NAME` for each line, as many on a text line as fit; none for one line.
fn legend_lines(chart: &Chart, width: usize, colours: bool) -> Vec<String> {
    if chart.series.len() < 2 {
        return Vec::new();
    }
    let mut lines = Vec::new();
    let (mut line, mut used) = (String::new(), 0);
    for (n, series) in chart.series.iter().enumerate() {
        let entry_width = 2 + series.name.chars().count();
        if used > 0 && used + 2 + entry_width > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push_str("  ");
            used += 2;
        }
        if colours {
            line.push_str(&escape(n));
        }
        line.push('⣿');
        if colours {
            line.push_str(RESET);
        }
        line.push(' ');
        line.push_str(&series.name);
        used += entry_width;
    }
    lines.push(line);
    lines
}

/// The ANSI escape that sets the colour of line `n` (24-bit).
fn escape(n: usize) -> String {
    let (r, g, b) = colour(n);
    format!("\x1b[38;2;{r};{g};{b}m")
}

/// Braille cells: the dots set in each and the line that set the last.
struct Canvas {
    columns: usize,
    dots: Vec<u8>,
    lines: Vec<Option<usize>>,
}

impl Canvas {
    fn new(columns: usize, rows: usize) -> Canvas {
        Canvas {
            columns,
            dots: vec![0; columns * rows],
            lines: vec![None; columns * rows],
        }
    }

    fn dots_across(&self) -> usize {
        self.columns * DOTS_ACROSS
    }

    fn dots_down(&self) -> usize {
        self.dots.len() / self.columns * DOTS_DOWN
    }

    fn dot(&mut self, (x, y): (usize, usize), line: usize) {
        let cell = y / DOTS_DOWN * self.columns + x / DOTS_ACROSS;
        self.dots[cell] |= DOT_BITS[x % DOTS_ACROSS][y % DOTS_DOWN];
        self.lines[cell] = Some(line);
    }

    /// The dots from `a` to `b` (Bresenham's line).
    fn segment(&mut self, a: (usize, usize), b: (usize, usize), line: usize) {
        let (mut x, mut y) = (a.0 as i64, a.1 as i64);
        let (x1, y1) = (b.0 as i64, b.1 as i64);
        let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
        let (sx, sy) = ((x1 - x).signum(), (y1 - y).signum());
        let mut error = dx + dy;
        loop {
            self.dot((x as usize, y as usize), line);
            if x == x1 && y == y1 {
                return;
            }
            let twice = 2 * error;
            if twice >= dy {
                error += dy;
                x += sx;
            }
            if twice <= dx {
                error += dx;
                y += sy;
            }
        }
    }

    fn write_row(&self, row: usize, colours: bool, out: &mut String) {
        let cells = row * self.columns..(row + 1) * self.columns;
        let mut current = None;
        for (&dots, &line) in self.dots[cells.clone()].iter().zip(&self.lines[cells]) {
            if colours && line != current {
                match line {
                    Some(n) => out.push_str(&escape(n)),
                    None => out.push_str(RESET),
                }
                current = line;
            }
            out.push(if dots == 0 {
                ' '
            } else {
                char::from_u32(BRAILLE_BLANK + u32::from(dots))
                    .expect("U+2800 to U+28FF are characters")
            });
        }
        if current.is_some() {
            out.push_str(RESET);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Series;
    use crate::time::Timestamp;

    fn chart(points: &[(i64, f64)]) -> Chart {
        Chart {
            title: "mean of m".to_owned(),
            series: vec![Series {
                name: "m".to_owned(),
                points: points
                    .iter()
                    .map(|&(s, v)| (Timestamp::from_nanos(s * 1_000_000_000), v))
                    .collect(),
            }],
        }
    }

    #[test]
    fn a_rising_line_goes_from_the_bottom_left_to_the_top_right() {
        let size = Size {
            columns: 30,
            lines: 8,
        };
        let text = render(&chart(&[(0, 0.0), (600, 10.0)]), size, false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 8);
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{text}");
        assert!(lines[0].starts_with("10┤"), "{text}");
        assert!(lines[5].starts_with(" 0┤"), "{text}");
        // The top right and bottom left cells hold dots.
        assert_ne!(lines[0].chars().last(), Some(' '), "{text}");
        assert_ne!(lines[5].chars().nth(3), Some(' '), "{text}");
        assert!(lines[6].starts_with("  └┬"), "{text}");
        assert!(lines[7].contains("00:00"), "{text}");
    }

    #[test]
    fn colours_are_escapes_around_the_dots_of_each_line() {
        let size = Size {
            columns: 30,
            lines: 8,
        };
        let mut two = chart(&[(0, 0.0), (600, 10.0)]);
        two.series.push(Series {
            name: "n".to_owned(),
            ..two.series[0].clone()
        });
        let plain = render(&two, size, false).unwrap();
        assert!(!plain.contains('\x1b'));
        assert!(plain.ends_with("⣿ m  ⣿ n\n"), "{plain}");
        let coloured = render(&two, size, true).unwrap();
        assert!(coloured.contains("\x1b[38;2;255;127;14m"), "{coloured}");
    }

    #[test]
    fn a_too_small_size_is_refused() {
        let size = Size {
            columns: 10,
            lines: 3,
        };
        let error = render(&chart(&[(0, 1.0)]), size, false).unwrap_err();
        assert!(error.to_string().contains("20×4"), "{error}");
    }
}
