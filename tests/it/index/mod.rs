//! One behaviour suite for every index backend: each test runs the same
//! calls and assertions on the SQLite index of a store directory and on a
//! PostgreSQL database in Gnocchi's own schema (tests/it/postgresql.rs
//! starts the server).

mod metrics;
mod policies;
mod resources;
mod retries;

use std::path::PathBuf;

use carbonara::policy::ArchivePolicy;
use carbonara::store::{Index, Metric, MetricStatus, PostgresIndex, SqliteIndex};
use tempfile::TempDir;
use uuid::Uuid;

use crate::postgresql;

/// An empty index of one backend, and what reaches beneath it: on SQLite
/// the file (and the directory that keeps it alive), on PostgreSQL the
/// database.
pub struct Backend {
    pub name: &'static str,
    pub index: Index,
    pub sqlite: Option<(PathBuf, TempDir)>,
    pub url: Option<String>,
}

impl Backend {
    /// Another connection to the same index.
    pub fn connect_again(&self) -> Index {
        match (&self.sqlite, &self.url) {
            (Some((path, _)), _) => Index::new(SqliteIndex::open(path).unwrap()),
            (None, Some(url)) => Index::new(PostgresIndex::connect(url).unwrap()),
            (None, None) => unreachable!("a backend is SQLite or PostgreSQL"),
        }
    }

    /// A plain client of the PostgreSQL database, to read its rows.
    pub fn client(&self) -> Option<postgres::Client> {
        self.url
            .as_ref()
            .map(|url| postgres::Client::connect(url, postgres::NoTls).unwrap())
    }
}

/// Gnocchi's schema as gnocchi-upgrade leaves it without default policies
/// (tests/golden/gnocchi-schema), loaded into a new database: its URL.
pub fn gnocchi_database(purpose: &str) -> String {
    let url = postgresql::fresh_database(purpose);
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for file in ["schema.sql", "data-no-policies.sql"] {
        let path = format!(
            "{}/tests/golden/gnocchi-schema/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let dump = std::fs::read_to_string(&path).unwrap();
        // pg_dump's psql meta-commands (`\restrict`) are not SQL.
        let sql: String = dump
            .lines()
            .filter(|line| !line.starts_with('\\'))
            .map(|line| format!("{line}\n"))
            .collect();
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("loading {path}: {e}"));
    }
    url
}

/// Every backend, each with an empty index (no policies, no rules, the
/// `generic` resource type).
pub fn backends(purpose: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.sqlite");
    let sqlite = SqliteIndex::create(&path).unwrap();
    let url = gnocchi_database(purpose);
    vec![
        Backend {
            name: "sqlite",
            index: Index::new(sqlite),
            sqlite: Some((path, dir)),
            url: None,
        },
        Backend {
            name: "postgresql",
            index: Index::new(PostgresIndex::connect(&url).unwrap()),
            sqlite: None,
            url: Some(url),
        },
    ]
}

/// Creates Gnocchi's default archive policies.
pub fn create_defaults(index: &Index) {
    for policy in ArchivePolicy::defaults() {
        index.create_archive_policy(&policy).unwrap();
    }
}

/// A new active metric of `admin`, attached to no resource.
pub fn metric(name: &str, policy: &str) -> Metric {
    Metric {
        id: Uuid::new_v4(),
        name: Some(name.to_owned()),
        unit: None,
        archive_policy_name: policy.to_owned(),
        creator: "admin".to_owned(),
        resource_id: None,
        status: MetricStatus::Active,
    }
}
