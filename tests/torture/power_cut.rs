//! Power cuts: what the disk may hold after the machine stops. Commands
//! run under strace on a store (crate::syscalls); every state a power cut
//! could leave at each of their sync points is built (crate::crash_states)
//! and checked: `process` recovers it, every batch acknowledged before the
//! cut (an `ingest` that exited 0, a POST answered 2xx) is there whole,
//! every other batch is there whole or not at all, nothing is there twice,
//! tmp/ is empty and `verify` finds every file whole.
//!
//! Two scenarios: the command line (`ingest csv` creating metrics,
//! `ingest csv` into them, `process`, `ingest csv`, `process`, `sacks
//! --set`) and `serve` (three clients POSTing measures at once, each on a
//! connection of its own, while its background pass runs, then SIGTERM).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::crash_states::{self, CrashState, Disk};
use crate::serve::{Measure, free_port, timestamp};
use crate::store::{self, POLICY};
use crate::syscalls::{Op, Recorder};
use crate::table::Row;

pub const COMMAND_LINE: &str = "power cut: command line";
pub const SERVE: &str = "power cut: serve";

/// Metrics, and measures a batch to each.
const METRICS: usize = 5;
const MEASURES: i64 = 20;
/// `serve`'s clients, and the requests each sends.
const CLIENTS: usize = 3;
const REQUESTS: usize = 4;
/// 2024-01-01T00:00:00, in seconds.
const START: i64 = 1_704_067_200;

/// The measures of batch `batch`: `MEASURES` seconds of their own to each
/// metric (named `p0`, `p1`, …).
fn batch(batch: usize) -> Vec<Measure> {
    (0..METRICS)
        .flat_map(|metric| {
            (0..MEASURES).map(move |i| {
                let second = START + batch as i64 * 100 + i;
                (format!("p{metric}"), timestamp(second))
            })
        })
        .collect()
}

/// A recorded scenario: the store before it, what it did, and its batches
/// by client (0: the command line), each client's in the order their
/// acknowledgements appear in `ops`.
struct Recording {
    root: String,
    initial: Disk,
    ops: Vec<Op>,
    batches: Vec<(u16, Vec<Measure>)>,
    /// Statistics for the table's note.
    syncs: usize,
}

/// Runs a scenario on the store at its argument.
type Scenario = fn(&Path) -> Recording;

/// Runs the two scenarios, checking about `states` crash states of each
/// (every state when there are fewer, every n-th otherwise). The rows,
/// and a note on how many states were built and checked.
pub fn run(states: u64, selected: impl Fn(&str) -> bool) -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let scenarios: [(&str, Scenario); 2] = [(COMMAND_LINE, command_line), (SERVE, serve)];
    // Enough random subsets that the distinct states outnumber `states`.
    let random = (states / 10).max(6) as u32;
    for (name, record) in scenarios {
        if !selected(name) {
            continue;
        }
        eprintln!("torture: {name}, about {states} states");
        let started = Instant::now();
        let template = store::template();
        let root = template.path().canonicalize().unwrap();
        let recording = record(&root);
        let generated =
            crash_states::for_each_state(&recording.initial, &recording.ops, random, |_| {});
        let stride = generated.distinct.div_ceil(states).max(1);
        let mut row = Row::new(name);
        let mut failures = Vec::new();
        crash_states::for_each_state(&recording.initial, &recording.ops, random, |state| {
            if state.number % stride == 0 {
                check(&recording, state, &mut row, &mut failures);
            }
        });
        row.elapsed = started.elapsed();
        notes.push(format!(
            "{name}: {} operations with {} syncs recorded; at {} crash points, {} states built, {} distinct, {} checked",
            recording.ops.len(),
            recording.syncs,
            generated.points,
            generated.built,
            generated.distinct,
            row.runs
        ));
        notes.extend(failures.into_iter().take(5));
        rows.push(row);
    }
    (rows, notes)
}

fn recorder(root: &Path) -> (String, Disk, Recorder) {
    let root = root.to_str().unwrap().to_owned();
    let initial = Disk::read(Path::new(&root));
    let recorder = Recorder::new(&root, initial.names.clone(), initial.sizes());
    (root, initial, recorder)
}

