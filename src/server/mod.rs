//! `carbonara serve`: Gnocchi's REST API v1 over the store, with the
//! aggregation pass running in the background (spec/rest-api.md).
//!
//! `router(app)` is the whole HTTP application, apart from any listener so
//! that tests drive it with `oneshot`; `serve` binds it and runs the
//! background pass. Handlers (one file per object) are thin: they read the
//! call (call.rs, input.rs), check the caller (auth.rs), run the shared
//! operations (`crate::ops`) in `spawn_blocking`, and answer Gnocchi's
//! documents (`crate::pyform::document`) or an `ApiError` (error.rs).

mod aggregates;
mod aggregation;
mod archive_policy;
pub mod auth;
mod batch;
mod cache;
mod call;
mod commit;
mod cors;
pub mod error;
mod influxdb;
mod input;
mod metric;
mod named;
pub mod negotiate;
mod prometheus;
mod reply;
mod resource;
mod resource_type;
mod root;
mod search;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post};

use crate::error::Result;
use crate::process::{self, ProcessOptions};
use crate::store::lock::SackLocks;
use crate::store::{Index, Store, txn};
use crate::time::Timestamp;
pub use auth::AuthMode;
use call::OriginalPath;
use error::{ApiError, ApiResult, Environ};

/// How the server runs (the `serve` flags).
#[derive(Debug, Clone)]
pub struct Config {
    pub store_path: PathBuf,
    pub auth: AuthMode,
    /// Gnocchi's `[api] max_limit`: the largest and default page.
    pub max_limit: usize,
    /// Origins allowed by CORS (`*` for any).
    pub cors_allowed_origins: Vec<String>,
    /// Trust `Forwarded` / `X-Forwarded-*` for the URLs the API writes.
    pub proxy_headers: bool,
    pub max_body_size: usize,
    pub request_timeout: Duration,
    /// Time between background aggregation passes; none when `None`.
    pub process_interval: Option<Duration>,
}

impl Config {
    pub fn new(store_path: PathBuf) -> Config {
        Config {
            store_path,
            auth: AuthMode::Basic,
            max_limit: 1000,
            cors_allowed_origins: Vec::new(),
            proxy_headers: false,
            max_body_size: 64 << 20,
            request_timeout: Duration::from_secs(60),
            process_interval: Some(Duration::from_secs(1)),
        }
    }
}

/// The server's state: the store and a pool of index connections.
pub struct App {
    pub config: Config,
    store: Store,
    indexes: Mutex<Vec<Index>>,
    /// One aggregation pass at a time in this process (background or
    /// `refresh`), so a refresh waits rather than finding its sack busy.
    processing: Mutex<()>,
    /// Recent answers of `GET …/measures` (see cache.rs).
    measures_cache: cache::MeasuresCache,
    /// Stores the measures of concurrent requests in shared transactions
    /// (always there once `open` returns).
    committer: Option<commit::Committer>,
}

/// What a blocking operation works with.
pub struct Work<'a> {
    pub store: &'a Store,
    pub index: &'a Index,
    /// The request's time: relative timestamps count from it.
    pub now: Timestamp,
    app: &'a App,
}

impl Work<'_> {
    /// Runs `f` while no other pass of this server runs.
    pub fn exclusively<T>(&self, f: impl FnOnce() -> T) -> T {
        let _guard = self
            .app
            .processing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f()
    }
}

impl App {
    /// Opens the store, first finishing what killed processes committed,
    /// and starts the committing thread.
    pub fn open(config: Config) -> Result<Arc<App>> {
        let store = Store::open(&config.store_path)?;
        txn::recover(&store, Some(&mut SackLocks::new(&store)))?;
        let mut started = Ok(());
        let app = Arc::new_cyclic(|weak| {
            let committer = match commit::Committer::start(weak.clone(), &store) {
                Ok(committer) => Some(committer),
                Err(error) => {
                    started = Err(error);
                    None
                }
            };
            App {
                config,
                store,
                indexes: Mutex::new(Vec::new()),
                processing: Mutex::new(()),
                measures_cache: cache::MeasuresCache::new(),
                committer,
            }
        });
        started.map(|()| app)
    }

