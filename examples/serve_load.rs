//! Load generator for `carbonara serve` and `carbonara statsd` on
//! loopback (scripts/bench/serve-load.sh and serve-vs-gnocchi.sh run it,
//! against gnocchi-api too): keep-alive HTTP/1.1 connections
//! driven by hyper's client, or paced UDP datagrams.
//!
//! ```sh
//! cargo run --release --example serve_load -- --address 127.0.0.1:8041 --mode batch
//! ```
//!
//! Modes:
//! * `batch`: `POST /v1/metric/ID/measures` of `--batch` measures (5000),
//!   round-robin over `--metrics` metrics;
//! * `single`: the same with one measure a request;
//! * `get`: `GET /v1/metric/ID/measures` of a metric holding `--points`
//!   aggregates (10 000), whole or, with `--window N`, its last N seconds;
//! * `statsd`: `--lines` counter lines (`bench.N:1|c`, over 10 metrics),
//!   `--lines-per-datagram` a datagram, paced at `--rate` lines/s;
//! * `soak`: single and batch POSTs and GETs together for `--seconds`.
//!
//! Each HTTP mode creates what it needs first (archive policy `bench`,
//! metrics) and prints one line: requests answered within `--seconds`,
//! errors, requests/s, measures/s and latency percentiles. Every non-2xx answer counts as an error, and
//! so does a connection the server closes (the loop then opens another).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use tokio::net::TcpStream;

const AUTH: &str = "basic YWRtaW46";

#[derive(Debug, Clone)]
struct Options {
    address: SocketAddr,
    mode: String,
    connections: usize,
    seconds: f64,
    metrics: usize,
    batch: usize,
    points: usize,
    window: Option<usize>,
    lines: usize,
    lines_per_datagram: usize,
    rate: f64,
    statsd: SocketAddr,
}

fn options() -> Options {
    let mut options = Options {
        address: "127.0.0.1:8041".parse().expect("a valid address"),
        mode: "batch".to_owned(),
        connections: 32,
        seconds: 10.0,
        metrics: 16,
        batch: 5000,
        points: 10_000,
        window: None,
        lines: 2_000_000,
        lines_per_datagram: 20,
        rate: 250_000.0,
        statsd: "127.0.0.1:8125".parse().expect("a valid address"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        let number = || value().parse::<f64>().unwrap_or(0.0);
        match args[i].as_str() {
            "--address" => options.address = value().parse().expect("--address ADDR:PORT"),
            "--statsd" => options.statsd = value().parse().expect("--statsd ADDR:PORT"),
            "--mode" => options.mode = value(),
            "--connections" => options.connections = number() as usize,
            "--seconds" => options.seconds = number(),
            "--metrics" => options.metrics = number() as usize,
            "--batch" => options.batch = number() as usize,
            "--points" => options.points = number() as usize,
            "--window" => options.window = Some(number() as usize),
            "--lines" => options.lines = number() as usize,
            "--lines-per-datagram" => options.lines_per_datagram = number() as usize,
            "--rate" => options.rate = number(),
            other => panic!("unknown argument {other} (see the module doc)"),
        }
        i += 2;
    }
    options
}

/// One keep-alive connection.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    async fn connect(address: SocketAddr) -> Client {
        let stream = TcpStream::connect(address)
            .await
            .expect("the server listens");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let io = hyper_util::rt::TokioIo::new(stream);
        let (sender, connection) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("HTTP/1.1 handshake");
        tokio::spawn(connection);
        Client {
            sender,
            host: address.to_string(),
        }
    }

    async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> hyper::Result<hyper::Response<hyper::body::Incoming>> {
        self.sender.ready().await?;
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", AUTH)
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .body(Full::new(body))
            .expect("a valid request");
        self.sender.send_request(request).await
    }

    /// Status and body.
    async fn send(&mut self, method: Method, path: &str, body: Bytes) -> (u16, Bytes) {
        let response = self.request(method, path, body).await.expect("an answer");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("a whole body")
            .to_bytes();
        (status, body)
    }

    /// Status, the body read and dropped as it comes (as a load generator
    /// does: no copy into one buffer); an error if the server closed the
    /// connection first.
    async fn send_discarding(
        &mut self,
        method: Method,
        path: &str,
        body: Bytes,
    ) -> hyper::Result<u16> {
        let response = self.request(method, path, body).await?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame?;
        }
        Ok(status)
    }

    async fn json(&mut self, method: Method, path: &str, body: String) -> serde_json::Value {
        let (status, answer) = self.send(method, path, Bytes::from(body)).await;
        assert!(status < 300, "{path}: {status} {answer:?}");
        serde_json::from_slice(&answer).unwrap_or(serde_json::Value::Null)
    }
}

