//! The index of a Gnocchi deployment: Gnocchi 4.7's own PostgreSQL schema
//! (alembic revision `f89ed2e3c2ec`, spec: gnocchi-deployments.md §5;
//! `schema` makes and checks it), shared with a running gnocchi-api and
//! gnocchi-metricd. carbonara never
//! changes the base tables' shape; it writes rows as Gnocchi writes them
//! (naive UTC timestamps, native uuids, float-second definitions) and
//! follows Gnocchi's state machine for resource types.
//!
//! One connection per `PostgresIndex`; statements outside `transaction`
//! commit on their own. The only table carbonara adds is
//! `carbonara_index_commit`, the commit tokens of its file transactions
//! (store/txn.rs), made when first needed.

mod dialect;
// TEMPORARY (branch pglisting): branch pgmetrics implements these traits.
mod pending;
mod resources;
pub mod schema;

use std::cell::{Cell, RefCell, RefMut};

use postgres::{Client, NoTls};

use super::Commits;
use crate::store::{Error, Result};

/// The index in a Gnocchi deployment's PostgreSQL database.
pub struct PostgresIndex {
    client: RefCell<Client>,
    /// How many transactions are open (nested ones are savepoints).
    depth: Cell<u32>,
}

/// A Gnocchi indexer URL as the PostgreSQL client reads it: SQLAlchemy's
/// `postgresql+psycopg2://` names a Python driver, which means nothing
/// here.
pub fn client_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if scheme.starts_with("postgresql+") => {
            format!("postgresql://{rest}")
        }
        _ => url.to_owned(),
    }
}

/// `url` with the password of its user part replaced by `***`.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_part, host)) => match user_part.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{path}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

impl PostgresIndex {
    /// Connects to the deployment's database and checks that its schema
    /// is the one carbonara works on.
    pub fn connect(url: &str) -> Result<PostgresIndex> {
        let index = Self::connect_any_revision(url)?;
        schema::check(&mut *index.client())?;
        Ok(index)
    }

    /// Connects without looking at the schema (for `upgrade`).
    pub fn connect_any_revision(url: &str) -> Result<PostgresIndex> {
        let redacted = redacted_url(url);
        let connect_error = |reason: String| Error::PostgresConnect {
            url: redacted.clone(),
            reason,
        };
        let config: postgres::Config = client_url(url)
            .parse()
            .map_err(|e: postgres::Error| connect_error(e.to_string()))?;
        let client = config.connect(NoTls).map_err(|e| {
            connect_error(match e.as_db_error() {
                Some(db) => db.message().to_owned(),
                None => {
                    std::error::Error::source(&e).map_or_else(|| e.to_string(), ToString::to_string)
                }
            })
        })?;
        Ok(PostgresIndex {
            client: RefCell::new(client),
            depth: Cell::new(0),
        })
    }

    /// The connection, for one statement or a few in a row.
    pub(super) fn client(&self) -> RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    /// Whether the commit-token table exists yet.
    fn has_commit_table(&self) -> Result<bool> {
        let table: Option<String> = self
            .client()
            .query_one("SELECT to_regclass('carbonara_index_commit')::text", &[])?
            .get(0);
        Ok(table.is_some())
    }
}

impl Commits for PostgresIndex {
    fn transaction(&self, work: &mut dyn FnMut() -> Result<()>) -> Result<()> {
        let depth = self.depth.get();
        let savepoint = format!("carbonara_{depth}");
        self.client().batch_execute(&if depth == 0 {
            "BEGIN".to_owned()
        } else {
            format!("SAVEPOINT {savepoint}")
        })?;
        self.depth.set(depth + 1);
        let outcome = work();
        self.depth.set(depth);
        let end = match (&outcome, depth) {
            (Ok(()), 0) => "COMMIT".to_owned(),
            (Ok(()), _) => format!("RELEASE SAVEPOINT {savepoint}"),
            (Err(_), 0) => "ROLLBACK".to_owned(),
            (Err(_), _) => {
                format!("ROLLBACK TO SAVEPOINT {savepoint}; RELEASE SAVEPOINT {savepoint}")
            }
        };
        self.client().batch_execute(&end)?;
        outcome
    }

    fn record_commit(&self, token: &str) -> Result<()> {
        let mut client = self.client();
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS carbonara_index_commit (token varchar(32) PRIMARY KEY)",
        )?;
        client.execute(
            "INSERT INTO carbonara_index_commit (token) VALUES ($1)",
            &[&token],
        )?;
        Ok(())
    }

    fn is_committed(&self, token: &str) -> Result<bool> {
        if !self.has_commit_table()? {
            return Ok(false);
        }
        Ok(self
            .client()
            .query_opt(
                "SELECT 1 FROM carbonara_index_commit WHERE token = $1",
                &[&token],
            )?
            .is_some())
    }

    fn forget_commit(&self, token: &str) -> Result<()> {
        self.client().execute(
            "DELETE FROM carbonara_index_commit WHERE token = $1",
            &[&token],
        )?;
        Ok(())
    }

    /// The schema revision, and the two tables of every resource type.
    fn integrity_check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        if let Err(error) = schema::check(&mut *self.client()) {
            problems.push(error.to_string());
        }
        let rows = self.client().query(
            "SELECT name, tablename,
                    to_regclass(tablename)::text IS NOT NULL,
                    to_regclass(tablename || '_history')::text IS NOT NULL
             FROM resource_type WHERE name <> 'generic' ORDER BY name",
            &[],
        )?;
        for row in rows {
            let (name, table): (String, String) = (row.get(0), row.get(1));
            let (current, history): (bool, bool) = (row.get(2), row.get(3));
            for (exists, table) in [
                (current, table.clone()),
                (history, format!("{table}_history")),
            ] {
                if !exists {
                    problems.push(format!("resource type {name}: table {table} is missing"));
                }
            }
        }
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gnocchi_urls_lose_their_python_driver() {
        assert_eq!(
            client_url("postgresql+psycopg2://gnocchi:pw@db:5432/gnocchi"),
            "postgresql://gnocchi:pw@db:5432/gnocchi"
        );
        assert_eq!(
            client_url("postgresql://db/gnocchi"),
            "postgresql://db/gnocchi"
        );
    }

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(
            redacted_url("postgresql://gnocchi:s3cr@t@db:5432/gnocchi?sslmode=require"),
            "postgresql://gnocchi:***@db:5432/gnocchi?sslmode=require"
        );
        assert_eq!(
            redacted_url("postgresql://gnocchi@db/g"),
            "postgresql://gnocchi@db/g"
        );
        assert_eq!(redacted_url("postgresql:///g"), "postgresql:///g");
    }
}
