//! Where a store keeps its parts when they are not all in its own
//! directory: the backends of a Gnocchi deployment. `store.json` names
//! them (`carbonara init --index … --storage … --incoming …`), or a
//! Gnocchi configuration file does (`--gnocchi-conf`): its PostgreSQL
//! indexer, the directories of its file storage and file incoming drivers,
//! and the tooz URL its metricd workers lock sacks with.
//!
//! Gnocchi's file drivers keep their settings in their directory's `tmp/`:
//! the sack count in `gnocchi-config` (incoming) and the length of the
//! archive's subdirectory names in `gnocchi-storage-config` (storage).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::coordinator::Coordination;
use super::s3::S3Settings;
use super::{Error, Result, io_error};
use crate::deployment::{DatabaseUrl, Deployment, Incoming, Storage};

/// The backends of a store that shares a Gnocchi deployment's data; none
/// for a store directory of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backends {
    /// Gnocchi's indexer: `postgresql://…` (or `postgresql+psycopg2://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// Gnocchi's file storage driver: `file:///DIR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    /// Gnocchi's file incoming driver: `file:///DIR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<String>,
    /// The tooz URL whose sack locks a pass takes beside its own; Gnocchi's
    /// default when absent (the indexer's URL without its driver).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordination_url: Option<String>,
}

impl From<&Deployment> for Backends {
    fn from(deployment: &Deployment) -> Backends {
        let file_url = |path: &Path| format!("file://{}", path.display());
        let storage = match &deployment.storage {
            Storage::File { basepath, .. } => file_url(basepath),
            Storage::Redis { url } => url.clone(),
            Storage::S3(settings) => settings.to_url_with_credentials(),
        };
        let incoming = match &deployment.incoming {
            Incoming::File { basepath } => file_url(basepath),
            Incoming::Redis { url } => url.clone(),
            Incoming::S3(settings) => settings.to_url_with_credentials(),
        };
        Backends {
            index: Some(deployment.indexer.as_str().to_owned()),
            storage: Some(storage),
            incoming: Some(incoming),
            coordination_url: Some(deployment.coordination.as_str().to_owned()),
        }
    }
}

/// Where carbonara keeps its own transactions and locks for a deployment:
/// `carbonara/` in the storage directory, so that its renames into the
/// archive stay on one filesystem (in the incoming directory when only
/// that is a directory). Gnocchi's drivers never look there. With neither
/// a directory, measures are only staged locally: in
/// `$XDG_STATE_HOME/carbonara/` (`~/.local/state/carbonara/`), one
/// directory per configuration file.
pub fn deployment_state_dir(deployment: &Deployment) -> PathBuf {
    match (&deployment.storage, &deployment.incoming) {
        (Storage::File { basepath, .. }, _) | (_, Incoming::File { basepath }) => {
            basepath.join("carbonara")
        }
        _ => {
            let base = std::env::var_os("XDG_STATE_HOME")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/state"))
                })
                .unwrap_or_else(std::env::temp_dir);
            let conf = fs::canonicalize(&deployment.path).unwrap_or(deployment.path.clone());
            let digest = sha1_smol::Sha1::from(conf.to_string_lossy().as_bytes())
                .digest()
                .to_string();
            base.join("carbonara")
                .join(format!("deployment-{}", &digest[..16]))
        }
    }
}

/// The file name of Gnocchi's incoming settings, in its `tmp/`.
const INCOMING_CONFIG: &str = "gnocchi-config";
/// The file name of Gnocchi's file-storage settings, in its `tmp/`.
const STORAGE_CONFIG: &str = "gnocchi-storage-config";

impl Backends {
    /// Whether any part of the store is a Gnocchi deployment's: its files
    /// are then read by Gnocchi's own processes, which take none of
    /// carbonara's locks, so every file is replaced by a rename.
    pub fn shared_with_gnocchi(&self) -> bool {
        self.index.is_some() || self.storage.is_some() || self.incoming.is_some()
    }

    /// The directory of Gnocchi's file storage driver, if the store uses it.
    pub fn storage_dir(&self) -> Result<Option<PathBuf>> {
        Ok(match self.storage_driver()? {
            Some(Driver::File(dir)) => Some(dir),
            _ => None,
        })
    }

