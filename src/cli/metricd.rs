//! `carbonara metricd`: a long-running aggregation worker, gnocchi-metricd's
//! job, until SIGTERM or SIGINT (a second one stops it at once). Logs one
//! line per pass that found work, as text or, with `--json`, one JSON
//! object per line, on stderr.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::error::{Error, Result};
use crate::process::worker::{self, Event, WorkerOptions};
use crate::pyform::json::Json;
use crate::store::coordinator::membership::metricd_member_id;
use crate::time::Span;

use super::Ctx;
use super::serve::{duration, parse_span_or_zero};
use super::words::count;

/// With `--gnocchi-conf`, the options left out take the file's `[metricd]`
/// values, then these defaults.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Threads of each pass [default: one per core, or per `[metricd] workers`; 16 times that on S3 or Redis drivers]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workers: Option<u16>,
    /// Time from the start of a pass to the start of the next [default: 1s, or `[metricd] metric_processing_delay`]
    #[arg(long, value_name = "SPAN", value_parser = parse_span_or_zero)]
    processing_delay: Option<Span>,
    /// Least time between two passes that expunge deleted metrics (`0`: every pass) [default: 300s, or `[metricd] metric_cleanup_delay`]
    #[arg(long, value_name = "SPAN", value_parser = parse_span_or_zero)]
    cleanup_delay: Option<Span>,
    /// Workers each sack is given to when the workers share sacks through Redis (tooz's ring) [default: 3, or `[metricd] processing_replicas`]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    processing_replicas: Option<u32>,
    /// Log one JSON object per line
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let metricd = ctx.deployment.as_ref().map(|d| &d.metricd);
    let stop = stop_on_signals()?;
    let (store, _index) = ctx.open_store()?;
    let options = WorkerOptions {
        member_id: metricd_member_id(&hostname(), std::process::id()),
        jobs: args
            .workers
            .map(usize::from)
            .or_else(|| crate::process::threads_for(&store, metricd.and_then(|m| m.workers))),
        processing_delay: duration(
            args.processing_delay
                .or_else(|| metricd.map(|m| m.metric_processing_delay))
                .unwrap_or(Span::from_secs(1)),
        ),
        cleanup_delay: duration(
            args.cleanup_delay
                .or_else(|| metricd.map(|m| m.metric_cleanup_delay))
                .unwrap_or(Span::from_secs(300)),
        ),
        processing_replicas: args
            .processing_replicas
            .or_else(|| metricd.and_then(|m| u32::try_from(m.processing_replicas).ok()))
            .unwrap_or(3),
        greedy: metricd.is_none_or(|m| m.greedy),
    };
    let log = Log {
        ctx,
        json: args.json,
        member_id: options.member_id.clone(),
    };
    worker::run(&store, &options, &stop, |event| log.event(event))?;
    Ok(())
}

/// A flag SIGTERM and SIGINT set; a second signal exits at once (status
/// 1), which loses nothing either: every pass is crash-safe.
fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register_conditional_shutdown(signal, 1, stop.clone())
            .and_then(|_| signal_hook::flag::register(signal, stop.clone()))
            .map_err(|e| Error::Failed(format!("cannot handle signal {signal}: {e}")))?;
    }
    Ok(stop)
}

/// This host's name, the first part of a gnocchi-metricd member id.
fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// Writes a worker's events on stderr.
struct Log<'a> {
    ctx: &'a Ctx,
    json: bool,
    member_id: String,
}

impl Log<'_> {
    fn event(&self, event: Event<'_>) {
        match event {
            Event::Joined {
                member_id,
                share,
                notified,
            } => self.line(
                "joined",
                format!(
                    "worker {member_id}: {}; {}",
                    describe_share(share),
                    match notified {
                        true => "woken by Redis when measures arrive",
                        false => "polls at every processing delay",
                    }
                ),
                vec![
                    ("sacks", share_json(share)),
                    ("notified", Json::Bool(notified)),
                ],
            ),
            Event::Share(share) => self.line(
                "share",
                describe_share(share),
                vec![("sacks", share_json(share))],
            ),
            Event::Pass {
                report,
                index,
                seconds,
            } => {
                // Data not kept: said even with --quiet, as by `process`.
                match crate::ops::measures::describe_too_old(index, &report.too_old) {
                    Ok(sentences) => {
                        for sentence in sentences {
                            self.line("dropped", sentence, vec![]);
                        }
                    }
                    Err(error) => self.line("error", format!("error: {error}"), vec![]),
                }
                for failure in &report.failures {
                    self.line("error", format!("error: {failure}"), vec![]);
                }
                let idle = report.measures == 0
                    && report.orphan_measures == 0
                    && report.busy_sacks == 0
                    && report.expunged == 0
                    && report.failures.is_empty();
                if idle {
                    return;
                }
                let mut text = format!(
                    "pass: {}, {}, {}, {seconds:.3} s",
                    count(report.sacks as u64, "sack", "sacks"),
                    count(report.metrics as u64, "metric", "metrics"),
                    count(report.measures, "measure", "measures"),
                );
                for (n, one, many) in [
                    (report.busy_sacks, "busy sack", "busy sacks"),
                    (report.expunged, "metric expunged", "metrics expunged"),
                    (report.failures.len(), "metric failed", "metrics failed"),
                ] {
                    if n > 0 {
                        text.push_str(&format!("; {}", count(n as u64, one, many)));
                    }
                }
                let int = |n: usize| Json::Int(n as i64);
                self.line(
                    "pass",
                    text,
                    vec![
                        ("sacks", int(report.sacks)),
                        ("metrics", int(report.metrics)),
                        ("measures", Json::Int(report.measures as i64)),
                        ("orphan_measures", Json::Int(report.orphan_measures as i64)),
                        ("busy_sacks", int(report.busy_sacks)),
                        ("expunged", int(report.expunged)),
                        ("failures", int(report.failures.len())),
                        ("seconds", Json::Float(seconds)),
                    ],
                );
            }
            Event::Failed(error) => self.line(
                "error",
                format!("pass failed, retried next period: {error}"),
                vec![],
            ),
            Event::Stopped => self.line("stopped", "stopped; left its fleet".to_owned(), vec![]),
        }
    }

    /// One log line: `carbonara metricd: TEXT`, or a JSON object with the
    /// time, the member id, the event, its fields and its text. Errors and
    /// dropped measures are written even with `--quiet`.
    #[allow(clippy::disallowed_methods)] // the command line writes stderr itself
    fn line(&self, event: &str, text: String, fields: Vec<(&str, Json)>) {
        if self.ctx.quiet && !matches!(event, "error" | "dropped") {
            return;
        }
        let line = if self.json {
            let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let mut object = vec![
                ("time", Json::str(now)),
                ("member", Json::str(self.member_id.clone())),
                ("event", Json::str(event)),
            ];
            object.extend(fields);
            object.push(("message", Json::str(text)));
            Json::object(object).to_python_string()
        } else {
            format!("carbonara metricd: {text}")
        };
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// "processes 43 of 128 sacks", or every sack.
fn describe_share(share: Option<&BTreeSet<u32>>) -> String {
    match share {
        Some(sacks) => format!(
            "processes {} (tooz's ring)",
            count(sacks.len() as u64, "sack", "sacks")
        ),
        None => "tries every sack; the sack locks share them".to_owned(),
    }
}

fn share_json(share: Option<&BTreeSet<u32>>) -> Json {
    match share {
        Some(sacks) => Json::Array(sacks.iter().map(|&s| Json::Int(i64::from(s))).collect()),
        None => Json::str("all"),
    }
}
