//! The index of a store directory, in SQLite (WAL mode, so several
//! carbonara processes can share a store): archive policies and rules
//! (sqlite/policies.rs), metrics (sqlite/metrics.rs), resource types and
//! resources with their history (sqlite/resources.rs; listings by
//! store/index/listing.rs in SQLite's dialect, sqlite/dialect.rs),
//! back-window drops (sqlite/dropped.rs), and the commit tokens of file
//! transactions (here).
//!
//! The layout is the one the seam describes (store/index.rs), with SQLite
//! types: each attribute of a type is a column `f_<attribute>` (TEXT for
//! strings and lowercase UUIDs, REAL for numbers, INTEGER 0/1 for booleans
//! and microseconds since the epoch for datetimes), and `like` is replaced
//! by a case-sensitive, bytewise function with `\` escapes, as PostgreSQL's.
//! Spans are integer nanoseconds, not Gnocchi's float seconds, so sub-second
//! definitions survive a round trip (docs/differences.md#storage-and-processing).

mod dialect;
mod dropped;
mod metrics;
mod migration;
mod policies;
mod resources;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::OptionalExtension;
use rusqlite::functions::FunctionFlags;
use uuid::Uuid;

use super::Commits;
use crate::store::{Error, Result};

/// The schema this build writes; `migrate_from` brings older ones here.
pub const SCHEMA_VERSION: i64 = 2;
const SCHEMA: &str = "
CREATE TABLE archive_policy (
    name TEXT PRIMARY KEY,
    back_window INTEGER NOT NULL,
    definition TEXT NOT NULL,
    aggregation_methods TEXT NOT NULL
);
CREATE TABLE archive_policy_rule (
    name TEXT PRIMARY KEY,
    metric_pattern TEXT NOT NULL,
    archive_policy_name TEXT NOT NULL REFERENCES archive_policy(name)
);
";

/// What schema 2 adds to schema 1: resources, and metrics tied to them.
const RESOURCE_SCHEMA: &str = "
CREATE TABLE resource_type (
    name TEXT PRIMARY KEY,
    tablename TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE resource (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL REFERENCES resource_type(name),
    original_resource_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    revision_start INTEGER NOT NULL,
    CHECK (ended_at IS NULL OR started_at <= ended_at)
);
CREATE INDEX resource_type_name ON resource(type);
CREATE TABLE resource_history (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL REFERENCES resource(id) ON DELETE CASCADE,
    type TEXT NOT NULL REFERENCES resource_type(name),
    original_resource_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    revision_start INTEGER NOT NULL,
    revision_end INTEGER NOT NULL
);
CREATE INDEX resource_history_id ON resource_history(id);
CREATE TABLE metric (
    id TEXT PRIMARY KEY,
    name TEXT,
    unit TEXT,
    archive_policy_name TEXT NOT NULL REFERENCES archive_policy(name),
    creator TEXT NOT NULL,
    resource_id TEXT REFERENCES resource(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'active',
    UNIQUE (resource_id, name)
);
CREATE INDEX metric_name ON metric(name);
CREATE TABLE index_commit (token TEXT PRIMARY KEY);
";

/// The index of a store directory: one SQLite connection.
pub struct SqliteIndex {
    connection: Connection,
}

fn data_error(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::IndexData(format!("{what}: {detail}"))
}

fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| data_error("bad metric id in the index", e))
}

impl SqliteIndex {
    fn connect(path: &Path) -> Result<Connection> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(30))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        for arguments in [2, 3] {
            connection.create_scalar_function(
                "like",
                arguments,
                FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
                |context| {
                    let pattern: Option<String> = context.get(0)?;
                    let text: Option<String> = context.get(1)?;
                    Ok(pattern
                        .zip(text)
                        .map(|(pattern, text)| dialect::like(&pattern, &text)))
                },
            )?;
        }
        Ok(connection)
    }

    /// Creates the index file with its schema and the `generic` resource
    /// type, which Gnocchi's schema always has.
    pub fn create(path: &Path) -> Result<SqliteIndex> {
        let connection = Self::connect(path)?;
        let index = SqliteIndex { connection };
        index.atomically(|index| {
            index.connection.execute_batch(SCHEMA)?;
            index.connection.execute_batch(RESOURCE_SCHEMA)?;
            index.insert_generic_type()?;
            index
                .connection
                .pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        })?;
        Ok(index)
    }

    pub fn open(path: &Path) -> Result<SqliteIndex> {
        let (index, version) = Self::open_any_version(path)?;
        if version != SCHEMA_VERSION {
            return Err(data_error(
                &format!("{}", path.display()),
                format!("index schema {version}, expected {SCHEMA_VERSION}"),
            ));
        }
        Ok(index)
    }

    /// Opens an index whatever its schema version, for `migrate_from`.
    pub fn open_any_version(path: &Path) -> Result<(SqliteIndex, i64)> {
        let connection = Self::connect(path)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok((SqliteIndex { connection }, version))
    }

    /// Runs `work` in one SQLite transaction: all of it is stored or none.
    /// Inside another `atomically`, it is a savepoint of the outer one.
    pub fn atomically<T>(&self, work: impl FnOnce(&SqliteIndex) -> Result<T>) -> Result<T> {
        self.connection.execute_batch("SAVEPOINT atomically")?;
        match work(self) {
            Ok(value) => {
                self.connection.execute_batch("RELEASE atomically")?;
                Ok(value)
            }
            Err(error) => {
                self.connection
                    .execute_batch("ROLLBACK TO atomically; RELEASE atomically")?;
                Err(error)
            }
        }
    }
}

impl Commits for SqliteIndex {
    fn transaction(&self, work: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        self.atomically(|_| work())
    }

    /// SQLite's own consistency check of the index file: the problems it
    /// finds, none when the file is sound.
    fn integrity_check(&self) -> Result<Vec<String>> {
        let mut statement = self.connection.prepare("PRAGMA integrity_check")?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().filter(|row| row != "ok").collect())
    }

    /// Marks the index changes of a file transaction as committed (inside
    /// the same SQLite transaction as the changes): store/txn.rs replays
    /// the files of a dead transaction only if its token is here.
    fn record_commit(&self, token: &str) -> Result<()> {
        self.connection
            .execute("INSERT INTO index_commit (token) VALUES (?1)", [token])?;
        Ok(())
    }

    /// Whether the index changes that go with `token` were committed.
    fn is_committed(&self, token: &str) -> Result<bool> {
        Ok(self
            .connection
            .query_row(
                "SELECT 1 FROM index_commit WHERE token = ?1",
                [token],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Forgets a token once its files are in place.
    fn forget_commit(&self, token: &str) -> Result<()> {
        self.connection
            .execute("DELETE FROM index_commit WHERE token = ?1", [token])?;
        Ok(())
    }
}
