//! `serve` in keystone mode on a store directory, for
//! scripts/oracle/keystone.sh until `serve --gnocchi-conf` reads
//! `[keystone_authtoken]` from a gnocchi.conf: the options come from a
//! JSON object (option → value).
//!
//! ```sh
//! cargo run --example keystone_serve -- STORE 127.0.0.1:8041 options.json
//! ```
//!
//! Prints `listening` on stderr once the socket is bound; stops on
//! Ctrl-C or SIGTERM.

use std::collections::BTreeMap;

use carbonara::server::keystone::KeystoneConfig;
use carbonara::server::{self, App, AuthMode, Config};
use carbonara::store::Location;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [store, listen, options] = args.as_slice() else {
        return Err("usage: keystone_serve STORE ADDR:PORT OPTIONS.json".into());
    };
    let options: BTreeMap<String, String> =
        serde_json::from_str(&std::fs::read_to_string(options)?)?;
    let keystone = KeystoneConfig::from_options(&options)?;
    for note in &keystone.notes {
        eprintln!("note: [keystone_authtoken] {note}");
    }
    let mut config = Config::new(Location::Directory(store.into()));
    config.auth = AuthMode::Keystone;
    config.keystone = Some(keystone);
    config.process_interval = None;
    let app = App::open(config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen.as_str()).await?;
        eprintln!("listening on {}", listener.local_addr()?);
        server::serve(app, listener).await
    })?;
    Ok(())
}
