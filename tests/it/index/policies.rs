//! Archive policies and rules on every index backend, and on PostgreSQL
//! the rows as Gnocchi's own gnocchi-upgrade writes and reads them.

use carbonara::policy::{AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition};
use carbonara::store::{Error, Index, PostgresIndex};
use carbonara::time::Span;

use super::{backends, create_defaults, gnocchi_database, metric};

fn item(granularity_nanos: i64, points: Option<i64>) -> Definition {
    Definition::new(Some(Span::from_nanos(granularity_nanos)), points, None).unwrap()
}

#[test]
fn policies_round_trip_exactly() {
    for backend in backends("policies_round_trip") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        for policy in ArchivePolicy::defaults() {
            assert_eq!(
                index.get_archive_policy(&policy.name).unwrap(),
                policy,
                "{name}"
            );
        }
        // Sub-second and nanosecond spans that Gnocchi's float seconds hold.
        let fine = ArchivePolicy::new(
            "fine",
            0,
            vec![item(100_000_000, Some(10)), item(1, None)],
            AggregationMethod::defaults(),
        )
        .unwrap();
        index.create_archive_policy(&fine).unwrap();
        assert_eq!(index.get_archive_policy("fine").unwrap(), fine, "{name}");
        assert!(
            matches!(
                index.create_archive_policy(&fine),
                Err(Error::ArchivePolicyExists(_))
            ),
            "{name}"
        );
        let names: Vec<String> = index
            .list_archive_policies()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["bool", "fine", "high", "low", "medium"], "{name}");

        // 0.1 s × 3 points: SQLite keeps nanoseconds; Gnocchi would store
        // 0.1 and 0.3 and refuse its own row (0.1 × 3 ≠ 0.3 in floats).
        let three = ArchivePolicy::new(
            "three",
            0,
            vec![item(100_000_000, Some(3))],
            AggregationMethod::defaults(),
        )
        .unwrap();
        match (name, index.create_archive_policy(&three)) {
            ("sqlite", Ok(())) => assert_eq!(index.get_archive_policy("three").unwrap(), three),
            ("postgresql", Err(Error::UnrepresentablePolicy { name, .. })) => {
                assert_eq!(name, "three");
                assert!(matches!(
                    index.get_archive_policy("three"),
                    Err(Error::ArchivePolicyNotFound(_))
                ));
            }
            (name, outcome) => panic!("{name}: creating 0.1 s × 3 points gave {outcome:?}"),
        }

        let mut updated = fine.clone();
        updated.back_window = 7;
        updated.definition = vec![item(100_000_000, Some(20)), item(1, Some(5))];
        index.update_archive_policy(&updated).unwrap();
        assert_eq!(index.get_archive_policy("fine").unwrap(), updated, "{name}");
        updated.name = "nope".to_owned();
        assert!(
            matches!(
                index.update_archive_policy(&updated),
                Err(Error::ArchivePolicyNotFound(_))
            ),
            "{name}"
        );
    }
}

#[test]
fn policies_in_use_cannot_be_deleted() {
    for backend in backends("policies_in_use") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let m = metric("cpu", "low");
        index.create_metric(&m).unwrap();
        let err = index.delete_archive_policy("low").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Archive policy low is still in use",
            "{name}"
        );
        index.mark_metric_deleted(m.id).unwrap();
        assert!(
            matches!(
                index.delete_archive_policy("low"),
                Err(Error::ArchivePolicyInUse(_))
            ),
            "{name}"
        );
        index.expunge_metric(m.id).unwrap();
        index.delete_archive_policy("low").unwrap();
        assert!(
            matches!(
                index.delete_archive_policy("low"),
                Err(Error::ArchivePolicyNotFound(_))
            ),
            "{name}"
        );
    }
}

