//! Sack locks shared with Gnocchi's own workers through tooz, its
//! coordination library (docs/deployments.md#sack-locks): the lock names
//! Gnocchi gives (`gnocchi/chef.py: Chef.get_sack_lock`), and the tooz
//! driver a coordination URL names: `postgres` (advisory locks) or `redis`
//! (keys with a TTL). The directory store's flock locks are `store::lock`.
//! Through Redis, also gnocchi-metricd's group (`membership`) and the
//! sacks its hash ring gives each member (`hashring`, `partition`); and
//! the workers of a store or deployment (`fleet`).

pub mod fleet;
pub mod hashring;
pub mod membership;
pub mod partition;
pub mod postgres;
pub mod redis;

use super::incoming::SackName;
use super::{Error, Result};
use crate::deployment::DatabaseUrl;

/// The tooz driver a deployment's sack locks go through.
#[derive(Debug, Clone)]
pub enum Coordination {
    /// `postgresql://`: tooz's PostgreSQL driver.
    Postgres(DatabaseUrl),
    /// `redis://`: tooz's Redis driver.
    Redis(Box<redis::Settings>),
}

impl Coordination {
    /// The driver of a coordination URL.
    pub fn new(url: DatabaseUrl) -> Result<Coordination> {
        match url.scheme() {
            "postgresql" | "postgres" => Ok(Coordination::Postgres(url)),
            "redis" => Ok(Coordination::Redis(Box::new(redis::Settings::new(&url)?))),
            _ => Err(Error::BadBackend {
                what: "coordination_url",
                url: url.to_string(),
                reason: "carbonara takes sack locks through tooz's postgresql:// or redis:// \
                         drivers, or its own files"
                    .to_owned(),
            }),
        }
    }
}

/// The sack locks one process holds through a coordinator, on one
/// connection.
#[derive(Debug)]
pub enum Session {
    Postgres(postgres::Session),
    Redis(redis::Session),
}

impl Session {
    /// A session that connects when it first locks.
    pub fn new(coordination: &Coordination) -> Result<Session> {
        Ok(match coordination {
            Coordination::Postgres(url) => {
                Session::Postgres(postgres::Session::new(postgres::Coordinator::new(url)?))
            }
            Coordination::Redis(settings) => {
                Session::Redis(redis::Session::new((**settings).clone()))
            }
        })
    }

    /// Takes a sack's lock if nobody else holds it.
    pub fn try_lock(&mut self, sack: SackName) -> Result<bool> {
        match self {
            Session::Postgres(session) => session.try_lock(sack),
            Session::Redis(session) => session.try_lock(sack),
        }
    }

    /// Releases a sack's lock this session holds.
    pub fn unlock(&mut self, sack: SackName) {
        match self {
            Session::Postgres(session) => session.unlock(sack),
            Session::Redis(session) => session.unlock(sack),
        }
    }
}

/// The subject of the janitor's lock on expired resources
/// (`Chef.clean_expired_resources`), named like a sack's.
pub const AUTO_CLEAN_EXPIRED_RESOURCES: &str = "auto_clean_expired_resources_lock";

/// The lock name Gnocchi gives a subject (`str(sack)` for a sack): the
/// SHA-1 hex of `gnocchi-sack-<subject>-lock`, since some tooz drivers
/// limit the length of names.
pub fn lock_name(subject: &str) -> String {
    sha1_smol::Sha1::from(format!("gnocchi-sack-{subject}-lock"))
        .digest()
        .to_string()
}

/// The lock name of a sack, `incoming<total>-<number>`.
pub fn sack_lock_name(sack: SackName) -> String {
    lock_name(&sack.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnocchis_lock_names() {
        let sack = |number| SackName { total: 128, number };
        // docs/deployments.md and the spec's example, made by Gnocchi.
        assert_eq!(
            sack_lock_name(sack(90)),
            "21c4a400d6e261fde40a83c3d974e8056c7b29b2"
        );
        assert_eq!(
            sack_lock_name(sack(17)),
            "a556556eec039f456736779e6430782facd8561f"
        );
        assert_eq!(
            sack_lock_name(sack(0)),
            "eb4fc1843adce517f86e8b4b079a886c1a13bf39"
        );
        assert_eq!(
            lock_name(AUTO_CLEAN_EXPIRED_RESOURCES),
            "2850a48bb2d9ea2cd93c17b4191ccabbcc05cc00"
        );
    }
}
