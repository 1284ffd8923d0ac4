//! `/v1/archive_policy` and `/v1/archive_policy_rule`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::App;
use super::auth::{Rule, Target};
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::input::{Body, Field, child_path};
use super::methods;
use super::reply;
use crate::ops::archive_policy::{self as ops, NewArchivePolicy};
use crate::policy::{AggregationMethod, ArchivePolicyRule, Definition};
use crate::pyform::document;
use crate::pyform::json::Json;

/// The header of a policy update's answer that counts the points its new
/// timespans leave out: `points=N; metrics=M`.
const BEYOND_TIMESPANS: &str = "x-carbonara-beyond-timespans";

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/archive_policy",
            methods().get(list).post(create).into(),
        )
        .route(
            "/v1/archive_policy/{name}",
            methods().get(show).patch(update).delete(delete).into(),
        )
        .route(
            "/v1/archive_policy_rule",
            methods().get(list_rules).post(create_rule).into(),
        )
        .route(
            "/v1/archive_policy_rule/{name}",
            methods()
                .get(show_rule)
                .patch(rename_rule)
                .delete(delete_rule)
                .into(),
        )
}

pub async fn list(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?;
    let policies = app
        .run(|work| Ok(work.index.list_archive_policies()?))
        .await?;
    Ok(reply::ok(Json::Array(
        policies
            .iter()
            .map(|p| Json::Object(document::archive_policy(p)))
            .collect(),
    )))
}

pub async fn show(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    call.caller()?;
    let policy = app
        .run(move |work| Ok(work.index.get_archive_policy(&name)?))
        .await?;
    Ok(reply::ok(Json::Object(document::archive_policy(&policy))))
}

/// The `definition` list of a policy body.
fn definition(field: Field<'_>) -> ApiResult<Vec<Definition>> {
    let items = field.array()?;
    if items.is_empty() {
        return Err(field.error("length of value must be at least 1"));
    }
    let mut parsed = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = child_path(field.path(), &i.to_string());
        let map = Field::new(item, &path, false)
            .checked_object(&["granularity", "points", "timespan"], &[])?;
        let value = |key: &str| -> ApiResult<Option<(Value, Vec<String>)>> {
            Ok(map.get(key).map(|v| (v.clone(), child_path(&path, key))))
        };
        let granularity = match value("granularity")? {
            Some((v, p)) => Some(Field::new(&v, &p, true).timespan()?),
            None => None,
        };
        let timespan = match value("timespan")? {
            Some((v, p)) => Some(Field::new(&v, &p, true).timespan()?),
            None => None,
        };
        let points = match value("points")? {
            Some((v, p)) => {
                let field = Field::new(&v, &p, true);
                let points = field.int()?;
                if points < 1 {
                    return Err(field.error("value must be at least 1"));
                }
                Some(points)
            }
            None => None,
        };
        parsed.push(
            Definition::new(granularity, points, timespan)
                .map_err(|e| ApiError::bad_request(e.to_string()))?,
        );
    }
    Ok(parsed)
}

fn back_window(field: Field<'_>) -> ApiResult<u64> {
    let value = field.int()?;
    u64::try_from(value).map_err(|_| field.error("value must be at least 0"))
}

