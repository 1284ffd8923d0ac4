//! `store.json`, as a copied or hand-edited store may hold it: a file that
//! parses must open as a store whose sacks and archive paths work. Only
//! stores of their own directory are opened: the URLs of a Gnocchi
//! deployment's backends are parsed, never reached.

use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use uuid::Uuid;

use super::{scratch_dir, text};
use crate::store::{self, Store};

/// The scratch store whose `store.json` each input replaces; made once.
static ROOT: LazyLock<Mutex<PathBuf>> = LazyLock::new(|| {
    let root = scratch_dir().join("store-json");
    Store::init(&root, store::DEFAULT_SACKS).expect("a scratch store");
    Mutex::new(root)
});

pub fn store_json(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let root = ROOT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let Ok(config) = store::parse_config(&root, text) else {
        return;
    };
    let backends = &config.backends;
    if backends.shared_with_gnocchi() {
        let _ = (
            backends.check(),
            backends.storage_driver(),
            backends.incoming_driver(),
            backends.coordination(),
        );
        return;
    }
    std::fs::write(root.join("store.json"), text).expect("store.json written");
    let store = Store::open(&root).expect("a store.json that parses opens");
    let metric = Uuid::from_u128(u128::from_le_bytes(*b"0123456789abcdef"));
    let incoming = store.incoming();
    let _ = incoming.sack_dir(incoming.sack_of(metric));
    if let Some(archive) = store.storage().as_file() {
        let _ = archive.bound_path(metric);
    }
}
