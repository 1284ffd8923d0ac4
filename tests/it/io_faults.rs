//! I/O errors of the index (injected by strace, which the torture harness
//! uses too): SQLite keeps the system's error to itself, so the command
//! exits 1 naming the index file with SQLite's words, and the store stays
//! whole.

use crate::common::{TestStore, stderr_of};

/// Runs `carbonara metric create m` on a new store under `strace
/// OPTIONS` (OPTIONS taking the store's path), which must exit 1 saying
/// `carbonara: error: STORE/index.sqlite: SAID`; then the store must be
/// whole and take the metric.
fn create_metric_under_strace(options: impl Fn(&TestStore) -> Vec<String>, said: &str) {
    let store = TestStore::new();
    let assert = assert_cmd::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null"])
        .args(options(&store))
        .arg(env!("CARGO_BIN_EXE_carbonara"))
        .arg("--store")
        .arg(store.path())
        .args(["metric", "create", "m", "--archive-policy-name", "low"])
        .assert()
        .code(1);
    let index = store.path().join("index.sqlite");
    assert_eq!(
        stderr_of(&assert),
        format!("carbonara: error: {}: {said}\n", index.display())
    );
    store.run(&["verify"]).success();
    store.create_metric("m", "low");
}

/// strace's options that fail the first open of the store's `file`.
fn fail_first_open(file: &str) -> impl Fn(&TestStore) -> Vec<String> {
    move |store| {
        let path = store.path().join(file).display().to_string();
        ["-P", &path, "-e", "trace=openat"]
            .into_iter()
            .chain(["-e", "inject=openat:error=EIO:when=1"])
            .map(str::to_owned)
            .collect()
    }
}

#[test]
fn an_io_error_writing_the_index_names_the_index_file() {
    create_metric_under_strace(
        |_| {
            [
                "-e",
                "trace=pwrite64",
                "-e",
                "inject=pwrite64:error=EIO:when=1",
            ]
            .map(str::to_owned)
            .to_vec()
        },
        "disk I/O error",
    );
}

#[test]
fn an_index_that_cannot_be_opened_for_writing_is_named() {
    // The read-write open fails; SQLite opens the index read-only.
    create_metric_under_strace(
        fail_first_open("index.sqlite"),
        "attempt to write a readonly database",
    );
}

#[test]
fn a_journal_that_cannot_be_opened_names_the_index_file() {
    create_metric_under_strace(
        fail_first_open("index.sqlite-wal"),
        "unable to open database file",
    );
}
