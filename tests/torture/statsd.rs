//! The statsd daemon killed while counters stream in over TCP, flushing
//! every 0.2 s. statsd acknowledges nothing (gnocchi-statsd neither), so
//! what a kill loses is the interval not yet flushed; what must hold is
//! that no flush is stored twice or in part — each counter's stored sum
//! is at most the lines sent — and that the store is whole.

use std::io::Write;
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::serve::free_port;
use crate::store::{self, POLICY};
use crate::table::Row;

pub const NAME: &str = "kill statsd daemon";

/// The span over which the kills are spread, once the daemon listens.
const FEEDING: Duration = Duration::from_millis(1_500);
const COUNTERS: usize = 10;

pub fn run(kills: u32) -> Row {
    let started = Instant::now();
    let mut row = Row::new(NAME);
    let template = store::template();
    for delay in store::kill_delays(FEEDING, kills) {
        let victim = store::copy(template.path());
        let at = format!("127.0.0.1:{}", free_port());
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut daemon = store::command(
            victim.path(),
            &[
                "statsd",
                "--listen",
                &at,
                "--flush-interval",
                "0.2s",
                "--archive-policy-name",
                POLICY,
            ],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
        let mut stream = connect(&at);
        let mut sent = [0u64; COUNTERS];
        let until = Instant::now() + delay;
        while Instant::now() < until {
            let mut lines = String::new();
            for (n, count) in sent.iter_mut().enumerate() {
                lines.push_str(&format!("k{n}:1|c\n"));
                *count += 1;
            }
            if stream.write_all(lines.as_bytes()).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        daemon.kill().unwrap(); // SIGKILL
        daemon.wait().unwrap();
        row.runs += 1;
        row.faults += 1;
        row.panics += u32::from(store::panicked(&std::fs::read(log.path()).unwrap()));
        let recovery = store::run(victim.path(), &["process"]);
        row.panics += u32::from(store::panicked(&recovery.stderr));
        for (n, lines) in sent.iter().enumerate() {
            let stored = stored_sum(victim.path(), &format!("k{n}|c"));
            row.unacknowledged_found += stored.min(*lines);
            row.duplicated += stored.saturating_sub(*lines);
        }
        row.tmp_left += store::tmp_left(victim.path());
        row.verify_problems += store::verify_problems(victim.path());
    }
    row.elapsed = started.elapsed();
    row
}

fn connect(at: &str) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match TcpStream::connect(at) {
            Ok(stream) => return stream,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("statsd on {at}: {e}"),
        }
    }
}

/// A statsd counter's stored sum (its `sum` at one second); 0 when it was
/// never flushed.
pub fn stored_sum(store: &std::path::Path, name: &str) -> u64 {
    let args = [
        "measures",
        "show",
        name,
        "-r",
        "statsd",
        "--aggregation",
        "sum",
        "--granularity",
        "1",
        "-f",
        "json",
    ];
    let output = store::run(store, &args);
    if !output.status.success() {
        // No such metric: the counter was never flushed.
        return 0;
    }
    let shown: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let sum: f64 = shown
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["value"].as_f64().unwrap())
        .sum();
    sum.round() as u64
}
