//! The pass rate `status` shows: the measures the aggregation passes of
//! the last minute took from the sacks, whichever process ran them
//! (`process`, `metricd`, `serve`, a `refresh`).
//!
//! Each process keeps the last minute of its passes in a file of its own,
//! `locks/passes/<pid>`, one line `<end, ns since the epoch> <measures>`
//! per pass, rewritten whole (a temporary file renamed over it) after each
//! pass that took something; readers add the files up. It is a statistic,
//! not a record: written without a sync, and a crash that loses it loses
//! nothing else. A file whose newest pass is older than the window is
//! removed by the next reader or writer; pids are reused harmlessly, since
//! every line carries its own time.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Result, Store, io_error};
use crate::time::{Span, Timestamp};

/// The span the rate is measured over.
pub const RATE_WINDOW: Span = Span::from_secs(60);

/// Serialises the passes of one process that end together (a `serve`'s
/// background pass and a `refresh`), which rewrite the same file.
static WRITING: Mutex<()> = Mutex::new(());

/// Adds a pass that ended at `now` having taken `measures` to this
/// process's file.
pub fn record(store: &Store, measures: u64, now: Timestamp) -> Result<()> {
    let _writing = WRITING
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = log_dir(store);
    fs::create_dir_all(&dir).map_err(io_error(&dir))?;
    let path = dir.join(std::process::id().to_string());
    let mut passes = read(&path)?;
    passes.retain(|&(ended, _)| within_window(ended, now));
    passes.push((now, measures));
    let text: String = passes
        .iter()
        .map(|(ended, measures)| format!("{} {measures}\n", ended.nanos()))
        .collect();
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    fs::write(&tmp, text).map_err(io_error(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_error(&path))
}

/// Measures per second the passes of every process took from the sacks
/// over the [`RATE_WINDOW`] before `now`.
pub fn rate(store: &Store, now: Timestamp) -> Result<f64> {
    let dir = log_dir(store);
    let entries = match fs::read_dir(&dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0.0),
        listed => listed.map_err(io_error(&dir))?,
    };
    let mut measures = 0;
    for entry in entries {
        let path = entry.map_err(io_error(&dir))?.path();
        if is_temporary(&path) {
            continue;
        }
        let recent: Vec<(Timestamp, u64)> = read(&path)?
            .into_iter()
            .filter(|&(ended, _)| within_window(ended, now))
            .collect();
        if recent.is_empty() {
            // Its process has not passed for a minute, or is gone.
            let _ = fs::remove_file(&path);
        }
        measures += recent.iter().map(|(_, measures)| measures).sum::<u64>();
    }
    Ok(measures as f64 / RATE_WINDOW.as_secs_f64())
}

fn log_dir(store: &Store) -> PathBuf {
    store.locks_dir().join("passes")
}

fn is_temporary(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_none_or(|name| name.starts_with('.'))
}

fn within_window(ended: Timestamp, now: Timestamp) -> bool {
    now.nanos() - ended.nanos() <= RATE_WINDOW.nanos()
}

/// A process's passes; a line that does not read (a file cut short by a
/// crash) counts for nothing, and a file gone (removed by a reader) is
/// empty.
fn read(path: &Path) -> Result<Vec<(Timestamp, u64)>> {
    let text = match fs::read_to_string(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        read => read.map_err(io_error(path))?,
    };
    Ok(text
        .lines()
        .filter_map(|line| {
            let (ended, measures) = line.split_once(' ')?;
            Some((
                Timestamp::from_nanos(ended.parse().ok()?),
                measures.parse().ok()?,
            ))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_adds_up_the_last_minute_of_every_process() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 8).unwrap();
        let start = Timestamp::from_nanos(1_700_000_000_000_000_000);
        let later = |secs: i64| Timestamp::from_nanos(start.nanos() + secs * 1_000_000_000);
        assert_eq!(rate(&store, start).unwrap(), 0.0);
        record(&store, 1_200, start).unwrap();
        record(&store, 600, later(30)).unwrap();
        // Another process's file.
        fs::write(
            log_dir(&store).join("1"),
            format!("{} 1200\nnot a line\n", later(40).nanos()),
        )
        .unwrap();
        assert_eq!(rate(&store, later(45)).unwrap(), 50.0);
        // The first pass left the window; the other process's file goes
        // once its pass has.
        assert_eq!(rate(&store, later(61)).unwrap(), 30.0);
        assert_eq!(rate(&store, later(101)).unwrap(), 0.0);
        assert!(!log_dir(&store).join("1").exists());
        // A pass keeps only the last minute in its file.
        record(&store, 60, later(200)).unwrap();
        let own = log_dir(&store).join(std::process::id().to_string());
        assert_eq!(read(&own).unwrap(), [(later(200), 60)]);
    }
}
