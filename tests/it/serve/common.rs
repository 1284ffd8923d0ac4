//! Helpers of the `serve` tests: a router over a fresh store, requests
//! sent with tower's `oneshot` (no socket), and the normalisation that
//! lets answers of two servers be compared (fresh metric ids, times).

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use carbonara::server::{self, App, AuthMode, Config};
use carbonara::store::Location;
use regex::Regex;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::TestStore;

/// A router over a fresh store without policies, configured like the
/// recorded real Gnocchi (max_limit 7, CORS for http://foobar.com, proxy
/// headers trusted), no background pass.
pub fn test_app(store: &TestStore, auth: AuthMode) -> axum::Router {
    test_app_with(store, |config| config.auth = auth)
}

/// The same, with other settings.
pub fn test_app_with(store: &TestStore, adjust: impl FnOnce(&mut Config)) -> axum::Router {
    let mut config = Config::new(Location::Directory(store.path().to_owned()));
    config.max_limit = 7;
    config.cors_allowed_origins = vec!["http://foobar.com".to_owned()];
    config.proxy_headers = true;
    config.process_interval = None;
    adjust(&mut config);
    server::router(App::open(config).unwrap())
}

pub fn empty_store() -> TestStore {
    let store = TestStore::empty();
    store
        .run(&["init", "--sacks", "8", "--no-archive-policies"])
        .success();
    store
}

/// Where a store's index is: its own SQLite file, or a PostgreSQL database
/// in Gnocchi's schema (the test server of tests/it/postgresql.rs).
#[derive(Debug, Clone, Copy)]
pub enum IndexBackend {
    Sqlite,
    Postgresql,
}

impl IndexBackend {
    pub const ALL: [IndexBackend; 2] = [IndexBackend::Sqlite, IndexBackend::Postgresql];
}

/// A store made by `init` without policies on one index backend, and the
/// directory of its archive and incoming files when they are not in it.
pub struct BackendStore {
    pub store: TestStore,
    _files: Option<tempfile::TempDir>,
}

/// [`empty_store`] on `backend`: on PostgreSQL, `init --index` on a new
/// database (Gnocchi's schema, the `generic` type) with the file drivers in
/// a directory of their own.
pub fn empty_store_on(backend: IndexBackend) -> BackendStore {
    let init = ["init", "--sacks", "8", "--no-archive-policies"];
    match backend {
        IndexBackend::Sqlite => BackendStore {
            store: empty_store(),
            _files: None,
        },
        IndexBackend::Postgresql => {
            let store = TestStore::empty();
            let files = tempfile::tempdir().unwrap();
            let url = crate::postgresql::fresh_database("serve");
            let files_url = format!("file://{}", files.path().display());
            let mut args = init.to_vec();
            args.extend(["--index", &url, "--storage", &files_url]);
            args.extend(["--incoming", &files_url]);
            store.run(&args).success();
            BackendStore {
                store,
                _files: Some(files),
            }
        }
    }
}

/// Runs `case` on a router over a fresh store of each index backend
/// ([`empty_store_on`], [`test_app`] with basic authentication), SQLite
/// first. The router is opened and dropped outside the runtime, as `carbonara
/// serve` does: PostgreSQL's client closes its connections by blocking its
/// thread, which a runtime's thread must not do.
pub fn on_each_backend(case: impl AsyncFn(&axum::Router)) {
    for backend in IndexBackend::ALL {
        eprintln!("on the {backend:?} index");
        let store = empty_store_on(backend);
        let app = test_app(&store.store, AuthMode::Basic);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(case(&app));
        drop(runtime);
        drop(app);
    }
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        crate::common::parse_python_json(&self.body)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Sends one request through the router.
pub async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    send_bytes(app, method, path, headers, body.map(str::as_bytes)).await
}

/// Sends one request with a body of any bytes through the router.
pub async fn send_bytes(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_vec())))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

/// The headers of a Prometheus remote write by `admin`.
pub const REMOTE_WRITE: [(&str, &str); 3] = [
    ("authorization", "basic YWRtaW46"),
    ("content-type", "application/x-protobuf"),
    ("content-encoding", "snappy"),
];

/// Sends a remote-write request as Prometheus does: protobuf, then a
/// snappy block.
pub async fn send_remote_write(
    app: &axum::Router,
    request: &carbonara::ingest::prometheus::WriteRequest,
) -> Answer {
    let body = snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(request))
        .unwrap();
    send_bytes(
        app,
        "POST",
        "/v1/prometheus/write",
        &REMOTE_WRITE,
        Some(&body),
    )
    .await
}

/// Sends a recorded request (`method`, `headers` as a JSON object) to the
/// router as if to `host`, its header values passed through `adjust`.
pub async fn send_recorded(
    app: &axum::Router,
    recorded: &Value,
    host: &str,
    path: &str,
    body: Option<&str>,
    adjust: impl Fn(&str) -> String,
) -> Answer {
    let mut headers: Vec<(String, String)> = recorded["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), adjust(v.as_str().unwrap())))
        .collect();
    headers.push(("host".to_owned(), host.to_owned()));
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let method = recorded["method"].as_str().unwrap();
    let binary = recorded["body_base64"].as_str().map(|text| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    });
    let body = binary.as_deref().or(body.map(str::as_bytes));
    send_bytes(app, method, path, &header_refs, body).await
}

