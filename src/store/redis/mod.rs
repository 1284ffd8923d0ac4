//! Gnocchi's Redis drivers: incoming measures in per-metric lists
//! (`incoming.rs`) and archives in per-metric hashes (`storage.rs`), in
//! Gnocchi 4.7's own keys so that gnocchi-api and gnocchi-metricd share
//! them (docs/deployments.md#redis-drivers).
//!
//! Both reach the server through a [`Pool`] built from Gnocchi's
//! `redis_url` as `gnocchi/common/redis.py: get_client` reads it: host and
//! port (or a Unix socket's path), user and password as written, and the
//! query parameters `db` and `socket_timeout`. Blocking calls (the redis
//! crate's synchronous client): not from a tokio worker thread.

pub mod incoming;
pub mod notify;
pub mod storage;

use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    Client, Connection, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
};

use super::{Error, Result};
use crate::deployment::DatabaseUrl;

/// redis-py's default port.
const DEFAULT_PORT: u16 = 6379;
/// Redis Sentinel's default port.
const DEFAULT_SENTINEL_PORT: u16 = 26379;
/// How long a command may take when the URL sets no `socket_timeout`
/// (redis-py waits forever; a pass had better fail and retry).
const DEFAULT_SOCKET_TIMEOUT: Duration = Duration::from_secs(30);
/// Keys a `SCAN` step asks for, as Gnocchi's report does.
const SCAN_COUNT: usize = 1000;
/// Connections kept open between calls.
const IDLE_CONNECTIONS: usize = 16;

/// `redis_url` parameters carbonara reads.
const HONOURED: &[&str] = &[
    "db",
    "socket_timeout",
    "sentinel",
    "sentinel_fallback",
    "sentinel_username",
    "sentinel_password",
];
/// `redis_url` parameters that change nothing carbonara stores.
const WITHOUT_EFFECT: &[&str] = &[
    "encoding",
    "health_check_interval",
    "retry_on_timeout",
    "socket_keepalive",
];
/// Parameters of redis-py's URLs (Gnocchi's `redis_url`, tooz's
/// coordination URL) that carbonara does not support yet: TLS (and, in
/// tooz's URLs, Sentinel).
pub(crate) const NOT_YET: &[&str] = &[
    "sentinel_ssl",
    "ssl",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_ca_certs",
];

/// The database of a `redis://` URL: its query's `db` (the last value,
/// blank ignored), else 0.
fn database_number(url: &DatabaseUrl) -> Result<i64, String> {
    match url.query("db").filter(|value| !value.is_empty()) {
        None => Ok(0),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|db| *db >= 0)
            .ok_or_else(|| format!("`db` = {text}: not a database number")),
    }
}

/// How redis-py reaches the server of a `redis://` URL, for Gnocchi's
/// `redis_url` and tooz's coordination URL alike: the host and port, or a
/// Unix socket's path when there is no host; user and password as written
/// (Python's `urlsplit` does not decode them); the database of the query's
/// `db` (its last value, blank ignored), else 0.
pub(crate) fn connection_info(url: &DatabaseUrl) -> Result<ConnectionInfo, String> {
    let db = database_number(url)?;
    let addr = match url.host() {
        Some(host) => ConnectionAddr::Tcp(host, url.port().unwrap_or(DEFAULT_PORT)),
        None => match url.path() {
            "" | "/" => return Err("no host and no socket path".to_owned()),
            path => ConnectionAddr::Unix(PathBuf::from(path)),
        },
    };
    let mut login = RedisConnectionInfo::default().set_db(db);
    if let Some((user, password)) = url.userinfo_as_written() {
        if !user.is_empty() {
            login = login.set_username(user);
        }
        if let Some(password) = password.filter(|p| !p.is_empty()) {
            login = login.set_password(password);
        }
    }
    Ok(addr
        .into_connection_info()
        .map_err(|e| e.to_string())?
        .set_redis_settings(login))
}

/// How new connections reach the server.
enum Connector {
    Direct(Client),
    /// Through Redis Sentinel: the current master of a name, asked of the
    /// sentinels each time a connection is opened, so a failover costs
    /// the connections to the old master one failed call each.
    Sentinel(Mutex<SentinelClient>),
}

/// The Sentinel client of a `redis_url` with `?sentinel=<master name>`, as
/// Gnocchi's `get_client` builds it: the URL's host and port, then each
/// `sentinel_fallback=<host>:<port>`, are the sentinels (logged in with
/// `sentinel_username` and `sentinel_password`); the master they name is
/// reached with the URL's user, password and `db` (`info`).
fn sentinel_client(
    url: &DatabaseUrl,
    info: ConnectionInfo,
    master: &str,
) -> Result<SentinelClient, String> {
    let mut sentinels = vec![(
        url.host().ok_or("a Sentinel URL needs a host")?,
        url.port().unwrap_or(DEFAULT_SENTINEL_PORT),
    )];
    for (name, value) in url.query_pairs() {
        if name == "sentinel_fallback" {
            let (host, port) = value
                .rsplit_once(':')
                .and_then(|(host, port)| Some((host.to_owned(), port.parse().ok()?)))
                .ok_or_else(|| format!("`sentinel_fallback` = {value}: not HOST:PORT"))?;
            sentinels.push((host, port));
        }
    }
    let mut login = RedisConnectionInfo::default();
    if let Some(user) = url.query("sentinel_username").filter(|u| !u.is_empty()) {
        login = login.set_username(user);
    }
    if let Some(password) = url.query("sentinel_password").filter(|p| !p.is_empty()) {
        login = login.set_password(password);
    }
    let sentinels = sentinels
        .into_iter()
        .map(|(host, port)| {
            ConnectionAddr::Tcp(host, port)
                .into_connection_info()
                .map(|info| info.set_redis_settings(login.clone()))
        })
        .collect::<redis::RedisResult<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let master_login = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(info.redis_settings().clone());
    SentinelClient::build(
        sentinels,
        master.to_owned(),
        Some(master_login),
        SentinelServerType::Master,
    )
    .map_err(|e| e.to_string())
}