    fn take_index(&self) -> Result<Index> {
        let pooled = self
            .indexes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match pooled {
            Some(index) => Ok(index),
            None => Ok(self.store.index()?),
        }
    }

    fn return_index(&self, index: Index) {
        let mut pool = self
            .indexes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if pool.len() < 16 {
            pool.push(index);
        }
    }

    /// Runs `prepare` on the committing thread and stores the measures it
    /// returns with the next group commit (see commit.rs).
    pub async fn store_measures(&self, prepare: commit::Prepare) -> ApiResult<()> {
        match &self.committer {
            Some(committer) => committer.store(prepare).await,
            None => Err(ApiError::internal("no committing thread")),
        }
    }

    /// Runs store and index work off the async threads.
    pub async fn run<T, F>(self: &Arc<App>, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Work<'_>) -> ApiResult<T> + Send + 'static,
    {
        let app = self.clone();
        tokio::task::spawn_blocking(move || app.run_here(work))
            .await
            .map_err(ApiError::internal)?
    }

    /// Runs `work` on the calling thread: only for work that never waits
    /// long (index lookups, an answer kept in memory).
    pub fn run_here<T>(&self, work: impl FnOnce(&Work<'_>) -> ApiResult<T>) -> ApiResult<T> {
        let index = self.take_index().map_err(ApiError::from)?;
        let result = work(&Work {
            store: &self.store,
            index: &index,
            now: Timestamp::now(),
            app: self,
        });
        self.return_index(index);
        result
    }

    /// One aggregation pass over every sack (the background metricd).
    fn process_pass(&self) -> Result<process::PassReport> {
        let index = self.take_index()?;
        let report = {
            let _guard = self
                .processing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            process::run_pass(&self.store, &index, &ProcessOptions::default())
        };
        self.return_index(index);
        Ok(report?)
    }
}

/// A route's methods; any other method is a 405 with `Allow`.
fn methods(handlers: Vec<MethodRouter<Arc<App>>>, allow: &'static str) -> MethodRouter<Arc<App>> {
    handlers
        .into_iter()
        .fold(MethodRouter::new(), MethodRouter::merge)
        .fallback(move || async move {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, allow)
        })
}

/// The whole API: paths are tidied first (doubled slashes collapse, a
/// trailing slash goes: gnocchiclient sends both), then routed.
pub fn router(app: Arc<App>) -> Router {
    use tower::ServiceExt;
    let tidy: fn(Request) -> Request = tidy_path;
    let app_for_layers = app.clone();
    Router::new()
        .fallback_service(routes(app).map_request(tidy))
        .layer(middleware::from_fn(negotiate_and_render))
        .layer(middleware::from_fn_with_state(
            app_for_layers.clone(),
            timeout,
        ))
        .layer(middleware::from_fn_with_state(app_for_layers, cors::cors))
}

fn routes(app: Arc<App>) -> Router {
    let routes = Router::new()
        .route("/", methods(vec![get(root::versions)], "GET"))
        .route("/healthcheck", methods(vec![get(root::healthcheck)], "GET"))
        .route("/v1", methods(vec![get(root::index)], "GET"))
        .route(
            "/v1/capabilities",
            methods(vec![get(root::capabilities)], "GET"),
        )
        .route("/v1/status", methods(vec![get(root::status)], "GET"))
        .route(
            "/v1/archive_policy",
            methods(
                vec![get(archive_policy::list), post(archive_policy::create)],
                "GET, POST",
            ),
        )
        .route(
            "/v1/archive_policy/{name}",
            methods(
                vec![
                    get(archive_policy::show),
                    patch(archive_policy::update),
                    delete(archive_policy::delete),
                ],
                "DELETE, GET, PATCH",
            ),
        )
        .route(
            "/v1/archive_policy_rule",
            methods(
                vec![
                    get(archive_policy::list_rules),
                    post(archive_policy::create_rule),
                ],
                "GET, POST",
            ),
        )
        .route(
            "/v1/archive_policy_rule/{name}",
            methods(
                vec![
                    get(archive_policy::show_rule),
                    patch(archive_policy::rename_rule),
                    delete(archive_policy::delete_rule),
                ],
                "DELETE, GET, PATCH",
            ),
        )
        .route(
            "/v1/metric",
            methods(vec![get(metric::list), post(metric::create)], "GET, POST"),
        )
        .route(
            "/v1/metric/{id}",
            methods(
                vec![get(metric::show), delete(metric::delete)],
                "DELETE, GET",
            ),
        )
        .route(
            "/v1/metric/{id}/measures",
            methods(
                vec![get(metric::get_measures), post(metric::post_measures)],
                "GET, POST",
            ),
        )
        .route("/v1/resource", methods(vec![get(resource::types)], "GET"))
        .route(
            "/v1/resource/{type}",
            methods(
                vec![
                    get(resource::list),
                    post(resource::create),
                    delete(resource::batch_delete),
                ],
                "DELETE, GET, POST",
            ),
        )
        .route(
            "/v1/resource/{type}/{id}",
            methods(
                vec![
                    get(resource::show),
                    patch(resource::update),
                    delete(resource::delete),
                ],
                "DELETE, GET, PATCH",
            ),
        )
        .route(
            "/v1/resource/{type}/{id}/history",
            methods(vec![get(resource::history)], "GET"),
        )
        .route(
            "/v1/resource/{type}/{id}/metric",
            methods(
                vec![get(resource::metrics), post(resource::add_metrics)],
                "GET, POST",
            ),
        )
        .route(
            "/v1/resource/{type}/{id}/metric/{name}",
            methods(
                vec![get(resource::show_metric), delete(resource::delete_metric)],
                "DELETE, GET",
            ),
        )
        .route(
            "/v1/resource/{type}/{id}/metric/{name}/measures",
            methods(
                vec![
                    get(resource::get_metric_measures),
                    post(resource::post_metric_measures),
                ],
                "GET, POST",
            ),
        )
        .route(
            "/v1/resource_type",
            methods(
                vec![get(resource_type::list), post(resource_type::create)],
                "GET, POST",
            ),
        )
        .route(
            "/v1/resource_type/{name}",
            methods(
                vec![
                    get(resource_type::show),
                    patch(resource_type::update),
                    delete(resource_type::delete),
                ],
                "DELETE, GET, PATCH",
            ),
        )
        .route(
            "/v1/search/resource/{type}",
            methods(vec![post(search::resources)], "POST"),
        )
        .route(
            "/v1/search/metric",
            methods(vec![post(search::metrics)], "POST"),
        )
        .route(
            "/v1/aggregates",
            methods(vec![post(aggregates::aggregates)], "POST"),
        )
        .route(
            "/v1/batch/metrics/measures",
            methods(vec![post(batch::metrics)], "POST"),
        )
        .route(
            "/v1/batch/resources/metrics/measures",
            methods(vec![post(batch::resources)], "POST"),
        )
        // Gnocchi's InfluxDB routes are pecan custom actions: their 405
        // has an empty `Allow`.
        .route("/v1/influxdb/ping", methods(vec![get(influxdb::ping)], ""))
        .route(
            "/v1/influxdb/query",
            methods(vec![post(influxdb::query)], ""),
        )
        .route(
            "/v1/influxdb/write",
            methods(vec![post(influxdb::write)], ""),
        )
        .route(
            "/v1/prometheus/write",
            methods(vec![post(prometheus::write)], "POST"),
        );
    // The deprecated cross-metric aggregation; its other paths are pecan
    // custom actions that refuse every method with an empty `Allow`.
    let routes = routes
        .route(
            "/v1/aggregation/metric",
            methods(
                vec![get(aggregation::get_metric), post(aggregation::post_metric)],
                "GET, POST",
            ),
        )
        .route(
            "/v1/aggregation/resource/{type}/metric/{name}",
            methods(vec![post(aggregation::by_resource)], "POST"),
        )
        .route("/v1/aggregation/{*rest}", methods(Vec::new(), ""));
    routes.fallback(root::not_found).with_state(app)
}

fn tidy_path(mut request: Request) -> Request {
    let raw = request.uri().path();
    // Most paths are tidy already: nothing to rewrite or remember.
    if raw == "/" || (!raw.contains("//") && !raw.ends_with('/')) {
        return request;
    }
    let path = raw.to_owned();
    let mut tidy = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        tidy.push('/');
        tidy.push_str(segment);
    }
    if tidy.is_empty() {
        tidy.push('/');
    }
    if tidy != path {
        let query = request
            .uri()
            .query()
            .map_or_else(String::new, |q| format!("?{q}"));
        if let Ok(uri) = format!("{tidy}{query}").parse() {
            *request.uri_mut() = uri;
        }
    }
    request.extensions_mut().insert(OriginalPath(path));
    request
}

