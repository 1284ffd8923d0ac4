//! tooz's PostgreSQL locks (`tooz/drivers/pgsql.py: PostgresLock`, tooz
//! 9.1.0), taken as tooz takes them so that a carbonara pass and a
//! gnocchi-metricd worker never hold one sack at once
//! (docs/deployments.md#sack-locks):
//!
//! * a lock name becomes two `int4` keys, the first two bytes of the MD5
//!   of its text (`h.digest()[0:2]`, passed to psycopg2 as a sequence of
//!   two integers);
//! * each lock opens its own connection, to the host, port and database
//!   of the coordination URL (its `host`, `port` and `dbname` query
//!   parameters first) as its user, and runs
//!   `SELECT pg_try_advisory_lock(k1, k2);` with the keys written in, as
//!   psycopg2 sends them; a refused lock closes its connection;
//! * releasing runs `SELECT pg_advisory_unlock(k1, k2);` and closes the
//!   connection. A session lock also ends with its connection, so a killed
//!   process frees its sacks as soon as PostgreSQL sees it go;
//! * waiting retries the try-form on the same connection until a deadline
//!   (tooz's `acquire(blocking=<seconds>)`); tooz waits a second between
//!   tries, carbonara starts at 10 ms and doubles up to a second.
//!
//! Blocking calls (rust-postgres's synchronous client): not from a tokio
//! worker thread; `spawn_blocking` threads are fine.

use std::time::{Duration, Instant};

use md5::{Digest, Md5};
use postgres::{Client, Config, NoTls, SimpleQueryMessage};

use super::super::incoming::SackName;
use super::super::pg_connection;
use super::super::{Error, Result};
use super::sack_lock_name;
use crate::deployment::DatabaseUrl;

/// The longest pause between two tries of a lock someone holds.
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// The two `int4` keys of a lock name's advisory lock.
pub fn lock_keys(name: &str) -> [i32; 2] {
    let digest = Md5::digest(name.as_bytes());
    [i32::from(digest[0]), i32::from(digest[1])]
}

/// Takes locks on one coordination URL.
#[derive(Debug, Clone)]
pub struct Coordinator {
    config: Config,
    url: DatabaseUrl,
}

/// A held lock: released, and its connection closed, when dropped.
pub struct SackLock {
    client: Option<Client>,
    keys: [i32; 2],
}

impl std::fmt::Debug for SackLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SackLock")
            .field("keys", &self.keys)
            .finish()
    }
}

impl Coordinator {
    /// A coordinator on a `postgresql://` URL, connecting as tooz does;
    /// what the URL leaves out comes from libpq's environment variables
    /// (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`, then
    /// `USER`), as psycopg2 leaves it to libpq.
    pub fn new(url: &DatabaseUrl) -> Result<Coordinator> {
        Ok(Coordinator {
            config: pg_connection::config(url)?,
            url: url.clone(),
        })
    }

    /// Takes a sack's lock if nobody holds it; `None` if someone does.
    pub fn try_lock(&self, sack: SackName) -> Result<Option<SackLock>> {
        self.try_lock_named(&sack_lock_name(sack))
    }

    /// Takes the lock of a name (`super::lock_name`) if nobody holds it.
    pub fn try_lock_named(&self, name: &str) -> Result<Option<SackLock>> {
        let keys = lock_keys(name);
        let mut client = self.connect()?;
        if self.try_on(&mut client, keys)? {
            Ok(Some(SackLock {
                client: Some(client),
                keys,
            }))
        } else {
            close(client);
            Ok(None)
        }
    }

    /// Takes a sack's lock, waiting up to `timeout` for its holder to
    /// release it; `None` if it did not.
    pub fn lock(&self, sack: SackName, timeout: Duration) -> Result<Option<SackLock>> {
        self.lock_named(&sack_lock_name(sack), timeout)
    }

