//! Metrics on every index backend: lookups, listings, refusals, the
//! measures lost to the back window; on PostgreSQL the statements a pass
//! costs, metricd's columns, and two writers racing.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use carbonara::carbonara::update::Dropped;
use carbonara::store::index::DroppedTotal;
use carbonara::store::{Error, Index, Metric, MetricFilter, MetricStatus, Page, PostgresIndex};
use carbonara::time::Timestamp;
use uuid::Uuid;

use super::{backends, create_defaults, gnocchi_database, metric};
use crate::postgresql;

#[test]
fn metrics_are_found_by_id_and_name() {
    for backend in backends("metrics_found") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let a = metric("cpu", "low");
        let b = Metric {
            unit: Some("ns".to_owned()),
            creator: "user:project".to_owned(),
            ..metric("cpu", "medium")
        };
        index.create_metric(&a).unwrap();
        index.create_metric(&b).unwrap();
        assert_eq!(index.get_metric(a.id).unwrap(), Some(a.clone()), "{name}");
        assert_eq!(index.get_metric(b.id).unwrap(), Some(b.clone()), "{name}");
        assert_eq!(index.metrics_named("cpu").unwrap().len(), 2, "{name}");
        assert!(
            matches!(
                index.find_metric("cpu"),
                Err(Error::AmbiguousMetricName { count: 2, .. })
            ),
            "{name}"
        );
        index.mark_metric_deleted(a.id).unwrap();
        assert_eq!(index.get_metric(a.id).unwrap(), None, "{name}");
        assert_eq!(index.find_metric("cpu").unwrap(), b, "{name}");
        assert_eq!(
            index.deleted_metrics().unwrap(),
            [Metric {
                status: MetricStatus::Delete,
                ..a.clone()
            }],
            "{name}"
        );
        assert!(
            matches!(
                index.mark_metric_deleted(a.id),
                Err(Error::MetricNotFound(_))
            ),
            "{name}"
        );
        index.expunge_metric(a.id).unwrap();
        assert_eq!(index.deleted_metrics().unwrap(), [], "{name}");
        assert!(
            matches!(
                index.create_metric(&metric("x", "nope")),
                Err(Error::ArchivePolicyNotFound(policy)) if policy == "nope"
            ),
            "{name}"
        );
        let orphan = Metric {
            resource_id: Some(Uuid::new_v4()),
            ..metric("x", "low")
        };
        assert!(
            matches!(
                index.create_metric(&orphan),
                Err(Error::ResourceNotFound(id)) if id == orphan.resource_id.unwrap().to_string()
            ),
            "{name}"
        );
        assert!(
            matches!(
                index.create_metric(&Metric {
                    name: Some("other".to_owned()),
                    ..b.clone()
                }),
                Err(Error::MetricExists(id)) if id == b.id.to_string()
            ),
            "{name}"
        );
    }
}

/// A refusal is an outcome, not a failed transaction: on PostgreSQL an
/// SQL error would abort the transaction around it.
#[test]
fn refusals_leave_the_transaction_going() {
    for backend in backends("refusals_in_transaction") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let existing = metric("cpu", "low");
        index.create_metric(&existing).unwrap();
        let fresh = metric("mem", "low");
        index
            .atomically(|index| {
                let low = index.get_archive_policy("low")?;
                assert!(
                    matches!(
                        index.create_archive_policy(&low),
                        Err(Error::ArchivePolicyExists(_))
                    ),
                    "{name}"
                );
                assert!(
                    matches!(index.create_metric(&existing), Err(Error::MetricExists(_))),
                    "{name}"
                );
                assert!(
                    matches!(
                        index.create_metric(&metric("x", "nope")),
                        Err(Error::ArchivePolicyNotFound(_))
                    ),
                    "{name}"
                );
                assert!(
                    matches!(
                        index.delete_archive_policy("low"),
                        Err(Error::ArchivePolicyInUse(_))
                    ),
                    "{name}"
                );
                assert!(
                    matches!(index.rename_rule("a", "b"), Err(Error::RuleNotFound(_))),
                    "{name}"
                );
                index.create_metric(&fresh)
            })
            .unwrap();
        assert_eq!(index.get_metric(fresh.id).unwrap(), Some(fresh), "{name}");
    }
}

