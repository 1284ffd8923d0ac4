//! The one indicatif user: a progress bar on stderr for long inputs (bytes,
//! lines, lines/s, ETA). Hidden when stderr is not a terminal, with
//! `--quiet`, and for inputs too small to need one.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs smaller than this finish before a bar would help.
const LARGE_INPUT: u64 = 16 << 20;

pub struct InputProgress {
    bar: ProgressBar,
    started: Instant,
}

impl InputProgress {
    /// A bar for an input of `size` bytes (`None`: unknown, as for stdin).
    #[allow(clippy::disallowed_methods)] // asks whether stderr is a terminal
    pub fn new(name: &str, size: Option<u64>, quiet: bool) -> InputProgress {
        let wanted = !quiet
            && std::io::stderr().is_terminal()
            && size.is_none_or(|size| size >= LARGE_INPUT);
        let bar = match (wanted, size) {
            (false, _) => ProgressBar::hidden(),
            (true, Some(size)) => {
                ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(
                    ProgressStyle::with_template(
                        "{prefix} {wide_bar} {bytes}/{total_bytes} {msg} {eta}",
                    )
                    .expect("the template is valid")
                    .progress_chars("=> "),
                )
            }
            (true, None) => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template("{prefix} {spinner} {bytes} {msg}")
                        .expect("the template is valid"),
                ),
        };
        bar.set_prefix(name.to_owned());
        InputProgress {
            bar,
            started: Instant::now(),
        }
    }

    /// `bytes` of the input and `lines` have been read.
    pub fn update(&self, bytes: u64, lines: u64) {
        if self.bar.is_hidden() {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_position(bytes);
        self.bar.set_message(format!(
            "{} {} {}/s",
            short_count(lines as f64),
            if lines == 1 { "line" } else { "lines" },
            short_count(lines as f64 / seconds)
        ));
    }

    /// Runs `f` (which prints on stderr) with the bar out of the way.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// `9.76M`, `350k`, `12`: counts that fit a progress line.
fn short_count(count: f64) -> String {
    match count {
        c if c >= 1e9 => format!("{:.2}G", c / 1e9),
        c if c >= 1e6 => format!("{:.2}M", c / 1e6),
        c if c >= 1e3 => format!("{:.0}k", c / 1e3),
        c => format!("{c:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_short() {
        assert_eq!(short_count(9_764_864.0), "9.76M");
        assert_eq!(short_count(350_400.0), "350k");
        assert_eq!(short_count(12.0), "12");
    }
}
