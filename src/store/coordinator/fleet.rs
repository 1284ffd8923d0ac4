//! The aggregation workers of a store or deployment: how a long-running
//! worker (`carbonara metricd`) takes its place among them and learns its
//! share of the sacks, and how `status` lists them.
//!
//! * With a `redis://` coordinator, the workers are the members of
//!   gnocchi-metricd's group (`membership`), carbonara's and Gnocchi's
//!   alike, and each processes the sacks tooz's ring gives it
//!   (`partition`), recomputed before every pass.
//! * Otherwise (tooz's PostgreSQL driver keeps no groups, nor do flock
//!   locks) every worker tries every sack and the sack locks decide, as
//!   gnocchi-metricd's workers "battle" for them. A worker then registers
//!   in the store's lock directory: a file named by its member id, flocked
//!   while it lives, so the kernel ends the registration of a killed
//!   worker. Those are the workers of one host (or of the hosts sharing a
//!   directory store).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use super::super::incoming::SackName;
use super::super::lock::try_lock_exclusive;
use super::super::{Result, Store, io_error};
use super::Coordination;
use super::membership::{Membership, group_members};
use super::partition::sacks_to_process;

/// One worker of a fleet, as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// Its member id (gnocchi-metricd's form `<host>.<worker>.<uuid>`).
    pub id: String,
    /// The sacks it processes; `None`: every sack, shared through the locks.
    pub sacks: Option<Vec<SackName>>,
}

/// A worker's place in its fleet, left when dropped.
#[derive(Debug)]
pub struct Fleet {
    place: Place,
    total_sacks: u32,
    processing_replicas: u32,
}

#[derive(Debug)]
enum Place {
    /// A member of `gnocchi-processing`.
    Group(Box<Membership>),
    /// A registration file, flocked while the worker lives.
    Registered {
        path: PathBuf,
        member_id: String,
        _lock: File,
    },
}

impl Fleet {
    /// Joins the store's fleet as `member_id`, each sack shared by
    /// `processing_replicas` workers where a ring shares them.
    pub fn join(store: &Store, member_id: &str, processing_replicas: u32) -> Result<Fleet> {
        let place = match store.config().backends.coordination()? {
            Some(Coordination::Redis(settings)) => {
                Place::Group(Box::new(Membership::join(&settings, member_id)?))
            }
            _ => {
                let dir = registry_dir(store);
                std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
                let path = dir.join(member_id);
                let lock = try_lock_exclusive(&path)?.ok_or_else(|| super::super::Error::Io {
                    path: path.clone(),
                    source: std::io::Error::other("another worker runs with this member id"),
                })?;
                Place::Registered {
                    path,
                    member_id: member_id.to_owned(),
                    _lock: lock,
                }
            }
        };
        Ok(Fleet {
            place,
            total_sacks: store.config().sacks,
            processing_replicas,
        })
    }

    pub fn member_id(&self) -> &str {
        match &self.place {
            Place::Group(membership) => membership.member_id(),
            Place::Registered { member_id, .. } => member_id,
        }
    }

    /// The sacks this worker processes now; `None`: every sack.
    pub fn share(&mut self) -> Result<Option<BTreeSet<u32>>> {
        match &mut self.place {
            Place::Group(membership) => Ok(Some(
                membership
                    .sacks_of_self(self.total_sacks, self.processing_replicas)?
                    .into_iter()
                    .map(|sack| sack.number)
                    .collect(),
            )),
            Place::Registered { .. } => Ok(None),
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        if let Place::Registered { path, .. } = &self.place {
            // Left behind, it is removed by the next listing.
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The store's live workers, sorted by id, each with its sacks under
/// `processing_replicas` (`[metricd]`'s, 3 by default).
pub fn workers(store: &Store, processing_replicas: u32) -> Result<Vec<Worker>> {
    match store.config().backends.coordination()? {
        Some(Coordination::Redis(settings)) => {
            let members = group_members(&settings)?;
            let total = store.config().sacks;
            Ok(members
                .iter()
                .map(|member| Worker {
                    id: member.clone(),
                    sacks: Some(sacks_to_process(
                        &members,
                        member,
                        total,
                        processing_replicas,
                    )),
                })
                .collect())
        }
        _ => registered(&registry_dir(store)),
    }
}

fn registry_dir(store: &Store) -> PathBuf {
    store.locks_dir().join("workers")
}

/// The registered workers that still live; the files of dead ones are
/// removed.
fn registered(dir: &Path) -> Result<Vec<Worker>> {
    let entries = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        listed => listed.map_err(io_error(dir))?,
    };
    let mut workers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error(dir))?;
        let path = entry.path();
        if try_lock_exclusive(&path)?.is_some() {
            // Nobody holds it: its worker is gone (or leaving).
            let _ = std::fs::remove_file(&path);
            continue;
        }
        workers.push(Worker {
            id: entry.file_name().to_string_lossy().into_owned(),
            sacks: None,
        });
    }
    workers.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    Ok(workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_lives_as_long_as_its_worker() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 8).unwrap();
        let first = Fleet::join(&store, "host.0.a", 3).unwrap();
        assert!(
            Fleet::join(&store, "host.0.a", 3).is_err(),
            "a member id is taken once"
        );
        let second = Fleet::join(&store, "host.1.b", 3).unwrap();
        let ids = |store: &Store| -> Vec<String> {
            workers(store, 3)
                .unwrap()
                .into_iter()
                .map(|w| w.id)
                .collect()
        };
        assert_eq!(ids(&store), ["host.0.a", "host.1.b"]);
        drop(first);
        assert_eq!(ids(&store), ["host.1.b"]);
        // A worker killed leaves its file, unlocked: the listing drops it.
        let stale = registry_dir(&store).join("host.2.dead");
        std::fs::write(&stale, b"").unwrap();
        assert_eq!(ids(&store), ["host.1.b"]);
        assert!(!stale.exists());
        drop(second);
        assert!(ids(&store).is_empty());
    }
}
