//! `serve` killed under a stream of writes: single-measure POSTs,
//! batches and InfluxDB writes, each of a second no other request uses,
//! while its background pass runs. After the kill, `process`: every measure whose request got a
//! 2xx answer is there once, and nothing is there that was not sent.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::inputs::{SERIES, START};
use crate::store::{self, POLICY};
use crate::table::Row;

pub const NAME: &str = "kill serve under POSTs";

/// The span over which the kills are spread, after the server answers.
const WRITING: Duration = Duration::from_millis(1_500);

/// A measure: its metric's name and its timestamp as `measures show`
/// writes it.
pub type Measure = (String, String);

pub fn run(kills: u32) -> Row {
    let started = Instant::now();
    let mut row = Row::new(NAME);
    let template = store::template();
    let metrics = create_metrics(template.path());
    let influx = influx_metric(template.path());
    for delay in store::kill_delays(WRITING, kills) {
        let victim = store::copy(template.path());
        let log = tempfile::NamedTempFile::new().unwrap();
        let (mut server, url) = start(victim.path(), &log);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (stop, metrics, url) = (stop.clone(), metrics.clone(), url.clone());
            let influx = influx.clone();
            std::thread::spawn(move || {
                write_until_stopped(&url, &metrics, Some(&influx), &stop, START)
            })
        };
        std::thread::sleep(delay);
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let Written {
            mut sent,
            mut acknowledged,
            ..
        } = writer.join().unwrap();
        // The measure that made the InfluxDB series, queued in the template.
        let first = (influx.clone(), timestamp(START - 1));
        sent.insert(first.clone());
        acknowledged.insert(first);
        row.runs += 1;
        row.faults += 1;
        row.panics += u32::from(store::panicked(&std::fs::read(log.path()).unwrap()));
        let recovery = store::run(victim.path(), &["process"]);
        row.panics += u32::from(store::panicked(&recovery.stderr));
        check(victim.path(), &sent, &acknowledged, &mut row);
    }
    row.elapsed = started.elapsed();
    row
}

/// The metrics the writers write to, created in `store_dir`: their
/// names and ids.
pub fn create_metrics(store_dir: &Path) -> Vec<(String, String)> {
    (0..SERIES)
        .map(|series| {
            let name = format!("s{series}");
            let id = store::json(store_dir, &["metric", "create", &name, "-a", POLICY])["id"]
                .as_str()
                .unwrap()
                .to_owned();
            (name, id)
        })
        .collect()
}

pub fn check(
    store_dir: &Path,
    sent: &BTreeSet<Measure>,
    acknowledged: &BTreeSet<Measure>,
    row: &mut Row,
) {
    let found = store::contents(store_dir);
    row.acknowledged += acknowledged.len() as u64;
    for measure in acknowledged {
        let count = found
            .measures
            .get(&measure.0)
            .and_then(|counts| counts.get(&measure.1))
            .copied()
            .unwrap_or(0);
        match count {
            0 => row.lost += 1,
            _ => row.found += 1,
        }
    }
    for (metric, counts) in &found.measures {
        for (second, count) in counts {
            let measure = (metric.clone(), second.clone());
            if !sent.contains(&measure) {
                row.duplicated += count;
            } else {
                row.duplicated += count - 1;
                if !acknowledged.contains(&measure) {
                    row.unacknowledged_found += 1;
                }
            }
        }
    }
    row.tmp_left += store::tmp_left(store_dir);
    row.verify_problems += store::verify_problems(store_dir);
}

