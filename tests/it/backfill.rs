//! `ingest … --backfill [--replace]`: history older than the back window
//! aggregated into the periods that hold nothing, the same bytes as had it
//! come in time; periods already aggregated refused or replaced.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use predicates::str::contains;

use crate::common::{TestStore, copy_dir, stderr_of, tree};
use crate::crash::{archive_snapshot, kill_delays, killed_copy, run_ok};

/// 1 min, 5 min and 1 h, with a rate and a percentile; back window 0.
fn store_with_metric() -> TestStore {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-d",
            "granularity:1m,timespan:30d",
            "-d",
            "granularity:5m,timespan:90d",
            "-d",
            "granularity:1h,timespan:365d",
            "-m",
            "mean",
            "-m",
            "max",
            "-m",
            "rate:mean",
            "-m",
            "90pct",
            "-m",
            "std",
        ])
        .success();
    store.create_metric("m", "p");
    store
}

/// `timestamp,value` rows every 37.5 s from `from_hour` to `to_hour` of
/// 2024-01-01, pseudo-random values, each tenth timestamp twice.
fn rows(from_hour: u32, to_hour: u32, seed: u64) -> String {
    let mut state = seed;
    let mut out = String::new();
    let mut t = f64::from(from_hour) * 3600.0;
    let mut n = 0;
    while t < f64::from(to_hour) * 3600.0 {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let value = (state >> 40) as f64 / 1000.0;
        let seconds = t as u64;
        let stamp = format!(
            "2024-01-01T{:02}:{:02}:{:02}.{:03}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60,
            ((t - seconds as f64) * 1000.0) as u64
        );
        out.push_str(&format!("{stamp},{value}\n"));
        if n % 10 == 0 {
            out.push_str(&format!("{stamp},{}\n", value - 1.0));
        }
        n += 1;
        t += 37.5;
    }
    out
}

fn ingest(store: &TestStore, name: &str, csv: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    let file = store.write_file(name, csv);
    let mut args = vec!["ingest", "csv", "--metric", "m", file.to_str().unwrap()];
    args.extend(extra);
    store.run(&args)
}

/// Every archive file of the store's one metric, by its path below the
/// metric's directory.
fn archive_files(store: &Path) -> BTreeMap<String, Vec<u8>> {
    let archive = store.join("archive");
    tree(&archive)
        .into_iter()
        .filter(|p| !p.ends_with('/'))
        .map(|p| {
            // …/<metric uuid>/agg_<method>/<split> or …/<metric uuid>/none_v3
            let parts: Vec<&str> = p.split('/').collect();
            let uuid = parts.iter().position(|part| part.len() == 36).unwrap();
            let below = parts[uuid + 1..].join("/");
            let bytes = std::fs::read(archive.join(&p)).unwrap();
            (below, bytes)
        })
        .collect()
}

/// The 1 min aggregates of `method`, as CSV rows.
fn minute_rows(store: &TestStore, method: &str) -> Vec<String> {
    store
        .stdout(&[
            "measures",
            "show",
            "m",
            "--refresh",
            "--granularity",
            "1m",
            "--aggregation",
            method,
            "-f",
            "csv",
        ])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn backfilled_history_is_stored_as_had_it_come_in_time() {
    let history = rows(0, 6, 1);
    let recent = rows(7, 10, 2);

    let in_order = store_with_metric();
    ingest(&in_order, "history.csv", &history, &["--process"]).success();
    ingest(&in_order, "recent.csv", &recent, &["--process"]).success();

    let backfilled = store_with_metric();
    ingest(&backfilled, "recent.csv", &recent, &["--process"]).success();
    let done = ingest(&backfilled, "history.csv", &history, &["--backfill"]).success();
    let said = stderr_of(&done);
    assert!(
        said.contains("backfilled m: 576 measures; ")
            && said.contains(" 0 replaced, 0 refused; 0 beyond"),
        "{said}"
    );
    // Nothing was queued: every measure was older than the back window.
    backfilled.run(&["process"]).success();
    backfilled.run(&["verify"]).success();

    let want = archive_files(in_order.path());
    let got = archive_files(backfilled.path());
    assert_eq!(
        want.keys().collect::<Vec<_>>(),
        got.keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &want {
        assert!(got[file] == *bytes, "{file} differs");
    }

    // Without --backfill the same history is dropped by the pass.
    let dropped = store_with_metric();
    ingest(&dropped, "recent.csv", &recent, &["--process"]).success();
    ingest(&dropped, "history.csv", &history, &["--process"])
        .success()
        .stderr(contains("older than the back window"));
    assert_ne!(archive_files(dropped.path()), want);
}

/// A store with policy `p`: 1 min sums, 1000 points, back window 0.
pub fn store_with_sum_policy() -> TestStore {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-d",
            "granularity:1m,points:1000",
            "-m",
            "sum",
        ])
        .success();
    store
}

