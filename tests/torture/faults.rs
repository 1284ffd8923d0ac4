//! Injected I/O faults: each command run under strace, which makes the
//! N-th call of one system call fail with EIO or ENOSPC (`-e
//! inject=SYSCALL:error=ERRNO:when=N`; strace counts each thread's calls
//! on its own, so every thread that makes N calls has its N-th fail), N
//! spread over the calls an uninterrupted run makes. A run must succeed
//! (the fault hit something it may do without) or exit 1 naming the
//! error and a path of the store or of its input; then recovery and the command again
//! must give the store of an uninterrupted run. One row per command, and
//! a note counting the outcomes per system call and error. strace cannot
//! shorten a write that it lets run, so short writes are not among the
//! faults. Where strace is missing the campaign says so and does not run.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::recovery::{self, Case};
use crate::store::{self, BIN};
use crate::table::Row;

/// The prefix of this campaign's rows.
const PREFIX: &str = "fault: ";

/// The system calls faulted: those through which the store writes,
/// syncs, renames, removes, creates and opens its files (a call the
/// command never makes is left out).
const SYSCALLS: [&str; 14] = [
    "write",
    "pwrite64",
    "fsync",
    "fdatasync",
    "syncfs",
    "ftruncate",
    "rename",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "mkdir",
    "openat",
    "fallocate",
];

/// The errors injected, with the words their message must carry.
const ERRORS: [(&str, &str); 2] = [
    ("EIO", "Input/output error"),
    ("ENOSPC", "No space left on device"),
];

/// What a failure of the index says, whatever the system's error: SQLite
/// keeps it to itself (store::Error::on_index_failure).
const SQLITE_FAILURES: [&str; 3] = [
    "index.sqlite: disk I/O error",
    "index.sqlite: unable to open database file",
    "index.sqlite: attempt to write a readonly database",
];

/// How many runs each outcome had, per system call and error.
#[derive(Default)]
pub struct Tally {
    counts: BTreeMap<(&'static str, &'static str), Outcomes>,
}

#[derive(Default)]
struct Outcomes {
    runs: u32,
    failed_clearly: u32,
    succeeded: u32,
    /// Runs whose fault hit a write of their own output (stdout, or the
    /// error message on stderr).
    hit_output: u32,
}

impl Tally {
    /// The counts as a Markdown table.
    pub fn render(&self) -> String {
        let mut lines = vec![
            "| injected | runs | failed clearly | succeeded | hit its output |".to_owned(),
            "| --- | ---: | ---: | ---: | ---: |".to_owned(),
        ];
        for ((syscall, errno), outcomes) in &self.counts {
            lines.push(format!(
                "| {syscall} {errno} | {} | {} | {} | {} |",
                outcomes.runs, outcomes.failed_clearly, outcomes.succeeded, outcomes.hit_output
            ));
        }
        lines.join("\n")
    }
}

/// The commands faulted: those of the full disk, and `ingest csv` into
/// metrics that exist.
fn cases() -> Vec<Case> {
    let mut cases = recovery::cases();
    cases.insert(
        1,
        Case {
            name: "ingest csv into existing metrics",
            prepare: |store, dir| {
                for series in 0..crate::inputs::SERIES {
                    let name = format!("c{series}");
                    store::ok(store, &["metric", "create", &name, "-a", store::POLICY]);
                }
                crate::inputs::csv(store, dir)
            },
            acknowledged_before: false,
        },
    );
    cases
}

/// Whether strace runs here; why not otherwise.
fn strace_runs() -> Result<(), String> {
    match Command::new("strace").arg("-V").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(String::from_utf8_lossy(&output.stderr).trim().to_owned()),
        Err(error) => Err(format!("strace: {error}")),
    }
}

/// One row per selected command, each faulted at `points` injection
/// points (all of them when `None`), and the tally; or why strace cannot
/// run.
pub fn run(
    points: Option<usize>,
    selected: impl Fn(&str) -> bool,
) -> Result<(Vec<Row>, Tally), String> {
    let cases: Vec<Case> = cases()
        .into_iter()
        .filter(|c| selected(&format!("{PREFIX}{}", c.name)))
        .collect();
    let mut tally = Tally::default();
    if cases.is_empty() {
        return Ok((Vec::new(), tally));
    }
    strace_runs()?;
    let rows = cases
        .iter()
        .map(|case| run_case(case, points, &mut tally))
        .collect();
    Ok((rows, tally))
}

fn run_case(case: &Case, points: Option<usize>, tally: &mut Tally) -> Row {
    let started = Instant::now();
    let mut row = Row::new(&format!("{PREFIX}{}", case.name));
    let prepared = case.prepare();
    let (template, args, expected) = (&prepared.template, prepared.args(), &prepared.expected);
    let chosen = choose(&calls_made(template.path(), &args), points);
    eprintln!("torture: {} ×{}", row.campaign, chosen.len());
    for (syscall, (errno, cause), call) in chosen {
        let victim = store::copy(template.path());
        let trace = tempfile::NamedTempFile::new().unwrap();
        let output = Command::new("strace")
            .args(["-f", "-qq", "-o"])
            .arg(trace.path())
            .arg("-e")
            .arg(format!("trace={syscall}"))
            .arg("-e")
            .arg(format!("inject={syscall}:error={errno}:when={call}"))
            .arg(BIN)
            .arg("--store")
            .arg(victim.path())
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let counts = tally.counts.entry((syscall, errno)).or_default();
        counts.runs += 1;
        let failed = !output.status.success();
        if hit_its_output(&std::fs::read_to_string(trace.path()).unwrap()) {
            // What it says is cut by the fault itself: not judged.
            row.runs += 1;
            row.faults += u32::from(failed);
            row.panics += u32::from(store::panicked(&output.stderr));
            counts.hit_output += 1;
        } else {
            let unclear_before = row.unclear_errors;
            recovery::judge(
                &mut row,
                victim.path(),
                prepared.inputs(),
                &output,
                &[&[cause][..], &SQLITE_FAILURES].concat(),
            );
            let clear = row.unclear_errors == unclear_before;
            if !clear {
                eprintln!("  ({syscall} {errno} at call {call})");
            }
            counts.failed_clearly += u32::from(failed && clear);
            counts.succeeded += u32::from(!failed);
        }
        recovery::recover_and_check(
            &mut row,
            victim.path(),
            &args,
            failed,
            !case.acknowledged_before,
            expected,
        );
    }
    row.elapsed = started.elapsed();
    row
}

