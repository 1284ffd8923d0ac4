//! A Gnocchi deployment as its `gnocchi.conf` describes it: the indexer's
//! URL, the storage and incoming drivers, the coordination URL, and the
//! `[api]` and `[metricd]` options carbonara honours, read as oslo.config
//! reads them for Gnocchi 4.7.1 (docs/deployments.md#gnocchiconf).
//!
//! Pure configuration: the file's text and an environment in, typed values
//! or an error naming the file, line, section, option and value out;
//! nothing here connects to anything.
//!
//! The policy, so that no option is silently ignored:
//! * an option carbonara honours becomes a typed field;
//! * an option whose *value* carbonara cannot honour (another driver,
//!   another database, `remoteuser` authentication, a janitor feature it
//!   does not have) is an error naming it, its value and what carbonara
//!   supports;
//! * an option that changes nothing carbonara does (logging, the options
//!   of drivers not in use, uWSGI's and Paste's, `[statsd]`, `[amqp1d]`,
//!   the sections of `[database]`, `[oslo_policy]`, `[healthcheck]`) is
//!   read, checked against its type as Gnocchi checks it, and left alone;
//! * an option Gnocchi 4.7.1 does not have, or a section neither it nor its
//!   libraries read, is an error: it is a misspelling more often than not.

mod ini;
mod options;
mod resolve;
mod url;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::ErrorKind;
use crate::policy::AggregationMethod;
use crate::time::Span;

use crate::store::s3::S3Settings;
use resolve::{Resolver, Typed, Value};
pub use url::DatabaseUrl;

/// A deployment of Gnocchi: where its data is and how its daemons run.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// The configuration file it was read from.
    pub path: PathBuf,
    /// `[indexer] url`: `postgresql://` or `postgresql+psycopg2://`.
    pub indexer: DatabaseUrl,
    pub storage: Storage,
    pub incoming: Incoming,
    /// `[DEFAULT] coordination_url`, or when unset as Gnocchi derives it:
    /// a Redis driver's `redis_url`, else the indexer's URL without its
    /// `+driver`: a `postgresql://` URL
    /// for tooz's PostgreSQL driver or a `redis://` one for its Redis
    /// driver (whose parameters `store::coordinator::redis` checks).
    pub coordination: DatabaseUrl,
    /// `[DEFAULT] parallel_operations`; `None`: the number of CPUs.
    pub parallel_operations: Option<usize>,
    pub api: Api,
    pub metricd: Metricd,
    /// `[archive_policy] default_aggregation_methods`: the methods of a
    /// policy created without any.
    pub default_aggregation_methods: Vec<AggregationMethod>,
    /// `[keystone_authtoken]` as written (substituted), for the keystone
    /// authentication.
    pub keystone_authtoken: LibrarySection,
}

/// `[storage] driver` and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    /// Gnocchi's file driver: `file_basepath` (default `/var/lib/gnocchi`)
    /// and `file_subdir_len` (default 2).
    File {
        basepath: PathBuf,
        subdir_len: usize,
    },
    /// Gnocchi's Redis driver: `redis_url`.
    Redis { url: String },
    /// Gnocchi's S3 driver: the `s3_*` options.
    S3(S3Settings),
}

/// `[incoming] driver` and its options, each defaulting to the storage
/// one's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    File {
        basepath: PathBuf,
    },
    /// Gnocchi's Redis driver: `redis_url`.
    Redis {
        url: String,
    },
    /// Gnocchi's S3 driver: the `s3_*` options.
    S3(S3Settings),
}

/// How API callers identify themselves (`[api] auth_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// HTTP basic: the user name is the creator.
    Basic,
    /// Keystone tokens, checked as keystonemiddleware does.
    Keystone,
    /// carbonara's own: keystone's headers trusted as sent (Gnocchi 4.7.1
    /// has no such mode and refuses it).
    Noauth,
}

/// The `[api]` options `serve` honours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Api {
    pub auth_mode: AuthMode,
    /// Largest page of a listing, and its default (at least 1).
    pub max_limit: usize,
    /// How long a `refresh` waits for a sack lock (`operation_timeout`,
    /// formerly `refresh_timeout`).
    pub operation_timeout: Span,
    /// `host` and `port` when the file sets them (gnocchi-api's defaults
    /// are `0.0.0.0` and 8041).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// Trust the proxy headers (`enable_proxy_headers_parsing`, formerly in
    /// `[oslo_middleware]`).
    pub enable_proxy_headers_parsing: bool,
    /// `[cors] allowed_origin`.
    pub cors_allowed_origins: Vec<String>,
}

