//! `/v1/resource`: the type index, resources of a type (list, create,
//! batch delete), one resource (show, update, delete, with ETags and
//! conditional requests), its history, and its named metrics (list, add,
//! show, delete, measures).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::{Caller, Rule, Target};
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::input::{self, Body, Field, child_path};
use super::methods;
use super::metric::{self, Found, new_metric, paginated};
use super::reply;
use super::{App, Work};
use crate::error::Error;
use crate::filter::{CompareOp, Filter, Raw, Value as FilterValue};
use crate::ops::resource::{self as ops, ResourceSearch};
use crate::pyform::document::{self, Shape};
use crate::pyform::json::Json;
use crate::resource::attribute::truncate_to_micros;
use crate::resource::{
    Attribute, AttributeKind, AttributeValue, Resource, ResourceType, parse_python_uuid,
    resource_uuid,
};
use crate::store::{self, MetricFilter, MetricRef, NewResource, Page, ResourceChanges};
use crate::time::Timestamp;

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/resource", methods().get(types).into())
        .route(
            "/v1/resource/{type}",
            methods().get(list).post(create).delete(batch_delete).into(),
        )
        .route(
            "/v1/resource/{type}/{id}",
            methods().get(show).patch(update).delete(delete).into(),
        )
        .route(
            "/v1/resource/{type}/{id}/history",
            methods().get(history).into(),
        )
        .route(
            "/v1/resource/{type}/{id}/metric",
            methods().get(metrics).post(add_metrics).into(),
        )
        .route(
            "/v1/resource/{type}/{id}/metric/{name}",
            methods().get(show_metric).delete(delete_metric).into(),
        )
        .route(
            "/v1/resource/{type}/{id}/metric/{name}/measures",
            methods()
                .get(get_metric_measures)
                .post(post_metric_measures)
                .delete(delete_metric_measures)
                .into(),
        )
}

const DEFAULT_SORTS: [&str; 2] = ["revision_start:asc", "started_at:asc"];
const BASE_KEYS: [&str; 6] = [
    "id",
    "started_at",
    "ended_at",
    "user_id",
    "project_id",
    "metrics",
];

/// `GET /v1/resource`: every type and its URL (no authentication).
pub async fn types(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let types = app
        .run(|work| Ok(work.index.list_resource_types()?))
        .await?;
    Ok(reply::ok(Json::Object(
        types
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    Json::str(format!("{}/v1/resource/{}", call.base_url, t.name)),
                )
            })
            .collect(),
    )))
}

/// The type a path names; 404 before anything else when it does not exist.
pub async fn resource_type(app: &Arc<App>, name: &str) -> ApiResult<ResourceType> {
    let name = name.to_owned();
    app.run(move |work| Ok(work.index.get_resource_type(&name)?))
        .await
}

/// The resource a path names, for this caller (non-UUID ids are per
/// creator); 404 when it is not of this type (any type for `generic`).
fn find(work: &Work<'_>, type_name: &str, id_text: &str, caller: &Caller) -> ApiResult<Resource> {
    work.index.get_resource_type(type_name)?;
    let id = resource_uuid(id_text, &caller.creator)
        .map_err(|_| ApiError::from(store::Error::ResourceNotFound(id_text.to_owned())))?;
    Ok(ops::get(work.index, type_name, id)?)
}

/// Gnocchi's list filter under `rule` for a keystone-header caller whose
/// roles do not show it everything: its project's resources (when the
/// rule lets resource owners in), or those its project made.
fn policy_filter(caller: &Caller, rule: Rule) -> Option<Filter> {
    if caller.lists_everything(rule) {
        return None;
    }
    let project = caller.project_id.clone().unwrap_or_default();
    let mut filters = Vec::new();
    if matches!(
        rule,
        Rule::AdminOrCreatorOrResourceOwner | Rule::AdminOrServiceOrCreatorOrResourceOwner
    ) {
        filters.push(Filter::Compare {
            op: CompareOp::Eq,
            attribute: "project_id".to_owned(),
            value: FilterValue::Str(project.clone()),
        });
    }
    filters.push(if project.is_empty() {
        Filter::Compare {
            op: CompareOp::Eq,
            attribute: "creator".to_owned(),
            value: FilterValue::Null,
        }
    } else {
        Filter::Like {
            attribute: "creator".to_owned(),
            pattern: FilterValue::Str(format!("%:{project}")),
        }
    });
    Some(Filter::Or(filters))
}

