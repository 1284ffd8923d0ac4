//! tooz's Redis locks (`tooz/drivers/redis.py: RedisLock` over redis-py's
//! `Lock`; tooz 9.1.0, redis-py 8.2), taken as tooz takes them so that a
//! carbonara pass and a gnocchi-metricd worker coordinating through Redis
//! never hold one sack at once (docs/deployments.md#sack-locks; what tooz
//! sends is recorded in tests/golden/coordination/tooz_redis_locks.json):
//!
//! * a lock name becomes the key `<namespace>_<name>_lock`, namespace
//!   `_tooz` unless the URL's `namespace` says otherwise;
//! * taking it is `SET key <token> NX PX <lock_timeout in ms>`, the token
//!   32 random hex digits (redis-py draws a uuid1, carbonara a uuid4: only
//!   their shape and uniqueness matter), `lock_timeout` 30 s unless the URL's
//!   `lock_timeout` or `timeout` says otherwise;
//! * a heartbeat re-arms the TTL of every lock held, with redis-py's
//!   reacquire script (compare the token, then `PEXPIRE`), from a thread of
//!   its own on a connection of its own, every third of the TTL (tooz's
//!   heart beats every half) while any lock is held;
//! * releasing runs redis-py's release script: the key is deleted only if
//!   it still holds this token, so a lock that expired and went to another
//!   owner is left to them.
//!
//! A process that dies leaves its keys to expire: its sacks are free again
//! at most `lock_timeout` later. Group membership (`gnocchi-processing`,
//! the `_tooz_beats:` keys) is `super::membership`, over these settings and
//! this heart.
//!
//! Blocking calls (the redis crate's synchronous client): not from a tokio
//! worker thread.

use std::collections::HashMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use redis::{Client, Connection, Script};

use super::super::incoming::SackName;
use super::super::{Error, Result};
use super::sack_lock_name;
use crate::deployment::DatabaseUrl;

/// tooz's `RedisDriver.DEFAULT_NAMESPACE`.
const DEFAULT_NAMESPACE: &str = "_tooz";
/// tooz's `CLIENT_DEFAULT_SOCKET_TO`, the default of its `timeout`, which
/// `lock_timeout` and the socket timeout default to.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// redis-py's `Lock.LUA_RELEASE_SCRIPT`, to the byte: its SHA-1 is the one
/// tooz sends with `EVALSHA`, so both share the server's cached script.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        redis.call('del', KEYS[1])
        return 1
    ",
    )
});

/// redis-py's `Lock.LUA_REACQUIRE_SCRIPT`, to the byte: the TTL set anew,
/// if the key still holds the token.
static REACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
        local token = redis.call('get', KEYS[1])
        if not token or token ~= ARGV[1] then
            return 0
        end
        if tonumber(ARGV[2]) > 0 then
            redis.call('pexpire', KEYS[1], ARGV[2])
        end
        return 1
    ",
    )
});

/// How tooz's Redis driver reaches the server and names and times its
/// locks, read from a `redis://` coordination URL as tooz reads it.
#[derive(Clone)]
pub struct Settings {
    url: DatabaseUrl,
    client: Client,
    namespace: String,
    lock_timeout: Duration,
    /// How long a member's beat key lives.
    pub(super) membership_timeout: Duration,
    socket_timeout: Duration,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info holds the password.
        f.debug_struct("Settings")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .field("lock_timeout", &self.lock_timeout)
            .field("membership_timeout", &self.membership_timeout)
            .finish_non_exhaustive()
    }
}

/// Parameters of tooz's Redis URLs carbonara reads (`encoding` only as
/// UTF-8, in which its keys are written).
const HONOURED: &[&str] = &[
    "db",
    "namespace",
    "timeout",
    "lock_timeout",
    "membership_timeout",
    "socket_timeout",
    "socket_connect_timeout",
    "encoding",
];

/// Parameters of tooz's Redis URLs that change nothing carbonara sends:
/// connection tuning.
const WITHOUT_EFFECT: &[&str] = &[
    "retry_on_timeout",
    "socket_keepalive",
    "health_check_interval",
];