/// The `[metricd]` options of the processing pass and its janitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metricd {
    /// `None`: the number of CPUs.
    pub workers: Option<usize>,
    pub metric_processing_delay: Span,
    /// `None` when `-1` turns the backlog report off.
    pub metric_reporting_delay: Option<Span>,
    pub metric_cleanup_delay: Span,
    pub processing_replicas: usize,
    pub greedy: bool,
    /// How many deleted metrics one janitor pass expunges at most.
    pub cleanup_batch_size: usize,
}

/// The options of a library's section, substituted; its `Debug` hides
/// the secrets (passwords, keys, tokens).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LibrarySection(BTreeMap<String, String>);

impl LibrarySection {
    pub fn get(&self, option: &str) -> Option<&str> {
        self.0.get(option).map(String::as_str)
    }

    /// The options and their values, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for LibrarySection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| {
                let shown = if resolve::is_secret(k) {
                    "***"
                } else {
                    v.as_str()
                };
                (k, shown)
            }))
            .finish()
    }
}

/// Where a value was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The file, at a line when the value is written there (`None` for a
    /// default or a missing option).
    File { path: PathBuf, line: Option<usize> },
    /// oslo.config's environment variable `OS_<GROUP>__<OPTION>`.
    Env(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File {
                path,
                line: Some(line),
            } => write!(f, "{}:{line}", path.display()),
            Place::File { path, line: None } => write!(f, "{}", path.display()),
            Place::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

/// A configuration carbonara cannot use, said so the user can go to it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{place}: [{section}]: {reason}")]
    Section {
        place: Place,
        section: String,
        reason: String,
    },
    /// `option` is `[section] name`, as the messages write it.
    #[error("{place}: {option}: {reason}")]
    Option {
        place: Place,
        option: String,
        reason: String,
    },
    #[error("{place}: {option} = {value}: {reason}")]
    Value {
        place: Place,
        option: String,
        value: String,
        reason: String,
    },
}

impl Error {
    /// Every configuration error is the configuration's: `Invalid`, an
    /// unreadable file included.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. }
            | Error::Syntax { .. }
            | Error::Section { .. }
            | Error::Option { .. }
            | Error::Value { .. } => ErrorKind::Invalid,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `[cors]` options other than `allowed_origin`: carbonara answers CORS
/// with Gnocchi's defaults for them (src/server/cors.rs).
const CORS_FIXED: &[&str] = &[
    "allow_credentials",
    "expose_headers",
    "max_age",
    "allow_methods",
    "allow_headers",
];

impl Deployment {
    /// Reads a `gnocchi.conf` in the process's environment.
    pub fn read(path: &Path) -> Result<Deployment> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Deployment::parse(path, &text, &|var| std::env::var(var).ok())
    }