/// A search cut to what the caller may see (Gnocchi's `search resource`
/// policy filter).
pub fn visible_to(caller: &Caller, filter: Option<Filter>) -> Option<Filter> {
    and(
        policy_filter(caller, Rule::AdminOrServiceOrCreatorOrResourceOwner),
        filter,
    )
}

fn and(a: Option<Filter>, b: Option<Filter>) -> Option<Filter> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Filter::And(vec![a, b])),
        (a, b) => a.or(b),
    }
}

/// A resource document, cut to `attrs` when given.
fn listed(resource: &Resource, shape: Shape, attrs: &[&str]) -> Json {
    let mut fields = document::resource_fields(resource, shape);
    if !attrs.is_empty() {
        fields.retain(|(k, _)| attrs.contains(&k.as_str()));
    }
    Json::Object(fields)
}

/// A listing or search: documents, paginated with `Link`.
pub async fn search_response(
    app: &Arc<App>,
    call: &Call,
    mut search: ResourceSearch,
    caller: &Caller,
    rule: Rule,
) -> ApiResult<Response> {
    search.details = call.bool_param("details")?;
    search.history = call.bool_param("history")?;
    search.page = call.page()?;
    search.filter = and(policy_filter(caller, rule), search.filter);
    let page = search.page.clone();
    let history = search.history;
    let resources = app
        .run(move |work| Ok(ops::search(work.index, &search, work.now)?))
        .await?;
    let attrs = call.param_list("attrs");
    let shape = if history {
        Shape::History
    } else {
        Shape::Current
    };
    let documents = resources.iter().map(|r| listed(r, shape, &attrs)).collect();
    let marker = resources.last().map(|r| marker(r, history));
    Ok(paginated(call, &page, &DEFAULT_SORTS, documents, marker))
}

fn marker(resource: &Resource, history: bool) -> String {
    if history {
        format!("{}@{}", resource.id, resource.revision)
    } else {
        resource.id.to_string()
    }
}

pub async fn list(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let search = ResourceSearch {
        type_name,
        ..ResourceSearch::default()
    };
    search_response(
        &app,
        &call,
        search,
        &caller,
        Rule::AdminOrCreatorOrResourceOwner,
    )
    .await
}

/// An attribute value from JSON, checked like Gnocchi's schema for it.
fn attribute_value(
    attribute: &Attribute,
    field: Field<'_>,
    now: Timestamp,
) -> ApiResult<AttributeValue> {
    let value = match (&attribute.kind, field.value) {
        (AttributeKind::String { .. }, Value::String(s)) => AttributeValue::String(s.clone()),
        (AttributeKind::String { .. }, _) => return Err(field.error("expected str")),
        (AttributeKind::Number { .. }, value @ (Value::Number(_) | Value::Bool(_))) => {
            AttributeValue::Number(input::coerce_float(value).unwrap_or(f64::NAN))
        }
        (AttributeKind::Number { .. }, _) => return Err(field.error("expected Real")),
        (AttributeKind::Bool, Value::Bool(b)) => AttributeValue::Bool(*b),
        (AttributeKind::Bool, _) => return Err(field.error("expected bool")),
        (AttributeKind::Uuid, value) => value
            .as_str()
            .and_then(parse_python_uuid)
            .map(AttributeValue::Uuid)
            .ok_or_else(|| field.error("badly formed hexadecimal UUID string"))?,
        (AttributeKind::Datetime, _) => AttributeValue::Datetime(truncate_to_micros(
            field
                .timestamp(now)
                .map_err(|e| field.error(e.to_string().split(':').next().unwrap_or("")))?,
        )),
    };
    attribute
        .check_value(&value)
        .map_err(|e| field.error(e.reason()))?;
    Ok(value)
}

/// A resource's `metrics` map: names to existing metric ids or to new
/// metric definitions.
fn metric_refs(field: Field<'_>, caller: &Caller) -> ApiResult<Vec<(String, MetricRef)>> {
    let map = field.object()?;
    let mut refs = Vec::with_capacity(map.len());
    for (name, value) in map {
        let path = child_path(field.path(), name);
        let item = Field::new(value, &path, true);
        let reference = match value {
            Value::String(text) => MetricRef::Existing(
                parse_python_uuid(text).ok_or_else(|| item.error("not a valid value"))?,
            ),
            Value::Object(_) => {
                let new = new_metric(item, caller)?;
                MetricRef::Create {
                    archive_policy_name: new.archive_policy_name,
                    unit: new.unit,
                }
            }
            _ => return Err(item.error("not a valid value")),
        };
        refs.push((name.clone(), reference));
    }
    Ok(refs)
}

