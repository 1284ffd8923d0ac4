//! The directory store: every open, write, fsync and rename of carbonara.
//!
//! ```text
//! STORE/
//!   store.json     {"format": 2, "sacks": 128, "subdir_len": 2}
//!   index.sqlite   policies, rules, resource types, resources, metrics (index.rs)
//!   incoming/      Gnocchi's incoming file-driver layout (incoming.rs)
//!   archive/       Gnocchi's storage file-driver layout (archive.rs)
//!   tmp/           transactions being written (txn.rs)
//!   locks/         sack pass and apply locks, the transaction gate, the
//!                  store-use lock (lock.rs), the workers' registrations
//!                  (coordinator/fleet.rs) and the passes' rate (pass_log.rs)
//!   quarantine/    files `verify --repair` moved aside
//! ```
//!
//! Nothing here parses user input formats or prints.

pub mod archive;
pub mod backends;
pub mod coordinator;
pub mod incoming;
pub mod index;
pub mod lock;
pub mod object;
pub mod pass_log;
mod pg_connection;
mod placement;
pub mod redis;
pub mod s3;
pub mod sacks;
pub mod storage;
pub mod txn;
pub mod upgrade;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;

pub use backends::Backends;
pub use index::{
    Index, Metric, MetricFilter, MetricRef, MetricStatus, NewResource, Page, PostgresIndex,
    ResourceChanges, ResourceQuery, SqliteIndex,
};
pub use txn::Transaction;

/// Checks a number of sacks: 1 to 65535, as gnocchi-upgrade allows.
pub fn check_sacks(root: &Path, sacks: u32) -> Result<()> {
    if sacks == 0 || sacks > 65_535 {
        return Err(Error::BadConfig {
            path: root.join(CONFIG_FILE),
            reason: format!("the number of sacks must be 1 to 65535, not {sacks}"),
        });
    }
    Ok(())
}