    /// The directory of Gnocchi's file incoming driver, if the store uses it.
    pub fn incoming_dir(&self) -> Result<Option<PathBuf>> {
        Ok(match self.incoming_driver()? {
            Some(Driver::File(dir)) => Some(dir),
            _ => None,
        })
    }

    /// The storage driver its URL names; `None` for the store's own
    /// `archive/`.
    pub fn storage_driver(&self) -> Result<Option<Driver>> {
        self.storage
            .as_deref()
            .map(|url| Driver::parse("storage", url))
            .transpose()
    }

    /// The incoming driver its URL names; `None` for the store's own
    /// `incoming/`.
    pub fn incoming_driver(&self) -> Result<Option<Driver>> {
        self.incoming
            .as_deref()
            .map(|url| Driver::parse("incoming", url))
            .transpose()
    }

    /// The tooz driver that guards the sacks, as Gnocchi's metricd takes
    /// its locks: the coordination URL's (PostgreSQL's advisory locks or
    /// Redis keys), or by Gnocchi's default the indexer's database without
    /// its driver. `None` when there is none.
    pub fn coordination(&self) -> Result<Option<Coordination>> {
        let url = match (&self.coordination_url, &self.index) {
            (Some(url), _) => database_url("coordination_url", url)?,
            (None, Some(index)) => database_url("index", index)?.without_driver(),
            (None, None) => return Ok(None),
        };
        Coordination::new(url).map(Some)
    }

    /// The index URL and the storage and incoming drivers of a whole
    /// deployment (all three are needed), checked.
    pub fn deployment(&self, state: &Path) -> Result<(&str, Driver, Driver)> {
        self.check()?;
        match (&self.index, self.storage_driver()?, self.incoming_driver()?) {
            (Some(index), Some(storage), Some(incoming)) => Ok((index, storage, incoming)),
            _ => Err(Error::BadConfig {
                path: state.to_owned(),
                reason: "a deployment needs an index, a storage and an incoming backend".to_owned(),
            }),
        }
    }

    /// The sack count Gnocchi's incoming driver keeps (gnocchi-upgrade's):
    /// in its directory's `tmp/gnocchi-config` or its Redis hash. `None`
    /// when unset, or when the store's incoming is its own.
    pub fn gnocchi_sacks(&self) -> Result<Option<u32>> {
        match self.incoming_driver()? {
            None => Ok(None),
            Some(Driver::File(dir)) => gnocchi_sacks(&dir),
            Some(driver) => super::incoming::Remote::open(&driver)?
                .expect("a driver other than files is remote")
                .sacks(),
        }
    }

    /// Sets the sack count of Gnocchi's incoming driver where it has none;
    /// returns the count in force.
    pub fn set_gnocchi_sacks_if_missing(&self, sacks: u32) -> Result<u32> {
        match self.incoming_driver()? {
            None => Ok(sacks),
            Some(Driver::File(dir)) => match gnocchi_sacks(&dir)? {
                Some(found) => Ok(found),
                None => set_gnocchi_sacks(&dir, sacks).map(|()| sacks),
            },
            Some(driver) => super::incoming::Remote::open(&driver)?
                .expect("a driver other than files is remote")
                .set_sacks_if_missing(sacks),
        }
    }

    /// gnocchi-upgrade's part for the storage driver: the file driver's
    /// subdirectory length written where missing (returned), the S3
    /// driver's bucket created (an existing one, either answer, is fine).
    pub fn upgrade_storage(&self) -> Result<usize> {
        match self.storage_driver()? {
            Some(Driver::File(dir)) => match gnocchi_subdir_len(&dir)? {
                Some(len) => Ok(len),
                None => {
                    set_gnocchi_subdir_len(&dir, super::DEFAULT_SUBDIR_LEN)?;
                    Ok(super::DEFAULT_SUBDIR_LEN)
                }
            },
            Some(Driver::S3(settings)) => {
                super::s3::storage::S3Storage::open(&settings)?.upgrade()?;
                Ok(super::DEFAULT_SUBDIR_LEN)
            }
            Some(Driver::Redis(_)) | None => Ok(super::DEFAULT_SUBDIR_LEN),
        }
    }

