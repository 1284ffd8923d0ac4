//! `carbonara statsd`: gnocchi-statsd over the store, on UDP and TCP,
//! until Ctrl-C or SIGTERM (then what is pending is flushed).

use std::net::SocketAddr;

use crate::error::{Error, Result};
use crate::statsd::{self, Listeners};
use crate::time::{self, Span};

use super::Ctx;

/// Where `serve --statsd` and `statsd` put their metrics by default.
pub const DEFAULT_RESOURCE_ID: &str = "statsd";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address and port to receive on, UDP and TCP (newline-separated lines)
    #[arg(long, default_value = "127.0.0.1:8125", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// Time between flushes of the pending measures into the store (gnocchi-statsd's flush_delay)
    #[arg(long, default_value = "10s", value_name = "SPAN", value_parser = parse_positive)]
    flush_interval: Span,
    /// The generic resource that holds the metrics (created if missing; any id, mapped like every resource id)
    #[arg(long, default_value = DEFAULT_RESOURCE_ID, value_name = "ID")]
    resource_id: String,
    /// Creator of the resource and the metrics [default: --user's]
    #[arg(long, value_name = "CREATOR")]
    creator: Option<String>,
    /// Archive policy of new metrics [default: from the archive-policy rules, matched on NAME|TYPE]
    #[arg(long, value_name = "POLICY")]
    archive_policy_name: Option<String>,
}

fn parse_positive(text: &str) -> std::result::Result<Span, String> {
    time::parse_timespan(text).map_err(|e| e.to_string())
}

/// The daemon's options for a store, from the defaults but for the
/// resource and the interval.
pub fn options(ctx: &Ctx, resource_id: String, flush_interval: Span) -> statsd::Options {
    statsd::Options {
        location: ctx.location.clone(),
        resource_id,
        creator: ctx.creator.clone(),
        archive_policy_name: None,
        flush_interval: super::serve::duration(flush_interval),
    }
}

/// Announces where the daemon listens.
pub fn announce(ctx: &Ctx, address: SocketAddr, options: &statsd::Options) {
    if !address.ip().is_loopback() {
        ctx.warn(&format!(
            "statsd listening on {address}, which other machines may reach; anyone who can send to it writes metrics"
        ));
    }
    ctx.note(&format!(
        "carbonara statsd: receiving on udp://{address} and tcp://{address}, flushing every {} s into resource {}",
        options.flush_interval.as_secs_f64(),
        options.resource_id
    ));
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let mut options = options(ctx, args.resource_id, args.flush_interval);
    if let Some(creator) = args.creator {
        options.creator = creator;
    }
    options.archive_policy_name = args.archive_policy_name;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the daemon's runtime: {e}")))?;
    runtime.block_on(async {
        let listeners = Listeners::bind(args.listen).await?;
        announce(ctx, listeners.local_addr()?, &options);
        statsd::run(listeners, options, crate::server::shutdown_signal()).await
    })
}
