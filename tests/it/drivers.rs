//! The storage and incoming drivers' behaviour, on every combination the
//! tests can start: archives in files, in Gnocchi's Redis hashes or in its
//! S3 bucket (Garage), measures waiting in files, in Gnocchi's Redis lists
//! or in its S3 bucket, each with the SQLite and the PostgreSQL index. One scenario runs on each: measures
//! ingested, counted while they wait, aggregated over two passes (the
//! second merging into stored splits), read back; a metric deleted and
//! its data expunged. Every answer must equal the plain directory store's,
//! and every stored object must hold the very bytes of its file there
//! (the file layout is the one checked against Gnocchi's own files).

use std::collections::BTreeMap;
use std::path::Path;

use redis::Commands;
use serde_json::Value;

use carbonara::store::s3::S3Bucket;

use crate::common::TestStore;
use crate::garage::Garage;
use crate::redis::RedisServer;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    File,
    Redis,
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Index {
    Sqlite,
    Postgresql,
}

const FIRST: &str = "\
a,2024-03-01T00:00:00Z,1.5
a,2024-03-01T00:04:59Z,2.5
b,2024-03-01T00:01:00Z,10
a,2024-03-01T00:06:00Z,-3
b,2024-03-01T00:11:00Z,12
";
const SECOND: &str = "\
a,2024-03-01T00:06:30Z,7
a,2024-03-01T01:00:00Z,8
b,2024-03-01T00:12:00Z,14
";

/// The servers the combinations share: each combination has a Redis
/// database emptied for it and buckets of its own.
struct Servers {
    redis: RedisServer,
    garage: Garage,
}

/// The Redis database the combinations use.
const DB: i64 = 1;

/// A store on some drivers, and the directories of its file drivers.
struct Combination<'s> {
    store: TestStore,
    storage: Driver,
    servers: &'s Servers,
    bucket_prefix: String,
    files: tempfile::TempDir,
}

