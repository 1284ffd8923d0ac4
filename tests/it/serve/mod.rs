//! `carbonara serve` beyond the recorded sessions: keystone-header auth
//! and who sees what, the body limit and timeouts, input that must never
//! make the server fail, and the real binary on a socket with its
//! background aggregation pass.
//!
//! The other server tests are submodules: the recorded sessions
//! replayed (`real`, `client`, and `policy`, the default policy caller by
//! caller), cases of Gnocchi's own functional tests
//! (`gabbi`), keystone mode against recorded Keystone answers (`keystone`), the write endpoints (`write`), the SVG chart (`chart`), back-pressure (`backlog`), top-N (`top`), the statsd daemon
//! (`statsd_daemon`), and the helpers they share (`common`).

mod backfill;
mod backlog;
mod chart;
mod client;
pub(crate) mod common;
mod erase;
mod gabbi;
mod history;
mod keystone;
mod metric_update;
mod policy;
mod real;
mod statsd_daemon;
mod top;
mod write;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use carbonara::server::AuthMode;
use proptest::prelude::*;

use crate::common::TestStore;
use crate::serve::common::{Answer, empty_store, send, test_app, test_app_with};

const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json");

async fn post(app: &axum::Router, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut all = vec![JSON, ACCEPT];
    all.extend_from_slice(headers);
    send(app, "POST", path, &all, Some(body)).await
}

async fn get(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut all = vec![ACCEPT];
    all.extend_from_slice(headers);
    send(app, "GET", path, &all, None).await
}

fn keystone(
    user: &'static str,
    project: &'static str,
    roles: &'static str,
) -> Vec<(&'static str, &'static str)> {
    vec![
        ("x-user-id", user),
        ("x-project-id", project),
        ("x-roles", roles),
    ]
}

