//! `serve --max-backlog` (Gnocchi #836): every endpoint that queues
//! measures refuses with 503 and `Retry-After` past the limit while reads
//! go on; and the real binary, its pass slowed, flooded by writers that
//! are refused, then accepted again on their own, with the waiting
//! measures on disk and the server's memory bounded and every accepted
//! measure aggregated.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use carbonara::ingest::prometheus::{TimeSeries, WriteRequest};
use serde_json::Value;

use super::{http, serve_with};
use crate::common::TestStore;
use crate::serve::common::{empty_store, get, post, send_remote_write, test_app_with};

#[tokio::test]
async fn past_the_limit_every_measure_write_is_refused_and_reads_go_on() {
    let store = empty_store();
    let app = test_app_with(&store, |config| config.max_backlog = Some(2));
    let policy = r#"{"name": "p", "aggregation_methods": ["count"], "definition": [{"granularity": 1, "points": 60}]}"#;
    assert_eq!(
        post(&app, "/v1/archive_policy", policy).await.status,
        StatusCode::CREATED
    );
    let created = post(&app, "/v1/metric", r#"{"archive_policy_name": "p"}"#).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let measures = format!("/v1/metric/{id}/measures");
    let three = r#"[{"timestamp": 1700000000, "value": 1}, {"timestamp": 1700000001, "value": 2}, {"timestamp": 1700000002, "value": 3}]"#;
    // Under the limit a write is taken whole, even past it.
    assert_eq!(
        post(&app, &measures, three).await.status,
        StatusCode::ACCEPTED
    );
    let refused = post(&app, &measures, three).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    // No background pass: the refresh interval is the wait.
    assert_eq!(refused.header("retry-after"), Some("10"));
    assert_eq!(refused.json()["code"], 503);
    assert_eq!(
        refused.json()["description"],
        "3 measures are waiting to be processed, more than the backlog limit of 2 (--max-backlog): retry later"
    );
    let batch = format!(r#"{{"{id}": [{{"timestamp": 1700000003, "value": 1}}]}}"#);
    let refused = post(&app, "/v1/batch/metrics/measures", &batch).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let refused = post(&app, &format!("{measures}?backfill=true"), three).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        post(&app, "/v1/influxdb/query?q=create+database+telegraf", "")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let line = "cpu,host=a v=1 1700000000000000000";
    let refused = post(&app, "/v1/influxdb/write?db=telegraf", line).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    let request = WriteRequest {
        timeseries: vec![TimeSeries::new(
            &[("__name__", "up"), ("instance", "db:9100")],
            &[(1.0, 1_700_000_000_000)],
        )],
    };
    let refused = send_remote_write(&app, &request).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.header("retry-after").is_some());
    // Nothing refused was created.
    assert_eq!(
        get(&app, "/v1/resource/telegraf").await.json(),
        serde_json::json!([])
    );
    // Reads and other writes go on.
    assert_eq!(
        post(&app, "/v1/metric", r#"{"archive_policy_name": "p"}"#)
            .await
            .status,
        StatusCode::CREATED
    );
    let read = get(&app, &format!("{measures}?aggregation=count&refresh=true")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json().as_array().unwrap().len(), 3);
    // What the refresh took leaves the count: writes resume at once.
    let status = get(&app, "/v1/status").await.json();
    assert_eq!(status["storage"]["summary"]["measures"], 0);
    assert_eq!(status["backlog"]["counted"], 0);
    assert_eq!(status["backlog"]["limit"], 2);
    assert_eq!(status["backlog"]["oldest_measure_age"], Value::Null);
    // The refresh's pass took 3 measures within the last minute.
    assert_eq!(status["backlog"]["processed_per_second"], 3.0 / 60.0);
    assert_eq!(
        post(&app, &measures, three).await.status,
        StatusCode::ACCEPTED
    );
    let read = get(&app, &format!("{measures}?aggregation=count&refresh=true")).await;
    assert_eq!(read.json().as_array().unwrap().len(), 3);
    assert_eq!(
        post(&app, &measures, three).await.status,
        StatusCode::ACCEPTED,
        "admitted with no listing since the refresh"
    );
}

/// The resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in {status}"))
}

/// The bytes of the files under `dir`; files a pass removes meanwhile
/// count as gone.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => bytes_under(&entry.path()),
            Ok(_) => entry.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

/// A `POST` over a plain socket: status and `Retry-After`.
fn post_measures(address: &str, path: &str, body: &str) -> (u16, Option<String>) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: basic YWRtaW46\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let retry_after = response
        .lines()
        .take_while(|line| !line.is_empty())
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("retry-after: ")
                .map(str::to_owned)
        });
    (status, retry_after)
}

const WRITERS: usize = 4;
const REQUESTS: usize = 30;
const PER_REQUEST: usize = 100;
const LIMIT: u64 = 1500;

