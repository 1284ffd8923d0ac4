//! Archive policies and archive-policy rules in Gnocchi's PostgreSQL
//! schema, read and written as gnocchi-api reads and writes them.
//!
//! A definition is the JSON `ArchivePolicyItem.serialize` writes,
//! `[{"timespan": 2592000.0, "granularity": 300.0, "points": 8640}]` (float
//! seconds, `span / 1 s` in numpy; nulls for a policy kept forever; Python's
//! `json.dumps` text), and is read as `ArchivePolicyItem(**item)` reads it:
//! the floats checked (`timespan == granularity × points`), then
//! `trunc(seconds × 1e9)` nanoseconds, the timespan derived from the points.
//! Not every span survives that: 0.1 s × 3 points is stored as 0.1 and 0.3,
//! and 0.1 × 3 ≠ 0.3 in floats, so Gnocchi fails on its own row; 1.001 s
//! reads back as 1.000999999 s. Such a policy is refused
//! (`Error::UnrepresentablePolicy`) rather than stored for both programs to
//! misread; the SQLite index keeps integer nanoseconds and stores it.
//!
//! `aggregation_methods` is a JSON list. Gnocchi writes a Python set in its
//! iteration order, which string hashing randomises per process (the same
//! policy comes out in another order from one run to the next), so the
//! order means nothing: carbonara writes its own (sorted by name) and reads
//! any.

use postgres::Row;
use postgres::types::Type;
use serde::Deserialize;

use super::{PostgresIndex, violated_constraint};
use crate::policy::{AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition, PolicyError};
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::store::index::Policies;
use crate::store::{Error, Result};
use crate::time::Span;

const POLICY_COLUMNS: &str =
    "name, back_window, definition::text, aggregation_methods::text FROM archive_policy";
const RULE_COLUMNS: &str = "name, metric_pattern, archive_policy_name FROM archive_policy_rule";

/// One item of `archive_policy.definition`, as Gnocchi's JSON holds it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
struct StoredItem {
    timespan: Option<f64>,
    granularity: Option<f64>,
    points: Option<f64>,
}

impl StoredItem {
    /// `ArchivePolicyItem.serialize()`.
    fn of(item: &Definition) -> StoredItem {
        StoredItem {
            timespan: item.timespan.map(Span::as_secs_f64),
            granularity: Some(item.granularity.as_secs_f64()),
            points: item.points.map(|p| p as f64),
        }
    }

    /// The item as `json.dumps` writes it: Gnocchi's key order, floats in
    /// `repr` form, points an integer.
    fn to_json(self) -> Json {
        let float = |value: Option<f64>| value.map_or(Json::Null, Json::Float);
        Json::object([
            ("timespan", float(self.timespan)),
            ("granularity", float(self.granularity)),
            (
                "points",
                self.points.map_or(Json::Null, |p| Json::Int(p as i64)),
            ),
        ])
    }

    /// `ArchivePolicyItem(**item)`: the definition Gnocchi reads.
    fn read(self) -> Result<Definition, PolicyError> {
        if let (Some(granularity), Some(points), Some(timespan)) =
            (self.granularity, self.points, self.timespan)
            && timespan != granularity * points
        {
            return Err(PolicyError::TimespanMismatch);
        }
        let granularity = self.granularity.map(Span::from_secs_f64);
        let points = match self.points {
            Some(points) if points <= 0.0 => return Err(PolicyError::PointsNotPositive),
            points => points.map(|p| p.trunc() as i64),
        };
        // With a granularity and points, Gnocchi makes the timespan their
        // product and ignores the stored one (checked above).
        let timespan = match (granularity, points) {
            (Some(_), Some(_)) => None,
            _ => self.timespan.map(Span::from_secs_f64),
        };
        Definition::new(granularity, points, timespan)
    }
}

