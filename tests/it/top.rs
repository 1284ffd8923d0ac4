//! `carbonara top`: metrics and resources ranked by one value each, for
//! every reduction, a window, a granularity, `--ascending` and `-n`, the
//! resource form with a search filter, and the refusals.

use predicates::str::contains;
use serde_json::{Value, json};

use crate::common::{TestStore, stderr_of};

/// Each series' measures: (metric or resource name, [(time, value)]).
const SERIES: [(&str, &[(&str, f64)]); 4] = [
    ("a", &[("00:00", 1.0), ("00:01", 5.0), ("01:00", 2.0)]),
    ("b", &[("00:00", 3.0), ("00:01", 3.0), ("01:00", 3.0)]),
    ("c", &[("00:00", 2.0), ("01:00", 9.0)]),
    ("d", &[("00:00", 3.0)]),
];

/// A store with policy `p` (1 min × 1 day and 1 h × 7 days, mean and
/// max) and a policy `means` (1 min, mean only); metrics `a`, `b`, `c`,
/// `d` under `p` with [`SERIES`] on 2024-01-01, `lone` under `means`; and
/// resources of type `server`: `s-a`, `s-b`, `s-c`, `s-d` on host `x`
/// (`s-c` on `y`) whose metric `cpu` has the same series, `empty` (host
/// `x`) whose `cpu` has none, `bare` (host `x`) without `cpu`. The ids of
/// the metrics by name, and of the resources and their `cpu` by name.
pub(crate) struct Fixture {
    pub store: TestStore,
    pub metrics: Vec<(String, String)>,
    pub resources: Vec<(String, String, Value)>,
}

impl Fixture {
    pub fn metric(&self, name: &str) -> &str {
        &self.metrics.iter().find(|(n, _)| n == name).unwrap().1
    }

    pub fn resource(&self, name: &str) -> &str {
        &self.resources.iter().find(|(n, ..)| n == name).unwrap().1
    }

    /// The id of a resource's `cpu`.
    pub fn cpu(&self, resource: &str) -> &str {
        let (_, _, cpu) = self.resources.iter().find(|(n, ..)| n == resource).unwrap();
        cpu.as_str().unwrap()
    }
}

/// Two names, the one whose id sorts first first: equal values are
/// ranked so.
fn in_id_order<'n, 'i>(pair: [&'n str; 2], id: impl Fn(&str) -> &'i str) -> [&'n str; 2] {
    let [x, y] = pair;
    if id(x) < id(y) { [x, y] } else { [y, x] }
}

/// A created resource: its name, id and `cpu` (null without).
fn created(name: &str, document: &Value) -> (String, String, Value) {
    (
        name.to_owned(),
        document["id"].as_str().unwrap().to_owned(),
        document["metrics"]["cpu"].clone(),
    )
}

pub(crate) fn fixture() -> Fixture {
    let store = TestStore::new();
    let policy = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "archive-policy",
            "create",
            name,
            "-d",
            "granularity:1m,timespan:1d",
        ];
        args.extend(extra);
        store.run(&args).success();
    };
    policy(
        "p",
        &[
            "-d",
            "granularity:1h,timespan:7d",
            "-m",
            "mean",
            "-m",
            "max",
        ],
    );
    policy("means", &["-m", "mean"]);
    store
        .run(&[
            "resource-type",
            "create",
            "server",
            "-a",
            "host:string:false",
        ])
        .success();
    let mut csv = String::from("metric,timestamp,value\n");
    let mut metrics = Vec::new();
    let mut resources = Vec::new();
    for (name, points) in SERIES {
        let id = store.create_metric(name, "p");
        let server = format!("s-{name}");
        let host = if name == "c" { "host:y" } else { "host:x" };
        let created = store.json(&[
            "resource", "create", &server, "-t", "server", "-a", host, "-n", "cpu:p",
        ]);
        let resource = self::created(&server, &created);
        for (time, value) in points {
            for metric in [id.as_str(), resource.2.as_str().unwrap()] {
                csv.push_str(&format!("{metric},2024-01-01T{time}:00,{value}\n"));
            }
        }
        metrics.push((name.to_owned(), id));
        resources.push(resource);
    }
    for (server, create) in [("empty", &["-n", "cpu:p"][..]), ("bare", &[])] {
        let mut args = vec!["resource", "create", server, "-t", "server", "-a", "host:x"];
        args.extend(create);
        resources.push(created(server, &store.json(&args)));
    }
    metrics.push(("lone".to_owned(), store.create_metric("lone", "means")));
    store.ingest_and_process(&csv);
    Fixture {
        store,
        metrics,
        resources,
    }
}