impl<'s> Combination<'s> {
    fn new(
        servers: &'s Servers,
        number: usize,
        storage: Driver,
        incoming: Driver,
        index: Index,
    ) -> Combination<'s> {
        let store = TestStore::empty();
        let files = tempfile::tempdir().unwrap();
        let _: () = redis::cmd("FLUSHDB")
            .query(&mut servers.redis.connect(DB))
            .unwrap();
        let bucket_prefix = format!("combination{number}");
        let url = |driver: Driver, name: &str| match driver {
            Driver::File => format!("file://{}", files.path().join(name).display()),
            Driver::Redis => format!("{}?db={DB}", servers.redis.url()),
            Driver::S3 => servers
                .garage
                .settings(&bucket_prefix)
                .to_url_with_credentials(),
        };
        let mut args = vec![
            "init".to_owned(),
            "--sacks".to_owned(),
            "8".to_owned(),
            "--storage".to_owned(),
            url(storage, "storage"),
            "--incoming".to_owned(),
            url(incoming, "incoming"),
        ];
        if index == Index::Postgresql {
            args.extend([
                "--index".to_owned(),
                crate::postgresql::fresh_database("drivers"),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        store.run(&args).success();
        Combination {
            store,
            storage,
            servers,
            bucket_prefix,
            files,
        }
    }

    fn redis(&self) -> redis::Connection {
        self.servers.redis.connect(DB)
    }

    fn bucket(&self, suffix: &str) -> S3Bucket {
        let settings = self.servers.garage.settings(&self.bucket_prefix);
        S3Bucket::open(&settings, &format!("{}-{suffix}", self.bucket_prefix)).unwrap()
    }

    /// Every stored object of a metric, by its file name in Gnocchi's file
    /// layout (`none_v3`, `agg_<method>/<key>_<granularity>_v3`).
    fn stored(&self, metric: &str) -> BTreeMap<String, Vec<u8>> {
        match self.storage {
            Driver::File => files_of_metric(&self.files.path().join("storage"), metric),
            Driver::Redis => {
                let fields: BTreeMap<String, Vec<u8>> = self
                    .redis()
                    .hgetall(format!("timeseries:{metric}"))
                    .unwrap();
                fields
                    .into_iter()
                    .map(|(field, bytes)| {
                        let name = match field.split('_').collect::<Vec<_>>()[..] {
                            [key, method, granularity, "v3"] => {
                                format!("agg_{method}/{key}_{granularity}_v3")
                            }
                            _ => field,
                        };
                        (name, bytes)
                    })
                    .collect()
            }
            Driver::S3 => objects_of_metric(&self.bucket("aggregates"), metric),
        }
    }

    /// Whether anything of the incoming driver is left.
    fn incoming_left(&self, incoming: Driver) -> Vec<String> {
        match incoming {
            Driver::File => Vec::new(),
            Driver::Redis => self.redis().keys("incoming*:*").unwrap(),
            Driver::S3 => self
                .bucket("measure")
                .list("")
                .unwrap()
                .into_iter()
                .map(|(key, _)| key)
                .filter(|key| key != "gnocchi-config")
                .collect(),
        }
    }
}

/// Every object of a metric in an S3 storage bucket, by its file name in
/// Gnocchi's file layout (`none_v3`, `agg_<method>/<key>_<granularity>_v3`).
pub(crate) fn objects_of_metric(bucket: &S3Bucket, metric: &str) -> BTreeMap<String, Vec<u8>> {
    objects_under(bucket, &format!("{metric}/"))
        .into_iter()
        .map(|(key, body)| {
            let object = key.split_once('/').unwrap().1;
            let name = match object.split('_').collect::<Vec<_>>()[..] {
                [method, granularity, key, "v3"] => {
                    format!("agg_{method}/{key}_{granularity}_v3")
                }
                _ => object.to_owned(),
            };
            (name, body)
        })
        .collect()
}

/// Every object of a bucket whose key starts with `prefix`, by key.
pub(crate) fn objects_under(bucket: &S3Bucket, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let keys: Vec<String> = bucket
        .list(prefix)
        .unwrap()
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    let bodies = bucket.get_many(&keys).unwrap();
    keys.into_iter()
        .zip(bodies)
        .map(|(key, body)| (key, body.unwrap().to_vec()))
        .collect()
}

/// The files of a metric under a file storage directory, by their path
/// below the metric's directory.
pub(crate) fn files_of_metric(root: &Path, metric: &str) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.unwrap();
        let path = entry.path();
        let Ok(below) = path.strip_prefix(root) else {
            continue;
        };
        let parts: Vec<String> = below
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if let Some(position) = parts.iter().position(|p| p == metric)
            && entry.file_type().is_file()
        {
            files.insert(
                parts[position + 1..].join("/"),
                std::fs::read(path).unwrap(),
            );
        }
    }
    files
}

/// What the scenario saw on one store.
#[derive(Debug, PartialEq)]
struct Seen {
    waiting: Value,
    measures: Vec<Value>,
    objects: BTreeMap<String, Vec<u8>>,
    /// `dump` of a metric, waiting measures included, each file without
    /// its name (which says where the driver keeps it).
    dump: Vec<String>,
    /// `info` of a metric, and of the store but for its size on disk.
    info: Vec<Value>,
    /// Whether `status` knew the age of the oldest measure waiting (from
    /// the names of files or S3 objects; Redis keeps no write time).
    oldest_known: bool,
}

/// `info` of a metric, then of the store without its size on disk (which
/// counts the files of the file drivers only); metric ids and sacks, drawn
/// at random, left out.
fn info_of(store: &TestStore, metric: &str) -> Vec<Value> {
    fn without_ids(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for key in ["id", "sack", "metrics per sack", "size on disk"] {
                    map.remove(key);
                }
                map.values_mut().for_each(without_ids);
            }
            Value::Array(items) => items.iter_mut().for_each(without_ids),
            _ => {}
        }
    }
    let mut info = vec![store.json(&["info", metric]), store.json(&["info"])];
    info.iter_mut().for_each(without_ids);
    info
}

/// A metric's `dump`, each file without its name, in a stable order.
fn dump_of(store: &TestStore, metric: &str) -> Vec<String> {
    let dump = store.json(&["dump", metric]);
    let mut files: Vec<String> = dump
        .as_array()
        .unwrap()
        .iter()
        .map(|file| {
            let mut file = file.clone();
            file.as_object_mut().unwrap().remove("file");
            file.to_string()
        })
        .collect();
    files.sort();
    files
}

