//! `carbonara plot`: metrics' aggregates as a line chart in an SVG or PNG
//! file; and the terminal chart of `measures show --plot`, sized to the
//! terminal. The drawing is `chart`'s; this picks sizes, colours and
//! files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use crate::chart::{self, Chart, Read, image, terminal};
use crate::error::{Error, Result};
use crate::resource::GENERIC;

use super::Ctx;
use super::measures::{QueryArgs, read_metric};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Ids or names of the metrics, a line each (their names on the resource with --resource-id)
    ///
    /// A line per metric, method (`--aggregation`, repeated) and
    /// granularity read.
    #[arg(required = true, value_name = "METRIC")]
    metrics: Vec<String>,
    /// Id of the resource whose metrics are named
    #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
    resource_id: Option<String>,
    #[command(flatten)]
    query: QueryArgs,
    /// The image to write: FILE.svg or FILE.png
    #[arg(short = 'o', long, required = true, value_name = "FILE", value_parser = image_file)]
    output: ImageFile,
    /// Width of the image in pixels
    #[arg(long, default_value_t = image::Size::DEFAULT.width, value_parser = clap::value_parser!(u32).range(200..=20_000))]
    width: u32,
    /// Height of the image in pixels
    #[arg(long, default_value_t = image::Size::DEFAULT.height, value_parser = clap::value_parser!(u32).range(150..=20_000))]
    height: u32,
}

/// The file `-o` names and the format its extension asks for.
#[derive(Debug, Clone)]
struct ImageFile {
    path: PathBuf,
    format: ImageFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageFormat {
    Svg,
    Png,
}

fn image_file(text: &str) -> std::result::Result<ImageFile, String> {
    let path = PathBuf::from(text);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match extension.as_deref() {
        Some("svg") => ImageFormat::Svg,
        Some("png") => ImageFormat::Png,
        _ => return Err("the file must end in .svg or .png".to_owned()),
    };
    Ok(ImageFile { path, format })
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let queries = args.query.queries(ctx)?;
    let (store, index) = ctx.open_store()?;
    let mut reads = Vec::with_capacity(args.metrics.len() * queries.len());
    for typed in &args.metrics {
        let (metric, metric_reads) = read_metric(
            ctx,
            (&store, &index),
            typed,
            args.resource_id.as_deref(),
            false,
            &queries,
        )?;
        let resource = match metric.resource_id {
            Some(id) => index.get_resource(GENERIC, id)?,
            None => None,
        };
        let name = chart::metric_name(&metric, resource.as_ref());
        reads.extend(metric_reads.into_iter().map(|read| Read {
            name: name.clone(),
            ..read
        }));
    }
    let chart = Chart::of_reads(&reads);
    let size = image::Size {
        width: args.width,
        height: args.height,
    };
    let bytes = match args.output.format {
        ImageFormat::Svg => image::svg(&chart, size)?.into_bytes(),
        ImageFormat::Png => image::png(&chart, size)?,
    };
    let path = &args.output.path;
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    ctx.note(&format!("wrote {}", path.display()));
    Ok(())
}

/// `measures show --plot` and the size of its chart.
#[derive(Debug, clap::Args)]
pub(super) struct TerminalArgs {
    /// Draw the points as a chart in the terminal instead of listing them
    ///
    /// Braille dots, a line per granularity and method read (repeat
    /// `--aggregation` for more), the values on the left
    /// and the times (UTC) below. It takes the terminal's size (less a
    /// line for the prompt), else $COLUMNS × $LINES, else 80 × 24;
    /// coloured on a terminal unless NO_COLOR is set.
    #[arg(long, conflicts_with = "format")]
    pub plot: bool,
    /// Width of the chart in characters
    #[arg(long, requires = "plot", value_name = "COLUMNS")]
    width: Option<usize>,
    /// Height of the chart in lines
    #[arg(long, requires = "plot", value_name = "LINES")]
    height: Option<usize>,
}

/// Prints `chart` on stdout for a terminal, at the size `args` and the
/// terminal ask.
pub(super) fn print_terminal_chart(chart: &Chart, args: &TerminalArgs) -> Result<()> {
    let stdout = std::io::stdout();
    let on_terminal = stdout.is_terminal();
    let found = terminal_size(on_terminal);
    let size = terminal::Size {
        columns: args.width.unwrap_or(found.columns),
        lines: args.height.unwrap_or(found.lines),
    };
    let colours = on_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = terminal::render(chart, size, colours)?;
    stdout
        .lock()
        .write_all(text.as_bytes())
        .map_err(Error::Output)
}

/// The terminal's size less a line for the prompt, else `$COLUMNS` ×
/// `$LINES` (less that line too), else 80 × 24.
fn terminal_size(on_terminal: bool) -> terminal::Size {
    let from_terminal = on_terminal
        .then(terminal_size::terminal_size)
        .flatten()
        .map(|(width, height)| (usize::from(width.0), usize::from(height.0)));
    let from_env = |name: &str| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|n| *n > 0)
    };
    let default = terminal::Size::DEFAULT;
    let (columns, lines) = from_terminal.unwrap_or_else(|| {
        (
            from_env("COLUMNS").unwrap_or(default.columns),
            from_env("LINES").unwrap_or(default.lines),
        )
    });
    terminal::Size {
        columns,
        lines: lines.saturating_sub(1).max(1),
    }
}
