//! `carbonara serve`: Gnocchi's REST API v1 over the store, with the
//! aggregation pass running in the background (docs/gnocchi-semantics.md#the-rest-api).
//!
//! `router(app)` is the whole HTTP application, apart from any listener so
//! that tests drive it with `oneshot`; `serve` binds it and runs the
//! background pass. Handlers (one file per object, whose `routes()` names
//! its paths) are thin: they read the call (call.rs, input.rs), check the
//! caller (auth.rs), run the shared operations (`crate::ops`) in
//! `spawn_blocking`, and answer Gnocchi's documents
//! (`crate::pyform::document`) or an `ApiError` (error.rs).

mod aggregates;
mod aggregation;
mod archive_policy;
pub mod auth;
mod backfill;
mod backlog;
mod batch;
mod cache;
mod call;
mod commit;
mod cors;
pub mod error;
mod influxdb;
mod input;
pub mod keystone;
mod metric;
mod metric_update;
mod named;
pub mod negotiate;
mod prometheus;
mod reply;
mod resource;
mod resource_type;
mod root;
mod search;
mod store_watch;
mod top;

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use uuid::Uuid;

use crate::error::Result;
use crate::ops;
use crate::policy::AggregationMethod;
use crate::process::{self, ProcessOptions};
use crate::store::lock::SackLocks;
use crate::store::{Index, Location, Metric, Store, txn};
use crate::time::Timestamp;
pub use auth::AuthMode;
use call::OriginalPath;
use error::{ApiError, ApiResult, Environ};

/// How the server runs (the `serve` flags).
#[derive(Debug, Clone)]
pub struct Config {
    pub location: Location,
    pub auth: AuthMode,
    /// `[keystone_authtoken]`, which `AuthMode::Keystone` needs.
    pub keystone: Option<keystone::KeystoneConfig>,
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
    /// Least time between two background passes that run the janitor
    /// (Gnocchi's `[metricd] metric_cleanup_delay`); the first pass runs it.
    pub cleanup_delay: Duration,
    /// How long a `refresh` waits for its metric's sack (Gnocchi's `[api]
    /// operation_timeout`) before answering 503.
    pub operation_timeout: Duration,
    /// The methods of a policy created without any (Gnocchi's
    /// `[archive_policy] default_aggregation_methods`).
    pub default_aggregation_methods: Vec<AggregationMethod>,
    /// Workers per sack on a ring (`[metricd] processing_replicas`): the
    /// sacks `/v1/status` gives each worker.
    pub processing_replicas: u32,
    /// Measures waiting beyond which measure writes are refused with 503
    /// (`--max-backlog`); none: the store's setting (`carbonara
    /// max-backlog`), if any.
    pub max_backlog: Option<u64>,
}

impl Config {
    pub fn new(location: Location) -> Config {
        Config {
            location,
            auth: AuthMode::Basic,
            keystone: None,
            max_limit: 1000,
            cors_allowed_origins: Vec::new(),
            proxy_headers: false,
            max_body_size: 64 << 20,
            request_timeout: Duration::from_secs(60),
            process_interval: Some(Duration::from_secs(1)),
            cleanup_delay: Duration::from_secs(300),
            operation_timeout: ops::measures::OPERATION_TIMEOUT,
            default_aggregation_methods: AggregationMethod::defaults(),
            processing_replicas: 3,
            max_backlog: None,
        }
    }
}

/// The server's state: the store and a pool of index connections.
pub struct App {
    pub config: Config,
    store: Store,
    indexes: Mutex<Vec<Index>>,
    /// One aggregation pass at a time in this process (background or
    /// `refresh`), so a refresh waits for the server's own pass rather than
    /// finding its sack busy.
    processing: Mutex<()>,
    /// Recent answers of `GET …/measures` (see cache.rs).
    measures_cache: cache::MeasuresCache,
    /// Stores the measures of concurrent requests in shared transactions
    /// (always there once `open` returns).
    committer: Option<commit::Committer>,
    /// Checks tokens in keystone mode.
    keystone: Option<Arc<keystone::Keystone>>,
    /// Short lookups in a PostgreSQL index running at once (see
    /// `lookup`).
    lookups: tokio::sync::Semaphore,
    /// The measures waiting as this server counts them, its limit, and the
    /// rate of its passes (see backlog.rs).
    backlog: backlog::Backlog,
    /// Whether the store directory is still the one opened.
    store_watch: store_watch::StoreWatch,
}