/// The scenario, on a store that has the default policies.
fn scenario(
    store: &TestStore,
    stored: &dyn Fn(&str) -> BTreeMap<String, Vec<u8>>,
) -> (Seen, String) {
    let a = store.create_metric("a", "low");
    let b = store.create_metric("b", "low");
    let csv = |name: &str, text: &str| {
        let lines: Vec<String> = text
            .lines()
            .map(|line| match line.split_once(',') {
                Some(("a", rest)) => format!("{a},{rest}"),
                Some(("b", rest)) => format!("{b},{rest}"),
                _ => panic!("{line}"),
            })
            .collect();
        store.write_file(name, lines.join("\n"))
    };
    let ingest = |name: &str, text: &str| {
        let file = csv(name, text);
        store
            .run(&[
                "ingest",
                "csv",
                "--metric-column",
                "1",
                file.to_str().unwrap(),
            ])
            .success();
    };
    ingest("first.csv", FIRST);
    let status = store.json(&["status"]);
    let waiting = status["storage/total number of measures to process"].clone();
    let oldest_known = status["storage/age in seconds of the oldest measure to process"]
        .as_i64()
        .is_some_and(|age| (0..600).contains(&age));
    assert_eq!(
        status["storage/number of metric having measures to process"],
        2
    );
    store.run(&["process"]).success();
    ingest("second.csv", SECOND);
    // Read through a refresh: the pass a GET …?refresh=true runs.
    let mut dump = dump_of(store, &a);
    let mut measures = vec![store.json(&["measures", "show", &a, "--refresh"])];
    store.run(&["process"]).success();
    measures.push(store.json(&["measures", "show", &b, "--aggregation", "max"]));
    measures.push(store.json(&["measures", "show", &a, "--aggregation", "count"]));
    let objects = stored(&a);
    dump.extend(dump_of(store, &a));
    let info = info_of(store, &a);
    let verified = store.run(&["verify"]).success();
    let said = crate::common::stderr_of(&verified);
    assert!(said.contains("verified 2 metrics, 14 files"), "{said}");
    store.run(&["metric", "delete", &b]).success();
    store.run(&["process"]).success();
    assert!(stored(&b).is_empty(), "metric b left data behind");
    let status = store.json(&["status"]);
    assert_eq!(status["storage/total number of measures to process"], 0);
    (
        Seen {
            waiting,
            measures,
            objects,
            dump,
            info,
            oldest_known,
        },
        a,
    )
}

#[test]
fn every_driver_combination_behaves_as_the_directory_store() {
    let reference_store = TestStore::new();
    let reference_root = reference_store.path().join("archive");
    let (reference, _) = scenario(&reference_store, &|metric| {
        files_of_metric(&reference_root, metric)
    });
    assert!(reference.objects.contains_key("none_v3"));
    assert!(reference.oldest_known);
    assert!(
        reference
            .objects
            .keys()
            .any(|name| name.starts_with("agg_mean/"))
    );
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    let drivers = [Driver::File, Driver::Redis, Driver::S3];
    let mut number = 0;
    for index in [Index::Sqlite, Index::Postgresql] {
        for storage in drivers {
            for incoming in drivers {
                number += 1;
                let what = format!("storage {storage:?}, incoming {incoming:?}, index {index:?}");
                eprintln!("{what}");
                let combination = Combination::new(&servers, number, storage, incoming, index);
                let combination = &combination;
                let (seen, _) = scenario(&combination.store, &|metric| combination.stored(metric));
                assert_eq!(seen.waiting, reference.waiting, "{what}");
                assert_eq!(seen.measures, reference.measures, "{what}");
                assert_eq!(
                    seen.objects.keys().collect::<Vec<_>>(),
                    reference.objects.keys().collect::<Vec<_>>(),
                    "{what}"
                );
                assert!(seen.objects == reference.objects, "{what}: bytes differ");
                assert_eq!(seen.dump, reference.dump, "{what}: dump");
                assert_eq!(seen.info, reference.info, "{what}: info");
                assert_eq!(
                    seen.oldest_known,
                    !matches!(incoming, Driver::Redis),
                    "{what}: the oldest measure's age"
                );
                let left = combination.incoming_left(incoming);
                assert!(left.is_empty(), "{what}: measures left: {left:?}");
                match incoming {
                    Driver::Redis => {
                        let sacks: String =
                            combination.redis().hget("gnocchi-config", "sacks").unwrap();
                        assert_eq!(sacks, "8", "{what}");
                    }
                    Driver::S3 => {
                        let config = combination.bucket("measure").get("gnocchi-config").unwrap();
                        assert_eq!(config.unwrap().as_ref(), b"{\"sacks\": 8}", "{what}");
                    }
                    Driver::File => {}
                }
            }
        }
    }
}