#[test]
fn a_flooded_server_refuses_then_catches_up_without_losing_a_measure() {
    let store = TestStore::new();
    let metrics: Vec<String> = (0..WRITERS)
        .map(|w| store.create_metric(&format!("flood{w}"), "low"))
        .collect();
    let limit = LIMIT.to_string();
    let served = serve_with(
        &store,
        &["--process-interval", "2s", "--max-backlog", &limit],
    );
    let pid = served.pid();
    let rss_at_start = rss_kib(pid);
    let incoming = store.path().join("incoming");
    let address = served.address.clone();
    let writers: Vec<_> = metrics
        .iter()
        .map(|id| {
            let address = address.clone();
            let path = format!("/v1/metric/{id}/measures");
            std::thread::spawn(move || {
                let (mut accepted, mut refused) = (0, 0);
                for request in 0..REQUESTS {
                    // Each measure its own second: a count aggregate
                    // counts every one.
                    let body: Vec<String> = (0..PER_REQUEST)
                        .map(|i| {
                            let second = 1_700_000_000 + request * PER_REQUEST + i;
                            format!(r#"{{"timestamp": {second}, "value": {i}}}"#)
                        })
                        .collect();
                    let body = format!("[{}]", body.join(", "));
                    loop {
                        match post_measures(&address, &path, &body) {
                            (202, _) => {
                                accepted += PER_REQUEST;
                                break;
                            }
                            (503, Some(seconds)) => {
                                assert_eq!(seconds, "2");
                                refused += 1;
                                std::thread::sleep(Duration::from_millis(200));
                            }
                            other => panic!("{other:?}"),
                        }
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    let (mut most_bytes, mut most_rss) = (0, 0);
    let mut oldest_age_seen = false;
    while !writers.iter().all(|w| w.is_finished()) {
        most_bytes = most_bytes.max(bytes_under(&incoming));
        most_rss = most_rss.max(rss_kib(pid));
        let (_, status) = http(&address, "GET", "/v1/status?details=false", None);
        let status: Value = serde_json::from_str(&status).unwrap();
        oldest_age_seen |= status["backlog"]["oldest_measure_age"].is_number();
        std::thread::sleep(Duration::from_millis(50));
    }
    let (mut accepted, mut refused) = (0, 0);
    for writer in writers {
        let (a, r) = writer.join().unwrap();
        accepted += a;
        refused += r;
    }
    assert_eq!(accepted, WRITERS * REQUESTS * PER_REQUEST);
    assert!(refused > 0, "the writers were never refused");
    assert!(oldest_age_seen, "no age of the oldest waiting measure");
    // What waits never passes the limit by more than one group commit
    // of the writers' requests (16 bytes a measure).
    let bound = (LIMIT + (WRITERS * PER_REQUEST) as u64) * 16;
    assert!(
        most_bytes <= bound,
        "{most_bytes} bytes waiting, over {bound}"
    );
    // Nothing waits in memory: the refused are never read.
    assert!(
        most_rss < rss_at_start + 64 * 1024,
        "{most_rss} KiB resident, {rss_at_start} KiB at the start"
    );
    // The pass catches up; every accepted measure is aggregated.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = http(&address, "GET", "/v1/status?details=false", None);
        let status: Value = serde_json::from_str(&status).unwrap();
        if status["storage"]["summary"]["measures"] == 0 {
            assert!(status["backlog"]["processed_per_second"].as_f64().unwrap() > 0.0);
            assert_eq!(status["backlog"]["limit"], LIMIT);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pass never caught up: {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    for id in &metrics {
        let (status, body) = http(
            &address,
            "GET",
            &format!("/v1/metric/{id}/measures?aggregation=count&refresh=true"),
            None,
        );
        assert_eq!(status, 200, "{body}");
        let points: Value = serde_json::from_str(&body).unwrap();
        let counted: f64 = points
            .as_array()
            .unwrap()
            .iter()
            .filter(|point| point[1] == 300.0)
            .map(|point| point[2].as_f64().unwrap())
            .sum();
        assert_eq!(counted, (REQUESTS * PER_REQUEST) as f64, "metric {id}");
    }
}

#[tokio::test]
async fn without_max_backlog_the_stores_limit_applies() {
    let store = empty_store();
    store.run(&["max-backlog", "--set", "0"]).success();
    let app = test_app_with(&store, |_| {});
    let policy = r#"{"name": "p", "aggregation_methods": ["count"], "definition": [{"granularity": 1, "points": 60}]}"#;
    assert_eq!(
        post(&app, "/v1/archive_policy", policy).await.status,
        StatusCode::CREATED
    );
    let created = post(&app, "/v1/metric", r#"{"archive_policy_name": "p"}"#).await;
    let measures = format!(
        "/v1/metric/{}/measures",
        created.json()["id"].as_str().unwrap()
    );
    let one = r#"[{"timestamp": 1700000000, "value": 1}]"#;
    assert_eq!(
        post(&app, &measures, one).await.status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&app, &measures, one).await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(get(&app, "/v1/status").await.json()["backlog"]["limit"], 0);
}