impl Settings {
    /// The settings of a `redis://` URL, as tooz 9.1.0 reads it
    /// (`coordination.get_coordinator`, `RedisDriver.__init__` and
    /// `_make_client`): the host and port, or a Unix socket's path when
    /// there is no host; user and password as written (Python's `urlsplit`
    /// does not decode them); from the query (its last value of each, blank
    /// ones ignored): `db` (tooz ignores the URL's path), `namespace`,
    /// `timeout`, `lock_timeout`, `membership_timeout` (fractional seconds,
    /// as tooz's `float()`), `socket_timeout` and `socket_connect_timeout`.
    pub fn new(url: &DatabaseUrl) -> Result<Settings> {
        let bad = |reason: String| Error::BadBackend {
            what: "coordination_url",
            url: url.to_string(),
            reason,
        };
        if url.scheme() != "redis" {
            return Err(bad("not a redis:// URL".to_owned()));
        }
        let query = |name: &str| url.query(name).filter(|value| !value.is_empty());
        for (name, value) in url.query_pairs() {
            let name = name.as_str();
            if super::super::redis::NOT_YET.contains(&name) || name.starts_with("sentinel") {
                let what = if name.starts_with("sentinel") {
                    "Redis Sentinel"
                } else {
                    "Redis over TLS"
                };
                return Err(bad(format!(
                    "the parameter `{name}` ({what}) is not supported yet"
                )));
            }
            if !HONOURED.contains(&name) && !WITHOUT_EFFECT.contains(&name) {
                return Err(bad(format!(
                    "the parameter `{name}` is not one of tooz's Redis driver"
                )));
            }
            if name == "encoding" && !matches!(value.to_lowercase().as_str(), "utf8" | "utf-8") {
                return Err(bad(format!(
                    "encoding `{value}`: carbonara writes its keys in UTF-8 (tooz's default)"
                )));
            }
        }
        let seconds = |name: &str, default: Duration| -> Result<Duration> {
            match query(name) {
                None => Ok(default),
                // tooz converts these with int().
                Some(text) => match text.trim().parse::<u64>() {
                    Ok(seconds) if seconds > 0 => Ok(Duration::from_secs(seconds)),
                    _ => Err(bad(format!(
                        "`{name}` = {text}: carbonara needs a whole number of seconds, at least 1"
                    ))),
                },
            }
        };
        let timeout = seconds("timeout", DEFAULT_TIMEOUT)?;
        let lock_timeout = seconds("lock_timeout", timeout)?;
        let fractional = |name: &str, default: Duration| -> Result<Duration> {
            match query(name) {
                None => Ok(default),
                // redis-py takes these as float seconds.
                Some(text) => text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64)
                    .ok_or_else(|| {
                        bad(format!(
                            "`{name}` = {text}: not a positive number of seconds"
                        ))
                    }),
            }
        };
        let membership_timeout = fractional("membership_timeout", timeout)?;
        let socket_timeout = fractional("socket_timeout", timeout)?;
        let connect_timeout = fractional("socket_connect_timeout", socket_timeout)?;
        let info = super::super::redis::connection_info(url).map_err(bad)?;
        Ok(Settings {
            url: url.clone(),
            client: Client::open(info).map_err(|e| bad(e.to_string()))?,
            namespace: query("namespace").unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            lock_timeout,
            membership_timeout,
            socket_timeout,
            connect_timeout,
        })
    }

    /// The key of the lock of a name (`super::lock_name`).
    pub fn lock_key(&self, name: &str) -> String {
        format!("{}_{name}_lock", self.namespace)
    }

    /// The hash of a group's members (`<namespace>_group:<group>`).
    pub fn group_key(&self, group: &str) -> String {
        format!("{}_group:{group}", self.namespace)
    }

    /// The set of every group's name (`<namespace>_groups`).
    pub fn groups_key(&self) -> String {
        format!("{}_groups", self.namespace)
    }

    /// A member's beat key (`<namespace>_beats:<member id>`), alive while
    /// the member beats.
    pub fn beat_key(&self, member_id: &str) -> String {
        format!("{}_beats:{member_id}", self.namespace)
    }

    pub(super) fn connect(&self) -> Result<Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(self.connect_timeout)
            .map_err(|e| self.error(&e))?;
        connection
            .set_read_timeout(Some(self.socket_timeout))
            .and_then(|()| connection.set_write_timeout(Some(self.socket_timeout)))
            .map_err(|e| self.error(&e))?;
        Ok(connection)
    }

    pub(super) fn error(&self, error: &redis::RedisError) -> Error {
        self.failure(error.to_string())
    }

    /// An error of this server.
    pub(super) fn failure(&self, reason: String) -> Error {
        Error::Redis {
            url: self.url.to_string(),
            reason,
        }
    }
}

/// The locks of one process on one connection: each sack's key holds a
/// token of its own, and a heart re-arms them all while any is held.
pub struct Session {
    settings: Settings,
    connection: Option<Connection>,
    /// Key → token of every lock held, shared with the heart.
    held: Arc<Mutex<HashMap<String, String>>>,
    heart: Option<Heart>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("settings", &self.settings)
            .field("connected", &self.connection.is_some())
            .field("beating", &self.heart.is_some())
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that connects when it first locks.
    pub fn new(settings: Settings) -> Session {
        Session {
            settings,
            connection: None,
            held: Arc::default(),
            heart: None,
        }
    }