    /// Where the `gnocchi-config` of the incoming driver is, for messages.
    pub fn gnocchi_sacks_place(&self) -> String {
        match self.incoming_driver() {
            Ok(Some(Driver::File(dir))) => dir.join("tmp/gnocchi-config").display().to_string(),
            Ok(Some(Driver::Redis(_))) => "the Redis hash gnocchi-config".to_owned(),
            Ok(Some(Driver::S3(settings))) => {
                format!(
                    "the object gnocchi-config of bucket {}",
                    settings.incoming_bucket()
                )
            }
            _ => "the incoming driver's gnocchi-config".to_owned(),
        }
    }

    /// Checks every URL names a backend carbonara supports.
    pub fn check(&self) -> Result<()> {
        if let Some(index) = &self.index {
            let url = database_url("index", index)?;
            if url.without_driver().scheme() != "postgresql" {
                return Err(Error::BadBackend {
                    what: "index",
                    url: url.to_string(),
                    reason: "carbonara supports postgresql:// indexers".to_owned(),
                });
            }
        }
        for driver in [self.storage_driver()?, self.incoming_driver()?]
            .into_iter()
            .flatten()
        {
            if let Driver::Redis(url) = driver {
                super::redis::Pool::new("redis_url", &url)?;
            }
        }
        self.coordination()?;
        Ok(())
    }
}

/// A database URL, or an error that does not show it (it may hold a
/// password where a URL would not).
fn database_url(what: &'static str, text: &str) -> Result<DatabaseUrl> {
    DatabaseUrl::parse(text).map_err(|e| Error::BadBackend {
        what,
        url: "(hidden)".to_owned(),
        reason: e.0.to_owned(),
    })
}

/// A storage or incoming driver, as a backend URL names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driver {
    /// Gnocchi's file driver: `file:///DIR`.
    File(PathBuf),
    /// Gnocchi's Redis driver: its `redis_url`, `redis://…`.
    Redis(String),
    /// Gnocchi's S3 driver: `s3://<bucket prefix>?endpoint=…&region=…`.
    S3(S3Settings),
}

impl Driver {
    /// The driver of a backend URL (`what`: `storage` or `incoming`).
    pub fn parse(what: &'static str, url: &str) -> Result<Driver> {
        if url.starts_with("redis://") {
            return Ok(Driver::Redis(url.to_owned()));
        }
        if url.starts_with("s3://") {
            return S3Settings::from_url(url).map(Driver::S3);
        }
        match url.strip_prefix("file://") {
            Some(path) if path.starts_with('/') => Ok(Driver::File(PathBuf::from(path))),
            _ => Err(Error::BadBackend {
                what,
                url: without_secrets(url),
                reason:
                    "carbonara supports Gnocchi's file driver (file:///DIR, an absolute path), \
                         its Redis driver (redis://HOST:PORT?db=N) and its S3 driver \
                         (s3://PREFIX?endpoint=URL&region=NAME) here"
                        .to_owned(),
            }),
        }
    }
}

/// A URL as messages may show it: no user information, no query (either
/// may hold a secret).
fn without_secrets(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => url.to_owned(),
    }
}

/// Reads one integer setting from a Gnocchi driver's JSON settings file;
/// `None` when the file does not exist.
fn read_setting(path: &Path, key: &str) -> Result<Option<u64>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(path)(e)),
    };
    let bad = |reason: String| Error::BadConfig {
        path: path.to_owned(),
        reason,
    };
    let document: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    document
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .map(Some)
        .ok_or_else(|| bad(format!("no integer `{key}`")))
}

/// Writes a Gnocchi driver's JSON settings file as Gnocchi does
/// (`json.dump`), through a rename.
fn write_setting(dir: &Path, file: &str, key: &str, value: u64) -> Result<()> {
    let tmp = dir.join("tmp");
    fs::create_dir_all(&tmp).map_err(io_error(&tmp))?;
    let path = tmp.join(file);
    let staged = tmp.join(format!("{file}.carbonara-new"));
    fs::write(&staged, format!("{{\"{key}\": {value}}}")).map_err(io_error(&staged))?;
    fs::rename(&staged, &path).map_err(io_error(&path))
}