#[test]
fn rules_need_their_policy() {
    for backend in backends("rules_need_policy") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let rule = ArchivePolicyRule {
            name: "disk".into(),
            metric_pattern: "disk.*".into(),
            archive_policy_name: "high".into(),
        };
        index.create_rule(&rule).unwrap();
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        assert!(
            matches!(index.create_rule(&rule), Err(Error::RuleExists(_))),
            "{name}"
        );
        let orphan = ArchivePolicyRule {
            name: "orphan".into(),
            metric_pattern: "x".into(),
            archive_policy_name: "nope".into(),
        };
        assert!(
            matches!(
                index.create_rule(&orphan),
                Err(Error::ArchivePolicyNotFound(policy)) if policy == "nope"
            ),
            "{name}"
        );
        let names: Vec<String> = index
            .list_rules()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["disk", "default"], "{name}");
        assert!(
            matches!(
                index.delete_archive_policy("high"),
                Err(Error::ArchivePolicyInUse(_))
            ),
            "{name}"
        );
        let err = index.rename_rule("disk", "default").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Archive policy rule disk does not support change: Archive policy rule default already exists.",
            "{name}"
        );
        assert!(
            matches!(
                index.rename_rule("nope", "other"),
                Err(Error::RuleNotFound(_))
            ),
            "{name}"
        );
        index.rename_rule("disk", "disk").unwrap();
        index.rename_rule("disk", "disks").unwrap();
        assert_eq!(
            index.get_rule("disks").unwrap().metric_pattern,
            "disk.*",
            "{name}"
        );
        index.rename_rule("disks", "disk").unwrap();
        index.delete_rule("disk").unwrap();
        assert!(
            matches!(index.get_rule("disk"), Err(Error::RuleNotFound(_))),
            "{name}"
        );
        assert!(
            matches!(index.delete_rule("disk"), Err(Error::RuleNotFound(_))),
            "{name}"
        );
        assert_eq!(
            index.archive_policy_for(Some("anything")).unwrap(),
            "low",
            "{name}"
        );
    }
}

/// The `INSERT` lines of a table in tests/golden/gnocchi-schema/data-default.sql.
fn golden_inserts(table: &str) -> Vec<String> {
    let path = format!(
        "{}/tests/golden/gnocchi-schema/data-default.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    let prefix = format!("INSERT INTO public.{table} VALUES (");
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .filter(|line| line.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

/// An `archive_policy` INSERT with its aggregation methods (the last
/// value, a JSON list) sorted: Gnocchi writes them in a Python set's
/// order, which hash randomisation changes from run to run.
fn methods_sorted(insert: &str) -> String {
    let start = insert.rfind("'[").expect("a JSON list of methods") + 1;
    let end = insert.rfind("]'").expect("a JSON list of methods") + 1;
    let mut methods: Vec<String> = serde_json::from_str(&insert[start..end]).unwrap();
    methods.sort();
    let list: Vec<String> = methods.iter().map(|m| format!("\"{m}\"")).collect();
    format!(
        "{}[{}]{}",
        &insert[..start],
        list.join(", "),
        &insert[end..]
    )
}

#[test]
fn default_policies_are_stored_as_gnocchi_upgrade_stores_them() {
    let url = gnocchi_database("golden_policies");
    let index = Index::new(PostgresIndex::connect(&url).unwrap());
    create_defaults(&index);
    index
        .create_rule(&ArchivePolicyRule::default_rule())
        .unwrap();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut rows = |sql: &str| -> Vec<String> {
        let mut rows: Vec<String> = client
            .query(sql, &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        rows.sort();
        rows
    };
    let policies = rows(
        "SELECT format('INSERT INTO public.archive_policy VALUES (%L, %s, %L, %L);',
                       name, back_window, definition, aggregation_methods)
         FROM archive_policy",
    );
    let rules = rows(
        "SELECT format('INSERT INTO public.archive_policy_rule VALUES (%L, %L, %L);',
                       name, archive_policy_name, metric_pattern)
         FROM archive_policy_rule",
    );
    let mut expected: Vec<String> = golden_inserts("archive_policy")
        .iter()
        .map(|insert| methods_sorted(insert))
        .collect();
    expected.sort();
    assert_eq!(expected.len(), 4);
    assert_eq!(policies, expected);
    assert_eq!(rules, golden_inserts("archive_policy_rule"));
}

#[test]
fn policies_gnocchi_upgrade_stored_are_read_as_carbonaras_defaults() {
    let url = gnocchi_database("golden_policies_read");
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    for insert in golden_inserts("archive_policy")
        .iter()
        .chain(&golden_inserts("archive_policy_rule"))
    {
        client.batch_execute(insert).unwrap();
    }
    let index = Index::new(PostgresIndex::connect(&url).unwrap());
    let mut defaults = ArchivePolicy::defaults();
    defaults.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(index.list_archive_policies().unwrap(), defaults);
    assert_eq!(
        index.list_rules().unwrap(),
        [ArchivePolicyRule::default_rule()]
    );
}
