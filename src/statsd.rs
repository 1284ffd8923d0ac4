//! The statsd daemon (`carbonara statsd`, `carbonara serve --statsd`):
//! gnocchi-statsd over UDP and, beyond it, TCP (docs/gnocchi-semantics.md#statsd).
//!
//! Each UDP datagram is fed whole to the `Accumulator` (so a line Gnocchi
//! raises on loses the rest of its datagram, as there); each line of a TCP
//! stream is fed as a datagram of its own. Every flush interval the pending
//! measures go to the store through one `MeasureWriter`, one transaction:
//! on the metrics `<name>|<type>` of one resource (created, as `generic`,
//! if missing), metrics created with the given archive policy or the
//! archive-policy rules. What gnocchi-statsd logs is written to stderr in
//! its words. On SIGINT or SIGTERM the daemon stops listening and flushes
//! what is pending (gnocchi-statsd loses it).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::diagnostics;
use crate::error::{Error, Result};
use crate::ingest::statsd::Accumulator;
use crate::ingest::{MeasureWriter, MissingResource, NamedMetric, SinkError, WriterOptions};
use crate::resource::GENERIC;
use crate::store::{self, Location, Store};
use crate::time::Timestamp;

/// gnocchi-statsd's `[statsd]` options.
#[derive(Debug, Clone)]
pub struct Options {
    pub location: Location,
    /// The resource of every metric (any id; not a UUID is mapped).
    pub resource_id: String,
    /// Creator of the resource and the metrics.
    pub creator: String,
    /// Policy of new metrics; the archive-policy rules (matched on
    /// `<name>|<type>`) when `None`.
    pub archive_policy_name: Option<String>,
    pub flush_interval: Duration,
}

/// The kernel buffer for datagrams that arrive while the daemon is busy.
const RECEIVE_BUFFER: usize = 4 << 20;

/// The largest datagram (UDP's limit).
const MAX_DATAGRAM: usize = 65_536;

/// The daemon's sockets, bound.
pub struct Listeners {
    udp: UdpSocket,
    tcp: TcpListener,
}

impl Listeners {
    /// Binds UDP at `address`, then TCP on the same address and port (the
    /// port UDP got, when `address` asks for any: another one if TCP
    /// finds that port taken).
    pub async fn bind(address: SocketAddr) -> Result<Listeners> {
        let failed = |e: std::io::Error| Error::Failed(format!("cannot listen on {address}: {e}"));
        let attempts = if address.port() == 0 { 16 } else { 1 };
        let mut last = None;
        for _ in 0..attempts {
            let udp = bind_udp(address).map_err(failed)?;
            let bound = udp.local_addr().map_err(failed)?;
            match TcpListener::bind(bound).await {
                Ok(tcp) => return Ok(Listeners { udp, tcp }),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
                Err(e) => return Err(failed(e)),
            }
        }
        Err(failed(
            last.unwrap_or_else(|| std::io::ErrorKind::AddrInUse.into()),
        ))
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.udp
            .local_addr()
            .map_err(|e| Error::Failed(format!("cannot read the bound address: {e}")))
    }
}

fn bind_udp(address: SocketAddr) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(address),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    // Best effort: the system may cap it (net.core.rmem_max).
    let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    UdpSocket::from_std(socket.into())
}

