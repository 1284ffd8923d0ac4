//! Many writers on one store for a while (`CARBONARA_TORTURE_SOAK_SECONDS`,
//! default 20; the long run: 600): `serve` with its background pass, HTTP
//! single-measure and batch POSTs, `ingest csv` in a loop, a `carbonara
//! statsd` daemon fed over UDP and TCP, two `process` loops, and readers
//! (`measures show`, `aggregates`, HTTP GETs). Every writer counts what
//! was acknowledged, each measure on a second of its own metric; at the
//! end every acknowledged measure is found once, nothing unsent is found,
//! and each statsd counter's sum equals the lines sent. Also measured:
//! the server's resident memory and open descriptors at the start and the
//! end, and the slowest HTTP requests.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::inputs::START;
use crate::serve::{Measure, agent, free_port, timestamp, wait_until_up};
use crate::store;
use crate::table::Row;

pub const NAME: &str = "many writers";

/// One second each measure, for two days: room for every writer's seconds.
const POLICY: &str = "soak";
const METRICS: usize = 20;
const DEFAULT_SECONDS: u64 = 20;

/// What the writers sent and what was acknowledged, and how long each
/// HTTP request took.
#[derive(Default)]
struct Tally {
    sent: BTreeSet<Measure>,
    acknowledged: BTreeSet<Measure>,
    latencies: Vec<Duration>,
    /// statsd lines sent per counter name.
    counted: BTreeMap<String, u64>,
}

type Shared = Arc<Mutex<Tally>>;

pub fn run() -> (Row, String) {
    let seconds = std::env::var("CARBONARA_TORTURE_SOAK_SECONDS")
        .map(|text| {
            text.parse()
                .expect("CARBONARA_TORTURE_SOAK_SECONDS: a count")
        })
        .unwrap_or(DEFAULT_SECONDS);
    let started = Instant::now();
    let mut row = Row::new(NAME);
    let dir = store::template();
    let store = dir.path().to_owned();
    store::ok(
        &store,
        &[
            "archive-policy",
            "create",
            POLICY,
            "-d",
            "granularity:1s,timespan:2d",
            "-m",
            "count",
            "-m",
            "sum",
        ],
    );
    let ids = |prefix: &str| -> Vec<(String, String)> {
        (0..METRICS)
            .map(|n| {
                let name = format!("{prefix}{n}");
                let id = store::json(&store, &["metric", "create", &name, "-a", POLICY])["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                (name, id)
            })
            .collect()
    };
    let (single, batch, ingested) = (ids("h"), ids("b"), ids("i"));
    let listen = format!("127.0.0.1:{}", free_port());
    let url = format!("http://{listen}");
    let mut server = spawn(
        &store,
        &["serve", "--listen", &listen, "--process-interval", "0.5s"],
    );
    let statsd_at = format!("127.0.0.1:{}", free_port());
    let mut statsd = spawn(
        &store,
        &[
            "statsd",
            "--listen",
            &statsd_at,
            "--flush-interval",
            "1s",
            "--archive-policy-name",
            POLICY,
        ],
    );
    wait_until_up(&url);
    wait_for_tcp(&statsd_at);

    let stop = Arc::new(AtomicBool::new(false));
    let tally: Shared = Arc::default();
    let mut writers = Vec::new();
    let spawn_writer = |work: Box<dyn FnOnce() + Send>| std::thread::spawn(work);
    {
        let (stop, tally, url) = (stop.clone(), tally.clone(), url.clone());
        writers.push(spawn_writer(Box::new(move || {
            post_singles(&url, &single, &stop, &tally)
        })));
    }
    {
        let (stop, tally, url) = (stop.clone(), tally.clone(), url.clone());
        writers.push(spawn_writer(Box::new(move || {
            post_batches(&url, &batch, &stop, &tally)
        })));
    }
    {
        let (stop, tally, store) = (stop.clone(), tally.clone(), store.clone());
        writers.push(spawn_writer(Box::new(move || {
            ingest_loop(&store, &ingested, &stop, &tally)
        })));
    }
    for transport in ["udp", "tcp"] {
        let (stop, tally, at) = (stop.clone(), tally.clone(), statsd_at.clone());
        writers.push(spawn_writer(Box::new(move || {
            statsd_lines(transport, &at, &stop, &tally)
        })));
    }
    let mut helpers = Vec::new();
    for _ in 0..2 {
        let (stop, store) = (stop.clone(), store.clone());
        helpers.push(std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                store::ok(&store, &["process"]);
            }
        }));
    }
    {
        let (stop, store, url) = (stop.clone(), store.clone(), url.clone());
        helpers.push(std::thread::spawn(move || read_loop(&store, &url, &stop)));
    }
    let pid = server.id();
    let first = usage(pid);
    std::thread::sleep(Duration::from_secs(seconds));
    let last = usage(pid);
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    for helper in helpers {
        helper.join().unwrap();
    }
    terminate(&mut statsd);
    terminate(&mut server);
    store::ok(&store, &["process"]);

    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    let found = store::contents(&store);
    row.runs = 1;
    count_measures(&tally, &found, &mut row);
    count_statsd(&store, &tally, &mut row);
    row.tmp_left = store::tmp_left(&store);
    row.verify_problems = store::verify_problems(&store);
    row.elapsed = started.elapsed();
    let mut latencies = tally.latencies;
    latencies.sort_unstable();
    let percentile = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize];
    let summary = format!(
        "{NAME}, {seconds} s: {} HTTP requests, p99 {:?}, p99.9 {:?}, slowest {:?}; \
         serve's RSS {} → {} KiB, open descriptors {} → {}",
        latencies.len(),
        percentile(0.99),
        percentile(0.999),
        latencies.last().unwrap(),
        first.0,
        last.0,
        first.1,
        last.1
    );
    (row, summary)
}

