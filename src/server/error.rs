//! The API's one error type and the pages it becomes: Gnocchi's JSON
//! envelope `{"code", "title", "description"}` or webob's HTML, JSON and
//! plain-text pages, chosen by the request's `Accept` header
//! (negotiate.rs). Handlers return `ApiError`; the response carries it in
//! its extensions until `render` (which sees the request) writes the page.
//! Every library error maps here to Gnocchi's words, with the status its
//! `kind()` gives (`ErrorKind::http_status`). An internal error is logged
//! when its response is built, and the client gets a generic page.

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::negotiate::{ErrorStyle, error_style, webob_error_style};
use crate::diagnostics;
use crate::error::ErrorKind;
use crate::ops::path_suffix;
use crate::pyform::json::Json;

/// An error answer: a status, Gnocchi's description (a string, `""` or an
/// object), headers to add (`Allow` on a 405) and, for an internal error,
/// the detail to log.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub description: Json,
    pub headers: Vec<(header::HeaderName, String)>,
    pub detail: Option<String>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            description: Json::str(description),
            headers: Vec::new(),
            detail: None,
        }
    }

    pub fn with_object(status: StatusCode, description: Json) -> ApiError {
        ApiError {
            status,
            description,
            headers: Vec::new(),
            detail: None,
        }
    }

    pub fn bad_request(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, description)
    }

    pub fn not_found(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, description)
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "")
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "")
    }

    /// voluptuous's refusal: `{"cause": "Invalid input", "reason": "… @
    /// data['a'][0]", "detail": ["a", "0"]}`.
    pub fn invalid_input(reason: &str, path: &[String]) -> ApiError {
        ApiError::with_object(StatusCode::BAD_REQUEST, invalid_input(reason, path))
    }

    /// `{"cause": "Argument value error", "detail": NAME, "reason": …}`.
    pub fn argument(detail: &str, reason: &str) -> ApiError {
        ApiError::with_object(
            StatusCode::BAD_REQUEST,
            Json::object([
                ("cause", Json::str("Argument value error")),
                ("detail", Json::str(detail)),
                ("reason", Json::str(reason)),
            ]),
        )
    }

    pub fn with_header(mut self, name: header::HeaderName, value: impl Into<String>) -> ApiError {
        self.headers.push((name, value.into()));
        self
    }

    /// A server fault: the client gets a generic page, the detail is logged
    /// when the response is built.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        ApiError {
            detail: Some(detail.to_string()),
            ..ApiError::new(status(ErrorKind::Internal), "")
        }
    }

    /// An error of `kind` that says `message`; an internal one says nothing
    /// to the client.
    fn of_kind(kind: ErrorKind, message: impl std::fmt::Display) -> ApiError {
        match kind {
            ErrorKind::Internal | ErrorKind::Closed => ApiError::internal(message),
            ErrorKind::NotFound
            | ErrorKind::Conflict
            | ErrorKind::Invalid
            | ErrorKind::Usage
            | ErrorKind::Busy
            | ErrorKind::Unsupported => ApiError::new(status(kind), message.to_string()),
        }
    }
}

/// The status of an error of `kind`.
pub fn status(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(kind.http_status()).expect("every kind has a valid status")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Some(detail) = &self.detail {
            diagnostics::warn(&format!("carbonara serve: internal error: {detail}"));
        }
        // A provisional envelope; `render` rewrites it for the request.
        let mut response = page(&self, ErrorStyle::Envelope, &Environ::default());
        response.extensions_mut().insert(self);
        response
    }
}

/// What webob's templates take from the request.
#[derive(Debug, Clone, Default)]
pub struct Environ {
    pub method: String,
    pub accept: Option<String>,
    pub content_type: Option<String>,
}

impl Environ {
    pub fn of(method: &Method, headers: &HeaderMap) -> Environ {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        Environ {
            method: method.to_string(),
            accept: text(header::ACCEPT),
            content_type: text(header::CONTENT_TYPE),
        }
    }
}

/// Writes the error page the request asked for.
pub fn render(error: &ApiError, environ: &Environ) -> Response {
    page(error, error_style(environ.accept.as_deref()), environ)
}

