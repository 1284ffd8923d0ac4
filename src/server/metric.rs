//! `/v1/metric` (and the metric part of `/v1/resource/TYPE/ID/metric/…`):
//! create, list, show and delete metrics, write and read their measures.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::Response;
use uuid::Uuid;

use super::auth::{Caller, Rule, Target};
use super::backfill;
use super::cache;
use super::call::{Call, JSON};
use super::commit::Prepare;
use super::error::{ApiError, ApiResult};
use super::input::{self, Body, Field};
use super::methods;
use super::reply;
use super::{App, Work};
use crate::carbonara::Sampling;
use crate::chart::{self, Chart, Read};
use crate::ingest::batch;
use crate::ops::erase::EraseRequest;
use crate::ops::{self, metric::NewMetric};
use crate::policy::{AggregationMethod, ArchivePolicy};
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::query::{self, MeasuresQuery};
use crate::resource::{self, GENERIC, Resource, parse_python_uuid};
use crate::store::lock::ReadLock;
use crate::store::{self, Metric, MetricFilter, Page};
use crate::time::Span;

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/metric", methods().get(list).post(create).into())
        .route(
            "/v1/metric/{id}",
            methods()
                .get(show)
                .patch(super::metric_update::update)
                .delete(delete)
                .into(),
        )
        .route(
            "/v1/metric/{id}/measures",
            methods()
                .get(get_measures)
                .post(post_measures)
                .delete(delete_measures)
                .into(),
        )
        .route(
            "/v1/metric/{id}/measures.svg",
            methods().get(get_measures_svg).into(),
        )
}

/// A metric with what its documents and policy checks need.
#[derive(Clone)]
pub struct Found {
    pub metric: Metric,
    pub resource: Option<Resource>,
    /// The metric's archive policy, when its lookup brought it.
    pub policy: Option<ArchivePolicy>,
}

impl Found {
    pub fn load(work: &Work<'_>, metric: Metric) -> ApiResult<Found> {
        let resource = match metric.resource_id {
            Some(id) => work.index.get_resource(GENERIC, id)?,
            None => None,
        };
        Ok(Found {
            metric,
            resource,
            policy: None,
        })
    }

    /// The metric's archive policy.
    pub fn policy(&self, work: &Work<'_>) -> ApiResult<ArchivePolicy> {
        match &self.policy {
            Some(policy) => Ok(policy.clone()),
            None => Ok(work
                .index
                .get_archive_policy(&self.metric.archive_policy_name)?),
        }
    }

    pub fn target(&self) -> Target<'_> {
        Target::metric(
            &self.metric,
            self.resource.as_ref().and_then(|r| r.project_id.as_deref()),
        )
    }

    /// `GET /v1/metric/ID`: the policy and the resource nested.
    pub fn document(&self, work: &Work<'_>) -> ApiResult<Json> {
        let policy = self.policy(work)?;
        Ok(Json::Object(document::metric_with_policy(
            &self.metric,
            &policy,
            Some(self.resource.as_ref()),
        )))
    }
}

/// A metric id from a path; anything but an active metric's is a 404.
pub fn by_id(work: &Work<'_>, text: &str) -> ApiResult<Found> {
    let not_found =
        || ApiError::not_found(store::Error::MetricNotFound(text.to_owned()).to_string());
    let id = parse_python_uuid(text).ok_or_else(not_found)?;
    if let Some(found) = work.found_in_group(id) {
        return Ok(found);
    }
    let (metric, policy) = work
        .index
        .get_metric_and_policy(id)?
        .ok_or_else(not_found)?;
    let found = Found {
        policy,
        ..Found::load(work, metric)?
    };
    work.keep_for_group(&found);
    Ok(found)
}