/// The metric whose id ends in `n`, so listings have a known id order.
fn numbered(
    n: u128,
    name: Option<&str>,
    unit: Option<&str>,
    policy: &str,
    creator: &str,
) -> Metric {
    Metric {
        id: Uuid::from_u128(0x5eed_0000_0000_0000_0000_0000_0000_0000 + n),
        name: name.map(str::to_owned),
        unit: unit.map(str::to_owned),
        archive_policy_name: policy.to_owned(),
        creator: creator.to_owned(),
        resource_id: None,
        status: MetricStatus::Active,
    }
}

fn page(sorts: &[&str], limit: Option<usize>, marker: Option<Uuid>) -> Page {
    Page {
        limit,
        marker: marker.map(|m| m.to_string()),
        sorts: sorts.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn metric_listings_sort_filter_and_page_alike() {
    let metrics = [
        numbered(1, Some("cpu"), Some("ns"), "low", "u1:p1"),
        numbered(2, None, None, "medium", "u2:p2"),
        numbered(3, Some("disk"), Some("B"), "low", "u3:p_1"),
        numbered(4, Some("cpu"), None, "high", "u4:px1"),
        numbered(5, Some("mem"), Some("B"), "medium", "u1:p1"),
        numbered(6, None, Some("ns"), "low", "admin"),
        numbered(7, Some("gone"), None, "low", "admin"),
    ];
    let n = |m: &Metric| (m.id.as_u128() & 0xff) as u8;
    let unpaged: &[(&[&str], &[u8])] = &[
        (&[], &[1, 2, 3, 4, 5, 6]),
        (&["id:desc"], &[6, 5, 4, 3, 2, 1]),
        (&["name:asc"], &[1, 4, 3, 5, 2, 6]),
        (&["name:desc"], &[2, 6, 5, 3, 1, 4]),
        (&["name:asc-nullsfirst"], &[2, 6, 1, 4, 3, 5]),
        (&["unit:desc-nullslast", "name"], &[1, 6, 3, 5, 4, 2]),
        (
            &["archive_policy_name", "creator:desc"],
            &[4, 3, 1, 6, 2, 5],
        ),
        (&["creator", "id:desc"], &[6, 5, 1, 2, 3, 4]),
        (&["status", "resource_id"], &[1, 2, 3, 4, 5, 6]),
    ];
    let filters: Vec<(MetricFilter, &[u8])> = vec![
        (
            MetricFilter {
                name: Some("cpu".into()),
                ..MetricFilter::default()
            },
            &[1, 4],
        ),
        (
            MetricFilter {
                unit: Some("B".into()),
                archive_policy_name: Some("medium".into()),
                ..MetricFilter::default()
            },
            &[5],
        ),
        (
            MetricFilter {
                creator: Some("u1:p1".into()),
                ..MetricFilter::default()
            },
            &[1, 5],
        ),
        (
            MetricFilter {
                id: Some(metrics[2].id.to_string()),
                ..MetricFilter::default()
            },
            &[3],
        ),
        // The index compares ids as its lowercase text.
        (
            MetricFilter {
                id: Some(metrics[2].id.to_string().to_uppercase()),
                ..MetricFilter::default()
            },
            &[],
        ),
        // `_` in a project is a character, not a LIKE wildcard.
        (
            MetricFilter {
                visible_to_project: Some("p_1".into()),
                ..MetricFilter::default()
            },
            &[3],
        ),
        (
            MetricFilter {
                name: Some("gone".into()),
                ..MetricFilter::default()
            },
            &[],
        ),
    ];
    let mut outcomes: Vec<(&str, Vec<String>)> = Vec::new();
    for backend in backends("metric_listings") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        for metric in &metrics {
            index.create_metric(metric).unwrap();
        }
        index.mark_metric_deleted(metrics[6].id).unwrap();
        let list = |filter: &MetricFilter, page: &Page| -> Vec<u8> {
            index
                .list_metrics(filter, page)
                .unwrap_or_else(|e| panic!("{name}: {page:?}: {e}"))
                .iter()
                .map(n)
                .collect()
        };
        let all = MetricFilter::default();
        let mut seen = Vec::new();
        for (sorts, expected) in unpaged {
            let found = list(&all, &page(sorts, None, None));
            assert_eq!(found, *expected, "{name}: {sorts:?}");
            // Page by page, two at a time, from each page's last metric.
            let mut paged = Vec::new();
            let mut marker = None;
            loop {
                let chunk = index
                    .list_metrics(&all, &page(sorts, Some(2), marker))
                    .unwrap();
                paged.extend(chunk.iter().map(n));
                match chunk.last() {
                    Some(last) if chunk.len() == 2 => marker = Some(last.id),
                    _ => break,
                }
            }
            seen.push(format!("{sorts:?}: {paged:?}"));
            assert_eq!(
                list(&all, &page(sorts, Some(3), None)),
                expected[..3],
                "{name}: {sorts:?}"
            );
        }
        // oslo.db's quirks, kept: a marker whose sort value is null adds no
        // criterion on that key, so the page after metric 2 (no name) by
        // name is every metric with a larger id; and after metric 1 (cpu),
        // `name > 'cpu'` leaves the unnamed ones out.
        assert_eq!(
            list(&all, &page(&["name"], None, Some(metrics[1].id))),
            [4, 3, 5, 6],
            "{name}"
        );
        assert_eq!(
            list(&all, &page(&["name"], None, Some(metrics[0].id))),
            [4, 3, 5],
            "{name}"
        );
        for (filter, expected) in &filters {
            assert_eq!(
                list(filter, &Page::default()),
                *expected,
                "{name}: {filter:?}"
            );
        }
        // A marker must be a row the listing shows.
        let cpu = &filters[0].0;
        assert_eq!(
            list(cpu, &page(&[], None, Some(metrics[0].id))),
            [4],
            "{name}"
        );
        let errors: Vec<String> = [
            (all.clone(), page(&["bogus"], None, None)),
            (all.clone(), page(&["name:sideways"], None, None)),
            (all.clone(), page(&["name:asc-nullsmiddle"], None, None)),
            (
                all.clone(),
                Page {
                    marker: Some("not-a-uuid".into()),
                    ..Page::default()
                },
            ),
            (all.clone(), page(&[], None, Some(metrics[6].id))),
            (cpu.clone(), page(&[], None, Some(metrics[2].id))),
        ]
        .iter()
        .map(|(filter, page)| index.list_metrics(filter, page).unwrap_err().to_string())
        .collect();
        assert_eq!(
            errors[..2],
            [
                "Invalid pagination: `Sort key supplied is invalid: bogus'",
                "Invalid pagination: `Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast'",
            ],
            "{name}"
        );
        assert_eq!(errors[2], errors[1], "{name}");
        assert_eq!(
            errors[3], "Invalid pagination: `Invalid marker: `not-a-uuid''",
            "{name}"
        );
        for error in &errors[4..] {
            assert!(error.contains("Invalid marker"), "{name}: {error}");
        }
        seen.extend(errors);
        outcomes.push((name, seen));
    }
    let (first, rest) = outcomes.split_first().unwrap();
    for other in rest {
        assert_eq!(
            first.1, other.1,
            "paged listings: {} and {} differ",
            first.0, other.0
        );
    }
}

#[test]
fn active_metrics_are_found_among_many() {
    for backend in backends("active_metrics") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let metrics: Vec<Metric> = (0..40).map(|i| metric(&format!("m{i}"), "low")).collect();
        for metric in &metrics {
            index.create_metric(metric).unwrap();
        }
        for metric in &metrics[..10] {
            index.mark_metric_deleted(metric.id).unwrap();
        }
        let unknown = Uuid::new_v4();
        let mut ids: Vec<Uuid> = metrics.iter().map(|m| m.id).collect();
        ids.push(unknown);
        ids.push(metrics[20].id);
        let found = index.active_metrics(&ids).unwrap();
        assert_eq!(found.len(), 30, "{name}");
        for metric in &metrics[10..] {
            assert_eq!(found.get(&metric.id), Some(metric), "{name}");
        }
        assert!(index.active_metrics(&[]).unwrap().is_empty(), "{name}");
    }
}

