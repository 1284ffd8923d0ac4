//! Resource types and Gnocchi's rules for changing them: gnocchiclient's
//! `NAME:TYPE[:REQUIRED][:OPTION=VALUE…]` attribute syntax, and the
//! JSON-patch semantics of `PATCH /v1/resource_type/NAME` (add and remove
//! operations applied in order, then compared with the current type).

use crate::pyform::json::Json;
use crate::time::Timestamp;

use super::attribute::{Attribute, AttributeKind, AttributeValue, Real, parse_bool};
use super::{GENERIC, ResourceError};

/// Longest resource-type name (Gnocchi's `String(255)` column).
const MAX_TYPE_NAME_LENGTH: usize = 255;

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub name: String,
    /// Gnocchi's state; creation and updates are synchronous here, so
    /// always `active` once stored.
    pub state: String,
    pub attributes: Vec<Attribute>,
}

impl ResourceType {
    pub fn new(name: &str, attributes: Vec<Attribute>) -> Result<ResourceType, ResourceError> {
        if name.is_empty() || name.chars().count() > MAX_TYPE_NAME_LENGTH {
            return Err(ResourceError::InvalidInput(format!(
                "length of value must be at least 1 and at most {MAX_TYPE_NAME_LENGTH} for dictionary value @ data['name']"
            )));
        }
        Ok(ResourceType {
            name: name.to_owned(),
            state: "active".to_owned(),
            attributes,
        })
    }

    pub fn generic() -> ResourceType {
        ResourceType {
            name: GENERIC.to_owned(),
            state: "active".to_owned(),
            attributes: Vec::new(),
        }
    }

    /// A required attribute missing from `given`: a resource of this type
    /// must be given every one.
    pub fn missing_required(&self, given: &[(String, AttributeValue)]) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|a| a.required && !given.iter().any(|(name, _)| *name == a.name))
    }

    /// `missing_required` as Gnocchi's error.
    pub fn check_required(&self, given: &[(String, AttributeValue)]) -> Result<(), ResourceError> {
        match self.missing_required(given) {
            Some(missing) => Err(ResourceError::InvalidInput(format!(
                "required key not provided @ data['{}']",
                missing.name
            ))),
            None => Ok(()),
        }
    }

    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// `{"name": …, "attributes": {…}, "state": "active"}`.
    pub fn to_json(&self) -> Json {
        Json::object([
            ("name", Json::str(&self.name)),
            ("attributes", self.attributes_json()),
            ("state", Json::str(&self.state)),
        ])
    }

    pub fn attributes_json(&self) -> Json {
        Json::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.clone(), a.to_json()))
                .collect(),
        )
    }

    /// Works out what a patch changes, as Gnocchi's `PATCH
    /// /v1/resource_type` does: apply the operations to the attribute map,
    /// then compare. Attributes whose definition changes move to the end,
    /// sorted by name, like Gnocchi's; new ones follow the kept ones.
    pub fn plan_update(
        &self,
        ops: &[PatchOp],
        now: Timestamp,
    ) -> Result<TypeUpdate, ResourceError> {
        enum Next<'a> {
            Kept(&'a Attribute),
            Given(&'a AttributeSpec),
        }
        let mut next: Vec<(&str, Next<'_>)> = self
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), Next::Kept(a)))
            .collect();
        for op in ops {
            match op {
                PatchOp::Add(spec) => match next.iter_mut().find(|(n, _)| *n == spec.name) {
                    Some(entry) => entry.1 = Next::Given(spec),
                    None => next.push((&spec.name, Next::Given(spec))),
                },
                PatchOp::Remove(name) => {
                    let position = next
                        .iter()
                        .position(|(n, _)| n == name)
                        .ok_or_else(|| ResourceError::RemoveMissing(name.clone()))?;
                    next.remove(position);
                }
            }
        }
        let mut update = TypeUpdate::default();
        for attribute in &self.attributes {
            if !next.iter().any(|(n, _)| *n == attribute.name) {
                update.remove.push(attribute.name.clone());
            }
        }
        let mut kept = Vec::new();
        for (name, entry) in next {
            let spec = match entry {
                Next::Kept(attribute) => {
                    kept.push(attribute.clone());
                    continue;
                }
                Next::Given(spec) => spec,
            };
            match self.attribute(name) {
                Some(current) => {
                    let given = spec.kind()?;
                    if given.type_name() != current.kind.type_name() {
                        return Err(ResourceError::TypeChange {
                            from: current.kind.type_name().to_owned(),
                            to: given.type_name().to_owned(),
                            attribute: name.to_owned(),
                            resource_type: self.name.clone(),
                        });
                    }
                    let candidate = spec.to_attribute(true, now)?;
                    if same_definition(&candidate, current) {
                        kept.push(current.clone());
                    } else {
                        update.update.push(candidate);
                    }
                }
                None => update.add.push(spec.to_attribute(true, now)?),
            }
        }
        update.update.sort_by(|a, b| a.name.cmp(&b.name));
        let mut attributes = kept;
        attributes.extend(update.add.iter().cloned());
        attributes.extend(update.update.iter().cloned());
        for attribute in &mut attributes {
            attribute.fill = None;
        }
        update.result = ResourceType {
            attributes,
            ..self.clone()
        };
        Ok(update)
    }
}

