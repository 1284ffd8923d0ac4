//! One API call as the handlers see it: the caller's headers, the query
//! string form-decoded with repeated keys kept (`granularity=1&granularity=60`),
//! the body (bounded; a clear 413 beyond the limit), and the URLs Gnocchi
//! writes into `Location`, `Link` and documents (`http://HOST/v1/…`, from
//! `Host` or, when trusted, the proxy's `Forwarded`/`X-Forwarded-*`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};

use super::App;
use super::auth::{AuthMode, Caller};
use super::error::{ApiError, ApiResult};
use crate::pyform;
use crate::pyform::json::Json;
use crate::query::aggregates::Fill;
use crate::store::Page;
use crate::time::{self, Span, Timestamp};

/// The content type of (almost) every body.
pub const JSON: &[&str] = &["application/json"];

/// The path the client sent, before slashes were tidied for routing.
#[derive(Debug, Clone)]
pub struct OriginalPath(pub String);

pub struct Call {
    pub method: Method,
    pub headers: HeaderMap,
    /// Query parameters in order, repeats kept.
    pub params: Vec<(String, String)>,
    pub body: Bytes,
    /// `scheme://host` + the proxy's prefix: what `/v1/…` is appended to.
    pub base_url: String,
    /// The path as sent (for `Link`).
    pub path: String,
    /// The caller keystone/'s middleware made of a validated token.
    keystone_caller: Option<Caller>,
    app: Arc<App>,
}

impl FromRequest<Arc<App>> for Call {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &Arc<App>) -> Result<Call, ApiError> {
        let (mut parts, body) = request.into_parts();
        let limit = app.config.max_body_size;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The request body is larger than the server's limit of {limit} bytes (--max-body-size)"
                ),
            )
        };
        // A declared length past the limit is refused before any byte is
        // read, rather than waiting for a body that may never come.
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.trim().parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        let body = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| too_large())?;
        let params = parts
            .uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let path = parts
            .extensions
            .get::<OriginalPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.0.clone());
        let base_url = base_url(&parts.headers, app.config.proxy_headers);
        Ok(Call {
            method: parts.method,
            headers: parts.headers,
            params,
            body,
            base_url,
            path,
            keystone_caller: parts.extensions.remove::<Caller>(),
            app: app.clone(),
        })
    }
}

impl Call {
    pub fn caller(&self) -> ApiResult<Caller> {
        match (self.app.config.auth, &self.keystone_caller) {
            (AuthMode::Keystone, Some(caller)) => Ok(caller.clone()),
            (mode, _) => Caller::identify(mode, &self.headers),
        }
    }