    /// Reads the text of a `gnocchi.conf` named `path`, with `env` for the
    /// environment variables oslo.config and Gnocchi read.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Deployment> {
        let ini = ini::parse(text).map_err(|e| Error::Syntax {
            path: path.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        check_names(path, &ini)?;
        let r = Resolver {
            path,
            ini: &ini,
            env,
        };
        // Gnocchi converts every option it has when it starts: a bad value
        // stops it even where carbonara would not look.
        for group in options::GROUPS {
            for opt in group.opts {
                if r.is_set(group.name, opt.name) {
                    r.get(group.name, opt.name)?;
                }
            }
        }
        refuse_unsupported(&r)?;
        let indexer = indexer(&r)?;
        let storage = storage(&r)?;
        let incoming = incoming(&r)?;
        let coordination = coordination(&r, &indexer, &storage, &incoming)?;
        Ok(Deployment {
            path: path.to_owned(),
            storage,
            incoming,
            indexer,
            coordination,
            parallel_operations: optional_count(&r, "DEFAULT", "parallel_operations")?,
            api: api(&r)?,
            metricd: metricd(&r)?,
            default_aggregation_methods: aggregation_methods(&r)?,
            keystone_authtoken: library_section(&r, "keystone_authtoken")?,
        })
    }
}

/// Every section is one Gnocchi or its libraries read, and every option of
/// Gnocchi's own sections is one it has (or an old name of one).
fn check_names(path: &Path, ini: &ini::Ini) -> Result<()> {
    for (name, section) in &ini.sections {
        if options::group(name).is_some() {
            for (key, entries) in &section.keys {
                let known = options::option_for_key(name, key).is_some()
                    || (name == "DEFAULT" && options::OSLO_LOG_OPTIONS.contains(&key.as_str()));
                if !known {
                    return Err(Error::Option {
                        place: Place::File {
                            path: path.to_owned(),
                            line: Some(entries[0].line),
                        },
                        option: format!("[{name}] {key}"),
                        reason: "Gnocchi 4.7.1 has no such option".to_owned(),
                    });
                }
            }
        } else if !options::LIBRARY_SECTIONS.contains(&name.as_str()) {
            return Err(Error::Section {
                place: Place::File {
                    path: path.to_owned(),
                    line: Some(section.line),
                },
                section: name.clone(),
                reason: "neither Gnocchi 4.7.1 nor the libraries it loads read this section"
                    .to_owned(),
            });
        }
    }
    Ok(())
}

/// Options whose values change what Gnocchi does in ways carbonara does
/// not, refused unless they keep Gnocchi's default.
fn refuse_unsupported(r: &Resolver<'_>) -> Result<()> {
    for option in ["config_file", "config_dir", "config_source"] {
        if let Some((value, _)) = r.get("DEFAULT", option)? {
            return Err(r.value_error(
                "DEFAULT",
                option,
                &value,
                "carbonara reads one configuration file, the one it is given".to_owned(),
            ));
        }
    }
    for (option, feature) in [
        (
            "metric_inactive_after",
            "end resources whose metrics stopped receiving measures",
        ),
        ("resource_cleanup_after", "delete resources that ended"),
    ] {
        if let Some((value, Typed::Int(seconds))) = r.get("metricd", option)?
            && seconds != 0
        {
            return Err(r.value_error(
                "metricd",
                option,
                &value,
                format!(
                    "carbonara's janitor does not {feature}; set 0 (Gnocchi's default) or remove it"
                ),
            ));
        }
    }
    for option in CORS_FIXED {
        if let Some(value) = r.get_library("cors", option)? {
            return Err(r.value_error(
                "cors",
                option,
                &value,
                "carbonara answers CORS with Gnocchi's defaults for this option; only allowed_origin may be set".to_owned(),
            ));
        }
    }
    Ok(())
}

/// A registered option's text, or its typed value, that Gnocchi always has
/// (a default or a required value checked before).
fn text(r: &Resolver<'_>, group: &str, name: &str) -> Result<(Value, String)> {
    match r.get(group, name)? {
        Some((value, Typed::Str(text))) => Ok((value, text)),
        other => unreachable!("[{group}] {name} is a string with a default, not {other:?}"),
    }
}

fn int(r: &Resolver<'_>, group: &str, name: &str) -> Result<(Value, i64)> {
    match r.get(group, name)? {
        Some((value, Typed::Int(n))) => Ok((value, n)),
        Some(other) => unreachable!("[{group}] {name} is an integer, not {other:?}"),
        None => {
            // An empty number is unset for oslo.config; Gnocchi then has
            // no value where it needs one.
            Err(Error::Option {
                place: Place::File {
                    path: r.path.to_owned(),
                    line: None,
                },
                option: format!("[{group}] {name}"),
                reason: "a number is needed".to_owned(),
            })
        }
    }
}

fn seconds(r: &Resolver<'_>, group: &str, name: &str) -> Result<Span> {
    Ok(Span::from_secs(int(r, group, name)?.1))
}

fn count(r: &Resolver<'_>, group: &str, name: &str) -> Result<usize> {
    let (value, n) = int(r, group, name)?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| r.value_error(group, name, &value, "must be at least 1".to_owned()))
}

fn optional_count(r: &Resolver<'_>, group: &str, name: &str) -> Result<Option<usize>> {
    match r.get(group, name)? {
        Some((_, Typed::Int(n))) => Ok(Some(usize::try_from(n).expect("at least 1 by its type"))),
        Some(other) => unreachable!("[{group}] {name} is an integer, not {other:?}"),
        None => Ok(None),
    }
}

fn bool_option(r: &Resolver<'_>, group: &str, name: &str) -> Result<bool> {
    match r.get(group, name)? {
        Some((_, Typed::Bool(b))) => Ok(b),
        other => unreachable!("[{group}] {name} is a boolean with a default, not {other:?}"),
    }
}

/// An error about a URL option, showing the URL without its password.
fn url_error(
    r: &Resolver<'_>,
    group: &str,
    name: &str,
    value: &Value,
    shown: String,
    reason: &str,
) -> Error {
    r.error_showing(group, name, &value.origin, shown, reason.to_owned())
}

