//! carbonara against what the real Gnocchi 4.7.1 wrote with its S3 and
//! Redis drivers (tests/golden/drivers/, recorded by
//! scripts/oracle/s3_redis_drivers.py): the same policy, metrics (the same
//! ids, set in the PostgreSQL index as the recording set them) and batches,
//! on a live Garage and redis-server, must leave the very bytes Gnocchi
//! left after each step: the measures waiting (Redis list items, S3
//! measure objects), the sack wake-up keys and `gnocchi-config`, and every
//! archive object (S3 objects, Redis hash fields) after each pass.

use std::collections::BTreeMap;

use base64::Engine;
use redis::Commands;
use serde_json::{Value, json};

use carbonara::store::s3::S3Bucket;

use crate::common::{TestStore, read_json};
use crate::garage::Garage;
use crate::redis::RedisServer;

const DB: i64 = 1;

fn golden(name: &str) -> Value {
    read_json(&crate::common::golden_dir().join("drivers").join(name))
}

fn base64(text: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap()
}

fn hex(text: &Value) -> Vec<u8> {
    let text = text.as_str().unwrap();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A carbonara store on the drivers of one recording.
struct Replay<'a> {
    recording: &'a Value,
    store: TestStore,
    redis: RedisServer,
    garage: Garage,
    prefix: String,
}