/// Gnocchi's consumption semantics: a pass trims only the items it read,
/// so measures pushed while it aggregates wait for the next one; and an
/// empty read trims nothing.
#[test]
fn measures_pushed_during_a_pass_wait_for_the_next() {
    use carbonara::store::incoming::SackName;
    use carbonara::store::redis::Pool;
    use carbonara::store::redis::incoming::RedisIncoming;
    use carbonara::time::Timestamp;

    let server = RedisServer::start();
    let incoming = RedisIncoming::new(Pool::new("incoming", &server.url()).unwrap());
    let metric = uuid::Uuid::new_v4();
    let sack = SackName {
        total: 8,
        number: (metric.as_u128() % 8) as u32,
    };
    let batch = |seconds: i64, value: f64| {
        carbonara::carbonara::codec::encode_measures(&[(
            Timestamp::from_nanos(seconds * 1_000_000_000),
            value,
        )])
    };
    let empty = incoming.read(sack, &[metric]).unwrap();
    assert_eq!(empty[0].items, 0);
    incoming.push(&[(sack, metric, batch(1, 1.0))]).unwrap();
    incoming
        .consume(&[(sack, metric, empty[0].items)], &[])
        .unwrap();
    let read = incoming.read(sack, &[metric]).unwrap();
    assert_eq!(read[0].measures.len(), 1, "an empty read trimmed a batch");
    incoming.push(&[(sack, metric, batch(2, 2.0))]).unwrap();
    assert_eq!(incoming.waiting(8).unwrap(), [(sack.number, metric)]);
    let wake_up: Option<String> = server.connect(0).get(sack.to_string()).unwrap();
    assert_eq!(wake_up.as_deref(), Some("1"));
    incoming
        .consume(&[(sack, metric, read[0].items)], &[sack])
        .unwrap();
    let left = incoming.read(sack, &[metric]).unwrap();
    assert_eq!(
        left[0].measures,
        [(Timestamp::from_nanos(2_000_000_000), 2.0)]
    );
    let wake_up: Option<String> = server.connect(0).get(sack.to_string()).unwrap();
    assert_eq!(wake_up, None, "the sack's wake-up key stays set");
    assert_eq!(incoming.backlog(8).unwrap(), [(metric, 1)]);
}

/// `dump` of a driver's URL decodes everything Gnocchi's S3 or Redis
/// drivers keep there, no index needed: every metric's archive, then
/// every batch of measures waiting.
#[test]
fn dump_reads_a_driver_without_an_index() {
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    for driver in [Driver::Redis, Driver::S3] {
        let combination = Combination::new(&servers, 100, driver, driver, Index::Sqlite);
        let store = &combination.store;
        let a = store.create_metric("a", "low");
        let b = store.create_metric("b", "low");
        for (metric, measure) in [(&a, "2024-03-01T00:00:00@1"), (&b, "2024-03-01T00:01:00@2")] {
            store
                .run(&["measures", "add", metric, "-m", measure])
                .success();
        }
        store.run(&["process"]).success();
        store
            .run(&["measures", "add", &a, "-m", "2024-03-01T00:02:00@3"])
            .success();
        let url = match driver {
            Driver::S3 => servers.garage.url(&combination.bucket_prefix),
            _ => format!("{}?db={DB}", servers.redis.url()),
        };
        let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
        command
            .env_remove("CARBONARA_STORE")
            .envs(servers.garage.env())
            .args(["dump", &url, "--summary", "-f", "json"]);
        let output = command.assert().success().get_output().stdout.clone();
        let dump = crate::common::parse_python_json(&String::from_utf8(output).unwrap());
        let kinds = |kind: &str| {
            dump.as_array()
                .unwrap()
                .iter()
                .filter(|file| file["kind"] == kind)
                .count()
        };
        // The low policy: one granularity, six methods, one split each,
        // but for std, which has no value for a single point.
        assert_eq!(
            (kinds("bound"), kinds("split"), kinds("measures")),
            (2, 10, 1),
            "{driver:?}: {dump}"
        );
        let waiting = dump
            .as_array()
            .unwrap()
            .iter()
            .find(|file| file["kind"] == "measures")
            .unwrap();
        assert_eq!(waiting["last"], "2024-03-01T00:02:00+00:00", "{driver:?}");
    }
}

