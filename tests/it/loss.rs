//! Losing a machine loses nothing (issue 15 §3): a deployment of three
//! `carbonara metricd` workers and two `carbonara serve` on a PostgreSQL
//! index, a 3-node Garage cluster (replication factor 3) for storage and a
//! Redis with AOF for incoming and coordination, written to through both
//! servers while its processes are killed and its servers stopped: a
//! worker SIGKILLed and started again every 10 s (30 s in the long run), a
//! server SIGKILLed once, a Garage node stopped for 15 s (a minute), Redis
//! restarted once. Then every acknowledged measure must be aggregated,
//! once; what was sent but not acknowledged may be there or not; the
//! archives must be the very bytes one pass over the same measures writes
//! on a directory store; `verify` must find nothing wrong. The workers
//! reach Garage through a proxy that carries out a request it received
//! whole even when its client was killed meanwhile, as S3 does and Garage
//! alone does not (`garage_puts.rs`).
//!
//! `CARBONARA_LOSS_SECONDS` is how long the writers write: 60 by default;
//! the long run is `CARBONARA_LOSS_SECONDS=600 cargo test --test it loss
//! -- --nocapture`. The summary row goes to stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use carbonara::carbonara::codec::split_format;
use carbonara::store::s3::S3Bucket;
use carbonara::time::{Timestamp, parse_timestamp};

use crate::common::TestStore;
use crate::drivers::{files_of_metric, objects_of_metric};
use crate::garage::{Garage, GarageCluster};
use crate::gnocchi_conf::GnocchiConf;
use crate::metricd::Worker;
use crate::redis::RedisServer;
use crate::s3_proxy::FaultyProxy;
use crate::serve::{Served, serve_from, try_http};

const METRICS: usize = 20;
const WRITERS: usize = 4;
const WORKERS: usize = 3;
/// 2024-03-01T00:00:00Z, on a split boundary: the first measure of every
/// metric, one a second after it.
const FIRST_SECOND: i64 = 1_709_251_200;
/// The policy, on the deployment and the reference store alike: `count`
/// at 1 s says how many times each timestamp was aggregated; a day of
/// points keeps every measure of the long run.
const POLICY: [&str; 11] = [
    "archive-policy",
    "create",
    "loss",
    "-d",
    "granularity:1s,points:86400",
    "-d",
    "granularity:60s,points:1440",
    "-m",
    "count",
    "-m",
    "last",
];
/// The Garage node the deployment talks to: every node answers S3 for the
/// whole cluster, and this one is never stopped (node 1 is).
const S3_NODE: usize = 0;
const STOPPED_NODE: usize = 1;
/// How long both servers may refuse connections before a writer gives up.
const REFUSED_AT_MOST: Duration = Duration::from_secs(60);
/// How long the workers may take to empty the backlog once writing stops
/// (a sack a killed worker held stays locked up to tooz's 30 s).
const DRAIN_AT_MOST: Duration = Duration::from_secs(150);

/// The value of the measure of metric `metric` at second `second`, so
/// that the reference store is given the very measures the servers were.
fn value(metric: usize, second: i64) -> f64 {
    ((second * 7 + metric as i64) % 1000) as f64
}

/// What a writer thread saw.
#[derive(Default)]
struct Written {
    /// (metric, second) acknowledged with a 202.
    acknowledged: Vec<(usize, i64)>,
    /// Sent but not acknowledged (an error answer, a connection cut):
    /// they may or may not have landed.
    unacknowledged: Vec<(usize, i64)>,
    /// Why, counted.
    failures: BTreeMap<String, usize>,
    /// Requests sent again through the other server, the first one
    /// refusing the connection.
    redirected: usize,
}

/// The servers' addresses, which change when one is started again.
type Addresses = Arc<RwLock<Vec<String>>>;

/// When each server last acknowledged a write.
type LastAcks = Arc<Mutex<Vec<Option<Instant>>>>;