impl<'a> Replay<'a> {
    fn new(recording: &'a Value) -> Replay<'a> {
        let redis = RedisServer::start();
        let garage = Garage::start();
        let prefix = recording["bucket_prefix"]
            .as_str()
            .unwrap_or("cbn")
            .to_owned();
        let driver = |section: &str| {
            let text = recording["gnocchi_conf"][section].as_str().unwrap();
            if text.contains("driver = s3") {
                garage.settings(&prefix).to_url_with_credentials()
            } else {
                format!("{}?db={DB}", redis.url())
            }
        };
        let store = TestStore::empty();
        let index = crate::postgresql::fresh_database("gnocchi_drivers");
        store
            .run(&[
                "init",
                "--no-archive-policies",
                "--sacks",
                &recording["sacks"].to_string(),
                "--index",
                &index,
                "--storage",
                &driver("storage"),
                "--incoming",
                &driver("incoming"),
            ])
            .success();
        let policy = &recording["archive_policy"];
        let mut args = vec!["archive-policy".to_owned(), "create".to_owned()];
        args.push(policy["name"].as_str().unwrap().to_owned());
        for definition in policy["definition"].as_array().unwrap() {
            args.push("-d".to_owned());
            args.push(format!(
                "granularity:{},points:{}",
                definition["granularity"].as_str().unwrap(),
                definition["points"]
            ));
        }
        for method in policy["aggregation_methods"].as_array().unwrap() {
            args.push("-m".to_owned());
            args.push(method.as_str().unwrap().to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        store.run(&args).success();
        // Gnocchi ignores an id in POST /v1/metric: the recording set its
        // metrics' ids in the index, and so does this replay.
        let mut database = postgres::Client::connect(&index, postgres::NoTls).unwrap();
        for (name, metric) in recording["metrics"].as_object().unwrap() {
            let created = store.create_metric(name, policy["name"].as_str().unwrap());
            let wanted = metric["id"].as_str().unwrap();
            database
                .execute(
                    "UPDATE metric SET id = $1::text::uuid WHERE id = $2::text::uuid",
                    &[&wanted, &created],
                )
                .unwrap();
        }
        Replay {
            recording,
            store,
            redis,
            garage,
            prefix,
        }
    }

    fn id(&self, name: &str) -> String {
        self.recording["metrics"][name]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Posts a batch as the recording did: every metric in one import, or
    /// one import per metric in the recorded order.
    fn post(&self, number: usize) {
        let batch = &self.recording["batches"][number];
        let by_id = |names: &[&String]| {
            let body: serde_json::Map<String, Value> = names
                .iter()
                .map(|name| (self.id(name), batch["measures"][*name].clone()))
                .collect();
            Value::Object(body)
        };
        let names: Vec<&String> = batch["measures"].as_object().unwrap().keys().collect();
        let bodies = if batch["request"]
            .as_str()
            .unwrap()
            .contains("one request per metric")
        {
            let mut ordered = names.clone();
            ordered.sort_by_key(|name| name.as_str() != "alpha");
            ordered.into_iter().map(|name| by_id(&[name])).collect()
        } else {
            vec![by_id(&names)]
        };
        for (n, body) in bodies.iter().enumerate() {
            let file = self
                .store
                .write_file(&format!("batch{number}-{n}.json"), body.to_string());
            self.store
                .run(&["ingest", "batch", file.to_str().unwrap()])
                .success();
        }
    }

    fn bucket(&self, name: &str) -> S3Bucket {
        S3Bucket::open(&self.garage.settings(&self.prefix), name).unwrap()
    }

    /// Every object of a bucket, by key.
    fn objects(&self, name: &str) -> BTreeMap<String, Vec<u8>> {
        crate::drivers::objects_under(&self.bucket(name), "")
    }

    /// Compares what the drivers hold with a recorded step; returns how
    /// many stored byte strings were compared.
    fn check(&self, step: &Value) -> usize {
        let mut compared = 0;
        let what = step["step"].as_str().unwrap();
        let mut connection = self.redis.connect(DB);
        if let Some(keys) = step["redis"].as_object() {
            // The recording's passes were gnocchi-api's refreshes, which
            // leave a sack's wake-up key; carbonara's pass deletes it, as
            // gnocchi-metricd's does.
            let wake_up = |key: &str, recorded: &Value| {
                recorded["type"] == "string" && key.starts_with("incoming") && !key.contains(':')
            };
            let keys: BTreeMap<&String, &Value> = keys
                .iter()
                .filter(|(key, recorded)| !(what.ends_with("processed") && wake_up(key, recorded)))
                .collect();
            let mut found: Vec<String> = connection.keys("*").unwrap();
            found.sort();
            let recorded: Vec<String> = keys.keys().map(|key| (*key).clone()).collect();
            assert_eq!(found, recorded, "{what}: Redis keys");
            for (key, recorded) in keys {
                match recorded["type"].as_str().unwrap() {
                    "list" => {
                        let items: Vec<Vec<u8>> = connection.lrange(key, 0, -1).unwrap();
                        let expected: Vec<Vec<u8>> = recorded["items_hex"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(hex)
                            .collect();
                        assert!(items == expected, "{what}: list {key} differs");
                        compared += items.len();
                    }
                    "hash" if key.starts_with("timeseries:") => {
                        let fields: BTreeMap<String, Vec<u8>> = connection.hgetall(key).unwrap();
                        let expected: BTreeMap<String, Vec<u8>> = recorded["fields_base64"]
                            .as_object()
                            .unwrap()
                            .iter()
                            .map(|(field, body)| (field.clone(), base64(body)))
                            .collect();
                        assert_eq!(
                            fields.keys().collect::<Vec<_>>(),
                            expected.keys().collect::<Vec<_>>(),
                            "{what}: fields of {key}"
                        );
                        for (field, bytes) in &expected {
                            assert!(
                                fields[field] == *bytes,
                                "{what}: {key} field {field} differs"
                            );
                        }
                        compared += expected.len();
                    }
                    "hash" => {
                        let fields: BTreeMap<String, String> = connection.hgetall(key).unwrap();
                        assert_eq!(json!(fields), recorded["fields"], "{what}: {key}");
                    }
                    "string" => {
                        let value: String = connection.get(key).unwrap();
                        assert_eq!(json!(value), recorded["value"], "{what}: {key}");
                    }
                    other => panic!("{what}: {key} is a {other}"),
                }
            }
        }
        for (bucket, objects) in step["s3"].as_object().into_iter().flatten() {
            let found = self.objects(bucket);
            let recorded: BTreeMap<&String, Vec<u8>> = objects
                .as_object()
                .unwrap()
                .iter()
                .map(|(key, object)| (key, base64(&object["base64"])))
                .collect();
            if bucket.ends_with("-measure") {
                // Measure objects are named by a uuid4 and the clock:
                // compare their sack, metric and bodies.
                let shape = |key: &str| {
                    let mut parts: Vec<&str> = key.rsplitn(2, '/').collect();
                    parts.reverse();
                    parts[0].to_owned()
                };
                let mut found: Vec<(String, &Vec<u8>)> =
                    found.iter().map(|(k, b)| (shape(k), b)).collect();
                let mut recorded: Vec<(String, &Vec<u8>)> =
                    recorded.iter().map(|(k, b)| (shape(k), b)).collect();
                found.sort();
                recorded.sort();
                assert!(found == recorded, "{what}: objects of {bucket} differ");
                compared += found.len();
            } else {
                assert_eq!(
                    found.keys().collect::<Vec<_>>(),
                    recorded.keys().copied().collect::<Vec<_>>(),
                    "{what}: keys of {bucket}"
                );
                for (key, bytes) in &recorded {
                    assert!(
                        found[*key] == *bytes,
                        "{what}: {bucket} object {key} differs"
                    );
                }
                compared += recorded.len();
            }
        }
        compared
    }
}

fn replay(file: &str) {
    let recording = golden(file);
    let replay = Replay::new(&recording);
    let steps = recording["steps"].as_array().unwrap();
    let step = |name: &str| {
        steps
            .iter()
            .find(|step| step["step"] == name)
            .unwrap_or_else(|| panic!("no step {name}"))
    };
    // Each batch waits as one list item or object per metric (the S3
    // measure bucket holds gnocchi-config too), and a pass leaves each
    // metric's bound series and 20 splits (5 methods, 2 granularities, 2
    // splits each) and takes the measures.
    let waiting = 2 + usize::from(file.starts_with("s3_incoming"));
    let archive = 42;
    replay.post(0);
    assert_eq!(replay.check(step("batch1_posted")), waiting);
    replay.store.run(&["process"]).success();
    assert_eq!(
        replay.check(step("batch1_processed")),
        archive + waiting - 2
    );
    replay.post(1);
    assert_eq!(replay.check(step("batch2_posted")), archive + waiting);
    replay.store.run(&["process"]).success();
    assert_eq!(
        replay.check(step("batch2_processed")),
        archive + waiting - 2
    );
}

#[test]
fn redis_incoming_and_s3_storage_hold_what_gnocchi_wrote() {
    replay("redis_incoming_s3_storage.json");
}

#[test]
fn s3_incoming_and_s3_storage_hold_what_gnocchi_wrote() {
    replay("s3_incoming_s3_storage.json");
}

#[test]
fn redis_incoming_and_redis_storage_hold_what_gnocchi_wrote() {
    replay("redis_incoming_redis_storage.json");
}
