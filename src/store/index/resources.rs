//! What both index backends do alike with resources: Gnocchi's rules (the
//! dates of a new resource, which changes of an update make a new
//! revision, how a resource's metrics are attached or created) and the
//! statements over a type's own tables, written through the listing
//! builder's `Dialect`. A backend gives its own SQL through `ResourceSql`.

use uuid::Uuid;

use crate::resource::attribute::truncate_to_micros;
use crate::resource::{AttributeValue, GENERIC, Resource, ResourceError, ResourceType};
use crate::store::index::listing::{Dialect, SqlParam, quote_identifier};
use crate::store::index::{
    Metric, MetricRef, MetricStatus, Metrics, NewResource, Policies, ResourceChanges, Resources,
};
use crate::store::{Error, Result};
use crate::time::Timestamp;

/// A new resource's `started_at` (now when not given) and `ended_at`, to
/// the microsecond; the end must not precede the start.
pub(super) fn new_resource_dates(
    new: &NewResource,
    now: Timestamp,
) -> Result<(Timestamp, Option<Timestamp>)> {
    let started_at = truncate_to_micros(new.started_at.unwrap_or(now));
    let ended_at = new.ended_at.map(truncate_to_micros);
    if ended_at.is_some_and(|ended| started_at > ended) {
        return Err(Error::Resource(ResourceError::StartAfterEnd));
    }
    Ok((started_at, ended_at))
}

/// Refuses to change the attributes of `generic`, which has none.
pub(super) fn check_changeable(type_name: &str) -> Result<()> {
    if type_name == GENERIC {
        return Err(Error::Resource(ResourceError::InvalidInput(
            "the generic resource type has no attributes to change".to_owned(),
        )));
    }
    Ok(())
}

/// A resource's base fields once an update is applied to its current
/// revision.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Revised {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Whether a given field (an attribute too) differs from the stored
    /// one, which makes a new revision; metric changes never do.
    pub new_revision: bool,
}

/// `changes` applied to `current` (dates to the microsecond), as Gnocchi's
/// `update_resource` works them out once the row is locked.
pub(super) fn revise(
    type_name: &str,
    current: &Resource,
    changes: &ResourceChanges,
) -> Result<Revised> {
    let current_attributes = current.attributes.as_deref().unwrap_or_default();
    let attribute_changed = changes.attributes.iter().any(|(name, value)| {
        current_attributes
            .iter()
            .find(|(n, _)| n == name)
            .is_none_or(|(_, stored)| stored != value)
    });
    let started_at = changes
        .started_at
        .map_or(current.started_at, truncate_to_micros);
    let ended_at = changes
        .ended_at
        .map_or(current.ended_at, |e| e.map(truncate_to_micros));
    let user_id = changes.user_id.clone().unwrap_or(current.user_id.clone());
    let project_id = changes
        .project_id
        .clone()
        .unwrap_or(current.project_id.clone());
    if ended_at.is_some_and(|ended| started_at > ended) {
        return Err(ended_at_error(type_name, ended_at));
    }
    let new_revision = user_id != current.user_id
        || project_id != current.project_id
        || started_at != current.started_at
        || ended_at != current.ended_at
        || attribute_changed;
    Ok(Revised {
        user_id,
        project_id,
        started_at,
        ended_at,
        new_revision,
    })
}

/// Gnocchi's error when `ended_at` would precede `started_at` on an update.
fn ended_at_error(resource_type: &str, ended_at: Option<Timestamp>) -> Error {
    let value = ended_at.map_or("None".to_owned(), |t| {
        t.to_isoformat().replacen('T', " ", 1)
    });
    Error::ResourceValue {
        value,
        attribute: "ended_at".to_owned(),
        resource_type: resource_type.to_owned(),
    }
}

/// What a backend gives the shared resource logic, and what it gets for
/// it (the provided methods).
pub(super) trait ResourceSql: Metrics + Policies + Resources {
    /// The listing builder's dialect over this backend's connection.
    fn dialect(&self) -> Box<dyn Dialect + '_>;

    /// An attribute's column in its type's tables, quoted.
    fn attribute_column(name: &str) -> String;

    /// A type resources may use now, and its table name.
    fn usable_type(&self, name: &str) -> Result<(ResourceType, String)>;

    /// Moves an active metric of `creator` to a resource under `name`: how
    /// many rows that changed.
    fn move_metric(&self, id: Uuid, resource: Uuid, name: &str, creator: &str) -> Result<u64>;

