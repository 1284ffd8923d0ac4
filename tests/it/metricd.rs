//! `carbonara metricd`, the long-running worker, run as a process: it
//! aggregates what arrives, logs each pass, stops on SIGTERM with nothing
//! half done, and shares sacks with the other workers of its store (file
//! locks) or of its deployment (tooz's group and ring, through Redis).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{TestStore, copy_dir};
use crate::crash::archive_snapshot;
use crate::gnocchi_conf::GnocchiConf;
use crate::redis::RedisServer;

/// A `carbonara metricd --json` process, its log lines read as they come.
pub struct Worker {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far.
    pub log: Vec<String>,
}

impl Worker {
    /// `carbonara` with its global options, to which `metricd --json
    /// ARGS…` is added.
    pub fn command() -> Command {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin!("carbonara"));
        command
            .env_remove("CARBONARA_STORE")
            .env_remove("CARBONARA_GNOCCHI_CONF");
        command
    }

    /// Starts `COMMAND metricd --json ARGS…`.
    pub fn start(mut command: Command, args: &[&str]) -> Worker {
        let mut child = command
            .args(["metricd", "--json"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Worker {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// On a directory store.
    pub fn on_store(store: &Path, args: &[&str]) -> Worker {
        let mut command = Worker::command();
        command.arg("--store").arg(store);
        Worker::start(command, args)
    }

    /// The first event logged from now on that `wanted` accepts; panics
    /// after `timeout`, showing the log.
    pub fn wait_for(&mut self, timeout: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    let event: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                    if wanted(&event) {
                        return event;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no such event in {timeout:?}; the log:\n{}",
                        self.log.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "the worker ended ({:?}); the log:\n{}",
                    self.child.try_wait(),
                    self.log.join("\n")
                ),
            }
        }
    }

    /// Its member id, from the `joined` event.
    pub fn joined(&mut self) -> String {
        let event = self.wait_for(Duration::from_secs(30), |e| e["event"] == "joined");
        event["member"].as_str().unwrap().to_owned()
    }

    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child this test started.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Sends SIGTERM and waits for the process to end, reading its log.
    pub fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        self.signal(libc::SIGTERM);
        let status = wait_at_most(&mut self.child, Duration::from_secs(60));
        self.log.extend(self.lines.try_iter());
        (status, std::mem::take(&mut self.log))
    }

    /// SIGKILL, as a machine lost; returns the log it had written.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.log.extend(self.lines.try_iter());
        std::mem::take(&mut self.log)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_at_most(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "still running after {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The JSON events of a log.
fn events(log: &[String]) -> Vec<Value> {
    log.iter()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}; the log: {log:?}"))
        })
        .collect()
}

