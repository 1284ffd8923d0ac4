//! The `aggregates` command's own behaviour: gnocchiclient's columns, the
//! JSON body, metric names, `--details`, errors and exit codes. (Its
//! results against the real Gnocchi are in queries.rs.)

use predicates::str::contains;
use serde_json::json;

use crate::common::{TestStore, parse_python_json, stderr_of};

/// Two metrics of dataset A (docs/gnocchi-semantics.md#example-datasets)
/// under a 1 s + 60 s policy.
fn store() -> (TestStore, String, String) {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "cookies",
            "-d",
            "granularity:1s,timespan:1d",
            "-d",
            "granularity:60s,timespan:1d",
            "-m",
            "mean",
            "-m",
            "max",
        ])
        .success();
    let m1 = store.create_metric("m1", "cookies");
    let m2 = store.create_metric("m2", "cookies");
    for (metric, values) in [("m1", [43.1, 12.0, -16.0]), ("m2", [2.0, 4.0, 5.0])] {
        let mut args = vec!["measures".to_owned(), "add".into(), metric.into()];
        for (time, value) in ["14:33:57", "14:34:12", "14:34:15"].iter().zip(values) {
            args.push("-m".into());
            args.push(format!("2015-03-06T{time}@{value}"));
        }
        store
            .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .success();
    }
    store.run(&["process"]).success();
    (store, m1, m2)
}

#[test]
fn nesting_is_bounded_in_both_forms() {
    let (store, _, _) = store();
    let limit = carbonara::query::aggregates::parse::MAX_DEPTH;
    // `(abs (abs … (metric m1 mean)))`: the metric group is the deepest.
    let nested = |depth: usize| {
        format!(
            "{}(metric m1 mean){}",
            "(abs ".repeat(depth - 1),
            ")".repeat(depth - 1)
        )
    };
    let at_limit = store.json(&["aggregates", &nested(limit), "--granularity", "60"]);
    let plain = store.json(&["aggregates", "(metric m1 mean)", "--granularity", "60"]);
    assert_eq!(
        at_limit["measures"]["aggregated"],
        plain["measures"]["m1"]["mean"]
    );
    let deep = format!("Operations nested deeper than {limit} levels");
    let json = |depth: usize| format!("{}\"m1\"{}", "[".repeat(depth), "]".repeat(depth));
    for operations in [
        nested(limit + 1),
        nested(3_000),
        "(".repeat(10_000),
        json(limit + 1),
        json(100),
    ] {
        store
            .run(&["aggregates", &operations])
            .code(1)
            .stderr(contains(&deep));
    }
}