    /// The last value of a parameter (pecan's keyword argument).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeatable parameter, in order.
    pub fn param_list(&self, name: &str) -> Vec<&str> {
        self.params
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean parameter (`1 t true on y yes` / `0 f false off n no`).
    pub fn bool_param(&self, name: &str) -> ApiResult<bool> {
        match self.param(name) {
            None => Ok(false),
            Some(text) => parse_bool(name, text),
        }
    }

    /// A timestamp parameter: ISO 8601, epoch seconds, or relative to `now`.
    pub fn timestamp_param(&self, name: &str, now: Timestamp) -> ApiResult<Option<Timestamp>> {
        self.param(name)
            .map(|text| {
                time::parse_timestamp(text, now)
                    .map_err(|_| ApiError::argument(name, "Must be a datetime or a timestamp"))
            })
            .transpose()
    }

    /// A timespan parameter (`granularity`).
    pub fn timespan_param(&self, name: &str) -> ApiResult<Option<Span>> {
        self.param(name)
            .map(|text| {
                time::parse_timespan(text)
                    .map_err(|e| ApiError::argument(name, super::input::timespan_reason(&e)))
            })
            .transpose()
    }

    /// A number parameter (`needed_overlap`), read as Python's `float`.
    pub fn number_param(&self, name: &str) -> ApiResult<Option<f64>> {
        self.param(name)
            .map(|text| {
                pyform::float::parse_python_float(text)
                    .ok_or_else(|| ApiError::argument(name, "Must be a number"))
            })
            .transpose()
    }

    /// `fill`: a number, `null` or `dropna`.
    pub fn fill_param(&self) -> ApiResult<Option<Fill>> {
        self.param("fill")
            .map(|text| {
                text.parse::<Fill>()
                    .map_err(|reason| ApiError::argument("fill", &reason))
            })
            .transpose()
    }

    /// `limit`, `marker` and `sort`: Gnocchi's pagination options, the
    /// limit clamped to `--max-limit`.
    pub fn page(&self) -> ApiResult<Page> {
        let max = self.app.config.max_limit;
        let limit = match self.param("limit") {
            None => max,
            Some(text) => {
                let value = parse_python_int(text).ok_or_else(|| {
                    pagination_error("expected int for dictionary value @ data['limit']")
                })?;
                if value < 1 {
                    return Err(pagination_error(
                        "value must be at least 1 for dictionary value @ data['limit']",
                    ));
                }
                usize::try_from(value).map_or(max, |v| v.min(max))
            }
        };
        Ok(Page {
            limit: Some(limit),
            marker: self.param("marker").map(str::to_owned),
            sorts: self
                .param_list("sort")
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        })
    }

    /// `Link: <…?params>; rel="next"` when a page is full: the request's
    /// parameters with the effective `limit`, `marker` and `sort` (the
    /// listing's defaults when none was given), keys sorted.
    pub fn next_link(&self, page: &Page, default_sorts: &[&str], marker: String) -> String {
        let sorts: Vec<String> = if page.sorts.is_empty() {
            default_sorts.iter().map(|s| (*s).to_owned()).collect()
        } else {
            page.sorts.clone()
        };
        let mut keys: Vec<&str> = self
            .params
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| !matches!(*k, "limit" | "marker" | "sort"))
            .collect();
        keys.extend(["limit", "marker", "sort"]);
        keys.sort_unstable();
        keys.dedup();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for key in keys {
            let values: Vec<String> = match key {
                "limit" => vec![page.limit.unwrap_or(0).to_string()],
                "marker" => vec![marker.clone()],
                "sort" => sorts.clone(),
                other => {
                    // pecan gives a repeated parameter as a list, a single one as is.
                    self.param_list(other)
                        .iter()
                        .map(|v| (*v).to_owned())
                        .collect()
                }
            };
            pairs.extend(values.into_iter().map(|v| (key.to_owned(), v)));
        }
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("<{}{}?{query}>; rel=\"next\"", self.base_url, self.path)
    }

    /// `http://HOST/v1` + `suffix`, percent-quoted like Python's `quote`.
    pub fn location(&self, suffix: &str) -> String {
        format!("{}{}", self.base_url, quote(&format!("/v1{suffix}")))
    }

    /// The JSON body, after Gnocchi's checks: the content type (415), then
    /// decoding (400 `Unable to decode body`).
    pub fn json_body(&self, content_types: &[&str]) -> ApiResult<serde_json::Value> {
        let mime = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
        if !mime.is_some_and(|m| content_types.contains(&m.as_str())) {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, ""));
        }
        decode_json(&self.body)
    }

    pub fn has_body(&self) -> bool {
        !self.body.is_empty()
    }
}

/// ujson's reading of a body, with its error words where they differ.
pub fn decode_json(body: &[u8]) -> ApiResult<serde_json::Value> {
    serde_json::from_slice(body).map_err(|e| {
        let reason = if e.is_eof() && body.iter().all(u8::is_ascii_whitespace) {
            "Expected object or value".to_owned()
        } else if e.to_string().starts_with("trailing characters") {
            "Trailing data".to_owned()
        } else if e.is_syntax() || e.is_eof() {
            "Expected object or value".to_owned()
        } else {
            e.to_string()
        };
        ApiError::with_object(
            StatusCode::BAD_REQUEST,
            Json::object([
                ("cause", Json::str("Unable to decode body")),
                ("reason", Json::str(reason)),
                ("detail", Json::Array(Vec::new())),
            ]),
        )
    })
}