/// The store format this build writes; `store.json` carries it. Format 2
/// added resources to the index (`SqliteIndex::migrate_from` upgrades one).
pub const FORMAT_VERSION: u32 = 2;
/// gnocchi-upgrade's default number of sacks.
pub const DEFAULT_SACKS: u32 = 128;
/// Gnocchi's default `[storage] file_subdir_len`.
pub const DEFAULT_SUBDIR_LEN: usize = 2;
const CONFIG_FILE: &str = "store.json";
const INDEX_FILE: &str = "index.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "{path} is not a carbonara store (no store.json); create one with `carbonara init --store {path}`"
    )]
    NotAStore { path: PathBuf },
    #[error("{path} is already a carbonara store")]
    AlreadyAStore { path: PathBuf },
    #[error(
        "{path}: store format {found}, this carbonara uses format {FORMAT_VERSION}: {}",
        if *found < FORMAT_VERSION { "run `carbonara upgrade` to bring the store up to date" } else { "the store was written by a newer carbonara" }
    )]
    UnsupportedFormat { path: PathBuf, found: u32 },
    #[error("{path}: another carbonara process is using the store; run this when it is idle")]
    StoreBusy { path: PathBuf },
    #[error(
        "{} measures waiting; process them first (`--process`), as the sacks are replaced",
        if *metrics == 1 { "1 metric has".to_owned() } else { format!("{metrics} metrics have") }
    )]
    MeasuresWaiting { metrics: usize },
    #[error("{path}: {reason}")]
    BadConfig { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Corrupt {
        path: PathBuf,
        source: crate::carbonara::codec::Error,
    },
    #[error(
        "{path}: not an archive file (expected `none_v3`, `<key>_<granularity>_v3` or a measure file in `incoming<N>-<k>/<metric id>/`)"
    )]
    NotArchiveFile { path: PathBuf },
    #[error("index: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("index: {0}")]
    IndexData(String),
    /// A PostgreSQL index that cannot be reached or refuses the login;
    /// `url` has its password hidden.
    #[error("PostgreSQL at {url}: {reason}")]
    PostgresConnect { url: String, reason: String },
    /// A Redis coordinator that cannot be reached or refuses a command;
    /// `url` has its password hidden.
    #[error("Redis at {url}: {reason}")]
    Redis { url: String, reason: String },
    /// An S3 request that failed: the bucket, the object key when there is
    /// one, and the server's answer (never the credentials).
    #[error("S3 bucket {bucket}{}: {reason}", key.as_deref().map(|k| format!(", object {k}")).unwrap_or_default())]
    S3 {
        bucket: String,
        key: Option<String>,
        reason: String,
    },
    /// A backend URL carbonara cannot use; `url` has its password hidden.
    #[error("{what} {url}: {reason}")]
    BadBackend {
        what: &'static str,
        url: String,
        reason: String,
    },
    /// A statement the PostgreSQL index refused; `code` is its SQLSTATE.
    #[error("index: PostgreSQL: {message}")]
    Postgres {
        code: Option<String>,
        message: String,
    },
    #[error(
        "index: the database has no Gnocchi schema (no alembic revision); create it with `carbonara upgrade` or Gnocchi 4.7's gnocchi-upgrade"
    )]
    NoGnocchiSchema,
    #[error(
        "index: Gnocchi schema at alembic revision {found}, not {} (Gnocchi 4.7): {}",
        index::postgres::schema::REVISION,
        index::postgres::schema::revision_advice(found)
    )]
    SchemaRevision { found: String },
    #[error("Archive policy {0} does not exist")]
    ArchivePolicyNotFound(String),
    #[error("Archive policy {0} already exists")]
    ArchivePolicyExists(String),
    #[error("Archive policy {0} is still in use")]
    ArchivePolicyInUse(String),
    /// A policy Gnocchi's schema cannot hold as it is: its spans would
    /// read back otherwise from the float seconds Gnocchi stores.
    #[error("Archive policy {name} cannot be stored in a Gnocchi index: {reason}")]
    UnrepresentablePolicy { name: String, reason: String },
    #[error("Archive policy rule {0} does not exist")]
    RuleNotFound(String),
    #[error("Archive policy rule {0} already exists")]
    RuleExists(String),
    #[error("Archive policy rule {name} does not support change: {reason}")]
    UnsupportedRuleChange { name: String, reason: String },
    #[error("Metric {0} does not exist")]
    MetricNotFound(String),
    #[error("Metric {0} already exists")]
    MetricExists(String),
    #[error(
        "No archive policy name specified and no archive policy rule found matching the metric name {0}"
    )]
    NoRuleMatch(String),
    #[error("'/' is not supported in metric name: {0}")]
    InvalidMetricName(String),
    #[error("{count} metrics are named {name}; use the metric id")]
    AmbiguousMetricName { name: String, count: usize },
    #[error("Named metric {0} already exists")]
    NamedMetricExists(String),
    #[error("Resource type {0} does not exist")]
    ResourceTypeNotFound(String),
    #[error("Resource type {0} already exists")]
    ResourceTypeExists(String),
    #[error("Resource type {0} is still in use")]
    ResourceTypeInUse(String),
    /// A resource type in the middle of a change (or left broken by one)
    /// on a Gnocchi deployment: only `active` types are used.
    #[error("Resource type {resource_type} state is {state} (expected: {expected})")]
    UnexpectedResourceTypeState {
        resource_type: String,
        expected: String,
        state: String,
    },
    #[error("Resource {0} does not exist")]
    ResourceNotFound(String),
    #[error("Resource {0} already exists")]
    ResourceExists(String),
    /// A resource to write into under a type (an InfluxDB database's)
    /// exists with another type. Gnocchi says `ResourceExists`; the server
    /// answers so.
    #[error("resource {resource} ({id}) exists with type {found}, not {wanted}")]
    ResourceOfOtherType {
        resource: String,
        id: uuid::Uuid,
        found: String,
        wanted: String,
    },
    #[error(transparent)]
    Resource(#[from] crate::resource::ResourceError),
    #[error("Value {value} for attribute {attribute} on resource type {resource_type} is invalid")]
    ResourceValue {
        value: String,
        attribute: String,
        resource_type: String,
    },
    #[error("Resource type {resource_type} has no {attribute} attribute")]
    NoSuchAttribute {
        resource_type: String,
        attribute: String,
    },
    #[error("Invalid value: `{value}' for field `{field}'")]
    QueryValue { value: String, field: String },
    #[error("Invalid pagination: `{0}'")]
    InvalidPagination(String),
    #[error("Invalid filter: it compares with {values} values, at most {limit} are allowed")]
    FilterTooLarge { values: usize, limit: usize },
}