#[test]
fn tables_have_gnocchiclients_columns() {
    let (store, m1, _) = store();
    let table = store.stdout(&[
        "aggregates",
        "(aggregate mean (metric (m1 mean) (m2 mean)))",
        "--granularity",
        "60",
    ]);
    assert_eq!(
        table,
        "\
+------------+---------------------------+-------------+-------+
| name       | timestamp                 | granularity | value |
+------------+---------------------------+-------------+-------+
| aggregated | 2015-03-06T14:33:00+00:00 | 60.0        | 22.55 |
| aggregated | 2015-03-06T14:34:00+00:00 | 60.0        | 1.25  |
+------------+---------------------------+-------------+-------+
"
    );
    let csv = store.stdout(&[
        "aggregates",
        "(metric (m1 mean) (m1 max))",
        "--granularity",
        "60",
        "-f",
        "csv",
    ]);
    assert_eq!(
        csv,
        format!(
            "name,timestamp,granularity,value\n\
             {m1}/mean,2015-03-06T14:33:00+00:00,60.0,43.1\n\
             {m1}/mean,2015-03-06T14:34:00+00:00,60.0,-2.0\n\
             {m1}/max,2015-03-06T14:33:00+00:00,60.0,43.1\n\
             {m1}/max,2015-03-06T14:34:00+00:00,60.0,12.0\n"
        )
    );
    let values = store.stdout(&[
        "aggregates",
        "(metric m2 mean)",
        "--granularity",
        "1",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    assert_eq!(values, "2.0\n4.0\n5.0\n");
}

#[test]
fn json_is_gnocchis_body_and_names_stand_for_ids() {
    let (store, m1, m2) = store();
    let by_name = store.stdout(&[
        "aggregates",
        "(+ (metric m1 mean) 2)",
        "--granularity",
        "60",
        "-f",
        "json",
    ]);
    let by_id = store.stdout(&[
        "aggregates",
        &format!(
            "[\"+\", [\"metric\", \"{}\", \"mean\"], 2]",
            m1.to_uppercase()
        ),
        "--granularity",
        "60",
        "-f",
        "json",
    ]);
    assert_eq!(by_name, by_id);
    assert_eq!(
        by_name,
        format!(
            "{{\"measures\": {{\"{m1}\": {{\"mean\": [[\"2015-03-06T14:33:00+00:00\", 60.0, 45.1], \
             [\"2015-03-06T14:34:00+00:00\", 60.0, 0.0]]}}}}}}\n"
        )
    );
    let details = parse_python_json(&store.stdout(&[
        "aggregates",
        "(metric (m1 mean) (m2 mean) (m1 max))",
        "--details",
        "-f",
        "json",
    ]));
    let references = details["references"].as_array().unwrap();
    assert_eq!(references.len(), 2);
    assert_eq!(references[0]["id"], json!(m1));
    assert_eq!(references[1]["id"], json!(m2));
    assert_eq!(references[0]["archive_policy"]["name"], "cookies");
    assert_eq!(references[0]["resource"], json!(null));
    assert_eq!(details["measures"][&m2]["mean"][0][2], json!(2.0));
}

#[test]
fn errors_name_what_is_wrong() {
    let (store, _, _) = store();
    let fails = |args: &[&str], code: i32, message: &str| {
        let assert = store.run(args).failure().code(code);
        let stderr = stderr_of(&assert);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    fails(
        &["aggregates", "(metric m1 mean"],
        1,
        "Invalid operations: Fail to parse the operations string: \
         Expected ')', found end of text  (at char 15), (line:1, col:16)",
    );
    fails(
        &["aggregates", "[\"metric\", \"m1\""],
        1,
        "Invalid operations: Fail to parse the operations JSON",
    );
    fails(
        &["aggregates", "(metric nosuch mean)"],
        1,
        "carbonara: error: metric nosuch does not exist\n",
    );
    fails(
        &[
            "aggregates",
            "(+ (metric cpu.sys mean) (metric (m1 mean) (cpu.idle max)))",
        ],
        1,
        "carbonara: error: metrics cpu.sys and cpu.idle do not exist\n",
    );
    fails(
        &["aggregates", "(metric m1 mean)", "--fill", "zero"],
        2,
        "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'",
    );
    fails(
        &["aggregates", "(metric m1 mean)", "--needed-overlap", "most"],
        2,
        "Must be a number",
    );
    fails(
        &["aggregates", "(metric m1 mean)", "--start", "soon"],
        2,
        "--start: Must be a datetime or a timestamp",
    );
    fails(
        &[
            "aggregates",
            "(metric m1 mean)",
            "-f",
            "json",
            "-c",
            "value",
        ],
        2,
        "-c does not apply",
    );
    store
        .run(&["aggregates", "(metric m1 mean)", "--granularity", "5"])
        .failure()
        .code(1)
        .stderr(contains("Granularities are missing"));
}

/// `--use-history`: a server's points before and after its flavor changed
/// fall in the group of the flavor it had then; without it, all in the
/// current flavor's. (The arithmetic: query/aggregates/history.rs.)
#[test]
fn use_history_groups_by_the_values_of_each_revision() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-d",
            "granularity:5s",
            "-m",
            "mean",
        ])
        .success();
    store
        .run(&[
            "resource-type",
            "create",
            "server",
            "-a",
            "flavor:string:false",
        ])
        .success();
    store
        .run(&[
            "resource",
            "create",
            "vm-01",
            "-t",
            "server",
            "-a",
            "flavor:small",
            "-n",
            "cpu:p",
        ])
        .success();
    store
        .run(&[
            "measures",
            "add",
            "cpu",
            "-r",
            "vm-01",
            "-m",
            "2015-03-06T14:00:00@2",
        ])
        .success();
    store
        .run(&[
            "resource",
            "update",
            "vm-01",
            "-t",
            "server",
            "-a",
            "flavor:large",
        ])
        .success();
    store
        .run(&[
            "measures",
            "add",
            "cpu",
            "-r",
            "vm-01",
            "-m",
            "2099-01-01T01:00:00@3",
        ])
        .success();
    store.run(&["process"]).success();
    let grouped = |history: &[&str]| {
        let mut args = vec![
            "aggregates",
            "(aggregate sum (metric cpu mean))",
            "--resource-type",
            "server",
            "--groupby",
            "flavor",
        ];
        args.extend(history);
        store.json(&args)
    };
    let group = |flavor: &str, points: serde_json::Value| json!({"group": {"flavor": flavor}, "measures": {"measures": {"aggregated": points}}});
    let in_2015 = json!([["2015-03-06T14:00:00+00:00", 5.0, 2.0]]);
    let in_2099 = json!([["2099-01-01T01:00:00+00:00", 5.0, 3.0]]);
    assert_eq!(
        grouped(&["--use-history"]),
        // Groups in the order of their values' text.
        json!([
            group("large", in_2099.clone()),
            group("small", in_2015.clone())
        ])
    );
    assert_eq!(
        grouped(&[]),
        json!([group("large", json!([in_2015[0], in_2099[0]]))])
    );
    // Operations that do not aggregate answer per metric, which Gnocchi's
    // grouping cannot read: refused with the reason.
    let refused = store
        .command(&[
            "aggregates",
            "(metric cpu mean)",
            "--resource-type",
            "server",
            "--groupby",
            "flavor",
            "--use-history",
        ])
        .assert()
        .failure();
    assert!(stderr_of(&refused).contains("use_history needs operations that aggregate"));
    // Without --groupby there is nothing to group: a usage error.
    store
        .command(&["aggregates", "(metric cpu mean)", "--use-history"])
        .assert()
        .code(2);
}