/// Replaces what differs between two servers by placeholders: values
/// captured from earlier answers, random (version 4) UUIDs numbered in
/// order of appearance, SHA-1 ETags, and times of the session (after 2025).
pub struct Normalizer {
    uuid4: Regex,
    now: Regex,
    etag: Regex,
    http_date: Regex,
    seen: HashMap<String, String>,
}

impl Normalizer {
    pub fn new() -> Normalizer {
        Normalizer {
            uuid4: Regex::new(
                "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
            )
            .unwrap(),
            now: Regex::new(r"20(2[5-9]|[3-9][0-9])-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00")
                .unwrap(),
            etag: Regex::new("\"[0-9a-f]{40}\"").unwrap(),
            http_date: Regex::new(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT").unwrap(),
            seen: HashMap::new(),
        }
    }

    /// Puts this side's values back in place of the placeholders another
    /// side's text carries (ids in recorded request paths).
    pub fn restore(&self, text: &str) -> String {
        let mut text = text.to_owned();
        let mut pairs: Vec<(&String, &String)> = self.seen.iter().collect();
        // UUID4-12 before UUID4-1.
        pairs.sort_by_key(|(_, placeholder)| std::cmp::Reverse(placeholder.len()));
        for (id, placeholder) in pairs {
            text = text.replace(placeholder.as_str(), id);
        }
        text
    }

    pub fn apply(&mut self, text: &str, captured: &[(String, String)]) -> String {
        let mut text = text.to_owned();
        for (name, value) in captured {
            if !value.is_empty() {
                text = text.replace(value.as_str(), &format!("{{{name}}}"));
            }
        }
        let ids: Vec<String> = self
            .uuid4
            .find_iter(&text)
            .map(|m| m.as_str().to_owned())
            .collect();
        for id in ids {
            let count = self.seen.len();
            let placeholder = self
                .seen
                .entry(id.clone())
                .or_insert_with(|| format!("UUID4-{count}"))
                .clone();
            text = text.replace(&id, &placeholder);
        }
        let text = self.now.replace_all(&text, "NOW");
        let text = self.etag.replace_all(&text, "ETAG");
        self.http_date.replace_all(&text, "HTTP-DATE").into_owned()
    }
}

/// JSON bodies whose arrays are sets (or lists in an unspecified order).
pub fn canonical(value: &mut Value, sort_arrays: bool) {
    match value {
        Value::Object(fields) => {
            for (key, item) in fields.iter_mut() {
                if key == "aggregation_methods"
                    && let Value::Array(items) = item
                {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
                // A resource's metrics come in the database's order.
                if key == "metrics"
                    && let Value::Object(metrics) = item
                {
                    metrics.sort_keys();
                }
                canonical(item, false);
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                canonical(item, false);
            }
            if sort_arrays {
                items.sort_by_key(|a| {
                    let key = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
                    key("name")
                        .or_else(|| key("id"))
                        .unwrap_or_else(|| a.to_string())
                });
            }
        }
        _ => {}
    }
}

pub fn comparable(body: &str, content_type: Option<&str>, sort_arrays: bool) -> String {
    if content_type == Some("application/json") && !body.is_empty() {
        let mut value = crate::common::parse_python_json(body);
        canonical(&mut value, sort_arrays);
        value.to_string()
    } else {
        body.to_owned()
    }
}

pub const COMPARED_HEADERS: [&str; 10] = [
    "content-type",
    "location",
    "link",
    "allow",
    "vary",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
];

/// How one recorded answer (`status`, `response_headers`, `response_body`)
/// and ours differ, after each side's normalisation.
pub fn compare(
    step: &Value,
    ours: &Answer,
    (real_norm, real_captured): (&mut Normalizer, &[(String, String)]),
    (our_norm, our_captured): (&mut Normalizer, &[(String, String)]),
    sort_arrays: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    let real_status = step["status"].as_u64().unwrap();
    if u64::from(ours.status.as_u16()) != real_status {
        problems.push(format!("status {} instead of {real_status}", ours.status));
    }
    for header in COMPARED_HEADERS {
        let real = step["response_headers"][header]
            .as_str()
            .map(|v| real_norm.apply(v, real_captured));
        let our = ours.header(header).map(|v| our_norm.apply(v, our_captured));
        if real != our {
            problems.push(format!("header {header}: {our:?} instead of {real:?}"));
        }
    }
    for header in ["etag", "last-modified"] {
        let real = step["response_headers"][header].is_string();
        if real != ours.header(header).is_some() {
            problems.push(format!("header {header} present: {}", !real));
        }
    }
    let real_body = real_norm.apply(
        &comparable(
            step["response_body"].as_str().unwrap(),
            step["response_headers"]["content-type"].as_str(),
            sort_arrays,
        ),
        real_captured,
    );
    let our_body = our_norm.apply(
        &comparable(&ours.body, ours.header("content-type"), sort_arrays),
        our_captured,
    );
    if real_body != our_body {
        problems.push(format!("body\n   ours: {our_body}\n   real: {real_body}"));
    }
    problems
}

pub const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
pub const JSON: (&str, &str) = ("content-type", "application/json");
pub const ACCEPT: (&str, &str) = ("accept", "application/json");

/// `POST` of a JSON body as admin.
pub async fn post(app: &axum::Router, path: &str, body: &str) -> Answer {
    send(app, "POST", path, &[ADMIN, JSON, ACCEPT], Some(body)).await
}

/// `GET` as admin.
pub async fn get(app: &axum::Router, path: &str) -> Answer {
    send(app, "GET", path, &[ADMIN, ACCEPT], None).await
}