/// What a blocking operation works with.
pub struct Work<'a> {
    pub store: &'a Store,
    pub index: &'a Index,
    /// The request's time: relative timestamps count from it.
    pub now: Timestamp,
    app: &'a App,
    /// For a group commit's checks (commit.rs), the metrics they found by
    /// id: the requests of a group only write measures and are answered
    /// together, so those that name one metric share its lookup (one index
    /// round trip a metric, not a request). `None` for a single request.
    group_found: Option<RefCell<HashMap<Uuid, metric::Found>>>,
}

impl Work<'_> {
    /// What this group commit already found as metric `id`.
    fn found_in_group(&self, id: Uuid) -> Option<metric::Found> {
        self.group_found.as_ref()?.borrow().get(&id).cloned()
    }

    /// Keeps `found` for the other requests of this group commit.
    fn keep_for_group(&self, found: &metric::Found) {
        if let Some(group) = &self.group_found {
            group.borrow_mut().insert(found.metric.id, found.clone());
        }
    }

    /// Aggregates the metric's waiting measures (`refresh=true`), waiting
    /// up to `--operation-timeout` for its sack: each try runs while no
    /// other pass of this server runs, and the pauses between them hold
    /// nothing. What a try takes leaves the server's backlog count as a
    /// background pass's does.
    pub fn refresh(&self, metric: &Metric) -> Result<()> {
        ops::measures::refresh_with(metric, self.app.config.operation_timeout, || {
            let _guard = self
                .app
                .processing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.app.backlog.pass_started();
            let tried = ops::measures::try_refresh(self.store, self.index, metric);
            let taken = match tried {
                Ok(ops::measures::Refreshed::Done { taken }) => taken,
                _ => 0,
            };
            self.app.backlog.pass_ended(taken);
            tried
        })
    }
}

impl Work<'_> {
    /// Queues `measures` but those their metrics' back windows would drop,
    /// which are backfilled (`?backfill=true`), waiting up to
    /// `--operation-timeout` for each metric's sack, while no other pass of
    /// this server runs.
    pub fn backfill(
        &self,
        measures: &commit::Measures,
        replace: bool,
    ) -> Result<Vec<ops::backfill::MetricBackfill>> {
        let _guard = self
            .app
            .processing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        ops::backfill::add(
            self.store,
            self.index,
            measures,
            replace,
            self.app.config.operation_timeout,
            self.now,
        )
    }
}

