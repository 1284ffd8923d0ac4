//! `carbonara serve`: Gnocchi's REST API v1 over the store, with the
//! aggregation pass in the background, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use crate::deployment::{AuthMode as DeploymentAuth, Deployment};
use crate::error::ErrorKind;
use crate::error::{Error, Result};
use crate::ops;
use crate::server::keystone::KeystoneConfig;
use crate::server::{self, App, AuthMode, Config};
use crate::statsd;
use crate::time::{self, Span};

use super::Ctx;

/// How callers identify themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Auth {
    /// HTTP basic: the user name is the creator, `admin` is admin (gnocchiclient's `gnocchi-basic`)
    Basic,
    /// Keystone's headers, trusted as sent: X-User-Id, X-Project-Id, X-Roles (gnocchiclient's `gnocchi-noauth`, Grafana)
    Noauth,
    /// Keystone tokens (X-Auth-Token), validated against the deployment's Keystone as keystonemiddleware does; needs --gnocchi-conf and its `[keystone_authtoken]`
    Keystone,
}

/// With `--gnocchi-conf`, the options left out take the file's `[api]`
/// (and `[cors]`, `[metricd]`) values, then these defaults.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to listen on (a non-loopback address is announced on stderr) [default: 127.0.0.1:8041, or `[api] host` and `port`]
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// How callers identify themselves [default: basic, or `[api] auth_mode`]
    #[arg(long, value_enum)]
    auth: Option<Auth>,
    /// Time between background aggregation passes (`0` for none: measures are then aggregated by `?refresh=true` or `carbonara process`) [default: 1s, or `[metricd] metric_processing_delay`]
    #[arg(long, value_name = "SPAN", value_parser = parse_interval)]
    process_interval: Option<Interval>,
    /// Least time between two background passes that expunge deleted metrics (`0`: every pass) [default: 300s, or `[metricd] metric_cleanup_delay`]
    #[arg(long, value_name = "SPAN", value_parser = parse_span_or_zero)]
    cleanup_delay: Option<Span>,
    /// How long `?refresh=true` waits for a pass that holds the metric's sack before answering 503 (`0`: no wait) [default: 10s, or `[api] operation_timeout`]
    #[arg(long, value_name = "SPAN", value_parser = parse_span_or_zero)]
    operation_timeout: Option<Span>,
    /// Largest page of a listing, and its default [default: 1000, or `[api] max_limit`]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_limit: Option<u64>,
    /// An origin allowed to call the API from a browser (CORS), e.g. Grafana's URL; `*` for any; repeat for more [default: `[cors] allowed_origin`]
    #[arg(long = "cors-allowed-origin", value_name = "URL")]
    cors_allowed_origins: Vec<String>,
    /// Trust `Forwarded` and `X-Forwarded-Proto/Host/Prefix` from a reverse proxy for the URLs the API writes [default: `[api] enable_proxy_headers_parsing`]
    #[arg(long)]
    proxy_headers: bool,
    /// Largest request body accepted, in bytes (larger ones get 413)
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_body_size: usize,
    /// Longest time a request may take before it is answered 503
    #[arg(long, default_value = "60s", value_name = "SPAN", value_parser = time::parse_timespan)]
    request_timeout: Span,
    /// Refuse measure writes with 503 and Retry-After while more than this many measures wait to be processed (a carbonara option, also with --gnocchi-conf) [default: the store's `carbonara max-backlog`, else none]
    #[arg(long, value_name = "MEASURES")]
    max_backlog: Option<u64>,
    /// Also receive statsd metrics on this address, UDP and TCP, flushed every 10 s onto the generic resource `statsd` (`carbonara statsd` has every option)
    #[arg(long, value_name = "ADDR:PORT")]
    statsd: Option<SocketAddr>,
}

/// The shortest time between background passes: tokio's ticker needs one.
const BACK_TO_BACK_NANOS: i64 = 1_000_000;

/// A span between passes, or none.
#[derive(Debug, Clone, Copy)]
struct Interval(Option<Span>);

/// A span, or `0` for none.
fn parse_interval(text: &str) -> std::result::Result<Interval, String> {
    if text.trim() == "0" {
        return Ok(Interval(None));
    }
    time::parse_timespan(text)
        .map(|span| Interval(Some(span)))
        .map_err(|e| e.to_string())
}

/// A span, or `0`.
pub fn parse_span_or_zero(text: &str) -> std::result::Result<Span, String> {
    if text.trim() == "0" {
        return Ok(Span::from_secs(0));
    }
    time::parse_timespan(text).map_err(|e| e.to_string())
}