/// Connections to one Redis server, opened on demand and kept for reuse.
pub struct Pool {
    /// The URL, its password hidden, for messages.
    shown: String,
    /// The URL as given (for a connection of its own: `notify`).
    text: String,
    /// Its database number.
    db: i64,
    connector: Connector,
    socket_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("url", &self.shown).finish()
    }
}

impl Pool {
    /// The pool of a `redis_url` (`what` names the option in errors).
    pub fn new(what: &'static str, text: &str) -> Result<Pool> {
        let url = DatabaseUrl::parse(text).map_err(|e| Error::BadBackend {
            what,
            url: "(hidden)".to_owned(),
            reason: e.0.to_owned(),
        })?;
        let bad = |reason: String| Error::BadBackend {
            what,
            url: url.to_string(),
            reason,
        };
        if url.scheme() != "redis" {
            return Err(bad("not a redis:// URL".to_owned()));
        }
        for (name, _) in url.query_pairs() {
            if NOT_YET.contains(&name.as_str()) {
                return Err(bad(format!(
                    "the parameter `{name}` (Redis Sentinel or TLS) is not supported yet"
                )));
            }
            if !HONOURED.contains(&name.as_str()) && !WITHOUT_EFFECT.contains(&name.as_str()) {
                return Err(bad(format!(
                    "the parameter `{name}` is not one of Gnocchi's redis_url"
                )));
            }
        }
        let query = |name: &str| url.query(name).filter(|value| !value.is_empty());
        let socket_timeout = match query("socket_timeout") {
            None => DEFAULT_SOCKET_TIMEOUT,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| bad(format!("`socket_timeout` = {text}: not a positive number")))?,
        };
        let info = connection_info(&url).map_err(bad)?;
        let db = database_number(&url).map_err(bad)?;
        let connector = match query("sentinel") {
            None => Connector::Direct(Client::open(info).map_err(|e| bad(e.to_string()))?),
            Some(master) => Connector::Sentinel(Mutex::new(
                sentinel_client(&url, info, &master).map_err(bad)?,
            )),
        };
        Ok(Pool {
            shown: url.to_string(),
            text: text.to_owned(),
            db,
            connector,
            socket_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// Runs `call` on a connection of the pool. A connection that failed
    /// is dropped rather than returned, so a restarted server costs one
    /// failed call per connection, not a broken pool.
    pub fn with<T>(
        &self,
        what: impl FnOnce() -> String,
        call: impl FnOnce(&mut Connection) -> redis::RedisResult<T>,
    ) -> Result<T> {
        let pooled = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => match self.connect() {
                Ok(connection) => connection,
                Err(e) => return Err(self.error(what(), &e)),
            },
        };
        match call(&mut connection) {
            Ok(value) => {
                let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
                if idle.len() < IDLE_CONNECTIONS {
                    idle.push(connection);
                }
                Ok(value)
            }
            Err(e) => Err(self.error(what(), &e)),
        }
    }

    /// Every key matching a pattern (`SCAN … COUNT 1000`, as Gnocchi's
    /// report walks the keys).
    pub fn scan(&self, pattern: &str) -> Result<Vec<String>> {
        self.with(
            || format!("SCAN MATCH {pattern}"),
            |c| {
                let mut keys = Vec::new();
                let mut cursor = 0u64;
                loop {
                    let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query(c)?;
                    keys.extend(batch);
                    if next == 0 {
                        return Ok(keys);
                    }
                    cursor = next;
                }
            },
        )
    }

    fn connect(&self) -> redis::RedisResult<Connection> {
        let connection = match &self.connector {
            Connector::Direct(client) => client.get_connection_with_timeout(self.socket_timeout)?,
            Connector::Sentinel(client) => client
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get_connection()?,
        };
        connection.set_read_timeout(Some(self.socket_timeout))?;
        connection.set_write_timeout(Some(self.socket_timeout))?;
        Ok(connection)
    }

    /// The URL, its password hidden.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    fn error(&self, what: String, error: &redis::RedisError) -> Error {
        Error::Redis {
            url: self.shown.clone(),
            reason: format!("{what}: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_read_as_gnocchi_reads_them() {
        let pool = Pool::new(
            "redis_url",
            "redis://:secret@cache:6380?db=3&socket_timeout=2.5",
        )
        .unwrap();
        assert_eq!(
            pool.shown(),
            "redis://:***@cache:6380?db=3&socket_timeout=2.5"
        );
        assert_eq!(pool.socket_timeout, Duration::from_millis(2500));
        let error = |url: &str| Pool::new("redis_url", url).unwrap_err().to_string();
        assert!(
            error("redis://h?ssl=true").contains("not supported yet"),
            "{}",
            error("redis://h?ssl=true")
        );
        assert!(error("redis://h?sentinel=m&sentinel_fallback=h2").contains("not HOST:PORT"));
        assert!(
            Pool::new(
                "redis_url",
                "redis://h?sentinel=m&sentinel_fallback=h2:26380"
            )
            .is_ok()
        );
        assert!(error("redis://h?dbx=1").contains("`dbx`"));
        assert!(error("redis://h?db=-1").contains("not a database number"));
        assert!(error("memcached://h").contains("not a redis:// URL"));
        assert!(!error("redis://:secret@h?db=x").contains("secret"));
    }
}
