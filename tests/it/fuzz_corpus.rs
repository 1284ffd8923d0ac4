//! The fuzz corpus replayed: every input of `fuzz/corpus/TARGET` and
//! `fuzz/regressions/TARGET` (the crashes the fuzzer found, now fixed) run
//! through the target's body, as scripts/fuzz.sh's fuzzer runs it. No
//! input may panic or break a round trip the body checks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use carbonara::fuzz::{TARGETS, remove_scratch};

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|entry| entry.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn every_seed_and_every_fixed_crash_replays_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    for &(target, body) in TARGETS {
        let seeds = inputs(&fuzz.join("corpus").join(target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target} has no seeds");
        for input in seeds
            .iter()
            .chain(&inputs(&fuzz.join("regressions").join(target)))
        {
            let data = std::fs::read(input).unwrap();
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(input.display().to_string());
            }
        }
    }
    remove_scratch().unwrap();
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
}

#[test]
fn every_corpus_directory_is_a_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for dir in ["corpus", "regressions"] {
        for path in inputs(&fuzz.join(dir)) {
            let name = path.file_name().unwrap().to_str().unwrap();
            assert!(
                TARGETS.iter().any(|&(target, _)| target == name),
                "fuzz/{dir}/{name} is not a target's"
            );
        }
    }
}
