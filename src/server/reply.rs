//! Successful answers as Gnocchi writes them: JSON encoded like Python's
//! `json.dumps` (non-ASCII escaped, `NaN`, float reprs), `201` with
//! `Location`, `202`/`204` with empty bodies.

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::pyform::json::Json;

/// 200 with a JSON document.
pub fn ok(document: Json) -> Response {
    with_status(StatusCode::OK, &document)
}

pub fn with_status(status: StatusCode, document: &Json) -> Response {
    let mut response = json_text(document.to_ascii_python_string());
    *response.status_mut() = status;
    response
}

/// 200 with a document already written as Python writes JSON.
pub fn json_text(text: impl Into<Bytes>) -> Response {
    ok_as(text, "application/json")
}

/// 200 with an SVG image.
pub fn svg(text: impl Into<Bytes>) -> Response {
    ok_as(text, "image/svg+xml")
}

fn ok_as(body: impl Into<Bytes>, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body.into()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// 201 with the new object and where it lives.
pub fn created(document: &Json, location: &str) -> Response {
    let mut response = with_status(StatusCode::CREATED, document);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// 202 for queued measures: an empty JSON answer.
pub fn accepted() -> Response {
    let mut response = StatusCode::ACCEPTED.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// 204 for a deletion.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// Adds a header (`Link`, `ETag`…) to an answer.
pub fn with_header(mut response: Response, name: header::HeaderName, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(name, value);
    }
    response
}
