//! Gnocchi 4.7.1's indexer schema on PostgreSQL: making it on an empty
//! database as `gnocchi-upgrade` does (the tables of `schema.sql`, the
//! alembic revision, the `generic` resource type, the default archive
//! policies and rule), and checking that an existing deployment is at the
//! one revision carbonara works on (spec gnocchi-deployments.md §5).
//!
//! carbonara never migrates Gnocchi's schema: a deployment at any other
//! revision is refused, and `gnocchi-upgrade` of Gnocchi 4.7 is the way to
//! bring it there.

use postgres::{Client, GenericClient};

use super::policies;
use crate::policy::{ArchivePolicy, ArchivePolicyRule};
use crate::store::{Error, Result};

/// The alembic head of Gnocchi 4.7 ("Create last measure push timestamp
/// column"), the only revision carbonara reads and writes.
pub const REVISION: &str = "f89ed2e3c2ec";

/// The revisions before `REVISION` in Gnocchi 4.7's
/// `gnocchi/indexer/alembic/versions/`: a deployment at one of them is an
/// older Gnocchi's, which Gnocchi 4.7's `gnocchi-upgrade` migrates.
const OLDER_REVISIONS: [&str; 30] = [
    "04eba72e4f90",
    "0718ed97e5b3",
    "18fff4509e3e",
    "1c2c61ac1f4c",
    "1c98ac614015",
    "1e1a63d3d186",
    "1f21cbdd6bc2",
    "27d2a1d205ff",
    "2e0b912062d1",
    "34c517bcc2dd",
    "3901f5ea2b8e",
    "397987e38570",
    "39b7d449d46a",
    "40c6aae14c3f",
    "42ee7f3e25f8",
    "469b308577a9",
    "5c4f93e5bb4",
    "62a8dfb139bb",
    "7e6f9d542f8b",
    "828c16f70cce",
    "8f376189b9eb",
    "94544ca86c7e",
    "9901e5ea4b6e",
    "a54c57ada3f5",
    "aba5a217ca9b",
    "c62df18bf4ee",
    "d24877c22ab0",
    "ed9c6ddc5c35",
    "f7d44b47928",
    "ffc7bbeec0b0",
];

/// The tables, types and indexes of a new deployment.
const SCHEMA: &str = include_str!("schema.sql");

/// What to do about a deployment at revision `found` (one alembic
/// revision, or several joined by ", "), for `Error::SchemaRevision`.
pub fn revision_advice(found: &str) -> &'static str {
    if OLDER_REVISIONS.contains(&found) {
        "an older Gnocchi's schema: run Gnocchi 4.7's gnocchi-upgrade on this deployment first"
    } else {
        "a revision Gnocchi 4.7 does not know (a newer Gnocchi's?): carbonara works only on \
         Gnocchi 4.7's schema, which Gnocchi 4.7's gnocchi-upgrade makes"
    }
}

/// The database's alembic revision: `None` when it has no
/// `alembic_version` table, or an empty one (alembic's "no revision").
/// Several rows (alembic branches, which Gnocchi never has) are joined
/// by ", ".
pub fn revision(client: &mut impl GenericClient) -> Result<Option<String>> {
    let table: Option<String> = client
        .query_one("SELECT to_regclass('alembic_version')::text", &[])?
        .get(0);
    if table.is_none() {
        return Ok(None);
    }
    let revisions: Vec<String> = client
        .query("SELECT version_num FROM alembic_version ORDER BY 1", &[])?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok((!revisions.is_empty()).then(|| revisions.join(", ")))
}

/// Checks that the database holds Gnocchi 4.7's schema, so that carbonara
/// may share it with Gnocchi 4.7's services.
pub fn check(client: &mut impl GenericClient) -> Result<()> {
    match revision(client)? {
        None => Err(Error::NoGnocchiSchema),
        Some(found) if found == REVISION => Ok(()),
        Some(found) => Err(Error::SchemaRevision { found }),
    }
}

/// Creates Gnocchi 4.7's schema on a database that has none, in one
/// transaction: the tables, the alembic revision, the `generic` resource
/// type and, with `default_policies`, the policies `bool`, `low`,
/// `medium`, `high` and the rule `default` (`*` → `low`).
pub fn create(client: &mut Client, default_policies: bool) -> Result<()> {
    let mut transaction = client.transaction()?;
    transaction.batch_execute(SCHEMA)?;
    transaction.execute(
        "INSERT INTO alembic_version (version_num) VALUES ($1)",
        &[&REVISION],
    )?;
    insert_generic(&mut transaction)?;
    if default_policies {
        insert_default_policies(&mut transaction)?;
    }
    transaction.commit()?;
    Ok(())
}

/// What `gnocchi-upgrade` does to the index: creates the schema on a
/// database that has none; on one at `REVISION`, adds the `generic`
/// resource type if it is missing; refuses any other revision. Then, with
/// `default_policies`, creates the default policies and rule if there are
/// neither policies nor rules. Returns whether the schema was created.
pub fn upgrade(client: &mut Client, default_policies: bool) -> Result<bool> {
    if revision(client)?.is_none() {
        create(client, default_policies)?;
        return Ok(true);
    }
    check(client)?;
    let mut transaction = client.transaction()?;
    insert_generic(&mut transaction)?;
    if default_policies {
        let policies: i64 = transaction
            .query_one(
                "SELECT (SELECT count(*) FROM archive_policy) + (SELECT count(*) FROM archive_policy_rule)",
                &[],
            )?
            .get(0);
        if policies == 0 {
            insert_default_policies(&mut transaction)?;
        }
    }
    transaction.commit()?;
    Ok(false)
}

/// The `generic` resource type, which has no table of its own; Gnocchi
/// ignores a duplicate. `updated_at` is naive UTC, as every Gnocchi time.
fn insert_generic(client: &mut impl GenericClient) -> Result<()> {
    client.execute(
        "INSERT INTO resource_type (name, tablename, attributes, state, updated_at)
         VALUES ('generic', 'generic', '{}', 'active', now() AT TIME ZONE 'UTC')
         ON CONFLICT DO NOTHING",
        &[],
    )?;
    Ok(())
}

fn insert_default_policies(client: &mut impl GenericClient) -> Result<()> {
    for policy in ArchivePolicy::defaults() {
        insert_policy(client, &policy)?;
    }
    let rule = ArchivePolicyRule::default_rule();
    client.execute(
        "INSERT INTO archive_policy_rule (name, archive_policy_name, metric_pattern)
         VALUES ($1, $2, $3)",
        &[&rule.name, &rule.archive_policy_name, &rule.metric_pattern],
    )?;
    Ok(())
}

/// A policy's row, written as `Policies::create_archive_policy` writes it
/// (postgres/policies.rs).
fn insert_policy(client: &mut impl GenericClient, policy: &ArchivePolicy) -> Result<()> {
    client.execute(
        "INSERT INTO archive_policy (name, back_window, definition, aggregation_methods)
         VALUES ($1, $2, $3::text::json, $4::text::json)",
        &[
            &policy.name,
            &policies::back_window(policy)?,
            &policies::definition_text(policy)?,
            &policies::methods_text(policy),
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_revisions_are_told_from_unknown_ones() {
        assert!(!OLDER_REVISIONS.contains(&REVISION));
        assert!(revision_advice("1e1a63d3d186").contains("run Gnocchi 4.7's gnocchi-upgrade"));
        assert!(revision_advice("0123456789ab").contains("does not know"));
    }
}