fn parse_url(r: &Resolver<'_>, group: &str, name: &str, value: &Value) -> Result<DatabaseUrl> {
    DatabaseUrl::parse(&value.text)
        .map_err(|e| url_error(r, group, name, value, resolve::redact_url(&value.text), e.0))
}

fn indexer(r: &Resolver<'_>) -> Result<DatabaseUrl> {
    let value = match r.get("indexer", "url")? {
        Some((value, _)) if !value.text.is_empty() => value,
        _ => {
            return Err(Error::Option {
                place: Place::File {
                    path: r.path.to_owned(),
                    line: None,
                },
                option: "[indexer] url".to_owned(),
                reason: "required (or GNOCCHI_INDEXER_URL in the environment): the URL of Gnocchi's PostgreSQL database".to_owned(),
            });
        }
    };
    let url = parse_url(r, "indexer", "url", &value)?;
    if !matches!(url.scheme(), "postgresql" | "postgresql+psycopg2") {
        return Err(url_error(
            r,
            "indexer",
            "url",
            &value,
            url.to_string(),
            "carbonara supports postgresql:// indexers (with or without +psycopg2)",
        ));
    }
    Ok(url)
}

/// `[DEFAULT] coordination_url`, else as Gnocchi's `prepare_service`
/// derives it: the storage's `redis_url` on Redis storage, else the
/// incoming's on Redis incoming, else the indexer's URL without its driver.
fn coordination(
    r: &Resolver<'_>,
    indexer: &DatabaseUrl,
    storage: &Storage,
    incoming: &Incoming,
) -> Result<DatabaseUrl> {
    let Some((value, _)) = r.get("DEFAULT", "coordination_url")? else {
        let (group, url) = match (storage, incoming) {
            (Storage::Redis { url }, _) => ("storage", url),
            (_, Incoming::Redis { url }) => ("incoming", url),
            _ => return Ok(indexer.without_driver()),
        };
        return DatabaseUrl::parse(url).map_err(|e| Error::Option {
            place: Place::File {
                path: r.path.to_owned(),
                line: None,
            },
            option: format!("[{group}] redis_url"),
            reason: format!("the coordination URL Gnocchi takes from it: {}", e.0),
        });
    };
    if value.text.is_empty() {
        return Err(r.value_error(
            "DEFAULT",
            "coordination_url",
            &value,
            "empty; remove it to coordinate through the indexer's database, as Gnocchi then does"
                .to_owned(),
        ));
    }
    let url = parse_url(r, "DEFAULT", "coordination_url", &value)?;
    if !matches!(url.scheme(), "postgresql" | "redis") {
        return Err(url_error(
            r,
            "DEFAULT",
            "coordination_url",
            &value,
            url.to_string(),
            "carbonara supports tooz's postgresql:// and redis:// coordination",
        ));
    }
    Ok(url)
}

/// A driver option: `file`, the only driver carbonara has.
/// `[group] driver`: `file`, `redis` or `s3`, the drivers carbonara has.
fn driver(r: &Resolver<'_>, group: &str) -> Result<String> {
    let (value, driver) = text(r, group, "driver")?;
    if !["file", "redis", "s3"].contains(&driver.as_str()) {
        return Err(r.value_error(
            group,
            "driver",
            &value,
            "carbonara supports file, redis and s3 here".to_owned(),
        ));
    }
    Ok(driver)
}

/// The `s3_*` options of a group, as Gnocchi's S3 drivers read them.
fn s3_settings(r: &Resolver<'_>, group: &str) -> Result<S3Settings> {
    let mut options = BTreeMap::new();
    for name in [
        "s3_endpoint_url",
        "s3_region_name",
        "s3_access_key_id",
        "s3_secret_access_key",
        "s3_bucket_prefix",
    ] {
        if let Some((_, Typed::Str(value))) = r.get(group, name)? {
            options.insert(name, value);
        }
    }
    S3Settings::from_options(|name| options.get(name).cloned()).map_err(|e| {
        let (value, _) = text(r, group, "s3_bucket_prefix").expect("read above");
        r.value_error(group, "s3_bucket_prefix", &value, e.to_string())
    })
}

