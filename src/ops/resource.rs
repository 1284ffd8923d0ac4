//! Resources: creation with the type's required attributes, lookups by
//! type, history, searches and batch deletion with Gnocchi's refusal of an
//! empty filter. Ids arrive mapped to UUIDs (`resource::resource_uuid`,
//! with the caller's creator).

use uuid::Uuid;

use super::Error;
use crate::error::Result;
use crate::filter::{CompareOp, Filter, Value};
use crate::resource::{Resource, ResourceType};
use crate::store::{self, Index, NewResource, Page, ResourceQuery};
use crate::time::Timestamp;

/// Creates a resource of `resource_type` (its `type_name` must name
/// it), checking that every required attribute is given.
pub fn create(
    index: &Index,
    resource_type: &ResourceType,
    new: &NewResource,
    now: Timestamp,
) -> Result<Resource> {
    // The index checks it too; this says it with the field's path.
    if let Some(missing) = resource_type.missing_required(&new.attributes) {
        return Err(Error::invalid("required key not provided", &[&missing.name]).into());
    }
    Ok(index.create_resource(new, now)?)
}

/// The current revision of a resource of `type_name` (any type through
/// `generic`); `Resource <id> does not exist` otherwise.
pub fn get(index: &Index, type_name: &str, id: Uuid) -> Result<Resource> {
    index.get_resource_type(type_name)?;
    Ok(index
        .get_resource(type_name, id)?
        .ok_or_else(|| store::Error::ResourceNotFound(id.to_string()))?)
}

/// A listing or search of resources.
#[derive(Debug, Clone, Default)]
pub struct ResourceSearch {
    pub type_name: String,
    pub filter: Option<Filter>,
    /// Every revision, not only the current one.
    pub history: bool,
    /// A `generic` listing with each resource's own attributes.
    pub details: bool,
    pub page: Page,
}

pub fn search(index: &Index, search: &ResourceSearch, now: Timestamp) -> Result<Vec<Resource>> {
    let query = ResourceQuery {
        type_name: &search.type_name,
        filter: search.filter.as_ref(),
        history: search.history,
        details: search.details,
        page: &search.page,
        now,
    };
    Ok(index.search_resources(&query)?)
}

/// The revisions of one resource (`GET /v1/resource/TYPE/ID/history`).
pub fn history(
    index: &Index,
    type_name: &str,
    id: Uuid,
    details: bool,
    page: Page,
    now: Timestamp,
) -> Result<Vec<Resource>> {
    get(index, type_name, id)?;
    let search = ResourceSearch {
        type_name: type_name.to_owned(),
        filter: Some(id_filter(id)),
        history: true,
        details,
        page,
    };
    self::search(index, &search, now)
}

/// Deletes the resources of a type matching a filter, which must be
/// given; returns how many.
pub fn batch_delete(
    index: &Index,
    type_name: &str,
    filter: Option<&Filter>,
    now: Timestamp,
) -> Result<usize> {
    index.get_resource_type(type_name)?;
    let filter = filter.ok_or(Error::EmptyDeleteFilter)?;
    Ok(index.delete_resources(type_name, filter, now)?)
}

/// `{"=": {"id": ID}}`.
pub fn id_filter(id: Uuid) -> Filter {
    Filter::Compare {
        op: CompareOp::Eq,
        attribute: "id".to_owned(),
        value: Value::Str(id.to_string()),
    }
}