/// The `POST /v1/metric` body (also a metric definition inside a
/// resource's `metrics`, where the name comes from the key).
pub fn new_metric(field: Field<'_>, caller: &Caller) -> ApiResult<NewMetric> {
    let map = field.checked_object(&["archive_policy_name", "resource_id", "name", "unit"], &[])?;
    let mut new = NewMetric::default();
    for (key, value) in map {
        let path = input::child_path(field.path(), key);
        let item = Field::new(value, &path, true);
        match key.as_str() {
            "archive_policy_name" => new.archive_policy_name = Some(item.str()?.to_owned()),
            "name" => new.name = Some(item.str()?.to_owned()),
            "unit" => {
                let unit = item.str()?;
                if unit.chars().count() > 31 {
                    return Err(item.error("length of value must be at most 31"));
                }
                new.unit = Some(unit.to_owned());
            }
            _ => {
                // Gnocchi takes `str(value)` of whatever was sent.
                let text = match value {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                new.resource_id = Some(
                    resource::resource_uuid(&text, &caller.creator)
                        .map_err(|e| item.error(&e.to_string()))?,
                );
            }
        }
    }
    Ok(new)
}

pub async fn create(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    let body = Body::new(call.json_body(JSON)?);
    let new = new_metric(body.root(), &caller)?;
    let metric = app
        .run(move |work| {
            if let Some(name) = new.name.as_deref().filter(|n| n.contains('/')) {
                return Err(store::Error::InvalidMetricName(name.to_owned()).into());
            }
            if let Some(resource_id) = new.resource_id
                && new.name.is_some()
            {
                // Gnocchi fails with a 500 here; a 400 instead (docs/differences.md#serve).
                let resource = work
                    .index
                    .get_resource(GENERIC, resource_id)?
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            store::Error::ResourceNotFound(resource_id.to_string()).to_string(),
                        )
                    })?;
                caller.enforce(Rule::AdminOrServiceOrCreator, Target::resource(&resource))?;
            }
            ops::metric::create(work.index, new, &caller.creator).map_err(|e| match e {
                crate::error::Error::Store(store::Error::NamedMetricExists(name)) => {
                    ApiError::with_object(
                        axum::http::StatusCode::BAD_REQUEST,
                        Json::object([
                            ("cause", Json::str("Named metric already exists")),
                            ("detail", Json::str(name)),
                        ]),
                    )
                }
                crate::error::Error::Store(store::Error::ArchivePolicyNotFound(name)) => {
                    ApiError::bad_request(store::Error::ArchivePolicyNotFound(name).to_string())
                }
                other => other.into(),
            })
        })
        .await?;
    let location = call.location(&format!("/metric/{}", metric.id));
    Ok(reply::created(
        &Json::Object(document::metric(&metric)),
        &location,
    ))
}

/// `GET /v1/metric`: filters by exact value, paginated, cut to what a
/// keystone-header caller may see.
pub async fn list(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    let status = call.param("status");
    if status.is_some_and(|s| !matches!(s, "active" | "delete")) {
        return Err(ApiError::bad_request(
            "Invalid input: not a valid value for dictionary value @ data['status']",
        ));
    }
    let page = call.page()?;
    let text = |key: &str| call.param(key).map(str::to_owned);
    let (user, project) = (call.param("user_id"), call.param("project_id"));
    let filter = MetricFilter {
        resource_id: None,
        id: text("id"),
        name: text("name"),
        unit: text("unit"),
        archive_policy_name: text("archive_policy_name"),
        creator: if user.is_none() && project.is_none() {
            text("creator")
        } else {
            Some(format!("{}:{}", user.unwrap_or(""), project.unwrap_or("")))
        },
        visible_to_project: caller
            .filters_lists()
            .then(|| caller.project_id.clone().unwrap_or_default()),
    };
    // Only active metrics are ever listed.
    let deleted_only = status == Some("delete");
    let list_page = page.clone();
    let (documents, last) = app
        .run(move |work| {
            if deleted_only {
                return Ok((Vec::new(), None));
            }
            let metrics = work.index.list_metrics(&filter, &list_page)?;
            let last = metrics.last().map(|m| m.id);
            let documents = metrics
                .iter()
                .map(|metric| {
                    let policy = work.index.get_archive_policy(&metric.archive_policy_name)?;
                    Ok(Json::Object(document::metric_with_policy(
                        metric, &policy, None,
                    )))
                })
                .collect::<ApiResult<Vec<_>>>()?;
            Ok((documents, last))
        })
        .await?;
    Ok(paginated(
        &call,
        &page,
        &["id:asc"],
        documents,
        last.map(|id| id.to_string()),
    ))
}