/// Writes the page webob writes for an error raised outside pecan
/// (keystonemiddleware's 503): never Gnocchi's envelope.
pub fn render_webob(error: &ApiError, environ: &Environ) -> Response {
    page(error, webob_error_style(environ.accept.as_deref()), environ)
}

fn page(error: &ApiError, style: ErrorStyle, environ: &Environ) -> Response {
    let status = error.status;
    let title = title(status);
    let (content_type, body) = if status == StatusCode::NOT_MODIFIED {
        (None, String::new())
    } else {
        match style {
            ErrorStyle::Envelope => (
                Some("application/json"),
                Json::object([
                    ("code", Json::Int(i64::from(status.as_u16()))),
                    ("title", Json::str(title)),
                    ("description", error.description.clone()),
                ])
                .to_ascii_python_string(),
            ),
            ErrorStyle::Html => (
                Some("text/html; charset=UTF-8"),
                format!(
                    "<html>\n <head>\n  <title>{0} {1}</title>\n </head>\n <body>\n  <h1>{0} {1}</h1>\n  {2}\n </body>\n</html>",
                    status.as_u16(),
                    title,
                    template(error, environ, html_escape)
                ),
            ),
            ErrorStyle::Json => (
                Some("application/json"),
                Json::object([
                    (
                        "message",
                        Json::str(template(error, environ, |t| t.to_owned())),
                    ),
                    ("code", Json::str(format!("{} {title}", status.as_u16()))),
                    ("title", Json::str(title)),
                ])
                .to_ascii_python_string(),
            ),
            ErrorStyle::Plain => (
                Some("text/plain; charset=UTF-8"),
                format!(
                    "{} {title}\n\n{}",
                    status.as_u16(),
                    strip_tags(&template(error, environ, |t| t.to_owned()))
                ),
            ),
        }
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.remove(header::CONTENT_TYPE);
    if let Some(content_type) = content_type {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (name, value) in &error.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name.clone(), value);
        }
    }
    response
}

/// webob's body template: the explanation, `<br /><br />`, the detail
/// (the description; an object in Python's `repr`).
fn template(error: &ApiError, environ: &Environ, escape: impl Fn(&str) -> String) -> String {
    let detail = match &error.description {
        Json::Null => String::new(),
        Json::Str(text) => text.clone(),
        other => other.to_python_repr(),
    };
    let detail = escape(&detail);
    match error.status.as_u16() {
        405 => format!(
            "The method {} is not allowed for this resource. <br /><br />\n{detail}",
            escape(&environ.method)
        ),
        406 => format!(
            "The resource could not be generated that was acceptable to your browser\n(content of type {}. <br /><br />\n{detail}",
            escape(environ.accept.as_deref().unwrap_or(""))
        ),
        415 => format!(
            "The request media type {} is not supported by this server.\n<br /><br />\n{detail}",
            escape(environ.content_type.as_deref().unwrap_or(""))
        ),
        code => format!("{}<br /><br />\n{detail}\n\n", explanation(code)),
    }
}

/// webob's `strip_tags`.
fn strip_tags(text: &str) -> String {
    let text = text.replace('\n', " ").replace('\r', "");
    let text = text.replace("<br />", "\n");
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// webob's `html_escape`: `html.escape(quote=True)`, then non-ASCII as
/// decimal character references.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c if c.is_ascii() => out.push(c),
            c => out.push_str(&format!("&#{};", c as u32)),
        }
    }
    out
}

/// webob's titles.
fn title(status: StatusCode) -> &'static str {
    match status.as_u16() {
        304 => "Not Modified",
        413 => "Request Entity Too Large",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// webob's explanations.
fn explanation(code: u16) -> &'static str {
    match code {
        401 => {
            "This server could not verify that you are authorized to access the document you requested. Either you supplied the wrong credentials (e.g., bad password), or your browser does not understand how to supply the credentials required."
        }
        403 => "Access was denied to this resource.",
        404 => "The resource could not be found.",
        408 => "The server has waited too long for the request to be sent by the client.",
        409 => "There was a conflict when trying to complete your request.",
        412 => "Request precondition failed.",
        413 => "The body of your request was too large for this server.",
        500 | 501 => {
            "The server has either erred or is incapable of performing the requested operation."
        }
        503 => "The server is currently unavailable. Please try again at a later time.",
        _ => {
            "The server could not comply with the request since it is either malformed or otherwise incorrect."
        }
    }
}