/// The sack count of Gnocchi's file incoming driver in `dir`, if set.
pub fn gnocchi_sacks(dir: &Path) -> Result<Option<u32>> {
    let path = dir.join("tmp").join(INCOMING_CONFIG);
    read_setting(&path, "sacks")?
        .map(|sacks| {
            u32::try_from(sacks).map_err(|_| Error::BadConfig {
                path: path.clone(),
                reason: format!("{sacks} sacks"),
            })
        })
        .transpose()
}

/// Sets the sack count of Gnocchi's file incoming driver in `dir`.
pub fn set_gnocchi_sacks(dir: &Path, sacks: u32) -> Result<()> {
    write_setting(dir, INCOMING_CONFIG, "sacks", u64::from(sacks))
}

/// The subdirectory-name length of Gnocchi's file storage in `dir`, if set.
pub fn gnocchi_subdir_len(dir: &Path) -> Result<Option<usize>> {
    let path = dir.join("tmp").join(STORAGE_CONFIG);
    Ok(read_setting(&path, "subdir_len")?.map(|len| len as usize))
}

/// Sets the subdirectory-name length of Gnocchi's file storage in `dir`.
pub fn set_gnocchi_subdir_len(dir: &Path, subdir_len: usize) -> Result<()> {
    write_setting(dir, STORAGE_CONFIG, "subdir_len", subdir_len as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coordinator_defaults_to_the_indexer() {
        let backends = Backends {
            index: Some("postgresql+psycopg2://g:pw@db/gnocchi".to_owned()),
            ..Backends::default()
        };
        match backends.coordination().unwrap() {
            Some(Coordination::Postgres(url)) => {
                assert_eq!(url.as_str(), "postgresql://g:pw@db/gnocchi");
            }
            other => panic!("{other:?}"),
        }
        assert!(Backends::default().coordination().unwrap().is_none());
        let redis = Backends {
            coordination_url: Some("redis://:pw@cache:6379".to_owned()),
            ..backends.clone()
        };
        assert!(matches!(
            redis.coordination().unwrap(),
            Some(Coordination::Redis(_))
        ));
        let memcached = Backends {
            coordination_url: Some("memcached://u:pw@cache:11211".to_owned()),
            ..backends
        };
        let error = memcached.coordination().unwrap_err().to_string();
        assert_eq!(
            error,
            "coordination_url memcached://u:***@cache:11211: carbonara takes sack locks through \
             tooz's postgresql:// or redis:// drivers, or its own files"
        );
    }

    #[test]
    fn urls_name_drivers_and_only_file_urls_directories() {
        let backends = Backends {
            storage: Some("file:///var/lib/gnocchi".to_owned()),
            incoming: Some("s3://prefix?endpoint=http://s3:3900".to_owned()),
            ..Backends::default()
        };
        assert_eq!(
            backends.storage_dir().unwrap(),
            Some(PathBuf::from("/var/lib/gnocchi"))
        );
        assert_eq!(backends.incoming_dir().unwrap(), None);
        match backends.incoming_driver().unwrap() {
            Some(Driver::S3(settings)) => assert_eq!(settings.bucket_prefix, "prefix"),
            other => panic!("{other:?}"),
        }
        let swift = Backends {
            incoming: Some("swift://container".to_owned()),
            ..backends.clone()
        };
        let error = swift.check().unwrap_err().to_string();
        assert!(error.starts_with("incoming swift://container:"), "{error}");
        let secret = Backends {
            incoming: Some("ftp://user:hunter2@host/x?key=hunter2".to_owned()),
            ..backends.clone()
        };
        let error = secret.check().unwrap_err().to_string();
        assert!(error.starts_with("incoming ftp://host/x:"), "{error}");
        let relative = Backends {
            storage: Some("file://var/lib".to_owned()),
            ..backends
        };
        let error = relative.check().unwrap_err().to_string();
        assert!(error.contains("an absolute path"), "{error}");
    }

    #[test]
    fn gnocchi_settings_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(gnocchi_sacks(dir.path()).unwrap(), None);
        set_gnocchi_sacks(dir.path(), 128).unwrap();
        set_gnocchi_subdir_len(dir.path(), 2).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("tmp/gnocchi-config")).unwrap(),
            "{\"sacks\": 128}"
        );
        assert_eq!(gnocchi_sacks(dir.path()).unwrap(), Some(128));
        assert_eq!(gnocchi_subdir_len(dir.path()).unwrap(), Some(2));
    }
}