/// The `definition` column of a policy: refused when Gnocchi would read
/// another policy back from it.
pub(super) fn definition_text(policy: &ArchivePolicy) -> Result<String> {
    let mut items = Vec::with_capacity(policy.definition.len());
    for item in &policy.definition {
        let stored = StoredItem::of(item);
        let read_back = stored.read();
        if read_back.as_ref() != Ok(item) {
            return Err(Error::UnrepresentablePolicy {
                name: policy.name.clone(),
                reason: format!(
                    "Gnocchi stores granularity {} s{} as the float seconds {}, which read back {}",
                    item.granularity,
                    item.points
                        .map(|p| format!(" × {p} points"))
                        .unwrap_or_default(),
                    stored.to_json().to_python_string(),
                    match read_back {
                        Ok(read) => format!(
                            "as granularity {} s{}",
                            read.granularity,
                            read.timespan
                                .map(|t| format!(", timespan {t} s"))
                                .unwrap_or_default()
                        ),
                        Err(error) => format!("as an error: {error}"),
                    }
                ),
            });
        }
        items.push(stored.to_json());
    }
    Ok(Json::Array(items).to_ascii_python_string())
}

/// The `aggregation_methods` column: a JSON list of names.
pub(super) fn methods_text(policy: &ArchivePolicy) -> String {
    document::aggregation_methods(policy).to_ascii_python_string()
}

/// `back_window` is an `integer` column.
pub(super) fn back_window(policy: &ArchivePolicy) -> Result<i32> {
    i32::try_from(policy.back_window).map_err(|_| Error::UnrepresentablePolicy {
        name: policy.name.clone(),
        reason: format!(
            "its back window {} is more than Gnocchi's column holds ({})",
            policy.back_window,
            i32::MAX
        ),
    })
}

fn policy_from_row(row: &Row) -> Result<ArchivePolicy> {
    policy_from_columns(row, 0)
}

/// A policy from `row`'s columns `first..first + 4`, as `POLICY_COLUMNS`
/// selects them.
pub(super) fn policy_from_columns(row: &Row, first: usize) -> Result<ArchivePolicy> {
    let name: String = row.try_get(first)?;
    let back_window: i32 = row.try_get(first + 1)?;
    let definition: String = row.try_get(first + 2)?;
    let methods: String = row.try_get(first + 3)?;
    let bad = |detail: String| Error::IndexData(format!("archive policy {name}: {detail}"));
    let items: Vec<StoredItem> =
        serde_json::from_str(&definition).map_err(|e| bad(format!("definition: {e}")))?;
    let definition = items
        .into_iter()
        .map(StoredItem::read)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("definition: {e}")))?;
    let methods: Vec<String> =
        serde_json::from_str(&methods).map_err(|e| bad(format!("aggregation methods: {e}")))?;
    let methods = methods
        .iter()
        .map(|m| m.parse::<AggregationMethod>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let back_window =
        u64::try_from(back_window).map_err(|_| bad(format!("back window {back_window}")))?;
    ArchivePolicy::new(name.clone(), back_window, definition, methods)
        .map_err(|e| bad(e.to_string()))
}

fn rule_from_row(row: &Row) -> Result<ArchivePolicyRule> {
    Ok(ArchivePolicyRule {
        name: row.try_get(0)?,
        metric_pattern: row.try_get(1)?,
        archive_policy_name: row.try_get(2)?,
    })
}

impl PostgresIndex {
    fn policy_exists(&self, name: &str) -> Result<bool> {
        Ok(!self
            .query(
                "SELECT 1 FROM archive_policy WHERE name = $1",
                &[(&name, Type::TEXT)],
            )?
            .is_empty())
    }
}