/// `verify` on S3 and Redis: a split that does not decode, one whose key
/// is not a split boundary, one of a method the policy does not have,
/// and an object foreign to Gnocchi's layout are each named, with nothing
/// moved (the operator decides), and the command fails.
#[test]
fn verify_names_what_is_wrong_in_a_bucket_or_a_hash() {
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    for driver in [Driver::Redis, Driver::S3] {
        let combination = Combination::new(&servers, 200, driver, Driver::File, Index::Sqlite);
        let store = &combination.store;
        let a = store.create_metric("a", "low");
        store
            .run(&["measures", "add", &a, "-m", "2024-03-01T00:00:00@1"])
            .success();
        store.run(&["process"]).success();
        store.run(&["verify"]).success();
        // The low policy's split of 2024-03-01 at 5 minutes: 1708560000.0.
        let mean = |key: &str| match driver {
            Driver::S3 => format!("{a}/mean_300.0_{key}_v3"),
            _ => format!("{key}_mean_300.0_v3"),
        };
        let good = combination.stored(&a)["agg_mean/1708560000.0_300.0_v3"].clone();
        let objects = [
            (mean("1708560000.0"), b"not a split".to_vec()),
            (mean("1708560300.0"), good),
            (
                match driver {
                    Driver::S3 => format!("{a}/95pct_300.0_1708560000.0_v3"),
                    _ => "1708560000.0_95pct_300.0_v3".to_owned(),
                },
                codec_split(),
            ),
            (
                match driver {
                    Driver::S3 => format!("{a}/notes.txt"),
                    _ => "notes".to_owned(),
                },
                b"hello".to_vec(),
            ),
        ];
        for (name, bytes) in &objects {
            match driver {
                Driver::S3 => combination.bucket("aggregates").put(name, bytes).unwrap(),
                _ => {
                    let _: () = combination
                        .redis()
                        .hset(format!("timeseries:{a}"), name, bytes.as_slice())
                        .unwrap();
                }
            }
        }
        let output = store.command(&["verify", "-f", "json"]).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{driver:?}");
        let rows = crate::common::parse_python_json(&String::from_utf8(output.stdout).unwrap());
        let mut found: Vec<(String, String)> = rows
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let path = row["path"].as_str().unwrap();
                let name = path.rsplit('/').next().unwrap().to_owned();
                (name, row["problem"].as_str().unwrap().to_owned())
            })
            .collect();
        found.sort();
        let leaf = |name: &str| name.rsplit('/').next().unwrap().to_owned();
        let mut expected = vec![
            (leaf(&objects[0].0), "does not decode".to_owned()),
            (leaf(&objects[1].0), "not a split boundary".to_owned()),
            (leaf(&objects[2].0), "`95pct` is not a method".to_owned()),
            (
                leaf(&objects[3].0),
                "not an object of Gnocchi's layout".to_owned(),
            ),
        ];
        expected.sort();
        assert_eq!(found.len(), expected.len(), "{driver:?}: {found:?}");
        for ((name, problem), (want_name, want)) in found.iter().zip(&expected) {
            assert_eq!(name, want_name, "{driver:?}");
            assert!(problem.contains(want.as_str()), "{driver:?}: {problem}");
        }
        let repaired = store.command(&["verify", "--repair"]).output().unwrap();
        assert_eq!(repaired.status.code(), Some(1), "{driver:?}");
        assert_eq!(
            combination.stored(&a).len(),
            // The bound series, 5 splits (std has none for one point), one
            // of them overwritten, and the 3 objects added.
            6 + 3,
            "{driver:?}: a repair moved something out of the driver"
        );
    }
}