/// A new metric named with a `/`, before any other check of the body:
/// Gnocchi aborts on it from inside voluptuous's walk of the body, which only
/// gathers its own errors (another field's, a missing `id`) to report at the
/// end (resource.yaml, "post generic with invalid metric name"). A metric
/// whose definition fails those first checks never gets that far.
fn check_metric_names(root: &Field<'_>, caller: &Caller) -> ApiResult<()> {
    let Some(Value::Object(metrics)) = root.object().ok().and_then(|m| m.get("metrics")) else {
        return Ok(());
    };
    let path = vec!["metrics".to_owned()];
    for (name, value) in metrics {
        let item_path = child_path(&path, name);
        if name.contains('/')
            && value.is_object()
            && new_metric(Field::new(value, &item_path, true), caller).is_ok()
        {
            return Err(store::Error::InvalidMetricName(name.clone()).into());
        }
    }
    Ok(())
}

/// What a create or update body says: base fields, the type's
/// attributes and metrics (`id` only when `with_id`).
#[derive(Clone)]
struct Given {
    id: Option<(String, Uuid)>,
    fields: Map<String, Value>,
    changes: ResourceChanges,
}

fn read_body(
    body: &Body,
    resource_type: &ResourceType,
    caller: &Caller,
    with_id: bool,
    now: Timestamp,
) -> ApiResult<Given> {
    let root = body.root();
    let mut allowed: Vec<&str> = BASE_KEYS
        .iter()
        .copied()
        .filter(|k| with_id || *k != "id")
        .collect();
    allowed.extend(resource_type.attributes.iter().map(|a| a.name.as_str()));
    let mut required: Vec<&str> = if with_id { vec!["id"] } else { Vec::new() };
    if with_id {
        required.extend(
            resource_type
                .attributes
                .iter()
                .filter(|a| a.required)
                .map(|a| a.name.as_str()),
        );
    }
    check_metric_names(&root, caller)?;
    let map = root.checked_object(&allowed, &required)?;
    let mut given = Given {
        id: None,
        fields: map.clone(),
        changes: ResourceChanges::default(),
    };
    for (key, value) in map {
        let path = vec![key.clone()];
        let field = Field::new(value, &path, true);
        let changes = &mut given.changes;
        match key.as_str() {
            "id" => {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let id = resource_uuid(&text, &caller.creator)
                    .map_err(|e| field.error(&e.to_string()))?;
                given.id = Some((text, id));
            }
            "user_id" => changes.user_id = Some(field.opt_str()?.map(str::to_owned)),
            "project_id" => changes.project_id = Some(field.opt_str()?.map(str::to_owned)),
            "started_at" | "ended_at" => {
                let timestamp = if value.is_null() && key == "ended_at" {
                    None
                } else {
                    Some(
                        field
                            .timestamp(now)
                            .map_err(|_| field.error("not a valid value"))?,
                    )
                };
                if key == "started_at" {
                    changes.started_at = timestamp;
                } else {
                    changes.ended_at = Some(timestamp);
                }
            }
            "metrics" => changes.metrics = Some(metric_refs(field, caller)?),
            name => {
                let attribute = resource_type
                    .attribute(name)
                    .expect("checked_object admits only the type's attributes");
                changes
                    .attributes
                    .push((name.to_owned(), attribute_value(attribute, field, now)?));
            }
        }
    }
    Ok(given)
}

/// Errors of resource writes that Gnocchi answers with 400 whatever they
/// would be elsewhere.
fn write_error(error: Error) -> ApiError {
    match error {
        Error::Store(
            e @ (store::Error::MetricNotFound(_)
            | store::Error::ArchivePolicyNotFound(_)
            | store::Error::NoRuleMatch(_)),
        ) => ApiError::bad_request(e.to_string()),
        other => other.into(),
    }
}

/// `ETag` and `Last-Modified` of a resource.
fn etag(resource: &Resource) -> String {
    let mut sha = sha1_smol::Sha1::new();
    sha.update(resource.id.to_string().as_bytes());
    sha.update(resource.revision_start.to_isoformat().as_bytes());
    format!("\"{}\"", sha.digest())
}

