//! metricd's resource side effect: a resource whose metric receives a
//! measure at or after the resource's `ended_at` is active again, and its
//! `ended_at` is cleared with a new revision (Gnocchi's
//! `StorageDriver.execute_metadata_updates_if_needed`).

use std::collections::HashMap;

use uuid::Uuid;

use crate::filter::{CompareOp, Filter, Value};
use crate::store::index::{Page, ResourceChanges, ResourceQuery};
use crate::store::{self, Index};
use crate::time::Timestamp;

/// Clears `ended_at` on every resource in `newest` (resource, newest
/// measure timestamp its metrics received in this pass) that ended at or
/// before that measure. One query finds the ended resources; each one
/// reopened is one update, as Gnocchi's `update_resource(ended_at=None)`.
/// Returns the resources reopened.
pub fn reopen_resources(
    index: &Index,
    newest: &[(Uuid, Timestamp)],
    now: Timestamp,
) -> store::Result<Vec<Uuid>> {
    let mut latest: HashMap<Uuid, Timestamp> = HashMap::new();
    for &(resource, timestamp) in newest {
        let entry = latest.entry(resource).or_insert(timestamp);
        *entry = (*entry).max(timestamp);
    }
    if latest.is_empty() {
        return Ok(Vec::new());
    }
    let filter = Filter::And(vec![
        Filter::In {
            attribute: "id".to_owned(),
            values: latest.keys().map(|id| Value::Str(id.to_string())).collect(),
        },
        Filter::Compare {
            op: CompareOp::Ne,
            attribute: "ended_at".to_owned(),
            value: Value::Null,
        },
    ]);
    let ended = index.search_resources(&ResourceQuery {
        type_name: "generic",
        filter: Some(&filter),
        history: false,
        details: false,
        page: &Page::default(),
        now,
    })?;
    let reopen = ResourceChanges {
        ended_at: Some(None),
        ..ResourceChanges::default()
    };
    let mut reopened = Vec::new();
    for resource in ended {
        let (Some(ended_at), Some(&newest)) = (resource.ended_at, latest.get(&resource.id)) else {
            continue;
        };
        if ended_at > newest {
            continue;
        }
        match index.update_resource("generic", resource.id, &reopen, now) {
            Ok(_) => reopened.push(resource.id),
            // Deleted since it was read: nothing to reopen.
            Err(store::Error::ResourceNotFound(_)) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(reopened)
}