    /// Attaches existing metrics (of the same creator) to a resource or
    /// creates new ones on it, as Gnocchi's `_set_metrics_for_resource`.
    fn attach_metrics(
        &self,
        resource_id: Uuid,
        creator: &str,
        metrics: &[(String, MetricRef)],
    ) -> Result<()> {
        for (name, reference) in metrics {
            if name.contains('/') {
                return Err(Error::InvalidMetricName(name.clone()));
            }
            match reference {
                MetricRef::Existing(metric_id) => {
                    if let Some(other) = self.resource_metric(resource_id, name)?
                        && other.id != *metric_id
                    {
                        return Err(Error::NamedMetricExists(name.clone()));
                    }
                    if self.move_metric(*metric_id, resource_id, name, creator)? == 0 {
                        return Err(Error::MetricNotFound(metric_id.to_string()));
                    }
                }
                MetricRef::Create {
                    archive_policy_name,
                    unit,
                } => {
                    let archive_policy_name = match archive_policy_name {
                        Some(policy) => policy.clone(),
                        None => self.archive_policy_for(Some(name))?,
                    };
                    self.create_metric(&Metric {
                        id: Uuid::new_v4(),
                        name: Some(name.clone()),
                        unit: unit.clone(),
                        archive_policy_name,
                        creator: creator.to_owned(),
                        resource_id: Some(resource_id),
                        status: MetricStatus::Active,
                    })?;
                }
            }
        }
        Ok(())
    }

    /// The current revision of a resource that must be there.
    fn stored_resource(&self, type_name: &str, id: Uuid) -> Result<Resource> {
        self.get_resource(type_name, id)?
            .ok_or_else(|| Error::ResourceNotFound(id.to_string()))
    }

    /// Writes a new resource's row in its type's table (none for
    /// `generic`).
    fn insert_attributes(
        &self,
        resource_type: &ResourceType,
        tablename: &str,
        new: &NewResource,
    ) -> Result<()> {
        if resource_type.name == GENERIC {
            return Ok(());
        }
        let mut columns = vec!["id".to_owned()];
        let mut values = vec![SqlParam::Uuid(new.id)];
        for attribute in &resource_type.attributes {
            columns.push(Self::attribute_column(&attribute.name));
            values.push(
                new.attributes
                    .iter()
                    .find(|(n, _)| *n == attribute.name)
                    .map_or(SqlParam::Null, |(_, v)| SqlParam::from(v)),
            );
        }
        let dialect = self.dialect();
        let placeholders: Vec<String> =
            (1..=values.len()).map(|n| dialect.placeholder(n)).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_identifier(tablename),
            columns.join(", "),
            placeholders.join(", ")
        );
        dialect.execute(&sql, &values)?;
        Ok(())
    }

    /// Copies the attributes of a resource's current revision into its
    /// type's history table, as past revision `revision` (nothing for
    /// `generic`).
    fn keep_attributes(
        &self,
        resource_type: &ResourceType,
        tablename: &str,
        id: Uuid,
        revision: i64,
    ) -> Result<()> {
        if resource_type.name == GENERIC {
            return Ok(());
        }
        let list: String = resource_type
            .attributes
            .iter()
            .map(|a| format!(", {}", Self::attribute_column(&a.name)))
            .collect();
        let dialect = self.dialect();
        let sql = format!(
            "INSERT INTO {} (revision{list}) SELECT CAST({} AS integer){list} FROM {} WHERE id = {}",
            quote_identifier(&format!("{tablename}_history")),
            dialect.placeholder(1),
            quote_identifier(tablename),
            dialect.placeholder(2)
        );
        dialect.execute(&sql, &[SqlParam::Integer(revision), SqlParam::Uuid(id)])?;
        Ok(())
    }

    /// Sets attributes of a resource's current revision in its type's
    /// table.
    fn set_attributes(
        &self,
        tablename: &str,
        id: Uuid,
        attributes: &[(String, AttributeValue)],
    ) -> Result<()> {
        if attributes.is_empty() {
            return Ok(());
        }
        let dialect = self.dialect();
        let mut values = vec![SqlParam::Uuid(id)];
        let mut assignments = Vec::new();
        for (name, value) in attributes {
            values.push(SqlParam::from(value));
            assignments.push(format!(
                "{} = {}",
                Self::attribute_column(name),
                dialect.placeholder(values.len())
            ));
        }
        let sql = format!(
            "UPDATE {} SET {} WHERE id = {}",
            quote_identifier(tablename),
            assignments.join(", "),
            dialect.placeholder(1)
        );
        dialect.execute(&sql, &values)?;
        Ok(())
    }

    /// A resource's attributes from its own type's tables (a detailed
    /// `generic` listing); `None` if its type is not usable now.
    fn own_attributes(&self, resource: &Resource) -> Result<Option<Vec<(String, AttributeValue)>>> {
        let Ok((resource_type, tablename)) = self.usable_type(&resource.type_name) else {
            return Ok(None);
        };
        if resource_type.attributes.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let columns: Vec<String> = resource_type
            .attributes
            .iter()
            .map(|a| Self::attribute_column(&a.name))
            .collect();
        let (table, key, value) = if resource.revision == Resource::CURRENT_REVISION {
            (tablename, "id", SqlParam::Uuid(resource.id))
        } else {
            (
                format!("{tablename}_history"),
                "revision",
                SqlParam::Integer(resource.revision),
            )
        };
        let dialect = self.dialect();
        let sql = format!(
            "SELECT {} FROM {} WHERE {key} = {}",
            columns.join(", "),
            quote_identifier(&table),
            dialect.placeholder(1)
        );
        dialect
            .query_row(&sql, &[value])?
            .map(|values| attribute_values(&resource_type, values))
            .transpose()
    }
}

