//! Whole HTTP requests through the router: the bytes are read as an
//! HTTP/1.1 request (request line, headers, the rest as the body), as the
//! server's connection would read them, and answered by the API over one
//! scratch store made once (in basic mode, like the tests' servers). The
//! answer's body is read to its end, so rendering runs too.

use std::sync::{Arc, LazyLock};

use axum::body::Body;
use tower::ServiceExt;

use super::scratch_dir;
use crate::server::{self, App, Config};
use crate::store::{Location, Store};

/// Headers read from a request; more is a request the fuzzer wastes.
const MAX_HEADERS: usize = 32;

struct Server {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

static SERVER: LazyLock<Server> = LazyLock::new(|| {
    let root = scratch_dir().join("http");
    Store::init(&root, 8).expect("a scratch store");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut config = Config::new(Location::Directory(root));
    config.process_interval = None;
    let app: Arc<App> = runtime
        .block_on(async { App::open(config) })
        .expect("the scratch store opens");
    Server {
        router: server::router(app),
        runtime,
    }
});

pub fn request(data: &[u8]) {
    let Some(request) = parse(data) else { return };
    let server = &*SERVER;
    server.runtime.block_on(async {
        let response = server
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router is infallible");
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("an answer's body reads");
    });
}

/// The request `data` holds, or `None` when it is not one the server's
/// connection would hand to the router.
fn parse(data: &[u8]) -> Option<axum::http::Request<Body>> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let httparse::Status::Complete(length) = parsed.parse(data).ok()? else {
        return None;
    };
    let mut builder = axum::http::Request::builder()
        .method(parsed.method?)
        .uri(parsed.path?);
    for header in parsed.headers.iter() {
        builder = builder.header(header.name, header.value);
    }
    builder.body(Body::from(data[length..].to_vec())).ok()
}