/// The pending measures, shared by the receivers and the flusher.
type Pending = Arc<Mutex<Accumulator>>;

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Accumulator> {
    pending
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What gnocchi-statsd would log, on stderr.
fn log(messages: &[String]) {
    if messages.is_empty() {
        return;
    }
    let text: Vec<String> = messages
        .iter()
        .map(|m| format!("carbonara statsd: {m}"))
        .collect();
    diagnostics::warn(&text.join("\n"));
}

/// Receives and flushes until `shutdown` completes, then flushes what is
/// pending.
pub async fn run(
    listeners: Listeners,
    options: Options,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let store = Arc::new(options.location.open()?);
    let options = Arc::new(options);
    let pending: Pending = Arc::default();
    let receivers = [
        tokio::spawn(receive_udp(listeners.udp, pending.clone())),
        tokio::spawn(accept_tcp(listeners.tcp, pending.clone())),
    ];
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + options.flush_interval,
        options.flush_interval,
    );
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = ticker.tick() => flush(&store, &options, &pending).await,
            () = &mut shutdown => break,
        }
    }
    for receiver in receivers {
        receiver.abort();
    }
    flush(&store, &options, &pending).await;
    Ok(())
}

async fn receive_udp(socket: UdpSocket, pending: Pending) {
    let mut buffer = vec![0_u8; MAX_DATAGRAM];
    loop {
        let length = match socket.recv(&mut buffer).await {
            Ok(length) => length,
            Err(error) => {
                log(&[format!("Unable to receive a datagram: {error}")]);
                continue;
            }
        };
        let logged = lock(&pending).feed_datagram(&buffer[..length], Timestamp::now());
        log(&logged);
    }
}

async fn accept_tcp(listener: TcpListener, pending: Pending) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(receive_tcp(stream, pending.clone()));
            }
            Err(error) => log(&[format!("Unable to accept a connection: {error}")]),
        }
    }
}

/// Newline-separated lines over a stream, each taken as a datagram; a
/// line longer than a datagram can be ends the connection.
async fn receive_tcp(stream: TcpStream, pending: Pending) {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut reader)
            .take(MAX_DATAGRAM as u64)
            .read_until(b'\n', &mut line)
            .await;
        match read {
            Ok(0) => return,
            Ok(length) if length == MAX_DATAGRAM && line.last() != Some(&b'\n') => {
                log(&[format!(
                    "A line longer than {MAX_DATAGRAM} bytes: connection closed"
                )]);
                return;
            }
            Ok(_) => {
                let logged = lock(&pending).feed_datagram(&line, Timestamp::now());
                log(&logged);
            }
            Err(error) => {
                log(&[format!("Unable to read from a connection: {error}")]);
                return;
            }
        }
    }
}

/// Writes the pending measures in one transaction; each measure that
/// cannot be stored is logged and dropped, as gnocchi-statsd does.
async fn flush(store: &Arc<Store>, options: &Arc<Options>, pending: &Pending) {
    let measures = lock(pending).flush();
    if measures.is_empty() {
        return;
    }
    let (store, options) = (store.clone(), options.clone());
    let outcome = tokio::task::spawn_blocking(move || store_flush(&store, &options, &measures))
        .await
        .unwrap_or_else(|e| Err(store::Error::IndexData(e.to_string())));
    match outcome {
        Ok(logged) => log(&logged),
        Err(error) => log(&[format!("Unable to flush: {error}")]),
    }
}

fn store_flush(
    store: &Store,
    options: &Options,
    measures: &[(String, Timestamp, f64)],
) -> store::Result<Vec<String>> {
    let index = store.index()?;
    let writer_options = WriterOptions {
        creator: options.creator.clone(),
        create_metrics: true,
        archive_policy_name: options.archive_policy_name.clone(),
    };
    let mut writer = MeasureWriter::new(store, &index, writer_options, Timestamp::now())?;
    let mut logged = Vec::new();
    for (name, timestamp, value) in measures {
        let target = NamedMetric {
            resource: &options.resource_id,
            // gnocchi-statsd takes the resource whatever its type.
            missing_resource: MissingResource::CreateOrUse(GENERIC),
            name,
            archive_policy_name: None,
            unit: None,
        };
        if let Err(error) = writer.add_named(&target, *timestamp, *value) {
            let reason = SinkError::from(error).rejected()?;
            logged.push(format!("Unable to add measure {name}: {reason}"));
        }
    }
    writer.finish()?;
    Ok(logged)
}