fn with_etag(response: Response, resource: &Resource) -> Response {
    let response = reply::with_header(response, header::ETAG, &etag(resource));
    reply::with_header(
        response,
        header::LAST_MODIFIED,
        &resource.revision_start.to_http_date(),
    )
}

/// RFC 7232 preconditions, in Gnocchi's order: 412, or 304 for reads.
fn check_preconditions(headers: &HeaderMap, method: &Method, resource: &Resource) -> ApiResult<()> {
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let etag = etag(resource);
    let listed = |value: &str| {
        value.trim() == "*"
            || value
                .split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag)
    };
    let last_modified =
        Timestamp::from_nanos(resource.revision_start.nanos() / 1_000_000_000 * 1_000_000_000);
    let precondition_failed = || ApiError::new(StatusCode::PRECONDITION_FAILED, "");
    if let Some(if_match) = text(header::IF_MATCH) {
        if !listed(if_match) {
            return Err(precondition_failed());
        }
    } else if let Some(since) =
        text(header::IF_UNMODIFIED_SINCE).and_then(Timestamp::parse_http_date)
        && since < last_modified
    {
        return Err(precondition_failed());
    }
    let read = matches!(*method, Method::GET | Method::HEAD);
    if let Some(if_none_match) = text(header::IF_NONE_MATCH) {
        if listed(if_none_match) {
            return Err(if read {
                ApiError::new(StatusCode::NOT_MODIFIED, "")
            } else {
                precondition_failed()
            });
        }
    } else if let Some(since) = text(header::IF_MODIFIED_SINCE).and_then(Timestamp::parse_http_date)
        && since >= last_modified
        && read
    {
        return Err(ApiError::new(StatusCode::NOT_MODIFIED, ""));
    }
    Ok(())
}

fn current_document(resource: &Resource) -> Json {
    Json::Object(document::resource_fields(resource, Shape::Current))
}

pub async fn create(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let resource_type = resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let body = Body::new(call.json_body(JSON)?);
    let now = Timestamp::now();
    let given = read_body(&body, &resource_type, &caller, true, now)?;
    let (given_id, id) = given.id.clone().expect("`id` is a required key");
    let changes = given.changes.clone();
    let new = NewResource {
        id,
        original_resource_id: given_id,
        type_name: resource_type.name.clone(),
        creator: caller.creator.clone(),
        user_id: changes.user_id.flatten(),
        project_id: changes.project_id.flatten(),
        started_at: changes.started_at,
        ended_at: changes.ended_at.flatten(),
        attributes: changes.attributes,
        metrics: changes.metrics.unwrap_or_default(),
    };
    let resource = app
        .run(move |work| ops::create(work.index, &resource_type, &new, now).map_err(write_error))
        .await?;
    let location = call.location(&format!("/resource/{type_name}/{}", resource.id));
    // Gnocchi answers a creation with the numbers as they were sent.
    let mut document = document::resource_fields(&resource, Shape::Current);
    for (key, value) in &mut document {
        if let Some(Value::Number(sent)) = given.fields.get(key)
            && let (Some(int), Json::Float(_)) = (sent.as_i64(), &value)
        {
            *value = Json::Int(int);
        }
    }
    Ok(with_etag(
        reply::created(&Json::Object(document), &location),
        &resource,
    ))
}

pub async fn show(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let resource = app
        .run(move |work| {
            find(work, &type_name, &id, &caller).and_then(|r| {
                caller.enforce(Rule::AdminOrCreatorOrResourceOwner, Target::resource(&r))?;
                Ok(r)
            })
        })
        .await?;
    check_preconditions(&call.headers, &call.method, &resource)?;
    Ok(with_etag(reply::ok(current_document(&resource)), &resource))
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let lookup_caller = caller.clone();
    let lookup_type = type_name.clone();
    let (resource, resource_type) = app
        .run(move |work| {
            let resource = find(work, &lookup_type, &id, &lookup_caller)?;
            Ok((resource, work.index.get_resource_type(&lookup_type)?))
        })
        .await?;
    caller.enforce(Rule::AdminOrServiceOrCreator, Target::resource(&resource))?;
    check_preconditions(&call.headers, &call.method, &resource)?;
    let body = Body::new(call.json_body(JSON)?);
    let now = Timestamp::now();
    let given = read_body(&body, &resource_type, &caller, false, now)?;
    if given.fields.is_empty() {
        return Ok(with_etag(reply::ok(current_document(&resource)), &resource));
    }
    let has_metrics = given.changes.metrics.is_some();
    let before = resource.revision_start;
    let id = resource.id;
    let updated = app
        .run(move |work| {
            work.index
                .update_resource(&type_name, id, &given.changes, now)
                .map_err(|e| write_error(e.into()))
        })
        .await?;
    let response = reply::ok(current_document(&updated));
    // Gnocchi answers an update that changes nothing without new headers.
    Ok(if has_metrics || updated.revision_start != before {
        with_etag(response, &updated)
    } else {
        response
    })
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let headers = call.headers.clone();
    let method = call.method.clone();
    app.run(move |work| {
        let resource = find(work, &type_name, &id, &caller)?;
        caller.enforce(Rule::AdminOrCreator, Target::resource(&resource))?;
        check_preconditions(&headers, &method, &resource)?;
        Ok(work.index.delete_resource(resource.id)?)
    })
    .await?;
    Ok(reply::no_content())
}