/// Gnocchi compares the attribute documents field by field; numbers
/// compare by value (`0 == 0.0`).
fn same_definition(a: &Attribute, b: &Attribute) -> bool {
    let bound = |r: Option<Real>| r.map(Real::as_f64);
    a.required == b.required
        && match (&a.kind, &b.kind) {
            (
                AttributeKind::Number { min, max },
                AttributeKind::Number {
                    min: other_min,
                    max: other_max,
                },
            ) => bound(*min) == bound(*other_min) && bound(*max) == bound(*other_max),
            (kind, other) => kind == other,
        }
}

/// The changes a resource-type update makes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TypeUpdate {
    /// New attributes (with their `fill` for existing resources).
    pub add: Vec<Attribute>,
    /// Attributes dropped, with their values.
    pub remove: Vec<String>,
    /// Attributes whose `required` or bounds change (a `fill` replaces nulls).
    pub update: Vec<Attribute>,
    /// The type after the update.
    pub result: ResourceType,
}

impl Default for ResourceType {
    fn default() -> Self {
        ResourceType::generic()
    }
}

impl TypeUpdate {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty() && self.update.is_empty()
    }
}

/// One operation of a resource-type update.
#[derive(Debug, Clone, PartialEq)]
pub enum PatchOp {
    Add(AttributeSpec),
    Remove(String),
}

/// An attribute as given on the command line: gnocchiclient's
/// `NAME:TYPE[:REQUIRED][:OPTION=VALUE…]` (`display_name:string:true:max_length=255`).
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeSpec {
    pub name: String,
    pub type_name: Option<String>,
    pub required: Option<bool>,
    /// `min_length`, `max_length`, `min`, `max` as written.
    pub options: Vec<(String, String)>,
    /// The `fill` option, for updates.
    pub fill: Option<String>,
}

impl std::str::FromStr for AttributeSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<AttributeSpec, String> {
        let mut parts = text.split(':');
        let name = parts.next().unwrap_or_default().to_owned();
        let type_name = parts.next().map(str::to_owned);
        let required = match parts.next() {
            Some(word) => Some(parse_bool(word).ok_or_else(|| {
                format!("`{word}` is not a boolean (REQUIRED is true or false) in `{text}`")
            })?),
            None => None,
        };
        let mut options: Vec<(String, String)> = Vec::new();
        for part in parts {
            match part.split_once('=') {
                Some((key, value)) => options.push((key.to_owned(), value.to_owned())),
                // A `:` inside a value (`fill=2024-01-01T00:00:00`): gnocchiclient
                // would split it; keep it whole.
                None => match options.last_mut() {
                    Some((_, value)) => {
                        value.push(':');
                        value.push_str(part);
                    }
                    None => {
                        return Err(format!("expected OPTION=VALUE, found `{part}` in `{text}`"));
                    }
                },
            }
        }
        let fill = options
            .iter()
            .position(|(k, _)| k == "fill")
            .map(|i| options.remove(i).1);
        Ok(AttributeSpec {
            name,
            type_name,
            required,
            options,
            fill,
        })
    }
}

impl AttributeSpec {
    /// An attribute as Gnocchi's documents give it: `{"type": "string",
    /// "required": true, "max_length": 255, …}`.
    pub fn from_json(name: &str, definition: &serde_json::Value) -> AttributeSpec {
        let text = |value: &serde_json::Value| match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let mut spec = AttributeSpec {
            name: name.to_owned(),
            type_name: definition.get("type").map(text),
            required: definition
                .get("required")
                .and_then(serde_json::Value::as_bool),
            options: Vec::new(),
            fill: None,
        };
        for (key, value) in definition.as_object().into_iter().flatten() {
            match key.as_str() {
                "type" | "required" => {}
                "options" => spec.fill = value.get("fill").map(text),
                _ if value.is_null() => {}
                _ => spec.options.push((key.clone(), text(value))),
            }
        }
        spec
    }

    fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn invalid(&self, reason: String) -> ResourceError {
        ResourceError::InvalidInput(format!("{reason} for attribute {}", self.name))
    }

    fn int_option(&self, key: &str, default: i64) -> Result<i64, ResourceError> {
        match self.option(key) {
            None => Ok(default),
            Some(text) => match Real::parse(text) {
                Some(Real::Int(i)) => Ok(i),
                _ => Err(self.invalid(format!("expected int for option {key}, got `{text}`"))),
            },
        }
    }

    fn real_option(&self, key: &str) -> Result<Option<Real>, ResourceError> {
        self.option(key)
            .map(|text| {
                Real::parse(text).ok_or_else(|| {
                    self.invalid(format!("expected a number for option {key}, got `{text}`"))
                })
            })
            .transpose()
    }