/// A ranking expected: (metric or resource name, value) in order.
type Expected<'a> = &'a [(&'a str, f64)];

/// `top ARGS… -f json`.
fn top(fixture: &Fixture, args: &[&str]) -> Value {
    let mut all = vec!["top"];
    all.extend(args);
    fixture.store.json(&all)
}

/// The ranking expected: (metric name, value) in order, ranks from 1.
pub(crate) fn metrics_ranked(fixture: &Fixture, expected: &[(&str, f64)]) -> Value {
    let rows: Vec<Value> = expected
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            json!({"rank": i + 1, "metric": fixture.metric(name), "value": value})
        })
        .collect();
    Value::Array(rows)
}

/// `s-b` and `s-d` in id order, as equal values are ranked.
pub(crate) fn s_b_and_s_d(fixture: &Fixture) -> [&'static str; 2] {
    in_id_order(["s-b", "s-d"], |n| fixture.resource(n))
}

/// The resource ranking expected: (resource name, value) in order.
pub(crate) fn resources_ranked(fixture: &Fixture, expected: &[(&str, f64)]) -> Value {
    let rows: Vec<Value> = expected
        .iter()
        .enumerate()
        .map(|(i, (name, value))| {
            json!({
                "rank": i + 1,
                "metric": fixture.cpu(name),
                "resource": fixture.resource(name),
                "value": value,
            })
        })
        .collect();
    Value::Array(rows)
}

/// `b` and `d` in id order, as equal values are ranked.
pub(crate) fn b_and_d(fixture: &Fixture) -> [&'static str; 2] {
    in_id_order(["b", "d"], |n| fixture.metric(n))
}

#[test]
fn metrics_rank_by_each_reduction() {
    let fixture = fixture();
    let all = ["a", "b", "c", "d"];
    let [first, second] = b_and_d(&fixture);
    let cases: [(&str, Vec<(&str, f64)>); 5] = [
        (
            "max",
            vec![("c", 9.0), ("a", 5.0), (first, 3.0), (second, 3.0)],
        ),
        (
            "min",
            vec![(first, 3.0), (second, 3.0), ("c", 2.0), ("a", 1.0)],
        ),
        (
            "mean",
            vec![("c", 5.5), (first, 3.0), (second, 3.0), ("a", 8.0 / 3.0)],
        ),
        ("sum", vec![("c", 11.0), ("b", 9.0), ("a", 8.0), ("d", 3.0)]),
        (
            "last",
            vec![("c", 9.0), (first, 3.0), (second, 3.0), ("a", 2.0)],
        ),
    ];
    for (reduce, expected) in cases {
        let mut args = all.to_vec();
        args.extend(["--reduce", reduce]);
        assert_eq!(
            top(&fixture, &args),
            metrics_ranked(&fixture, &expected),
            "--reduce {reduce}"
        );
    }
    // Max is the default, and the metrics are named by id as well.
    assert_eq!(
        top(&fixture, &[fixture.metric("a"), "c"]),
        metrics_ranked(&fixture, &[("c", 9.0), ("a", 5.0)])
    );
}

#[test]
fn ascending_and_n_keep_the_first_places() {
    let fixture = fixture();
    let [first, second] = b_and_d(&fixture);
    assert_eq!(
        top(&fixture, &["a", "b", "c", "d", "--ascending", "-n", "3"]),
        metrics_ranked(&fixture, &[(first, 3.0), (second, 3.0), ("a", 5.0)])
    );
    assert_eq!(
        top(
            &fixture,
            &["a", "b", "c", "d", "-n", "1", "--reduce", "min"]
        ),
        metrics_ranked(&fixture, &[(first, 3.0)])
    );
    // Named twice, ranked once.
    assert_eq!(
        top(&fixture, &["a", "a"]),
        metrics_ranked(&fixture, &[("a", 5.0)])
    );
}

