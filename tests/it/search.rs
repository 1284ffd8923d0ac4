//! `resource search`, pagination and `metric search` through the binary,
//! with Gnocchi's semantics (docs/gnocchi-semantics.md#pagination and #resource-search there).

use predicates::str::contains;
use serde_json::Value;

use crate::common::{TestStore, strings_of};

/// Five servers: (id, flavor, cpus, host or null, ended_at or null).
fn servers() -> TestStore {
    let store = TestStore::new();
    store
        .run(&[
            "resource-type",
            "create",
            "server",
            "-a",
            "flavor:string:true",
            "-a",
            "cpus:number:true",
            "-a",
            "host:string:false",
        ])
        .success();
    let rows = [
        ("s1", "m1.small", "1", Some("a"), None),
        (
            "s2",
            "m1.large",
            "4",
            Some("b"),
            Some("2024-01-01T02:00:00"),
        ),
        ("s3", "M1.small", "2", None, Some("2024-01-01T00:10:00")),
        ("s4", "c5.large", "8", Some("a"), None),
        ("s5", "m1_x", "2", Some("c"), None),
    ];
    for (id, flavor, cpus, host, ended) in rows {
        let flavor = format!("flavor:{flavor}");
        let cpus = format!("cpus:{cpus}");
        let mut args = vec![
            "resource",
            "create",
            id,
            "-t",
            "server",
            "-a",
            &flavor,
            "-a",
            &cpus,
            "--started-at",
            "2024-01-01T00:00:00",
        ];
        let host = host.map(|h| format!("host:{h}"));
        if let Some(host) = &host {
            args.extend(["-a", host]);
        }
        if let Some(ended) = ended {
            args.extend(["--ended-at", ended]);
        }
        store.run(&args).success();
    }
    store
}

fn found(store: &TestStore, query: &str) -> Vec<String> {
    let listed = store.json(&["resource", "search", "-t", "server", query]);
    let mut ids = strings_of(&listed, "original_resource_id");
    ids.sort();
    ids
}

#[test]
fn filters_mean_what_they_mean_in_gnocchi() {
    let store = servers();
    let cases: [(&str, &[&str]); 19] = [
        ("flavor = 'm1.small'", &["s1"]),
        // LIKE is case-sensitive; `_` is one character, `\` escapes.
        ("flavor like 'm1.%'", &["s1", "s2"]),
        ("flavor like 'm1_%'", &["s1", "s2", "s5"]),
        (r"flavor like 'm1\_%'", &["s5"]),
        // `and` binds tighter than `or`.
        ("cpus >= 4 or cpus = 1 and host = 'a'", &["s1", "s2", "s4"]),
        ("(cpus >= 4 or cpus = 1) and host = 'a'", &["s1", "s4"]),
        // `!=` matches nulls; `not (=)` does not.
        ("host != 'a'", &["s2", "s3", "s5"]),
        ("not host = 'a'", &["s2", "s5"]),
        ("host = null", &["s3"]),
        ("host != null", &["s1", "s2", "s4", "s5"]),
        ("host in ['a', 'c']", &["s1", "s4", "s5"]),
        // Numbers are floats; number columns convert strings.
        ("cpus = '2'", &["s3", "s5"]),
        ("lifespan > '1 hour'", &["s2"]),
        ("lifespan <= 600", &["s3"]),
        ("ended_at < '2024-01-01T01:00:00'", &["s3"]),
        ("id in [s1, s2]", &["s1", "s2"]),
        ("created_by_user_id like 'adm%'", &[]),
        (
            r#"{"or": [{"=": {"flavor": "c5.large"}}, {"≥": {"cpus": 4}}]}"#,
            &["s2", "s4"],
        ),
        ("{}", &["s1", "s2", "s3", "s4", "s5"]),
    ];
    for (query, expected) in cases {
        assert_eq!(found(&store, query), expected, "{query}");
    }
    // The generic type searches every resource's base fields.
    let all = store.json(&["resource", "search", "project_id = null"]);
    assert_eq!(all.as_array().unwrap().len(), 5);
}

#[test]
fn bad_filters_are_refused_like_gnocchi() {
    let store = servers();
    let cases = [
        ("id == foobar", "Invalid filter: "),
        ("nope = 1", "Resource type server has no nope attribute"),
        ("cpus = 'many'", "Invalid value: `many' for field `cpus'"),
        (
            "created_by_user_id > 'a'",
            "Invalid value: `a' for field `created_by_user_id'",
        ),
        ("id like 'x%'", "value must not be one of ['id']"),
        ("host in []", "length of value must be at least 1"),
        (
            r#"{"=": {"a": 1}, "<": {"b": 2}}"#,
            "length of value must be at most 1",
        ),
    ];
    for (query, message) in cases {
        store
            .run(&["resource", "search", "-t", "server", query])
            .failure()
            .code(1)
            .stderr(contains(message));
    }
    store
        .run(&["resource", "search", "-t", "generic", "flavor = 'x'"])
        .failure()
        .stderr(contains("Resource type generic has no flavor attribute"));
}

