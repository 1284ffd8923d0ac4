//! The one indicatif user: a progress bar on stderr for long inputs (bytes,
//! lines, lines/s, ETA). Hidden when stderr is not a terminal, with
//! `--quiet`, and for inputs too small to need one.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs smaller than this finish before a bar would help.
const LARGE_INPUT: u64 = 16 << 20;

pub struct InputProgress {
    bar: ProgressBar,
    started: Instant,
}

impl InputProgress {
    /// A bar for an input of `size` bytes (`None`: unknown, as for stdin).
    pub fn new(name: &str, size: Option<u64>, quiet: bool) -> InputProgress {
        let wanted = !quiet
            && std::io::stderr().is_terminal()
            && size.is_none_or(|size| size >= LARGE_INPUT);
        let bar = match (wanted, size) {
            (false, _) => ProgressBar::hidden(),
            (true, Some(size)) => {
                ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {bytes}/{total_bytes} {msg} ETA {eta}",
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
            "{} lines, {}/s",
            HumanCount(lines),
            HumanCount((lines as f64 / seconds) as u64)
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