    /// The type and its options, with Gnocchi's defaults.
    pub fn kind(&self) -> Result<AttributeKind, ResourceError> {
        let type_name = self
            .type_name
            .as_deref()
            .ok_or_else(|| self.invalid("required key not provided: type".to_owned()))?;
        let allowed: &[&str] = match type_name {
            "string" => &["min_length", "max_length"],
            "number" => &["min", "max"],
            "uuid" | "bool" | "datetime" => &[],
            other => {
                return Err(self.invalid(format!(
                    "unknown type `{other}` (expected string, uuid, number, bool or datetime)"
                )));
            }
        };
        if let Some((key, _)) = self
            .options
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            return Err(self.invalid(format!(
                "extra keys not allowed: option `{key}` of a {type_name}"
            )));
        }
        Ok(match type_name {
            "string" => AttributeKind::String {
                min_length: self.int_option("min_length", 0)?,
                max_length: self.int_option("max_length", 256)?,
            },
            "number" => AttributeKind::Number {
                min: self.real_option("min")?,
                max: self.real_option("max")?,
            },
            "uuid" => AttributeKind::Uuid,
            "bool" => AttributeKind::Bool,
            _ => AttributeKind::Datetime,
        })
    }

    /// The attribute, `required` defaulting to true. In an update
    /// (`for_update`), `fill` is checked and a required attribute needs
    /// one; at creation `fill` is refused like any unknown key.
    pub fn to_attribute(
        &self,
        for_update: bool,
        now: Timestamp,
    ) -> Result<Attribute, ResourceError> {
        let attribute = Attribute::new(&self.name, self.required.unwrap_or(true), self.kind()?)?;
        if for_update {
            attribute.with_fill(self.fill.as_deref(), now)
        } else if self.fill.is_some() {
            Err(self.invalid("extra keys not allowed: option `fill` (only for updates)".to_owned()))
        } else {
            Ok(attribute)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::AttributeValue;

    fn spec(text: &str) -> AttributeSpec {
        text.parse().unwrap()
    }

    fn server_type() -> ResourceType {
        let attributes = [
            "flavor:string:true:max_length=20",
            "size:number:false:min=0",
        ]
        .iter()
        .map(|t| spec(t).to_attribute(false, Timestamp::EPOCH).unwrap())
        .collect();
        ResourceType::new("server", attributes).unwrap()
    }

    #[test]
    fn gnocchiclient_attribute_syntax() {
        let parsed = spec("display_name:string:true:max_length=255");
        assert_eq!(parsed.type_name.as_deref(), Some("string"));
        assert_eq!(parsed.required, Some(true));
        assert_eq!(
            parsed.options,
            [("max_length".to_owned(), "255".to_owned())]
        );
        let filled = spec("at:datetime:true:fill=2024-01-01T00:00:00");
        assert_eq!(filled.fill.as_deref(), Some("2024-01-01T00:00:00"));
        assert!("x:string:maybe".parse::<AttributeSpec>().is_err());
        let doc = server_type().to_json().to_python_string();
        assert_eq!(
            doc,
            r#"{"name": "server", "attributes": {"flavor": {"type": "string", "required": true, "max_length": 20, "min_length": 0}, "size": {"type": "number", "required": false, "min": 0, "max": null}}, "state": "active"}"#
        );
        let err = spec("x:string:false:min=1")
            .to_attribute(false, Timestamp::EPOCH)
            .unwrap_err();
        assert!(err.to_string().contains("option `min`"), "{err}");
    }

    #[test]
    fn updates_follow_gnocchi_patch_rules() {
        let current = server_type();
        let plan = current
            .plan_update(
                &[
                    PatchOp::Add(spec("host:string:false")),
                    PatchOp::Remove("size".into()),
                    PatchOp::Add(spec("flavor:string:false:max_length=20")),
                ],
                Timestamp::EPOCH,
            )
            .unwrap();
        assert_eq!(plan.remove, ["size"]);
        assert_eq!(plan.add.len(), 1);
        assert_eq!(plan.update[0].name, "flavor");
        assert!(!plan.update[0].required);
        let names: Vec<&str> = plan
            .result
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["host", "flavor"]);

        let unchanged = current
            .plan_update(
                &[PatchOp::Add(spec(
                    "flavor:string:true:max_length=20:fill=x",
                ))],
                Timestamp::EPOCH,
            )
            .unwrap();
        assert!(unchanged.is_empty());

        let err = current
            .plan_update(&[PatchOp::Add(spec("flavor:number"))], Timestamp::EPOCH)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Type update is not available yet. Changing string to number for attribute flavor of resource server"
        );
        let err = current
            .plan_update(&[PatchOp::Remove("nope".into())], Timestamp::EPOCH)
            .unwrap_err();
        assert_eq!(err.to_string(), "can't remove a non-existent object 'nope'");
        let err = current
            .plan_update(&[PatchOp::Add(spec("zone:string:true"))], Timestamp::EPOCH)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input: Option 'fill' of resource attribute zone is invalid: must not be empty if required=True"
        );
        let filled = current
            .plan_update(
                &[PatchOp::Add(spec("zone:number:true:fill=3"))],
                Timestamp::EPOCH,
            )
            .unwrap();
        assert_eq!(filled.add[0].fill, Some(AttributeValue::Number(3.0)));
    }
}