/// A PostgreSQL index whose connection writes each statement it runs to
/// the test server's log (`log_statement = all` on its database).
struct Logged {
    index: Index,
    log: PathBuf,
    pid: i32,
}

impl Logged {
    fn connect(url: &str) -> Logged {
        let mut admin = postgres::Client::connect(url, postgres::NoTls).unwrap();
        let database: String = admin
            .query_one("SELECT current_database()", &[])
            .unwrap()
            .get(0);
        admin
            .batch_execute(&format!(
                "ALTER DATABASE \"{database}\" SET log_statement = 'all'"
            ))
            .unwrap();
        let index = Index::new(
            PostgresIndex::connect(&format!("{url}?application_name=logged_index")).unwrap(),
        );
        let pid: i32 = admin
            .query_one(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND application_name = 'logged_index'",
                &[],
            )
            .unwrap()
            .get(0);
        let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap();
        let log = postgresql::server()
            .dir()
            .join(format!("postgres-{port}.log"));
        assert!(log.exists(), "no server log at {}", log.display());
        Logged { index, log, pid }
    }

    /// The statements the index ran during `work`.
    fn statements(&self, work: impl FnOnce(&Index)) -> Vec<String> {
        let before = std::fs::metadata(&self.log).unwrap().len() as usize;
        work(&self.index);
        let text = std::fs::read(&self.log).unwrap();
        let tag = format!("[{}] LOG:  ", self.pid);
        String::from_utf8_lossy(&text[before..])
            .lines()
            .filter_map(|line| Some(line.split_once(&tag)?.1.to_owned()))
            .filter(|entry| entry.starts_with("statement: ") || entry.starts_with("execute "))
            .collect()
    }
}