/// `status`'s workers: gnocchiclient's `metricd/processors`, null when
/// there are none.
fn processors(status: &Value) -> Vec<String> {
    let listed = &status["metricd/processors"];
    if listed.is_null() {
        return Vec::new();
    }
    listed
        .as_array()
        .unwrap_or_else(|| panic!("{status}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_worker_aggregates_what_arrives_and_stops_on_sigterm() {
    let store = TestStore::new();
    let id = store.create_metric("cpu", "low");
    let mut worker = Worker::on_store(store.path(), &["--processing-delay", "0.1s"]);
    let member = worker.joined();
    let status = store.json(&["status"]);
    assert_eq!(processors(&status), std::slice::from_ref(&member));
    assert_eq!(
        status[format!("metricd/sacks of {member}").as_str()],
        "every sack (shared through the sack locks)"
    );
    store
        .run(&[
            "measures",
            "add",
            "cpu",
            "-m",
            "2024-03-01T00:00:00@2",
            "-m",
            "2024-03-01T00:01:00@4",
        ])
        .success();
    let pass = worker.wait_for(Duration::from_secs(30), |e| e["event"] == "pass");
    assert_eq!(pass["measures"], 2, "{pass}");
    assert_eq!(pass["metrics"], 1, "{pass}");
    assert_eq!(pass["sacks"], 1, "{pass}");
    let shown = store.json(&["measures", "show", &id, "--aggregation", "mean"]);
    assert_eq!(shown[0]["value"], 3.0, "{shown}");

    let (status, log) = worker.terminate();
    assert!(status.success(), "{status}: {log:?}");
    let events = events(&log);
    assert_eq!(events.last().unwrap()["event"], "stopped", "{log:?}");
    assert!(
        events
            .iter()
            .all(|e| e["member"] == member.as_str() && e["time"].is_string()),
        "{log:?}"
    );
    assert!(processors(&store.json(&["status"])).is_empty());
}

#[test]
fn a_killed_worker_leaves_the_list_and_its_sacks_to_the_others() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let mut first = Worker::on_store(store.path(), &["--processing-delay", "0.1s"]);
    let mut second = Worker::on_store(store.path(), &["--processing-delay", "0.1s"]);
    let (one, two) = (first.joined(), second.joined());
    let mut both = vec![one.clone(), two.clone()];
    both.sort();
    assert_eq!(processors(&store.json(&["status"])), both);
    first.kill();
    assert_eq!(processors(&store.json(&["status"])), [two]);
    store
        .run(&["measures", "add", "cpu", "-m", "2024-03-01T00:00:00@7"])
        .success();
    let pass = second.wait_for(Duration::from_secs(30), |e| e["event"] == "pass");
    assert_eq!(pass["measures"], 1, "{pass}");
}

/// On Redis incoming a worker does not wait for its next period: the
/// first measures of a sack after a pass wake it (gnocchi-metricd's
/// greedy mode), here with an hour between periods.
#[test]
fn new_measures_on_redis_wake_a_worker_at_once() {
    let redis = RedisServer::start();
    let store = TestStore::empty();
    let incoming = format!("{}?db=4", redis.url());
    store
        .run(&["init", "--sacks", "8", "--incoming", &incoming])
        .success();
    let id = store.create_metric("cpu", "low");
    let mut worker = Worker::on_store(store.path(), &["--processing-delay", "1h"]);
    let joined = worker.wait_for(Duration::from_secs(30), |e| e["event"] == "joined");
    assert_eq!(joined["notified"], true, "{joined}");
    for value in [3, 5] {
        // The first pass has run, or runs now and takes these.
        store
            .run(&[
                "measures",
                "add",
                &id,
                "-m",
                &format!("2024-03-01T00:00:0{value}@{value}"),
            ])
            .success();
        let pass = worker.wait_for(Duration::from_secs(20), |e| e["event"] == "pass");
        assert_eq!(pass["measures"], 1, "{pass}");
    }
    let (status, log) = worker.terminate();
    assert!(status.success(), "{status}: {log:?}");
}

/// A store of 1 200 metrics of the `low` policy with 20 measures each
/// waiting: three transactions of a pass.
fn many_metrics_waiting() -> TestStore {
    let store = TestStore::new();
    let mut csv = String::from("metric,timestamp,value\n");
    for m in 0..1_200 {
        for i in 0..20 {
            csv.push_str(&format!(
                "m{m},{},{}\n",
                1_704_067_200 + i * 60,
                (i * 7 + m) % 101
            ));
        }
    }
    let file = store.write_file("batch.csv", &csv);
    store
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--create-metrics",
            "--archive-policy-name",
            "low",
            file.to_str().unwrap(),
        ])
        .success();
    store
}

