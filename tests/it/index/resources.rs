//! Resource types and resources on every index backend: types created,
//! changed and deleted (on PostgreSQL with the tables and rows the real
//! Gnocchi makes, tests/golden/gnocchi-schema/resource-type), resources
//! with their revisions, searches, sorting and markers, deletion by
//! filter, the metrics of resources, and two connections updating one
//! resource at once. Every answer must be the same on both backends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use carbonara::filter::Filter;
use carbonara::policy::ArchivePolicyRule;
use carbonara::resource::{
    AttributeSpec, AttributeValue, PatchOp, Resource, ResourceType, resource_uuid,
};
use carbonara::store::index::{MetricRef, NewResource, ResourceChanges, ResourceQuery};
use carbonara::store::{Error, Index, MetricStatus, Page, PostgresIndex};
use carbonara::time::{Span, Timestamp};
use serde_json::Value;
use uuid::Uuid;

use super::{Backend, backends, create_defaults, gnocchi_database};
use crate::common::golden_dir;
use crate::gnocchi_schema::{insert_values, statements};
use crate::postgresql;

const CREATOR: &str = "admin:admin-project";

/// 2024-01-01T00:00:00Z plus `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_civil(2024, 1, 1).unwrap() + Span::from_secs(seconds)
}

fn id(name: &str) -> Uuid {
    resource_uuid(name, CREATOR).unwrap()
}

fn attribute(spec: &str) -> carbonara::resource::Attribute {
    spec.parse::<AttributeSpec>()
        .unwrap()
        .to_attribute(false, Timestamp::EPOCH)
        .unwrap()
}

/// `server`: every attribute type, one required.
fn server_type() -> ResourceType {
    ResourceType::new(
        "server",
        [
            "flavor:string:true:max_length=32",
            "cpus:number:false",
            "host:string:false",
            "booted:datetime:false",
            "ok:bool:false",
            "image:uuid:false",
        ]
        .map(attribute)
        .to_vec(),
    )
    .unwrap()
}

fn server(name: &str, attributes: &[(&str, AttributeValue)]) -> NewResource {
    NewResource {
        id: id(name),
        original_resource_id: name.to_owned(),
        type_name: "server".to_owned(),
        creator: CREATOR.to_owned(),
        user_id: None,
        project_id: None,
        started_at: Some(at(0)),
        ended_at: None,
        attributes: attributes
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect(),
        metrics: Vec::new(),
    }
}

fn text(value: &str) -> AttributeValue {
    AttributeValue::String(value.to_owned())
}

fn search(
    index: &Index,
    type_name: &str,
    filter: &str,
    history: bool,
    page: &Page,
) -> Result<Vec<Resource>, Error> {
    let filter = Filter::parse_query(filter, CREATOR).unwrap();
    index.search_resources(&ResourceQuery {
        type_name,
        filter: filter.as_ref(),
        history,
        details: false,
        page,
        now: at(86_400),
    })
}

/// A resource's original id, `id@revision` for a past revision.
fn label(resource: &Resource) -> String {
    match resource.revision {
        Resource::CURRENT_REVISION => resource.original_resource_id.clone(),
        revision => format!("{}@{revision}", resource.original_resource_id),
    }
}

fn names(resources: &[Resource]) -> Vec<String> {
    resources.iter().map(label).collect()
}