impl App {
    /// Opens the store, first finishing what killed processes committed,
    /// and starts the committing thread.
    pub fn open(mut config: Config) -> Result<Arc<App>> {
        let keystone = match (config.auth, &config.keystone) {
            (AuthMode::Keystone, Some(options)) => Some(Arc::new(
                keystone::Keystone::new(options.clone())
                    .map_err(|e| crate::error::Error::Usage(e.to_string()))?,
            )),
            (AuthMode::Keystone, None) => {
                return Err(crate::error::Error::Usage(
                    "the keystone authentication needs the [keystone_authtoken] options".to_owned(),
                ));
            }
            (AuthMode::Basic | AuthMode::Noauth, _) => None,
        };
        let store = config.location.open()?;
        txn::recover(&store, Some(&mut SackLocks::new(&store)))?;
        config.max_backlog = config.max_backlog.or(store.config().max_backlog);
        let backlog = backlog::Backlog::new(
            config.max_backlog,
            config.process_interval.unwrap_or(backlog::RECOUNT_INTERVAL),
        );
        if config.max_backlog.is_some() {
            backlog.recount(|| ops::measures::backlog(&store))?;
        }
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
                store_watch: store_watch::StoreWatch::new(store.root()),
                store,
                indexes: Mutex::new(Vec::new()),
                processing: Mutex::new(()),
                measures_cache: cache::MeasuresCache::new(),
                committer,
                keystone,
                lookups: tokio::sync::Semaphore::new(
                    2 * std::thread::available_parallelism().map_or(1, |n| n.get()),
                ),
                backlog,
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
    /// `metric`: the metric `prepare` finds by id, if it names one.
    pub async fn store_measures(
        &self,
        metric: Option<Uuid>,
        prepare: commit::Prepare,
    ) -> ApiResult<()> {
        match &self.committer {
            Some(committer) => committer.store(metric, prepare).await,
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

    /// Runs a short lookup (index rows, an answer kept in memory): on the
    /// calling thread on a store all on local disk; with a PostgreSQL
    /// index or S3 and Redis drivers on a blocking thread, at most two per
    /// core at once: more would only queue in the servers while their
    /// threads and its processes take turns on the cores.
    pub async fn lookup<T, F>(self: &Arc<App>, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Work<'_>) -> ApiResult<T> + Send + 'static,
    {
        if self.store.is_local() {
            return self.run_here(work);
        }
        let _permit = self.lookups.acquire().await.map_err(ApiError::internal)?;
        self.run(work).await
    }

    /// Runs `work` on the calling thread: only for work that never waits
    /// long (lookups in a local index, an answer kept in memory); never
    /// with a PostgreSQL index or a remote driver (see `Store::is_local`).
    pub fn run_here<T>(&self, work: impl FnOnce(&Work<'_>) -> ApiResult<T>) -> ApiResult<T> {
        let index = self.take_index().map_err(ApiError::from)?;
        let result = work(&Work {
            store: &self.store,
            index: &index,
            now: Timestamp::now(),
            app: self,
            group_found: None,
        });
        self.return_index(index);
        result
    }

    /// One aggregation pass over every sack (the background metricd),
    /// then the janitor if `janitor`: the lines to log, one per metric that
    /// failed or lost measures to its back window.
    fn process_pass(&self, janitor: bool) -> Result<Vec<String>> {
        let index = self.take_index()?;
        let options = ProcessOptions {
            skip_janitor: !janitor,
            ..ProcessOptions::default()
        };
        let report = {
            let _guard = self
                .processing
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.backlog.pass_started();
            let report = process::run_pass(&self.store, &index, &options);
            // A failed pass took an unknown number: the next listing tells.
            let taken = report
                .as_ref()
                .map_or(0, |report| report.measures + report.orphan_measures);
            self.backlog.pass_ended(taken);
            report
        };
        let lines = report
            .map_err(crate::error::Error::from)
            .and_then(|report| {
                let mut lines = crate::ops::measures::describe_too_old(&index, &report.too_old)?;
                lines.extend(report.failures.iter().map(|f| format!("aggregation: {f}")));
                Ok(lines)
            });
        self.return_index(index);
        lines
    }
}

/// A path's handlers, one per method, as a module's `routes()` registers
/// them. Any other method is answered 405 with an `Allow` naming the
/// registered methods, sorted as pecan lists them; pecan's custom actions
/// answer an empty `Allow` instead.
pub struct Methods {
    router: MethodRouter<Arc<App>>,
    allowed: Vec<&'static str>,
    custom_action: bool,
}

/// Starts a path's [`Methods`].
pub fn methods() -> Methods {
    Methods {
        router: MethodRouter::new(),
        allowed: Vec::new(),
        custom_action: false,
    }
}

impl Methods {
    /// GET, and HEAD through it.
    pub fn get<H: Handler<T, Arc<App>>, T: 'static>(self, handler: H) -> Methods {
        self.on("GET", MethodFilter::GET, handler)
    }

    pub fn post<H: Handler<T, Arc<App>>, T: 'static>(self, handler: H) -> Methods {
        self.on("POST", MethodFilter::POST, handler)
    }

    pub fn patch<H: Handler<T, Arc<App>>, T: 'static>(self, handler: H) -> Methods {
        self.on("PATCH", MethodFilter::PATCH, handler)
    }

    pub fn delete<H: Handler<T, Arc<App>>, T: 'static>(self, handler: H) -> Methods {
        self.on("DELETE", MethodFilter::DELETE, handler)
    }

    /// A pecan custom action (`@pecan.expose` on a named method): its 405
    /// has an empty `Allow`.
    pub fn custom_action(mut self) -> Methods {
        self.custom_action = true;
        self
    }

    fn on<H: Handler<T, Arc<App>>, T: 'static>(
        mut self,
        name: &'static str,
        filter: MethodFilter,
        handler: H,
    ) -> Methods {
        self.router = self.router.on(filter, handler);
        self.allowed.push(name);
        self
    }
}

