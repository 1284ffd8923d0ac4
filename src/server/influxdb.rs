//! `/v1/influxdb`: Gnocchi's InfluxDB compatibility endpoints, so that
//! Telegraf and other InfluxDB 1.x writers can send line protocol
//! (docs/gnocchi-semantics.md#influxdb-line-protocol). `ping` answers
//! without credentials; `query` only knows `CREATE DATABASE`, which creates
//! the resource type of that name; `write?db=NAME` stores the lines on
//! resources of that type, named by the `X-Gnocchi-InfluxDB-Tag-Resource-ID`
//! tag (`host` by default), parsed by `crate::ingest::influx`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::App;
use super::auth::{Rule, Target};
use super::call::Call;
use super::error::{ApiError, ApiResult};
use super::methods;
use super::named::{self, ResourceWrite};
use super::reply;
use super::root::GNOCCHI_VERSION;
use crate::ingest::influx;
use crate::ops;
use crate::pyform::json::Json;
use crate::store;
use crate::time::Timestamp;

/// Gnocchi's InfluxDB routes, pecan custom actions: their 405 has an
/// empty `Allow`.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/influxdb/ping",
            methods().get(ping).custom_action().into(),
        )
        .route(
            "/v1/influxdb/query",
            methods().post(query).custom_action().into(),
        )
        .route(
            "/v1/influxdb/write",
            methods().post(write).custom_action().into(),
        )
}

/// The header naming the tag that holds the resource id.
const TAG_HEADER: &str = "x-gnocchi-influxdb-tag-resource-id";

/// `GET|HEAD /v1/influxdb/ping`: 204 with the version.
pub async fn ping() -> Response {
    reply::with_header(
        reply::no_content(),
        axum::http::HeaderName::from_static("x-influxdb-version"),
        &format!("Gnocchi {GNOCCHI_VERSION}"),
    )
}

/// `POST /v1/influxdb/query?q=create database NAME`.
pub async fn query(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let Some(q) = call.param("q") else {
        return Ok(reply::no_content());
    };
    let name = create_database(q).ok_or_else(|| {
        ApiError::with_object(
            StatusCode::NOT_IMPLEMENTED,
            Json::object([
                ("cause", Json::str("Not implemented error")),
                ("detail", Json::str("q")),
                ("reason", Json::str("Query not implemented")),
            ]),
        )
    })?;
    let caller = call.caller()?;
    caller.enforce(Rule::AdminOrService, Target::NONE)?;
    app.run(
        move |work| match ops::resource_type::create(work.index, &name, Vec::new()) {
            Ok(_) | Err(crate::error::Error::Store(store::Error::ResourceTypeExists(_))) => Ok(()),
            Err(error) => Err(error.into()),
        },
    )
    .await?;
    Ok(reply::no_content())
}

/// Gnocchi's query grammar: `CREATE DATABASE` (any case), whitespace, then
/// a `"quoted"` name (`\` escapes) or `[A-Za-z_][A-Za-z0-9_]*`; what
/// follows the name is ignored.
fn create_database(q: &str) -> Option<String> {
    let rest = strip_keyword(q.trim_start(), "create")?;
    let rest = strip_keyword(rest.trim_start(), "database")?;
    let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    if trimmed.len() == rest.len() {
        return None;
    }
    match trimmed.strip_prefix('"') {
        Some(quoted) => {
            let mut name = String::new();
            let mut chars = quoted.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(name),
                    '\\' => name.push(chars.next()?),
                    c => name.push(c),
                }
            }
            None
        }
        None => {
            let end = trimmed
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(trimmed.len());
            let name = &trimmed[..end];
            name.chars()
                .next()
                .filter(|c| c.is_ascii_alphabetic() || *c == '_')
                .map(|_| name.to_owned())
        }
    }
}

fn strip_keyword<'q>(text: &'q str, keyword: &str) -> Option<&'q str> {
    let head = text.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &text[keyword.len()..])
}

/// `POST /v1/influxdb/write?db=NAME`: 204 once stored.
pub async fn write(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    if call.body.is_empty() {
        return Ok(reply::no_content());
    }
    let db = call.param("db").unwrap_or("influxdb").to_owned();
    let tag = call
        .headers
        .get(TAG_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("host");
    let resources = influx::read_request(&call.body, tag, Timestamp::now()).map_err(|e| {
        ApiError::with_object(
            StatusCode::BAD_REQUEST,
            Json::object([
                ("cause", Json::str("Value error")),
                ("detail", Json::str(e.detail)),
                ("reason", Json::str(e.reason)),
            ]),
        )
    })?;
    app.run(move |work| {
        // Gnocchi fails with a 500 when the database was never created.
        work.index.get_resource_type(&db)?;
        let writes: Vec<ResourceWrite<'_>> = resources
            .iter()
            .map(|r| ResourceWrite {
                original_id: &r.resource,
                attributes: Vec::new(),
                metrics: &r.metrics,
            })
            .collect();
        named::store(work, &caller, &db, None, &writes)
    })
    .await?;
    Ok(reply::no_content())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_database_reads_like_gnocchis_grammar() {
        assert_eq!(create_database("create database foo"), Some("foo".into()));
        assert_eq!(
            create_database("  CREATE   DataBase\t\"my \\\"db\\\"\";"),
            Some("my \"db\"".into())
        );
        assert_eq!(
            create_database("create database foo-bar"),
            Some("foo".into())
        );
        assert_eq!(create_database("createdatabase x"), Some("x".into()));
        assert_eq!(create_database("create database"), None);
        assert_eq!(create_database("create databasefoo"), None);
        assert_eq!(create_database("create database 1x"), None);
        assert_eq!(create_database("select 1"), None);
        assert_eq!(create_database("create database \"open"), None);
    }
}