/// A listing, with `Link: rel="next"` when the page is full.
pub fn paginated(
    call: &Call,
    page: &Page,
    default_sorts: &[&str],
    documents: Vec<Json>,
    last_marker: Option<String>,
) -> Response {
    let full = documents.len() >= page.limit.unwrap_or(usize::MAX);
    let response = reply::ok(Json::Array(documents));
    match last_marker {
        Some(marker) if full => reply::with_header(
            response,
            header::LINK,
            &call.next_link(page, default_sorts, marker),
        ),
        _ => response,
    }
}

pub async fn show(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let document = app
        .run(move |work| {
            let found = by_id(work, &id)?;
            caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
            found.document(work)
        })
        .await?;
    Ok(reply::ok(document))
}

pub async fn delete(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    app.run(move |work| {
        let found = by_id(work, &id)?;
        delete_found(work, &caller, &found)
    })
    .await?;
    Ok(reply::no_content())
}

pub fn delete_found(work: &Work<'_>, caller: &Caller, found: &Found) -> ApiResult<()> {
    caller.enforce(Rule::AdminOrCreator, found.target())?;
    work.index.mark_metric_deleted(found.metric.id)?;
    Ok(())
}

pub async fn post_measures(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let metric = parse_python_uuid(&id);
    write_measures(app, call, caller, metric, move |work| by_id(work, &id)).await
}

pub async fn get_measures(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    read_measures(app, call, caller, move |work| by_id(work, &id)).await
}

pub async fn delete_measures(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    erase_measures(app, call, caller, move |work| by_id(work, &id)).await
}

/// `GET /v1/metric/ID/measures.svg` (carbonara's extension,
/// docs/guide.md#extensions-to-gnocchis-api): the chart of what `GET
/// …/measures` answers for the same parameters, as `carbonara plot`
/// draws it.
pub async fn get_measures_svg(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let svg = app
        .run(move |work| {
            let found = by_id(work, &id)?;
            let name = chart::metric_name(&found.metric, found.resource.as_ref());
            let request = measures_request(work, &call, &caller, |_| Ok(found))?;
            if request.refresh {
                work.refresh(&request.metric)?;
            }
            let key = &request.key;
            let measures = query::get_measures(work.store, key.metric, &key.policy, &key.query)?;
            let chart = Chart::of_reads(&[Read {
                name,
                method: key.query.aggregation,
                measures,
            }]);
            Ok(chart::image::svg(&chart, chart::image::Size::DEFAULT)
                .map_err(crate::error::Error::from)?)
        })
        .await?;
    Ok(reply::svg(svg))
}

