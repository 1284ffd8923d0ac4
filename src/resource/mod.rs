//! Resources and resource types as Gnocchi models them
//! (docs/gnocchi-semantics.md#resource-ids, and #resource-types and
//! #resources there): the objects, the mapping of resource ids to UUIDs,
//! and the rules of resource-type updates. Pure data and rules; the index
//! (store/index) keeps them and the command line drives them.

pub mod attribute;
pub mod resource_type;

use uuid::Uuid;

use crate::time::Timestamp;
pub use attribute::{Attribute, AttributeKind, AttributeValue, Real};
pub use resource_type::{AttributeSpec, PatchOp, ResourceType, TypeUpdate};

/// The type every resource also is; it has no attributes and always exists.
pub const GENERIC: &str = "generic";

/// Gnocchi's namespace for ids that are not UUIDs (`utils.RESOURCE_ID_NAMESPACE`).
const RESOURCE_ID_NAMESPACE: Uuid = uuid::uuid!("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b");
/// Longest id Gnocchi maps to a UUID.
const MAX_TRANSFORMABLE_ID: usize = 289;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResourceError {
    // Gnocchi's API words these three `Invalid input: …`.
    #[error("Invalid input: Resource attribute name {0} is invalid")]
    InvalidAttributeName(String),
    #[error(
        "Invalid input: Resource attribute value min (or min_length) {min} must be less  than or equal to max (or max_length) {max}!"
    )]
    MinAboveMax { min: String, max: String },
    #[error("Invalid input: Option '{option}' of resource attribute {name} is invalid: {reason}")]
    InvalidOption {
        name: String,
        option: String,
        reason: String,
    },
    #[error("Invalid input: {0}")]
    InvalidInput(String),
    #[error(
        "Type update is not available yet. Changing {from} to {to} for attribute {attribute} of resource {resource_type}"
    )]
    TypeChange {
        from: String,
        to: String,
        attribute: String,
        resource_type: String,
    },
    #[error("can't remove a non-existent object '{0}'")]
    RemoveMissing(String),
    #[error("'/' is not supported in resource id")]
    SlashInId,
    #[error("transformable resource id >289 max allowed characters")]
    IdTooLong,
    #[error("Start timestamp cannot be after end timestamp")]
    StartAfterEnd,
}

impl ResourceError {
    pub(crate) fn invalid_option(name: &str, option: &str, reason: String) -> ResourceError {
        ResourceError::InvalidOption {
            name: name.to_owned(),
            option: option.to_owned(),
            reason,
        }
    }
}

/// A resource, or one of its past revisions.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub id: Uuid,
    pub type_name: String,
    /// The id as the creator gave it.
    pub original_resource_id: String,
    pub creator: String,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// -1 for the current revision, else the history row's number.
    pub revision: i64,
    pub revision_start: Timestamp,
    pub revision_end: Option<Timestamp>,
    /// The type's attributes, in the type's order; `None` when not loaded
    /// (a `generic` listing without details).
    pub attributes: Option<Vec<(String, AttributeValue)>>,
    /// Active metrics by name.
    pub metrics: Vec<(String, Uuid)>,
}

impl Resource {
    pub const CURRENT_REVISION: i64 = -1;

    /// `creator` split at the first `:` (Gnocchi's `created_by_user_id`,
    /// `created_by_project_id`).
    pub fn created_by(&self) -> (&str, &str) {
        split_creator(&self.creator)
    }
}

pub fn split_creator(creator: &str) -> (&str, &str) {
    creator.split_once(':').unwrap_or((creator, ""))
}

/// Python's `uuid.UUID(text)`: `urn:`/`uuid:` prefixes and braces ignored,
/// hyphens anywhere, 32 hex digits.
pub fn parse_python_uuid(text: &str) -> Option<Uuid> {
    let hex = text.replace("urn:", "").replace("uuid:", "");
    let hex = hex.trim_matches(['{', '}']).replace('-', "");
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(&hex, 16).ok().map(Uuid::from_u128)
}

/// Gnocchi's `ResourceUUID`: a UUID is used as is; any other id becomes
/// `uuid5(namespace, id + "\0" + creator)`, so ids are per creator.
pub fn resource_uuid(id: &str, creator: &str) -> Result<Uuid, ResourceError> {
    check_resource_id(id)?;
    if let Some(uuid) = parse_python_uuid(id) {
        return Ok(uuid);
    }
    let name = format!("{id}\u{0}{creator}");
    Ok(Uuid::new_v5(&RESOURCE_ID_NAMESPACE, name.as_bytes()))
}

/// Whether `resource_uuid` takes `id`, whoever the creator: cheap enough
/// for every row of an import (no hashing, and the UUID parse only for ids
/// too long to transform).
pub fn check_resource_id(id: &str) -> Result<(), ResourceError> {
    if id.contains('/') {
        return Err(ResourceError::SlashInId);
    }
    // A byte count is never below the character count.
    if id.len() > MAX_TRANSFORMABLE_ID
        && id.chars().count() > MAX_TRANSFORMABLE_ID
        && parse_python_uuid(id).is_none()
    {
        return Err(ResourceError::IdTooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_like_gnocchi() {
        // docs/gnocchi-semantics.md#resource-ids
        let cases = [
            ("foobar", "foobar", "2fbfbb20-8d56-5e1e-afb9-b3007da11fdf"),
            ("1.2.3.4", "foobar", "a9c729cc-d1b0-5e6b-b5ba-8b5a7f45f1fc"),
            ("foobar", "admin", "b4d568e4-7af1-5aec-ac3f-9c09fa3685a9"),
            (
                "ABCDEF00-0000-0000-0000-000000000001",
                "x",
                "abcdef00-0000-0000-0000-000000000001",
            ),
        ];
        for (id, creator, expected) in cases {
            assert_eq!(resource_uuid(id, creator).unwrap().to_string(), expected);
        }
        assert_eq!(resource_uuid("a/b", "x"), Err(ResourceError::SlashInId));
        assert_eq!(
            resource_uuid(&"x".repeat(290), "x"),
            Err(ResourceError::IdTooLong)
        );
        assert!(resource_uuid(&"x".repeat(289), "x").is_ok());
    }

    #[test]
    fn the_cheap_check_agrees_with_the_mapping() {
        let padded_uuid = format!("{}12345678123456781234567812345678", "-".repeat(300));
        let long_multibyte = "é".repeat(200);
        let ids = [
            "",
            "..",
            "a/b",
            "x\0y",
            &"x".repeat(289),
            &"x".repeat(290),
            &padded_uuid,
            &long_multibyte,
            &"é".repeat(290),
        ];
        for id in ids {
            assert_eq!(
                check_resource_id(id),
                resource_uuid(id, "creator").map(|_| ()),
                "{id:?}"
            );
        }
    }

    #[test]
    fn python_uuid_forms() {
        let expected = Some(uuid::uuid!("12345678-1234-5678-1234-567812345678"));
        for text in [
            "12345678123456781234567812345678",
            "{12345678-1234-5678-1234-567812345678}",
            "urn:uuid:12345678-1234-5678-1234-567812345678",
            "1234-5678-1234-5678-1234-5678-1234-5678",
        ] {
            assert_eq!(parse_python_uuid(text), expected, "{text}");
        }
        assert_eq!(parse_python_uuid("1234567812345678123456781234567"), None);
    }
}
