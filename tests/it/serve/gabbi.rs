//! Cases of Gnocchi 4.7.1's own functional tests (the gabbi files in
//! gnocchi/tests/functional/gabbits/), sent through the router: each test
//! names the file and the case it mirrors, and asserts the status and body
//! Gnocchi gives there.

use axum::http::StatusCode;
use carbonara::server::AuthMode;

use crate::serve::common::{Answer, empty_store, send, test_app};

const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json");

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    who: (&str, &str),
    body: Option<&str>,
) -> Answer {
    send(app, method, path, &[who, JSON, ACCEPT], body).await
}

fn assert_answer(answer: &Answer, status: StatusCode, body: &str) {
    assert_eq!((answer.status, answer.body.as_str()), (status, body));
}

// archive.yaml, "patch archive policy with non-matching granularity": the
// policy has 1 s and 2 s; the new definition 5 s and 2 s. Gnocchi pairs
// both sorted by granularity and names the current one of the first pair
// that differs.
#[tokio::test]
async fn a_changed_granularity_is_named_as_gnocchi_finds_it_first() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let created = call(
        &app,
        "POST",
        "/v1/archive_policy",
        ADMIN,
        Some(
            r#"{"name": "medium", "definition": [
                {"granularity": "1 second", "points": 20},
                {"granularity": "2 second"}]}"#,
        ),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let patched = call(
        &app,
        "PATCH",
        "/v1/archive_policy/medium",
        ADMIN,
        Some(
            r#"{"definition": [
                {"granularity": "5 second", "points": 20},
                {"granularity": "2 second"}]}"#,
        ),
    )
    .await;
    assert_answer(
        &patched,
        StatusCode::BAD_REQUEST,
        r#"{"code": 400, "title": "Bad Request", "description": "Archive policy medium does not support change: 1.0 granularity interval was changed"}"#,
    );
}