/// One writer: it owns the metrics `writer, writer + WRITERS, …`, so that
/// each metric's measures arrive in order; it alternates single-metric
/// posts and batches, and servers, until `stop`.
fn write(
    writer: usize,
    ids: &[String],
    addresses: &Addresses,
    last_acks: &LastAcks,
    stop: &AtomicBool,
) -> Written {
    let owned: Vec<usize> = (writer..ids.len()).step_by(WRITERS).collect();
    let mut next_second = vec![FIRST_SECOND; ids.len()];
    let mut written = Written::default();
    let mut request = writer;
    while !stop.load(Ordering::Relaxed) {
        request += 1;
        // The measures of this request: one to three a metric.
        let single = request.is_multiple_of(2);
        let metrics: Vec<usize> = if single {
            vec![owned[(request / 2) % owned.len()]]
        } else {
            owned.clone()
        };
        let mut sent: Vec<(usize, i64)> = Vec::new();
        let mut bodies: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        for (n, &metric) in metrics.iter().enumerate() {
            for _ in 0..1 + (request + n) % 3 {
                let second = next_second[metric];
                next_second[metric] += 1;
                sent.push((metric, second));
                bodies.entry(metric).or_default().push(format!(
                    r#"{{"timestamp": {second}, "value": {}}}"#,
                    value(metric, second)
                ));
            }
        }
        let (path, body) = if single {
            let (metric, measures) = bodies.iter().next().expect("one metric");
            (
                format!("/v1/metric/{}/measures", ids[*metric]),
                format!("[{}]", measures.join(", ")),
            )
        } else {
            let entries: Vec<String> = bodies
                .iter()
                .map(|(metric, measures)| {
                    format!(r#""{}": [{}]"#, ids[*metric], measures.join(", "))
                })
                .collect();
            (
                "/v1/batch/metrics/measures".to_owned(),
                format!("{{{}}}", entries.join(", ")),
            )
        };
        // A server that refuses the connection was sent nothing: the
        // other is tried with the same measures.
        let mut server = request % 2;
        let refused_since = Instant::now();
        let answer = loop {
            let address = addresses.read().expect("never poisoned")[server].clone();
            match try_http(&address, "POST", &path, Some(&body)) {
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    assert!(
                        refused_since.elapsed() < REFUSED_AT_MOST,
                        "writer {writer}: both servers refused connections for \
                         {REFUSED_AT_MOST:?}, expected one of them to be up"
                    );
                    written.redirected += 1;
                    server = 1 - server;
                    if written.redirected.is_multiple_of(2) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                other => break other,
            }
        };
        match answer {
            Ok((202, _)) => {
                written.acknowledged.extend(sent);
                last_acks.lock().expect("never poisoned")[server] = Some(Instant::now());
            }
            Ok((status, body)) => {
                let head: String = body.chars().take(120).collect();
                *written
                    .failures
                    .entry(format!("{status} {head}"))
                    .or_default() += 1;
                written.unacknowledged.extend(sent);
            }
            Err(e) => {
                *written
                    .failures
                    .entry(format!("{:?}", e.kind()))
                    .or_default() += 1;
                written.unacknowledged.extend(sent);
            }
        }
    }
    written
}

/// The faults, in the order they come.
#[derive(Debug, Clone, Copy)]
enum Fault {
    KillWorker,
    KillServer,
    StopGarageNode,
    StartGarageNode,
    RestartRedis,
}

/// The faults of a run of `seconds` of writing, each at its second.
fn schedule(seconds: u64) -> Vec<(u64, Fault)> {
    let kill_every = (seconds / 20).max(10);
    let node_away = (seconds / 10).clamp(15, 60);
    let mut faults: Vec<(u64, Fault)> = (1..)
        .map(|n| n * kill_every)
        .take_while(|&at| at < seconds)
        .map(|at| (at, Fault::KillWorker))
        .collect();
    let node_stopped = seconds * 3 / 10;
    faults.extend([
        (seconds / 5, Fault::KillServer),
        (node_stopped, Fault::StopGarageNode),
        (node_stopped + node_away, Fault::StartGarageNode),
        (seconds * 7 / 10, Fault::RestartRedis),
    ]);
    faults.sort_by_key(|&(at, _)| at);
    faults
}

/// A worker on the deployment, once it has joined the group.
fn worker(deployment: &GnocchiConf) -> Worker {
    let mut worker = Worker::start(deployment.process(), &["--processing-delay", "1s"]);
    worker.joined();
    worker
}

/// A server on the deployment, leaving the aggregation to the workers.
fn server(deployment: &GnocchiConf) -> Served {
    serve_from(deployment.process(), &["--process-interval", "0"])
}

/// The measures waiting, as `status` counts them, and the status.
fn waiting(deployment: &GnocchiConf) -> (u64, Value) {
    let status = deployment.json(&["status"]);
    let waiting = status["storage/total number of measures to process"]
        .as_u64()
        .unwrap_or_else(|| panic!("no measure count in the status: {status}"));
    (waiting, status)
}

/// `count` at 1 s of a metric: how many measures each second aggregated.
fn counts(shown: &Value) -> BTreeMap<i64, u64> {
    shown
        .as_array()
        .unwrap_or_else(|| panic!("measures show gave no list: {shown}"))
        .iter()
        .map(|point| {
            let text = point["timestamp"].as_str().expect("a timestamp string");
            let at = parse_timestamp(text, Timestamp::now())
                .unwrap_or_else(|e| panic!("timestamp {text}: {e}"));
            let count = point["value"].as_f64().expect("a count") as u64;
            (at.as_secs_f64() as i64, count)
        })
        .collect()
}

#[test]
fn losing_a_machine_loses_nothing() {
    let seconds: u64 = std::env::var("CARBONARA_LOSS_SECONDS")
        .map(|text| {
            text.parse()
                .unwrap_or_else(|e| panic!("CARBONARA_LOSS_SECONDS={text}: {e}"))
        })
        .unwrap_or(60);
    let started = Instant::now();
    let mut redis = RedisServer::start_with(&["--appendonly", "yes"]);
    let mut garage = GarageCluster::start(3);
    let deployment = GnocchiConf::new("loss");
    // Workers are SIGKILLed in the middle of their requests: the proxy
    // carries out what it received whole, as S3 does (Garage alone may
    // lose an object whose PUT was dropped: `garage_puts.rs`).
    let proxy = FaultyProxy::start(&garage.node(S3_NODE).endpoint().replace("http://", ""));
    let s3 = Garage::settings_for(&proxy.endpoint(), "loss");
    // No coordination_url: Gnocchi then coordinates through the Redis of
    // its incoming driver, where the workers join one group; with the
    // default 3 processing replicas each of the 3 workers may take every
    // sack, and the sack locks decide.
    std::fs::write(
        deployment.conf(),
        format!(
            "[indexer]\nurl = {}\n\n[storage]\ndriver = s3\ns3_endpoint_url = {}\n\
             s3_region_name = {}\ns3_access_key_id = {}\ns3_secret_access_key = {}\n\
             s3_bucket_prefix = loss\n\n[incoming]\ndriver = redis\nredis_url = {}?db=1\n",
            deployment.url,
            s3.endpoint_url.as_deref().expect("an endpoint"),
            s3.region.as_deref().expect("a region"),
            s3.access_key_id.as_deref().expect("a key"),
            s3.secret_access_key.as_deref().expect("a secret"),
            redis.url(),
        ),
    )
    .expect("writing gnocchi.conf");
    deployment
        .run(&["upgrade", "--sacks-number", "16"])
        .success();
    deployment.run(&POLICY).success();
    let ids: Vec<String> = (0..METRICS)
        .map(|m| {
            let created = deployment.json(&["metric", "create", &format!("m{m}"), "-a", "loss"]);
            created["id"].as_str().expect("an id").to_owned()
        })
        .collect();

    let mut workers: Vec<Worker> = (0..WORKERS).map(|_| worker(&deployment)).collect();
    let mut servers: Vec<Served> = (0..2).map(|_| server(&deployment)).collect();
    let addresses: Addresses = Arc::new(RwLock::new(
        servers.iter().map(|s| s.address.clone()).collect(),
    ));
    let last_acks: LastAcks = Arc::new(Mutex::new(vec![None; 2]));
    let stop = Arc::new(AtomicBool::new(false));
    let writing = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (ids, addresses, last_acks, stop) = (
                ids.clone(),
                Arc::clone(&addresses),
                Arc::clone(&last_acks),
                Arc::clone(&stop),
            );
            std::thread::spawn(move || write(writer, &ids, &addresses, &last_acks, &stop))
        })
        .collect();

    let (mut worker_kills, mut server_kills, mut node_stops, mut redis_restarts) = (0, 0, 0, 0);
    let mut worker_logs: Vec<String> = Vec::new();
    // When the last fault a server could see (Garage, Redis, its own
    // death) was over: both must acknowledge writes after it.
    let mut servers_recovered = writing;
    for (at, fault) in schedule(seconds) {
        let when = writing + Duration::from_secs(at);
        std::thread::sleep(when.saturating_duration_since(Instant::now()));
        match fault {
            Fault::KillWorker => {
                let victim = worker_kills % WORKERS;
                worker_logs.extend(workers.remove(victim).kill());
                workers.insert(victim, worker(&deployment));
                worker_kills += 1;
            }
            Fault::KillServer => {
                drop(servers.remove(0));
                server_kills += 1;
                std::thread::sleep(Duration::from_secs(2));
                servers.insert(0, server(&deployment));
                addresses.write().expect("never poisoned")[0] = servers[0].address.clone();
            }
            Fault::StopGarageNode => {
                garage.stop(STOPPED_NODE);
                node_stops += 1;
            }
            Fault::StartGarageNode => garage.restart(STOPPED_NODE),
            Fault::RestartRedis => {
                redis.restart();
                redis_restarts += 1;
            }
        }
        if !matches!(fault, Fault::KillWorker | Fault::StopGarageNode) {
            servers_recovered = Instant::now();
        }
    }
    std::thread::sleep(
        (writing + Duration::from_secs(seconds)).saturating_duration_since(Instant::now()),
    );
    stop.store(true, Ordering::Relaxed);
    let written: Vec<Written> = writers
        .into_iter()
        .map(|writer| writer.join().expect("a writer panicked"))
        .collect();
    let wrote_for = writing.elapsed();

    // The backlog, emptied by the workers alone.
    let drain = Instant::now();
    let mut backlog = waiting(&deployment);
    while backlog.0 > 0 {
        assert!(
            drain.elapsed() < DRAIN_AT_MOST,
            "expected the workers to aggregate every waiting measure within {DRAIN_AT_MOST:?} \
             of the end of the writes; {} still wait; status: {}",
            backlog.0,
            backlog.1
        );
        std::thread::sleep(Duration::from_millis(500));
        backlog = waiting(&deployment);
    }
    let drained_in = drain.elapsed();

    // What each metric aggregated, against what was sent.
    let mut acknowledged: BTreeSet<(usize, i64)> = BTreeSet::new();
    let mut unacknowledged: BTreeSet<(usize, i64)> = BTreeSet::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut redirected = 0;
    for writer in &written {
        acknowledged.extend(&writer.acknowledged);
        unacknowledged.extend(&writer.unacknowledged);
        for (why, count) in &writer.failures {
            *failures.entry(why.clone()).or_default() += count;
        }
        redirected += writer.redirected;
    }
    let mut found: BTreeSet<(usize, i64)> = BTreeSet::new();
    let mut duplicated: Vec<(usize, i64, u64)> = Vec::new();
    for (metric, id) in ids.iter().enumerate() {
        let shown = deployment.json(&[
            "measures",
            "show",
            id,
            "--aggregation",
            "count",
            "--granularity",
            "1",
        ]);
        for (second, count) in counts(&shown) {
            found.insert((metric, second));
            if count > 1 {
                duplicated.push((metric, second, count));
            }
        }
    }
    let lost: Vec<_> = acknowledged.difference(&found).collect();
    let unexplained: Vec<_> = found
        .difference(&acknowledged)
        .filter(|sent| !unacknowledged.contains(sent))
        .collect();
    let landed_unacknowledged = found.intersection(&unacknowledged).count();

    eprintln!(
        "loss: seconds {} acknowledged {} found {} lost {} duplicated {} worker kills {} \
         serve kills {} garage node stops {} redis restarts {}",
        wrote_for.as_secs(),
        acknowledged.len(),
        found.len(),
        lost.len(),
        duplicated.len(),
        worker_kills,
        server_kills,
        node_stops,
        redis_restarts
    );
    eprintln!(
        "loss: {} sent unacknowledged ({landed_unacknowledged} of them landed), {redirected} \
         requests redirected, backlog drained in {drained_in:.1?}, {:.0?} in all; failures: \
         {failures:?}",
        unacknowledged.len(),
        started.elapsed()
    );
    assert!(
        lost.is_empty(),
        "expected every acknowledged measure aggregated; {} of {} are not, the first: {:?} \
         (metric, second)",
        lost.len(),
        acknowledged.len(),
        &lost[..lost.len().min(10)]
    );
    assert!(
        duplicated.is_empty(),
        "expected a count of 1 at each second; found more (metric, second, count): {:?}",
        &duplicated[..duplicated.len().min(10)]
    );
    assert!(
        unexplained.is_empty(),
        "expected only sent measures aggregated; these (metric, second) were never sent: {:?}",
        &unexplained[..unexplained.len().min(10)]
    );
    assert!(
        acknowledged.len() > METRICS * seconds as usize,
        "expected more than one acknowledged measure a metric a second of writing; got {} \
         in {wrote_for:?}; failures: {failures:?}",
        acknowledged.len()
    );
    let last_acks = last_acks.lock().expect("never poisoned").clone();
    for (server, last) in last_acks.iter().enumerate() {
        assert!(
            last.is_some_and(|last| last > servers_recovered),
            "expected server {server} to acknowledge writes again after the last fault \
             ({:?} into the run); its last acknowledgement: {:?} into the run; its log: {:?}",
            servers_recovered - writing,
            last.map(|last| last - writing),
            servers[server].log()
        );
    }

    // The archives: the very bytes of one pass over the measures found.
    let reference = TestStore::new();
    reference.run(&POLICY).success();
    let mut csv = String::from("metric,timestamp,value\n");
    for &(metric, second) in &found {
        csv.push_str(&format!("m{metric},{second},{}\n", value(metric, second)));
    }
    let file = reference.write_file("found.csv", csv);
    let reference_ids: Vec<String> = (0..METRICS)
        .map(|metric| reference.create_metric(&format!("m{metric}"), "loss"))
        .collect();
    reference
        .command(&["ingest", "csv", "--metric-column", "metric"])
        .arg(&file)
        .assert()
        .success();
    reference.run(&["process"]).success();
    let bucket = S3Bucket::open(&s3, "loss-aggregates").expect("the storage bucket");
    let archive = reference.path().join("archive");
    for (metric, (id, reference_id)) in ids.iter().zip(&reference_ids).enumerate() {
        let expected = files_of_metric(&archive, reference_id);
        let stored = objects_of_metric(&bucket, id);
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "metric m{metric} ({id}): expected the objects of the reference store's metric"
        );
        // Each differing object, with the encoding and length of each side.
        let mut differing = Vec::new();
        for (name, bytes) in &expected {
            let found = &stored[name];
            if found == bytes {
                continue;
            }
            differing.push(format!(
                "{name}: expected {:?} {} bytes, found {:?} {} bytes; {}",
                split_format(bytes),
                bytes.len(),
                split_format(found),
                found.len(),
                first_differences(name, bytes, found)
            ));
        }
        assert!(
            differing.is_empty(),
            "metric m{metric} ({id}): expected the reference store's bytes; these objects \
             differ: {differing:?}"
        );
    }

    let verified = deployment.run(&["verify"]);
    let said = crate::common::stderr_of(&verified);
    assert!(
        verified.get_output().status.success(),
        "expected `verify` to find nothing wrong; it said:\n{said}"
    );
    let (waiting, status) = waiting(&deployment);
    assert_eq!(waiting, 0, "expected no backlog after verify: {status}");
    // Every worker still running stops cleanly.
    for worker in workers {
        let (stopped, log) = worker.terminate();
        assert!(
            stopped.success(),
            "expected a worker to stop on SIGTERM with success; it ended {stopped}: {log:?}"
        );
        worker_logs.extend(log);
    }
    let mut events: BTreeMap<String, usize> = BTreeMap::new();
    let mut errors: BTreeSet<String> = BTreeSet::new();
    for line in &worker_logs {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("a worker logged a line that is not JSON ({e}): {line}"));
        let kind = event["event"].as_str().unwrap_or("?");
        *events.entry(kind.to_owned()).or_default() += 1;
        if kind == "error" {
            errors.insert(
                event["message"]
                    .as_str()
                    .unwrap_or("?")
                    .chars()
                    .take(200)
                    .collect(),
            );
        }
    }
    eprintln!("loss: worker events {events:?}; errors: {errors:#?}");
}

/// The first points where two splits of one object name differ, decoded.
fn first_differences(name: &str, expected: &[u8], found: &[u8]) -> String {
    use carbonara::carbonara::codec::decode_split;
    use carbonara::carbonara::split::SplitKey;
    let Some(key) = name
        .split_once('/')
        .and_then(|(_, file)| SplitKey::parse_file_name(file))
    else {
        return "not a split".to_owned();
    };
    let (Ok(expected), Ok(found)) = (decode_split(key, expected), decode_split(key, found)) else {
        return "does not decode".to_owned();
    };
    let expected: Vec<_> = expected.timestamps.iter().zip(&expected.values).collect();
    let found: Vec<_> = found.timestamps.iter().zip(&found.values).collect();
    let differing: Vec<String> = expected
        .iter()
        .zip(&found)
        .filter(|(e, f)| e != f)
        .take(5)
        .map(|(e, f)| format!("expected {e:?}, found {f:?}"))
        .collect();
    format!(
        "{} points expected, {} found; first differences: {differing:?}",
        expected.len(),
        found.len()
    )
}