#[test]
fn a_pass_reads_and_marks_its_metrics_in_one_statement_each() {
    let url = gnocchi_database("batched_metrics");
    let logged = Logged::connect(&url);
    create_defaults(&logged.index);
    let metrics: Vec<Metric> = (0..50).map(|i| metric(&format!("m{i}"), "low")).collect();
    for metric in &metrics {
        logged.index.create_metric(metric).unwrap();
    }
    let ids: Vec<Uuid> = metrics.iter().map(|m| m.id).collect();
    let reads = logged.statements(|index| {
        assert_eq!(index.active_metrics(&ids).unwrap().len(), 50);
    });
    assert_eq!(reads.len(), 1, "{reads:#?}");
    assert!(reads[0].contains("ANY($1)"), "{reads:#?}");
    let writes = logged.statements(|index| {
        index
            .record_processed(&ids, Timestamp::from_nanos(1_700_000_000_000_000_000))
            .unwrap();
    });
    assert_eq!(writes.len(), 1, "{writes:#?}");
    let creates = logged.statements(|index| {
        index.create_metric(&metric("one", "low")).unwrap();
    });
    assert_eq!(creates.len(), 1, "{creates:#?}");
}

/// `get_metric_and_policy` gives the metric and, on PostgreSQL, its policy
/// from the same statement, prepared once on the connection.
#[test]
fn a_metric_and_its_policy_are_one_lookup() {
    for backend in backends("metric_and_policy") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let m = metric("cpu", "medium");
        index.create_metric(&m).unwrap();
        let (found, policy) = index.get_metric_and_policy(m.id).unwrap().unwrap();
        assert_eq!(found, m, "{name}");
        if let Some(policy) = policy {
            assert_eq!(
                policy,
                index.get_archive_policy("medium").unwrap(),
                "{name}"
            );
        }
        assert_eq!(
            index.get_metric_and_policy(Uuid::new_v4()).unwrap(),
            None,
            "{name}"
        );
        index.mark_metric_deleted(m.id).unwrap();
        assert_eq!(index.get_metric_and_policy(m.id).unwrap(), None, "{name}");
    }
    let logged = Logged::connect(&gnocchi_database("metric_and_policy_logged"));
    create_defaults(&logged.index);
    let m = metric("cpu", "high");
    logged.index.create_metric(&m).unwrap();
    let lookups = logged.statements(|index| {
        for _ in 0..3 {
            let (_, policy) = index.get_metric_and_policy(m.id).unwrap().unwrap();
            assert_eq!(policy.unwrap(), index.get_archive_policy("high").unwrap());
        }
    });
    let joined: Vec<&String> = lookups
        .iter()
        .filter(|s| s.contains("m.archive_policy_name"))
        .collect();
    assert_eq!(joined.len(), 3, "{lookups:#?}");
    assert!(
        lookups.iter().all(|s| s.starts_with("execute s")),
        "every lookup a prepared statement: {lookups:#?}"
    );
}

