//! Archive policies and archive-policy rules in the SQLite index. Spans are
//! kept as integer nanoseconds, not Gnocchi's float seconds, so sub-second
//! definitions survive a round trip (docs/differences.md#storage-and-processing).

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::{SqliteIndex, data_error};
use crate::policy::{AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition};
use crate::store::index::Policies;
use crate::store::{Error, Result};
use crate::time::Span;

#[derive(Serialize, Deserialize)]
struct StoredDefinition {
    granularity_ns: i64,
    points: Option<u64>,
    timespan_ns: Option<i64>,
}

fn stored_definition(policy: &ArchivePolicy) -> String {
    let definition: Vec<StoredDefinition> = policy
        .definition
        .iter()
        .map(|d| StoredDefinition {
            granularity_ns: d.granularity.nanos(),
            points: d.points,
            timespan_ns: d.timespan.map(Span::nanos),
        })
        .collect();
    serde_json::to_string(&definition).expect("definition serializes")
}

fn policy_from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64, String, String)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn policy_from_columns(
    (name, back_window, definition, methods): (String, i64, String, String),
) -> Result<ArchivePolicy> {
    let stored: Vec<StoredDefinition> = serde_json::from_str(&definition)
        .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
    let definition = stored
        .into_iter()
        .map(|d| Definition {
            granularity: Span::from_nanos(d.granularity_ns),
            points: d.points,
            timespan: d.timespan_ns.map(Span::from_nanos),
        })
        .collect();
    let methods: Vec<String> = serde_json::from_str(&methods)
        .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
    let methods = methods
        .iter()
        .map(|m| m.parse::<AggregationMethod>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
    ArchivePolicy::new(name.clone(), back_window as u64, definition, methods)
        .map_err(|e| data_error(&format!("archive policy {name}"), e))
}

fn rule_from_row(row: &Row<'_>) -> rusqlite::Result<ArchivePolicyRule> {
    Ok(ArchivePolicyRule {
        name: row.get(0)?,
        metric_pattern: row.get(1)?,
        archive_policy_name: row.get(2)?,
    })
}

impl Policies for SqliteIndex {
    // ---- archive policies -------------------------------------------------

    fn create_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let methods: Vec<String> = policy
            .aggregation_methods
            .iter()
            .map(ToString::to_string)
            .collect();
        let inserted = self.connection.execute(
            "INSERT OR IGNORE INTO archive_policy (name, back_window, definition, aggregation_methods)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                policy.name,
                policy.back_window as i64,
                stored_definition(policy),
                serde_json::to_string(&methods).expect("methods serialize"),
            ],
        )?;
        if inserted == 0 {
            return Err(Error::ArchivePolicyExists(policy.name.clone()));
        }
        Ok(())
    }

    fn get_archive_policy(&self, name: &str) -> Result<ArchivePolicy> {
        // Cached: the API looks a policy up for every read of measures.
        let columns = self
            .connection
            .prepare_cached(
                "SELECT name, back_window, definition, aggregation_methods FROM archive_policy WHERE name = ?1",
            )?
            .query_row([name], policy_from_row)
            .optional()?
            .ok_or_else(|| Error::ArchivePolicyNotFound(name.to_owned()))?;
        policy_from_columns(columns)
    }

    fn list_archive_policies(&self) -> Result<Vec<ArchivePolicy>> {
        let mut statement = self.connection.prepare(
            "SELECT name, back_window, definition, aggregation_methods FROM archive_policy ORDER BY name",
        )?;
        let rows = statement.query_map([], policy_from_row)?;
        rows.map(|r| policy_from_columns(r?)).collect()
    }

    /// Replaces a policy's definition and back window (the granularities
    /// must stay the same: see `ArchivePolicy::check_update`).
    fn update_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let updated = self.connection.execute(
            "UPDATE archive_policy SET back_window = ?2, definition = ?3 WHERE name = ?1",
            params![
                policy.name,
                policy.back_window as i64,
                stored_definition(policy),
            ],
        )?;
        if updated == 0 {
            return Err(Error::ArchivePolicyNotFound(policy.name.clone()));
        }
        Ok(())
    }

    /// Deletes a policy no metric (even one being deleted) and no rule uses.
    fn delete_archive_policy(&self, name: &str) -> Result<()> {
        self.get_archive_policy(name)?;
        let users: i64 = self.connection.query_row(
            "SELECT (SELECT count(*) FROM metric WHERE archive_policy_name = ?1)
                  + (SELECT count(*) FROM archive_policy_rule WHERE archive_policy_name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if users > 0 {
            return Err(Error::ArchivePolicyInUse(name.to_owned()));
        }
        self.connection
            .execute("DELETE FROM archive_policy WHERE name = ?1", [name])?;
        Ok(())
    }

    // ---- archive policy rules ---------------------------------------------

    fn create_rule(&self, rule: &ArchivePolicyRule) -> Result<()> {
        self.get_archive_policy(&rule.archive_policy_name)?;
        let inserted = self.connection.execute(
            "INSERT OR IGNORE INTO archive_policy_rule (name, metric_pattern, archive_policy_name)
             VALUES (?1, ?2, ?3)",
            params![rule.name, rule.metric_pattern, rule.archive_policy_name],
        )?;
        if inserted == 0 {
            return Err(Error::RuleExists(rule.name.clone()));
        }
        Ok(())
    }

    /// Rules in matching order.
    fn list_rules(&self) -> Result<Vec<ArchivePolicyRule>> {
        let mut statement = self
            .connection
            .prepare("SELECT name, metric_pattern, archive_policy_name FROM archive_policy_rule")?;
        let mut rules = statement
            .query_map([], rule_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ArchivePolicyRule::sort(&mut rules);
        Ok(rules)
    }

    fn get_rule(&self, name: &str) -> Result<ArchivePolicyRule> {
        self.connection
            .query_row(
                "SELECT name, metric_pattern, archive_policy_name FROM archive_policy_rule WHERE name = ?1",
                [name],
                rule_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::RuleNotFound(name.to_owned()))
    }

    /// Renames a rule; the new name must be free.
    fn rename_rule(&self, name: &str, new_name: &str) -> Result<()> {
        self.get_rule(name)?;
        if name != new_name && self.get_rule(new_name).is_ok() {
            return Err(Error::UnsupportedRuleChange {
                name: name.to_owned(),
                reason: format!("Archive policy rule {new_name} already exists."),
            });
        }
        self.connection.execute(
            "UPDATE archive_policy_rule SET name = ?2 WHERE name = ?1",
            [name, new_name],
        )?;
        Ok(())
    }

    fn delete_rule(&self, name: &str) -> Result<()> {
        let deleted = self
            .connection
            .execute("DELETE FROM archive_policy_rule WHERE name = ?1", [name])?;
        if deleted == 0 {
            return Err(Error::RuleNotFound(name.to_owned()));
        }
        Ok(())
    }
}