/// Whether a traced run's injected fault hit a write to its stdout or
/// stderr (`PID  write(1, …) = -1 EIO (…) (INJECTED)`).
fn hit_its_output(trace: &str) -> bool {
    trace.lines().any(|line| {
        let mut start = line.split_whitespace().take(2);
        line.ends_with("(INJECTED)") && start.any(|call| call == "write(1," || call == "write(2,")
    })
}

/// A fault: the system call, the error and its words, and which call
/// (from 1) fails.
type Point = (&'static str, (&'static str, &'static str), u64);

/// The system calls an uninterrupted run of `args` on a copy of
/// `template` makes, each with the calls to fault: up to the most calls
/// one thread made of it (strace counts each thread's calls on its own),
/// but not the loader's opens.
fn calls_made(template: &Path, args: &[&str]) -> Vec<(&'static str, RangeInclusive<u64>)> {
    let copy = store::copy(template);
    let trace = tempfile::NamedTempFile::new().unwrap();
    let traced = Command::new("strace")
        .args(["-f", "-qq", "-o"])
        .arg(trace.path())
        .arg("-e")
        .arg(format!("trace={}", SYSCALLS.join(",")))
        .arg(BIN)
        .arg("--store")
        .arg(copy.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        traced.status.success(),
        "strace carbonara {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&traced.stderr)
    );
    // `PID  SYSCALL(ARGS) = RESULT`, or `PID  SYSCALL(ARGS <unfinished
    // ...>` then `PID  <... SYSCALL resumed>…`: one call each.
    let trace = std::fs::read_to_string(trace.path()).unwrap();
    let mut per_thread: BTreeMap<(&'static str, &str), u64> = BTreeMap::new();
    let mut loader_opens = 0;
    for line in trace.lines() {
        let mut fields = line.split_whitespace();
        let (Some(pid), Some(call)) = (fields.next(), fields.next()) else {
            continue;
        };
        let name = call.split('(').next().unwrap_or_default();
        let Some(syscall) = SYSCALLS.iter().find(|s| **s == name) else {
            continue;
        };
        let calls = per_thread.entry((syscall, pid)).or_default();
        *calls += 1;
        if *syscall == "openat" && *calls == loader_opens + 1 && opens_a_library(line) {
            loader_opens += 1;
        }
    }
    let mut most: BTreeMap<&'static str, u64> = BTreeMap::new();
    for ((syscall, _), calls) in per_thread {
        let entry = most.entry(syscall).or_default();
        *entry = (*entry).max(calls);
    }
    SYSCALLS
        .iter()
        .filter_map(|syscall| {
            let last = *most.get(syscall)?;
            let first = match *syscall {
                "openat" => loader_opens + 1,
                _ => 1,
            };
            (first <= last).then_some((*syscall, first..=last))
        })
        .collect()
}

/// Whether a traced `openat` is the dynamic loader's, of its cache or a
/// shared library: the first calls of the process, before carbonara
/// runs, which a fault would stop with the loader's own message.
fn opens_a_library(line: &str) -> bool {
    ["\"/etc/ld.so.cache\"", "\"/lib/", "\"/lib64/", "\"/usr/lib"]
        .iter()
        .any(|path| line.contains(path))
}

/// Every call of every system call made, with each error; or `count` of
/// them: one per system call and error in turn (the errors alternating
/// from one system call to the next), the call taken in the middle of
/// its calls, then at the quarters, the eighths…
fn choose(calls: &[(&'static str, RangeInclusive<u64>)], count: Option<usize>) -> Vec<Point> {
    let all: Vec<Point> = calls
        .iter()
        .flat_map(|(syscall, made)| {
            made.clone()
                .flat_map(move |call| ERRORS.map(|error| (*syscall, error, call)))
        })
        .collect();
    let Some(count) = count.filter(|count| *count < all.len()) else {
        return all;
    };
    let mut chosen: Vec<Point> = Vec::new();
    for round in 1u64.. {
        // The van der Corput sequence: 1/2, 1/4, 3/4, 1/8, 5/8…
        let (mut place, mut bit, mut rest) = (0.0, 0.5, round);
        while rest > 0 {
            place += bit * (rest & 1) as f64;
            bit /= 2.0;
            rest >>= 1;
        }
        for errors_turn in 0..ERRORS.len() {
            for (index, (syscall, made)) in calls.iter().enumerate() {
                let error = ERRORS[(index + errors_turn) % ERRORS.len()];
                let span = (made.end() + 1 - made.start()) as f64;
                let call = (made.start() + (place * span) as u64).min(*made.end());
                let point = (*syscall, error, call);
                if chosen.len() < count && !chosen.contains(&point) {
                    chosen.push(point);
                }
            }
        }
        if chosen.len() == count {
            break;
        }
    }
    chosen
}
