//! `metric update --archive-policy-name`: a metric moved to another archive
//! policy with its history, compared to the bit with a metric that received
//! the same measures under the new policy from the start; the dry run's
//! plan; the refusals (unknown policy, a policy that keeps nothing, a sack
//! another process holds); and a move killed at any instant leaving the old
//! archive or the new one.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{TestStore, copy_dir, stderr_of};
use crate::crash::{archive_snapshot, spawn};
use crate::serve::hold_sack;

/// `old` keeps 60 s with every method the exact rules derive from; `new`
/// keeps 60 s for 100 points and adds 300 s and 1 h.
fn store_with_policies() -> TestStore {
    let store = TestStore::new();
    let methods = ["min", "max", "sum", "count", "first", "last"];
    let mut old = vec![
        "archive-policy",
        "create",
        "old",
        "-d",
        "granularity:60s,timespan:30d",
    ];
    let mut new = vec![
        "archive-policy",
        "create",
        "new",
        "-d",
        "granularity:60s,points:100",
        "-d",
        "granularity:300s,points:100",
        "-d",
        "granularity:1h,points:24",
    ];
    for method in methods {
        old.extend(["-m", method]);
        new.extend(["-m", method]);
    }
    new.extend(["-m", "mean"]);
    store.run(&old).success();
    store.run(&new).success();
    store
}

/// `a` under `old` and `b` under `new` receive the same 3000 measures (integer values,
/// one every 7 s) in one batch.
fn moved_and_direct() -> (TestStore, String, String) {
    let store = store_with_policies();
    let a = store.create_metric("a", "old");
    let b = store.create_metric("b", "new");
    let mut csv = String::from("metric,timestamp,value\n");
    for i in 0..3000u64 {
        let second = 1_704_067_200 + i * 7;
        let value = (i * 37) % 101;
        csv.push_str(&format!("a,{second},{value}\nb,{second},{value}\n"));
    }
    store.ingest_and_process(&csv);
    (store, a, b)
}

/// The files of a metric's aggregates (not its bound series), by path
/// under the metric's directory.
fn aggregates_of(store: &Path, metric: &str) -> Vec<(String, Vec<u8>)> {
    archive_snapshot(store)
        .into_iter()
        .filter_map(|(path, bytes)| {
            let (_, inside) = path.split_once(&format!("{metric}/"))?;
            inside
                .starts_with("agg_")
                .then(|| (inside.to_owned(), bytes))
        })
        .collect()
}

#[test]
fn a_moved_metric_equals_one_fed_under_the_new_policy_to_the_bit() {
    let (store, a, b) = moved_and_direct();
    let moved = store.run(&["metric", "update", "a", "-a", "new"]).success();
    assert_eq!(
        stderr_of(&moved),
        format!("moved metric {a} from archive policy old to new\n")
    );
    let shown = String::from_utf8(moved.get_output().stdout.clone()).unwrap();
    assert!(shown.contains("| archive_policy/name | new"), "{shown}");
    let got = aggregates_of(store.path(), &a);
    let want = aggregates_of(store.path(), &b);
    let names =
        |files: &[(String, Vec<u8>)]| files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want));
    // 7 methods × (1 split of 60 s + 1 of 300 s + 1 of 1 h) and their directories.
    assert_eq!(got.iter().filter(|(p, _)| !p.ends_with('/')).count(), 21);
    for ((path, got), (_, want)) in got.iter().zip(&want) {
        assert!(got == want, "{path} differs");
    }
    for method in ["mean", "sum", "first"] {
        let show = |metric: &str| {
            store.stdout(&[
                "measures",
                "show",
                metric,
                "--aggregation",
                method,
                "-f",
                "csv",
            ])
        };
        assert_eq!(show(&a), show(&b), "{method}");
    }
    let verified = store.run(&["verify"]).success();
    assert!(
        stderr_of(&verified).contains(": 0 problems"),
        "{}",
        stderr_of(&verified)
    );
}