#[tokio::test]
async fn keystone_headers_follow_gnocchis_default_policy() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Noauth);
    let (alice, bob, carol) = (
        keystone("alice", "p1", "member"),
        keystone("bob", "p2", "member"),
        keystone("carol", "p1", "member"),
    );
    let admin = keystone("root", "admin-project", "admin");
    assert_eq!(
        get(&app, "/v1/archive_policy", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let policy = r#"{"name": "p", "definition": [{"granularity": 1, "points": 10}]}"#;
    let denied = post(&app, "/v1/archive_policy", &alice, policy).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(
        denied.body,
        r#"{"code": 403, "title": "Forbidden", "description": ""}"#
    );
    let service = keystone("nova", "service", "service");
    assert_eq!(
        post(&app, "/v1/archive_policy", &service, policy)
            .await
            .status,
        StatusCode::CREATED
    );

    // Alice's resource in project p1: its creator is `alice:p1`.
    let created = post(
        &app,
        "/v1/resource/generic",
        &alice,
        r#"{"id": "r1", "project_id": "p1"}"#,
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let doc = created.json();
    assert_eq!(doc["creator"], "alice:p1");
    assert_eq!(doc["created_by_user_id"], "alice");
    assert_eq!(doc["created_by_project_id"], "p1");
    let path = format!("/v1/resource/generic/{}", doc["id"].as_str().unwrap());
    // Bob, in another project, may not see it; Carol (same project) and an admin may.
    assert_eq!(get(&app, &path, &bob).await.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&app, &path, &carol).await.status, StatusCode::OK);
    assert_eq!(get(&app, &path, &admin).await.status, StatusCode::OK);
    // Carol may read but not delete (only the creator's project… which is p1: allowed).
    let bob_delete = send(
        &app,
        "DELETE",
        &path,
        &[bob[0], bob[1], bob[2], ACCEPT],
        None,
    )
    .await;
    assert_eq!(bob_delete.status, StatusCode::FORBIDDEN);
    // Listings are cut to what each may see.
    let listed = |answer: Answer| answer.json().as_array().unwrap().len();
    assert_eq!(listed(get(&app, "/v1/resource/generic", &bob).await), 0);
    assert_eq!(listed(get(&app, "/v1/resource/generic", &carol).await), 1);
    assert_eq!(listed(get(&app, "/v1/resource/generic", &admin).await), 1);
    let search = post(&app, "/v1/search/resource/generic", &bob, "{}").await;
    assert_eq!(search.json().as_array().unwrap().len(), 0);

    // Metrics: Bob's are his project's only.
    let metric = post(&app, "/v1/metric", &bob, r#"{"archive_policy_name": "p"}"#).await;
    assert_eq!(metric.status, StatusCode::CREATED);
    let id = metric.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(listed(get(&app, "/v1/metric", &bob).await), 1);
    assert_eq!(listed(get(&app, "/v1/metric", &alice).await), 0);
    let metric_path = format!("/v1/metric/{id}");
    assert_eq!(
        get(&app, &metric_path, &alice).await.status,
        StatusCode::FORBIDDEN
    );
    let measures = post(
        &app,
        &format!("{metric_path}/measures"),
        &alice,
        r#"[{"timestamp": 1, "value": 1}]"#,
    )
    .await;
    assert_eq!(measures.status, StatusCode::FORBIDDEN);
    let own = post(
        &app,
        &format!("{metric_path}/measures"),
        &bob,
        r#"[{"timestamp": 1, "value": 1}]"#,
    )
    .await;
    assert_eq!(own.status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn basic_users_are_isolated_by_creator() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let foobar = ("authorization", "basic Zm9vYmFyOg==");
    let created = post(
        &app,
        "/v1/resource/generic",
        &[foobar],
        r#"{"id": "foobar"}"#,
    )
    .await;
    // docs/gnocchi-semantics.md#resource-ids: (foobar, creator foobar).
    assert_eq!(created.json()["id"], "2fbfbb20-8d56-5e1e-afb9-b3007da11fdf");
    assert_eq!(
        created.header("location"),
        Some("http://localhost/v1/resource/generic/2fbfbb20-8d56-5e1e-afb9-b3007da11fdf")
    );
    // The same id from admin is another resource.
    let theirs = get(&app, "/v1/resource/generic/foobar", &[ADMIN]).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.body,
        r#"{"code": 404, "title": "Not Found", "description": "Resource b4d568e4-7af1-5aec-ac3f-9c09fa3685a9 does not exist"}"#
    );
    let by_uuid = get(
        &app,
        "/v1/resource/generic/2fbfbb20-8d56-5e1e-afb9-b3007da11fdf",
        &[ADMIN],
    )
    .await;
    assert_eq!(by_uuid.status, StatusCode::OK);
    let etag = by_uuid.header("etag").unwrap().to_owned();
    let not_modified = get(
        &app,
        "/v1/resource/generic/2fbfbb20-8d56-5e1e-afb9-b3007da11fdf",
        &[ADMIN, ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.body, "");
}

#[tokio::test]
async fn bodies_are_bounded_and_requests_timed() {
    let store = empty_store();
    let app = test_app_with(&store, |config| config.max_body_size = 64);
    let big = format!("[{}]", vec!["1"; 100].join(","));
    let answer = post(&app, "/v1/metric", &[ADMIN], &big).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        answer
            .body
            .contains("larger than the server's limit of 64 bytes (--max-body-size)"),
        "{}",
        answer.body
    );
    // A client that never finishes sending its body is cut off.
    let app = test_app_with(&store, |config| {
        config.request_timeout = Duration::from_millis(100)
    });
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/v1/metric")
        .header(ADMIN.0, ADMIN.1)
        .header(JSON.0, JSON.1)
        .header(ACCEPT.0, ACCEPT.1)
        .body(axum::body::Body::new(EndlessBody))
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains("longer than 0.1 s (--request-timeout)"),
        "{text}"
    );
    assert_eq!(get(&app, "/", &[]).await.status, StatusCode::OK);
}

/// A request body whose bytes never come.
struct EndlessBody;

impl http_body::Body for EndlessBody {
    type Data = axum::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

#[tokio::test]
async fn head_healthcheck_capabilities_and_an_empty_aggregation() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let head = send(&app, "HEAD", "/healthcheck", &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.body, "");
    // No metric: nothing to aggregate, and no credentials asked for.
    let aggregation = post(&app, "/v1/aggregation/metric", &[], "[]").await;
    assert_eq!(aggregation.status, StatusCode::OK);
    assert_eq!(aggregation.body, "[]");
    let capabilities = get(&app, "/v1/capabilities", &[]).await.json();
    assert_eq!(
        capabilities["aggregation_methods"]
            .as_array()
            .unwrap()
            .len(),
        216
    );
}

/// Bodies a client may send by mistake or on purpose.
fn hostile_body() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "[\\[\\]{}\":,0-9a-z.eE+-]{0,40}",
        Just("1e999".to_owned()),
        Just("[".repeat(200)),
        Just(r#"{"name": null, "id": null, "definition": [{"granularity": 1e300}]}"#.to_owned()),
        Just(r#"{"id": "x", "started_at": "9999999999999999999999"}"#.to_owned()),
        Just(r#"[{"timestamp": 1e300, "value": 1}, {"timestamp": -1e300, "value": 1}]"#.to_owned()),
        Just(r#"{"and": [{"=": {"id": []}}], "x": NaN}"#.to_owned()),
    ]
}

const ENDPOINTS: [(&str, &str); 15] = [
    ("POST", "/v1/aggregates"),
    ("POST", "/v1/aggregation/metric?fill=0"),
    (
        "POST",
        "/v1/aggregation/resource/generic/metric/m?groupby=id",
    ),
    ("POST", "/v1/batch/metrics/measures"),
    (
        "POST",
        "/v1/batch/resources/metrics/measures?create_metrics=true",
    ),
    ("POST", "/v1/influxdb/write"),
    ("POST", "/v1/prometheus/write"),
    ("POST", "/v1/archive_policy"),
    ("POST", "/v1/archive_policy_rule"),
    ("POST", "/v1/metric"),
    ("POST", "/v1/resource/generic"),
    ("POST", "/v1/resource_type"),
    ("POST", "/v1/search/resource/generic"),
    ("POST", "/v1/search/metric?metric_id=x"),
    ("DELETE", "/v1/resource/generic"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn no_input_makes_the_server_fail(body in hostile_body(), endpoint in 0..ENDPOINTS.len()) {
        let store = empty_store();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (method, path) = ENDPOINTS[endpoint];
        let answer = runtime.block_on(async {
            let app = test_app(&store, AuthMode::Basic);
            send(&app, method, path, &[ADMIN, JSON, ACCEPT], Some(&body)).await
        });
        prop_assert!(answer.status.as_u16() < 500, "{method} {path} {body:?}: {} {}", answer.status, answer.body);
    }
}

/// The binary, listening on a free loopback port; killed when dropped.
pub(crate) struct Served {
    child: Child,
    pub(crate) address: String,
    /// What it wrote on stderr after its address (read as it comes, so
    /// that a long run never fills the pipe).
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its stderr so far, after the line giving its address.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .expect("the log reader never panics")
            .clone()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(store: &TestStore, process_interval: &str) -> Served {
    serve_with(store, &["--process-interval", process_interval])
}

/// `serve` with these options besides `--listen`.
fn serve_with(store: &TestStore, options: &[&str]) -> Served {
    let mut carbonara = std::process::Command::new(assert_cmd::cargo::cargo_bin!("carbonara"));
    carbonara.arg("--store").arg(store.path());
    serve_from(carbonara, options)
}

/// `serve --listen 127.0.0.1:0` with these options, after the global
/// options `carbonara` already has (`--store`, `--gnocchi-conf`).
pub(crate) fn serve_from(mut carbonara: std::process::Command, options: &[&str]) -> Served {
    let mut child = carbonara
        .env_remove("CARBONARA_STORE")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(options)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    let log = Arc::new(Mutex::new(Vec::new()));
    let kept = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            kept.lock().expect("nobody panics holding it").push(line);
        }
    });
    Served {
        child,
        address,
        log,
    }
}

/// One HTTP/1.1 exchange over a plain socket: status and body.
pub(crate) fn http(address: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    try_http(address, method, path, body)
        .unwrap_or_else(|e| panic!("{method} {path} to {address}: {e}"))
}

/// [`http`], or why it got no answer: the connection refused (nothing
/// was sent), or reset, cut or silent for a minute once the request was
/// sent (`ErrorKind::ConnectionRefused` tells the first apart).
pub(crate) fn try_http(
    address: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: basic YWRtaW46\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|status| status.parse().ok())
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("no HTTP status line in {response:?}"),
            )
        })?;
    let body = response
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