/// A SIGTERM in the middle of a long pass: the worker commits the
/// transaction at hand and stops; what it had not read waits for the next
/// pass, which ends at the very archive of an uninterrupted run.
#[test]
fn a_worker_stopped_mid_pass_leaves_nothing_half_done() {
    let template = many_metrics_waiting();
    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    let started = Instant::now();
    let output = Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
        .arg("--store")
        .arg(reference.path())
        .args(["process", "--jobs", "1"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let whole = started.elapsed();
    let expected = archive_snapshot(reference.path());

    let mut stopped_inside = 0;
    for part in [10, 3, 2] {
        let victim = tempfile::tempdir().unwrap();
        copy_dir(template.path(), victim.path());
        let mut worker = Worker::on_store(victim.path(), &["--workers", "1"]);
        worker.joined();
        std::thread::sleep(whole / part);
        let (status, log) = worker.terminate();
        assert!(status.success(), "{status}: {log:?}");
        let events = events(&log);
        assert_eq!(events.last().unwrap()["event"], "stopped", "{log:?}");
        let taken: u64 = events
            .iter()
            .filter(|e| e["event"] == "pass")
            .map(|e| e["measures"].as_u64().unwrap())
            .sum();
        stopped_inside += usize::from(taken < 24_000);
        let store = TestStore { dir: victim };
        store.run(&["process"]).success();
        assert!(
            archive_snapshot(store.path()) == expected,
            "stopped after {:?} of {whole:?}: the archive differs",
            whole / part
        );
        let left = std::fs::read_dir(store.path().join("tmp")).unwrap().count();
        assert_eq!(left, 0, "transactions left in tmp/");
    }
    assert!(stopped_inside > 0, "no stop came before the pass ended");
}

/// Two workers of a deployment coordinated through Redis split its sacks
/// as gnocchi-metricd's workers would (one worker a sack here), each
/// listed by `status` with its share; when one is killed, its beat
/// expires and the other takes every sack, and is woken by Redis for the
/// sacks it took as for its own (an hour between its periods).
#[test]
fn workers_share_a_deployments_sacks_through_redis() {
    let redis = RedisServer::start();
    let deployment = GnocchiConf::new("metricd_ring");
    std::fs::write(
        deployment.conf(),
        format!(
            "[DEFAULT]\ncoordination_url = {url}?db=1&membership_timeout=2\n\n\
             [indexer]\nurl = {}\n\n[storage]\ndriver = file\nfile_basepath = {}\n\n\
             [incoming]\ndriver = redis\nredis_url = {url}?db=2\n\n\
             [metricd]\nprocessing_replicas = 1\n",
            deployment.url,
            deployment.storage().display(),
            url = redis.url(),
        ),
    )
    .unwrap();
    deployment
        .run(&["upgrade", "--sacks-number", "16"])
        .success();
    let args = ["--processing-delay", "1h"];
    let start = || {
        let mut command = Worker::command();
        command.arg("--gnocchi-conf").arg(deployment.conf());
        let mut worker = Worker::start(command, &args);
        let member = worker.joined();
        (worker, member)
    };
    let (first, one) = start();
    let (mut second, two) = start();
    let status = || deployment.json(&["status"]);
    let mut both = vec![one.clone(), two.clone()];
    both.sort();
    let shown = status();
    assert_eq!(processors(&shown), both, "{shown}");
    let sacks = |member: &str| -> Vec<u32> {
        let text = shown[format!("metricd/sacks of {member}").as_str()]
            .as_str()
            .unwrap()
            .to_owned();
        let numbers = text.split_once(": ").unwrap().1;
        numbers
            .split(", ")
            .flat_map(|run| match run.split_once('-') {
                Some((a, b)) => (a.parse().unwrap()..=b.parse().unwrap()).collect::<Vec<u32>>(),
                None => vec![run.parse().unwrap()],
            })
            .collect()
    };
    let (mine, yours) = (sacks(&one), sacks(&two));
    assert!(!mine.is_empty() && !yours.is_empty(), "{shown}");
    let mut all: Vec<u32> = mine.iter().chain(&yours).copied().collect();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..16).collect::<Vec<_>>(),
        "one worker a sack: {shown}"
    );
    // What the ring says is what metricd's own computation says.
    let expected = carbonara::store::coordinator::partition::sacks_to_process(&both, &two, 16, 1);
    assert_eq!(yours, expected.iter().map(|s| s.number).collect::<Vec<_>>());

    first.kill();
    // Past the dead member's beat (membership_timeout = 2 s).
    std::thread::sleep(Duration::from_secs(3));
    let metric_in = |sacks: &[u32]| -> String {
        loop {
            let created = deployment.json(&["metric", "create", "--archive-policy-name", "low"]);
            let id = created["id"].as_str().unwrap().to_owned();
            let sack = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 16) as u32;
            if sacks.contains(&sack) {
                return id;
            }
        }
    };
    let (kept, taken) = (metric_in(&yours), metric_in(&mine));
    let add = |id: &str| {
        deployment
            .run(&["measures", "add", id, "-m", "2024-03-01T00:00:00@5"])
            .success();
    };
    // A measure in one of its own sacks wakes it; that pass finds the other
    // member gone and takes every sack.
    add(&kept);
    let member_left = second.wait_for(Duration::from_secs(30), |e| {
        e["event"] == "share" && e["sacks"].as_array().is_some_and(|s| s.len() == 16)
    });
    assert_eq!(member_left["member"], two.as_str());
    let pass = second.wait_for(Duration::from_secs(30), |e| e["event"] == "pass");
    assert_eq!(pass["measures"], 1, "{pass}");
    assert_eq!(processors(&status()), std::slice::from_ref(&two));
    // A measure in a sack it took wakes it too.
    add(&taken);
    let pass = second.wait_for(Duration::from_secs(30), |e| e["event"] == "pass");
    assert_eq!(pass["measures"], 1, "{pass}");
    let (status, log) = second.terminate();
    assert!(status.success(), "{status}: {log:?}");
}

