//! tooz's Redis sack locks against a live redis-server (`redis.rs`):
//! carbonara sends, for a lock, the commands the real tooz sent
//! (`tests/golden/coordination/tooz_redis_locks.json`, recorded by
//! `scripts/oracle/tooz_redis_locks.py`) and leaves the same key and value
//! shape; a key set as tooz sets it keeps carbonara off the sack, and
//! carbonara's keeps tooz off; release leaves another owner's key alone;
//! the heart keeps a lock past its TTL; a password goes as written and is
//! never shown; and `carbonara process` on a deployment coordinated
//! through Redis takes its sacks there.

use std::fs;
use std::time::Duration;

use predicates::str::contains;
use serde_json::Value;

use carbonara::deployment::DatabaseUrl;
use carbonara::store::coordinator::redis::{Session, Settings};
use carbonara::store::coordinator::sack_lock_name;
use carbonara::store::incoming::SackName;

use crate::common::{golden_dir, read_json};
use crate::gnocchi_conf::GnocchiConf;
use crate::redis::{Monitor, RedisServer, Sent, free_port};

fn golden() -> Value {
    read_json(&golden_dir().join("coordination/tooz_redis_locks.json"))
}

fn sack(total: u32, number: u32) -> SackName {
    SackName { total, number }
}

fn session(url: &str) -> Session {
    Session::new(Settings::new(&DatabaseUrl::parse(url).unwrap()).unwrap())
}

/// The commands' arguments, the connection's handshake left out (tooz's
/// own connected before its record starts) and `token` written as the
/// record writes every token.
fn shown(sent: &[Sent], token: Option<&str>) -> Vec<Vec<String>> {
    sent.iter()
        .filter(|c| !matches!(c.args[0].as_str(), "CLIENT" | "HELLO" | "SELECT" | "AUTH"))
        .map(|c| {
            c.args
                .iter()
                .map(|a| {
                    if Some(a.as_str()) == token {
                        "<token>".to_owned()
                    } else {
                        a.clone()
                    }
                })
                .collect()
        })
        .collect()
}

fn recorded(value: &Value) -> Vec<Vec<String>> {
    serde_json::from_value(value.clone()).unwrap()
}

/// The value of a key, `None` when it does not exist.
fn get(connection: &mut redis::Connection, key: &str) -> Option<String> {
    redis::cmd("GET").arg(key).query(connection).unwrap()
}

fn pttl(connection: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(connection).unwrap()
}

/// `SET key token NX PX ms`, as tooz takes a lock: whether it was set.
fn tooz_set(connection: &mut redis::Connection, key: &str, token: &str, ms: u64) -> bool {
    redis::cmd("SET")
        .arg(key)
        .arg(token)
        .arg("NX")
        .arg("PX")
        .arg(ms)
        .query::<Option<String>>(connection)
        .unwrap()
        .is_some()
}

fn is_token(value: &str, golden: &Value) -> bool {
    regex::Regex::new(golden["value_pattern"].as_str().unwrap())
        .unwrap()
        .is_match(value)
}