#[test]
fn nesting_is_bounded_and_wide_filters_still_run() {
    let store = servers();
    let limit = carbonara::filter::MAX_DEPTH;
    // At the limit: 64 `not`s, an even number, so `not … host = 'a'`
    // means `host = 'a'`.
    let nots = |depth: usize| format!("{}host = 'a'", "not ".repeat(depth));
    assert_eq!(found(&store, &nots(limit)), ["s1", "s4"]);
    let deep = format!("nested deeper than {limit} levels");
    for query in [
        nots(limit + 1),
        nots(5_000),
        format!("{}host = 'a'{}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("host in {}'a'{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!(
            "{}{{\"=\": {{\"host\": \"a\"}}}}{}",
            "{\"not\": ".repeat(limit + 1),
            "}".repeat(limit + 1)
        ),
    ] {
        store
            .run(&["resource", "search", "-t", "server", &query])
            .code(1)
            .stderr(contains(&deep));
    }
    // Wide is not deep: two thousand `or`ed conditions are one level, and
    // the index is not asked to nest them two thousand deep.
    let wide: Vec<String> = (0..2_000).map(|i| format!("cpus = {i}")).collect();
    assert_eq!(
        found(&store, &wide.join(" or ")),
        ["s1", "s2", "s3", "s4", "s5"]
    );
    // More values than one statement can bind: the user's error, said so.
    let huge = format!("cpus in [{}]", vec!["1"; 40_000].join(","));
    store
        .run(&["resource", "search", "-t", "server", &huge])
        .code(1)
        .stderr(contains(
            "Invalid filter: it compares with 40000 values, at most 32766 are allowed",
        ));
}

fn page(store: &TestStore, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "resource",
        "list",
        "-t",
        "server",
        "-f",
        "value",
        "-c",
        "original_resource_id",
    ];
    args.extend(extra);
    store.stdout(&args).lines().map(str::to_owned).collect()
}

#[test]
fn pagination_follows_gnocchi() {
    let store = servers();
    // Sorted by flavor descending, nulls as PostgreSQL orders them.
    assert_eq!(
        page(&store, &["--sort", "flavor:desc"]),
        ["s5", "s1", "s2", "s4", "s3"]
    );
    assert_eq!(
        page(&store, &["--sort", "host:asc"]),
        ["s1", "s4", "s2", "s5", "s3"]
    );
    assert_eq!(
        page(
            &store,
            &["--sort", "host:asc-nullsfirst", "--sort", "cpus:desc"]
        ),
        ["s3", "s4", "s1", "s2", "s5"]
    );
    let first = store.json(&[
        "resource", "list", "-t", "server", "--sort", "cpus:asc", "--limit", "2",
    ]);
    let ids: Vec<&str> = first
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["original_resource_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], "s1");
    let marker = first[1]["id"].as_str().unwrap();
    let rest = page(&store, &["--sort", "cpus:asc", "--marker", marker]);
    assert_eq!(rest.len(), 3);
    assert!(!rest.contains(&ids[1].to_owned()));
    assert_eq!(rest.last().map(String::as_str), Some("s4"));
    let errors = [
        (
            vec!["--sort", "nope"],
            "Invalid pagination: `Sort key supplied is invalid: nope'",
        ),
        (
            vec!["--sort", "cpus:up"],
            "Invalid pagination: `Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast'",
        ),
        (
            vec!["--marker", "5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b"],
            "Invalid pagination: `Invalid marker: `5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b''",
        ),
        (
            vec!["--sort", "revision"],
            "Sort key supplied is invalid: revision",
        ),
    ];
    for (extra, message) in errors {
        let mut args = vec!["resource", "list", "-t", "server"];
        args.extend(extra);
        store.run(&args).failure().stderr(contains(message));
    }
    store
        .run(&["resource", "list", "--limit", "0"])
        .failure()
        .code(2);

    // Histories page with `id@revision` markers.
    store
        .run(&["resource", "update", "s1", "-t", "server", "-a", "cpus:3"])
        .success();
    store
        .run(&["resource", "update", "s1", "-t", "server", "-a", "cpus:5"])
        .success();
    let history = store.json(&["resource", "history", "s1", "-t", "server", "--limit", "2"]);
    let cpus: Vec<f64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cpus"].as_f64().unwrap())
        .collect();
    assert_eq!(cpus, [1.0, 3.0]);
    let id = history[1]["id"].as_str().unwrap();
    let all = store.json(&["resource", "history", "s1", "-t", "server"]);
    assert_eq!(all.as_array().unwrap().len(), 3);
    let revision_marker = {
        // The second row is revision 2 of the history table.
        format!("{id}@2")
    };
    let after = store.json(&[
        "resource",
        "history",
        "s1",
        "-t",
        "server",
        "--marker",
        &revision_marker,
    ]);
    assert_eq!(after.as_array().unwrap().len(), 1);
    assert_eq!(after[0]["cpus"], 5.0);
    assert_eq!(after[0]["revision_end"], Value::Null);
    let past = store.json(&[
        "resource",
        "search",
        "-t",
        "server",
        "--history",
        "cpus = 3",
    ]);
    assert_eq!(past.as_array().unwrap().len(), 1);
    assert_eq!(found(&store, "cpus = 3"), Vec::<String>::new());
}

#[test]
fn metric_listing_paginates() {
    let store = TestStore::new();
    for name in ["c", "a", "b"] {
        store.create_metric(name, "low");
    }
    let names = |extra: &[&str]| {
        let mut args = vec!["metric", "list", "-f", "value", "-c", "name"];
        args.extend(extra);
        store.stdout(&args)
    };
    assert_eq!(names(&["--sort", "name:desc"]), "c\nb\na\n");
    assert_eq!(names(&["--sort", "name", "--limit", "2"]), "a\nb\n");
    let listed = store.json(&["metric", "list", "--sort", "name"]);
    let marker = listed[1]["id"].as_str().unwrap();
    assert_eq!(names(&["--sort", "name", "--marker", marker]), "c\n");
    // cliff's --sort-column sorts what is printed.
    assert_eq!(
        names(&["--sort-column", "name", "--sort-descending"]),
        "c\nb\na\n"
    );
    store
        .run(&["metric", "list", "--marker", "nope"])
        .failure()
        .stderr(contains("Invalid marker: `nope'"));
}

#[test]
fn metric_search_finds_values() {
    let store = TestStore::new();
    let cpu = store.create_metric("cpu", "medium");
    let other = store.create_metric("other", "medium");
    store
        .run(&[
            "measures",
            "add",
            "cpu",
            "-m",
            "2024-01-01T00:00:00@27",
            "-m",
            "2024-01-01T00:01:00@55",
            "-m",
            "2024-01-01T00:02:00@10",
            "-m",
            "2024-01-01T00:03:00@60",
        ])
        .success();
    store.run(&["process"]).success();
    let query = r#"{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}"#;
    let result = store.json(&[
        "metric",
        "search",
        query,
        "-m",
        "cpu",
        "--granularity",
        "60",
    ]);
    assert_eq!(
        result,
        serde_json::json!({cpu.as_str(): [
            ["2024-01-01T00:00:00+00:00", 60.0, 27.0],
            ["2024-01-01T00:03:00+00:00", 60.0, 60.0]
        ]})
    );
    // Unknown metric ids are ignored; every granularity, coarsest first.
    let table = store.stdout(&[
        "metric",
        "search",
        r#"{">": 20}"#,
        "-m",
        &cpu,
        "-m",
        "5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b",
        "-f",
        "csv",
    ]);
    assert_eq!(
        table,
        format!(
            "metric,timestamp,granularity,value\n{cpu},2024-01-01T00:00:00+00:00,3600.0,38.0\n{cpu},2024-01-01T00:00:00+00:00,60.0,27.0\n{cpu},2024-01-01T00:01:00+00:00,60.0,55.0\n{cpu},2024-01-01T00:03:00+00:00,60.0,60.0\n"
        )
    );
    let empty = store.json(&["metric", "search", r#"{">": 20}"#, "-m", &other]);
    assert_eq!(empty, serde_json::json!({other.as_str(): []}));
    store
        .run(&["metric", "search", r#"{"not": [{"=": 1}]}"#, "-m", "cpu"])
        .failure()
        .stderr(contains("Unknown operator not"));
    store
        .run(&[
            "metric",
            "search",
            r#"{">": 1}"#,
            "-m",
            "cpu",
            "--granularity",
            "42",
        ])
        .failure()
        .stderr(contains("Aggregation does not exist"));
}

#[test]
fn a_filter_syntax_error_shows_the_token_and_the_quoting() {
    let store = servers();
    store
        .run(&["resource", "search", "id in [vm-01, vm-02]"])
        .failure()
        .code(1)
        .stderr(contains(
            "carbonara: error: Invalid filter: Expected ], found '-01, vm-02]' (at char 9), in `vm-01`\n\
             quote values that are not plain names or numbers: 'vm-01', as in id in ['vm-01', 'vm-02']\n",
        ));
    // The quoted form runs.
    store
        .run(&["resource", "search", "id in ['vm-01', 'vm-02']"])
        .success();
}