impl Policies for PostgresIndex {
    fn create_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let inserted = self.query(
            "INSERT INTO archive_policy (name, back_window, definition, aggregation_methods)
             VALUES ($1, $2, $3::text::json, $4::text::json)
             ON CONFLICT (name) DO NOTHING RETURNING 1",
            &[
                (&policy.name, Type::TEXT),
                (&back_window(policy)?, Type::INT4),
                (&definition_text(policy)?, Type::TEXT),
                (&methods_text(policy), Type::TEXT),
            ],
        )?;
        if inserted.is_empty() {
            return Err(Error::ArchivePolicyExists(policy.name.clone()));
        }
        Ok(())
    }

    fn get_archive_policy(&self, name: &str) -> Result<ArchivePolicy> {
        // Prepared: every read of measures looks its policy up.
        let rows = self.query_prepared(
            &format!("SELECT {POLICY_COLUMNS} WHERE name = $1"),
            &[(&name, Type::TEXT)],
        )?;
        match rows.first() {
            Some(row) => policy_from_row(row),
            None => Err(Error::ArchivePolicyNotFound(name.to_owned())),
        }
    }

    fn list_archive_policies(&self) -> Result<Vec<ArchivePolicy>> {
        self.query(&format!("SELECT {POLICY_COLUMNS} ORDER BY name"), &[])?
            .iter()
            .map(policy_from_row)
            .collect()
    }

    fn update_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let updated = self.query(
            "UPDATE archive_policy SET back_window = $2, definition = $3::text::json
             WHERE name = $1 RETURNING 1",
            &[
                (&policy.name, Type::TEXT),
                (&back_window(policy)?, Type::INT4),
                (&definition_text(policy)?, Type::TEXT),
            ],
        )?;
        if updated.is_empty() {
            return Err(Error::ArchivePolicyNotFound(policy.name.clone()));
        }
        Ok(())
    }

    /// Deletes a policy no metric (even one being deleted) and no rule
    /// uses. A user that appears meanwhile makes Gnocchi's RESTRICT keys
    /// refuse the delete: in use all the same.
    fn delete_archive_policy(&self, name: &str) -> Result<()> {
        let deleted = self
            .query(
                "DELETE FROM archive_policy WHERE name = $1
                   AND NOT EXISTS (SELECT 1 FROM metric WHERE archive_policy_name = $1)
                   AND NOT EXISTS (SELECT 1 FROM archive_policy_rule WHERE archive_policy_name = $1)
                 RETURNING 1",
                &[(&name, Type::TEXT)],
            )
            .map_err(|e| match violated_constraint(&e) {
                Some("fk_metric_ap_name_ap_name" | "fk_apr_ap_name_ap_name") => {
                    Error::ArchivePolicyInUse(name.to_owned())
                }
                _ => Error::from(e),
            })?;
        if !deleted.is_empty() {
            Ok(())
        } else if self.policy_exists(name)? {
            Err(Error::ArchivePolicyInUse(name.to_owned()))
        } else {
            Err(Error::ArchivePolicyNotFound(name.to_owned()))
        }
    }

    fn create_rule(&self, rule: &ArchivePolicyRule) -> Result<()> {
        let policy_missing = || Error::ArchivePolicyNotFound(rule.archive_policy_name.clone());
        let inserted = self
            .query(
                "INSERT INTO archive_policy_rule (name, metric_pattern, archive_policy_name)
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM archive_policy WHERE name = $3)
                 ON CONFLICT (name) DO NOTHING RETURNING 1",
                &[
                    (&rule.name, Type::TEXT),
                    (&rule.metric_pattern, Type::TEXT),
                    (&rule.archive_policy_name, Type::TEXT),
                ],
            )
            .map_err(|e| match violated_constraint(&e) {
                Some("fk_apr_ap_name_ap_name") => policy_missing(),
                _ => Error::from(e),
            })?;
        if !inserted.is_empty() {
            Ok(())
        } else if self.policy_exists(&rule.archive_policy_name)? {
            Err(Error::RuleExists(rule.name.clone()))
        } else {
            Err(policy_missing())
        }
    }

    /// Rules in matching order.
    fn list_rules(&self) -> Result<Vec<ArchivePolicyRule>> {
        let mut rules = self
            .query(&format!("SELECT {RULE_COLUMNS}"), &[])?
            .iter()
            .map(rule_from_row)
            .collect::<Result<Vec<_>>>()?;
        ArchivePolicyRule::sort(&mut rules);
        Ok(rules)
    }

    fn get_rule(&self, name: &str) -> Result<ArchivePolicyRule> {
        let rows = self.query(
            &format!("SELECT {RULE_COLUMNS} WHERE name = $1"),
            &[(&name, Type::TEXT)],
        )?;
        match rows.first() {
            Some(row) => rule_from_row(row),
            None => Err(Error::RuleNotFound(name.to_owned())),
        }
    }

    /// Renames a rule; the new name must be free.
    fn rename_rule(&self, name: &str, new_name: &str) -> Result<()> {
        let taken = || Error::UnsupportedRuleChange {
            name: name.to_owned(),
            reason: format!("Archive policy rule {new_name} already exists."),
        };
        let renamed = self
            .query(
                "UPDATE archive_policy_rule SET name = $2 WHERE name = $1
                   AND ($1 = $2 OR NOT EXISTS (SELECT 1 FROM archive_policy_rule WHERE name = $2))
                 RETURNING 1",
                &[(&name, Type::TEXT), (&new_name, Type::TEXT)],
            )
            .map_err(|e| match violated_constraint(&e) {
                Some("archive_policy_rule_pkey") => taken(),
                _ => Error::from(e),
            })?;
        if !renamed.is_empty() {
            return Ok(());
        }
        self.get_rule(name)?;
        Err(taken())
    }

    fn delete_rule(&self, name: &str) -> Result<()> {
        let deleted = self.query(
            "DELETE FROM archive_policy_rule WHERE name = $1 RETURNING 1",
            &[(&name, Type::TEXT)],
        )?;
        if deleted.is_empty() {
            return Err(Error::RuleNotFound(name.to_owned()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(granularity_nanos: i64, points: Option<i64>) -> Definition {
        Definition::new(Some(Span::from_nanos(granularity_nanos)), points, None).unwrap()
    }

    #[test]
    fn definitions_are_written_as_gnocchi_serializes_them() {
        let policy = ArchivePolicy::defaults()
            .into_iter()
            .find(|p| p.name == "medium")
            .unwrap();
        assert_eq!(
            definition_text(&policy).unwrap(),
            r#"[{"timespan": 604800.0, "granularity": 60.0, "points": 10080}, {"timespan": 31536000.0, "granularity": 3600.0, "points": 8760}]"#
        );
        assert_eq!(
            methods_text(&policy),
            r#"["count", "max", "mean", "min", "std", "sum"]"#
        );
        let bool_policy = ArchivePolicy::defaults()
            .into_iter()
            .find(|p| p.name == "bool")
            .unwrap();
        assert_eq!(methods_text(&bool_policy), r#"["last"]"#);
        let forever = ArchivePolicy::new("forever", 0, vec![item(500_000, None)], vec![]).unwrap();
        assert_eq!(
            definition_text(&forever).unwrap(),
            r#"[{"timespan": null, "granularity": 0.0005, "points": null}]"#
        );
    }

    #[test]
    fn items_are_read_as_gnocchi_reads_them() {
        let read = |json: &str| serde_json::from_str::<StoredItem>(json).unwrap().read();
        assert_eq!(
            read(r#"{"timespan": 2592000.0, "granularity": 300.0, "points": 8640}"#),
            Ok(item(300_000_000_000, Some(8640)))
        );
        // What another writer may leave: two of the three.
        assert_eq!(
            read(r#"{"timespan": 3600.0, "granularity": 60.0, "points": null}"#),
            Ok(item(60_000_000_000, Some(60)))
        );
        assert_eq!(
            read(r#"{"timespan": 3600.0, "granularity": null, "points": 60}"#),
            Ok(item(60_000_000_000, Some(60)))
        );
        // Gnocchi's own row for 0.1 s × 3 points, which it cannot read.
        assert_eq!(
            read(r#"{"timespan": 0.3, "granularity": 0.1, "points": 3}"#),
            Err(PolicyError::TimespanMismatch)
        );
        // 1.001 s is 1.000999999 s once truncated.
        assert_eq!(
            read(r#"{"timespan": null, "granularity": 1.001, "points": null}"#),
            Ok(item(1_000_999_999, None))
        );
    }

    #[test]
    fn spans_gnocchi_would_misread_are_refused() {
        let policy = |definition| ArchivePolicy::new("p", 0, vec![definition], vec![]).unwrap();
        // Sub-second and nanosecond spans that survive the float seconds.
        for (nanos, points) in [
            (100_000_000, Some(10)),
            (500_000_000, Some(4)),
            (1, Some(1)),
            (123_456_789, None),
        ] {
            definition_text(&policy(item(nanos, points))).unwrap();
        }
        let err = definition_text(&policy(item(100_000_000, Some(3)))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Archive policy p cannot be stored in a Gnocchi index: Gnocchi stores granularity 0.1 s × 3 points \
             as the float seconds {\"timespan\": 0.3, \"granularity\": 0.1, \"points\": 3}, \
             which read back as an error: timespan ≠ granularity × points"
        );
        let err = definition_text(&policy(item(1_001_000_000, None))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Archive policy p cannot be stored in a Gnocchi index: Gnocchi stores granularity 1.001 s \
             as the float seconds {\"timespan\": null, \"granularity\": 1.001, \"points\": null}, \
             which read back as granularity 1.000999999 s"
        );
        let mut huge = policy(item(1_000_000_000, None));
        huge.back_window = 1 << 31;
        assert!(matches!(
            back_window(&huge),
            Err(Error::UnrepresentablePolicy { .. })
        ));
    }
}