#[test]
fn processed_metrics_are_marked_in_gnocchis_columns() {
    for backend in backends("processed_any") {
        create_defaults(&backend.index);
        let m = metric("cpu", "low");
        backend.index.create_metric(&m).unwrap();
        backend
            .index
            .record_processed(&[m.id], Timestamp::from_nanos(0))
            .unwrap();
        backend
            .index
            .record_processed(&[], Timestamp::from_nanos(0))
            .unwrap();
        assert_eq!(
            backend.index.get_metric(m.id).unwrap(),
            Some(m),
            "{}",
            backend.name
        );
    }

    let url = gnocchi_database("processed");
    let index = Index::new(PostgresIndex::connect(&url).unwrap());
    create_defaults(&index);
    let (done, waiting) = (metric("done", "low"), metric("waiting", "low"));
    index.create_metric(&done).unwrap();
    index.create_metric(&waiting).unwrap();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut columns = |id: Uuid| -> (bool, String) {
        let row = client
            .query_one(
                "SELECT needs_raw_data_truncation, last_measure_timestamp::text
                 FROM metric WHERE id = $1",
                &[&id],
            )
            .unwrap();
        (row.get(0), row.get(1))
    };
    // Gnocchi's defaults on insert: to be truncated, pushed at insertion.
    let (truncate, _) = columns(done.id);
    assert!(truncate);
    let untouched = columns(waiting.id);
    assert!(untouched.0);
    // 2023-11-14T22:13:20.123456789Z, kept to the microsecond, naive UTC.
    let now = Timestamp::from_nanos(1_700_000_000_123_456_789);
    index.record_processed(&[done.id], now).unwrap();
    assert_eq!(
        columns(done.id),
        (false, "2023-11-14 22:13:20.123456".to_owned())
    );
    assert_eq!(columns(waiting.id), untouched);
}

#[test]
fn back_window_drops_add_up_per_metric() {
    let at = Timestamp::from_nanos;
    for backend in backends("dropped") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let (a, b) = (metric("a", "low"), metric("b", "low"));
        index.create_metric(&a).unwrap();
        index.create_metric(&b).unwrap();
        assert_eq!(index.dropped_measures(None).unwrap(), [], "{name}");
        index.record_dropped(&[]).unwrap();
        assert_eq!(index.dropped_measures(Some(a.id)).unwrap(), [], "{name}");
        let drop = |measures, accepts_from| Dropped {
            measures,
            accepts_from: at(accepts_from),
        };
        index
            .record_dropped(&[
                (a.id, drop(3, 10)),
                (b.id, drop(1, 20)),
                (a.id, drop(2, 30)),
            ])
            .unwrap();
        index.record_dropped(&[(a.id, drop(1, 40))]).unwrap();
        let total = |metric: &Metric, measures, accepts_from| DroppedTotal {
            metric: metric.id,
            measures,
            accepts_from: at(accepts_from),
        };
        let mut expected = vec![total(&a, 6, 40), total(&b, 1, 20)];
        expected.sort_by_key(|t| t.metric);
        assert_eq!(index.dropped_measures(None).unwrap(), expected, "{name}");
        assert_eq!(
            index.dropped_measures(Some(b.id)).unwrap(),
            [total(&b, 1, 20)],
            "{name}"
        );
        // A deleted metric's count is hidden, and goes with the metric.
        index.mark_metric_deleted(a.id).unwrap();
        assert_eq!(
            index.dropped_measures(None).unwrap(),
            [total(&b, 1, 20)],
            "{name}"
        );
        index.expunge_metric(a.id).unwrap();
        index.create_metric(&a).unwrap();
        assert_eq!(index.dropped_measures(Some(a.id)).unwrap(), [], "{name}");
    }
}