#[test]
fn the_binary_serves_and_aggregates_in_the_background() {
    let store = TestStore::new();
    let served = serve(&store, "0.2s");
    let (status, body) = http(&served.address, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("\"href\": \"http://{}/v1/\"", served.address)),
        "{body}"
    );
    let (status, body) = http(
        &served.address,
        "POST",
        "/v1/metric",
        Some(r#"{"archive_policy_name": "low"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let measures = format!("/v1/metric/{id}/measures");
    let (status, _) = http(
        &served.address,
        "POST",
        &measures,
        Some(
            r#"[{"timestamp": "2024-01-01T00:00:10", "value": 4}, {"timestamp": "2024-01-01T00:01:10", "value": 8}]"#,
        ),
    );
    assert_eq!(status, 202);
    // No refresh: the background pass aggregates them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = http(&served.address, "GET", &measures, None);
        assert_eq!(status, 200);
        if body != "[]" {
            assert_eq!(body, r#"[["2024-01-01T00:00:00+00:00", 300.0, 6.0]]"#);
            break;
        }
        assert!(Instant::now() < deadline, "measures never aggregated");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn answers_follow_archives_another_process_rewrites() {
    let store = TestStore::new();
    let id = store.create_metric("cpu", "low");
    store.run(&["measures", "add", &id, "-m", "2024-01-01T00:00:10@4"]);
    store.run(&["process", "--quiet"]);
    // No pass of its own: only the CLI's pass changes the archive.
    let served = serve(&store, "0");
    let measures = format!("/v1/metric/{id}/measures?granularity=300");
    let (_, before) = http(&served.address, "GET", &measures, None);
    assert_eq!(before, r#"[["2024-01-01T00:00:00+00:00", 300.0, 4.0]]"#);
    // Asked again, the same answer (from memory).
    assert_eq!(http(&served.address, "GET", &measures, None).1, before);
    store.run(&["measures", "add", &id, "-m", "2024-01-01T00:01:10@8"]);
    assert_eq!(http(&served.address, "GET", &measures, None).1, before);
    store.run(&["process", "--quiet"]);
    let (_, after) = http(&served.address, "GET", &measures, None);
    assert_eq!(after, r#"[["2024-01-01T00:00:00+00:00", 300.0, 6.0]]"#);
}

/// The sack of a metric in a store of 8 sacks.
fn sack_of(metric: &str) -> u128 {
    uuid::Uuid::parse_str(metric).unwrap().as_u128() % 8
}

/// Holds a sack's lock of a store of 8 sacks as another `carbonara
/// process` would.
pub(crate) fn hold_sack(store: &TestStore, metric: &str) -> std::fs::File {
    let sack = sack_of(metric);
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    lock
}

/// A refresh waits for a sack another process holds, up to
/// `--operation-timeout`, then answers Gnocchi's 503; a sack released
/// meanwhile is processed and answered. A metric with no measures waiting
/// needs no sack.
#[test]
fn a_refresh_waits_for_a_busy_sack_up_to_the_operation_timeout() {
    let store = TestStore::new();
    let id = store.create_metric("cpu", "low");
    store
        .run(&["measures", "add", &id, "-m", "2024-01-01T00:00:10@4"])
        .success();
    let served = serve_with(
        &store,
        &["--process-interval", "0", "--operation-timeout", "2"],
    );
    let lock = hold_sack(&store, &id);
    let locked = format!(
        r#"{{"code": 503, "title": "Service Unavailable", "description": "Unable to refresh metric: {id}. Metric is locked. Please try again."}}"#
    );
    for path in [
        format!("/v1/metric/{id}/measures?refresh=true"),
        format!("/v1/aggregation/metric?metric={id}&refresh=true"),
    ] {
        let asked = Instant::now();
        let (status, body) = http(&served.address, "GET", &path, None);
        assert_eq!((status, body.as_str()), (503, locked.as_str()), "{path}");
        // Well short of the default 10 s: the option's time was waited.
        let waited = asked.elapsed();
        assert!(
            waited >= Duration::from_secs(2) && waited < Duration::from_secs(9),
            "{path}: {waited:?}"
        );
    }
    let idle = (0..)
        .map(|n| store.create_metric(&format!("idle{n}"), "low"))
        .find(|idle| sack_of(idle) == sack_of(&id))
        .unwrap();
    let (status, body) = http(
        &served.address,
        "GET",
        &format!("/v1/metric/{idle}/measures?refresh=true"),
        None,
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    // Released while the refresh waits.
    let address = served.address.clone();
    let path = format!("/v1/metric/{id}/measures?refresh=true");
    let refresh = std::thread::spawn(move || http(&address, "GET", &path, None));
    std::thread::sleep(Duration::from_millis(500));
    drop(lock);
    assert_eq!(
        refresh.join().unwrap(),
        (
            200,
            r#"[["2024-01-01T00:00:00+00:00", 300.0, 4.0]]"#.to_owned()
        )
    );
}

/// Posts a measure to `metric` and waits until a background pass has
/// aggregated it (a 5-minute bucket of its own, `bucket` from 0).
pub(crate) fn wait_for_a_pass(served: &Served, metric: &str, bucket: u32) {
    let path = format!("/v1/metric/{metric}/measures");
    let timestamp = format!("2024-01-01T{:02}:{:02}:00", bucket / 12, bucket % 12 * 5);
    let body = format!(r#"[{{"timestamp": "{timestamp}", "value": 1}}]"#);
    assert_eq!(http(&served.address, "POST", &path, Some(&body)).0, 202);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !http(&served.address, "GET", &path, None)
        .1
        .contains(&format!("{timestamp}+00:00"))
    {
        assert!(Instant::now() < deadline, "{timestamp} never aggregated");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Two background passes (the second started once the first, which runs
/// the janitor whatever the delay, had ended), the deletion of metric
/// `gone` through the API, then two more passes: one started after the
/// deletion, and ended. Each pass is seen aggregating a measure of `other`.
pub(crate) fn delete_between_passes(served: &Served, gone: &str, other: &str) {
    wait_for_a_pass(served, other, 0);
    wait_for_a_pass(served, other, 1);
    let (status, body) = http(
        &served.address,
        "DELETE",
        &format!("/v1/metric/{gone}"),
        None,
    );
    assert_eq!(status, 204, "{body}");
    wait_for_a_pass(served, other, 2);
    wait_for_a_pass(served, other, 3);
}

/// The background passes expunge deleted metrics at most every
/// `--cleanup-delay`, as gnocchi-metricd's janitor: with an hour, a metric
/// deleted after the first pass keeps its data through the next passes;
/// with 0, the next pass removes it.
#[test]
fn background_passes_expunge_every_cleanup_delay() {
    for (delay, expunged) in [("1h", false), ("0", true)] {
        let store = TestStore::new();
        let gone = store.create_metric("gone", "low");
        let other = store.create_metric("other", "low");
        store
            .run(&["measures", "add", &gone, "-m", "2024-01-01T00:00:10@4"])
            .success();
        store.run(&["process", "-q"]).success();
        let archived = || {
            crate::common::tree(&store.path().join("archive"))
                .iter()
                .any(|file| file.contains(&gone))
        };
        assert!(archived());
        let served = serve_with(
            &store,
            &["--process-interval", "0.1s", "--cleanup-delay", delay],
        );
        delete_between_passes(&served, &gone, &other);
        assert_eq!(archived(), !expunged, "--cleanup-delay {delay}");
        drop(served);
        let janitor = store.json(&["janitor"]);
        assert_eq!(
            janitor["expunged metrics"],
            u32::from(!expunged),
            "--cleanup-delay {delay}"
        );
    }
}

#[test]
fn hostile_nesting_and_lengths_leave_the_binary_serving() {
    let store = TestStore::new();
    let served = serve(&store, "0");
    let address = served.address.as_str();
    let operations = |text: String| format!(r#"{{"operations": {text}}}"#);
    let abs = format!(
        "\"{}(metric a mean){}\"",
        "(abs ".repeat(2_200),
        ")".repeat(2_200)
    );
    let json_form = format!("{}\"a\"{}", "[".repeat(100), "]".repeat(100));
    for body in [
        operations(format!("\"{}\"", "(".repeat(8_200))),
        operations(abs),
        operations(json_form),
    ] {
        let (status, answer) = http(address, "POST", "/v1/aggregates", Some(&body));
        assert_eq!(status, 400, "{answer}");
        assert!(
            answer.contains("Operations nested deeper than 64 levels"),
            "{answer}"
        );
    }
    let search = format!(
        "/v1/search/resource/generic?filter={}id%20%3D%201",
        "not%20".repeat(3_500)
    );
    let (status, answer) = http(address, "POST", &search, None);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("nested deeper than 64 levels"), "{answer}");
    let json_filter = format!(
        "{}{{\"=\": {{\"id\": \"a\"}}}}{}",
        "{\"not\": ".repeat(3_000),
        "}".repeat(3_000)
    );
    let (status, answer) = http(
        address,
        "POST",
        "/v1/search/resource/generic",
        Some(&json_filter),
    );
    assert_eq!(status, 400, "{answer}");

    // A body announced far past the limit is refused before it is awaited
    // (the request timeout is 60 s; the answer comes at once).
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    write!(
        stream,
        "POST /v1/metric HTTP/1.1\r\nHost: {address}\r\nAuthorization: basic YWRtaW46\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{{}}"
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 413");
    assert!(started.elapsed() < Duration::from_secs(10));

    // Still serving.
    let (status, _) = http(address, "GET", "/v1/archive_policy", None);
    assert_eq!(status, 200);
}

#[tokio::test]
async fn measures_resample_by_timespan_and_calendar_period() {
    // The example of docs/gnocchi-semantics.md#calendar-resampling.
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let policy = r#"{"name": "daily", "definition": [{"granularity": "1d", "points": 1000}]}"#;
    assert_eq!(
        post(&app, "/v1/archive_policy", &[ADMIN], policy)
            .await
            .status,
        StatusCode::CREATED
    );
    let metric = post(
        &app,
        "/v1/metric",
        &[ADMIN],
        r#"{"archive_policy_name": "daily"}"#,
    )
    .await;
    let id = metric.json()["id"].as_str().unwrap().to_owned();
    let measures = format!("/v1/metric/{id}/measures");
    let days = [
        ("2015-03-01", 10),
        ("2015-03-06", 12),
        ("2015-04-01", 2),
        ("2015-04-06", 4),
        ("2015-10-06", 7),
        ("2016-01-06", 12),
        ("2016-02-06", 4),
    ];
    let body: Vec<String> = days
        .iter()
        .map(|(day, value)| format!(r#"{{"timestamp": "{day}", "value": {value}}}"#))
        .collect();
    let body = format!("[{}]", body.join(", "));
    assert_eq!(
        post(&app, &measures, &[ADMIN], &body).await.status,
        StatusCode::ACCEPTED
    );
    let quarters = get(
        &app,
        &format!("{measures}?refresh=true&granularity=86400&resample=Q"),
        &[ADMIN],
    )
    .await;
    assert_eq!(
        quarters.json(),
        serde_json::json!([
            ["2015-01-01T00:00:00+00:00", "Q", 11.0],
            ["2015-04-01T00:00:00+00:00", "Q", 3.0],
            ["2015-10-01T00:00:00+00:00", "Q", 7.0],
            ["2016-01-01T00:00:00+00:00", "Q", 8.0]
        ])
    );
    let years = get(
        &app,
        &format!("{measures}?granularity=1d&resample=365d"),
        &[ADMIN],
    )
    .await;
    assert_eq!(years.json()[0][1], serde_json::json!(31536000.0));
    let bad = get(
        &app,
        &format!("{measures}?granularity=1d&resample=y"),
        &[ADMIN],
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body.contains("Unable to parse timespan"),
        "{}",
        bad.body
    );
}