#[test]
fn a_window_and_a_granularity_choose_the_points() {
    let fixture = fixture();
    // 00:01 up to 01:00: `c` and `d` have no point there and are left out.
    let window = ["a", "b", "c", "d", "--start", "2024-01-01T00:01:00"];
    let mut args = window.to_vec();
    args.extend(["--stop", "2024-01-01T01:00:00"]);
    assert_eq!(
        top(&fixture, &args),
        metrics_ranked(&fixture, &[("a", 5.0), ("b", 3.0)])
    );
    args.insert(0, "top");
    let table = fixture.store.run(&args).success();
    assert_eq!(
        stderr_of(&table),
        "2 metrics left out: no value in the window\n"
    );
    // At 1 h: up to 01:00, the hour from 00:00 (means: `a` 3.0, `c` 2.0);
    // from 00:30, the hours from the one holding it (maxima).
    let hourly: [(&[&str], Expected); 2] = [
        (
            &["--granularity", "1h", "--stop", "2024-01-01T01:00:00"],
            &[("a", 3.0), ("c", 2.0)],
        ),
        (
            &[
                "--granularity",
                "3600",
                "--aggregation",
                "max",
                "--start",
                "2024-01-01T00:30:00",
            ],
            &[("c", 9.0), ("a", 5.0)],
        ),
    ];
    for (options, expected) in hourly {
        let args = [&["a", "c"][..], options].concat();
        assert_eq!(
            top(&fixture, &args),
            metrics_ranked(&fixture, expected),
            "{options:?}"
        );
    }
}

#[test]
fn resources_rank_by_their_metric_those_without_left_out() {
    let fixture = fixture();
    let ranked = |expected: &[(&str, f64)]| resources_ranked(&fixture, expected);
    let [first, second] = s_b_and_s_d(&fixture);
    let search = ["--metric", "cpu", "-t", "server", "host = 'x'"];
    let assert = fixture
        .store
        .run(&[&["top"][..], &search, &["-f", "json"]].concat())
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(
        crate::common::parse_python_json(&stdout),
        ranked(&[("s-a", 5.0), (first, 3.0), (second, 3.0)])
    );
    assert_eq!(
        stderr_of(&assert),
        "2 resources left out: no metric cpu, no mean at the granularity read, or no value in the window\n"
    );
    // Every server, the smallest sum first.
    assert_eq!(
        top(
            &fixture,
            &[
                "--metric",
                "cpu",
                "-t",
                "server",
                "--reduce",
                "sum",
                "--ascending",
                "-n",
                "2"
            ]
        ),
        ranked(&[("s-d", 3.0), ("s-a", 8.0)])
    );
    // A table with the resource column.
    let table = fixture.store.stdout(&[
        "top",
        "--metric",
        "cpu",
        "-t",
        "server",
        "host = 'y'",
        "-f",
        "csv",
        "-q",
    ]);
    let cpu = fixture.cpu("s-c");
    assert_eq!(
        table,
        format!(
            "rank,metric,resource,value\n1,{cpu},{},9.0\n",
            fixture.resource("s-c")
        )
    );
}

#[test]
fn refusals_name_what_is_wrong() {
    let fixture = fixture();
    let store = &fixture.store;
    store
        .run(&["top", "a", "nosuch"])
        .code(1)
        .stderr(contains("Metric nosuch does not exist"));
    store.run(&["top", "a", "lone", "--reduce", "sum"]).code(0);
    store
        .run(&["top", "a", "lone", "--aggregation", "max"])
        .code(1)
        .stderr(contains(
            "metric lone has no aggregation method max; its archive policy means has granularity 60 and method mean",
        ));
    store
        .run(&["top", "a", "--granularity", "300"])
        .code(1)
        .stderr(contains("metric a has no granularity 300 for mean"));
    for bad in [
        &["top", "a", "-n", "0"][..],
        &["top", "a", "--reduce", "median"],
        &["top"],
    ] {
        store.run(bad).code(2);
    }
    store
        .run(&["top", "--metric", "cpu", "host = 'x'", "id = 'y'"])
        .code(2)
        .stderr(contains("with --metric, give at most one SEARCH filter"));
    store
        .run(&["top", "--metric", "cpu", "-t", "nosuch"])
        .code(1)
        .stderr(contains("nosuch"));
}