/// A type's attribute values as read from its columns, in its order.
pub(super) fn attribute_values(
    resource_type: &ResourceType,
    values: Vec<SqlParam>,
) -> Result<Vec<(String, AttributeValue)>> {
    resource_type
        .attributes
        .iter()
        .zip(values)
        .map(|(attribute, value)| {
            Ok((
                attribute.name.clone(),
                value.attribute_value(&attribute.kind)?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::AttributeKind;

    fn current() -> Resource {
        Resource {
            id: Uuid::nil(),
            type_name: "server".to_owned(),
            original_resource_id: "s1".to_owned(),
            creator: "admin".to_owned(),
            user_id: Some("u".to_owned()),
            project_id: None,
            started_at: Timestamp::from_nanos(1_000_000_000),
            ended_at: None,
            revision: Resource::CURRENT_REVISION,
            revision_start: Timestamp::from_nanos(1_000_000_000),
            revision_end: None,
            attributes: Some(vec![(
                "host".to_owned(),
                AttributeValue::String("a".into()),
            )]),
            metrics: Vec::new(),
        }
    }

    #[test]
    fn only_a_changed_field_makes_a_revision() {
        let same = ResourceChanges {
            user_id: Some(Some("u".to_owned())),
            started_at: Some(Timestamp::from_nanos(1_000_000_400)),
            attributes: vec![("host".to_owned(), AttributeValue::String("a".into()))],
            metrics: Some(Vec::new()),
            ..ResourceChanges::default()
        };
        let revised = revise("server", &current(), &same).unwrap();
        assert!(!revised.new_revision);
        assert_eq!(revised.started_at, current().started_at);
        for changes in [
            ResourceChanges {
                project_id: Some(Some("p".to_owned())),
                ..ResourceChanges::default()
            },
            ResourceChanges {
                attributes: vec![("host".to_owned(), AttributeValue::String("b".into()))],
                ..ResourceChanges::default()
            },
            ResourceChanges {
                ended_at: Some(Some(Timestamp::from_nanos(2_000_000_000))),
                ..ResourceChanges::default()
            },
        ] {
            assert!(revise("server", &current(), &changes).unwrap().new_revision);
        }
        let backwards = ResourceChanges {
            ended_at: Some(Some(Timestamp::EPOCH)),
            ..ResourceChanges::default()
        };
        assert!(matches!(
            revise("server", &current(), &backwards),
            Err(Error::ResourceValue { .. })
        ));
    }

    #[test]
    fn attribute_values_are_read_in_either_backends_form() {
        let id = Uuid::from_u128(7);
        let read = |kind: &AttributeKind, value: SqlParam| value.attribute_value(kind).unwrap();
        assert_eq!(
            read(&AttributeKind::Uuid, SqlParam::Text(id.to_string())),
            read(&AttributeKind::Uuid, SqlParam::Uuid(id))
        );
        assert_eq!(
            read(&AttributeKind::Bool, SqlParam::Integer(1)),
            AttributeValue::Bool(true)
        );
        assert_eq!(
            read(&AttributeKind::Datetime, SqlParam::Integer(1_500)),
            read(
                &AttributeKind::Datetime,
                SqlParam::Timestamp(Timestamp::from_nanos(1_500_000))
            )
        );
        assert!(
            SqlParam::Text("x".into())
                .attribute_value(&AttributeKind::Bool)
                .is_err()
        );
    }
}