#[test]
fn carbonara_sends_what_tooz_sends() {
    let golden = golden();
    let server = RedisServer::start();
    let mut monitor = Monitor::start(&server);
    let mut raw = server.connect(0);
    let key = golden["key"].as_str().unwrap();
    assert_eq!(key, format!("_tooz_{}_lock", sack_lock_name(sack(128, 17))));

    // Taken: SET NX PX 30000, a string holding a 32-hex-digit token.
    let mut carbonara = session(&server.url());
    let (sent, taken) = monitor.during(|| carbonara.try_lock(sack(128, 17)).unwrap());
    assert!(taken);
    let token = get(&mut raw, key).expect("the lock's key");
    assert!(is_token(&token, &golden), "{token}");
    assert_eq!(shown(&sent, Some(&token)), recorded(&golden["acquire"]));
    let kind: String = redis::cmd("TYPE").arg(key).query(&mut raw).unwrap();
    assert_eq!(kind, golden["type"].as_str().unwrap());
    let ttl = pttl(&mut raw, key);
    assert!(29_000 < ttl && ttl <= 30_000, "{ttl}");

    // Refused to another holder, tooz or carbonara alike, with the same
    // command.
    assert!(!tooz_set(&mut raw, key, &"e".repeat(32), 30_000));
    let mut other = session(&server.url());
    let (sent, taken) = monitor.during(|| other.try_lock(sack(128, 17)).unwrap());
    assert!(!taken);
    let refused = &golden["acquire_held_elsewhere"];
    assert_eq!(refused["acquired"], false);
    let other_token = sent
        .iter()
        .find(|c| c.args[0] == "SET")
        .map(|c| c.args[2].clone())
        .unwrap();
    assert!(is_token(&other_token, &golden));
    assert_ne!(other_token, token);
    assert_eq!(
        shown(&sent, Some(&other_token)),
        recorded(&refused["commands"])
    );

    // Released: the release script, loaded on first use, deletes the key.
    let (sent, ()) = monitor.during(|| carbonara.unlock(sack(128, 17)));
    assert_eq!(shown(&sent, Some(&token)), recorded(&golden["release"]));
    assert_eq!(golden["exists_after_release"], false);
    assert_eq!(get(&mut raw, key), None);

    // A lock whose key another owner holds now (it expired and was taken
    // again) is left to them.
    assert!(carbonara.try_lock(sack(128, 17)).unwrap());
    let mine = get(&mut raw, key).unwrap();
    let theirs = "f".repeat(32);
    redis::cmd("SET")
        .arg(key)
        .arg(&theirs)
        .arg("PX")
        .arg(30_000)
        .exec(&mut raw)
        .unwrap();
    let (sent, ()) = monitor.during(|| carbonara.unlock(sack(128, 17)));
    let foreign = &golden["release_of_another_owners_key"];
    assert_eq!(shown(&sent, Some(&mine)), recorded(&foreign["commands"]));
    assert_eq!(foreign["value_after"], theirs.as_str());
    assert_eq!(get(&mut raw, key).as_deref(), Some(theirs.as_str()));
    // Nor does dropping the session take it: it holds nothing any more.
    drop(carbonara);
    assert_eq!(get(&mut raw, key).as_deref(), Some(theirs.as_str()));

    // Once tooz lets go, carbonara gets it; a dropped session releases
    // what it holds.
    redis::cmd("DEL").arg(key).exec(&mut raw).unwrap();
    assert!(other.try_lock(sack(128, 17)).unwrap());
    assert!(other.try_lock(sack(128, 90)).unwrap());
    let held: Vec<String> = redis::cmd("KEYS")
        .arg("_tooz_*_lock")
        .query(&mut raw)
        .unwrap();
    assert_eq!(held.len(), 2, "{held:?}");
    drop(other);
    let held: Vec<String> = redis::cmd("KEYS")
        .arg("_tooz_*_lock")
        .query(&mut raw)
        .unwrap();
    assert_eq!(held, Vec::<String>::new());
}

#[test]
fn the_url_places_keys_as_tooz_does() {
    let golden = golden();
    let server = RedisServer::start();
    let mut monitor = Monitor::start(&server);
    let urls = golden["urls"].as_object().unwrap();
    assert!(urls.len() >= 7, "{urls:?}");
    for (url, expected) in urls {
        let url = url.replace("<port>", &server.port().to_string());
        let mut carbonara = session(&url);
        let (sent, taken) = monitor.during(|| carbonara.try_lock(sack(128, 90)).unwrap());
        assert!(taken, "{url}");
        let set: Vec<&Sent> = sent.iter().filter(|c| c.args[0] == "SET").collect();
        assert_eq!(set.len(), 1, "{url}: {sent:?}");
        assert_eq!(set[0].db, expected["db"].as_i64().unwrap(), "{url}");
        assert_eq!(set[0].args[1], expected["key"].as_str().unwrap(), "{url}");
        assert!(is_token(&set[0].args[2], &golden), "{url}");
        let mut args = set[0].args.clone();
        args[1] = "<key>".to_owned();
        args[2] = "<token>".to_owned();
        assert_eq!(
            args,
            serde_json::from_value::<Vec<String>>(expected["set"].clone()).unwrap(),
            "{url}"
        );
        carbonara.unlock(sack(128, 90));
    }
}

