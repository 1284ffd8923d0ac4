//! The S3 and Redis drivers when their servers fail: a pass or an import
//! meeting a stopped Garage node or a stopped redis-server stops with an
//! error naming the server (and the bucket or key), consumes no measure
//! whose archives it could not write, and once the server is back the
//! next commands finish the work to the same archive as if nothing had
//! happened; S3's `503 SlowDown` and a request held past its timeout are
//! retried.

use predicates::str::contains;

use crate::common::{TestStore, stderr_of};
use crate::garage::Garage;
use crate::redis::RedisServer;
use crate::s3_proxy::{Fault, FaultyProxy};

const MEASURES: &str = "\
2024-05-01T10:00:00Z,1
2024-05-01T10:03:00Z,2
2024-05-01T10:07:00Z,4
2024-05-01T10:12:00Z,8
";

/// A store whose archives are in Garage and whose measures wait in Redis
/// (with its append-only file, so a restart keeps them).
fn store_on(redis: &RedisServer, garage: &Garage) -> (TestStore, String) {
    store_with(&garage.settings("faults"), redis)
}

/// A store on these S3 settings and Redis, with one metric.
fn store_with(s3: &carbonara::store::s3::S3Settings, redis: &RedisServer) -> (TestStore, String) {
    let store = TestStore::empty();
    store
        .run(&[
            "init",
            "--sacks",
            "8",
            "--storage",
            &s3.to_url_with_credentials(),
            "--incoming",
            &redis.url(),
        ])
        .success();
    let metric = store.create_metric("cpu", "low");
    (store, metric)
}

fn ingest(store: &TestStore, metric: &str) -> assert_cmd::assert::Assert {
    let file = store.write_file("measures.csv", MEASURES);
    store
        .command(&["ingest", "csv", "--metric", metric, file.to_str().unwrap()])
        .assert()
}

fn waiting(store: &TestStore) -> serde_json::Value {
    store.json(&["status"])["storage/total number of measures to process"].clone()
}

/// What a store that never saw a fault answers.
fn reference() -> serde_json::Value {
    let store = TestStore::new();
    let metric = store.create_metric("cpu", "low");
    ingest(&store, &metric).success();
    store.run(&["process"]).success();
    store.json(&["measures", "show", &metric])
}

#[test]
fn a_pass_meeting_a_stopped_object_store_keeps_every_measure() {
    let redis = RedisServer::start_with(&["--appendonly", "yes"]);
    let mut garage = Garage::start();
    let (store, metric) = store_on(&redis, &garage);
    ingest(&store, &metric).success();
    garage.stop();
    let failed = store.run(&["process"]).failure().code(1);
    let said = stderr_of(&failed);
    assert!(said.contains("S3 bucket faults-aggregates"), "{said}");
    assert!(said.contains(&metric), "no object named: {said}");
    assert!(!said.contains(crate::garage::SECRET_ACCESS_KEY), "{said}");
    assert_eq!(waiting(&store), 4, "measures consumed by a failed pass");
    garage.restart();
    store.run(&["process"]).success();
    assert_eq!(waiting(&store), 0);
    assert_eq!(store.json(&["measures", "show", &metric]), reference());
}

#[test]
fn a_stopped_redis_fails_imports_and_passes_and_loses_nothing() {
    let mut redis = RedisServer::start_with(&["--appendonly", "yes"]);
    let garage = Garage::start();
    let (store, metric) = store_on(&redis, &garage);
    ingest(&store, &metric).success();
    redis.stop();
    let refused = stderr_of(&store.run(&["process"]).failure().code(1));
    assert!(
        refused.contains(&format!("Redis at {}", redis.url())),
        "{refused}"
    );
    // An import while Redis is down fails, but what it accepted into its
    // local journal is pushed by the next command once Redis is back.
    let later = store.write_file("later.csv", "2024-05-01T10:14:00Z,16\n");
    store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            &metric,
            later.to_str().unwrap(),
        ])
        .failure()
        .code(1)
        .stderr(contains("Redis at"));
    redis.restart();
    store.run(&["process"]).success();
    assert_eq!(waiting(&store), 0);
    let shown = store.json(&["measures", "show", &metric]);
    let mut expected = reference();
    // The late measure joins the last 5-minute period: (8 + 16) / 2.
    let last = expected.as_array_mut().unwrap().last_mut().unwrap();
    assert_eq!(last["timestamp"], "2024-05-01T10:10:00+00:00");
    last["value"] = serde_json::json!(12.0);
    assert_eq!(shown, expected);
}

/// A store whose archives are in Garage behind a [`FaultyProxy`].
fn store_behind(proxy: &FaultyProxy, redis: &RedisServer) -> (TestStore, String) {
    store_with(&Garage::settings_for(&proxy.endpoint(), "proxied"), redis)
}

/// S3's `503 SlowDown` is waited out: the pass retries with backoff and
/// ends as if nothing had happened.
#[test]
fn a_pass_rides_out_slow_down_answers() {
    let redis = RedisServer::start();
    let garage = Garage::start();
    let proxy = FaultyProxy::start(&garage.endpoint().replace("http://", ""));
    let (store, metric) = store_behind(&proxy, &redis);
    ingest(&store, &metric).success();
    proxy.set(Fault::SlowDown(3));
    store.run(&["process"]).success();
    assert_eq!(proxy.refused(), 3);
    assert_eq!(waiting(&store), 0);
    assert_eq!(store.json(&["measures", "show", &metric]), reference());
}

/// A request the S3 service holds past the client's timeout (30 s) is
/// sent again, and the pass ends as if nothing had happened.
#[test]
fn a_pass_rides_out_a_request_that_times_out() {
    let redis = RedisServer::start();
    let garage = Garage::start();
    let proxy = FaultyProxy::start(&garage.endpoint().replace("http://", ""));
    let (store, metric) = store_behind(&proxy, &redis);
    ingest(&store, &metric).success();
    proxy.set(Fault::Delay(std::time::Duration::from_secs(32)));
    let started = std::time::Instant::now();
    store.run(&["process"]).success();
    // Not waited out: given up after the client's timeout, then sent again.
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(30) && took < std::time::Duration::from_secs(32),
        "{took:?}"
    );
    assert_eq!(waiting(&store), 0);
    assert_eq!(store.json(&["measures", "show", &metric]), reference());
}