/// A resource filter from a JSON body, else from `filter=`.
pub fn request_filter(call: &Call, caller: &Caller) -> ApiResult<Option<Filter>> {
    if call.has_body() {
        let value = call.json_body(JSON)?;
        let raw = Raw::from_serde(&value);
        return Filter::from_raw(&raw, &caller.creator).map_err(filter_error);
    }
    match call.param("filter").filter(|f| !f.is_empty()) {
        Some(text) => {
            let raw = crate::filter::string::parse(text).map_err(filter_error)?;
            Filter::from_raw(&raw, &caller.creator).map_err(filter_error)
        }
        None => Ok(None),
    }
}

/// voluptuous's refusal of a filter, with its path as `detail`.
pub fn filter_error(error: crate::filter::FilterError) -> ApiError {
    match error {
        crate::filter::FilterError::Invalid { reason, path } => {
            let segments: Vec<String> = path
                .trim_start_matches('[')
                .trim_end_matches(']')
                .split("][")
                .filter(|s| !s.is_empty())
                .map(|s| s.trim_matches('\'').to_owned())
                .collect();
            // voluptuous says where a refused value sat in a dictionary,
            // but not for refused keys.
            let in_dict = path.ends_with("']")
                && !reason.starts_with("extra keys")
                && !reason.starts_with("value must not be one of");
            let reason = if in_dict {
                format!("{reason} for dictionary value")
            } else {
                reason
            };
            ApiError::invalid_input(&reason, &segments)
        }
        error @ (crate::filter::FilterError::Syntax(_)
        | crate::filter::FilterError::Empty
        | crate::filter::FilterError::Json(_)
        | crate::filter::FilterError::TooDeep { .. }) => ApiError::bad_request(error.to_string()),
    }
}

pub async fn batch_delete(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let filter = request_filter(&call, &caller)?;
    if filter.is_none() {
        return Err(Error::from(crate::ops::Error::EmptyDeleteFilter).into());
    }
    let filter = and(policy_filter(&caller, Rule::AdminOrCreator), filter);
    let deleted = app
        .run(move |work| {
            Ok(ops::batch_delete(
                work.index,
                &type_name,
                filter.as_ref(),
                work.now,
            )?)
        })
        .await?;
    Ok(reply::ok(Json::object([(
        "deleted",
        Json::Int(deleted as i64),
    )])))
}

pub async fn history(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let details = call.bool_param("details")?;
    let page = call.page()?;
    let list_page = page.clone();
    let revisions = app
        .run(move |work| {
            let resource = find(work, &type_name, &id, &caller)?;
            caller.enforce(
                Rule::AdminOrCreatorOrResourceOwner,
                Target::resource(&resource),
            )?;
            Ok(ops::history(
                work.index,
                &type_name,
                resource.id,
                details,
                list_page,
                work.now,
            )?)
        })
        .await?;
    let documents = revisions
        .iter()
        .map(|r| Json::Object(document::resource_fields(r, Shape::History)))
        .collect();
    let marker = revisions.last().map(|r| marker(r, true));
    Ok(paginated(&call, &page, &DEFAULT_SORTS, documents, marker))
}