    /// Takes a sack's lock if nobody else holds it.
    pub fn try_lock(&mut self, sack: SackName) -> Result<bool> {
        let key = self.settings.lock_key(&sack_lock_name(sack));
        if guard(&self.held).contains_key(&key) {
            return Ok(true);
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        let ttl = millis(self.settings.lock_timeout);
        let connection = self.connection()?;
        let set = redis::cmd("SET")
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(ttl)
            .query::<Option<String>>(connection);
        match set {
            Ok(None) => Ok(false),
            Ok(Some(_)) => {
                guard(&self.held).insert(key, token);
                if self.heart.is_none() {
                    self.heart = Some(self.lock_heart());
                }
                Ok(true)
            }
            Err(error) => {
                // Whether the key was set is unknown: it expires unless
                // re-armed, and the heart does not know it.
                self.connection = None;
                Err(self.settings.error(&error))
            }
        }
    }

    /// Releases a sack's lock this session holds, if its key still holds
    /// this session's token; when the server cannot be asked, the key
    /// expires, since nothing re-arms it any more.
    pub fn unlock(&mut self, sack: SackName) {
        let key = self.settings.lock_key(&sack_lock_name(sack));
        let token = {
            let mut held = guard(&self.held);
            let token = held.remove(&key);
            if held.is_empty() {
                drop(held);
                self.stop_heart();
            }
            token
        };
        if let Some(token) = token
            && let Ok(connection) = self.connection()
            && RELEASE
                .key(&key)
                .arg(&token)
                .invoke::<i64>(connection)
                .is_err()
        {
            self.connection = None;
        }
    }

    fn connection(&mut self) -> Result<&mut Connection> {
        match &mut self.connection {
            Some(connection) => Ok(connection),
            empty => Ok(empty.insert(self.settings.connect()?)),
        }
    }

    /// Re-arms every lock held, every third of their TTL.
    fn lock_heart(&self) -> Heart {
        let held = Arc::clone(&self.held);
        let ttl = millis(self.settings.lock_timeout);
        Heart::start(
            &self.settings,
            self.settings.lock_timeout / 3,
            move |connection| {
                let locks: Vec<(String, String)> = guard(&held)
                    .iter()
                    .map(|(key, token)| (key.clone(), token.clone()))
                    .collect();
                locks.iter().try_for_each(|(key, token)| {
                    // 0: the lock expired and is someone else's now; tooz
                    // only logs it, and so does nobody here.
                    REACQUIRE
                        .key(key)
                        .arg(token)
                        .arg(ttl)
                        .invoke::<i64>(connection)
                        .map(drop)
                })
            },
        )
    }

    fn stop_heart(&mut self) {
        if let Some(heart) = self.heart.take() {
            heart.stop();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_heart();
        let held: Vec<(String, String)> = guard(&self.held).drain().collect();
        if held.is_empty() {
            return;
        }
        if let Ok(connection) = self.connection() {
            for (key, token) in held {
                // A key not released expires by itself.
                if RELEASE
                    .key(&key)
                    .arg(&token)
                    .invoke::<i64>(connection)
                    .is_err()
                {
                    break;
                }
            }
        }
    }
}

fn guard(held: &Mutex<HashMap<String, String>>) -> MutexGuard<'_, HashMap<String, String>> {
    // The map stays whole whatever panicked while it was locked.
    held.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// A thread that beats on a connection of its own every `period` until
/// stopped: the re-arming of a session's locks, or a member's beat key
/// (`super::membership`).
pub(super) struct Heart {
    /// Dropped to stop the thread.
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Heart {
    /// Starts beating, first one `period` from now.
    pub(super) fn start(
        settings: &Settings,
        period: Duration,
        mut beat: impl FnMut(&mut Connection) -> redis::RedisResult<()> + Send + 'static,
    ) -> Heart {
        let (stop, stopped) = mpsc::channel();
        let settings = settings.clone();
        let thread = std::thread::spawn(move || {
            let mut connection = None;
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(period) {
                let Some(mut open) = connection.take().or_else(|| settings.connect().ok()) else {
                    // tooz's heart retries too; the next beat connects anew.
                    continue;
                };
                if beat(&mut open).is_ok() {
                    connection = Some(open);
                }
            }
        });
        Heart { stop, thread }
    }

    /// Stops the thread, once its beat in progress (if any) is done.
    pub(super) fn stop(self) {
        drop(self.stop);
        // A panicked heart has nothing left to stop.
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use redis::ConnectionAddr;
    use std::path::PathBuf;

    fn settings(url: &str) -> Result<Settings> {
        Settings::new(&DatabaseUrl::parse(url).unwrap())
    }

    fn error(url: &str) -> String {
        settings(url).unwrap_err().to_string()
    }

    #[test]
    fn keys_timeouts_and_databases_as_tooz_reads_them() {
        let name = "21c4a400d6e261fde40a83c3d974e8056c7b29b2";
        let plain = settings("redis://cache:6380").unwrap();
        assert_eq!(plain.lock_key(name), format!("_tooz_{name}_lock"));
        assert_eq!(plain.lock_timeout, Duration::from_secs(30));
        assert_eq!(plain.membership_timeout, Duration::from_secs(30));
        assert_eq!(plain.beat_key("m.0.u"), "_tooz_beats:m.0.u");
        assert_eq!(plain.group_key("g"), "_tooz_group:g");
        assert_eq!(plain.groups_key(), "_tooz_groups");
        assert_eq!(plain.socket_timeout, Duration::from_secs(30));
        let info = plain.client.get_connection_info();
        assert_eq!(info.addr(), &ConnectionAddr::Tcp("cache".to_owned(), 6380));
        assert_eq!(info.redis_settings().db(), 0);

        let tuned = settings(
            "redis://:p%40ss@cache/5?db=2&db=3&namespace=gnocchi&timeout=7&socket_connect_timeout=0.5",
        )
        .unwrap();
        assert_eq!(tuned.lock_key(name), format!("gnocchi_{name}_lock"));
        assert_eq!(tuned.lock_timeout, Duration::from_secs(7));
        assert_eq!(tuned.membership_timeout, Duration::from_secs(7));
        assert_eq!(tuned.beat_key("m"), "gnocchi_beats:m");
        assert_eq!(tuned.socket_timeout, Duration::from_secs(7));
        assert_eq!(tuned.connect_timeout, Duration::from_millis(500));
        let info = tuned.client.get_connection_info();
        assert_eq!(info.addr(), &ConnectionAddr::Tcp("cache".to_owned(), 6379));
        // The last `db` of the query; the path is not a database to tooz.
        assert_eq!(info.redis_settings().db(), 3);
        // The password as written, as tooz hands it to redis-py.
        assert_eq!(info.redis_settings().password(), Some("p%40ss"));
        assert_eq!(info.redis_settings().username(), None);

        let socket =
            settings("redis://u:pw@/run/redis.sock?lock_timeout=5&membership_timeout=9").unwrap();
        assert_eq!(socket.lock_timeout, Duration::from_secs(5));
        assert_eq!(socket.membership_timeout, Duration::from_secs(9));
        let info = socket.client.get_connection_info();
        assert_eq!(
            info.addr(),
            &ConnectionAddr::Unix(PathBuf::from("/run/redis.sock"))
        );
        assert_eq!(info.redis_settings().username(), Some("u"));
        // No password in any debug output.
        assert!(!format!("{socket:?}").contains("pw"), "{socket:?}");
    }

    #[test]
    fn what_carbonara_cannot_honour_is_an_error_naming_it() {
        assert_eq!(
            error("redis://:hunter2@s:26379?sentinel=mymaster"),
            "coordination_url redis://:***@s:26379?sentinel=mymaster: the parameter `sentinel` (Redis Sentinel) is not supported yet"
        );
        assert_eq!(
            error("redis://h?ssl=true"),
            "coordination_url redis://h?ssl=true: the parameter `ssl` (Redis over TLS) is not supported yet"
        );
        assert_eq!(
            error("redis://h?lock_timout=5"),
            "coordination_url redis://h?lock_timout=5: the parameter `lock_timout` is not one of tooz's Redis driver"
        );
        assert_eq!(
            error("redis://h?lock_timeout=0"),
            "coordination_url redis://h?lock_timeout=0: `lock_timeout` = 0: carbonara needs a whole number of seconds, at least 1"
        );
        assert_eq!(
            error("redis://h?socket_timeout=-1"),
            "coordination_url redis://h?socket_timeout=-1: `socket_timeout` = -1: not a positive number of seconds"
        );
        assert_eq!(
            error("redis://h?membership_timeout=0"),
            "coordination_url redis://h?membership_timeout=0: `membership_timeout` = 0: not a positive number of seconds"
        );
        assert_eq!(
            error("redis://h?db=x"),
            "coordination_url redis://h?db=x: `db` = x: not a database number"
        );
        assert_eq!(
            error("redis://h?encoding=latin1"),
            "coordination_url redis://h?encoding=latin1: encoding `latin1`: carbonara writes its keys in UTF-8 (tooz's default)"
        );
        assert_eq!(
            error("redis:///"),
            "coordination_url redis:///: no host and no socket path"
        );
    }
}