/// What a path answers: nothing to negotiate for the health check, HTML
/// for the two handlers Gnocchi does not expose as JSON, JSON elsewhere.
fn offer(method: &Method, path: &str) -> Option<&'static str> {
    match (path.trim_end_matches('/'), method.as_str()) {
        ("/healthcheck", _) => None,
        ("/v1/influxdb/ping", "GET" | "HEAD") | ("/v1/prometheus/write", "POST") => {
            Some("text/html")
        }
        // A wrong method: routing answers 405 first.
        ("/v1/influxdb/ping" | "/v1/prometheus/write", _) => None,
        _ => Some("application/json"),
    }
}

/// Refuses an answer the client cannot take (406), then writes every
/// error as the request's `Accept` asks.
async fn negotiate_and_render(request: Request, next: Next) -> Response {
    let environ = Environ::of(request.method(), request.headers());
    let refused = match offer(request.method(), request.uri().path()) {
        Some(offer) if !negotiate::accepts(environ.accept.as_deref(), offer) => {
            // pecan's description: `null` where its offer is not JSON.
            let description = match offer {
                "application/json" => crate::pyform::json::Json::str(""),
                _ => crate::pyform::json::Json::Null,
            };
            Some(ApiError::with_object(
                StatusCode::NOT_ACCEPTABLE,
                description,
            ))
        }
        _ => None,
    };
    let response = match refused {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    };
    match response.extensions().get::<ApiError>() {
        Some(error) => {
            let mut page = error::render(error, &environ);
            for (name, value) in response.headers() {
                if !page.headers().contains_key(name) && name != header::CONTENT_LENGTH {
                    page.headers_mut().insert(name.clone(), value.clone());
                }
            }
            page
        }
        None => response,
    }
}

/// Bounds a request's time.
async fn timeout(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    let limit = app.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "The request took longer than {} s (--request-timeout)",
                limit.as_secs_f64()
            ),
        )
        .into_response(),
    }
}

/// Binds the API and runs it with the background aggregation pass until
/// Ctrl-C or SIGTERM.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    if let Some(interval) = app.config.process_interval {
        tokio::spawn(background_processing(app.clone(), interval));
    }
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn background_processing(app: Arc<App>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let pass_app = app.clone();
        let outcome = tokio::task::spawn_blocking(move || pass_app.process_pass()).await;
        let message = match outcome {
            Ok(Ok(report)) => report
                .failures
                .iter()
                .map(|f| format!("carbonara serve: aggregation: {f}\n"))
                .collect::<String>(),
            Ok(Err(error)) => format!("carbonara serve: aggregation pass failed: {error}\n"),
            Err(error) => format!("carbonara serve: aggregation pass failed: {error}\n"),
        };
        if !message.is_empty() {
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}

/// Whether an address is only reachable from this machine.
pub fn is_loopback(address: &SocketAddr) -> bool {
    address.ip().is_loopback()
}