    /// Takes the lock of a name, waiting up to `timeout`.
    pub fn lock_named(&self, name: &str, timeout: Duration) -> Result<Option<SackLock>> {
        let keys = lock_keys(name);
        let deadline = Instant::now() + timeout;
        let mut client = self.connect()?;
        let mut pause = Duration::from_millis(10);
        loop {
            if self.try_on(&mut client, keys)? {
                return Ok(Some(SackLock {
                    client: Some(client),
                    keys,
                }));
            }
            let now = Instant::now();
            if now >= deadline {
                close(client);
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }

    fn connect(&self) -> Result<Client> {
        self.config
            .connect(NoTls)
            .map_err(|source| self.error(source))
    }

    fn try_on(&self, client: &mut Client, [k1, k2]: [i32; 2]) -> Result<bool> {
        let messages = client
            .simple_query(&format!("SELECT pg_try_advisory_lock({k1}, {k2});"))
            .map_err(|source| self.error(source))?;
        Ok(messages
            .iter()
            .any(|m| matches!(m, SimpleQueryMessage::Row(row) if row.get(0) == Some("t"))))
    }

    fn error(&self, error: postgres::Error) -> Error {
        pg_connection::connect_error(&self.url, &error)
    }
}

/// Many locks of one process on one connection. A pass holds the lock of
/// every sack it works on: a connection per lock, as tooz opens, would take
/// as many connections as sacks (128 by default, where PostgreSQL allows
/// 100). Advisory locks belong to a session, so these exclude tooz's and
/// tooz's exclude these all the same; closing the session frees them all.
pub struct Session {
    coordinator: Coordinator,
    client: Option<Client>,
}

impl Session {
    /// A session that connects when it first locks.
    pub fn new(coordinator: Coordinator) -> Session {
        Session {
            coordinator,
            client: None,
        }
    }

    /// Takes a sack's lock if nobody else holds it.
    pub fn try_lock(&mut self, sack: SackName) -> Result<bool> {
        let keys = lock_keys(&sack_lock_name(sack));
        let client = match &mut self.client {
            Some(client) => client,
            empty => empty.insert(self.coordinator.connect()?),
        };
        self.coordinator.try_on(client, keys)
    }

    /// Releases a sack's lock this session holds. A session that cannot
    /// unlock has lost its connection, and with it every lock it held: the
    /// next lock connects again.
    pub fn unlock(&mut self, sack: SackName) {
        if let Some(client) = &mut self.client {
            let [k1, k2] = lock_keys(&sack_lock_name(sack));
            if client
                .simple_query(&format!("SELECT pg_advisory_unlock({k1}, {k2});"))
                .is_err()
            {
                self.client = None;
            }
        }
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.coordinator.url.to_string())
            .field("connected", &self.client.is_some())
            .finish()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take() {
            // Released before this returns: closing alone frees the locks
            // only once the server has seen the connection go, and a
            // worker that asks at once may still find them held.
            let _ = client.simple_query("SELECT pg_advisory_unlock_all();");
            close(client);
        }
    }
}

impl Drop for SackLock {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take() {
            let [k1, k2] = self.keys;
            // Closing the session frees the lock even if the unlock fails.
            let _ = client.simple_query(&format!("SELECT pg_advisory_unlock({k1}, {k2});"));
            close(client);
        }
    }
}

fn close(client: Client) {
    // The server ends the session, and its locks, however it is closed.
    let _ = client.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_first_two_bytes_of_the_md5_of_the_name() {
        // pg_locks showed classid 211, objid 58 while gnocchi-metricd held
        // incoming128-17 (the spec's §4).
        let sack = |number| SackName { total: 128, number };
        assert_eq!(lock_keys(&sack_lock_name(sack(17))), [211, 58]);
        assert_eq!(
            lock_keys("21c4a400d6e261fde40a83c3d974e8056c7b29b2"),
            [199, 150]
        );
        assert_eq!(lock_keys(&sack_lock_name(sack(0))), [38, 0]);
        assert_eq!(
            lock_keys(&super::super::lock_name(
                super::super::AUTO_CLEAN_EXPIRED_RESOURCES
            )),
            [185, 178]
        );
    }

    #[test]
    fn the_default_sacks_have_distinct_keys() {
        let keys: std::collections::HashSet<_> = (0..128)
            .map(|number| lock_keys(&sack_lock_name(SackName { total: 128, number })))
            .collect();
        assert_eq!(keys.len(), 128);
    }
}