/// `serve` on a free loopback port with a pass every 0.2 s, its stderr
/// in `log`, once it answers; and its URL.
pub fn start(store_dir: &Path, log: &tempfile::NamedTempFile) -> (Child, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let server = store::command(
        store_dir,
        &["serve", "--listen", &listen, "--process-interval", "0.2s"],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(log.reopen().unwrap())
    .spawn()
    .unwrap();
    let url = format!("http://{listen}");
    wait_until_up(&url);
    (server, url)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

pub fn wait_until_up(url: &str) {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(30);
    while agent.get(url).call().is_err() {
        assert!(Instant::now() < deadline, "serve did not answer at {url}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The InfluxDB series the writer adds to: made in `store` by `ingest
/// influx` of one measure, a second before the others. Its name as
/// `store::contents` gives it.
fn influx_metric(store: &Path) -> String {
    let line = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        line.path(),
        format!("{INFLUX_SERIES} {}000000000\n", START - 1),
    )
    .unwrap();
    store::ok(
        store,
        &[
            "ingest",
            "influx",
            "--db",
            "torture",
            line.path().to_str().unwrap(),
        ],
    );
    let metrics = store::json(store, &["metric", "list"]);
    let metric = metrics
        .as_array()
        .unwrap()
        .iter()
        .find(|metric| metric["resource_id"].is_string())
        .unwrap();
    format!(
        "{}/{}",
        metric["resource_id"].as_str().unwrap(),
        metric["name"].as_str().unwrap()
    )
}

/// The InfluxDB measurement, tags and field the writer sends.
const INFLUX_SERIES: &str = "torture,host=serve value=1";

/// What a writer sent: the measures, those answered 2xx, the other
/// answers (status and body) in order, and the second it would have
/// written next.
#[derive(Default)]
pub struct Written {
    pub sent: BTreeSet<Measure>,
    pub acknowledged: BTreeSet<Measure>,
    pub refused: Vec<(u16, String)>,
    pub next: i64,
}

/// Sends requests until `stop` or the server is gone: two single-measure
/// POSTs, then a batch of one measure per metric, every fifth request an
/// InfluxDB write to the series `influx` names (when given) instead, each
/// request on a second of its own, from `first` on.
pub fn write_until_stopped(
    url: &str,
    metrics: &[(String, String)],
    influx: Option<&str>,
    stop: &AtomicBool,
    first: i64,
) -> Written {
    let agent = agent();
    let mut written = Written::default();
    let mut second = first;
    while !stop.load(Ordering::Relaxed) {
        let at = timestamp(second);
        let (path, body, measures): (String, String, Vec<Measure>) =
            if let Some(influx) = influx.filter(|_| second % 5 == 4) {
                (
                    "/v1/influxdb/write?db=torture".to_owned(),
                    format!("{INFLUX_SERIES} {second}000000000"),
                    vec![(influx.to_owned(), at.clone())],
                )
            } else if second % 3 == 2 {
                let batch: BTreeMap<&str, serde_json::Value> = metrics
                    .iter()
                    .map(|(_, id)| {
                        (
                            id.as_str(),
                            serde_json::json!([{"timestamp": second, "value": 1.0}]),
                        )
                    })
                    .collect();
                (
                    "/v1/batch/metrics/measures".to_owned(),
                    serde_json::to_string(&batch).unwrap(),
                    metrics
                        .iter()
                        .map(|(name, _)| (name.clone(), at.clone()))
                        .collect(),
                )
            } else {
                let (name, id) = &metrics[second as usize % metrics.len()];
                (
                    format!("/v1/metric/{id}/measures"),
                    format!(r#"[{{"timestamp": {second}, "value": 1.0}}]"#),
                    vec![(name.clone(), at.clone())],
                )
            };
        second += 1;
        written.sent.extend(measures.iter().cloned());
        let answer = agent
            .post(&format!("{url}{path}"))
            .header("authorization", "basic YWRtaW46")
            .header("content-type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(body.as_str());
        match answer {
            Ok(answer) if answer.status().is_success() => written.acknowledged.extend(measures),
            Ok(mut answer) => {
                let body = answer.body_mut().read_to_string().unwrap_or_default();
                written.refused.push((answer.status().as_u16(), body));
            }
            // The server is gone.
            Err(_) => break,
        }
    }
    written.next = second;
    written
}

/// A second as `measures show` writes it.
pub fn timestamp(second: i64) -> String {
    chrono::DateTime::from_timestamp(second, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}
