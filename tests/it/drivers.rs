//! The storage and incoming drivers' behaviour, on every combination the
//! tests can start: archives in files or in Gnocchi's Redis hashes,
//! measures waiting in files or in Gnocchi's Redis lists, each with the
//! SQLite and the PostgreSQL index. One scenario runs on each: measures
//! ingested, counted while they wait, aggregated over two passes (the
//! second merging into stored splits), read back; a metric deleted and
//! its data expunged. Every answer must equal the plain directory store's,
//! and every stored object must hold the very bytes of its file there
//! (the file layout is the one checked against Gnocchi's own files).

use std::collections::BTreeMap;
use std::path::Path;

use redis::Commands;
use serde_json::Value;

use crate::common::TestStore;
use crate::redis::RedisServer;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    File,
    Redis,
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

/// A store on some drivers and the servers and directories it uses.
struct Combination {
    store: TestStore,
    storage: Driver,
    incoming: Driver,
    redis: Option<(RedisServer, i64)>,
    /// The directories of the file drivers.
    _files: tempfile::TempDir,
}

impl Combination {
    fn new(storage: Driver, incoming: Driver, index: Index) -> Combination {
        let store = TestStore::empty();
        let files = tempfile::tempdir().unwrap();
        let redis = (storage == Driver::Redis || incoming == Driver::Redis)
            .then(|| (RedisServer::start(), 3));
        let url = |driver: Driver, name: &str| match driver {
            Driver::File => {
                let dir = files.path().join(name);
                format!("file://{}", dir.display())
            }
            Driver::Redis => {
                let (server, db) = redis.as_ref().unwrap();
                format!("{}?db={db}", server.url())
            }
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
            incoming,
            redis,
            _files: files,
        }
    }

    fn redis(&self) -> redis::Connection {
        let (server, db) = self.redis.as_ref().expect("a Redis driver");
        server.connect(*db)
    }

    /// Every stored object of a metric, by its file name in Gnocchi's file
    /// layout (`none_v3`, `agg_<method>/<key>_<granularity>_v3`).
    fn stored(&self, metric: &str) -> BTreeMap<String, Vec<u8>> {
        match self.storage {
            Driver::File => files_of_metric(&self._files.path().join("storage"), metric),
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
        }
    }
}

/// The files of a metric under a file storage directory, by their path
/// below the metric's directory.
fn files_of_metric(root: &Path, metric: &str) -> BTreeMap<String, Vec<u8>> {
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
    assert_eq!(
        status["storage/number of metric having measures to process"],
        2
    );
    store.run(&["process"]).success();
    ingest("second.csv", SECOND);
    // Read through a refresh: the pass a GET …?refresh=true runs.
    let mut measures = vec![store.json(&["measures", "show", &a, "--refresh"])];
    store.run(&["process"]).success();
    measures.push(store.json(&["measures", "show", &b, "--aggregation", "max"]));
    measures.push(store.json(&["measures", "show", &a, "--aggregation", "count"]));
    let objects = stored(&a);
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
    assert!(
        reference
            .objects
            .keys()
            .any(|name| name.starts_with("agg_mean/"))
    );
    for index in [Index::Sqlite, Index::Postgresql] {
        for storage in [Driver::File, Driver::Redis] {
            for incoming in [Driver::File, Driver::Redis] {
                let what = format!("storage {storage:?}, incoming {incoming:?}, index {index:?}");
                eprintln!("{what}");
                let combination = Combination::new(storage, incoming, index);
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
                if combination.incoming == Driver::Redis {
                    let keys: Vec<String> = combination.redis().keys("incoming*").unwrap();
                    assert!(keys.is_empty(), "{what}: left in Redis: {keys:?}");
                    let sacks: String =
                        combination.redis().hget("gnocchi-config", "sacks").unwrap();
                    assert_eq!(sacks, "8", "{what}");
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