/// voluptuous's refusal as a description.
fn invalid_input(reason: &str, path: &[String]) -> Json {
    Json::object([
        ("cause", Json::str("Invalid input")),
        (
            "reason",
            Json::str(format!("{reason}{}", path_suffix(path))),
        ),
        ("detail", Json::Array(path.iter().map(Json::str).collect())),
    ])
}

/// A `{"cause": …, "detail": …}` description.
fn cause(cause: &str, detail: Json) -> Json {
    Json::object([("cause", Json::str(cause)), ("detail", detail)])
}

impl From<crate::error::Error> for ApiError {
    fn from(error: crate::error::Error) -> ApiError {
        use crate::error::Error as E;
        match error {
            E::Store(e) => e.into(),
            E::Process(e) => e.into(),
            E::Query(e) => e.into(),
            E::Ops(e) => e.into(),
            E::Aggregates(e) => e.into(),
            E::Import(_)
            | E::Parse(_)
            | E::Policy(_)
            | E::Time(_)
            | E::Resource(_)
            | E::Filter(_)
            | E::Deployment(_)
            | E::Chart(_)
            | E::Io { .. }
            | E::Output(_)
            | E::Usage(_)
            | E::Failed(_)
            | E::Reworded { .. } => ApiError::of_kind(error.kind(), error),
        }
    }
}

impl From<crate::process::Error> for ApiError {
    fn from(error: crate::process::Error) -> ApiError {
        use crate::process::Error as E;
        match error {
            E::Store(e) => e.into(),
            E::Update { .. }
            | E::Encode { .. }
            | E::MissingPolicy { .. }
            | E::Threads { .. }
            | E::MetricBusy { .. } => ApiError::of_kind(error.kind(), error),
        }
    }
}

impl From<crate::ops::Error> for ApiError {
    fn from(error: crate::ops::Error) -> ApiError {
        use crate::ops::Error as E;
        let status = status(error.kind());
        match error {
            E::NameRequired => ApiError::with_object(
                status,
                Json::object([
                    ("cause", Json::str("Attribute value error")),
                    ("detail", Json::str("name")),
                    ("reason", Json::str(error.to_string())),
                ]),
            ),
            E::InvalidInput { reason, path } => {
                ApiError::with_object(status, invalid_input(&reason, &path))
            }
            E::UnknownResources(resources) => ApiError::with_object(
                status,
                cause(
                    "Unknown resources",
                    Json::Array(
                        resources
                            .into_iter()
                            .map(|(id, original)| {
                                Json::object([
                                    ("resource_id", Json::str(id.to_string())),
                                    ("original_resource_id", Json::str(original)),
                                ])
                            })
                            .collect(),
                    ),
                ),
            ),
            // Gnocchi's message, with the indentation of its source line.
            E::EmptyDeleteFilter => ApiError::new(
                status,
                "caution: the query can not be empty, or it will                   delete entire database",
            ),
            E::MetricLocked(_)
            | E::BacklogFull { .. }
            | E::NoSuchMetricName(_)
            | E::UnknownMetrics(_)
            | E::LeavesNothing { .. }
            | E::Range(_)
            | E::GranularityNotInPolicy { .. }
            | E::Backfill { .. } => ApiError::new(status, error.to_string()),
        }
    }
}

/// A body voluptuous refuses, its path as `detail`.
impl From<crate::ingest::batch::InvalidInput> for ApiError {
    fn from(error: crate::ingest::batch::InvalidInput) -> ApiError {
        ApiError::with_object(
            StatusCode::BAD_REQUEST,
            Json::object([
                ("cause", Json::str("Invalid input")),
                ("reason", Json::str(error.reason())),
                (
                    "detail",
                    Json::Array(error.path.iter().map(Json::str).collect()),
                ),
            ]),
        )
    }
}

/// A measure list refused as a whole body (`POST …/measures`).
impl From<crate::ingest::batch::ListError> for ApiError {
    fn from(error: crate::ingest::batch::ListError) -> ApiError {
        ApiError::invalid_input(&error.message, &[])
    }
}

