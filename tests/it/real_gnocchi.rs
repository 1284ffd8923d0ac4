//! A session recorded against a real Gnocchi 4.7.1 (PostgreSQL indexer)
//! by tests/golden/resources/record_real_gnocchi.py, replayed through the
//! command line: the same documents (key order included), the same
//! revisions, search results, sort orders and error messages. Times and
//! the ids of new metrics differ from run to run and are left out.

use serde_json::{Map, Value};

use crate::common::{TestStore, golden_dir, read_json, stderr_of, strings_of};

/// What does not depend on the clock or on random metric ids.
fn stable(value: &Value) -> Value {
    match value {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, item) in fields {
                let item = match key.as_str() {
                    "revision_start" | "revision_end" => Value::Bool(item.is_null()),
                    // A defaulted start is the time of the request; the
                    // session's own dates are all before 2025.
                    "started_at" if item.as_str().is_some_and(|t| t >= "2025") => {
                        Value::from("now")
                    }
                    // A set in Gnocchi: its order is unspecified.
                    "aggregation_methods" => {
                        let mut methods = item.as_array().cloned().unwrap_or_default();
                        methods.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                        Value::Array(methods)
                    }
                    "metrics" => Value::Array(
                        item.as_object()
                            .map(|m| m.keys().map(|k| Value::String(k.clone())).collect())
                            .unwrap_or_default(),
                    ),
                    _ => stable(item),
                };
                out.insert(key.clone(), item);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(stable).collect()),
        // gnocchiclient sends numbers as floats; the recording sent `2`,
        // which Gnocchi echoes on creation.
        Value::Number(n) => serde_json::json!(n.as_f64()),
        other => other.clone(),
    }
}

/// Top-level keys (or the first element's) of printed JSON, in order.
fn printed_keys(text: &str) -> Vec<String> {
    let indent = if text.starts_with('[') {
        "    \""
    } else {
        "  \""
    };
    let mut keys = Vec::new();
    for line in text.lines() {
        if text.starts_with('[') && line == "  }," {
            break;
        }
        if let Some(rest) = line.strip_prefix(indent)
            && let Some((key, _)) = rest.split_once("\": ")
        {
            keys.push(key.to_owned());
        }
    }
    keys
}

struct Session {
    steps: Vec<Value>,
}

impl Session {
    fn load() -> Session {
        let doc = read_json(&golden_dir().join("resources/real_gnocchi.json"));
        assert_eq!(doc["gnocchi_version"], "4.7.1");
        Session {
            steps: doc["steps"].as_array().unwrap().clone(),
        }
    }

    fn step(&self, name: &str) -> &Value {
        self.steps
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no step {name}"))
    }