#[test]
fn the_heart_keeps_a_lock_past_its_ttl_until_released() {
    let golden = golden();
    let server = RedisServer::start();
    let mut monitor = Monitor::start(&server);
    let mut raw = server.connect(0);
    let key = format!("_tooz_{}_lock", sack_lock_name(sack(128, 17)));
    // A two-second TTL: without the heart the key is gone after it.
    let mut carbonara = session(&format!("{}?lock_timeout=2", server.url()));
    let (sent, ()) = monitor.during(|| {
        assert!(carbonara.try_lock(sack(128, 17)).unwrap());
        std::thread::sleep(Duration::from_millis(4_500));
    });
    let token = get(&mut raw, &key).expect("the lock outlived its TTL");
    let ttl = pttl(&mut raw, &key);
    assert!(0 < ttl && ttl <= 2_000, "{ttl}");
    // The first beat is tooz's heartbeat of that lock, with this TTL.
    let beats = shown(&sent, Some(&token));
    let mut expected = recorded(&golden["heartbeat"]);
    for command in &mut expected {
        for arg in command.iter_mut().filter(|a| *a == "30000") {
            *arg = "2000".to_owned();
        }
    }
    assert_eq!(beats[1..4], expected[..], "{beats:?}");
    let evalsha = &expected[0];
    let count = beats.iter().filter(|c| *c == evalsha).count();
    // Every third of the TTL: six beats, the first sending its script
    // twice.
    assert!((4..=8).contains(&count), "{count} beats: {beats:?}");

    // Released: the heart stops with it.
    carbonara.unlock(sack(128, 17));
    assert_eq!(get(&mut raw, &key), None);
    let (sent, ()) = monitor.during(|| std::thread::sleep(Duration::from_millis(1_000)));
    assert_eq!(shown(&sent, None), Vec::<Vec<String>>::new());
}

/// A Gnocchi deployment (PostgreSQL indexer, file drivers) whose workers
/// coordinate through `coordination_url`, upgraded with 8 sacks.
fn deployment(purpose: &str, coordination_url: &str) -> GnocchiConf {
    let deployment = GnocchiConf::new(purpose);
    fs::write(
        deployment.conf(),
        format!(
            "[DEFAULT]\ncoordination_url = {coordination_url}\n\n\
             [indexer]\nurl = {}\n\n[storage]\ndriver = file\nfile_basepath = {}\n",
            deployment.url,
            deployment.storage().display()
        ),
    )
    .unwrap();
    deployment
        .run(&["upgrade", "--sacks-number", "8", "-q"])
        .success();
    deployment
}

