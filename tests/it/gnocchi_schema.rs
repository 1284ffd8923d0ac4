//! carbonara's `upgrade` of a PostgreSQL index against the real
//! gnocchi-upgrade's: `pg_dump` of what `schema::create` makes must be the
//! dump of tests/golden/gnocchi-schema/ (made by the real Gnocchi 4.7.1, see
//! its README), table for table and column for column, and so must the rows
//! it writes; deployments at another revision are refused.

use std::collections::BTreeMap;

use carbonara::store::index::postgres::schema;
use serde_json::Value;

use crate::common::golden_dir;
use crate::postgresql::{fresh_database, server};

fn golden(name: &str) -> String {
    std::fs::read_to_string(golden_dir().join("gnocchi-schema").join(name)).unwrap()
}

fn connect(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

fn database_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

/// A dump's statements, less what says nothing about the schema: comments
/// (the versions of the server and of pg_dump), blank lines, the session
/// settings pg_dump starts with and its `\restrict` key.
pub fn statements(dump: &str) -> Vec<&str> {
    dump.lines()
        .filter(|line| {
            !(line.is_empty()
                || line.starts_with("--")
                || line.starts_with("SET ")
                || line.starts_with("SELECT pg_catalog.set_config(")
                || line.starts_with("\\restrict ")
                || line.starts_with("\\unrestrict "))
        })
        .collect()
}

/// The values of an `INSERT INTO public.t VALUES (…);` line, as SQL
/// literals (`'text'` with `''` for a quote, numbers, `NULL`).
pub fn insert_values(line: &str) -> Option<(String, Vec<String>)> {
    let rest = line.strip_prefix("INSERT INTO public.")?;
    let (table, values) = rest.split_once(" VALUES (")?;
    let values = values.strip_suffix(");")?;
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = values.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if quoted && chars.peek() == Some(&'\'') => {
                field.push('\'');
                chars.next();
            }
            '\'' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field).trim().to_owned());
            }
            c => field.push(c),
        }
    }
    fields.push(field.trim().to_owned());
    Some((table.to_owned(), fields))
}

/// How old a row's time may be.
enum Written {
    /// By the real Gnocchi, when the golden data was made.
    Then,
    /// By the test, moments ago.
    Now,
}

/// The rows of a `pg_dump --data-only --inserts`, by table, plus its other
/// statements (`setval`), with what must vary normalised: a resource
/// type's `updated_at` (the time it was written, naive UTC) and the order
/// of a policy's aggregation methods (Gnocchi's is a Python set's).
fn rows(dump: &str, written: Written) -> (BTreeMap<String, Vec<Vec<String>>>, Vec<String>) {
    let mut tables: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut others = Vec::new();
    for line in statements(dump) {
        let Some((table, mut values)) = insert_values(line) else {
            others.push(line.to_owned());
            continue;
        };
        match table.as_str() {
            "resource_type" => {
                let updated_at =
                    chrono::NaiveDateTime::parse_from_str(&values[4], "%Y-%m-%d %H:%M:%S%.f")
                        .unwrap_or_else(|e| panic!("updated_at {:?}: {e}", values[4]));
                if let Written::Now = written {
                    let age = chrono::Utc::now().naive_utc() - updated_at;
                    assert!(
                        age.num_seconds().abs() < 600,
                        "updated_at {updated_at} is not the UTC time of now"
                    );
                }
                values[4] = "<updated_at>".to_owned();
            }
            "archive_policy" => {
                let mut methods: Vec<String> = serde_json::from_str(&values[3]).unwrap();
                methods.sort();
                values[3] = serde_json::to_string(&methods).unwrap();
            }
            _ => {}
        }
        tables.entry(table).or_default().push(values);
    }
    (tables, others)
}

#[test]
fn create_makes_the_schema_gnocchi_upgrade_makes() {
    let url = fresh_database("schema");
    let mut client = connect(&url);
    assert_eq!(schema::revision(&mut client).unwrap(), None);
    schema::create(&mut client, false).unwrap();
    let dump = server().pg_dump(
        database_name(&url),
        &["--schema-only", "--no-owner", "--no-privileges"],
    );
    let golden = golden("schema.sql");
    let (ours, theirs) = (statements(&dump), statements(&golden));
    for (n, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a, b,
            "statement line {n} differs from the real gnocchi-upgrade's\n\
             carbonara:\n{dump}"
        );
    }
    assert_eq!(ours.len(), theirs.len(), "carbonara:\n{dump}");
    assert_eq!(
        schema::revision(&mut client).unwrap().as_deref(),
        Some(schema::REVISION)
    );
    schema::check(&mut client).unwrap();
}

