//! TEMPORARY, branch `pgmetrics` only: a `Resources` for `PostgresIndex`
//! that does nothing, so that it is an `Indexer` (and the behaviour suite
//! can run its policies and metrics) before branch `pglisting` brings the
//! real one. The lead deletes this file at the merge.

use uuid::Uuid;

use super::PostgresIndex;
use crate::filter::Filter;
use crate::resource::{Resource, ResourceType, TypeUpdate};
use crate::store::Result;
use crate::store::index::{NewResource, ResourceChanges, ResourceQuery, Resources};
use crate::time::Timestamp;

impl Resources for PostgresIndex {
    fn get_resource_type(&self, _name: &str) -> Result<ResourceType> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn list_resource_types(&self) -> Result<Vec<ResourceType>> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn create_resource_type(&self, _resource_type: &ResourceType) -> Result<()> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn update_resource_type(&self, _name: &str, _update: &TypeUpdate) -> Result<ResourceType> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn delete_resource_type(&self, _name: &str) -> Result<()> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn create_resource(&self, _new: &NewResource, _now: Timestamp) -> Result<Resource> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn get_resource(&self, _type_name: &str, _id: Uuid) -> Result<Option<Resource>> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn update_resource(
        &self,
        _type_name: &str,
        _id: Uuid,
        _changes: &ResourceChanges,
        _now: Timestamp,
    ) -> Result<Resource> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn delete_resource(&self, _id: Uuid) -> Result<()> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn delete_resources(
        &self,
        _type_name: &str,
        _filter: &Filter,
        _now: Timestamp,
    ) -> Result<usize> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn search_resources(&self, _query: &ResourceQuery<'_>) -> Result<Vec<Resource>> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }

    fn resource_metrics(&self, _id: Uuid) -> Result<Vec<(String, Uuid)>> {
        unimplemented!("PostgreSQL resources come with branch pglisting")
    }
}