impl From<Methods> for MethodRouter<Arc<App>> {
    fn from(methods: Methods) -> MethodRouter<Arc<App>> {
        let mut allowed = methods.allowed;
        allowed.sort_unstable();
        let allow = match methods.custom_action {
            true => String::new(),
            false => allowed.join(", "),
        };
        methods.router.fallback(move || async move {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, allow)
        })
    }
}

/// The whole API: paths are tidied first (doubled slashes collapse, a
/// trailing slash goes: gnocchiclient sends both), then routed.
pub fn router(app: Arc<App>) -> Router {
    use tower::ServiceExt;
    let tidy: fn(Request) -> Request = tidy_path;
    let app_for_layers = app.clone();
    let mut router = Router::new()
        .fallback_service(routes(app).map_request(tidy))
        .layer(middleware::from_fn(negotiate_and_render));
    // keystonemiddleware sits outside pecan (its 401 and 503 are not
    // negotiated) and inside oslo's CORS.
    if app_for_layers.keystone.is_some() {
        router = router.layer(middleware::from_fn_with_state(
            app_for_layers.clone(),
            keystone::authenticate,
        ));
    }
    router
        .layer(middleware::from_fn_with_state(
            app_for_layers.clone(),
            store_watch::refuse_when_gone,
        ))
        .layer(middleware::from_fn_with_state(
            app_for_layers.clone(),
            timeout,
        ))
        .layer(middleware::from_fn_with_state(app_for_layers, cors::cors))
}

/// Every resource module's routes.
fn routes(app: Arc<App>) -> Router {
    Router::new()
        .merge(root::routes())
        .merge(archive_policy::routes())
        .merge(metric::routes())
        .merge(resource::routes())
        .merge(resource_type::routes())
        .merge(search::routes())
        .merge(aggregates::routes())
        .merge(batch::routes())
        .merge(influxdb::routes())
        .merge(prometheus::routes())
        .merge(aggregation::routes())
        .merge(top::routes())
        .fallback(root::not_found)
        .with_state(app)
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
    if app.config.max_backlog.is_some() {
        tokio::spawn(recount_backlog(app.clone()));
    }
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// A pass every `interval`; the janitor with the first pass, then with the
/// first pass once `cleanup_delay` has passed since it last started, as
/// gnocchi-metricd's janitor worker runs apart from its processing ones.
async fn background_processing(app: Arc<App>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_janitor: Option<Instant> = None;
    loop {
        ticker.tick().await;
        if !app.store_watch.present() {
            continue;
        }
        let janitor =
            last_janitor.is_none_or(|started| started.elapsed() >= app.config.cleanup_delay);
        if janitor {
            last_janitor = Some(Instant::now());
        }
        let pass_app = app.clone();
        let outcome = tokio::task::spawn_blocking(move || pass_app.process_pass(janitor)).await;
        let message = match outcome {
            Ok(Ok(lines)) => lines
                .iter()
                .map(|line| format!("carbonara serve: {line}"))
                .collect::<Vec<_>>()
                .join("\n"),
            Ok(Err(error)) => format!("carbonara serve: aggregation pass failed: {error}"),
            Err(error) => format!("carbonara serve: aggregation pass failed: {error}"),
        };
        if !message.is_empty() {
            crate::diagnostics::warn(&message);
        }
    }
}

/// Takes the count of waiting measures from the store every
/// `backlog::RECOUNT_INTERVAL`, for what other processes wrote and
/// processed and what this server's own count missed.
async fn recount_backlog(app: Arc<App>) {
    let mut ticker = tokio::time::interval(backlog::RECOUNT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let counting = app.clone();
        let counted = tokio::task::spawn_blocking(move || {
            counting
                .backlog
                .recount(|| ops::measures::backlog(&counting.store))
        })
        .await;
        match counted {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => crate::diagnostics::warn(&format!(
                "carbonara serve: cannot count the measures waiting: {error}"
            )),
            Err(error) => crate::diagnostics::warn(&format!(
                "carbonara serve: cannot count the measures waiting: {error}"
            )),
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
