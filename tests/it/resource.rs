//! `resource` and resource metrics through the binary: Gnocchi's ids,
//! documents, revisions and errors.

use predicates::str::contains;
use serde_json::{Value, json};

use crate::common::{TestStore, stderr_of};

/// uuid5 of "foobar" created by "admin" (the command line's creator),
/// docs/gnocchi-semantics.md#resource-ids and the real Gnocchi's `ResourceUUID`.
const FOOBAR: &str = "b4d568e4-7af1-5aec-ac3f-9c09fa3685a9";

/// The keys of a printed JSON object, in printed order (serde_json's maps
/// are sorted).
fn keys(printed: &str) -> Vec<String> {
    printed
        .lines()
        .filter_map(|line| line.strip_prefix("  \""))
        .filter_map(|rest| rest.split_once("\": ").map(|(key, _)| key.to_owned()))
        .collect()
}

#[test]
fn resources_have_gnocchi_ids_and_documents() {
    let store = TestStore::new();
    let created = store.json(&[
        "resource",
        "create",
        "foobar",
        "--project-id",
        "p1",
        "-a",
        "user_id:u1",
        "--started-at",
        "2014-01-03T02:02:02.000000",
    ]);
    assert_eq!(created["id"], FOOBAR);
    assert_eq!(created["original_resource_id"], "foobar");
    assert_eq!(created["type"], "generic");
    assert_eq!(created["creator"], "admin");
    assert_eq!(created["created_by_user_id"], "admin");
    assert_eq!(created["created_by_project_id"], "");
    assert_eq!(created["user_id"], "u1");
    assert_eq!(created["project_id"], "p1");
    assert_eq!(created["started_at"], "2014-01-03T02:02:02+00:00");
    assert_eq!(created["ended_at"], Value::Null);
    assert_eq!(created["revision_end"], Value::Null);
    assert_eq!(created["metrics"], json!({}));
    // Gnocchi 4.7's key order.
    assert_eq!(
        keys(&store.stdout(&["resource", "show", "foobar", "-f", "json"])),
        [
            "id",
            "creator",
            "started_at",
            "revision_start",
            "ended_at",
            "user_id",
            "project_id",
            "original_resource_id",
            "type",
            "revision_end",
            "metrics",
            "created_by_user_id",
            "created_by_project_id"
        ]
    );
    // Addressed by the original id or the UUID; a UUID is kept as given.
    assert_eq!(store.json(&["resource", "show", "foobar"]), created);
    assert_eq!(store.json(&["resource", "show", FOOBAR]), created);
    let upper = store.json(&["resource", "create", "5D6A2B1E-7C8F-4D3E-9A1B-2C3D4E5F6A7B"]);
    assert_eq!(upper["id"], "5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b");
    assert_eq!(
        upper["original_resource_id"],
        "5D6A2B1E-7C8F-4D3E-9A1B-2C3D4E5F6A7B"
    );

    store
        .run(&["resource", "create", "foobar"])
        .failure()
        .code(1)
        .stderr(contains(format!("Resource {FOOBAR} already exists")));
    store
        .run(&["resource", "create", "a/b"])
        .failure()
        .stderr(contains("'/' is not supported in resource id"));
    store
        .run(&[
            "resource",
            "create",
            "x",
            "--started-at",
            "2015-01-01",
            "--ended-at",
            "2014-01-01",
        ])
        .failure()
        .stderr(contains("Start timestamp cannot be after end timestamp"));
    store
        .run(&["resource", "show", "nope"])
        .failure()
        .stderr(contains("resource nope does not exist ("));
    store
        .run(&["resource", "create", "x", "-t", "nope"])
        .failure()
        .stderr(contains("Resource type nope does not exist"));
    store
        .run(&["resource", "create", "x", "-a", "flavor:1"])
        .failure()
        .stderr(contains(
            "Invalid input: extra keys not allowed @ data['flavor']",
        ));
}