/// Waits for a traced command and adds its trace.
fn finish(mut child: Child, trace: &Path, recorder: &mut Recorder, what: &str) {
    let output = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(output.success(), "{what} under strace: {stderr}");
    recorder.read(&std::fs::read_to_string(trace).unwrap());
}

fn command_line(root: &Path) -> Recording {
    let inputs = tempfile::tempdir().unwrap();
    let trace = inputs.path().join("trace");
    let (root_name, initial, mut recorder) = recorder(root);
    let batches: Vec<Vec<Measure>> = (0..3).map(batch).collect();
    let mut acknowledged = Vec::new();
    let ingest = |number: usize| -> Vec<String> {
        let mut text = String::from("metric,timestamp,value\n");
        for (metric, at) in &batches[number] {
            writeln!(text, "{metric},{at},1").unwrap();
        }
        let file = inputs.path().join(format!("{number}.csv"));
        std::fs::write(&file, text).unwrap();
        [
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--create-metrics",
        ]
        .map(str::to_owned)
        .into_iter()
        .chain([file.to_str().unwrap().to_owned()])
        .collect()
    };
    let steps: Vec<(Vec<String>, Option<usize>)> = vec![
        (ingest(0), Some(0)),
        (ingest(1), Some(1)),
        (vec!["process".to_owned()], None),
        (ingest(2), Some(2)),
        (vec!["process".to_owned()], None),
        (
            vec!["sacks".to_owned(), "--set".to_owned(), "4".to_owned()],
            None,
        ),
    ];
    for (args, acknowledges) in steps {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = crate::syscalls::spawn(&mut store::command(root, &args), &trace);
        finish(child, &trace, &mut recorder, &args.join(" "));
        if let Some(number) = acknowledges {
            // An ingest that exited 0 acknowledged its batch.
            acknowledged.push((0, batches[number].clone()));
            recorder.acknowledge();
        }
    }
    let ops = recorder.ops().to_vec();
    let syncs = ops.iter().filter(|op| op.is_sync()).count();
    Recording {
        root: root_name,
        initial,
        ops,
        batches: acknowledged,
        syncs,
    }
}

