//! `/v1/resource_type`: create, list, show, JSON-patch and delete resource
//! types. Attribute definitions are checked like Gnocchi's attribute
//! schemas, then turned into the shared `AttributeSpec`s.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value};

use super::App;
use super::auth::{Rule, Target};
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::input::{Body, Field};
use super::methods;
use super::reply;
use crate::ops::resource_type as ops;
use crate::pyform;
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::resource::{AttributeSpec, PatchOp};

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/resource_type", methods().get(list).post(create).into())
        .route(
            "/v1/resource_type/{name}",
            methods().get(show).patch(update).delete(delete).into(),
        )
}

const JSON_PATCH: &[&str] = &["application/json-patch+json"];

pub async fn list(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?;
    let types = app
        .run(|work| Ok(work.index.list_resource_types()?))
        .await?;
    Ok(reply::ok(Json::Array(
        types.iter().map(document::resource_type).collect(),
    )))
}

pub async fn show(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let found = super::resource::resource_type(&app, &name).await?;
    call.caller()?;
    Ok(reply::ok(document::resource_type(&found)))
}

/// The allowed keys of each attribute type's definition.
fn options_of(type_name: &str) -> Option<&'static [&'static str]> {
    Some(match type_name {
        "string" => &["min_length", "max_length"],
        "number" => &["min", "max"],
        "uuid" | "bool" | "datetime" => &[],
        _ => return None,
    })
}

/// A number option as text for `AttributeSpec` (Python's `str()`).
fn number_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => i.to_string(),
            None => pyform::fmt::float_repr(n.as_f64()?),
        }),
        _ => None,
    }
}

/// One attribute definition, checked like voluptuous's `Any` over the
/// type schemas (which reports any mismatch at `type`).
fn attribute_spec(name: &str, value: &Value, for_update: bool) -> Result<AttributeSpec, String> {
    let mismatch = || "not a valid value".to_owned();
    let map: &Map<String, Value> = value.as_object().ok_or_else(mismatch)?;
    let type_name = map
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(mismatch)?;
    let allowed = options_of(type_name).ok_or_else(mismatch)?;
    let mut spec = AttributeSpec {
        name: name.to_owned(),
        type_name: Some(type_name.to_owned()),
        required: None,
        options: Vec::new(),
        fill: None,
    };
    for (key, item) in map {
        match key.as_str() {
            "type" => {}
            "required" => spec.required = Some(item.as_bool().ok_or_else(mismatch)?),
            "options" if for_update => {
                let options = item.as_object().ok_or_else(mismatch)?;
                if options.keys().any(|k| k != "fill") {
                    return Err(mismatch());
                }
                if let Some(fill) = options.get("fill").filter(|f| !f.is_null()) {
                    spec.fill = Some(fill_text(name, type_name, fill)?);
                }
            }
            "min_length" | "max_length" if allowed.contains(&key.as_str()) => {
                let int = item
                    .as_i64()
                    .filter(|_| !item.is_boolean())
                    .ok_or_else(mismatch)?;
                let (low, high) = if key == "min_length" {
                    (0, 256)
                } else {
                    (1, 256)
                };
                if !(low..=high).contains(&int) {
                    return Err(mismatch());
                }
                spec.options.push((key.clone(), int.to_string()));
            }
            "min" | "max" if allowed.contains(&key.as_str()) => {
                if !item.is_null() {
                    spec.options
                        .push((key.clone(), number_text(item).ok_or_else(mismatch)?));
                }
            }
            _ => return Err(mismatch()),
        }
    }
    Ok(spec)
}

/// A `fill` value as text, after Gnocchi's check of its JSON type.
fn fill_text(name: &str, type_name: &str, fill: &Value) -> Result<String, String> {
    let invalid = |reason: &str| {
        format!("Invalid input: Option 'fill' of resource attribute {name} is invalid: {reason}")
    };
    match (type_name, fill) {
        ("string" | "uuid" | "datetime", Value::String(s)) => Ok(s.clone()),
        ("datetime", Value::Number(_)) | ("number", Value::Number(_)) => {
            number_text(fill).ok_or_else(|| invalid("expected Real"))
        }
        ("bool", Value::Bool(b)) => Ok(b.to_string()),
        ("string", _) => Err(invalid("expected str")),
        ("number", _) => Err(invalid("expected Real")),
        ("bool", _) => Err(invalid("expected bool")),
        (_, _) => Err(invalid("not a valid value")),
    }
}