/// The metrics of a resource as `GET /v1/metric` lists them.
fn metric_list(work: &Work<'_>, resource_id: Uuid) -> ApiResult<Json> {
    let filter = MetricFilter {
        resource_id: Some(resource_id),
        ..MetricFilter::default()
    };
    let metrics = work.index.list_metrics(&filter, &Page::default())?;
    let documents = metrics
        .iter()
        .map(|m| {
            let policy = work.index.get_archive_policy(&m.archive_policy_name)?;
            Ok(Json::Object(document::metric_with_policy(m, &policy, None)))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Json::Array(documents))
}

pub async fn metrics(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let document = app
        .run(move |work| {
            let resource = find(work, &type_name, &id, &caller)?;
            caller.enforce(
                Rule::AdminOrCreatorOrResourceOwner,
                Target::resource(&resource),
            )?;
            metric_list(work, resource.id)
        })
        .await?;
    Ok(reply::ok(document))
}

/// `POST …/metric`: more metrics on the resource (no new revision).
pub async fn add_metrics(
    State(app): State<Arc<App>>,
    Path((type_name, id)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let lookup_caller = caller.clone();
    let lookup_type = type_name.clone();
    let resource = app
        .run(move |work| find(work, &lookup_type, &id, &lookup_caller))
        .await?;
    caller.enforce(Rule::AdminOrServiceOrCreator, Target::resource(&resource))?;
    let body = Body::new(call.json_body(JSON)?);
    let added = metric_refs(body.root(), &caller)?;
    let document = app
        .run(move |work| {
            let mut metrics: Vec<(String, MetricRef)> = resource
                .metrics
                .iter()
                .map(|(name, id)| (name.clone(), MetricRef::Existing(*id)))
                .collect();
            metrics.extend(added);
            let changes = ResourceChanges {
                metrics: Some(metrics),
                ..ResourceChanges::default()
            };
            work.index
                .update_resource(&type_name, resource.id, &changes, work.now)
                .map_err(|e| write_error(e.into()))?;
            metric_list(work, resource.id)
        })
        .await?;
    Ok(reply::ok(document))
}

/// The metric named on a resource: `Metric NAME does not exist` when the
/// resource has none so named, `Resource ID does not exist` when the
/// resource is not there.
fn named_metric(
    work: &Work<'_>,
    type_name: &str,
    id_text: &str,
    name: &str,
    caller: &Caller,
) -> ApiResult<Found> {
    work.index.get_resource_type(type_name)?;
    let id = resource_uuid(id_text, &caller.creator)
        .map_err(|_| ApiError::from(store::Error::ResourceNotFound(id_text.to_owned())))?;
    match work.index.resource_metric(id, name)? {
        Some(metric) => Found::load(work, metric),
        None => {
            ops::get(work.index, type_name, id)?;
            Err(store::Error::MetricNotFound(name.to_owned()).into())
        }
    }
}

pub async fn show_metric(
    State(app): State<Arc<App>>,
    Path((type_name, id, name)): Path<(String, String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let document = app
        .run(move |work| {
            let found = named_metric(work, &type_name, &id, &name, &caller)?;
            caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
            found.document(work)
        })
        .await?;
    Ok(reply::ok(document))
}

pub async fn delete_metric(
    State(app): State<Arc<App>>,
    Path((type_name, id, name)): Path<(String, String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    app.run(move |work| {
        let found = named_metric(work, &type_name, &id, &name, &caller)?;
        metric::delete_found(work, &caller, &found)
    })
    .await?;
    Ok(reply::no_content())
}

pub async fn post_metric_measures(
    State(app): State<Arc<App>>,
    Path((type_name, id, name)): Path<(String, String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let find = named_metric_finder(type_name, id, name, &caller);
    metric::write_measures(app, call, caller, None, find).await
}

pub async fn get_metric_measures(
    State(app): State<Arc<App>>,
    Path((type_name, id, name)): Path<(String, String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let find = named_metric_finder(type_name, id, name, &caller);
    metric::read_measures(app, call, caller, find).await
}

pub async fn delete_metric_measures(
    State(app): State<Arc<App>>,
    Path((type_name, id, name)): Path<(String, String, String)>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let find = named_metric_finder(type_name, id, name, &caller);
    metric::erase_measures(app, call, caller, find).await
}

/// Finds, for the measures endpoints, the metric `name` of a resource as
/// `caller` sees it.
fn named_metric_finder(
    type_name: String,
    id: String,
    name: String,
    caller: &Caller,
) -> impl FnOnce(&Work<'_>) -> ApiResult<Found> + Send + 'static {
    let caller = caller.clone();
    move |work| named_metric(work, &type_name, &id, &name, &caller)
}