fn serve(root: &Path) -> Recording {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace");
    let ids: Vec<String> = (0..METRICS)
        .map(|metric| {
            let name = format!("p{metric}");
            store::json(root, &["metric", "create", &name, "-a", POLICY])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let (root_name, initial, mut recorder) = recorder(root);
    let listen = format!("127.0.0.1:{}", free_port());
    let command = &mut store::command(
        root,
        &["serve", "--listen", &listen, "--process-interval", "0.3s"],
    );
    let server = crate::syscalls::spawn(command, &trace);
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(&listen).is_err() {
        assert!(
            Instant::now() < deadline,
            "serve did not listen on {listen}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Clients at once, each on a connection of its own: their requests
    // meet in group commits.
    let batches: Vec<(u16, Vec<Measure>)> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (listen, id) = (&listen, &ids[client]);
                scope.spawn(move || post_batches(listen, id, client))
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|client| client.join().unwrap())
            .collect()
    });
    let pid = crate::syscalls::traced_child(server.id());
    // SAFETY: kill(2) on the server's own process id.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    finish(server, &trace, &mut recorder, "serve");
    let ops = recorder.ops().to_vec();
    let answered = ops
        .iter()
        .filter(|op| matches!(op, Op::Acknowledged(_)))
        .count();
    assert_eq!(answered, batches.len(), "answers seen in serve's trace");
    let syncs = ops.iter().filter(|op| op.is_sync()).count();
    Recording {
        root: root_name,
        initial,
        ops,
        batches,
        syncs,
    }
}

/// Sends `REQUESTS` POSTs of `MEASURES` measures of client `client`'s
/// own seconds to the metric `id`, on one connection, each once the
/// previous one was answered 2xx. The batches, by the client's port.
fn post_batches(listen: &str, id: &str, client: usize) -> Vec<(u16, Vec<Measure>)> {
    let mut connection = TcpStream::connect(listen).unwrap();
    let port = connection.local_addr().unwrap().port();
    let mut batches = Vec::new();
    for request in 0..REQUESTS {
        let first = START + (client * REQUESTS + request) as i64 * 100;
        let body: Vec<serde_json::Value> = (first..first + MEASURES)
            .map(|second| serde_json::json!({"timestamp": second, "value": 1.0}))
            .collect();
        let body = serde_json::to_string(&body).unwrap();
        write!(
            connection,
            "POST /v1/metric/{id}/measures HTTP/1.1\r\nHost: {listen}\r\nAuthorization: basic YWRtaW46\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let status = read_answer(&mut connection);
        assert!(status.starts_with("HTTP/1.1 2"), "POST to serve: {status}");
        let metric = format!("p{client}");
        batches.push((
            port,
            (first..first + MEASURES)
                .map(|second| (metric.clone(), timestamp(second)))
                .collect(),
        ));
        std::thread::sleep(Duration::from_millis(100));
    }
    batches
}

/// Reads one HTTP answer from `connection`; its status line.
fn read_answer(connection: &mut TcpStream) -> String {
    let mut reader = BufReader::new(connection);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    status.trim().to_owned()
}

/// Recovers one crash state and counts what it holds.
fn check(recording: &Recording, state: CrashState, row: &mut Row, failures: &mut Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    state.disk.materialize(&recording.root, &store_dir);
    row.runs += 1;
    row.faults += 1;
    // Per client (port 0: the command line), how many of its batches were
    // acknowledged before the cut.
    let mut acknowledged: BTreeMap<u16, usize> = BTreeMap::new();
    for op in &recording.ops[..state.point] {
        if let Op::Acknowledged(client) = op {
            *acknowledged.entry(*client).or_default() += 1;
        }
    }
    let mut seen: BTreeMap<u16, usize> = BTreeMap::new();
    let recovered = store::run(&store_dir, &["process"]);
    if store::panicked(&recovered.stderr) {
        row.panics += 1;
    }
    if !recovered.status.success() {
        row.verify_problems += 1;
        failures.push(format!(
            "state at operation {} ({:?}): process: {}",
            state.point,
            recording.ops.get(state.point),
            String::from_utf8_lossy(&recovered.stderr).trim()
        ));
        return;
    }
    let contents = store::contents(&store_dir);
    let found = |measure: &Measure| -> u64 {
        contents
            .measures
            .get(&measure.0)
            .and_then(|counts| counts.get(&measure.1))
            .copied()
            .unwrap_or(0)
    };
    let mut sent: BTreeMap<&Measure, ()> = BTreeMap::new();
    for (client, measures) in &recording.batches {
        let number = seen.entry(*client).or_default();
        *number += 1;
        let present = measures.iter().filter(|m| found(m) > 0).count();
        sent.extend(measures.iter().map(|m| (m, ())));
        if *number <= acknowledged.get(client).copied().unwrap_or(0) {
            row.acknowledged += measures.len() as u64;
            row.found += present as u64;
            row.lost += (measures.len() - present) as u64;
            if present != measures.len() {
                failures.push(format!(
                    "state at operation {}: {} acknowledged measures lost",
                    state.point,
                    measures.len() - present
                ));
            }
        } else {
            row.unacknowledged_found += present as u64;
            if present != 0 && present != measures.len() {
                row.differing += 1;
                failures.push(format!(
                    "state at operation {}: {present} of the {} measures of an unacknowledged batch",
                    state.point,
                    measures.len()
                ));
            }
        }
    }
    for (metric, counts) in &contents.measures {
        for (at, count) in counts {
            let key = (metric.clone(), at.clone());
            let expected = u64::from(sent.contains_key(&key));
            row.duplicated += count.saturating_sub(expected);
        }
    }
    let tmp_left = store::tmp_left(&store_dir);
    let verify_problems = store::verify_problems(&store_dir);
    if tmp_left + verify_problems > 0 {
        failures.push(format!(
            "state at operation {}: {tmp_left} entries left in tmp/, {verify_problems} verify problems: {}",
            state.point,
            String::from_utf8_lossy(&store::run(&store_dir, &["verify", "-f", "json"]).stdout).trim()
        ));
    }
    row.tmp_left += tmp_left;
    row.verify_problems += verify_problems;
}