/// A write refused for want of space: 507 Insufficient Storage, saying
/// the disk is full and naming the file (Gnocchi answers 500), logged as
/// an internal error is.
fn full_disk(error: &crate::store::Error) -> Option<ApiError> {
    let crate::store::Error::Io { path, source } = error else {
        return None;
    };
    (source.kind() == std::io::ErrorKind::StorageFull).then(|| ApiError {
        detail: Some(error.to_string()),
        ..ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!(
                "The disk is full: no space left on device to write {}",
                path.display()
            ),
        )
    })
}

impl From<crate::store::Error> for ApiError {
    fn from(error: crate::store::Error) -> ApiError {
        use crate::store::Error as E;
        // SQLite's I/O failures told as such, its file named as the store
        // names it (an answer does not give the store's root).
        let error = error.on_index_failure(std::path::Path::new(""));
        if let Some(full) = full_disk(&error) {
            return full;
        }
        match error {
            E::InvalidMetricName(_) => {
                ApiError::new(status(error.kind()), "'/' is not supported in metric name")
            }
            // Gnocchi knows no such error: its `ResourceAlreadyExists`.
            E::ResourceOfOtherType { id, .. } => {
                let exists = E::ResourceExists(id.to_string());
                ApiError::of_kind(exists.kind(), exists)
            }
            E::Io { .. }
            | E::NotAStore { .. }
            | E::AlreadyAStore { .. }
            | E::UnsupportedFormat { .. }
            | E::StoreBusy { .. }
            | E::MeasuresWaiting { .. }
            | E::BadConfig { .. }
            | E::BadBackend { .. }
            | E::Corrupt { .. }
            | E::NotArchiveFile { .. }
            | E::Sqlite(_)
            | E::IndexData(_)
            | E::PostgresConnect { .. }
            | E::Redis { .. }
            | E::S3 { .. }
            | E::Postgres { .. }
            | E::NoGnocchiSchema
            | E::SchemaRevision { .. }
            | E::ArchivePolicyNotFound(_)
            | E::ArchivePolicyExists(_)
            | E::ArchivePolicyInUse(_)
            | E::UnrepresentablePolicy { .. }
            | E::RuleNotFound(_)
            | E::RuleExists(_)
            | E::UnsupportedRuleChange { .. }
            | E::MetricNotFound(_)
            | E::MetricExists(_)
            | E::NoRuleMatch(_)
            | E::AmbiguousMetricName { .. }
            | E::NamedMetricExists(_)
            | E::ResourceTypeNotFound(_)
            | E::ResourceTypeExists(_)
            | E::ResourceTypeInUse(_)
            | E::UnexpectedResourceTypeState { .. }
            | E::ResourceNotFound(_)
            | E::ResourceExists(_)
            | E::Resource(_)
            | E::ResourceValue { .. }
            | E::NoSuchAttribute { .. }
            | E::QueryValue { .. }
            | E::InvalidPagination(_)
            | E::FilterTooLarge { .. } => ApiError::of_kind(error.kind(), error),
        }
    }
}

