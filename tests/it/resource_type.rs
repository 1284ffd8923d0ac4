//! `resource-type` through the binary: Gnocchi's documents, its rules on
//! changing types that have resources, and its error messages.

use predicates::str::contains;
use serde_json::json;

use crate::common::{TestStore, stderr_of};

/// Attribute names in printed order, from a type's table (its
/// `attributes/NAME` rows).
fn attribute_names(table: &str) -> Vec<String> {
    table
        .lines()
        .filter_map(|line| line.strip_prefix("| attributes/"))
        .filter_map(|rest| rest.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn server_type(store: &TestStore) {
    store
        .run(&[
            "resource-type",
            "create",
            "server",
            "-a",
            "flavor:string:true:max_length=20",
            "-a",
            "size:number:false:min=0:max=64.5",
            "-a",
            "image:uuid:false",
        ])
        .success();
}

#[test]
fn create_show_list_delete() {
    let store = TestStore::new();
    // init creates `generic`, as Gnocchi's schema does.
    assert_eq!(
        store.json(&["resource-type", "list"]),
        json!([{"name": "generic", "attributes": {}, "state": "active"}])
    );
    server_type(&store);
    let shown = store.stdout(&["resource-type", "show", "server", "-f", "json"]);
    assert_eq!(
        shown,
        r#"{
  "name": "server",
  "attributes": {
    "flavor": {
      "type": "string",
      "required": true,
      "max_length": 20,
      "min_length": 0
    },
    "size": {
      "type": "number",
      "required": false,
      "min": 0,
      "max": 64.5
    },
    "image": {
      "type": "uuid",
      "required": false
    }
  },
  "state": "active"
}
"#
    );
    assert_eq!(
        store.stdout(&[
            "resource-type",
            "show",
            "server",
            "-f",
            "value",
            "-c",
            "attributes/size"
        ]),
        "max=64.5, min=0, required=False, type=number\n"
    );
    let names = store.stdout(&["resource-type", "list", "-f", "value", "-c", "name"]);
    assert_eq!(names, "generic\nserver\n");
    store
        .run(&["resource-type", "create", "server"])
        .failure()
        .code(1)
        .stderr(contains("Resource type server already exists"));
    store.run(&["resource-type", "delete", "server"]).success();
    store
        .run(&["resource-type", "show", "server"])
        .failure()
        .stderr(contains("Resource type server does not exist"));
    store
        .run(&["resource-type", "delete", "generic"])
        .failure()
        .stderr(contains("Resource type generic is still in use"));
}

#[test]
fn bad_definitions_are_refused_with_gnocchi_messages() {
    let store = TestStore::new();
    let cases = [
        ("id:string", "Resource attribute name id is invalid"),
        ("_x:string", "Resource attribute name _x is invalid"),
        (
            "x:string:true:min_length=5:max_length=2",
            "Resource attribute value min (or min_length) 5 must be less  than or equal to max (or max_length) 2!",
        ),
        ("x:text", "unknown type `text`"),
        ("x:string:true:min=1", "extra keys not allowed"),
        ("x:string:true:fill=a", "extra keys not allowed"),
        ("x:number:true:max=big", "expected a number"),
    ];
    for (spec, message) in cases {
        let assert = store
            .run(&["resource-type", "create", "t", "-a", spec])
            .failure();
        assert!(
            stderr_of(&assert).contains(message),
            "{spec}: {}",
            stderr_of(&assert)
        );
    }
    store
        .run(&["resource-type", "create", "t", "-a", "x:string:maybe"])
        .failure()
        .code(2);
    assert_eq!(
        store.stdout(&["resource-type", "list", "-f", "value", "-c", "name"]),
        "generic\n"
    );
}

#[test]
fn updates_follow_gnocchi_rules_on_types_with_resources() {
    let store = TestStore::new();
    server_type(&store);
    store
        .run(&[
            "resource",
            "create",
            "vm1",
            "-t",
            "server",
            "-a",
            "flavor:m1.small",
        ])
        .success();
    store
        .run(&[
            "resource",
            "update",
            "vm1",
            "-t",
            "server",
            "-a",
            "flavor:m1.large",
        ])
        .success();

    // A new required attribute needs a fill value for existing rows.
    store
        .run(&["resource-type", "update", "server", "-a", "zone:string:true"])
        .failure()
        .stderr(contains(
            "Option 'fill' of resource attribute zone is invalid: must not be empty if required=True",
        ));
    store
        .run(&[
            "resource-type",
            "update",
            "server",
            "-a",
            "zone:string:true:fill=eu",
        ])
        .success();
    // An optional one is null for existing rows; a removed one disappears.
    let updated = store.stdout(&[
        "resource-type",
        "update",
        "server",
        "-a",
        "host:string:false",
        "-r",
        "image",
    ]);
    assert_eq!(
        attribute_names(&updated),
        ["flavor", "size", "zone", "host"]
    );
    let vm = store.json(&["resource", "show", "vm1", "-t", "server"]);
    assert_eq!(vm["zone"], "eu");
    assert_eq!(vm["host"], serde_json::Value::Null);
    assert!(vm.get("image").is_none());
    // The history rows were filled too.
    let history = store.json(&["resource", "history", "vm1", "-t", "server"]);
    assert_eq!(history[0]["flavor"], "m1.small");
    assert_eq!(history[0]["zone"], "eu");
    assert_eq!(history[1]["zone"], "eu");

    // Redefining an attribute: same type only; a changed one moves last.
    store
        .run(&["resource-type", "update", "server", "-a", "flavor:number"])
        .failure()
        .stderr(contains(
            "Type update is not available yet. Changing string to number for attribute flavor of resource server",
        ));
    let relaxed = store.json(&[
        "resource-type",
        "update",
        "server",
        "-a",
        "flavor:string:false:max_length=20",
    ]);
    assert_eq!(relaxed["attributes"]["flavor"]["required"], false);
    let order = store.stdout(&["resource-type", "show", "server"]);
    assert_eq!(attribute_names(&order), ["size", "zone", "host", "flavor"]);
    store
        .run(&["resource-type", "update", "server", "-r", "nope"])
        .failure()
        .stderr(contains("can't remove a non-existent object 'nope'"));
    store
        .run(&["resource-type", "delete", "server"])
        .failure()
        .stderr(contains("Resource type server is still in use"));
    store.run(&["resource", "delete", "vm1"]).success();
    store.run(&["resource-type", "delete", "server"]).success();
}