/// A well-formed split of one point.
fn codec_split() -> Vec<u8> {
    use carbonara::carbonara::{SplitKey, codec};
    use carbonara::time::{Span, Timestamp};
    let key = SplitKey::new(
        Timestamp::from_nanos(1_708_560_000_000_000_000),
        Span::from_secs(300),
    );
    let points = [(Timestamp::from_nanos(1_709_251_200_000_000_000), 1.0)]
        .into_iter()
        .collect();
    codec::encode_split(key, &points)
}

/// `import-gnocchi` into a store on S3 and Redis: a Gnocchi directory's
/// archives become the bucket's objects, byte for byte, its waiting
/// measures Redis lists, and the adopted metrics answer as Gnocchi did,
/// before and after their measures are processed.
#[test]
fn a_gnocchi_directory_is_imported_into_s3_and_redis() {
    use crate::common::{assert_gnocchi_measures, read_json};
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    let case = crate::dump::backlog_case();
    let combination = Combination::new(&servers, 300, Driver::S3, Driver::Redis, Index::Sqlite);
    let store = &combination.store;
    store.create_policy(&read_json(&case.join("policy.json")));
    let gnocchi = case.join("gnocchi");
    store
        .run(&[
            "import-gnocchi",
            gnocchi.to_str().unwrap(),
            "-a",
            "two-levels",
        ])
        .success();
    let by_id = |_: &str, metric: &Value| metric["id"].as_str().unwrap().to_owned();
    let gauge = "6ca28ecb-eee3-5ee2-97cd-176c16849311";
    // The archive files (the metric's directory in a sack holds its
    // waiting measures).
    let mut theirs = files_of_metric(&gnocchi, gauge);
    theirs.retain(|name, _| name == "none_v3" || name.starts_with("agg_"));
    assert!(theirs.len() > 10);
    let ours = combination.stored(gauge);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &theirs {
        assert!(ours[name] == *bytes, "{name} differs from Gnocchi's file");
    }
    let expected = read_json(&case.join("expected-before.json"));
    assert_eq!(
        store.json(&["status"])["storage/number of metric having measures to process"],
        3
    );
    assert_gnocchi_measures(store, &expected, by_id, "before processing");
    store.run(&["verify"]).success();
    store.run(&["process"]).success();
    let after = read_json(&case.join("expected.json"));
    assert_gnocchi_measures(store, &after, by_id, "after processing");
}

/// Gnocchi's Sentinel form of `redis_url`: the sentinel named in the URL
/// gives the master, which then holds the measures in the URL's database;
/// a master name no sentinel knows is an error naming the URL.
#[test]
fn redis_drivers_reach_their_server_through_sentinel() {
    use crate::redis::Sentinel;
    let master = RedisServer::start();
    let sentinel = Sentinel::start(&master, "gnocchi-master");
    let url = |name: &str| {
        format!(
            "redis://127.0.0.1:{}?sentinel={name}&sentinel_fallback=127.0.0.1:1&db={DB}",
            sentinel.port()
        )
    };
    let store = TestStore::empty();
    let through = url("gnocchi-master");
    store
        .run(&[
            "init",
            "--sacks",
            "8",
            "--storage",
            &through,
            "--incoming",
            &through,
        ])
        .success();
    let sacks: String = master.connect(DB).hget("gnocchi-config", "sacks").unwrap();
    assert_eq!(sacks, "8");
    let a = store.create_metric("a", "low");
    store
        .run(&["measures", "add", &a, "-m", "2024-03-01T00:00:00@1"])
        .success();
    store.run(&["process"]).success();
    let fields: Vec<String> = master.connect(DB).hkeys(format!("timeseries:{a}")).unwrap();
    assert!(fields.contains(&"none_v3".to_owned()), "{fields:?}");
    let unknown = TestStore::empty();
    let said = crate::common::stderr_of(
        &unknown
            .run(&["init", "--sacks", "8", "--incoming", &url("nobody")])
            .failure()
            .code(1),
    );
    assert!(said.contains("Redis at redis://127.0.0.1:"), "{said}");
}