/// Fills the options the command line left out from the deployment's
/// configuration file, as gnocchi-api reads them.
fn with_deployment_defaults(args: &mut Args, deployment: &Deployment) -> Result<()> {
    let api = &deployment.api;
    if args.listen.is_none()
        && let (Some(host), Some(port)) = (&api.host, api.port)
    {
        let address = format!("{host}:{port}");
        args.listen = Some(address.parse().map_err(|e| {
            Error::Usage(format!(
                "{}: [api] host and port {address}: {e}",
                deployment.path.display()
            ))
        })?);
    }
    if args.auth.is_none() {
        args.auth = Some(match api.auth_mode {
            DeploymentAuth::Basic => Auth::Basic,
            DeploymentAuth::Noauth => Auth::Noauth,
            DeploymentAuth::Keystone => Auth::Keystone,
        });
    }
    args.max_limit = args.max_limit.or(Some(api.max_limit as u64));
    if args.cors_allowed_origins.is_empty() {
        args.cors_allowed_origins = api.cors_allowed_origins.clone();
    }
    args.proxy_headers |= api.enable_proxy_headers_parsing;
    // gnocchi-metricd scans its sacks this often; at 0 (or less) it scans
    // back to back, which here is a pass every millisecond.
    let delay = deployment.metricd.metric_processing_delay;
    let delay = delay.max(Span::from_nanos(BACK_TO_BACK_NANOS));
    args.process_interval = args.process_interval.or(Some(Interval(Some(delay))));
    args.cleanup_delay = args
        .cleanup_delay
        .or(Some(deployment.metricd.metric_cleanup_delay));
    args.operation_timeout = args.operation_timeout.or(Some(api.operation_timeout));
    Ok(())
}

/// keystonemiddleware's options, from the deployment's
/// `[keystone_authtoken]`; what carbonara accepts but does not do is said.
fn keystone_config(deployment: &Deployment, ctx: &Ctx) -> Result<KeystoneConfig> {
    let options = deployment
        .keystone_authtoken
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let config = KeystoneConfig::from_options(&options).map_err(|e| Error::Reworded {
        kind: ErrorKind::Invalid,
        message: format!(
            "{}: [keystone_authtoken] {}: {}",
            deployment.path.display(),
            e.option,
            e.reason
        ),
    })?;
    for note in &config.notes {
        ctx.warn(&format!(
            "{}: [keystone_authtoken] {note}",
            deployment.path.display()
        ));
    }
    Ok(config)
}

pub fn duration(span: Span) -> Duration {
    Duration::from_nanos(u64::try_from(span.nanos()).unwrap_or(0))
}

pub fn run(mut args: Args, ctx: &Ctx) -> Result<()> {
    if let Some(deployment) = &ctx.deployment {
        with_deployment_defaults(&mut args, deployment)?;
    }
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8041)));
    let auth = args.auth.unwrap_or(Auth::Basic);
    let keystone = match (auth, &ctx.deployment) {
        (Auth::Keystone, Some(deployment)) => Some(keystone_config(deployment, ctx)?),
        (Auth::Keystone, None) => {
            return Err(Error::Usage(
                "--auth keystone validates tokens with the [keystone_authtoken] options of a Gnocchi configuration file: give --gnocchi-conf".to_owned(),
            ));
        }
        _ => None,
    };
    let config = Config {
        location: ctx.location.clone(),
        auth: match auth {
            Auth::Basic => AuthMode::Basic,
            Auth::Noauth => AuthMode::Noauth,
            Auth::Keystone => AuthMode::Keystone,
        },
        keystone,
        max_limit: usize::try_from(args.max_limit.unwrap_or(1000)).unwrap_or(usize::MAX),
        cors_allowed_origins: args.cors_allowed_origins,
        proxy_headers: args.proxy_headers,
        max_body_size: args.max_body_size,
        request_timeout: duration(args.request_timeout),
        process_interval: args
            .process_interval
            .unwrap_or(Interval(Some(Span::from_secs(1))))
            .0
            .map(duration),
        cleanup_delay: args
            .cleanup_delay
            .map_or(Duration::from_secs(300), duration),
        operation_timeout: args
            .operation_timeout
            .map_or(ops::measures::OPERATION_TIMEOUT, duration),
        default_aggregation_methods: ctx.default_aggregation_methods(),
        processing_replicas: ctx.deployment.as_ref().map_or(3, |d| {
            u32::try_from(d.metricd.processing_replicas).unwrap_or(u32::MAX)
        }),
        max_backlog: args.max_backlog,
    };
    let app = App::open(config)?;
    // The App's PostgreSQL connections close by blocking their thread,
    // which a runtime's thread must not do: the last handle on it is this
    // one, dropped once the runtime (and its blocking threads) are gone.
    let served = app.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the server's runtime: {e}")))?;
    let outcome = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| Error::Failed(format!("cannot listen on {listen}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Failed(format!("cannot listen on {listen}: {e}")))?;
        // Keystone checks who callers are; basic and noauth believe them.
        if auth != Auth::Keystone && !server::is_loopback(&address) {
            ctx.warn(&format!(
                "listening on {address}, which other machines may reach; anyone who can connect can use the API with the rights of the user they claim"
            ));
        }
        ctx.note(&format!(
            "carbonara serve: Gnocchi API on http://{address}/ for store {}",
            ctx.location
        ));
        let statsd = match args.statsd {
            Some(address) => {
                let listeners = statsd::Listeners::bind(address).await?;
                let options = super::statsd::options(
                    ctx,
                    super::statsd::DEFAULT_RESOURCE_ID.to_owned(),
                    Span::from_secs(10),
                );
                super::statsd::announce(ctx, listeners.local_addr()?, &options);
                Some(tokio::spawn(statsd::run(
                    listeners,
                    options,
                    server::shutdown_signal(),
                )))
            }
            None => None,
        };
        server::serve(served, listener)
            .await
            .map_err(|e| Error::Failed(format!("server error: {e}")))?;
        match statsd {
            // Its final flush, after the same signal.
            Some(daemon) => daemon
                .await
                .map_err(|e| Error::Failed(format!("statsd daemon: {e}")))?,
            None => Ok(()),
        }
    });
    drop(runtime);
    drop(app);
    outcome
}