#[test]
fn create_writes_the_rows_gnocchi_upgrade_writes() {
    for (default_policies, file) in [(false, "data-no-policies.sql"), (true, "data-default.sql")] {
        let url = fresh_database("rows");
        let mut client = connect(&url);
        // Times are naive UTC whatever the session's time zone (UTC+14).
        client
            .batch_execute("SET TIME ZONE 'Pacific/Kiritimati'")
            .unwrap();
        schema::create(&mut client, default_policies).unwrap();
        let dump = server().pg_dump(database_name(&url), &["--data-only", "--inserts"]);
        assert_eq!(
            rows(&dump, Written::Now),
            rows(&golden(file), Written::Then),
            "{file}; carbonara:\n{dump}"
        );
    }
}

#[test]
fn policies_are_written_in_gnocchis_json_text() {
    // The `json` column keeps the text as written: the definition must be
    // Gnocchi's text byte for byte, not only the same JSON value.
    let url = fresh_database("policy_text");
    let mut client = connect(&url);
    schema::create(&mut client, true).unwrap();
    let (golden, _) = rows(&golden("data-default.sql"), Written::Then);
    for row in &golden["archive_policy"] {
        let stored: String = client
            .query_one(
                "SELECT definition::text FROM archive_policy WHERE name = $1",
                &[&row[0]],
            )
            .unwrap()
            .get(0);
        assert_eq!(stored, row[2], "{}", row[0]);
    }
    let methods: String = client
        .query_one(
            "SELECT aggregation_methods::text FROM archive_policy WHERE name = 'low'",
            &[],
        )
        .unwrap()
        .get(0);
    let methods: Value = serde_json::from_str(&methods).unwrap();
    assert_eq!(methods.as_array().unwrap().len(), 6);
}

#[test]
fn upgrade_creates_once_and_refuses_other_revisions() {
    let url = fresh_database("upgrade");
    let mut client = connect(&url);
    let message = schema::check(&mut client).unwrap_err().to_string();
    assert!(
        message.contains("no Gnocchi schema") && message.contains("gnocchi-upgrade"),
        "{message}"
    );

    assert!(schema::upgrade(&mut client, false).unwrap());
    let count = |client: &mut postgres::Client, table: &str| -> i64 {
        client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    };
    assert_eq!(count(&mut client, "archive_policy"), 0);
    // Like gnocchi-upgrade: an existing deployment gets the default
    // policies only while it has neither policies nor rules, and its
    // `generic` type back if it was removed.
    client
        .batch_execute("DELETE FROM resource_type WHERE name = 'generic'")
        .unwrap();
    assert!(!schema::upgrade(&mut client, true).unwrap());
    assert_eq!(count(&mut client, "archive_policy"), 4);
    assert_eq!(count(&mut client, "archive_policy_rule"), 1);
    assert_eq!(count(&mut client, "resource_type"), 1);
    client
        .batch_execute("DELETE FROM archive_policy_rule")
        .unwrap();
    assert!(!schema::upgrade(&mut client, true).unwrap());
    assert_eq!(count(&mut client, "archive_policy_rule"), 0);

    client
        .batch_execute("UPDATE alembic_version SET version_num = '1e1a63d3d186'")
        .unwrap();
    for error in [
        schema::check(&mut client).unwrap_err(),
        schema::upgrade(&mut client, true).unwrap_err(),
    ] {
        assert_eq!(
            error.to_string(),
            "index: Gnocchi schema at alembic revision 1e1a63d3d186, not f89ed2e3c2ec \
             (Gnocchi 4.7): an older Gnocchi's schema: run Gnocchi 4.7's gnocchi-upgrade on \
             this deployment first"
        );
        assert_eq!(error.kind(), carbonara::error::ErrorKind::Internal);
    }
    client
        .batch_execute("UPDATE alembic_version SET version_num = 'a1b2c3d4e5f6'")
        .unwrap();
    let message = schema::check(&mut client).unwrap_err().to_string();
    assert!(
        message.contains("revision a1b2c3d4e5f6") && message.contains("does not know"),
        "{message}"
    );
}

#[test]
fn a_failed_create_leaves_nothing_behind() {
    // One transaction: a database where a table of Gnocchi's name exists
    // already gets nothing at all.
    let url = fresh_database("partial");
    let mut client = connect(&url);
    client.batch_execute("CREATE TABLE metric (x int)").unwrap();
    let error = schema::create(&mut client, true).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("index: PostgreSQL: relation \"metric\" already exists"),
        "{error}"
    );
    let tables: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 1);
    assert_eq!(schema::revision(&mut client).unwrap(), None);
}