/// A Gnocchi deployment on S3 and Redis as its `gnocchi.conf` describes
/// it: `upgrade` does gnocchi-upgrade's part (the buckets, the sack count
/// in Redis) and may run again (the buckets exist: fine, the count stays);
/// then the commands work on it, carbonara's own state (measures staged
/// before they are pushed) kept under `$XDG_STATE_HOME`.
#[test]
fn a_gnocchi_conf_on_s3_and_redis_is_upgraded_and_used() {
    use crate::gnocchi_conf::GnocchiConf;
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    let deployment = GnocchiConf::new("drivers_conf");
    let s3 = servers.garage.settings("conf");
    std::fs::write(
        deployment.conf(),
        format!(
            "[indexer]\nurl = {}\n\n[storage]\ndriver = s3\ns3_endpoint_url = {}\n\
             s3_region_name = garage\ns3_access_key_id = {}\ns3_secret_access_key = {}\n\
             s3_bucket_prefix = conf\n\n[incoming]\ndriver = redis\nredis_url = {}?db={DB}\n",
            deployment.url,
            s3.endpoint_url.as_deref().unwrap(),
            s3.access_key_id.as_deref().unwrap(),
            s3.secret_access_key.as_deref().unwrap(),
            servers.redis.url(),
        ),
    )
    .unwrap();
    let state = deployment.state();
    let run = |args: &[&str]| deployment.run(args);
    run(&["upgrade", "--sacks-number", "16"]).success();
    run(&["upgrade", "--sacks-number", "32"]).success();
    let sacks: String = servers
        .redis
        .connect(DB)
        .hget("gnocchi-config", "sacks")
        .unwrap();
    assert_eq!(sacks, "16");
    let output = run(&[
        "metric", "create", "cpu", "-a", "low", "-f", "value", "-c", "id",
    ])
    .success()
    .get_output()
    .stdout
    .clone();
    let id = String::from_utf8(output).unwrap().trim().to_owned();
    run(&["measures", "add", &id, "-m", "2024-03-01T00:00:00@2"]).success();
    run(&["process"]).success();
    let output = run(&["measures", "show", &id, "-f", "json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let shown = crate::common::parse_python_json(&String::from_utf8(output).unwrap());
    assert_eq!(shown[0]["value"], 2.0);
    let bucket = S3Bucket::open(&s3, "conf-aggregates").unwrap();
    assert!(bucket.exists(&format!("{id}/none_v3")).unwrap());
    assert!(
        state.join("carbonara").is_dir(),
        "no state under XDG_STATE_HOME"
    );
}

/// A metric moved to another archive policy (`metric update`) on Redis or
/// S3 storage: its objects are the very files the directory store's move
/// writes, old splits gone, and `verify` finds nothing wrong.
#[test]
fn a_metric_moved_to_another_policy_is_the_same_on_every_storage_driver() {
    let move_metric = |store: &TestStore| {
        store
            .run(&[
                "archive-policy",
                "create",
                "old",
                "-d",
                "granularity:60s,timespan:1d",
            ])
            .success();
        store
            .run(&[
                "archive-policy",
                "create",
                "new",
                "-d",
                "granularity:60s,points:10",
                "-d",
                "granularity:300s,points:12",
                "-m",
                "mean",
                "-m",
                "max",
            ])
            .success();
        let id = store.create_metric("a", "old");
        let mut csv = String::from("metric,timestamp,value\n");
        for i in 0..90u64 {
            csv.push_str(&format!("a,{},{}\n", 1_709_251_200 + i * 20, i % 7));
        }
        store.ingest_and_process(&csv);
        store.run(&["metric", "update", "a", "-a", "new"]).success();
        store.run(&["verify"]).success();
        id
    };
    let reference_store = TestStore::new();
    let id = move_metric(&reference_store);
    let reference = files_of_metric(&reference_store.path().join("archive"), &id);
    assert!(reference.keys().any(|name| name.starts_with("agg_mean/")));
    assert!(!reference.keys().any(|name| name.starts_with("agg_sum/")));
    let servers = Servers {
        redis: RedisServer::start(),
        garage: Garage::start(),
    };
    for (number, storage) in [Driver::Redis, Driver::S3].into_iter().enumerate() {
        let combination =
            Combination::new(&servers, 100 + number, storage, Driver::File, Index::Sqlite);
        let id = move_metric(&combination.store);
        let stored = combination.stored(&id);
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            reference.keys().collect::<Vec<_>>(),
            "{storage:?}"
        );
        assert!(stored == reference, "{storage:?}: bytes differ");
    }
}
