//! `serve`'s keystone mode replayed without Python: the exchanges with a
//! real Keystone 30 recorded by scripts/oracle/keystone.sh
//! (tests/golden/keystone/, see its README) are served, in order, by a
//! small HTTP server on loopback standing in for Keystone; carbonara's
//! router, configured against it, is sent the recorded requests and must
//! make the same calls to Keystone and give the same answers — which, for
//! 401 and 503, are keystonemiddleware's own answers to the same requests,
//! and whose creators are the identity keystonemiddleware handed on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use carbonara::server::AuthMode;
use carbonara::server::keystone::KeystoneConfig;
use regex::Regex;
use serde_json::Value;

use crate::common::TestStore;
use crate::serve::common::{Answer, send, test_app_with};

fn scenario(name: &str) -> Value {
    let path = format!(
        "{}/tests/golden/keystone/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Keystone as recorded: each request must be the next recorded one
/// (method, path, query, tokens, body); it gets the recorded answer, with
/// every `expires_at` moved to `expires_in` from now (the recorded ones
/// are past) and `Connection: close`, so that stopping the server leaves
/// no pooled connection behind.
struct Replay {
    url: String,
    state: Arc<ReplayState>,
    server: tokio::task::JoinHandle<()>,
}

struct ReplayState {
    expected: Mutex<VecDeque<Value>>,
    mismatches: Mutex<Vec<String>>,
    url: String,
    expires_in: chrono::TimeDelta,
}

impl Replay {
    async fn start(exchanges: &Value, expires_in: chrono::TimeDelta) -> Replay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(ReplayState {
            expected: Mutex::new(exchanges.as_array().unwrap().iter().cloned().collect()),
            mismatches: Mutex::new(Vec::new()),
            url: url.clone(),
            expires_in,
        });
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Replay { url, state, server }
    }

    /// Stops listening: Keystone is down.
    fn stop(&self) {
        self.server.abort();
    }

    /// The recorded exchanges not asked for, and what went wrong.
    fn finish(&self) -> (usize, Vec<String>) {
        (
            self.state.expected.lock().unwrap().len(),
            self.state.mismatches.lock().unwrap().clone(),
        )
    }
}

async fn answer(
    State(state): State<Arc<ReplayState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let next = state.expected.lock().unwrap().pop_front();
    let Some(next) = next else {
        state
            .mismatches
            .lock()
            .unwrap()
            .push(format!("unexpected {method} {uri}"));
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let request = &next["request"];
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    let mut wrong = Vec::new();
    if method.as_str() != request["method"] || uri.path() != request["path"] {
        wrong.push(format!("{method} {}", uri.path()));
    }
    if uri.query().unwrap_or("") != request["query"] {
        wrong.push(format!("query {:?}", uri.query()));
    }
    for name in [
        "x-auth-token",
        "x-subject-token",
        "openstack-identity-access-rules",
    ] {
        if header(name).as_deref() != request["headers"][name].as_str() {
            wrong.push(format!("{name}: {:?}", header(name)));
        }
    }
    let sent: Option<Value> = serde_json::from_slice(&body).ok();
    let recorded: Option<Value> = request["body"]
        .as_str()
        .map(|b| serde_json::from_str(b).unwrap());
    if sent != recorded {
        wrong.push(format!("body {}", String::from_utf8_lossy(&body)));
    }
    if !wrong.is_empty() {
        state.mismatches.lock().unwrap().push(format!(
            "{} {} answered as recorded but got {}",
            request["method"],
            request["path"],
            wrong.join(", ")
        ));
    }
    let response = &next["response"];
    let expires = (chrono::Utc::now() + state.expires_in)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let body = Regex::new(r#""expires_at": "[^"]*""#)
        .unwrap()
        .replace_all(response["body"].as_str().unwrap(), |_: &regex::Captures| {
            format!(r#""expires_at": "{expires}""#)
        })
        .replace("{keystone}", &state.url);
    let mut reply = Response::builder()
        .status(response["status"].as_u64().unwrap() as u16)
        .header("connection", "close");
    for (name, value) in response["headers"].as_object().unwrap() {
        reply = reply.header(name.as_str(), value.as_str().unwrap());
    }
    reply.body(axum::body::Body::from(body)).unwrap()
}

/// The scenario's options, against `url`.
fn options(scenario: &Value, url: &str) -> BTreeMap<String, String> {
    scenario["options"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().replace("{keystone}", url)))
        .collect()
}

fn keystone_app(store: &TestStore, options: &BTreeMap<String, String>) -> axum::Router {
    let config = KeystoneConfig::from_options(options).unwrap();
    test_app_with(store, |c| {
        c.auth = AuthMode::Keystone;
        c.keystone = Some(config);
    })
}

async fn send_step(app: &axum::Router, request: &Value) -> Answer {
    let headers: Vec<(&str, &str)> = request["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    send(
        app,
        request["method"].as_str().unwrap(),
        request["path"].as_str().unwrap(),
        &headers,
        request["body"].as_str(),
    )
    .await
}

/// A document without what differs from run to run: ids and URLs.
fn stable(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "id" | "href"))
                .map(|(k, v)| (k.clone(), stable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(stable).collect()),
        other => other.clone(),
    }
}

/// Replays one recorded scenario; returns carbonara's answers.
async fn replay(name: &str) -> Vec<Answer> {
    let scenario = scenario(name);
    let keystone = Replay::start(&scenario["keystone"], chrono::TimeDelta::hours(1)).await;
    let store = TestStore::new();
    let app = keystone_app(&store, &options(&scenario, &keystone.url));
    let mut answers = Vec::new();
    for step in scenario["steps"].as_array().unwrap() {
        match step["action"].as_str() {
            Some("stop_keystone") => keystone.stop(),
            // Done in Keystone: its recorded answers say so.
            Some("revoke_service_tokens") => {}
            Some(other) => panic!("{name}: unknown action {other}"),
            None => {
                let got = send_step(&app, &step["request"]).await;
                let wanted = &step["carbonara"];
                let what = format!("{name}: {}", step["request"]);
                assert_eq!(
                    got.status.as_u16(),
                    wanted["status"],
                    "{what}: {}",
                    got.body
                );
                for header in ["content-type", "www-authenticate"] {
                    assert_eq!(
                        got.header(header),
                        wanted["headers"][header]
                            .as_str()
                            .map(|v| v.replace("{keystone}", &keystone.url))
                            .as_deref(),
                        "{what}: {header}"
                    );
                }
                let middleware = &step["keystonemiddleware"];
                if got.status.as_u16() == 401 || got.status.as_u16() == 503 {
                    // keystonemiddleware's own answer, to the byte.
                    assert_eq!(got.body, wanted["body"].as_str().unwrap(), "{what}");
                    assert_eq!(wanted, middleware, "{what}: the recording itself");
                } else if step["request"]["path"] != "/" {
                    assert_eq!(
                        stable(&got.json()),
                        stable(&serde_json::from_str(wanted["body"].as_str().unwrap()).unwrap()),
                        "{what}"
                    );
                    // What gnocchi-api's KeystoneAuthHelper would have read.
                    let identity: Value =
                        serde_json::from_str(middleware["body"].as_str().unwrap()).unwrap();
                    assert_eq!(identity["X-Identity-Status"], "Confirmed", "{what}");
                    if let Some(creator) = got.json().get("creator") {
                        assert_eq!(
                            creator.as_str().unwrap(),
                            format!(
                                "{}:{}",
                                identity["X-User-Id"].as_str().unwrap(),
                                identity["X-Project-Id"].as_str().unwrap()
                            ),
                            "{what}"
                        );
                    }
                }
                answers.push(got);
            }
        }
    }
    let (left, mismatches) = keystone.finish();
    assert!(mismatches.is_empty(), "{name}: {mismatches:#?}");
    assert_eq!(left, 0, "{name}: recorded calls to Keystone never made");
    answers
}

fn exchanges(name: &str) -> Vec<(String, u64)> {
    scenario(name)["keystone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["request"]["method"].as_str().unwrap().to_owned(),
                e["response"]["status"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn calls(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(m, s)| ((*m).to_owned(), *s)).collect()
}

#[tokio::test]
async fn a_valid_token_is_validated_once_and_makes_the_creator() {
    let answers = replay("valid_token").await;
    assert_eq!(answers[0].status, StatusCode::CREATED);
    let creator = answers[0].json()["creator"].as_str().unwrap().to_owned();
    assert_eq!(creator.len(), 65, "{creator}");
    assert_eq!(answers[1].json()[0]["creator"], creator.as_str());
    // Three requests with one token: the service token, one validation.
    assert_eq!(
        exchanges("valid_token"),
        calls(&[("POST", 201), ("GET", 200)])
    );
    // The root needs no token.
    assert_eq!(answers[3].status, StatusCode::OK);
}

#[tokio::test]
async fn the_admin_role_gives_admin_rights() {
    let answers = replay("admin_role").await;
    assert_eq!(answers[0].status, StatusCode::CREATED);
    assert_eq!(answers[1].status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_tokens_get_keystonemiddlewares_401() {
    let answers = replay("bad_token").await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 200]);
    assert_eq!(
        answers[0].body,
        r#"{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}"#
    );
    // No token: Keystone is not asked; a bad or revoked one: 404 from Keystone.
    assert_eq!(
        exchanges("bad_token"),
        calls(&[
            ("POST", 201),
            ("GET", 404),
            ("GET", 404),
            ("GET", 404),
            ("GET", 200)
        ])
    );
}

#[tokio::test]
async fn identity_headers_sent_by_the_client_are_ignored() {
    let answers = replay("spoofed_headers").await;
    assert_eq!(answers[0].status, StatusCode::FORBIDDEN);
    assert_eq!(answers[1].status, StatusCode::CREATED);
    assert!(
        !answers[1].json()["creator"]
            .as_str()
            .unwrap()
            .starts_with("root"),
        "{}",
        answers[1].body
    );
}

#[tokio::test]
async fn a_revoked_service_token_is_renewed() {
    let answers = replay("service_token_renewed").await;
    assert!(answers.iter().all(|a| a.status == StatusCode::OK));
    assert_eq!(
        exchanges("service_token_renewed"),
        calls(&[
            ("POST", 201),
            ("GET", 200),
            ("GET", 401),
            ("POST", 201),
            ("GET", 200)
        ])
    );
}

#[tokio::test]
async fn keystone_down_gets_keystonemiddlewares_503() {
    let answers = replay("keystone_down").await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    // A token validated before Keystone stopped is served from the cache.
    assert_eq!(statuses, [200, 200, 503, 503, 503]);
    assert!(
        answers[4]
            .body
            .contains("The Keystone service is temporarily unavailable."),
        "{}",
        answers[4].body
    );
}

/// The valid_token recording with its user token expiring soon.
#[tokio::test]
async fn a_cached_token_is_not_served_past_its_expiry() {
    let scenario = scenario("valid_token");
    let keystone = Replay::start(&scenario["keystone"], chrono::TimeDelta::seconds(2)).await;
    let store = TestStore::new();
    let mut options = options(&scenario, &keystone.url);
    // Kept as long as it is valid, however long that is.
    options.insert("token_cache_time".into(), "0".into());
    let app = keystone_app(&store, &options);
    let read = &scenario["steps"][1]["request"];
    assert_eq!(send_step(&app, read).await.status, StatusCode::OK);
    assert_eq!(send_step(&app, read).await.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Expired: refused from the cache, without asking Keystone again.
    let expired = send_step(&app, read).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    let (left, mismatches) = keystone.finish();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn without_a_cache_each_request_is_validated() {
    let scenario = scenario("valid_token");
    // The recorded validation, answered twice.
    let mut calls = scenario["keystone"].as_array().unwrap().clone();
    calls.push(calls[1].clone());
    let keystone = Replay::start(&Value::Array(calls), chrono::TimeDelta::hours(1)).await;
    let store = TestStore::new();
    let mut options = options(&scenario, &keystone.url);
    options.insert("token_cache_time".into(), "-1".into());
    let app = keystone_app(&store, &options);
    let read = &scenario["steps"][1]["request"];
    for _ in 0..2 {
        assert_eq!(send_step(&app, read).await.status, StatusCode::OK);
    }
    let (left, mismatches) = keystone.finish();
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    assert_eq!(left, 0);
}

#[tokio::test]
async fn keystone_unreachable_from_the_start_gets_the_503() {
    let scenario = scenario("keystone_down");
    // A port nothing listens on any more.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let store = TestStore::new();
    let app = keystone_app(&store, &options(&scenario, &closed));
    let step = &scenario["steps"][4];
    assert_eq!(step["request"]["headers"]["Accept"], "text/html");
    let answer = send_step(&app, &step["request"]).await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        answer.body,
        step["keystonemiddleware"]["body"].as_str().unwrap()
    );
}