#[test]
fn a_pass_takes_its_sacks_in_redis_as_gnocchi_metricd_does() {
    let server = RedisServer::start();
    let deployment = deployment("redis_pass", &server.url());
    let metric = deployment.json(&["metric", "create", "cpu", "--archive-policy-name", "low"]);
    let id = metric["id"].as_str().unwrap().to_owned();
    deployment
        .run(&[
            "measures",
            "add",
            &id,
            "-m",
            "2024-01-01T00:00:00@1",
            "-m",
            "2024-01-01T00:01:00@3",
            "-m",
            "2024-01-01T00:07:00@8",
        ])
        .success();
    let number = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let key = format!("_tooz_{}_lock", sack_lock_name(sack(8, number)));

    // Held by gnocchi-metricd through tooz: the pass leaves the sack.
    let mut metricd = server.connect(0);
    assert!(tooz_set(&mut metricd, &key, &"e".repeat(32), 30_000));
    let report = deployment.json(&["process"]);
    assert_eq!(report["busy sacks"], 1, "{report}");
    assert_eq!(report["metrics"], 0, "{report}");
    assert_eq!(
        deployment.json(&["status"])["storage/total number of measures to process"],
        3
    );

    // Released by tooz: the next pass takes the sack, holding its key
    // while it works and releasing it after.
    redis::cmd("DEL").arg(&key).exec(&mut metricd).unwrap();
    let mut monitor = Monitor::start(&server);
    let (sent, report) = monitor.during(|| deployment.json(&["process"]));
    assert_eq!(report["metrics"], 1, "{report}");
    assert_eq!(report["busy sacks"], 0, "{report}");
    let on_key: Vec<&Sent> = sent
        .iter()
        .filter(|c| c.args.get(1) == Some(&key) || c.args.get(3) == Some(&key))
        .collect();
    let token = &on_key[0].args[2];
    assert_eq!(
        on_key[0].args,
        ["SET", &key, token, "NX", "PX", "30000"],
        "{sent:?}"
    );
    let released = on_key.last().unwrap();
    assert_eq!(released.args[0], "EVALSHA", "{sent:?}");
    assert_eq!(released.args[3..], [key.clone(), token.clone()], "{sent:?}");
    assert_eq!(get(&mut metricd, &key), None);
    let means: Vec<f64> = deployment
        .json(&["measures", "show", &id, "--aggregation", "mean"])
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["value"].as_f64().unwrap())
        .collect();
    assert_eq!(means, [2.0, 8.0]);
}

#[test]
fn an_unreachable_redis_is_said_without_its_password() {
    let port = free_port();
    let deployment = deployment(
        "redis_unreachable",
        &format!("redis://:s3cret@127.0.0.1:{port}?socket_connect_timeout=2"),
    );
    let metric = deployment.json(&["metric", "create", "cpu", "--archive-policy-name", "low"]);
    let id = metric["id"].as_str().unwrap().to_owned();
    deployment
        .run(&["measures", "add", &id, "-m", "2024-01-01T00:00:00@1"])
        .success();
    let assert = deployment
        .run(&["process"])
        .code(1)
        .stderr(contains(format!(
            "Redis at redis://:***@127.0.0.1:{port}?socket_connect_timeout=2: "
        )))
        .stderr(contains("refused"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(!stderr.contains("s3cret"), "{stderr}");
    // A Sentinel URL is refused, naming it, before anything is read.
    fs::write(
        deployment.conf(),
        fs::read_to_string(deployment.conf())
            .unwrap()
            .replace("?socket_connect_timeout=2", "?sentinel=mymaster"),
    )
    .unwrap();
    deployment
        .run(&["metric", "list"])
        .code(1)
        .stderr(contains(format!(
            "coordination_url redis://:***@127.0.0.1:{port}?sentinel=mymaster: the parameter `sentinel` (Redis Sentinel) is not supported yet"
        )));
}

#[test]
fn a_password_is_sent_as_written_and_never_shown() {
    // Written as tooz hands it on: not percent-decoded.
    let password = "pw%40Secret-9";
    let server = RedisServer::start_with(&["--requirepass", password]);
    let mut raw = server.connect_as(0, Some(password));
    let key = format!("_tooz_{}_lock", sack_lock_name(sack(128, 17)));
    let url = |password: &str| format!("redis://:{password}@127.0.0.1:{}", server.port());

    let mut carbonara = session(&url(password));
    assert!(carbonara.try_lock(sack(128, 17)).unwrap());
    assert!(get(&mut raw, &key).is_some());
    carbonara.unlock(sack(128, 17));
    assert_eq!(get(&mut raw, &key), None);

    for wrong in ["pw@Secret-9", "hunter2"] {
        let error = session(&url(wrong))
            .try_lock(sack(128, 17))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with(&format!(
                "Redis at redis://:***@127.0.0.1:{}: ",
                server.port()
            )),
            "{error}"
        );
        assert!(error.contains("authentication failed"), "{error}");
        assert!(!error.contains(wrong), "{error}");
    }
}
