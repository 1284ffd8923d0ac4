//! Sack locks shared with Gnocchi's own workers through tooz, its
//! coordination library (docs/deployments.md#sack-locks): the lock names
//! Gnocchi gives (`gnocchi/chef.py: Chef.get_sack_lock`) and, in
//! `postgres`, tooz's PostgreSQL driver. The directory store's flock locks
//! are `store::lock`.

pub mod postgres;

use super::incoming::SackName;

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