/// Two `serve` and two workers on one deployment (PostgreSQL index, file
/// storage, Redis incoming and coordination): what is written through one
/// server is read through the other once a worker has aggregated it, or at
/// once with `?refresh=true`; the second server's answers never go stale
/// as the workers rewrite the archive; both list the workers.
#[test]
fn two_servers_and_two_workers_share_one_deployment() {
    use crate::serve::{http, serve_from};
    let redis = RedisServer::start();
    let deployment = GnocchiConf::new("metricd_two_servers");
    std::fs::write(
        deployment.conf(),
        format!(
            "[indexer]\nurl = {}\n\n[storage]\ndriver = file\nfile_basepath = {}\n\n\
             [incoming]\ndriver = redis\nredis_url = {}?db=3\n",
            deployment.url,
            deployment.storage().display(),
            redis.url(),
        ),
    )
    .unwrap();
    deployment
        .run(&["upgrade", "--sacks-number", "8"])
        .success();
    let carbonara = || {
        let mut command = Worker::command();
        command.arg("--gnocchi-conf").arg(deployment.conf());
        command
    };
    let mut workers: Vec<Worker> = (0..2)
        .map(|_| Worker::start(carbonara(), &["--processing-delay", "0.2s"]))
        .collect();
    let mut members: Vec<String> = workers.iter_mut().map(Worker::joined).collect();
    members.sort();
    let (writer, reader) = (
        serve_from(carbonara(), &["--process-interval", "0"]),
        serve_from(carbonara(), &["--process-interval", "0"]),
    );
    let (status, body) = http(&reader.address, "GET", "/v1/status", None);
    assert_eq!(status, 200, "{body}");
    let shown: Value = serde_json::from_str(&body).unwrap();
    let mut listed: Vec<String> = shown["metricd"]["processors"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    assert_eq!(listed, members, "{body}");

    let (status, body) = http(
        &writer.address,
        "POST",
        "/v1/metric",
        Some(r#"{"archive_policy_name": "low"}"#),
    );
    assert_eq!(status, 201, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = |timestamp: &str, value: u32| {
        let body = format!(r#"[{{"timestamp": "{timestamp}", "value": {value}}}]"#);
        let (status, answer) = http(
            &writer.address,
            "POST",
            &format!("/v1/metric/{id}/measures"),
            Some(&body),
        );
        assert_eq!(status, 202, "{answer}");
    };
    let read = |query: &str| -> Value {
        let (status, body) = http(
            &reader.address,
            "GET",
            &format!("/v1/metric/{id}/measures?aggregation=max{query}"),
            None,
        );
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    // `[[timestamp, granularity, value], …]`: the last value.
    let last = |answer: &Value| {
        answer
            .as_array()
            .and_then(|a| a.last())
            .map(|p| p[2].clone())
    };
    let until = |wanted: f64| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let answer = read("");
            if last(&answer) == Some(serde_json::json!(wanted)) {
                return;
            }
            assert!(Instant::now() < deadline, "still {answer} after 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    post("2024-03-01T00:00:00", 1);
    until(1.0);
    // Read again and again (kept in memory) while the workers rewrite it.
    for value in 2..5 {
        post("2024-03-01T00:00:30", value);
        until(f64::from(value));
    }
    post("2024-03-01T00:00:40", 9);
    assert_eq!(last(&read("&refresh=true")), Some(serde_json::json!(9.0)));
    let (status, _) = http(&writer.address, "GET", "/v1/status", None);
    assert_eq!(status, 200);
    for worker in workers {
        let (status, log) = worker.terminate();
        assert!(status.success(), "{status}: {log:?}");
    }
}