fn pagination_error(reason: &str) -> ApiError {
    ApiError::with_object(
        StatusCode::BAD_REQUEST,
        Json::object([
            ("cause", Json::str("Argument value error")),
            ("reason", Json::str(reason)),
        ]),
    )
}

/// oslo's `bool_from_string(strict=True)`, with Gnocchi's message.
pub fn parse_bool(name: &str, text: &str) -> ApiResult<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Ok(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "Unable to parse `{name}': Unrecognized value '{text}', acceptable values are: '0', '1', 'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
        ))),
    }
}

/// Python's `int(text)`.
fn parse_python_int(text: &str) -> Option<i128> {
    let trimmed = text.trim().replace('_', "");
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(&trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// webob's `host_url` after Gnocchi's proxy middleware, plus the proxy's
/// `X-Forwarded-Prefix` (its `SCRIPT_NAME`).
fn base_url(headers: &HeaderMap, proxy_headers: bool) -> String {
    let mut scheme = "http".to_owned();
    let mut host = header_text(headers, "host")
        .unwrap_or("localhost")
        .to_owned();
    let mut prefix = String::new();
    if proxy_headers {
        if let Some(forwarded) = header_text(headers, "forwarded") {
            let first = forwarded.split(',').next().unwrap_or("");
            for pair in first.split(';') {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                match key.trim().to_ascii_lowercase().as_str() {
                    "proto" if !value.trim().is_empty() => scheme = value.trim().to_owned(),
                    "host" if !value.trim().is_empty() => host = value.trim().to_owned(),
                    _ => {}
                }
            }
        } else {
            if let Some(proto) = header_text(headers, "x-forwarded-proto").filter(|p| !p.is_empty())
            {
                scheme = proto.to_owned();
            }
            if let Some(forwarded_host) =
                header_text(headers, "x-forwarded-host").filter(|h| !h.is_empty())
            {
                host = forwarded_host.to_owned();
            }
        }
        if let Some(value) = header_text(headers, "x-forwarded-prefix") {
            prefix = value.to_owned();
        }
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !host.ends_with(']') => (name.to_owned(), Some(port.to_owned())),
        _ => (host.clone(), None),
    };
    let port =
        port.filter(|p| !((scheme == "http" && p == "80") || (scheme == "https" && p == "443")));
    match port {
        Some(port) => format!("{scheme}://{name}:{port}{prefix}"),
        None => format!("{scheme}://{name}{prefix}"),
    }
}

const QUOTE_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

const QUOTE_PLUS_SAFE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b' ');

/// Python's `urllib.parse.quote` (`/` kept).
pub fn quote(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUOTE_SAFE).to_string()
}

/// Python's `quote_plus`.
fn quote_plus(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUOTE_PLUS_SAFE)
        .to_string()
        .replace(' ', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_is_pythons() {
        assert_eq!(
            quote("/v1/archive_policy/é x~"),
            "/v1/archive_policy/%C3%A9%20x~"
        );
        assert_eq!(quote_plus("name:desc@a b*"), "name%3Adesc%40a+b%2A");
    }

    #[test]
    fn base_urls_follow_webob_and_the_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.org:80".parse().unwrap());
        assert_eq!(base_url(&headers, true), "http://example.org");
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "example.org:9000".parse().unwrap());
        headers.insert("x-forwarded-prefix", "/metric".parse().unwrap());
        assert_eq!(base_url(&headers, true), "https://example.org:9000/metric");
        assert_eq!(base_url(&headers, false), "http://example.org");
        headers.insert(
            "forwarded",
            "proto=https;host=example.net, for=1.2.3.4".parse().unwrap(),
        );
        assert_eq!(base_url(&headers, true), "https://example.net/metric");
    }

    #[test]
    fn booleans_and_ints_read_like_python() {
        assert!(parse_bool("details", " TRUE ").unwrap());
        assert!(!parse_bool("details", "off").unwrap());
        let err = parse_bool("details", "x").unwrap_err();
        assert!(
            err.description
                .to_python_string()
                .contains("Unrecognized value 'x'")
        );
        assert_eq!(parse_python_int(" +1_0 "), Some(10));
        assert_eq!(parse_python_int("1.0"), None);
    }
}
