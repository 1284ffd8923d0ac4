//! The index of a Gnocchi deployment: Gnocchi 4.7's own PostgreSQL schema
//! (alembic revision `f89ed2e3c2ec`, spec: gnocchi-deployments.md §5;
//! `schema` makes and checks it), shared with a running gnocchi-api and
//! gnocchi-metricd. carbonara never changes the base tables' shape; it
//! writes rows as Gnocchi writes them (naive UTC timestamps, native uuids,
//! float-second definitions) and follows Gnocchi's state machine for
//! resource types.
//!
//! One connection per `PostgresIndex`; statements outside `transaction`
//! commit on their own. The tables carbonara adds are
//! `carbonara_index_commit`, the commit tokens of its file transactions
//! (store/txn.rs), and `carbonara_dropped_measures` (postgres/dropped.rs),
//! each made when first needed.
//!
//! Archive policies and rules are in postgres/policies.rs, metrics in
//! postgres/metrics.rs, back-window drops in postgres/dropped.rs, resource
//! types and resources in postgres/resources.rs (searched through the
//! shared listing builder in PostgreSQL's dialect, postgres/dialect.rs).
//! Expected refusals (a name taken, a policy in use) are found without an
//! SQL error wherever a statement can tell, since an error aborts the
//! transaction around it; the constraints Gnocchi's schema declares still
//! decide when two writers race, and their violations are turned into the
//! same refusals.

mod dialect;
mod dropped;
mod metrics;
mod policies;
mod resources;
pub mod schema;

use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::time::Duration;

use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Statement};

use super::Commits;
use crate::deployment::DatabaseUrl;
use crate::store::{Error, Result, pg_connection};

/// The name of the constraint a statement violated (SQLSTATE class 23,
/// integrity constraint violation), if that is why it failed.
fn violated_constraint(error: &postgres::Error) -> Option<&str> {
    error
        .as_db_error()
        .filter(|db| db.code().code().starts_with("23"))
        .and_then(|db| db.constraint())
}

/// The index in a Gnocchi deployment's PostgreSQL database.
pub struct PostgresIndex {
    client: RefCell<Client>,
    /// How many transactions are open (nested ones are savepoints).
    depth: Cell<u32>,
    /// The lookups prepared on this connection, by SQL text (see
    /// `query_prepared`).
    prepared: RefCell<HashMap<String, Statement>>,
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
        let url = DatabaseUrl::parse(url).map_err(|e| Error::BadBackend {
            what: "index",
            url: "(hidden: not a URL)".to_owned(),
            reason: e.0.to_owned(),
        })?;
        let client = pg_connection::connect_index(&url)?;
        Ok(PostgresIndex {
            client: RefCell::new(client),
            depth: Cell::new(0),
            prepared: RefCell::new(HashMap::new()),
        })
    }

    /// The connection, for one statement or a few in a row.
    pub(super) fn client(&self) -> RefMut<'_, Client> {
        self.client.borrow_mut()
    }

    /// The rows of one statement whose parameters' types are given, so that
    /// it costs one round trip (no separate prepare).
    fn query(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.client().query_typed(sql, params)
    }

    /// The rows of a lookup that requests make over and over (a metric by
    /// id, a policy by name): prepared the first time on this connection,
    /// then only bound and executed, one round trip in which PostgreSQL
    /// neither parses nor plans it again. For the statements of a fixed
    /// set of texts on Gnocchi's base tables, whose shape never changes
    /// under a connection; any other goes through `query`.
    fn query_prepared(
        &self,
        sql: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let known = self.prepared.borrow().get(sql).cloned();
        let statement = match known {
            Some(statement) => statement,
            None => {
                let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
                let statement = self.client().prepare_typed(sql, &types)?;
                self.prepared
                    .borrow_mut()
                    .insert(sql.to_owned(), statement.clone());
                statement
            }
        };
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        self.client().query(&statement, &values)
    }

    /// Runs `work` in one transaction, or a savepoint of the open one.
    fn transaction_once(&self, work: &mut dyn FnMut() -> Result<()>) -> Result<()> {
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

    /// Creates one of carbonara's own tables (`CREATE TABLE IF NOT
    /// EXISTS`) under an advisory lock held to the end of the transaction:
    /// two processes that both found it missing create it one after the
    /// other rather than fail on the catalog's unique keys. tooz's lock keys
    /// are two bytes each; this first key ("carb" in ASCII) is far from
    /// them.
    pub(super) fn create_own_table(&self, create: &str) -> Result<()> {
        self.client().batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(1667330658, 1); {create}"
        ))?;
        Ok(())
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

/// PostgreSQL's SQLSTATEs for a transaction chosen as a deadlock's victim
/// and for one that could not be serialized: both may simply run again.
const DEADLOCK: &str = "40P01";
const SERIALIZATION_FAILURE: &str = "40001";
/// How many times a transaction runs at most (oslo.db's `max_retries`).
const DEADLOCK_TRIES: u32 = 20;

impl Commits for PostgresIndex {
    fn transaction(&self, work: &mut dyn FnMut() -> Result<()>, rerun: bool) -> Result<()> {
        if !rerun || self.depth.get() > 0 {
            return self.transaction_once(work);
        }
        // oslo.db's wrap_db_retry, as Gnocchi's indexer uses it: 20 tries,
        // 0.1 s doubling to 2 s between them.
        let mut pause = Duration::from_millis(100);
        for _ in 1..DEADLOCK_TRIES {
            match self.transaction_once(work) {
                Err(Error::Postgres {
                    code: Some(code), ..
                }) if code == DEADLOCK || code == SERIALIZATION_FAILURE => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                outcome => return outcome,
            }
        }
        self.transaction_once(work)
    }

    fn record_commit(&self, token: &str) -> Result<()> {
        if !self.has_commit_table()? {
            self.create_own_table(
                "CREATE TABLE IF NOT EXISTS carbonara_index_commit (token varchar(32) PRIMARY KEY)",
            )?;
        }
        self.client().execute(
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