    fn keys(&self, name: &str) -> Vec<String> {
        self.step(name)["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect()
    }

    /// The same request succeeds with the same document and key order.
    fn same_document(&self, store: &TestStore, name: &str, args: &[&str]) -> Value {
        let step = self.step(name);
        assert!(step["status"].as_u64().unwrap() < 300, "{name}: {step}");
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        let printed = store.stdout(&all);
        assert_eq!(printed_keys(&printed), self.keys(name), "{name}: key order");
        let ours = crate::common::parse_python_json(&printed);
        assert_eq!(stable(&ours), stable(&step["body"]), "{name}");
        ours
    }

    /// The same request fails with Gnocchi's message.
    fn same_error(&self, store: &TestStore, name: &str, args: &[&str]) {
        let step = self.step(name);
        let status = step["status"].as_u64().unwrap();
        assert!(status >= 400, "{name}: {step}");
        let assert = store.run(args).failure();
        let stderr = stderr_of(&assert);
        let description = &step["body"]["description"];
        let expected = match description {
            Value::String(text) => text.clone(),
            Value::Object(cause) => cause["reason"].as_str().unwrap_or_default().to_owned(),
            // A 500 page: any error will do.
            _ => String::new(),
        };
        let expected = expected.split(": Expected").next().unwrap_or_default();
        assert!(
            stderr.contains(expected),
            "{name}: {stderr} lacks {expected}"
        );
    }

    fn found(&self, name: &str) -> Vec<String> {
        strings_of(&self.step(name)["body"], "original_resource_id")
    }
}

fn ids(store: &TestStore, args: &[&str]) -> Vec<String> {
    let mut all = args.to_vec();
    all.extend(["-f", "value", "-c", "original_resource_id"]);
    store.stdout(&all).lines().map(str::to_owned).collect()
}

#[test]
fn a_real_gnocchi_session_replays_the_same() {
    let real = Session::load();
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "cookies",
            "-d",
            "granularity:1s,points:60",
        ])
        .success();
    let server = [
        "resource-type",
        "create",
        "server",
        "-a",
        "flavor:string:true:max_length=20",
        "-a",
        "size:number:false:min=0:max=64.5",
        "-a",
        "image:uuid:false",
    ];
    real.same_document(&store, "create type", &server);
    real.same_error(
        &store,
        "create type again",
        &["resource-type", "create", "server"],
    );
    real.same_error(
        &store,
        "bad attribute name",
        &["resource-type", "create", "t", "-a", "id:string"],
    );

    let foobar = [
        "resource",
        "create",
        "foobar",
        "--started-at",
        "2014-01-03T02:02:02.000000",
        "--user-id",
        "u1",
        "--project-id",
        "p1",
    ];
    real.same_document(&store, "create generic", &foobar);
    real.same_error(
        &store,
        "create generic again",
        &["resource", "create", "foobar"],
    );
    real.same_error(
        &store,
        "start after end",
        &[
            "resource",
            "create",
            "x",
            "--started-at",
            "2015-01-01",
            "--ended-at",
            "2014-01-01",
        ],
    );
    let vm1 = [
        "resource",
        "create",
        "vm1",
        "-t",
        "server",
        "-a",
        "flavor:m1.small",
        "-a",
        "size:2",
        "--started-at",
        "2024-01-01T00:00:00",
        "-n",
        "cpu:cookies",
    ];
    let created = real.same_document(&store, "create server", &vm1);
    real.same_error(
        &store,
        "missing required",
        &["resource", "create", "vm2", "-t", "server"],
    );

    // No revision for an unchanged value, in both.
    let same = real.same_document(
        &store,
        "patch same value",
        &[
            "resource",
            "update",
            "vm1",
            "-t",
            "server",
            "-a",
            "flavor:m1.small",
        ],
    );
    assert_eq!(same["revision_start"], created["revision_start"]);
    assert_eq!(
        real.step("patch same value")["body"]["revision_start"],
        real.step("create server")["body"]["revision_start"]
    );
    let changed = real.same_document(
        &store,
        "patch new value",
        &[
            "resource",
            "update",
            "vm1",
            "-t",
            "server",
            "-a",
            "flavor:m1.large",
        ],
    );
    assert_ne!(changed["revision_start"], created["revision_start"]);
    real.same_document(
        &store,
        "show server",
        &["resource", "show", "vm1", "-t", "server"],
    );
    real.same_document(&store, "show as generic", &["resource", "show", "vm1"]);
    real.same_document(
        &store,
        "history",
        &["resource", "history", "vm1", "-t", "server"],
    );

    real.same_error(
        &store,
        "required without fill",
        &[
            "resource-type",
            "update",
            "server",
            "-a",
            "zone:string:true",
        ],
    );
    real.same_error(
        &store,
        "type change",
        &["resource-type", "update", "server", "-a", "flavor:number"],
    );
    real.same_error(
        &store,
        "remove missing",
        &["resource-type", "update", "server", "-r", "nope"],
    );
    real.same_document(
        &store,
        "update type",
        &[
            "resource-type",
            "update",
            "server",
            "-a",
            "zone:string:true:fill=eu",
            "-a",
            "host:string:false",
            "-r",
            "image",
            "-a",
            "flavor:string:false:max_length=20",
        ],
    );
    real.same_document(
        &store,
        "show after type update",
        &["resource", "show", "vm1", "-t", "server"],
    );
    real.same_document(
        &store,
        "history after type update",
        &["resource", "history", "vm1", "-t", "server"],
    );

    for (i, flavor, size, host) in [
        ("s0", "m1.tiny", "1", Some("a")),
        ("s1", "M1.small", "4", None),
        ("s2", "c5.large", "8", Some("a")),
        ("s3", "m1_x", "2", Some("c")),
    ] {
        let flavor = format!("flavor:{flavor}");
        let size = format!("size:{size}");
        let mut args = vec![
            "resource", "create", i, "-t", "server", "-a", &flavor, "-a", &size, "-a", "zone:eu",
        ];
        let host = host.map(|h| format!("host:{h}"));
        if let Some(host) = &host {
            args.extend(["-a", host]);
        }
        real.same_document(&store, &format!("create {i}"), &args);
    }
    for query in [
        "flavor like 'm1.%'",
        "flavor like 'm1_%'",
        "host != 'a'",
        "not host = 'a'",
        "host = null",
        "size >= 4 or size = 1 and host = 'a'",
        "size = '2'",
        "id in [s0, s1]",
    ] {
        let name = format!("search {query}");
        assert_eq!(
            ids(&store, &["resource", "search", "-t", "server", query]),
            real.found(&name),
            "{query}"
        );
    }
    for query in ["nope = 1", "size = 'many'", "id == s0"] {
        real.same_error(
            &store,
            &format!("search {query}"),
            &["resource", "search", "-t", "server", query],
        );
    }
    for sort in ["flavor:desc", "host:asc", "host:asc-nullsfirst"] {
        let name = format!("list sort {sort}");
        assert_eq!(
            ids(
                &store,
                &["resource", "list", "-t", "server", "--sort", sort]
            ),
            real.found(&name),
            "{sort}"
        );
    }
    for sort in ["nope", "size:up"] {
        real.same_error(
            &store,
            &format!("list sort {sort}"),
            &["resource", "list", "-t", "server", "--sort", sort],
        );
    }

    let mem = store.json(&["metric", "create", "mem", "-r", "foobar", "-a", "cookies"]);
    let recorded = &real.step("create metric on resource")["body"];
    assert_eq!(mem["resource_id"], recorded["resource_id"]);
    assert_eq!(
        printed_keys(&store.stdout(&["metric", "create", "other", "-a", "cookies", "-f", "json"])),
        real.keys("create metric on resource")
    );
    store.run(&["metric", "delete", "other"]).success();
    let duplicate = store
        .run(&["metric", "create", "mem", "-r", "foobar", "-a", "cookies"])
        .failure();
    assert!(stderr_of(&duplicate).contains("Named metric mem already exists"));
    let mem_id = mem["id"].as_str().unwrap();
    let shown = store.stdout(&["metric", "show", mem_id, "-f", "json"]);
    assert_eq!(printed_keys(&shown), real.keys("show metric"));
    let shown = crate::common::parse_python_json(&shown);
    let expected = &real.step("show metric")["body"];
    for key in [
        "name",
        "unit",
        "creator",
        "archive_policy",
        "created_by_user_id",
    ] {
        assert_eq!(
            stable(&shown[key]),
            stable(&expected[key]),
            "show metric: {key}"
        );
    }
    assert_eq!(stable(&shown["resource"]), stable(&expected["resource"]));
    let listed = store.stdout(&["metric", "list", "-f", "json"]);
    assert_eq!(printed_keys(&listed), real.keys("list metrics"));

    // Deleting a resource deletes its metrics.
    store.run(&["resource", "delete", "foobar"]).success();
    let after: Vec<Value> =
        crate::common::parse_python_json(&store.stdout(&["metric", "list", "-f", "json"]))
            .as_array()
            .unwrap()
            .clone();
    let names = |list: &[Value]| {
        let mut names: Vec<String> = list
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        names(&after),
        names(
            real.step("list metrics after delete")["body"]
                .as_array()
                .unwrap()
        )
    );
}
