//! Resource types: creation and Gnocchi's JSON-patch updates (add and
//! remove operations planned against the current type, then applied).

use crate::error::Result;
use crate::resource::{Attribute, PatchOp, ResourceType};
use crate::store::Index;
use crate::time::Timestamp;

pub fn create(index: &Index, name: &str, attributes: Vec<Attribute>) -> Result<ResourceType> {
    let resource_type = ResourceType::new(name, attributes)?;
    index.create_resource_type(&resource_type)?;
    Ok(resource_type)
}

/// Applies the operations in order, as `PATCH /v1/resource_type/NAME`
/// does; a patch that changes nothing returns the type untouched.
pub fn update(index: &Index, name: &str, ops: &[PatchOp], now: Timestamp) -> Result<ResourceType> {
    let current = index.get_resource_type(name)?;
    let update = current.plan_update(ops, now)?;
    if update.is_empty() {
        return Ok(current);
    }
    Ok(index.update_resource_type(name, &update)?)
}
