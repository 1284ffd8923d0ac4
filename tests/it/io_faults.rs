//! An I/O error of the index's writes (injected by strace, which the
//! torture harness uses too): SQLite keeps the system's error to itself,
//! so the command exits 1 naming the index file and saying "disk I/O
//! error", and the store stays whole.

use crate::common::{TestStore, stderr_of};

#[test]
fn an_io_error_writing_the_index_names_the_index_file() {
    let store = TestStore::new();
    let assert = assert_cmd::Command::new("strace")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=pwrite64"])
        .args(["-e", "inject=pwrite64:error=EIO:when=1"])
        .arg(env!("CARGO_BIN_EXE_carbonara"))
        .arg("--store")
        .arg(store.path())
        .args(["metric", "create", "m", "--archive-policy-name", "low"])
        .assert()
        .code(1);
    let index = store.path().join("index.sqlite");
    assert_eq!(
        stderr_of(&assert),
        format!("carbonara: error: {}: disk I/O error\n", index.display())
    );
    store.run(&["verify"]).success();
    store.create_metric("m", "low");
}