#[test]
fn the_dry_run_prints_the_plan_and_changes_nothing() {
    let (store, a, _) = moved_and_direct();
    store
        .run(&[
            "archive-policy",
            "create",
            "spread",
            "-d",
            "granularity:60s,points:10",
            "-d",
            "granularity:1h,points:24",
            "-d",
            "granularity:1s,points:10",
            "-m",
            "max",
            "-m",
            "median",
        ])
        .success();
    let before = archive_snapshot(store.path());
    let dry = store
        .run(&[
            "metric",
            "update",
            &a,
            "-a",
            "spread",
            "--dry-run",
            "-f",
            "csv",
        ])
        .success();
    assert_eq!(
        String::from_utf8(dry.get_output().stdout.clone()).unwrap(),
        "aggregation_method,granularity,source,exactness,points\n\
         max,1.0,none,empty,0\n\
         median,1.0,none,empty,0\n\
         max,60.0,kept,exact,10\n\
         median,60.0,none,empty,0\n\
         max,3600.0,max at 60.0,exact,6\n\
         median,3600.0,none,empty,0\n"
    );
    assert_eq!(stderr_of(&dry), "");
    assert_eq!(archive_snapshot(store.path()), before);
    assert_eq!(
        store.json(&["metric", "show", &a])["archive_policy"]["name"],
        "old"
    );
    let plan = store.json(&["metric", "update", &a, "-a", "new", "--dry-run"]);
    assert_eq!(plan["from"], "old");
    assert_eq!(plan["to"], "new");
    let mean_1h = plan["aggregations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["aggregation_method"] == "mean" && row["granularity"] == 3600.0)
        .unwrap();
    assert_eq!(mean_1h["source"], "sum, count at 60.0");
    assert_eq!(mean_1h["exactness"], "rounding");
    assert_eq!(mean_1h["points"], 6);
    assert_eq!(plan["warnings"], serde_json::json!([]));
}

#[test]
fn underivable_methods_start_empty_with_a_warning_on_stderr() {
    let (store, a, _) = moved_and_direct();
    store
        .run(&[
            "archive-policy",
            "create",
            "medians",
            "-d",
            "granularity:300s",
            "-m",
            "median",
            "-m",
            "max",
        ])
        .success();
    // `old` has no median: a method without source starts empty, silently.
    let moved = store
        .run(&["metric", "update", &a, "-a", "medians"])
        .success();
    assert_eq!(
        stderr_of(&moved),
        format!("moved metric {a} from archive policy old to medians\n")
    );
    let medians = store.stdout(&[
        "measures",
        "show",
        &a,
        "--aggregation",
        "median",
        "-f",
        "csv",
    ]);
    assert_eq!(medians, "timestamp,granularity,value\n");
    // Median stored at 300 s: an hour holds several 5-minute periods.
    store
        .run(&[
            "archive-policy",
            "create",
            "hourly",
            "-d",
            "granularity:1h",
            "-m",
            "median",
            "-m",
            "max",
        ])
        .success();
    let warned = store
        .run(&["metric", "update", &a, "-a", "hourly"])
        .success();
    assert_eq!(
        stderr_of(&warned),
        format!(
            "carbonara: warning: median at 3600.0s: starts empty, it cannot be derived exactly \
             from 300.0s where a 3600.0s period holds several 300.0s periods\n\
             moved metric {a} from archive policy medians to hourly\n"
        )
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let (store, a, _) = moved_and_direct();
    let before = archive_snapshot(store.path());
    let unknown = store.run(&["metric", "update", &a, "-a", "nope"]).code(1);
    assert_eq!(
        stderr_of(&unknown),
        "carbonara: error: Archive policy nope does not exist\n"
    );
    store
        .run(&[
            "archive-policy",
            "create",
            "finer",
            "-d",
            "granularity:1s,points:60",
            "-m",
            "max",
        ])
        .success();
    let nothing = store.run(&["metric", "update", &a, "-a", "finer"]).code(1);
    assert_eq!(
        stderr_of(&nothing),
        format!(
            "carbonara: error: moving metric {a} from archive policy old to finer would discard \
             its whole history: no aggregation of finer can be kept or derived from old \
             (a dry run shows the plan)\n"
        )
    );
    store
        .run(&["metric", "update", "nobody", "-a", "new"])
        .code(1);
    store.run(&["metric", "update", &a]).code(2);
    assert_eq!(archive_snapshot(store.path()), before);
    // A metric never processed has nothing to lose: only its policy changes.
    let fresh = store.create_metric("fresh", "old");
    store
        .run(&["metric", "update", &fresh, "-a", "finer"])
        .success();
    assert_eq!(
        store.json(&["metric", "show", &fresh])["archive_policy"]["name"],
        "finer"
    );
}

#[test]
fn a_sack_held_by_another_process_fails_after_the_timeout() {
    let (store, a, _) = moved_and_direct();
    let lock = hold_sack(&store, &a);
    let asked = Instant::now();
    let busy = store
        .run(&[
            "metric",
            "update",
            &a,
            "-a",
            "new",
            "--operation-timeout",
            "0.5",
        ])
        .code(1);
    assert!(asked.elapsed() >= Duration::from_millis(500));
    assert_eq!(
        stderr_of(&busy),
        format!(
            "carbonara: error: metric {a} is being processed by another process: try again later\n"
        )
    );
    drop(lock);
    store.run(&["metric", "update", &a, "-a", "new"]).success();
}

/// A SIGKILL at any instant of a move leaves the metric under its old
/// policy with its old archive, or under the new one with the archive an
/// uninterrupted move writes; the move run again converges.
#[test]
fn a_killed_move_leaves_the_old_archive_or_the_new_one() {
    let template = store_with_policies();
    template.create_metric("big", "old");
    // 30 days of 60 s aggregates, one measure every 30 s.
    let mut csv = String::from("metric,timestamp,value\n");
    for i in 0..86_400u64 {
        csv.push_str(&format!(
            "big,{},{}\n",
            1_704_067_200 + i * 30,
            (i * 37) % 101
        ));
    }
    template.ingest_and_process(&csv);
    let old = archive_snapshot(template.path());
    let copy = || {
        let copy = TestStore::empty();
        copy_dir(template.path(), copy.path());
        copy
    };
    let move_big = ["metric", "update", "big", "-a", "new"];
    let reference = copy();
    let started = Instant::now();
    reference.run(&move_big).success();
    let duration = started.elapsed();
    let new = archive_snapshot(reference.path());
    assert_ne!(old, new);

    let (mut saw_old, mut saw_new) = (0, 0);
    for attempt in 0..12u32 {
        let victim = copy();
        let mut child = spawn(victim.path(), &move_big);
        if attempt % 2 == 0 {
            // Anywhere in the move.
            std::thread::sleep(duration * ((attempt * 7 + 3) % 12) / 12);
        } else {
            // Within its commit: once its journal appears in tmp/, then
            // 0.5, 2, 8, 32 and 128 ms later (past the commit even on a
            // slow disk).
            let tmp = victim.path().join("tmp");
            let deadline = Instant::now() + Duration::from_secs(20);
            while std::fs::read_dir(&tmp).unwrap().next().is_none() && Instant::now() < deadline {
                std::hint::spin_loop();
            }
            let step = attempt / 2;
            if step > 0 {
                std::thread::sleep(Duration::from_micros(500 * 4u64.pow(step - 1)));
            }
        }
        let _ = child.kill();
        child.wait().unwrap();
        // The index says on which side of the commit the kill fell.
        let policy = victim.stdout(&[
            "metric",
            "show",
            "big",
            "-f",
            "value",
            "-c",
            "archive_policy/name",
        ]);
        match policy.trim() {
            "old" => {
                saw_old += 1;
                assert!(
                    archive_snapshot(victim.path()) == old,
                    "attempt {attempt}: old policy, archive changed"
                );
            }
            "new" => saw_new += 1,
            other => panic!("attempt {attempt}: policy {other}"),
        }
        victim.run(&move_big).success();
        assert!(
            archive_snapshot(victim.path()) == new,
            "attempt {attempt}: archive differs after the move ran again"
        );
        victim.run(&["verify"]).success();
    }
    eprintln!("killed before the commit {saw_old} times, after it {saw_new} times");
    assert!(
        saw_old > 0 && saw_new > 0,
        "{saw_old} kills before the commit, {saw_new} after"
    );
}

/// A move that found the metric before another move took the sack's lock
/// plans from the policy the metric has once it holds the lock.
#[test]
fn a_move_reads_the_metric_again_under_the_lock() {
    let (store, a, b) = moved_and_direct();
    let opened = carbonara::store::Store::open(store.path()).unwrap();
    let index = opened.index().unwrap();
    let stale = index.get_metric(a.parse().unwrap()).unwrap().unwrap();
    assert_eq!(stale.archive_policy_name, "old");
    store.run(&["metric", "update", &a, "-a", "new"]).success();
    let moved = carbonara::ops::metric_policy::move_to_policy(
        &opened,
        &index,
        &stale,
        "new",
        false,
        Duration::ZERO,
    )
    .unwrap();
    assert_eq!(moved.from, "new");
    assert!(
        moved
            .aggregations
            .iter()
            .all(|planned| planned.source == carbonara::carbonara::derive::Source::Kept)
    );
    assert!(aggregates_of(store.path(), &a) == aggregates_of(store.path(), &b));
}
