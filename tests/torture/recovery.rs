//! After a run that failed on a fault of the disk (a full disk, an
//! injected I/O error), what a user does: `process`, the command again if
//! it failed, `process`; then the store must equal an uninterrupted run's.
//! Shared by the campaigns that fault whole commands rather than kill them.

use std::path::Path;
use std::process::Output;

use crate::inputs::{self, Prepare};
use crate::kill::compare;
use crate::store::{self, Contents};
use crate::table::Row;

/// A command a campaign faults: its name in the table (after the
/// campaign's prefix) and how its store and input are prepared.
pub struct Case {
    pub name: &'static str,
    pub prepare: Prepare,
    /// Whether the measures were acknowledged before the command ran (a
    /// pass over queued measures), rather than by its exit.
    pub acknowledged_before: bool,
}

/// `ingest csv` of new metrics, `process` and `sacks --set` of measures
/// queued before.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "ingest csv",
            prepare: inputs::csv,
            acknowledged_before: false,
        },
        Case {
            name: "process",
            prepare: inputs::process,
            acknowledged_before: true,
        },
        Case {
            name: "sacks --set",
            prepare: inputs::sacks_set,
            acknowledged_before: true,
        },
    ]
}

/// A case made ready to fault: its template store and input, the
/// command's arguments, and what an uninterrupted run of it and `process`
/// leaves in a copy of the template.
pub struct Prepared {
    pub template: tempfile::TempDir,
    inputs: tempfile::TempDir,
    args: Vec<String>,
    pub expected: Contents,
}

impl Case {
    pub fn prepare(&self) -> Prepared {
        let template = store::template();
        let inputs = tempfile::tempdir().unwrap();
        let args = (self.prepare)(template.path(), inputs.path());
        let reference = store::copy(template.path());
        let command: Vec<&str> = args.iter().map(String::as_str).collect();
        store::ok(reference.path(), &command);
        store::ok(reference.path(), &["process"]);
        Prepared {
            template,
            inputs,
            args,
            expected: store::contents(reference.path()),
        }
    }
}

impl Prepared {
    pub fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// The directory of the command's input files.
    pub fn inputs(&self) -> &Path {
        self.inputs.path()
    }
}

/// Counts a run of `args` on `victim` that may have failed on a fault:
/// clear only when it exits 1 saying one of `causes` and naming a path
/// of the store or of the command's `inputs` (a fault may hit the opening
/// of an input file). Whether it failed.
pub fn judge(
    row: &mut Row,
    victim: &Path,
    inputs: &Path,
    output: &Output,
    causes: &[&str],
) -> bool {
    row.runs += 1;
    row.panics += u32::from(store::panicked(&output.stderr));
    if output.status.success() {
        return false;
    }
    row.faults += 1;
    let said = String::from_utf8_lossy(&output.stderr);
    let clear = output.status.code() == Some(1)
        && causes.iter().any(|cause| said.contains(cause))
        && [victim, inputs]
            .iter()
            .any(|path| said.contains(path.to_str().unwrap()));
    if !clear {
        eprintln!("{}: unclear failure: {said}", row.campaign);
        row.unclear_errors += 1;
    }
    true
}

/// The fault gone: recovery, and the checks against `expected`. When
/// the command `failed`, it is run again after recovery; if the failed run
/// had stored its input all the same (`ingests`: the command acknowledges
/// by its exit), its measures count as found unacknowledged.
pub fn recover_and_check(
    row: &mut Row,
    victim: &Path,
    args: &[&str],
    failed: bool,
    ingests: bool,
    expected: &Contents,
) {
    recover(row, victim, &["process"]);
    if failed {
        if ingests && store::contents(victim) == *expected {
            row.unacknowledged_found += expected.total();
        }
        recover(row, victim, args);
        recover(row, victim, &["process"]);
    }
    let got = store::contents(victim);
    row.acknowledged += expected.total();
    let (lost, duplicated) = compare(expected, &got);
    row.found += expected.total() - lost;
    row.lost += lost;
    row.duplicated += duplicated;
    if got != *expected {
        eprintln!(
            "{}: the store differs from an uninterrupted run",
            row.campaign
        );
        row.differing += 1;
    }
    row.tmp_left += store::tmp_left(victim);
    row.verify_problems += store::verify_problems(victim);
}

/// Runs a step of recovery, which must not panic and should succeed.
fn recover(row: &mut Row, victim: &Path, args: &[&str]) {
    let output = store::run(victim, args);
    row.panics += u32::from(store::panicked(&output.stderr));
    if !output.status.success() {
        eprintln!(
            "{}: after the fault, `{}` failed: {}",
            row.campaign,
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