fn basepath(r: &Resolver<'_>, group: &str) -> Result<PathBuf> {
    let (value, path) = text(r, group, "file_basepath")?;
    if path.is_empty() {
        return Err(r.value_error(
            group,
            "file_basepath",
            &value,
            "a directory is needed".to_owned(),
        ));
    }
    Ok(PathBuf::from(path))
}

fn storage(r: &Resolver<'_>) -> Result<Storage> {
    match driver(r, "storage")?.as_str() {
        "redis" => {
            return Ok(Storage::Redis {
                url: text(r, "storage", "redis_url")?.1,
            });
        }
        "s3" => return s3_settings(r, "storage").map(Storage::S3),
        _ => {}
    }
    let subdir_len = int(r, "storage", "file_subdir_len")?.1;
    Ok(Storage::File {
        basepath: basepath(r, "storage")?,
        subdir_len: usize::try_from(subdir_len).expect("0 to 32 by its type"),
    })
}

fn incoming(r: &Resolver<'_>) -> Result<Incoming> {
    match driver(r, "incoming")?.as_str() {
        "redis" => {
            return Ok(Incoming::Redis {
                url: text(r, "incoming", "redis_url")?.1,
            });
        }
        "s3" => return s3_settings(r, "incoming").map(Incoming::S3),
        _ => {}
    }
    Ok(Incoming::File {
        basepath: basepath(r, "incoming")?,
    })
}

fn api(r: &Resolver<'_>) -> Result<Api> {
    let (value, mode) = text(r, "api", "auth_mode")?;
    let auth_mode = match mode.as_str() {
        "basic" => AuthMode::Basic,
        "keystone" => AuthMode::Keystone,
        "noauth" => AuthMode::Noauth,
        _ => {
            return Err(r.value_error(
                "api",
                "auth_mode",
                &value,
                "carbonara supports basic, keystone and noauth".to_owned(),
            ));
        }
    };
    let host = match r.is_set("api", "host") {
        true => Some(text(r, "api", "host")?.1),
        false => None,
    };
    let port = match r.is_set("api", "port") {
        true => Some(u16::try_from(int(r, "api", "port")?.1).expect("0 to 65535 by its type")),
        false => None,
    };
    let cors_allowed_origins = match r.get_library("cors", "allowed_origin")? {
        Some(value) => match resolve::convert(options::Kind::List, &value.text) {
            Ok(Some(Typed::List(origins))) => origins,
            other => unreachable!("a list converts to a list, not {other:?}"),
        },
        None => Vec::new(),
    };
    Ok(Api {
        auth_mode,
        max_limit: count(r, "api", "max_limit")?,
        operation_timeout: seconds(r, "api", "operation_timeout")?,
        host,
        port,
        enable_proxy_headers_parsing: bool_option(r, "api", "enable_proxy_headers_parsing")?,
        cors_allowed_origins,
    })
}

fn metricd(r: &Resolver<'_>) -> Result<Metricd> {
    let reporting = int(r, "metricd", "metric_reporting_delay")?.1;
    Ok(Metricd {
        workers: optional_count(r, "metricd", "workers")?,
        metric_processing_delay: seconds(r, "metricd", "metric_processing_delay")?,
        metric_reporting_delay: (reporting != -1).then(|| Span::from_secs(reporting)),
        metric_cleanup_delay: seconds(r, "metricd", "metric_cleanup_delay")?,
        processing_replicas: count(r, "metricd", "processing_replicas")?,
        greedy: bool_option(r, "metricd", "greedy")?,
        cleanup_batch_size: count(r, "metricd", "cleanup_batch_size")?,
    })
}

fn aggregation_methods(r: &Resolver<'_>) -> Result<Vec<AggregationMethod>> {
    let Some((value, Typed::List(names))) =
        r.get("archive_policy", "default_aggregation_methods")?
    else {
        unreachable!("a list with a default");
    };
    names
        .iter()
        .map(|name| {
            name.parse().map_err(|_| {
                r.value_error(
                    "archive_policy",
                    "default_aggregation_methods",
                    &value,
                    format!("{name} is not an aggregation method"),
                )
            })
        })
        .collect()
}

fn library_section(r: &Resolver<'_>, section: &str) -> Result<LibrarySection> {
    let Some(keys) = r.ini.sections.get(section) else {
        return Ok(LibrarySection::default());
    };
    keys.keys
        .keys()
        .map(|key| {
            let value = r.get_library(section, key)?.expect("a key of the file");
            Ok((key.clone(), value.text))
        })
        .collect::<Result<_>>()
        .map(LibrarySection)
}

#[cfg(test)]
mod tests;
