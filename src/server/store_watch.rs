//! The store directory under a running server: deleted or replaced (moved
//! away, restored from a backup), it is no longer what the server opened,
//! and every write would go to files no one will find again. Each request
//! first checks the directory's identity (one `stat`); once it has changed
//! every request is refused with 503, and the background pass stops.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::error::ApiError;

/// The store directory and the identity (device, inode) it had when the
/// server opened it.
#[derive(Debug)]
pub struct StoreWatch {
    root: PathBuf,
    identity: Option<(u64, u64)>,
    gone: AtomicBool,
}

fn identity(root: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(root)
        .ok()
        .map(|metadata| (metadata.dev(), metadata.ino()))
}

impl StoreWatch {
    pub fn new(root: &Path) -> StoreWatch {
        StoreWatch {
            root: root.to_owned(),
            identity: identity(root),
            gone: AtomicBool::new(false),
        }
    }

    /// Whether the directory is still the one the server opened; says so
    /// on stderr the first time it is not.
    pub fn present(&self) -> bool {
        if self.gone.load(Ordering::Relaxed) {
            return false;
        }
        if identity(&self.root) == self.identity {
            return true;
        }
        if !self.gone.swap(true, Ordering::Relaxed) {
            crate::diagnostics::warn(&format!(
                "carbonara serve: the store directory {} was deleted or replaced: every request is refused from now on; restart serve",
                self.root.display()
            ));
        }
        false
    }
}

/// Refuses every request once the store directory is gone.
pub async fn refuse_when_gone(
    State(app): State<std::sync::Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    if app.store_watch.present() {
        return next.run(request).await;
    }
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "The store directory {} was deleted or replaced while the server ran",
            app.store_watch.root.display()
        ),
    )
    .into_response()
}