impl Error {
    /// An index error told as the I/O failure it is, naming the index
    /// file: SQLite reports a failed write, sync or truncation as a "disk
    /// I/O error", a write that found no space as "database or disk is
    /// full", a file it could not open (its journal, its shared memory) as
    /// "unable to open database file", and an index it could open only
    /// for reading as "attempt to write a readonly database", keeping the
    /// system's error to itself. "Full" is told as `No space left on
    /// device`, and so is an I/O error when the store's filesystem has no
    /// room left for a write of SQLite's (under 1 MiB free); the others
    /// keep SQLite's words.
    pub fn on_index_failure(self, root: &Path) -> Error {
        let Error::Sqlite(rusqlite::Error::SqliteFailure(failure, _)) = &self else {
            return self;
        };
        let full =
            rustix::fs::statvfs(root).is_ok_and(|stat| stat.f_bavail * stat.f_frsize < 1 << 20);
        let no_space = || io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error());
        let source = match failure.code {
            rusqlite::ErrorCode::DiskFull => no_space(),
            rusqlite::ErrorCode::SystemIoFailure if full => no_space(),
            rusqlite::ErrorCode::SystemIoFailure
            | rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::ReadOnly => {
                io::Error::other(rusqlite::ffi::code_to_str(failure.extended_code))
            }
            _ => return self,
        };
        Error::Io {
            path: root.join(INDEX_FILE),
            source,
        }
    }

    /// Failures of the store itself (I/O, a corrupt file or index, a store
    /// that cannot be used as it is) are `Internal`; the rest are outcomes
    /// of what an input asked for (a metric that does not exist, a name no
    /// rule matches, a bad id).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. }
            | Error::NotAStore { .. }
            | Error::AlreadyAStore { .. }
            | Error::UnsupportedFormat { .. }
            | Error::BadConfig { .. }
            | Error::BadBackend { .. }
            | Error::Corrupt { .. }
            | Error::Sqlite(_)
            | Error::IndexData(_)
            | Error::PostgresConnect { .. }
            | Error::Redis { .. }
            | Error::S3 { .. }
            | Error::Postgres { .. }
            | Error::NoGnocchiSchema
            | Error::SchemaRevision { .. } => ErrorKind::Internal,
            Error::StoreBusy { .. } => ErrorKind::Busy,
            Error::ArchivePolicyNotFound(_)
            | Error::RuleNotFound(_)
            | Error::MetricNotFound(_)
            | Error::ResourceTypeNotFound(_)
            | Error::ResourceNotFound(_) => ErrorKind::NotFound,
            Error::ArchivePolicyExists(_)
            | Error::RuleExists(_)
            | Error::ResourceTypeExists(_)
            | Error::ResourceExists(_)
            | Error::ResourceOfOtherType { .. }
            | Error::NamedMetricExists(_) => ErrorKind::Conflict,
            // Gnocchi answers 400 to a metric id that is taken.
            Error::MetricExists(_)
            | Error::MeasuresWaiting { .. }
            | Error::NotArchiveFile { .. }
            | Error::ArchivePolicyInUse(_)
            | Error::UnrepresentablePolicy { .. }
            | Error::ResourceTypeInUse(_)
            | Error::UnexpectedResourceTypeState { .. }
            | Error::UnsupportedRuleChange { .. }
            | Error::NoRuleMatch(_)
            | Error::InvalidMetricName(_)
            | Error::AmbiguousMetricName { .. }
            | Error::Resource(_)
            | Error::ResourceValue { .. }
            | Error::NoSuchAttribute { .. }
            | Error::QueryValue { .. }
            | Error::InvalidPagination(_)
            | Error::FilterTooLarge { .. } => ErrorKind::Invalid,
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(error: postgres::Error) -> Error {
        match error.as_db_error() {
            Some(db) => Error::Postgres {
                code: Some(db.code().code().to_owned()),
                message: match db.detail() {
                    Some(detail) => format!("{} ({detail})", db.message()),
                    None => db.message().to_owned(),
                },
            },
            None => Error::Postgres {
                code: error.code().map(|code| code.code().to_owned()),
                message: error.to_string(),
            },
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an I/O error with the path it concerns.
pub(crate) fn io_error(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The contents of `store.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreConfig {
    pub format: u32,
    pub sacks: u32,
    pub subdir_len: usize,
    /// Measures waiting beyond which `ingest`, `measures add` and `serve`
    /// refuse writes (`carbonara max-backlog`); absent: no limit. An older
    /// carbonara ignores it, so it needs no new format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backlog: Option<u64>,
    /// A Gnocchi deployment's backends, where the store uses them.
    #[serde(flatten)]
    pub backends: Backends,
}

/// The store format `store.json` at `root` declares: its `format`, or 0
/// for the pre-release layout that had none (see `upgrade.rs`).
pub fn read_format(root: &Path) -> Result<u32> {
    let (path, text) = read_config_text(root)?;
    format_of(&path, &text)
}

/// The path and text of `store.json` at `root`.
fn read_config_text(root: &Path) -> Result<(PathBuf, String)> {
    let path = root.join(CONFIG_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => Ok((path, text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(Error::NotAStore {
            path: root.to_owned(),
        }),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// The `format` a `store.json` text declares, 0 when it has none.
fn format_of(path: &Path, text: &str) -> Result<u32> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| Error::BadConfig {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    match document.get("format") {
        None => Ok(0),
        Some(format) => format
            .as_u64()
            .and_then(|f| u32::try_from(f).ok())
            .ok_or_else(|| Error::BadConfig {
                path: path.to_owned(),
                reason: format!("`format` must be a small integer, not {format}"),
            }),
    }
}

/// Reads the text of `store.json` at `root` as the configuration of a
/// store of this build's format: a damaged or hand-edited file is an
/// error naming the field, never a store that fails later.
pub fn parse_config(root: &Path, text: &str) -> Result<StoreConfig> {
    let path = root.join(CONFIG_FILE);
    let found = format_of(&path, text)?;
    if found != FORMAT_VERSION {
        return Err(Error::UnsupportedFormat { path, found });
    }
    let config: StoreConfig = serde_json::from_str(text).map_err(|e| Error::BadConfig {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    check_sacks(root, config.sacks)?;
    Ok(config)
}

/// Sets or removes `store.json`'s `max_backlog`, every other field kept
/// as it is (`carbonara max-backlog --set`). The store's shared lock
/// keeps `sacks --set` and `upgrade` away meanwhile; the transaction gate,
/// recovery (see `remove_unfinished_config`).
pub fn set_max_backlog(store: &Store, limit: Option<u64>) -> Result<()> {
    let _gate = lock::gate_exclusive(store)?;
    let root = store.root();
    let path = root.join(CONFIG_FILE);
    let text = fs::read_to_string(&path).map_err(io_error(&path))?;
    let mut document: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::BadConfig {
            path: path.clone(),
            reason: e.to_string(),
        })?;
    let Some(fields) = document.as_object_mut() else {
        return Err(Error::BadConfig {
            path,
            reason: "not a JSON object".to_owned(),
        });
    };
    match limit {
        Some(limit) => fields.insert("max_backlog".to_owned(), limit.into()),
        None => fields.remove("max_backlog"),
    };
    write_config(root, &document)
}

/// Replaces `store.json` atomically and durably: a new file in `tmp/`,
/// synced, renamed over the old one, the directory synced. The rename is
/// the commit point of `init`, `sacks --set` and each upgrade step.
pub fn write_config(root: &Path, document: &serde_json::Value) -> Result<()> {
    let tmp = root.join("tmp");
    fs::create_dir_all(&tmp).map_err(io_error(&tmp))?;
    let staged = staged_config(root);
    let text = serde_json::to_string(document).expect("a JSON value serializes");
    let path = root.join(CONFIG_FILE);
    fs::write(&staged, text)
        .and_then(|()| fs::File::open(&staged)?.sync_all())
        .map_err(io_error(&staged))?;
    fs::rename(&staged, &path).map_err(io_error(&path))?;
    fs::File::open(root)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error(root))
}

/// Where `write_config` writes the new `store.json` before its rename.
fn staged_config(root: &Path) -> PathBuf {
    root.join("tmp").join(format!("{CONFIG_FILE}.new"))
}

/// Removes what a `write_config` that never reached its rename left (the
/// process or the machine stopped). Run by recovery, which holds the
/// transaction gate exclusively: `max-backlog --set` writes under that
/// gate, and `sacks --set` and `upgrade` run with the store to themselves.
pub(crate) fn remove_unfinished_config(root: &Path) -> Result<()> {
    let staged = staged_config(root);
    match fs::remove_file(&staged) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_error(&staged)(e)),
        _ => Ok(()),
    }
}

/// Where a store is: a directory (whose `store.json` names any backends
/// it uses), or a Gnocchi deployment read from its configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Directory(PathBuf),
    Deployment {
        /// The configuration file, for messages.
        conf: PathBuf,
        /// carbonara's own transactions and locks.
        state: PathBuf,
        backends: Backends,
    },
}

impl Location {
    /// Opens the store there.
    pub fn open(&self) -> Result<Store> {
        match self {
            Location::Directory(root) => Store::open(root),
            Location::Deployment {
                state, backends, ..
            } => Store::open_deployment(state, backends.clone()),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Directory(root) => write!(f, "{}", root.display()),
            Location::Deployment { conf, .. } => {
                write!(f, "the Gnocchi deployment of {}", conf.display())
            }
        }
    }
}

/// An open store: a directory, or a Gnocchi deployment's backends.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    /// `archive/`, or the directory of Gnocchi's file storage driver.
    archive_dir: PathBuf,
    /// `incoming/`, or the directory of Gnocchi's file incoming driver
    /// (where measures are staged for a remote incoming driver too).
    incoming_dir: PathBuf,
    config: StoreConfig,
    storage: storage::Storage,
    /// Gnocchi's Redis incoming driver, when measures wait there rather
    /// than in `incoming_dir`.
    remote_incoming: Option<incoming::Remote>,
    /// Applied transactions waiting for a sync (see `txn`).
    unsettled: Arc<txn::Unsettled>,
    _in_use: lock::StoreUse,
}

impl Drop for Store {
    /// Settles the transactions left unsettled, so that a command leaves
    /// no journal behind. (Their journals are durable already: one that
    /// cannot be settled is replayed by the next command.)
    fn drop(&mut self) {
        if let Err(error) = self.unsettled.settle() {
            crate::diagnostics::warn(&format!(
                "cannot settle the last transactions; the next command replays them: {error}"
            ));
        }
    }
}

impl Store {
    /// Creates a new, empty store at `root` (the directory may exist but
    /// must not already be a store).
    pub fn init(root: &Path, sacks: u32) -> Result<Store> {
        Store::init_with(root, Some(sacks), Backends::default())
    }

    /// Creates a new store at `root` whose parts may be a Gnocchi
    /// deployment's (`backends`). A Gnocchi incoming directory keeps its
    /// own sack count and a storage directory its subdirectory length:
    /// those are taken as they are (`sacks` must agree when given), or
    /// written as gnocchi-upgrade writes them when missing. 128 sacks when
    /// nothing says otherwise.
    pub fn init_with(root: &Path, sacks: Option<u32>, backends: Backends) -> Result<Store> {
        if root.join(CONFIG_FILE).exists() {
            return Err(Error::AlreadyAStore {
                path: root.to_owned(),
            });
        }
        backends.check()?;
        let found = backends.gnocchi_sacks()?;
        let sacks = match (found, sacks) {
            (Some(found), Some(asked)) if found != asked => {
                return Err(Error::BadConfig {
                    path: PathBuf::from(backends.gnocchi_sacks_place()),
                    reason: format!(
                        "Gnocchi's incoming driver has {found} sacks here, not {asked}"
                    ),
                });
            }
            (Some(found), _) => found,
            (None, asked) => asked.unwrap_or(DEFAULT_SACKS),
        };
        check_sacks(root, sacks)?;
        let subdir_len = backends.upgrade_storage()?;
        let config = StoreConfig {
            format: FORMAT_VERSION,
            sacks,
            subdir_len,
            max_backlog: None,
            backends,
        };
        let store = Store::with_dirs(root, config.clone(), lock::StoreUse::shared)?;
        store.incoming().create_sacks()?;
        if found.is_none() {
            store.config.backends.set_gnocchi_sacks_if_missing(sacks)?;
        }
        match &config.backends.index {
            Some(url) => index::create_postgres(url)?,
            None => drop(SqliteIndex::create(&store.index_path())?),
        }
        // store.json last: a directory without it is not a store yet.
        write_config(
            root,
            &serde_json::to_value(&config).expect("config serializes"),
        )?;
        Ok(store)
    }

    /// Opens a Gnocchi deployment as a store, with no `store.json`: its
    /// index, storage and incoming are `backends` (all three required),
    /// its sack count and subdirectory length are what Gnocchi's drivers
    /// keep in their directories, and carbonara's own transactions and
    /// locks live in `state` (on the storage's filesystem, so that renames
    /// into the archive stay atomic).
    pub fn open_deployment(state: &Path, backends: Backends) -> Result<Store> {
        backends.deployment(state)?;
        let sacks = backends.gnocchi_sacks()?.ok_or_else(|| Error::BadConfig {
            path: PathBuf::from(backends.gnocchi_sacks_place()),
            reason: "missing: this Gnocchi deployment is not set up yet; run `carbonara upgrade` with the same --gnocchi-conf, or Gnocchi's gnocchi-upgrade".to_owned(),
        })?;
        check_sacks(state, sacks)?;
        let subdir_len = match backends.storage_dir()? {
            Some(dir) => backends::gnocchi_subdir_len(&dir)?.unwrap_or(DEFAULT_SUBDIR_LEN),
            None => DEFAULT_SUBDIR_LEN,
        };
        let config = StoreConfig {
            format: FORMAT_VERSION,
            sacks,
            subdir_len,
            max_backlog: None,
            backends,
        };
        Store::with_dirs(state, config, lock::StoreUse::shared)
    }

    /// gnocchi-upgrade's job on a deployment: Gnocchi 4.7's schema on an
    /// empty database (with the default policies and rule unless
    /// `default_policies` is false, and only where there are neither
    /// policies nor rules), the sack count and subdirectory length written
    /// where they are missing, the sacks' directories made. A database at
    /// another schema revision is refused. Returns whether the schema was
    /// created, and the sack count.
    pub fn upgrade_deployment(
        state: &Path,
        backends: &Backends,
        sacks: Option<u32>,
        default_policies: bool,
    ) -> Result<(bool, u32)> {
        let (url, _, _) = backends.deployment(state)?;
        let created = index::upgrade_postgres(url, default_policies)?;
        backends.upgrade_storage()?;
        // As gnocchi-upgrade, a sack count once set stays: `--sacks-number`
        // only counts for a new deployment.
        let sacks = match backends.gnocchi_sacks()? {
            Some(found) => found,
            None => {
                let sacks = sacks.unwrap_or(DEFAULT_SACKS);
                check_sacks(state, sacks)?;
                backends.set_gnocchi_sacks_if_missing(sacks)?
            }
        };
        let store = Store::open_deployment(state, backends.clone())?;
        store.incoming().create_sacks()?;
        Ok((created, sacks))
    }

    /// Opens an existing store of the current format.
    pub fn open(root: &Path) -> Result<Store> {
        Store::open_with(root, lock::StoreUse::shared)
    }

    /// Opens a store for a command that changes its layout and must run
    /// alone: fails while any other process has it open.
    pub fn open_exclusive(root: &Path) -> Result<Store> {
        Store::open_with(root, |locks| {
            lock::StoreUse::try_exclusive(locks)?.ok_or_else(|| Error::StoreBusy {
                path: root.to_owned(),
            })
        })
    }

    fn open_with(root: &Path, lock: impl FnOnce(&Path) -> Result<lock::StoreUse>) -> Result<Store> {
        let (_, text) = read_config_text(root)?;
        Store::with_dirs(root, parse_config(root, &text)?, lock)
    }

    /// The store handle, its top directories made (a copy of a store may
    /// lack empty ones) and its use lock taken.
    fn with_dirs(
        root: &Path,
        config: StoreConfig,
        lock: impl FnOnce(&Path) -> Result<lock::StoreUse>,
    ) -> Result<Store> {
        config.backends.check()?;
        let archive_dir = match config.backends.storage_dir()? {
            Some(dir) => dir,
            None => root.join("archive"),
        };
        let incoming_dir = match config.backends.incoming_dir()? {
            Some(dir) => dir,
            None => root.join("incoming"),
        };
        for dir in [
            root.join("locks"),
            archive_dir.clone(),
            incoming_dir.clone(),
        ] {
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        placement::create_spread_dir(&root.join("tmp"))?;
        let storage = match config.backends.storage_driver()? {
            Some(backends::Driver::Redis(url)) => storage::Storage::Redis(
                redis::storage::RedisStorage::new(redis::Pool::new("storage", &url)?),
            ),
            Some(backends::Driver::S3(settings)) => {
                storage::Storage::S3(s3::storage::S3Storage::open(&settings)?)
            }
            Some(backends::Driver::File(_)) | None => storage::Storage::File(
                archive::Archive::new(archive_dir.clone(), config.subdir_len),
            ),
        };
        let remote_incoming = match config.backends.incoming_driver()? {
            Some(driver) => incoming::Remote::open(&driver)?,
            None => None,
        };
        Ok(Store {
            root: root.to_owned(),
            archive_dir,
            incoming_dir,
            config,
            storage,
            remote_incoming,
            unsettled: Arc::new(txn::Unsettled::new(root.join("tmp"))),
            _in_use: lock(&root.join("locks"))?,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Whether Gnocchi's own processes read this store's files (they take
    /// none of carbonara's locks): every file is then replaced by a rename,
    /// never overwritten in place.
    pub fn shared_with_gnocchi(&self) -> bool {
        self.config.backends.shared_with_gnocchi()
    }

    /// Whether the index is the store's own SQLite file rather than a
    /// PostgreSQL database reached over the network.
    pub fn index_is_local(&self) -> bool {
        self.config.backends.index.is_none()
    }

    /// Whether every part of the store is on this machine's disk: its own
    /// SQLite index and directory drivers, never waiting on a network (nor
    /// calling into an async client, which a tokio thread must not).
    pub fn is_local(&self) -> bool {
        self.index_is_local() && self.storage.as_file().is_some() && self.remote_incoming.is_none()
    }

    /// Whether the archives and the measures waiting are files (in the
    /// store's directories or a Gnocchi deployment's file drivers).
    pub fn is_local_layout(&self) -> bool {
        self.storage.as_file().is_some() && self.remote_incoming.is_none()
    }

    pub fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    /// Opens the index (one connection per caller): the store's SQLite
    /// file (WAL mode), or the deployment's PostgreSQL database.
    pub fn index(&self) -> Result<Index> {
        match &self.config.backends.index {
            Some(url) => index::open_postgres(url),
            None => SqliteIndex::open(&self.index_path()).map(Index::new),
        }
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn locks_dir(&self) -> PathBuf {
        self.root.join("locks")
    }

    pub fn archive_dir(&self) -> PathBuf {
        self.archive_dir.clone()
    }

    pub fn incoming_dir(&self) -> PathBuf {
        self.incoming_dir.clone()
    }

    pub fn incoming(&self) -> incoming::Incoming<'_> {
        incoming::Incoming::new(self)
    }

    /// The directory archive: the store's own `archive/` or Gnocchi's file
    /// storage (on other drivers, a directory that stays empty).
    pub fn archive(&self) -> archive::Archive {
        archive::Archive::new(self.archive_dir(), self.config.subdir_len)
    }

    /// The archives, on whichever driver keeps them.
    pub fn storage(&self) -> &storage::Storage {
        &self.storage
    }

    /// The remote incoming driver, when measures do not wait in files.
    pub fn remote_incoming(&self) -> Option<&incoming::Remote> {
        self.remote_incoming.as_ref()
    }

    /// Locks a metric's archive for reading: no transaction rewrites its
    /// files while the lock is held.
    pub fn read_lock(&self, metric: uuid::Uuid) -> Result<lock::ReadLock> {
        lock::ReadLock::shared(self, self.incoming().sack_of(metric))
    }

    /// [`Store::read_lock`] unless a transaction holds the archive now.
    pub fn try_read_lock(&self, metric: uuid::Uuid) -> Result<Option<lock::ReadLock>> {
        lock::ReadLock::try_shared(self, self.incoming().sack_of(metric))
    }

    /// Starts a transaction; `sacks` are the sacks whose processing state it
    /// changes (empty for one that only adds incoming measures).
    pub fn begin(&self, sacks: &[u32]) -> Result<Transaction<'_>> {
        Transaction::begin(self, sacks)
    }

    /// The transactions this process applied that no sync has yet made
    /// durable.
    pub fn unsettled(&self) -> &Arc<txn::Unsettled> {
        &self.unsettled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_then_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 8).unwrap();
        assert_eq!(store.config().sacks, 8);
        assert!(dir.path().join("incoming/incoming8-7").is_dir());
        let reopened = Store::open(dir.path()).unwrap();
        assert_eq!(reopened.config(), store.config());
        assert!(matches!(
            Store::init(dir.path(), 8),
            Err(Error::AlreadyAStore { .. })
        ));
    }

    #[test]
    fn open_refuses_other_directories() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("carbonara init --store"), "{err}");
        fs::write(
            dir.path().join(CONFIG_FILE),
            r#"{"format": 99, "sacks": 1, "subdir_len": 2}"#,
        )
        .unwrap();
        assert!(matches!(
            Store::open(dir.path()),
            Err(Error::UnsupportedFormat { found: 99, .. })
        ));
    }

    #[test]
    fn sack_count_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::init(dir.path(), 0),
            Err(Error::BadConfig { .. })
        ));
    }
}