#[test]
fn aggregated_periods_are_refused_unless_replaced() {
    let store = store_with_sum_policy();
    store.create_metric("m", "p");
    ingest(
        &store,
        "first.csv",
        "2024-01-01T00:01:10,1\n2024-01-01T00:05:00,2\n",
        &["--process"],
    )
    .success();
    let late = "2024-01-01T00:00:10,10\n2024-01-01T00:01:20,20\n2024-01-01T00:01:30,30\n";

    let refused = ingest(&store, "late.csv", late, &["--backfill"]).success();
    assert_eq!(
        stderr_of(&refused)
            .lines()
            .find(|l| l.starts_with("backfilled")),
        Some(
            "backfilled m: 3 measures; 1 period filled, 0 replaced, 1 refused \
             (already aggregated; --replace recomputes them): 60 s: 1 period, 2 measures; \
             0 beyond the timespan"
        )
    );
    assert_eq!(
        minute_rows(&store, "sum"),
        [
            "timestamp,granularity,value",
            "2024-01-01T00:00:00+00:00,60.0,10.0",
            "2024-01-01T00:01:00+00:00,60.0,1.0",
            "2024-01-01T00:05:00+00:00,60.0,2.0",
        ]
    );

    let replaced = ingest(&store, "late.csv", late, &["--backfill", "--replace"]).success();
    assert!(
        stderr_of(&replaced)
            .contains("backfilled m: 3 measures; 0 periods filled, 2 replaced, 0 refused;"),
        "{}",
        stderr_of(&replaced)
    );
    assert_eq!(
        minute_rows(&store, "sum")[2],
        "2024-01-01T00:01:00+00:00,60.0,50.0"
    );
}

#[test]
fn a_metric_never_processed_queues_everything() {
    let store = store_with_metric();
    let done = ingest(&store, "history.csv", &rows(0, 1, 3), &["--backfill"]).success();
    assert!(
        !stderr_of(&done).contains("backfilled"),
        "{}",
        stderr_of(&done)
    );
    assert_eq!(minute_rows(&store, "mean").len(), 61);
}

#[test]
fn bad_measures_are_refused_before_anything_is_stored() {
    let store = store_with_metric();
    ingest(&store, "recent.csv", &rows(7, 8, 2), &["--process"]).success();
    let before = archive_files(store.path());
    ingest(
        &store,
        "bad.csv",
        "2024-01-01T09:00:00,1\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,x\n",
        &["--backfill"],
    )
    .failure()
    .code(1)
    .stderr(contains("bad.csv:3"));
    store.run(&["process"]).success();
    assert_eq!(archive_files(store.path()), before);
}

#[test]
fn a_busy_sack_is_waited_for_then_refused() {
    let store = store_with_metric();
    let id = store.json(&["metric", "show", "m"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ingest(&store, "recent.csv", &rows(7, 8, 2), &["--process"]).success();
    let before = archive_files(store.path());
    let sack = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    ingest(
        &store,
        "history.csv",
        &rows(0, 1, 1),
        &["--backfill", "--operation-timeout", "0.2s"],
    )
    .failure()
    .code(1)
    .stderr(contains(format!(
        "metric {id} is being processed by another process"
    )))
    .stderr(contains(
        "the measures of that file not to backfill were stored",
    ));
    drop(lock);
    assert_eq!(archive_files(store.path()), before);
    ingest(&store, "history.csv", &rows(0, 1, 1), &["--backfill"])
        .success()
        .stderr(contains("backfilled m: 96 measures; "));
}

#[test]
fn replace_and_operation_timeout_need_backfill() {
    let store = store_with_metric();
    ingest(&store, "x.csv", "2024-01-01T00:00:00,1\n", &["--replace"])
        .failure()
        .code(2);
}

/// `--backfill` killed at moments spread over its run: after recovery the
/// archive is the old one or the backfilled one, never a mix, and running
/// the same backfill again gives the uninterrupted result.
#[test]
fn a_killed_backfill_leaves_the_old_archive_or_the_new_one() {
    let template = TestStore::new();
    template
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-d",
            "granularity:1s,points:200000",
            "-d",
            "granularity:1m,points:10000",
            "-m",
            "mean",
            "-m",
            "max",
            "-m",
            "rate:mean",
        ])
        .success();
    template.create_metric("m", "p");
    ingest(
        &template,
        "recent.csv",
        "2024-01-03T00:00:00,1\n",
        &["--process"],
    )
    .success();
    let mut history = String::new();
    for i in 0..120_000u64 {
        history.push_str(&format!("{},{}\n", 1_704_067_200 + i, (i * 7) % 101));
    }
    let history = template.write_file("history.csv", &history);
    let args = [
        "ingest",
        "csv",
        "--metric",
        "m",
        "--time-unit",
        "s",
        "--backfill",
        history.to_str().unwrap(),
    ];
    let before = archive_snapshot(template.path());

    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    let started = Instant::now();
    run_ok(reference.path(), &args);
    let duration = started.elapsed();
    let expected = archive_snapshot(reference.path());
    assert!(expected != before, "the backfill changed nothing");

    let mut outcomes = [0; 2];
    for (attempt, delay) in kill_delays(duration, 8).into_iter().enumerate() {
        let victim = killed_copy(template.path(), &args, delay);
        // The next command finishes a committed transaction.
        run_ok(victim.path(), &["process"]);
        let got = archive_snapshot(victim.path());
        assert!(
            got == before || got == expected,
            "attempt {attempt} (killed after {delay:?} of {duration:?}): a mixed archive"
        );
        outcomes[usize::from(got == expected)] += 1;
        run_ok(victim.path(), &args);
        assert!(
            archive_snapshot(victim.path()) == expected,
            "attempt {attempt}: the backfill run again differs"
        );
    }
    eprintln!(
        "killed before the commit {}, after {}",
        outcomes[0], outcomes[1]
    );
}