/// Two PostgreSQL connections create the same metric: the second insert
/// waits for the first's transaction, then, if it committed, the second
/// is told the metric exists; if it rolled back, the second creates it.
#[test]
fn racing_creations_of_one_metric_make_one_metric() {
    for commit in [true, false] {
        let url = gnocchi_database("metric_race");
        let first = Index::new(PostgresIndex::connect(&url).unwrap());
        create_defaults(&first);
        let second = PostgresIndex::connect(&url).unwrap();
        let mut watcher = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let m = metric("cpu", "low");
        let (finished, racer_done) = mpsc::channel();
        let mut racer = None;
        let outcome = first.atomically_once(|index| {
            index.create_metric(&m)?;
            let m = m.clone();
            racer = Some(std::thread::spawn(move || {
                let outcome = Index::new(second).create_metric(&m);
                finished.send(()).unwrap();
                outcome
            }));
            // The second insert is blocked on this transaction's row.
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let waiting: i64 = watcher
                    .query_one(
                        "SELECT count(*) FROM pg_stat_activity
                         WHERE datname = current_database() AND wait_event_type = 'Lock'",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                if waiting == 1 {
                    break;
                }
                assert!(Instant::now() < deadline, "the second insert never waited");
                std::thread::sleep(Duration::from_millis(10));
            }
            assert!(
                racer_done.try_recv().is_err(),
                "the second insert did not wait"
            );
            if commit {
                Ok(())
            } else {
                Err(Error::IndexData("rolled back by the test".to_owned()))
            }
        });
        assert_eq!(outcome.is_ok(), commit, "{outcome:?}");
        let second_outcome = racer.unwrap().join().unwrap();
        if commit {
            assert!(
                matches!(&second_outcome, Err(Error::MetricExists(id)) if *id == m.id.to_string()),
                "{second_outcome:?}"
            );
        } else {
            assert!(second_outcome.is_ok(), "{second_outcome:?}");
        }
        assert_eq!(first.get_metric(m.id).unwrap(), Some(m), "commit: {commit}");
    }
}

/// `set_metric_archive_policy` (a metric moved to another policy): the
/// metric's policy changes on every backend; an unknown policy, a deleted
/// or unknown metric are refused and change nothing.
#[test]
fn a_metric_moves_to_another_policy() {
    for backend in backends("metric_moves") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        let m = metric("cpu", "low");
        index.create_metric(&m).unwrap();
        index.set_metric_archive_policy(m.id, "high").unwrap();
        let moved = index.get_metric(m.id).unwrap().unwrap();
        assert_eq!(moved.archive_policy_name, "high", "{name}");
        let (_, policy) = index.get_metric_and_policy(m.id).unwrap().unwrap();
        if let Some(policy) = policy {
            assert_eq!(policy.name, "high", "{name}");
        }
        assert!(
            matches!(
                index.set_metric_archive_policy(m.id, "nope"),
                Err(Error::ArchivePolicyNotFound(policy)) if policy == "nope"
            ),
            "{name}"
        );
        assert!(
            matches!(
                index.set_metric_archive_policy(Uuid::new_v4(), "low"),
                Err(Error::MetricNotFound(_))
            ),
            "{name}"
        );
        index.mark_metric_deleted(m.id).unwrap();
        assert!(
            matches!(
                index.set_metric_archive_policy(m.id, "low"),
                Err(Error::MetricNotFound(_))
            ),
            "{name}"
        );
        assert_eq!(
            index.deleted_metrics().unwrap()[0].archive_policy_name,
            "high",
            "{name}"
        );
    }
}