/// `DELETE …/measures?start=…&stop=…[&granularity=…][&dry_run=true]`
/// (carbonara's extension, docs/guide.md#extensions-to-gnocchis-api):
/// deletes the range once the metric's waiting measures are aggregated,
/// waiting up to `--operation-timeout` for a pass that holds its sack
/// (then 503); answers what was deleted.
pub async fn erase_measures(
    app: Arc<App>,
    call: Call,
    caller: Caller,
    find: impl FnOnce(&Work<'_>) -> ApiResult<Found> + Send + 'static,
) -> ApiResult<Response> {
    let document = app
        .run(move |work| {
            let found = find(work)?;
            caller.enforce(Rule::AdminOrCreator, found.target())?;
            let required = |name: &str| {
                call.timestamp_param(name, work.now)?
                    .ok_or_else(|| ApiError::argument(name, "Required"))
            };
            let request = EraseRequest {
                start: required("start")?,
                stop: required("stop")?,
                granularities: call
                    .param_list("granularity")
                    .into_iter()
                    .map(|text| {
                        crate::time::parse_timespan(text).map_err(|e| {
                            ApiError::argument("granularity", input::timespan_reason(&e))
                        })
                    })
                    .collect::<ApiResult<_>>()?,
                dry_run: call.bool_param("dry_run")?,
            };
            let timeout = work.app.config.operation_timeout;
            let erased =
                ops::erase::erase(work.store, work.index, &found.metric, &request, timeout)?;
            Ok(erased.document())
        })
        .await?;
    Ok(reply::ok(document))
}

/// `POST …/measures`: checked, then queued for the next pass (202, once
/// the measures are on disk). `metric`: the metric `find` looks up by id,
/// if it does.
pub async fn write_measures(
    app: Arc<App>,
    call: Call,
    caller: Caller,
    metric: Option<Uuid>,
    find: impl FnOnce(&Work<'_>) -> ApiResult<Found> + Send + 'static,
) -> ApiResult<Response> {
    let backfill = backfill::requested(&call)?;
    let prepare: Prepare = Box::new(move |work| {
        let found = find(work)?;
        caller.enforce(Rule::AdminOrServiceOrCreator, found.target())?;
        let measures = batch::measure_list(&call.json_body(JSON)?, work.now)?;
        Ok(vec![(found.metric.id, measures)])
    });
    if let Some(replace) = backfill {
        return backfill::store(app, prepare, replace).await;
    }
    app.store_measures(metric, prepare).await?;
    Ok(reply::accepted())
}

/// `GET …/measures`: `[timestamp, granularity, value]` triples, coarsest
/// granularity first, after an optional `refresh`.
pub async fn read_measures(
    app: Arc<App>,
    call: Call,
    caller: Caller,
    find: impl FnOnce(&Work<'_>) -> ApiResult<Found> + Send + 'static,
) -> ApiResult<Response> {
    // The checks and an answer kept in memory cost a few index lookups.
    let request = match app
        .lookup(move |work| kept_measures(work, &call, &caller, find))
        .await?
    {
        Kept::Answer(body) => return Ok(reply::json_text(body)),
        Kept::ToRead(request) => *request,
    };
    // Otherwise one trip: the read and the writing of the (possibly long)
    // answer.
    let answer = app.run(move |work| answer_measures(work, request)).await?;
    Ok(reply::json_text(answer))
}

/// The body of a checked `GET …/measures`: kept in memory, or read (after
/// the `refresh` it asks for) and kept.
fn answer_measures(work: &Work<'_>, request: MeasuresRequest) -> ApiResult<Bytes> {
    if request.refresh {
        work.refresh(&request.metric)?;
    }
    let key = request.key;
    let consistent = work.store.read_lock(key.metric)?;
    let version = archive_version(work, &consistent, key.metric)?;
    let cache = &work.app.measures_cache;
    if let Some(body) = version.and_then(|version| cache.get(&key, version)) {
        return Ok(body);
    }
    let measures =
        query::get_measures_locked(&consistent, work.store, key.metric, &key.policy, &key.query)?;
    let body = Bytes::from(document::measures_body(&measures));
    if let Some(version) = version {
        cache.insert(key, version, body.clone());
    }
    Ok(body)
}

/// The version of `metric`'s archive that an answer read now stands for,
/// under the sack's read lock (`consistent`); `None` if the answer must
/// not be kept.
///
/// carbonara's passes bump the sack's generation. On a store Gnocchi
/// shares, gnocchi-metricd rewrites the archive without it: whenever it
/// processes a metric it writes the splits, then the bound series file
/// (`none_v3`, in place), so that file's inode, size and modification
/// time change with every pass of Gnocchi's too. A file modified in the
/// last second does not tell: a second write in the same tick of the file
/// system's clock could leave all three as they were, so an answer read
/// then is not kept.
fn archive_version(
    work: &Work<'_>,
    consistent: &ReadLock,
    metric: Uuid,
) -> ApiResult<Option<cache::Version>> {
    let generation = consistent.generation()?;
    if !work.store.shared_with_gnocchi() {
        return Ok(Some(cache::Version {
            generation,
            bound: None,
        }));
    }
    // Only a file tells when another process rewrote it.
    let Some(archive) = work.store.storage().as_file() else {
        return Ok(None);
    };
    let path = archive.bound_path(metric);
    let stamp = match std::fs::metadata(&path) {
        Ok(meta) => {
            let modified = meta.modified().map_err(ApiError::internal)?;
            let settled = SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age >= Duration::from_secs(1));
            if !settled {
                return Ok(None);
            }
            cache::FileStamp {
                inode: meta.ino(),
                size: meta.len(),
                modified_ns: i128::from(meta.mtime()) * 1_000_000_000
                    + i128::from(meta.mtime_nsec()),
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => cache::FileStamp::default(),
        Err(error) => return Err(ApiError::internal(format!("{}: {error}", path.display()))),
    };
    Ok(Some(cache::Version {
        generation,
        bound: Some(stamp),
    }))
}

/// What the checks of a `GET …/measures` leave to do.
enum Kept {
    /// The answer kept for it: its archive has not changed since.
    Answer(Bytes),
    /// A read: nothing kept, a `refresh`, or a writer holding the archive
    /// now (then the read waits, on a blocking thread).
    ToRead(Box<MeasuresRequest>),
}

fn kept_measures(
    work: &Work<'_>,
    call: &Call,
    caller: &Caller,
    find: impl FnOnce(&Work<'_>) -> ApiResult<Found>,
) -> ApiResult<Kept> {
    let request = measures_request(work, call, caller, find)?;
    if request.refresh {
        return Ok(Kept::ToRead(Box::new(request)));
    }
    let Some(consistent) = work.store.try_read_lock(request.key.metric)? else {
        return Ok(Kept::ToRead(Box::new(request)));
    };
    let version = archive_version(work, &consistent, request.key.metric)?;
    Ok(
        match version.and_then(|version| work.app.measures_cache.get(&request.key, version)) {
            Some(body) => Kept::Answer(body),
            None => Kept::ToRead(Box::new(request)),
        },
    )
}

/// A checked `GET …/measures`.
struct MeasuresRequest {
    metric: Metric,
    /// What the answer depends on besides the archive.
    key: cache::Key,
    refresh: bool,
}

/// The checks of `GET …/measures`, in Gnocchi's order.
fn measures_request(
    work: &Work<'_>,
    call: &Call,
    caller: &Caller,
    find: impl FnOnce(&Work<'_>) -> ApiResult<Found>,
) -> ApiResult<MeasuresRequest> {
    let found = find(work)?;
    caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
    let params = measures_params(call, work)?;
    let policy = found.policy(work)?;
    let metric = found.metric;
    let aggregation = params
        .method
        .parse::<AggregationMethod>()
        .ok()
        .filter(|m| policy.aggregation_methods.contains(m))
        .ok_or_else(|| query::Error::UnknownAggregation {
            metric: metric.id,
            method: params.method.clone(),
        })?;
    if let Some(granularity) = params.granularity
        && policy.aggregation(aggregation, granularity).is_none()
    {
        return Err(query::Error::UnknownGranularity {
            metric: metric.id,
            method: params.method.clone(),
            granularity: crate::pyform::fmt::float_repr(granularity.as_secs_f64()),
        }
        .into());
    }
    let query = MeasuresQuery {
        aggregation,
        granularity: params.granularity,
        start: params.start,
        stop: params.stop,
        resample: params.resample,
    };
    Ok(MeasuresRequest {
        key: cache::Key {
            metric: metric.id,
            policy,
            query,
        },
        metric,
        refresh: params.refresh,
    })
}

/// The parameters of `GET …/measures`.
struct MeasuresParams {
    resample: Option<Sampling>,
    start: Option<crate::time::Timestamp>,
    stop: Option<crate::time::Timestamp>,
    granularity: Option<Span>,
    method: String,
    refresh: bool,
}

fn measures_params(call: &Call, work: &Work<'_>) -> ApiResult<MeasuresParams> {
    let resample: Option<Sampling> = match call.param("resample") {
        None => None,
        Some(_) if call.param("granularity").is_none() => {
            return Err(query::Error::ResampleNeedsGranularity.into());
        }
        Some(text) => Some(
            text.parse()
                .map_err(|e| ApiError::bad_request(input::timespan_reason(&e)))?,
        ),
    };
    let (start, stop) = (
        call.timestamp_param("start", work.now)?,
        call.timestamp_param("stop", work.now)?,
    );
    let granularity = call.timespan_param("granularity")?;
    Ok(MeasuresParams {
        resample,
        start,
        stop,
        granularity,
        method: call.param("aggregation").unwrap_or("mean").to_owned(),
        refresh: call.bool_param("refresh")?,
    })
}
