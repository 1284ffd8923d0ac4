//! An HTTP proxy in front of a Garage node that misbehaves on purpose, as
//! a loaded or failing S3 service does: it answers S3's `503 SlowDown` to
//! some requests, or holds them for a while before passing them on. The
//! requests go through unchanged (their `Host` header too, so their
//! signatures still verify). It runs on a thread of its own and stops
//! when dropped.
//!
//! A request whose body it received whole is carried out whole, even when
//! its client goes away before the answer: S3's PUT is all or nothing,
//! where Garage 2.5.0 can lose an object whose PUT its client dropped
//! (`garage_puts.rs`). Behind this proxy, a client killed in the middle of
//! a request leaves the store as S3 would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;

/// What the proxy does to the requests it is given.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answers `503 SlowDown` to the next `n` requests.
    SlowDown(usize),
    /// Holds the next request this long before passing it on.
    Delay(Duration),
    /// Passes every request on.
    None,
}

struct Shared {
    upstream: String,
    fault: Mutex<Fault>,
    refused: AtomicUsize,
}

pub struct FaultyProxy {
    port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultyProxy {
    /// A proxy to `upstream` (`127.0.0.1:PORT`), passing everything on.
    pub fn start(upstream: &str) -> FaultyProxy {
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            fault: Mutex::new(Fault::None),
            refused: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(forward).with_state(state);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        FaultyProxy {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set(&self, fault: Fault) {
        *self.shared.fault.lock().unwrap() = fault;
    }

    /// Requests answered `503 SlowDown`.
    pub fn refused(&self) -> usize {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// S3's answer to a client that should slow down.
const SLOW_DOWN: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let fault = {
        let mut fault = shared.fault.lock().unwrap();
        let now = *fault;
        *fault = match now {
            Fault::SlowDown(n) if n > 1 => Fault::SlowDown(n - 1),
            Fault::SlowDown(_) | Fault::Delay(_) => Fault::None,
            Fault::None => Fault::None,
        };
        now
    };
    match fault {
        Fault::SlowDown(_) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            return Response::builder()
                .status(503)
                .header("content-type", "application/xml")
                .body(Body::from(SLOW_DOWN))
                .unwrap();
        }
        Fault::Delay(delay) => tokio::time::sleep(delay).await,
        Fault::None => {}
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|body| body.to_bytes()) else {
        return failure(400, "the request's body did not arrive whole");
    };
    // A task of its own: dropping this handler (its client went away)
    // does not cancel it.
    let upstream = shared.upstream.clone();
    let exchange = tokio::spawn(async move {
        let stream = tokio::net::TcpStream::connect(&upstream)
            .await
            .map_err(|e| format!("reaching Garage: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("Garage's connection: {e}"))?;
        tokio::spawn(connection);
        let answer = sender
            .send_request(hyper::Request::from_parts(
                parts,
                http_body_util::Full::new(body),
            ))
            .await
            .map_err(|e| format!("Garage's answer: {e}"))?;
        let (parts, body) = answer.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("Garage's answer's body: {e}"))?
            .to_bytes();
        Ok::<_, String>(Response::from_parts(parts, Body::from(body)))
    });
    match exchange.await {
        Ok(Ok(answer)) => answer,
        Ok(Err(reason)) => failure(502, &reason),
        Err(e) => failure(502, &e.to_string()),
    }
}

/// An answer of the proxy's own.
fn failure(status: u16, reason: &str) -> Response {
    Response::builder()
        .status(status)
        .body(Body::from(reason.to_owned()))
        .expect("a status and a body make an answer")
}
