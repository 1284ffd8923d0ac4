//! The objects a metric's archive is made of, named apart from where they
//! are kept: the bound series (`none_v3`) and one split per (method,
//! granularity, key). Each storage driver turns them into its own names:
//! file paths (archive.rs), S3 object keys (`<metric>/<method>_<granularity>_<key>_v3`)
//! or Redis hash fields (`<key>_<method>_<granularity>_v3`)
//! (docs/format/carbonara-v3.md#the-directory-layout, docs/deployments.md#s3-drivers
//! and #redis-drivers).

use uuid::Uuid;

use crate::carbonara::SplitKey;
use crate::policy::AggregationMethod;

/// One stored object of a metric's archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArchiveObject {
    /// The bound series of raw points: Gnocchi's `none_v3`.
    Bound(Uuid),
    /// One split of one aggregation method.
    Split {
        metric: Uuid,
        method: AggregationMethod,
        key: SplitKey,
    },
}

impl ArchiveObject {
    pub fn metric(&self) -> Uuid {
        match *self {
            ArchiveObject::Bound(metric) | ArchiveObject::Split { metric, .. } => metric,
        }
    }
}

/// An object as a driver names it, with what that name says it is
/// (`None`: a name Gnocchi's driver never writes) and its bytes.
pub type NamedObject = (String, Option<ArchiveObject>, Vec<u8>);