#[test]
fn typed_resources_check_their_attributes() {
    let store = TestStore::new();
    store
        .run(&[
            "resource-type",
            "create",
            "server",
            "-a",
            "flavor:string:true:max_length=8",
            "-a",
            "cores:number:false:min=1",
            "-a",
            "boot:datetime:false",
            "-a",
            "public:bool:false",
        ])
        .success();
    let errors = [
        (vec![], "required key not provided @ data['flavor']"),
        (
            vec!["-a", "flavor:m1.xxxlarge"],
            "length of value must be at most 8",
        ),
        (
            vec!["-a", "flavor:a", "-a", "cores:0"],
            "value must be at least 1",
        ),
        (vec!["-a", "flavor:a", "-a", "cores:x"], "expected Real"),
        (
            vec!["-a", "flavor:a", "-a", "public:maybe"],
            "expected bool",
        ),
    ];
    for (extra, message) in errors {
        let mut args = vec!["resource", "create", "vm", "-t", "server"];
        args.extend(extra);
        let assert = store.run(&args).failure();
        assert!(
            stderr_of(&assert).contains(message),
            "{args:?}: {}",
            stderr_of(&assert)
        );
    }
    let vm = store.json(&[
        "resource",
        "create",
        "vm",
        "-t",
        "server",
        "-a",
        "flavor:m1.tiny",
        "-a",
        "cores:2",
        "-a",
        "boot:2024-01-01T00:00:00.5Z",
        "-a",
        "public:yes",
    ]);
    assert_eq!(vm["flavor"], "m1.tiny");
    assert_eq!(vm["cores"], 2.0);
    assert_eq!(vm["boot"], "2024-01-01T00:00:00.500000+00:00");
    assert_eq!(vm["public"], true);
    let printed = keys(&store.stdout(&["resource", "show", "vm", "-t", "server", "-f", "json"]));
    assert_eq!(
        &printed[8..14],
        ["type", "flavor", "cores", "boot", "public", "revision_end"]
    );
    // `generic` shows the base fields only, as Gnocchi's GET /v1/resource/generic/ID.
    assert!(
        store
            .json(&["resource", "show", "vm"])
            .get("flavor")
            .is_none()
    );
    let listed = store.json(&["resource", "list", "--details"]);
    assert_eq!(listed[0]["flavor"], "m1.tiny");
    assert!(store.json(&["resource", "list"])[0].get("flavor").is_none());
}