fn page(sorts: &[&str], limit: Option<usize>, marker: Option<String>) -> Page {
    Page {
        limit,
        marker,
        sorts: sorts.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// name, flavor, cpus, host, booted (seconds), ok.
type ServerRow = (
    &'static str,
    &'static str,
    Option<f64>,
    Option<&'static str>,
    Option<i64>,
    Option<bool>,
);

/// Eight servers to search and sort, some values null, started one
/// minute apart; s3 and s6 have ended.
fn create_servers(index: &Index) {
    index.create_resource_type(&server_type()).unwrap();
    let image = Uuid::from_u128(0xabcdef);
    let rows: [ServerRow; 8] = [
        (
            "s1",
            "m1.small",
            Some(1.0),
            Some("a"),
            Some(100),
            Some(true),
        ),
        ("s2", "m1.large", Some(4.0), Some("b"), None, Some(false)),
        ("s3", "M1.small", Some(2.0), None, Some(50), None),
        (
            "s4",
            "c5.large",
            Some(8.0),
            Some("a"),
            Some(300),
            Some(true),
        ),
        ("s5", "m1_x", Some(2.0), Some("c"), None, None),
        ("s6", "100%", None, Some("b"), Some(100), Some(false)),
        ("s7", "m1.small", None, None, None, Some(true)),
        ("s8", "x\\y", Some(0.5), Some("a"), Some(200), None),
    ];
    for (n, (name, flavor, cpus, host, booted, ok)) in rows.into_iter().enumerate() {
        let optional = |value: Option<AttributeValue>| value.unwrap_or(AttributeValue::Null);
        let mut new = server(
            name,
            &[
                ("flavor", text(flavor)),
                ("cpus", optional(cpus.map(AttributeValue::Number))),
                ("host", optional(host.map(text))),
                (
                    "booted",
                    optional(booted.map(|s| AttributeValue::Datetime(at(s)))),
                ),
                ("ok", optional(ok.map(AttributeValue::Bool))),
                (
                    "image",
                    if n % 2 == 0 {
                        AttributeValue::Uuid(image)
                    } else {
                        AttributeValue::Null
                    },
                ),
            ],
        );
        new.started_at = Some(at(60 * n as i64));
        new.user_id = Some(format!("user{}", n % 3));
        new.ended_at = match name {
            "s3" => Some(at(60 * 2 + 600)),
            "s6" => Some(at(60 * 5 + 7200)),
            _ => None,
        };
        index.create_resource(&new, at(3600)).unwrap();
    }
}

/// The message of an `UnexpectedResourceTypeState` error.
fn unexpected<T>(result: Result<T, Error>) -> String {
    match result {
        Err(error @ Error::UnexpectedResourceTypeState { .. }) => error.to_string(),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

fn golden_resource_type(file: &str) -> Value {
    let path = golden_dir().join("gnocchi-schema/resource-type").join(file);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The golden dump of a resource type's tables, and the `attributes` of
/// its `resource_type` row.
fn golden_tables(step: &str) -> (String, String) {
    let dir = golden_dir().join("gnocchi-schema/resource-type");
    let dump = std::fs::read_to_string(dir.join(format!("{step}.sql"))).unwrap();
    let rows = std::fs::read_to_string(dir.join(format!("{step}-row.sql"))).unwrap();
    let (_, values) = rows
        .lines()
        .filter_map(insert_values)
        .find(|(_, values)| values[0] == "schema_probe")
        .unwrap();
    (dump, values[2].clone())
}

/// What the real Gnocchi named the probe type's table.
const GOLDEN_TABLE: &str = "rt_10e79e20508942329df5670036494909";

/// The database's dump of the `rt_*` tables, its random table name
/// replaced by the golden one, and the probe type's `attributes` and
/// `state`.
fn dump_tables(store: &Backend) -> (String, String, String) {
    let mut client = store.client().unwrap();
    let row = client
        .query_one(
            "SELECT tablename, attributes::text, state::text FROM resource_type WHERE name = 'schema_probe'",
            &[],
        )
        .unwrap();
    let table: String = row.get(0);
    assert!(
        table.len() == 35
            && table.starts_with("rt_")
            && table[3..].bytes().all(|b| b.is_ascii_hexdigit()),
        "{table}"
    );
    let database = store.url.as_ref().unwrap().rsplit('/').next().unwrap();
    let dump = postgresql::server().pg_dump(
        database,
        &["-s", "-t", "public.rt_*", "--no-owner", "--no-privileges"],
    );
    (dump.replace(&table, GOLDEN_TABLE), row.get(1), row.get(2))
}

#[test]
fn resource_types_are_made_changed_and_dropped_as_gnocchi_does() {
    let created = golden_resource_type("create.json");
    let attributes = created["attributes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, definition)| {
            AttributeSpec::from_json(name, definition)
                .to_attribute(false, Timestamp::EPOCH)
                .unwrap()
        })
        .collect();
    let probe = ResourceType::new("schema_probe", attributes).unwrap();
    let change = golden_resource_type("update.json");
    let mut ops: Vec<PatchOp> = change["delete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|name| PatchOp::Remove(name.as_str().unwrap().to_owned()))
        .collect();
    for (name, definition) in change["add"].as_object().unwrap() {
        ops.push(PatchOp::Add(AttributeSpec::from_json(name, definition)));
    }
    let update = probe.plan_update(&ops, at(0)).unwrap();

    let mut listings = Vec::new();
    for store in backends("resource_types") {
        let (name, index) = (store.name, &store.index);
        index.create_resource_type(&probe).unwrap();
        assert_eq!(
            index.get_resource_type("schema_probe").unwrap(),
            probe,
            "{name}"
        );
        assert!(
            matches!(
                index.create_resource_type(&probe),
                Err(Error::ResourceTypeExists(_))
            ),
            "{name}"
        );
        let types: Vec<String> = index
            .list_resource_types()
            .unwrap()
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(types, ["generic", "schema_probe"], "{name}");
        if store.url.is_some() {
            let (golden_dump, golden_attributes) = golden_tables("create");
            let (dump, attributes, state) = dump_tables(&store);
            assert_eq!(statements(&dump), statements(&golden_dump), "{name}");
            assert_eq!(attributes, golden_attributes, "{name}");
            assert_eq!(state, "active", "{name}");
        }

        // A resource and one past revision, to be filled by the update.
        let probe_resource = NewResource {
            type_name: "schema_probe".to_owned(),
            attributes: vec![
                ("host".to_owned(), text("h1")),
                ("label".to_owned(), text("old")),
                ("load".to_owned(), AttributeValue::Number(0.5)),
                ("enabled".to_owned(), AttributeValue::Bool(true)),
                ("image".to_owned(), AttributeValue::Uuid(Uuid::from_u128(7))),
                ("seen_at".to_owned(), AttributeValue::Datetime(at(5))),
            ],
            ..server("p1", &[])
        };
        index.create_resource(&probe_resource, at(10)).unwrap();
        let changes = ResourceChanges {
            attributes: vec![("host".to_owned(), text("h2"))],
            ..ResourceChanges::default()
        };
        index
            .update_resource("schema_probe", id("p1"), &changes, at(20))
            .unwrap();

        let updated = index.update_resource_type("schema_probe", &update).unwrap();
        assert_eq!(updated, update.result, "{name}");
        assert_eq!(
            index.get_resource_type("schema_probe").unwrap(),
            update.result
        );
        if store.url.is_some() {
            let (golden_dump, golden_attributes) = golden_tables("update");
            let (dump, attributes, state) = dump_tables(&store);
            assert_eq!(statements(&dump), statements(&golden_dump), "{name}");
            assert_eq!(attributes, golden_attributes, "{name}");
            assert_eq!(state, "active", "{name}");
        }
        let history = search(index, "schema_probe", "{}", true, &Page::default()).unwrap();
        let zones: Vec<(i64, Option<AttributeValue>)> = history
            .iter()
            .map(|r| {
                let attributes = r.attributes.as_ref().unwrap();
                let zone = attributes.iter().find(|(n, _)| n == "zone");
                assert!(!attributes.iter().any(|(n, _)| n == "label"), "{name}");
                (r.revision, zone.map(|(_, v)| v.clone()))
            })
            .collect();
        // The fill reaches past revisions as well as current ones.
        assert_eq!(
            zones,
            [(1, Some(text("eu"))), (-1, Some(text("eu")))],
            "{name}"
        );
        listings.push(history);

        assert!(
            matches!(
                index.delete_resource_type("schema_probe"),
                Err(Error::ResourceTypeInUse(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                index.delete_resource_type("generic"),
                Err(Error::ResourceTypeInUse(_))
            ),
            "{name}"
        );
        index.delete_resource(id("p1")).unwrap();
        index.delete_resource_type("schema_probe").unwrap();
        assert!(
            matches!(
                index.get_resource_type("schema_probe"),
                Err(Error::ResourceTypeNotFound(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                index.delete_resource_type("schema_probe"),
                Err(Error::ResourceTypeNotFound(_))
            ),
            "{name}"
        );
        if let Some(mut client) = store.client() {
            let tables: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'rt\\_%'",
                    &[],
                )
                .unwrap()
                .get(0);
            assert_eq!(tables, 0, "{name}");
        }
    }
    assert_eq!(listings[0], listings[1]);
}

#[test]
fn only_active_resource_types_are_used_on_a_gnocchi_deployment() {
    let url = gnocchi_database("resource_type_states");
    let index = Index::new(PostgresIndex::connect(&url).unwrap());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    index.create_resource_type(&server_type()).unwrap();
    index
        .create_resource(&server("s1", &[("flavor", text("m1"))]), at(0))
        .unwrap();
    let set_state = |client: &mut postgres::Client, state: &str| {
        client
            .execute(
                &format!("UPDATE resource_type SET state = '{state}' WHERE name = 'server'"),
                &[],
            )
            .unwrap();
    };
    // What gnocchi-api shows while another worker changes the type.
    set_state(&mut client, "updating");
    assert_eq!(
        unexpected(index.create_resource(&server("s2", &[("flavor", text("m1"))]), at(0))),
        "Resource type server state is updating (expected: active)"
    );
    assert!(index.get_resource("server", id("s1")).is_err());
    unexpected(search(&index, "server", "{}", false, &Page::default()));
    unexpected(index.update_resource("server", id("s1"), &ResourceChanges::default(), at(1)));
    unexpected(
        index.update_resource_type("server", &server_type().plan_update(&[], at(0)).unwrap()),
    );
    assert_eq!(
        unexpected(index.delete_resource_type("server")),
        "Resource type server state is updating (expected: active/deletion_error/creation_error/updating_error)"
    );
    // Its state is still shown, and a generic listing still has the resource.
    assert_eq!(index.get_resource_type("server").unwrap().state, "updating");
    assert_eq!(
        names(&search(&index, "generic", "{}", false, &Page::default()).unwrap()),
        ["s1"]
    );
    // A type left broken by a failed change can be deleted.
    set_state(&mut client, "updating_error");
    index.delete_resource(id("s1")).unwrap();
    index.delete_resource_type("server").unwrap();
    let left: i64 = client
        .query_one("SELECT count(*) FROM resource_type", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 1);
}

/// Gnocchi's own `prometheus` type (made by its remote-write endpoint) has
/// strings of up to 512 characters, past the 256 the API allows for the
/// types it is asked to create: stored as Gnocchi stores it, it reads back
/// as it was (PostgreSQL refused to read it, and every remote write failed).
#[test]
fn a_type_past_the_apis_bounds_reads_back_as_stored() {
    let prometheus = carbonara::ingest::prometheus::resource_type();
    for store in backends("type_past_bounds") {
        let (name, index) = (store.name, &store.index);
        index.create_resource_type(&prometheus).unwrap();
        assert_eq!(
            index.get_resource_type("prometheus").unwrap(),
            prometheus,
            "{name}"
        );
        assert!(
            index.list_resource_types().unwrap().contains(&prometheus),
            "{name}"
        );
        index
            .create_resource(
                &NewResource {
                    type_name: "prometheus".to_owned(),
                    attributes: vec![
                        ("instance".to_owned(), text(&"i".repeat(512))),
                        ("job".to_owned(), text("node")),
                    ],
                    ..server("node-1", &[])
                },
                at(0),
            )
            .unwrap();
        let found = index
            .get_resource("prometheus", id("node-1"))
            .unwrap()
            .unwrap();
        assert_eq!(
            found.attributes.unwrap()[0],
            ("instance".to_owned(), text(&"i".repeat(512))),
            "{name}"
        );
        if let Some(mut client) = store.client() {
            let stored: Value = serde_json::from_str(
                client
                    .query_one(
                        "SELECT attributes::text FROM resource_type WHERE name = 'prometheus'",
                        &[],
                    )
                    .unwrap()
                    .get(0),
            )
            .unwrap();
            let string = serde_json::json!(
                {"type": "string", "required": true, "max_length": 512, "min_length": 1}
            );
            assert_eq!(
                stored,
                serde_json::json!({"instance": string, "job": string}),
                "{name}"
            );
        }
    }
}

#[test]
fn resources_keep_their_revisions_in_gnocchis_rows() {
    let mut histories = Vec::new();
    for store in backends("resource_revisions") {
        let (name, index) = (store.name, &store.index);
        index.create_resource_type(&server_type()).unwrap();
        let mut new = server(
            "s1",
            &[
                ("flavor", text("m1.small")),
                ("booted", AttributeValue::Datetime(at(1))),
            ],
        );
        new.user_id = Some("u0".to_owned());
        // Gnocchi keeps microseconds: the nanoseconds are rounded away.
        new.started_at = Some(Timestamp::from_nanos(at(0).nanos() + 1_700));
        let created = index.create_resource(&new, at(10)).unwrap();
        assert_eq!(
            created.started_at,
            Timestamp::from_nanos(at(0).nanos() + 2_000)
        );
        assert_eq!(created.revision_start, at(10), "{name}");
        assert_eq!(created.creator, CREATOR, "{name}");
        assert!(
            matches!(
                index.create_resource(&new, at(11)),
                Err(Error::ResourceExists(_))
            ),
            "{name}"
        );
        assert!(
            matches!(
                index.create_resource(&server("s0", &[]), at(11)),
                Err(Error::Resource(_))
            ),
            "{name}: flavor is required"
        );

        // No change, no revision.
        let same = ResourceChanges {
            user_id: Some(Some("u0".to_owned())),
            attributes: vec![("flavor".to_owned(), text("m1.small"))],
            ..ResourceChanges::default()
        };
        let unchanged = index
            .update_resource("server", id("s1"), &same, at(20))
            .unwrap();
        assert_eq!(unchanged, created, "{name}");
        let changes = [
            ResourceChanges {
                attributes: vec![("flavor".to_owned(), text("m1.large"))],
                ..ResourceChanges::default()
            },
            ResourceChanges {
                ended_at: Some(Some(at(100))),
                project_id: Some(Some("p1".to_owned())),
                attributes: vec![("ok".to_owned(), AttributeValue::Bool(true))],
                ..ResourceChanges::default()
            },
            ResourceChanges {
                ended_at: Some(None),
                attributes: vec![("booted".to_owned(), AttributeValue::Null)],
                ..ResourceChanges::default()
            },
        ];
        for (n, change) in changes.iter().enumerate() {
            let updated = index
                .update_resource("server", id("s1"), change, at(30 + 10 * n as i64))
                .unwrap();
            assert_eq!(updated.revision_start, at(30 + 10 * n as i64), "{name}");
        }
        let too_early = ResourceChanges {
            ended_at: Some(Some(at(-1))),
            ..ResourceChanges::default()
        };
        assert_eq!(
            index
                .update_resource("server", id("s1"), &too_early, at(70))
                .unwrap_err()
                .to_string(),
            "Value 2023-12-31 23:59:59+00:00 for attribute ended_at on resource type server is invalid",
            "{name}"
        );
        assert!(
            matches!(
                index.update_resource("server", id("nope"), &same, at(70)),
                Err(Error::ResourceNotFound(_))
            ),
            "{name}"
        );
        let history = search(index, "server", "{}", true, &Page::default()).unwrap();
        assert_eq!(names(&history), ["s1@1", "s1@2", "s1@3", "s1"], "{name}");
        // Each revision ends when the next starts.
        for pair in history.windows(2) {
            assert_eq!(pair[0].revision_end, Some(pair[1].revision_start), "{name}");
        }
        assert_eq!(history[3].revision_end, None, "{name}");
        let flavors: Vec<&AttributeValue> = history
            .iter()
            .map(|r| &r.attributes.as_ref().unwrap()[0].1)
            .collect();
        assert_eq!(
            flavors,
            [
                &text("m1.small"),
                &text("m1.large"),
                &text("m1.large"),
                &text("m1.large")
            ],
            "{name}"
        );
        assert_eq!(history[2].ended_at, Some(at(100)), "{name}");
        assert_eq!(history[3].ended_at, None, "{name}");
        assert_eq!(history[3].project_id.as_deref(), Some("p1"), "{name}");

        if let Some(mut client) = store.client() {
            // Naive UTC at the microsecond, Gnocchi's ids and creator.
            let row = client
                .query_one(
                    "SELECT started_at::text, revision_start::text, original_resource_id, creator, type \
                     FROM resource WHERE id = $1",
                    &[&id("s1")],
                )
                .unwrap();
            let fields: (String, String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            assert_eq!(
                fields,
                (
                    "2024-01-01 00:00:00.000002".to_owned(),
                    "2024-01-01 00:00:50".to_owned(),
                    "s1".to_owned(),
                    CREATOR.to_owned(),
                    "server".to_owned()
                )
            );
            let ends: Vec<(i32, String)> = postgresql::pairs(
                &mut client,
                "SELECT revision, revision_end::text FROM resource_history ORDER BY revision",
            );
            assert_eq!(
                ends,
                [
                    (1, "2024-01-01 00:00:30".to_owned()),
                    (2, "2024-01-01 00:00:40".to_owned()),
                    (3, "2024-01-01 00:00:50".to_owned())
                ]
            );
        }
        histories.push(history);
    }
    assert_eq!(histories[0], histories[1]);
}

#[test]
fn filters_select_the_same_resources_on_both_backends() {
    let cases: &[(&str, &[&str])] = &[
        ("flavor = 'm1.small'", &["s1", "s7"]),
        // LIKE is case-sensitive; `_` is one character, `\` escapes.
        ("flavor like 'm1.%'", &["s1", "s2", "s7"]),
        ("flavor like 'm1_%'", &["s1", "s2", "s5", "s7"]),
        (r"flavor like 'm1\_%'", &["s5"]),
        (r"flavor like '100\%'", &["s6"]),
        (r#"{"like": {"flavor": "x\\\\y"}}"#, &["s8"]),
        ("flavor like '%LARGE'", &[]),
        ("cpus >= 4 or cpus = 1 and host = 'a'", &["s1", "s2", "s4"]),
        ("(cpus >= 4 or cpus = 1) and host = 'a'", &["s1", "s4"]),
        ("host != 'a'", &["s2", "s3", "s5", "s6", "s7"]),
        ("not host = 'a'", &["s2", "s5", "s6"]),
        ("not (host = 'a' or cpus < 3)", &["s2"]),
        ("host = null", &["s3", "s7"]),
        ("cpus != null", &["s1", "s2", "s3", "s4", "s5", "s8"]),
        ("cpus > null", &[]),
        ("host in ['a', 'c']", &["s1", "s4", "s5", "s8"]),
        ("cpus in [2, '4']", &["s2", "s3", "s5"]),
        ("cpus = '2'", &["s3", "s5"]),
        ("cpus > 0.75", &["s1", "s2", "s3", "s4", "s5"]),
        ("ok = true", &["s1", "s4", "s7"]),
        ("ok = false", &["s2", "s6"]),
        ("ok != true", &["s2", "s3", "s5", "s6", "s8"]),
        (
            "image = '00000000-0000-0000-0000-000000abcdef'",
            &["s1", "s3", "s5", "s7"],
        ),
        ("image = null", &["s2", "s4", "s6", "s8"]),
        // Datetimes: ISO strings, epoch seconds, relative to now.
        ("booted >= '2024-01-01T00:01:40'", &["s1", "s4", "s6", "s8"]),
        ("booted < '2024-01-01T00:01:40Z'", &["s3"]),
        ("booted > 1704067300", &["s4", "s8"]),
        (
            "started_at >= '-1 day'",
            &["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
        ),
        (
            "started_at > '2024-01-01T00:03:00'",
            &["s5", "s6", "s7", "s8"],
        ),
        ("ended_at < '2024-01-01T01:00:00'", &["s3"]),
        ("ended_at = null", &["s1", "s2", "s4", "s5", "s7", "s8"]),
        // lifespan = ended_at - started_at.
        ("lifespan > '1 hour'", &["s6"]),
        ("lifespan <= 600", &["s3"]),
        ("lifespan = 7200", &["s6"]),
        ("id in [s1, s2]", &["s1", "s2"]),
        ("id != s1 and host = 'a'", &["s4", "s8"]),
        ("user_id = 'user1'", &["s2", "s5", "s8"]),
        (
            "created_by_project_id = 'admin-project'",
            &["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
        ),
        ("created_by_user_id != 'admin'", &[]),
        (
            "original_resource_id like 's_'",
            &["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"],
        ),
        (
            r#"{"or": [{"=": {"flavor": "c5.large"}}, {"≥": {"cpus": 4}}]}"#,
            &["s2", "s4"],
        ),
    ];
    for backend in backends("resource_filters") {
        let (name, index) = (backend.name, &backend.index);
        create_servers(index);
        for (query, expected) in cases {
            let mut found =
                names(&search(index, "server", query, false, &Page::default()).unwrap());
            found.sort();
            assert_eq!(found, *expected, "{name}: {query}");
        }
        // The generic type has the base fields only.
        let generic = search(
            index,
            "generic",
            "user_id = 'user0'",
            false,
            &Page::default(),
        )
        .unwrap();
        assert_eq!(names(&generic), ["s1", "s4", "s7"], "{name}");
        assert!(generic.iter().all(|r| r.attributes.is_none()), "{name}");
        // With details, each resource's own attributes.
        let detailed = index
            .search_resources(&ResourceQuery {
                type_name: "generic",
                filter: None,
                history: false,
                details: true,
                page: &page(&[], Some(1), None),
                now: at(0),
            })
            .unwrap();
        assert_eq!(
            detailed[0].attributes.as_ref().unwrap()[0],
            ("flavor".to_owned(), text("m1.small")),
            "{name}"
        );
        let refused = |query: &str| {
            search(index, "server", query, false, &Page::default())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused("nope = 1"),
            "Resource type server has no nope attribute"
        );
        assert_eq!(
            refused("cpus = 'many'"),
            "Invalid value: `many' for field `cpus'"
        );
        assert_eq!(
            refused("ok like 't%'"),
            "Invalid value: `t%' for field `ok'"
        );
        assert_eq!(
            refused("booted > 'soon'"),
            "Invalid value: `soon' for field `booted'"
        );
        assert_eq!(
            refused("created_by_user_id > 'a'"),
            "Invalid value: `a' for field `created_by_user_id'"
        );
        assert!(matches!(
            search(index, "nope", "{}", false, &Page::default()),
            Err(Error::ResourceTypeNotFound(_))
        ));
        // Wide is not deep: two thousand `or`ed conditions run.
        let wide: Vec<String> = (0..2_000).map(|i| format!("cpus = {i}")).collect();
        let mut found =
            names(&search(index, "server", &wide.join(" or "), false, &Page::default()).unwrap());
        found.sort();
        assert_eq!(found, ["s1", "s2", "s3", "s4", "s5"], "{name}");
        // More values than one statement binds: the user's error.
        let huge = format!("cpus in [{}]", vec!["1"; 70_000].join(","));
        let limit = if name == "sqlite" { 32_766 } else { 65_535 };
        assert!(
            matches!(
                search(index, "server", &huge, false, &Page::default()),
                Err(Error::FilterTooLarge { values: 70_000, limit: l }) if l == limit
            ),
            "{name}"
        );
    }
}

#[test]
fn sorting_markers_and_limits_page_alike_on_both_backends() {
    let sorts: &[&[&str]] = &[
        &[],
        &["flavor"],
        &["cpus:desc"],
        &["host:asc-nullsfirst", "cpus:desc-nullslast"],
        &["host:desc-nullslast", "started_at:desc"],
        &["ok:asc", "booted:desc-nullsfirst"],
        &["image", "user_id:desc"],
        &["ended_at:asc-nullsfirst"],
    ];
    let mut listings: Vec<Vec<Vec<String>>> = Vec::new();
    for backend in backends("resource_sorting") {
        let (name, index) = (backend.name, &backend.index);
        create_servers(index);
        for n in [2, 5] {
            let changes = ResourceChanges {
                attributes: vec![("cpus".to_owned(), AttributeValue::Number(n as f64 * 10.0))],
                ..ResourceChanges::default()
            };
            index
                .update_resource("server", id(&format!("s{n}")), &changes, at(7200))
                .unwrap();
        }
        let mut found = Vec::new();
        for sort in sorts {
            let all =
                names(&search(index, "server", "{}", false, &page(sort, None, None)).unwrap());
            assert_eq!(all.len(), 8, "{name}: {sort:?}");
            // Page by page, each starting after the last row of the previous.
            let mut paged = Vec::new();
            let mut marker = None;
            loop {
                let rows =
                    search(index, "server", "{}", false, &page(sort, Some(3), marker)).unwrap();
                paged.extend(names(&rows));
                match rows.last() {
                    Some(last) if rows.len() == 3 => marker = Some(last.id.to_string()),
                    _ => break,
                }
            }
            found.push(all);
            found.push(paged);
        }
        // Revisions page by `id@revision`.
        let mut paged = Vec::new();
        let mut marker = None;
        loop {
            let rows = search(
                index,
                "server",
                "{}",
                true,
                &page(&["cpus:desc"], Some(4), marker),
            )
            .unwrap();
            paged.extend(names(&rows));
            match rows.last() {
                Some(last) if rows.len() == 4 => {
                    marker = Some(format!("{}@{}", last.id, last.revision));
                }
                _ => break,
            }
        }
        assert_eq!(paged.len(), 10, "{name}");
        found.push(paged);
        let invalid = |sorts: &[&str], marker: Option<String>| {
            search(index, "server", "{}", false, &page(sorts, Some(1), marker))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            invalid(&["nope"], None),
            "Invalid pagination: `Sort key supplied is invalid: nope'"
        );
        assert_eq!(
            invalid(&["cpus:sideways"], None),
            "Invalid pagination: `Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast'"
        );
        let unknown = Uuid::from_u128(1).to_string();
        assert_eq!(
            invalid(&[], Some(unknown.clone())),
            format!("Invalid pagination: `Invalid marker: `{unknown}''")
        );
        listings.push(found);
    }
    // What oslo.db's paginate_query orders, with PostgreSQL's nulls.
    // (Each sort gave its whole listing, then its pages.)
    let orders = &listings[0];
    // revision_start (s2 and s5 changed last), then started_at.
    assert_eq!(orders[0], ["s1", "s3", "s4", "s6", "s7", "s8", "s2", "s5"]);
    assert_eq!(orders[6], ["s3", "s7", "s4", "s1", "s8", "s2", "s6", "s5"]);
    // Paged, s6 is lost: its null cpus is neither `< 20` (after s2, the
    // last row of page 2) nor counted by oslo.db's `desc-nullslast`
    // criterion, a quirk Gnocchi has too.
    assert_eq!(orders[7], ["s3", "s7", "s4", "s1", "s8", "s2", "s5"]);
    assert_eq!(orders[8], ["s5", "s6", "s2", "s8", "s4", "s1", "s7", "s3"]);
    assert_eq!(listings[0], listings[1]);
}

#[test]
fn resources_are_deleted_by_filter() {
    for backend in backends("resource_delete_filter") {
        let (name, index) = (backend.name, &backend.index);
        create_servers(index);
        index
            .update_resource(
                "server",
                id("s4"),
                &ResourceChanges {
                    user_id: Some(Some("someone".to_owned())),
                    ..ResourceChanges::default()
                },
                at(7200),
            )
            .unwrap();
        let filter = Filter::parse_query("cpus >= 4 or host = null", CREATOR)
            .unwrap()
            .unwrap();
        assert_eq!(
            index.delete_resources("server", &filter, at(0)).unwrap(),
            4,
            "{name}"
        );
        let left = names(&search(index, "server", "{}", true, &Page::default()).unwrap());
        assert_eq!(left, ["s1", "s5", "s6", "s8"], "{name}");
        assert_eq!(index.delete_resources("server", &filter, at(0)).unwrap(), 0);
        index.delete_resource(id("s1")).unwrap();
        assert!(
            matches!(
                index.delete_resource(id("s1")),
                Err(Error::ResourceNotFound(_))
            ),
            "{name}"
        );
        assert_eq!(index.get_resource("generic", id("s1")).unwrap(), None);
    }
}

#[test]
fn resources_carry_their_metrics() {
    for backend in backends("resource_metrics") {
        let (name, index) = (backend.name, &backend.index);
        create_defaults(index);
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        index.create_resource_type(&server_type()).unwrap();
        let mut new = server("s1", &[("flavor", text("m1"))]);
        new.metrics = vec![
            (
                "cpu".to_owned(),
                MetricRef::Create {
                    archive_policy_name: Some("high".to_owned()),
                    unit: Some("ns".to_owned()),
                },
            ),
            (
                "mem".to_owned(),
                MetricRef::Create {
                    archive_policy_name: None,
                    unit: None,
                },
            ),
        ];
        let created = index.create_resource(&new, at(0)).unwrap();
        let metric_names: Vec<&str> = created.metrics.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(metric_names, ["cpu", "mem"], "{name}");
        assert_eq!(index.resource_metrics(id("s1")).unwrap(), created.metrics);
        let cpu = index.get_metric(created.metrics[0].1).unwrap().unwrap();
        assert_eq!(
            (
                cpu.archive_policy_name.as_str(),
                cpu.unit.as_deref(),
                cpu.creator.as_str()
            ),
            ("high", Some("ns"), CREATOR),
            "{name}"
        );
        let mem = index.get_metric(created.metrics[1].1).unwrap().unwrap();
        assert_eq!(mem.archive_policy_name, "low", "{name}: the default rule");

        // Replacing the metrics makes no revision; a name is taken once.
        let replaced = index
            .update_resource(
                "server",
                id("s1"),
                &ResourceChanges {
                    metrics: Some(vec![
                        ("cpu".to_owned(), MetricRef::Existing(cpu.id)),
                        ("disk".to_owned(), MetricRef::Existing(mem.id)),
                    ]),
                    ..ResourceChanges::default()
                },
                at(10),
            )
            .unwrap();
        assert_eq!(
            replaced.metrics,
            [("cpu".to_owned(), cpu.id), ("disk".to_owned(), mem.id)],
            "{name}"
        );
        assert_eq!(replaced.revision_start, at(0), "{name}");
        let twice = ResourceChanges {
            metrics: Some(vec![(
                "cpu".to_owned(),
                MetricRef::Create {
                    archive_policy_name: Some("low".to_owned()),
                    unit: None,
                },
            )]),
            ..ResourceChanges::default()
        };
        let mut foreign = server("s2", &[("flavor", text("m1"))]);
        foreign.creator = "someone:else".to_owned();
        foreign.metrics = vec![("cpu".to_owned(), MetricRef::Existing(cpu.id))];
        assert!(
            matches!(
                index.create_resource(&foreign, at(0)),
                Err(Error::MetricNotFound(_))
            ),
            "{name}: only the creator's metrics are attached"
        );
        assert_eq!(
            index.get_resource("generic", id("s2")).unwrap(),
            None,
            "{name}"
        );
        index
            .update_resource("server", id("s1"), &twice, at(20))
            .unwrap();
        let third = index.resource_metrics(id("s1")).unwrap();
        assert_eq!(third.len(), 1, "{name}");
        assert_ne!(third[0].1, cpu.id, "{name}");

        // Deleting the resource marks its metrics for the janitor.
        index.delete_resource(id("s1")).unwrap();
        assert_eq!(index.get_metric(third[0].1).unwrap(), None, "{name}");
        let deleted: Vec<Uuid> = index
            .deleted_metrics()
            .unwrap()
            .into_iter()
            .filter(|m| m.status == MetricStatus::Delete && m.resource_id.is_none())
            .map(|m| m.id)
            .collect();
        assert!(deleted.contains(&third[0].1), "{name}");
    }
}

#[test]
fn a_resource_updated_by_two_connections_at_once_keeps_both_revisions() {
    let mut histories = Vec::new();
    for store in backends("resource_concurrent") {
        let name = store.name;
        let first = &store.index;
        first.create_resource_type(&server_type()).unwrap();
        let mut new = server("s1", &[("flavor", text("m1"))]);
        new.user_id = Some("u0".to_owned());
        new.project_id = Some("p0".to_owned());
        first.create_resource(&new, at(0)).unwrap();

        let second = store.connect_again();
        let (started, start) = mpsc::channel();
        let committing = Arc::new(AtomicBool::new(false));
        let seen = Arc::clone(&committing);
        let racer = std::thread::spawn(move || {
            start.recv().unwrap();
            let changes = ResourceChanges {
                project_id: Some(Some("p2".to_owned())),
                ..ResourceChanges::default()
            };
            second
                .update_resource("server", id("s1"), &changes, at(20))
                .unwrap();
            // It could not finish before the first update committed.
            seen.load(Ordering::SeqCst)
        });
        first
            .atomically(|index| {
                let changes = ResourceChanges {
                    user_id: Some(Some("u1".to_owned())),
                    ..ResourceChanges::default()
                };
                index.update_resource("server", id("s1"), &changes, at(10))?;
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(300));
                committing.store(true, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
        assert!(racer.join().unwrap(), "{name}: the second update waited");

        let history = search(first, "server", "{}", true, &Page::default()).unwrap();
        let states: Vec<(String, Option<&str>, Option<&str>)> = history
            .iter()
            .map(|r| (label(r), r.user_id.as_deref(), r.project_id.as_deref()))
            .collect();
        assert_eq!(
            states,
            [
                ("s1@1".to_owned(), Some("u0"), Some("p0")),
                ("s1@2".to_owned(), Some("u1"), Some("p0")),
                ("s1".to_owned(), Some("u1"), Some("p2")),
            ],
            "{name}"
        );
        assert_eq!(history[1].revision_end, Some(at(20)), "{name}");
        histories.push(history);
    }
    assert_eq!(histories[0], histories[1]);
}
