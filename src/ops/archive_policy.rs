//! Archive policies and archive-policy rules: creation with Gnocchi's
//! default aggregation methods and `+m`/`-m` lists, updates that keep the
//! granularities, deletion, and renaming a rule.

use crate::error::Result;
use crate::policy::{
    AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition, resolve_aggregation_methods,
};
use crate::store::Index;

/// A policy to create (`POST /v1/archive_policy`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewArchivePolicy {
    pub name: String,
    pub back_window: u64,
    pub definition: Vec<Definition>,
    /// Names, `*`, or only `+m`/`-m` entries relative to the defaults; the
    /// defaults when empty.
    pub aggregation_methods: Vec<String>,
    /// The defaults: Gnocchi's `[archive_policy]
    /// default_aggregation_methods`.
    pub default_methods: Vec<AggregationMethod>,
}

impl NewArchivePolicy {
    /// The policy, validated as Gnocchi validates one, not stored.
    pub fn build(self) -> Result<ArchivePolicy> {
        let methods =
            resolve_aggregation_methods(&self.aggregation_methods, &self.default_methods)?;
        Ok(ArchivePolicy::new(
            self.name,
            self.back_window,
            self.definition,
            methods,
        )?)
    }
}

pub fn create(index: &Index, new: NewArchivePolicy) -> Result<ArchivePolicy> {
    let policy = new.build()?;
    index.create_archive_policy(&policy)?;
    Ok(policy)
}

/// Changes the points or timespans of a policy (its granularities stay),
/// and its back window when given.
pub fn update(
    index: &Index,
    name: &str,
    definition: Vec<Definition>,
    back_window: Option<u64>,
) -> Result<ArchivePolicy> {
    let current = index.get_archive_policy(name)?;
    current.check_update(&definition)?;
    let updated = ArchivePolicy::new(
        name,
        back_window.unwrap_or(current.back_window),
        definition,
        current.aggregation_methods.clone(),
    )?;
    index.update_archive_policy(&updated)?;
    Ok(updated)
}

pub fn create_rule(index: &Index, rule: ArchivePolicyRule) -> Result<ArchivePolicyRule> {
    index.create_rule(&rule)?;
    Ok(rule)
}

/// Renames a rule, the only change Gnocchi allows
/// (`PATCH /v1/archive_policy_rule/NAME`).
pub fn rename_rule(index: &Index, name: &str, new_name: &str) -> Result<ArchivePolicyRule> {
    index.rename_rule(name, new_name)?;
    Ok(index.get_rule(new_name)?)
}