fn spawn(store: &Path, args: &[&str]) -> Child {
    store::command(store, args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGTERM, then wait: the server and the daemon stop after what they
/// hold is stored.
fn terminate(child: &mut Child) {
    std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "a daemon failed on SIGTERM"
    );
}

fn wait_for_tcp(at: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(at).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {at}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A process's resident memory (KiB) and open descriptors.
fn usage(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count();
    (rss, fds)
}

/// POSTs `body` to `path`; whether it was answered 2xx (`None`: the
/// server is gone).
fn post(agent: &ureq::Agent, url: &str, path: &str, body: &str, tally: &Shared) -> Option<bool> {
    let began = Instant::now();
    let answer = agent
        .post(&format!("{url}{path}"))
        .header("authorization", "basic YWRtaW46")
        .header("content-type", "application/json")
        .send(body);
    tally.lock().unwrap().latencies.push(began.elapsed());
    match answer {
        Ok(_) => Some(true),
        Err(ureq::Error::StatusCode(_)) => Some(false),
        Err(_) => None,
    }
}

fn record(tally: &Shared, measures: Vec<Measure>, acknowledged: bool) {
    let mut tally = tally.lock().unwrap();
    tally.sent.extend(measures.iter().cloned());
    if acknowledged {
        tally.acknowledged.extend(measures);
    }
}

fn post_singles(url: &str, metrics: &[(String, String)], stop: &AtomicBool, tally: &Shared) {
    let agent = agent();
    let mut request = 0;
    while !stop.load(Ordering::Relaxed) {
        let (name, id) = &metrics[request % metrics.len()];
        let second = START + (request / metrics.len()) as i64;
        request += 1;
        let body = format!(r#"[{{"timestamp": {second}, "value": 1}}]"#);
        let answered = post(
            &agent,
            url,
            &format!("/v1/metric/{id}/measures"),
            &body,
            tally,
        );
        record(
            tally,
            vec![(name.clone(), timestamp(second))],
            answered == Some(true),
        );
    }
}

fn post_batches(url: &str, metrics: &[(String, String)], stop: &AtomicBool, tally: &Shared) {
    let agent = agent();
    let mut second = START;
    while !stop.load(Ordering::Relaxed) {
        let body: BTreeMap<&str, serde_json::Value> = metrics
            .iter()
            .map(|(_, id)| {
                (
                    id.as_str(),
                    serde_json::json!([{"timestamp": second, "value": 1}]),
                )
            })
            .collect();
        let body = serde_json::to_string(&body).unwrap();
        let answered = post(&agent, url, "/v1/batch/metrics/measures", &body, tally);
        let measures = metrics
            .iter()
            .map(|(name, _)| (name.clone(), timestamp(second)))
            .collect();
        record(tally, measures, answered == Some(true));
        second += 1;
    }
}

/// `ingest csv` of one file after another, each 10 seconds of every metric.
fn ingest_loop(store: &Path, metrics: &[(String, String)], stop: &AtomicBool, tally: &Shared) {
    let inputs = tempfile::tempdir().unwrap();
    let file: PathBuf = inputs.path().join("soak.csv");
    let mut second = START;
    while !stop.load(Ordering::Relaxed) {
        let mut text = String::from("metric,timestamp,value\n");
        let mut measures = Vec::new();
        for (name, id) in metrics {
            for at in second..second + 10 {
                text.push_str(&format!("{id},{at},1\n"));
                measures.push((name.clone(), timestamp(at)));
            }
        }
        second += 10;
        std::fs::write(&file, text).unwrap();
        let output = store::run(
            store,
            &[
                "ingest",
                "csv",
                "--metric-column",
                "metric",
                file.to_str().unwrap(),
            ],
        );
        record(tally, measures, output.status.success());
    }
}

/// Counter lines (`u3:1|c`) over UDP datagrams or a TCP stream, 100 at a
/// time, 10 counters each.
fn statsd_lines(transport: &str, at: &str, stop: &AtomicBool, tally: &Shared) {
    let prefix = &transport[..1];
    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut tcp = TcpStream::connect(at).unwrap();
    while !stop.load(Ordering::Relaxed) {
        let mut lines = String::new();
        for n in 0..100 {
            let name = format!("{prefix}{}", n % 10);
            lines.push_str(&format!("{name}:1|c\n"));
            *sent.entry(format!("{name}|c")).or_default() += 1;
        }
        match transport {
            "udp" => {
                udp.send_to(lines.as_bytes(), at).unwrap();
            }
            _ => tcp.write_all(lines.as_bytes()).unwrap(),
        }
        // About 10 000 lines a second.
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut tally = tally.lock().unwrap();
    for (name, lines) in sent {
        *tally.counted.entry(name).or_default() += lines;
    }
}

fn read_loop(store: &Path, url: &str, stop: &AtomicBool) {
    let agent = agent();
    while !stop.load(Ordering::Relaxed) {
        store::ok(
            store,
            &[
                "measures",
                "show",
                "h0",
                "--aggregation",
                "count",
                "-f",
                "csv",
            ],
        );
        store::ok(
            store,
            &[
                "aggregates",
                "(aggregate sum (metric (b0 count) (b1 count)))",
                "-f",
                "csv",
            ],
        );
        let _ = agent
            .get(&format!("{url}/v1/metric?limit=5"))
            .header("authorization", "basic YWRtaW46")
            .call();
    }
}

fn count_measures(tally: &Tally, found: &store::Contents, row: &mut Row) {
    row.acknowledged = tally.acknowledged.len() as u64;
    for (metric, second) in &tally.acknowledged {
        match found.measures.get(metric).and_then(|c| c.get(second)) {
            Some(_) => row.found += 1,
            None => row.lost += 1,
        }
    }
    for (metric, counts) in &found.measures {
        if metric.ends_with("|c") {
            // statsd's counters: summed by count_statsd.
            continue;
        }
        for (second, count) in counts {
            let measure = (metric.clone(), second.clone());
            match tally.sent.contains(&measure) {
                true => {
                    row.duplicated += count - 1;
                    if !tally.acknowledged.contains(&measure) {
                        row.unacknowledged_found += 1;
                    }
                }
                false => row.duplicated += count,
            }
        }
    }
}

/// Each counter's sum over the store against the lines sent: a line short
/// is lost, one over duplicated.
fn count_statsd(store: &Path, tally: &Tally, row: &mut Row) {
    for (name, lines) in &tally.counted {
        let summed = crate::statsd::stored_sum(store, name);
        row.acknowledged += lines;
        row.found += summed.min(*lines);
        row.lost += lines.saturating_sub(summed);
        row.duplicated += summed.saturating_sub(*lines);
    }
}