impl From<crate::query::Error> for ApiError {
    fn from(error: crate::query::Error) -> ApiError {
        use crate::query::Error as E;
        let status = status(error.kind());
        match error {
            E::Store(e) => e.into(),
            E::UnknownAggregation { metric, method } => ApiError::with_object(
                status,
                Json::object([
                    (
                        "cause",
                        Json::str("Aggregation method does not exist for this metric"),
                    ),
                    (
                        "detail",
                        Json::object([
                            ("metric", Json::str(metric.to_string())),
                            ("aggregation_method", Json::str(method)),
                        ]),
                    ),
                ]),
            ),
            E::UnknownGranularity { .. } | E::ResampleNeedsGranularity | E::Resample(_) => {
                ApiError::new(status, error.to_string())
            }
            E::InvalidSearch(reason) => ApiError::new(status, reason),
            E::AggregationDoesNotExist {
                method,
                granularity,
                ..
            } => ApiError::with_object(
                status,
                cause(
                    "Aggregation does not exist",
                    Json::object([
                        (
                            "granularity",
                            Json::Float(
                                crate::time::parse_timespan(&granularity)
                                    .map_or(f64::NAN, |g| g.as_secs_f64()),
                            ),
                        ),
                        ("aggregation_method", Json::str(method)),
                    ]),
                ),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> (StatusCode, Option<String>, String) {
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(bytes.to_vec()).unwrap(),
        )
    }

    fn environ(accept: Option<&str>) -> Environ {
        Environ {
            method: "GET".into(),
            accept: accept.map(str::to_owned),
            content_type: None,
        }
    }

    #[test]
    fn a_full_disk_is_507_naming_the_file_and_other_io_errors_500() {
        let io = |errno: rustix::io::Errno| crate::store::Error::Io {
            path: "/srv/store/incoming/x".into(),
            source: std::io::Error::from_raw_os_error(errno.raw_os_error()),
        };
        let full = ApiError::from(io(rustix::io::Errno::NOSPC));
        assert_eq!(full.status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(
            full.description,
            Json::str("The disk is full: no space left on device to write /srv/store/incoming/x")
        );
        let failed = ApiError::from(io(rustix::io::Errno::IO));
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        let index_full =
            ApiError::from(crate::store::Error::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            )));
        assert_eq!(index_full.status, StatusCode::INSUFFICIENT_STORAGE);
        assert_eq!(
            index_full.description,
            Json::str("The disk is full: no space left on device to write index.sqlite")
        );
    }

    #[tokio::test]
    async fn pages_are_byte_for_byte_webob() {
        // Bodies recorded from the real Gnocchi 4.7.1 for a missing policy.
        let error = ApiError::not_found("Archive policy \u{e9}x does not exist");
        let (_, content_type, text) = body(render(&error, &environ(None))).await;
        assert_eq!(content_type.as_deref(), Some("text/plain; charset=UTF-8"));
        assert_eq!(
            text,
            "404 Not Found\n\nThe resource could not be found.\n\n Archive policy \u{e9}x does not exist  "
        );
        let (_, content_type, text) = body(render(&error, &environ(Some("*/*")))).await;
        assert_eq!(content_type.as_deref(), Some("text/html; charset=UTF-8"));
        assert_eq!(
            text,
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\nArchive policy &#233;x does not exist\n\n\n </body>\n</html>"
        );
        let (_, _, text) = body(render(&error, &environ(Some("application/json")))).await;
        assert_eq!(
            text,
            r#"{"code": 404, "title": "Not Found", "description": "Archive policy \u00e9x does not exist"}"#
        );
        let (_, _, text) = body(render(
            &error,
            &environ(Some("text/plain, application/json; q=0.8")),
        ))
        .await;
        assert_eq!(
            text,
            r#"{"message": "The resource could not be found.<br /><br />\nArchive policy \u00e9x does not exist\n\n", "code": "404 Not Found", "title": "Not Found"}"#
        );
    }

    #[test]
    fn statuses_follow_the_kind_and_internal_errors_keep_their_detail_to_log() {
        use crate::store::Error as E;
        let answer = |error: E| {
            let error = ApiError::from(error);
            (error.status.as_u16(), error.description, error.detail)
        };
        assert_eq!(
            answer(E::MetricNotFound("cpu".into())),
            (404, Json::str("Metric cpu does not exist"), None)
        );
        assert_eq!(answer(E::ResourceExists("r".into())).0, 409);
        // Gnocchi answers 400 to a metric id that is taken.
        assert_eq!(answer(E::MetricExists("m".into())).0, 400);
        let io = E::Io {
            path: "/s/index.sqlite".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        let detail = io.to_string();
        assert_eq!(answer(io), (500, Json::str(""), Some(detail)));
        let locked = ApiError::from(crate::ops::Error::MetricLocked(uuid::Uuid::nil()));
        assert_eq!(locked.status, StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn object_descriptions_use_python_repr_in_text() {
        let error = ApiError::invalid_input("extra keys not allowed", &["cowsay".to_owned()]);
        let (status, _, text) = body(render(&error, &environ(None))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            text.ends_with(
                r#" {'cause': 'Invalid input', 'reason': "extra keys not allowed @ data['cowsay']", 'detail': ['cowsay']}  "#
            ),
            "{text}"
        );
    }
}