pub async fn create(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    let body = Body::new(call.json_body(JSON)?);
    let map = body
        .root()
        .checked_object(&["name", "attributes"], &["name"])?;
    let name_path = vec!["name".to_owned()];
    let name = Field::new(&map["name"], &name_path, true).str()?.to_owned();
    let mut attributes = Vec::new();
    if let Some(value) = map.get("attributes") {
        let path = vec!["attributes".to_owned()];
        let definitions = Field::new(value, &path, true).object()?;
        for (attribute, definition) in definitions {
            let spec = attribute_spec(attribute, definition, false).map_err(|reason| {
                ApiError::invalid_input(
                    &format!("{reason} for dictionary value"),
                    &[
                        "attributes".to_owned(),
                        attribute.clone(),
                        "type".to_owned(),
                    ],
                )
            })?;
            attributes.push(
                spec.to_attribute(false, crate::time::Timestamp::now())
                    .map_err(|e| ApiError::bad_request(e.to_string()))?,
            );
        }
    }
    caller.enforce(Rule::AdminOrService, Target::NONE)?;
    let created = app
        .run(move |work| Ok(ops::create(work.index, &name, attributes)?))
        .await?;
    let location = call.location(&format!("/resource_type/{}", created.name));
    Ok(reply::created(
        &document::resource_type(&created),
        &location,
    ))
}

/// The JSON patch of `PATCH /v1/resource_type/NAME`: `add` and `remove`
/// operations on `/attributes/NAME`.
fn patch_ops(field: Field<'_>) -> ApiResult<Vec<PatchOp>> {
    let mut ops = Vec::new();
    for (i, item) in field.array()?.iter().enumerate() {
        let index = i.to_string();
        let path = vec![index.clone()];
        let map = Field::new(item, &path, false)
            .checked_object(&["op", "path", "value"], &["op", "path"])?;
        let at = |key: &str| vec![index.clone(), key.to_owned()];
        let (op_path, path_path, value_path) = (at("op"), at("path"), at("value"));
        let op = Field::new(&map["op"], &op_path, true);
        let op_name = op.value.as_str().filter(|o| matches!(*o, "add" | "remove"));
        let op_name = op_name.ok_or_else(|| op.error("not a valid value"))?;
        let target = Field::new(&map["path"], &path_path, true);
        let attribute = target
            .value
            .as_str()
            .filter(|p| p.starts_with("/attributes"))
            .ok_or_else(|| target.error("not a valid value"))?
            .strip_prefix("/attributes/")
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| {
                ApiError::bad_request("Invalid input: only /attributes/NAME can be patched")
            })?
            .replace("~1", "/")
            .replace("~0", "~");
        if op_name == "remove" {
            ops.push(PatchOp::Remove(attribute));
            continue;
        }
        let value = map.get("value").ok_or_else(|| {
            ApiError::bad_request("The operation does not contain a 'value' member")
        })?;
        Field::new(value, &value_path, true).object()?;
        let spec = attribute_spec(&attribute, value, true).map_err(|reason| {
            if reason.starts_with("Invalid input") {
                ApiError::bad_request(reason)
            } else {
                ApiError::bad_request(format!(
                    "Invalid input: {reason} for dictionary value @ data['attributes']['{attribute}']['type']"
                ))
            }
        })?;
        ops.push(PatchOp::Add(spec));
    }
    Ok(ops)
}

pub async fn update(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &name).await?;
    call.caller()?.enforce(Rule::AdminOrService, Target::NONE)?;
    let body = Body::new(call.json_body(JSON_PATCH)?);
    let patch = patch_ops(body.root())?;
    let updated = app
        .run(move |work| Ok(ops::update(work.index, &name, &patch, work.now)?))
        .await?;
    Ok(reply::ok(document::resource_type(&updated)))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &name).await?;
    call.caller()?.enforce(Rule::Admin, Target::NONE)?;
    app.run(move |work| Ok(work.index.delete_resource_type(&name)?))
        .await?;
    Ok(reply::no_content())
}