#[test]
fn updates_make_revisions_like_gnocchi() {
    let store = TestStore::new();
    let first = store.json(&["resource", "create", "r1", "--user-id", "u1"]);
    // Same values: no new revision.
    let same = store.json(&["resource", "update", "r1", "--user-id", "u1"]);
    assert_eq!(same["revision_start"], first["revision_start"]);
    // Metric changes never make a revision.
    let with_metric = store.json(&["resource", "update", "r1", "-n", "cpu:low"]);
    assert_eq!(with_metric["revision_start"], first["revision_start"]);
    let cpu = with_metric["metrics"]["cpu"].as_str().unwrap().to_owned();
    let changed = store.json(&[
        "resource",
        "update",
        "r1",
        "--user-id",
        "u2",
        "--ended-at",
        "2099-01-01",
    ]);
    assert_ne!(changed["revision_start"], first["revision_start"]);
    assert_eq!(changed["user_id"], "u2");
    assert_eq!(changed["ended_at"], "2099-01-01T00:00:00+00:00");
    let history = store.json(&["resource", "history", "r1"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[0]["user_id"], "u1");
    assert_eq!(history[0]["revision_start"], first["revision_start"]);
    assert_eq!(history[0]["revision_end"], changed["revision_start"]);
    assert_eq!(history[1]["revision_end"], Value::Null);
    assert_eq!(history[1]["metrics"], json!({"cpu": cpu}));
    // A history row's keys in the order of Gnocchi's history listing.
    let printed = store.stdout(&["resource", "history", "r1", "-f", "json", "--limit", "1"]);
    let row: Vec<&str> = printed
        .lines()
        .filter_map(|l| l.strip_prefix("    \""))
        .filter_map(|l| l.split_once('"').map(|(k, _)| k))
        .take(3)
        .collect();
    assert_eq!(row, ["id", "revision_end", "creator"]);
    store
        .run(&["resource", "update", "r1", "--ended-at", "2000-01-01"])
        .failure()
        .stderr(contains(
            "for attribute ended_at on resource type generic is invalid",
        ));

    // gnocchiclient's metric flags: -m attaches, -d detaches (not deletes).
    let mem = store.create_metric("mem", "low");
    let attached = store.json(&[
        "resource",
        "update",
        "r1",
        "-m",
        &format!("memory:{mem}"),
        "-d",
        "cpu",
    ]);
    assert_eq!(attached["metrics"], json!({"memory": mem}));
    assert_eq!(
        store.json(&["metric", "show", &cpu])["resource"],
        Value::Null
    );
    store
        .run(&["resource", "update", "r1", "-d", "cpu"])
        .failure()
        .stderr(contains("Metric name cpu not found"));
    store
        .run(&[
            "resource",
            "update",
            "r1",
            "-m",
            "x:5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b",
        ])
        .failure()
        .stderr(contains(
            "Metric 5d6a2b1e-7c8f-4d3e-9a1b-2c3d4e5f6a7b does not exist",
        ));
}

#[test]
fn resource_metrics_are_named_per_resource() {
    let store = TestStore::new();
    store.run(&["resource", "create", "host1"]).success();
    store.run(&["resource", "create", "host2"]).success();
    let a = store.json(&[
        "metric",
        "create",
        "cpu",
        "--resource-id",
        "host1",
        "-a",
        "low",
    ]);
    let resource = a["resource_id"].as_str().unwrap().to_owned();
    assert_eq!(a["archive_policy_name"], "low");
    store.json(&["metric", "create", "cpu", "-r", "host2"]);
    store
        .run(&["metric", "create", "cpu", "-r", "host1"])
        .failure()
        .stderr(contains("Named metric cpu already exists"));
    store
        .run(&["metric", "create", "-r", "host1"])
        .failure()
        .stderr(contains("Name cannot be null if resource_id is not null"));
    store
        .run(&["metric", "create", "cpu", "-r", "nope"])
        .failure()
        .stderr(contains("does not exist"));
    let listed = store.json(&["metric", "list", "--resource-id", "host1"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], a["id"]);
    assert_eq!(listed[0]["resource_id"], resource.as_str());
    assert_eq!(listed[0]["archive_policy"]["name"], "low");
    let shown = store.json(&["metric", "show", "cpu", "--resource-id", "host1"]);
    assert_eq!(shown["resource"]["id"], resource.as_str());
    assert_eq!(shown["resource"]["original_resource_id"], "host1");
    assert!(shown["resource"].get("metrics").is_none());
    assert_eq!(
        store.json(&["resource", "show", "host1"])["metrics"],
        json!({"cpu": a["id"]})
    );
    store
        .run(&["metric", "delete", "cpu", "-r", "host2"])
        .success();
    assert_eq!(
        store.json(&["resource", "show", "host2"])["metrics"],
        json!({})
    );
}

#[test]
fn deleting_a_resource_deletes_its_metrics_data() {
    let store = TestStore::new();
    let created = store.json(&["resource", "create", "r", "-n", "cpu:low", "-n", "mem"]);
    let cpu = created["metrics"]["cpu"].as_str().unwrap().to_owned();
    store
        .run(&["measures", "add", &cpu, "-m", "2024-01-01T00:00:00@1"])
        .success();
    store.run(&["process"]).success();
    assert!(
        crate::common::tree(&store.path().join("archive"))
            .iter()
            .any(|p| p.contains(&cpu))
    );
    store.run(&["resource", "delete", "r"]).success();
    store
        .run(&["resource", "delete", "r"])
        .failure()
        .stderr(contains("does not exist"));
    assert_eq!(store.stdout(&["metric", "list", "-f", "value"]), "");
    assert_eq!(store.json(&["process"])["expunged metrics"], 2);
    assert!(
        !crate::common::tree(&store.path().join("archive"))
            .iter()
            .any(|p| p.contains(&cpu))
    );
}

#[test]
fn batch_delete_needs_a_filter() {
    let store = TestStore::new();
    for (id, project) in [("a", "p1"), ("b", "p1"), ("c", "p2")] {
        store
            .run(&["resource", "create", id, "--project-id", project])
            .success();
    }
    let deleted = store.json(&["resource", "batch", "delete", "project_id = 'p1'"]);
    assert_eq!(deleted, json!({"deleted": 2}));
    assert_eq!(
        store.stdout(&[
            "resource",
            "list",
            "-f",
            "value",
            "-c",
            "original_resource_id"
        ]),
        "c\n"
    );
    store
        .run(&["resource", "batch", "delete", "{}"])
        .failure()
        .code(2)
        .stderr(contains("the query can not be empty"));
}

#[test]
fn the_command_line_acts_as_its_user() {
    let store = TestStore::new();
    let alice = |args: &[&str]| {
        let mut all = vec!["--user", "alice:acme"];
        all.extend_from_slice(args);
        store.json(&all)
    };
    let resource = alice(&["resource", "create", "web1"]);
    assert_eq!(resource["creator"], "alice:acme");
    assert_eq!(resource["created_by_user_id"], "alice");
    assert_eq!(resource["created_by_project_id"], "acme");
    // Gnocchi's id of a name is the creator's: admin's web1 is another.
    assert_eq!(
        resource["id"],
        uuid::Uuid::new_v5(
            &uuid::Uuid::parse_str("0a7a15ff-aa13-4ac2-897c-9bdf30ce175b").unwrap(),
            b"web1\0alice:acme"
        )
        .to_string()
    );
    store.run(&["resource", "show", "web1"]).code(1);
    assert_eq!(alice(&["resource", "show", "web1"])["id"], resource["id"]);
    let metric = alice(&["metric", "create", "cpu", "-r", "web1", "-a", "low"]);
    assert_eq!(metric["creator"], "alice:acme");
    // CARBONARA_USER does the same.
    let shown = store
        .command(&["metric", "show", "cpu", "-r", "web1", "-f", "json"])
        .env("CARBONARA_USER", "alice:acme")
        .assert()
        .success();
    assert!(String::from_utf8_lossy(&shown.get_output().stdout).contains("alice:acme"));
}