pub async fn create(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?.enforce(Rule::AdminOrService, Target::NONE)?;
    let body = Body::new(call.json_body(JSON)?);
    let map = body.root().checked_object(
        &["name", "back_window", "aggregation_methods", "definition"],
        &["name", "definition"],
    )?;
    let path = |key: &str| vec![key.to_owned()];
    let (name_path, bw_path, methods_path, def_path) = (
        path("name"),
        path("back_window"),
        path("aggregation_methods"),
        path("definition"),
    );
    let name = Field::new(&map["name"], &name_path, true).str()?.to_owned();
    let back_window = match map.get("back_window") {
        Some(v) => self::back_window(Field::new(v, &bw_path, true))?,
        None => 0,
    };
    let mut aggregation_methods = Vec::new();
    if let Some(v) = map.get("aggregation_methods") {
        let field = Field::new(v, &methods_path, true);
        for (i, item) in field.array()?.iter().enumerate() {
            let item_path = child_path(&methods_path, &i.to_string());
            let item = Field::new(item, &item_path, false);
            let valid = item.value.as_str().is_some_and(|m| {
                let base = m.strip_prefix(['+', '-']).unwrap_or(m);
                m == "*" || base.parse::<AggregationMethod>().is_ok()
            });
            if !valid {
                return Err(item.error("not a valid value"));
            }
            aggregation_methods.push(item.str()?.to_owned());
        }
    }
    let definition = definition(Field::new(&map["definition"], &def_path, true))?;
    let new = NewArchivePolicy {
        name,
        back_window,
        definition,
        aggregation_methods,
        default_methods: app.config.default_aggregation_methods.clone(),
    };
    let policy = app
        .run(move |work| Ok(ops::create(work.index, new)?))
        .await?;
    let location = call.location(&format!("/archive_policy/{}", policy.name));
    Ok(reply::created(
        &Json::Object(document::archive_policy(&policy)),
        &location,
    ))
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let lookup = name.clone();
    app.run(move |work| Ok(work.index.get_archive_policy(&lookup)?))
        .await?;
    caller.enforce(Rule::Admin, Target::NONE)?;
    let body = Body::new(call.json_body(JSON)?);
    let map = body
        .root()
        .checked_object(&["definition", "back_window"], &["definition"])?;
    let (def_path, bw_path) = (
        vec!["definition".to_owned()],
        vec!["back_window".to_owned()],
    );
    let definition = definition(Field::new(&map["definition"], &def_path, true))?;
    let back_window = map
        .get("back_window")
        .map(|v| self::back_window(Field::new(v, &bw_path, true)))
        .transpose()?;
    let (policy, beyond) = app
        .run(move |work| {
            Ok(ops::update(
                work.store,
                work.index,
                &name,
                definition,
                back_window,
            )?)
        })
        .await?;
    let response = reply::ok(Json::Object(document::archive_policy(&policy)));
    // An extension, in a header so that the body stays Gnocchi's
    // (docs/guide.md#changing-a-policys-timespan).
    Ok(match beyond.points {
        0 => response,
        points => reply::with_header(
            response,
            header::HeaderName::from_static(BEYOND_TIMESPANS),
            &format!("points={points}; metrics={}", beyond.metrics),
        ),
    })
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    call.caller()?.enforce(Rule::Admin, Target::NONE)?;
    app.run(move |work| Ok(work.index.delete_archive_policy(&name)?))
        .await?;
    Ok(reply::no_content())
}

// ---- rules ---------------------------------------------------------------

fn rule_document(rule: &ArchivePolicyRule) -> Json {
    Json::Object(document::archive_policy_rule(rule))
}

pub async fn list_rules(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?;
    let rules = app.run(|work| Ok(work.index.list_rules()?)).await?;
    Ok(reply::ok(Json::Array(
        rules.iter().map(rule_document).collect(),
    )))
}

/// The rule named in the path; a missing one is a 404 before anything else.
async fn find_rule(app: &Arc<App>, name: &str) -> ApiResult<ArchivePolicyRule> {
    let name = name.to_owned();
    app.run(move |work| Ok(work.index.get_rule(&name)?)).await
}

pub async fn show_rule(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let rule = find_rule(&app, &name).await?;
    call.caller()?;
    Ok(reply::ok(rule_document(&rule)))
}

pub async fn create_rule(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?.enforce(Rule::Admin, Target::NONE)?;
    let body = Body::new(call.json_body(JSON)?);
    let keys = ["name", "metric_pattern", "archive_policy_name"];
    let map = body.root().checked_object(&keys, &keys)?;
    let mut values = Vec::new();
    for key in keys {
        let path = vec![key.to_owned()];
        values.push(Field::new(&map[key], &path, true).str()?.to_owned());
    }
    let rule = ArchivePolicyRule {
        name: values[0].clone(),
        metric_pattern: values[1].clone(),
        archive_policy_name: values[2].clone(),
    };
    let rule = app
        .run(move |work| {
            ops::create_rule(work.index, rule).map_err(|e| match e {
                crate::error::Error::Store(crate::store::Error::ArchivePolicyNotFound(name)) => {
                    ApiError::with_object(
                        StatusCode::BAD_REQUEST,
                        Json::object([
                            ("cause", Json::str("Archive policy does not exist")),
                            ("detail", Json::str(name)),
                        ]),
                    )
                }
                other => other.into(),
            })
        })
        .await?;
    let location = call.location(&format!("/archive_policy_rule/{}", rule.name));
    Ok(reply::created(&rule_document(&rule), &location))
}

pub async fn rename_rule(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    find_rule(&app, &name).await?;
    let caller = call.caller()?;
    let body = Body::new(call.json_body(JSON)?);
    let map = body.root().checked_object(&["name"], &["name"])?;
    let path = vec!["name".to_owned()];
    let new_name = Field::new(&map["name"], &path, true).str()?.to_owned();
    caller.enforce(Rule::Admin, Target::NONE)?;
    let rule = app
        .run(move |work| Ok(ops::rename_rule(work.index, &name, &new_name)?))
        .await?;
    Ok(reply::ok(rule_document(&rule)))
}

pub async fn delete_rule(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    find_rule(&app, &name).await?;
    call.caller()?.enforce(Rule::Admin, Target::NONE)?;
    app.run(move |work| Ok(work.index.delete_rule(&name)?))
        .await?;
    Ok(reply::no_content())
}
