//! CORS as Gnocchi's oslo.middleware does it, for the origins given with
//! `--cors-allowed-origin`: credentials allowed, preflights answered with
//! the requested method and headers when the method is one of oslo's and
//! every header is allowed (Gnocchi's list plus the simple ones).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;

const ALLOW_METHODS: [&str; 8] = [
    "OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "PATCH",
];
/// Gnocchi's `allow_headers` then oslo's simple headers.
const ALLOW_HEADERS: [&str; 15] = [
    "Authorization",
    "X-Auth-Token",
    "X-Subject-Token",
    "X-User-Id",
    "X-Domain-Id",
    "X-Project-Id",
    "X-Roles",
    "Accept",
    "Accept-Language",
    "Content-Type",
    "Cache-Control",
    "Content-Language",
    "Expires",
    "Last-Modified",
    "Pragma",
];
const MAX_AGE: &str = "3600";

fn text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The allowed origin a request comes from (`*` when any is).
fn allowed_origin(app: &App, headers: &HeaderMap) -> Option<String> {
    let origin = text(headers, "origin")?;
    let origins = &app.config.cors_allowed_origins;
    if origins.iter().any(|o| o == origin) {
        Some(origin.to_owned())
    } else if origins.iter().any(|o| o == "*") {
        Some("*".to_owned())
    } else {
        None
    }
}

pub async fn cors(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let origin = allowed_origin(&app, request.headers());
    if request.method() == Method::OPTIONS {
        let preflight = origin.as_ref().and_then(|origin| {
            let method = text(request.headers(), "access-control-request-method")?;
            if !ALLOW_METHODS.contains(&method) {
                return None;
            }
            let requested: Vec<String> = text(request.headers(), "access-control-request-headers")
                .unwrap_or("")
                .split(',')
                .map(|h| h.trim().to_owned())
                .filter(|h| !h.is_empty())
                .collect();
            let all_allowed = requested
                .iter()
                .all(|h| ALLOW_HEADERS.iter().any(|a| a.eq_ignore_ascii_case(h)));
            all_allowed.then(|| (origin.clone(), method.to_owned(), requested))
        });
        let response = next.run(request).await;
        let mut response = if response.status().is_success() {
            response
        } else {
            StatusCode::OK.into_response()
        };
        if let Some((origin, method, requested)) = preflight {
            let headers = response.headers_mut();
            set(headers, header::VARY, "Origin");
            set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
            set(headers, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
            set(headers, header::ACCESS_CONTROL_MAX_AGE, MAX_AGE);
            set(headers, header::ACCESS_CONTROL_ALLOW_METHODS, &method);
            if !requested.is_empty() {
                set(
                    headers,
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    &requested.join(","),
                );
            }
        }
        return response;
    }
    let mut response = next.run(request).await;
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        let vary = match headers.get(header::VARY).and_then(|v| v.to_str().ok()) {
            Some(vary) => format!("{vary},Origin"),
            None => "Origin".to_owned(),
        };
        set(headers, header::VARY, &vary);
        set(headers, header::ACCESS_CONTROL_ALLOW_ORIGIN, &origin);
        set(headers, header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    }
    response
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
