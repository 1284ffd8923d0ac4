//! The bodies of the fuzz targets: one function per parser or decoder of
//! untrusted bytes, taking the fuzzer's bytes whole. The libFuzzer binaries
//! of `fuzz/` call them, and the replay test runs them on the committed
//! corpus (tests/README.md#fuzzing), so both run the same code. Each body
//! returns quietly on input its parser refuses and panics only on a bug: a
//! panic in the parser or a broken round trip.

pub mod files;
pub mod http;
pub mod ingest;
pub mod language;
pub mod store;
pub mod values;

use std::path::PathBuf;

use crate::time::Timestamp;

/// A target's body: takes the fuzzer's bytes, panics only on a bug.
pub type Body = fn(&[u8]);

/// Every target by name: the names `CARBONARA_FUZZ_TARGET` takes and of
/// the `fuzz/corpus/` and `fuzz/regressions/` directories.
pub const TARGETS: &[(&str, Body)] = &[
    ("csv", ingest::csv),
    ("statsd", ingest::statsd),
    ("influx", ingest::influx),
    ("batch", ingest::batch),
    ("ceilometer", ingest::ceilometer),
    ("prometheus", ingest::prometheus),
    // One body for both forms of a language; two corpora, so that each
    // form is mutated from its own seeds.
    ("operations_string", language::operations),
    ("operations_json", language::operations),
    ("filter_string", language::filter),
    ("filter_json", language::filter),
    ("timestamp", values::timestamp),
    ("timespan", values::timespan),
    ("archive_policy", values::archive_policy),
    ("split", files::split),
    ("bound_series", files::bound_series),
    ("lz4", files::lz4),
    ("incoming", files::incoming),
    ("store_json", store::store_json),
    ("http", http::request),
];

/// The time relative timestamps are read against: fixed, so that a run
/// replays the same way (2024-01-01T00:00:00Z).
pub const NOW: Timestamp = Timestamp::from_nanos(1_704_067_200_000_000_000);

/// The input as text; `None` (nothing to parse) when it is not UTF-8,
/// which every text parser's caller refuses first.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The first line of `data` as text and the bytes after it: a file name
/// and the file's contents.
fn name_and_bytes(data: &[u8]) -> Option<(&str, &[u8])> {
    let end = memchr::memchr(b'\n', data)?;
    Some((text(&data[..end])?, &data[end + 1..]))
}

/// The directory of this process's scratch stores, under the system's
/// temporary directory.
pub fn scratch_dir() -> PathBuf {
    std::env::temp_dir().join(format!("carbonara-fuzz-{}", std::process::id()))
}

/// Removes the scratch stores (a fuzzer is killed and leaves them; the
/// replay test calls this when it is done).
pub fn remove_scratch() -> std::io::Result<()> {
    match std::fs::remove_dir_all(scratch_dir()) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}