/// `n` measures a second apart from `start` seconds, as gnocchiclient
/// sends them (ISO 8601 timestamps).
fn measures_body(start: usize, n: usize) -> String {
    let epoch = 1_704_067_200; // 2024-01-01T00:00:00Z
    let items: Vec<String> = (0..n)
        .map(|i| {
            let t = epoch + start + i;
            let (days, seconds) = (t / 86_400, t % 86_400);
            // 2024-01-01 plus days within the same month range is enough
            // for a body: any valid timestamp will do.
            let day = 1 + (days - 19_723) % 28;
            format!(
                "{{\"timestamp\": \"2024-01-{day:02}T{:02}:{:02}:{:02}\", \"value\": {}.5}}",
                seconds / 3600,
                seconds / 60 % 60,
                seconds % 60,
                i % 1000
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

async fn create_metrics(client: &mut Client, count: usize, policy: &str) -> Vec<String> {
    let mut ids = Vec::with_capacity(count);
    for _ in 0..count {
        let metric = client
            .json(
                Method::POST,
                "/v1/metric",
                format!("{{\"archive_policy_name\": \"{policy}\"}}"),
            )
            .await;
        ids.push(metric["id"].as_str().expect("a metric id").to_owned());
    }
    ids
}

async fn create_policy(client: &mut Client, points: usize) {
    let body = format!(
        "{{\"name\": \"bench\", \"aggregation_methods\": [\"mean\"], \"definition\": [{{\"granularity\": 1, \"points\": {points}}}]}}"
    );
    let (status, answer) = client
        .send(Method::POST, "/v1/archive_policy", Bytes::from(body))
        .await;
    assert!(status == 201 || status == 409, "{status} {answer:?}");
}

/// What one connection's loop sends next: method, path, body, measures.
type Next = Arc<dyn Fn(u64) -> (Method, String, Bytes, u64) + Send + Sync>;

#[derive(Default)]
struct Tally {
    requests: AtomicU64,
    errors: AtomicU64,
    measures: AtomicU64,
}

async fn drive(options: &Options, next: Next, label: &str) {
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    // Answers count only within the window (a request unanswered at its
    // end is dropped): a server with a long queue would otherwise have its
    // drain counted.
    let window = Duration::from_secs_f64(options.seconds);
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for connection in 0..options.connections {
        let (next, tally, stop, address) =
            (next.clone(), tally.clone(), stop.clone(), options.address);
        tasks.push(tokio::spawn(async move {
            let mut client = Client::connect(address).await;
            let mut latencies = Vec::new();
            let mut n = connection as u64;
            while !stop.load(Ordering::Relaxed) {
                let (method, path, body, measures) = next(n);
                let sent = Instant::now();
                let Ok(answered) = tokio::time::timeout_at(
                    deadline.into(),
                    client.send_discarding(method, &path, body),
                )
                .await
                else {
                    break;
                };
                latencies.push(sent.elapsed());
                tally.requests.fetch_add(1, Ordering::Relaxed);
                match answered {
                    Ok(status) if status < 300 => {
                        tally.measures.fetch_add(measures, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    // A connection the server closed: an error, and a new one.
                    Err(_) => {
                        tally.errors.fetch_add(1, Ordering::Relaxed);
                        client = Client::connect(address).await;
                    }
                }
                n += 1;
            }
            latencies
        }));
    }
    tokio::time::sleep(window).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a connection's loop"));
    }
    let elapsed = window.as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    let requests = tally.requests.load(Ordering::Relaxed);
    let measures = tally.measures.load(Ordering::Relaxed);
    println!(
        "{label}: {requests} requests in {elapsed:.1} s, {} errors, {:.0} requests/s, {:.0} measures/s, latency p50 {:.2} ms p99 {:.2} ms max {:.2} ms ({} connections)",
        tally.errors.load(Ordering::Relaxed),
        requests as f64 / elapsed,
        measures as f64 / elapsed,
        percentile(0.5),
        percentile(0.99),
        percentile(1.0),
        options.connections,
    );
}

/// POSTs of `batch` measures over `--metrics` metrics.
async fn posts(options: &Options, batch: usize, label: &str) {
    let mut client = Client::connect(options.address).await;
    create_policy(&mut client, 86_400).await;
    let ids = Arc::new(create_metrics(&mut client, options.metrics, "bench").await);
    // Bodies are made ahead so the generator spends its time sending.
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..64)
            .map(|i| Bytes::from(measures_body(i * batch, batch)))
            .collect(),
    );
    let next: Next = Arc::new(move |n| {
        let id = &ids[n as usize % ids.len()];
        let body = bodies[n as usize % bodies.len()].clone();
        (
            Method::POST,
            format!("/v1/metric/{id}/measures"),
            body,
            batch as u64,
        )
    });
    drive(options, next, label).await;
}

/// The path of a metric holding `--points` aggregates, processed.
async fn filled_metric(options: &Options, client: &mut Client) -> String {
    create_policy(client, options.points).await;
    let id = create_metrics(client, 1, "bench").await.remove(0);
    let path = format!("/v1/metric/{id}/measures");
    for start in (0..options.points).step_by(5000) {
        let n = (options.points - start).min(5000);
        client
            .json(Method::POST, &path, measures_body(start, n))
            .await;
    }
    let all = client
        .json(Method::GET, &format!("{path}?refresh=true"), String::new())
        .await;
    let points = all.as_array().map_or(0, Vec::len);
    assert_eq!(points, options.points, "the metric holds every point");
    path
}

async fn gets(options: &Options) {
    let mut client = Client::connect(options.address).await;
    let path = filled_metric(options, &mut client).await;
    let path = match options.window {
        // The last N seconds of the series, from its first day at midnight.
        Some(window) => {
            let last = options.points - 1;
            let first = last + 1 - window.min(last + 1);
            format!(
                "{path}?start=2024-01-01T{:02}:{:02}:{:02}",
                first / 3600,
                first / 60 % 60,
                first % 60
            )
        }
        None => path,
    };
    let check = client.json(Method::GET, &path, String::new()).await;
    let returned = check.as_array().map_or(0, Vec::len) as u64;
    let label = format!("get of {returned} points");
    let next: Next = Arc::new(move |_| (Method::GET, path.clone(), Bytes::new(), returned));
    drive(options, next, &label).await;
}

async fn soak(options: &Options) {
    let mut client = Client::connect(options.address).await;
    let read = filled_metric(options, &mut client).await;
    let ids = Arc::new(create_metrics(&mut client, options.metrics, "bench").await);
    let single = Bytes::from(measures_body(0, 1));
    let batch = Bytes::from(measures_body(0, 1000));
    let next: Next = Arc::new(move |n| {
        let id = &ids[n as usize % ids.len()];
        match n % 10 {
            0 => (
                Method::POST,
                format!("/v1/metric/{id}/measures"),
                batch.clone(),
                1000,
            ),
            1 => (Method::GET, read.clone(), Bytes::new(), 0),
            _ => (
                Method::POST,
                format!("/v1/metric/{id}/measures"),
                single.clone(),
                1,
            ),
        }
    });
    drive(options, next, "soak").await;
}

/// Sends `--lines` counter lines, paced; prints what was sent.
fn statsd(options: &Options) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP socket");
    let per = options.lines_per_datagram.max(1);
    let datagram: String = (0..per)
        .map(|i| format!("bench.{}:1|c\n", i % 10))
        .collect();
    let started = Instant::now();
    let mut sent = 0;
    while sent < options.lines {
        let lines = per.min(options.lines - sent);
        let text = if lines == per {
            datagram.as_str()
        } else {
            &datagram[..datagram
                .match_indices('\n')
                .nth(lines - 1)
                .map_or(0, |(i, _)| i + 1)]
        };
        socket
            .send_to(text.as_bytes(), options.statsd)
            .expect("a datagram sent");
        sent += lines;
        // Pace: never ahead of the rate.
        let due = Duration::from_secs_f64(sent as f64 / options.rate);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "statsd: {sent} lines in {} datagrams in {elapsed:.2} s, {:.0} lines/s sent",
        sent.div_ceil(per),
        sent as f64 / elapsed
    );
}

fn main() {
    let options = options();
    if options.mode == "statsd" {
        statsd(&options);
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        match options.mode.as_str() {
            "batch" => posts(&options, options.batch, "batch").await,
            "single" => posts(&options, 1, "single").await,
            "get" => gets(&options).await,
            "soak" => soak(&options).await,
            other => panic!("unknown --mode {other}"),
        }
    });
}
