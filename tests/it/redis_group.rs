//! gnocchi-metricd's group and hash ring through tooz's Redis driver,
//! against a live redis-server (`redis.rs`): carbonara joins, lists and
//! leaves `gnocchi-processing` with the commands the real tooz sent and
//! leaves the same keys (`tests/golden/coordination/tooz_redis_group.json`,
//! recorded by `scripts/oracle/tooz_redis_group.py`); a member whose beat
//! stops is dropped once its TTL is over, while carbonara's heart keeps its
//! own; and each member gets the sacks gnocchi-metricd gave it for every
//! recorded set of members, so that carbonara members split every sack.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use carbonara::deployment::DatabaseUrl;
use carbonara::store::coordinator::membership::{Membership, metricd_member_id};
use carbonara::store::coordinator::partition::sacks_to_process;
use carbonara::store::coordinator::redis::Settings;

use crate::common::{golden_dir, read_json};
use crate::redis::{Monitor, RedisServer, Sent};

fn golden() -> Value {
    read_json(&golden_dir().join("coordination/tooz_redis_group.json"))
}

fn settings(url: &str) -> Settings {
    Settings::new(&DatabaseUrl::parse(url).unwrap()).unwrap()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap()
}

/// The commands' arguments, the connection's handshake left out (tooz's
/// `INFO` is its version check), `MGET`'s keys sorted (tooz lists members
/// from a Python set).
fn shown(sent: &[Sent]) -> Vec<Vec<String>> {
    sent.iter()
        .filter(|c| {
            !matches!(
                c.args[0].as_str(),
                "CLIENT" | "HELLO" | "SELECT" | "AUTH" | "INFO"
            )
        })
        .map(|c| sorted_mget(c.args.clone()))
        .collect()
}

fn sorted_mget(mut args: Vec<String>) -> Vec<String> {
    if args[0] == "MGET" {
        args[1..].sort();
    }
    args
}

fn recorded(value: &Value) -> Vec<Vec<String>> {
    let commands: Vec<Vec<String>> = serde_json::from_value(value.clone()).unwrap();
    commands
        .into_iter()
        .filter(|c| !matches!(c[0].as_str(), "HELLO" | "INFO"))
        .map(sorted_mget)
        .collect()
}

/// The recorded commands up to the first `EXEC`: the join itself, without
/// the reads tooz's `Partitioner` makes next.
fn up_to_exec(value: &Value) -> Vec<Vec<String>> {
    let mut commands = recorded(value);
    let exec = commands.iter().position(|c| c[0] == "EXEC").unwrap();
    commands.truncate(exec + 1);
    commands
}

/// Every key as the record shows it: type, value (bytes as Latin-1
/// characters), whether it expires.
fn keys(connection: &mut redis::Connection) -> Value {
    let latin1 = |bytes: Vec<u8>| bytes.into_iter().map(char::from).collect::<String>();
    let mut names: Vec<String> = redis::cmd("KEYS").arg("*").query(connection).unwrap();
    names.sort();
    let mut out = serde_json::Map::new();
    for name in names {
        let kind: String = redis::cmd("TYPE").arg(&name).query(connection).unwrap();
        let value = match kind.as_str() {
            "hash" => {
                let fields: BTreeMap<String, Vec<u8>> =
                    redis::cmd("HGETALL").arg(&name).query(connection).unwrap();
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(latin1(v))))
                        .collect(),
                )
            }
            "set" => {
                let mut members: Vec<String> =
                    redis::cmd("SMEMBERS").arg(&name).query(connection).unwrap();
                members.sort();
                serde_json::json!(members)
            }
            _ => {
                let bytes: Vec<u8> = redis::cmd("GET").arg(&name).query(connection).unwrap();
                Value::String(latin1(bytes))
            }
        };
        let pttl: i64 = redis::cmd("PTTL").arg(&name).query(connection).unwrap();
        out.insert(
            name,
            serde_json::json!({"type": kind, "value": value, "expires": pttl > 0}),
        );
    }
    Value::Object(out)
}

fn pttl(connection: &mut redis::Connection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query(connection).unwrap()
}

/// Replays, on a connection of the test's, the commands tooz sent for a
/// member: a gnocchi-metricd worker as far as Redis can tell.
fn replay(connection: &mut redis::Connection, commands: &[Vec<String>]) {
    for command in commands {
        let mut cmd = redis::cmd(&command[0]);
        for arg in &command[1..] {
            // The record's characters are bytes (Latin-1).
            let bytes: Vec<u8> = arg
                .chars()
                .map(|c| u8::try_from(u32::from(c)).unwrap())
                .collect();
            cmd.arg(bytes);
        }
        cmd.exec(connection).unwrap();
    }
}

#[test]
fn carbonara_joins_lists_and_leaves_as_tooz_does() {
    let golden = golden();
    let server = RedisServer::start();
    let mut monitor = Monitor::start(&server);
    let mut raw = server.connect(0);
    let first = text(&golden["start"]["member"]);
    let second = text(&golden["join_existing"]["member"]);
    assert_eq!(text(&golden["group"]), "gnocchi-processing");

    // Into a group nobody created: beat, find no group, create it with
    // tooz's script, join.
    let (sent, member) = monitor.during(|| Membership::join(&settings(&server.url()), first));
    let mut member = member.unwrap();
    assert_eq!(member.member_id(), first);
    let mut expected = recorded(&golden["start"]["commands"]);
    expected.extend(up_to_exec(&golden["join_creating"]));
    assert_eq!(shown(&sent), expected);
    assert_eq!(keys(&mut raw), golden["keys_after_join"]);
    let field: Vec<u8> = redis::cmd("HGET")
        .arg("_tooz_group:gnocchi-processing")
        .arg(first)
        .query(&mut raw)
        .unwrap();
    assert_eq!(hex(&field), text(&golden["capabilities_hex"]));
    let beat = format!("_tooz_beats:{first}");
    let ttl = pttl(&mut raw, &beat);
    assert!(29_000 < ttl && ttl <= 30_000, "{ttl}");

    // A second member joins the group that exists, as tooz did; and
    // leaves.
    let existing = up_to_exec(&golden["join_existing"]["commands"]);
    let (sent, other) = monitor.during(|| Membership::join(&settings(&server.url()), second));
    let other = other.unwrap();
    let mut expected = vec![vec![
        "PSETEX".to_owned(),
        format!("_tooz_beats:{second}"),
        "30000".to_owned(),
        "Not dead!".to_owned(),
    ]];
    expected.extend(existing.clone());
    assert_eq!(shown(&sent), expected);
    drop(other);

    // The same member as gnocchi-metricd's worker joined it in the record
    // (tooz's commands replayed), its beat lasting a second: a worker whose
    // heart then stops.
    replay(
        &mut raw,
        &[vec![
            "PSETEX".to_owned(),
            format!("_tooz_beats:{second}"),
            "1000".to_owned(),
            "Not dead!".to_owned(),
        ]],
    );
    replay(&mut raw, &existing);

    // Both beat: both listed, with tooz's reads.
    let (sent, members) = monitor.during(|| member.members().unwrap());
    assert_eq!(shown(&sent), recorded(&golden["get_members"]["commands"]));
    assert_eq!(serde_json::json!(members), golden["get_members"]["members"]);
    assert_eq!(
        sacks(&mut member, 1).len() + sacks_of(&[first, second], second, 1).len(),
        128
    );

    // The second's beat expires: the next listing drops it from the group.
    std::thread::sleep(Duration::from_millis(1200));
    let (sent, members) = monitor.during(|| member.members().unwrap());
    let expired = &golden["get_members_expired"];
    assert_eq!(shown(&sent), recorded(&expired["commands"]));
    assert_eq!(serde_json::json!(members), expired["members"]);
    assert_eq!(keys(&mut raw), expired["keys_after"]);
    assert_eq!(sacks(&mut member, 3).len(), 128);

    // Dropped, it leaves the group, then deletes its beat key.
    let (sent, ()) = monitor.during(|| drop(member));
    let mut expected = recorded(&golden["leave"]["commands"]);
    expected.extend(recorded(&golden["stop"]["commands"]));
    assert_eq!(shown(&sent), expected);
    assert_eq!(keys(&mut raw), golden["stop"]["keys_after"]);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sacks(member: &mut Membership, replicas: u32) -> Vec<u32> {
    member
        .sacks_of_self(128, replicas)
        .unwrap()
        .into_iter()
        .map(|sack| sack.number)
        .collect()
}

fn sacks_of(members: &[&str], member: &str, replicas: u32) -> Vec<u32> {
    sacks_to_process(members, member, 128, replicas)
        .into_iter()
        .map(|sack| {
            assert_eq!(sack.total, 128);
            sack.number
        })
        .collect()
}

#[test]
fn the_heart_beats_as_tooz_heartbeat_does() {
    let golden = golden();
    let server = RedisServer::start();
    let mut monitor = Monitor::start(&server);
    let member_id = text(&golden["start"]["member"]);
    // Beats of 1.5 s, re-armed every half second.
    let url = format!("{}?membership_timeout=1.5", server.url());
    let _member = Membership::join(&settings(&url), member_id).unwrap();
    let (sent, ()) = monitor.during(|| std::thread::sleep(Duration::from_millis(800)));
    let mut expected = recorded(&golden["heartbeat"]["commands"]);
    assert_eq!(expected.len(), 1);
    assert_eq!(expected[0][2], "30000");
    expected[0][2] = "1500".to_owned();
    // One beat or two, as the machine's load allows.
    let beats = shown(&sent);
    assert!(!beats.is_empty());
    for beat in beats {
        assert_eq!(beat, expected[0]);
    }
}

#[test]
fn where_the_url_puts_the_keys_and_their_ttl() {
    let golden = golden();
    let member_id = text(&golden["start"]["member"]);
    let recorded_urls = golden["urls"].as_object().unwrap();
    assert_eq!(recorded_urls.len(), 4);
    for (url, record) in recorded_urls {
        let server = RedisServer::start();
        let mut monitor = Monitor::start(&server);
        let mut raw = server.connect(0);
        let url = url.replace("127.0.0.1:<port>", &format!("127.0.0.1:{}", server.port()));
        let (sent, member) = monitor.during(|| Membership::join(&settings(&url), member_id));
        let _member = member.unwrap();
        let beat: Vec<Vec<String>> = shown(&sent)
            .into_iter()
            .filter(|c| c[0] == "PSETEX")
            .collect();
        assert_eq!(beat, recorded(&record["beat"]), "{url}");
        assert_eq!(keys(&mut raw), record["keys"], "{url}");
    }
}

#[test]
fn each_member_gets_the_sacks_gnocchi_metricd_gave_it() {
    let golden = golden();
    assert_eq!(golden["total_sacks"], 128);
    assert_eq!(golden["partitions"], 200);
    let sets = golden["assignments"].as_object().unwrap();
    assert_eq!(sets.len(), 5);
    let mut fell_back = 0;
    for (name, set) in sets {
        let members: Vec<&str> = set["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(text)
            .collect();
        for (replicas, assigned) in set["sacks"].as_object().unwrap() {
            let replicas: u32 = replicas.parse().unwrap();
            for member in &members {
                let expected: Vec<u32> = serde_json::from_value(assigned[*member].clone()).unwrap();
                fell_back += usize::from(expected.len() == 128 && members.len() > 3);
                assert_eq!(
                    sacks_of(&members, member, replicas),
                    expected,
                    "{name}, {replicas} replicas, {member}"
                );
            }
        }
    }
    // The record holds a worker the ring gave nothing, which takes them all.
    assert!(fell_back > 0);
}

#[test]
fn carbonara_members_in_redis_get_gnocchi_metricds_sacks() {
    let golden = golden();
    let server = RedisServer::start();
    let set = &golden["assignments"]["three"];
    let ids: Vec<&str> = set["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    let mut members: Vec<Membership> = ids
        .iter()
        .map(|id| Membership::join(&settings(&server.url()), id).unwrap())
        .collect();
    for replicas in 1..=3u32 {
        for member in &mut members {
            let id = member.member_id().to_owned();
            let expected: Vec<u32> =
                serde_json::from_value(set["sacks"][replicas.to_string()][&id].clone()).unwrap();
            assert_eq!(sacks(member, replicas), expected, "{id}, {replicas}");
        }
    }
}

#[test]
fn carbonara_members_split_every_sack_and_keep_beating() {
    let server = RedisServer::start();
    // Beats of a second: the hearts must re-arm them to stay members.
    let url = format!("{}?membership_timeout=1", server.url());
    let ids: Vec<String> = (0..3)
        .map(|worker| metricd_member_id("carbonara-test", worker))
        .collect();
    let shape = regex::Regex::new(
        r"^carbonara-test\.[0-2]\.[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    )
    .unwrap();
    for id in &ids {
        assert!(shape.is_match(id), "{id}");
    }
    let mut first = Membership::join(&settings(&url), &ids[0]).unwrap();
    let mut second = Membership::join(&settings(&url), &ids[1]).unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let mut two = vec![ids[0].clone(), ids[1].clone()];
    two.sort();
    assert_eq!(first.members().unwrap(), two);
    assert_eq!(second.members().unwrap(), two);

    // One replica: each sack to exactly one of them, none left out.
    let (a, b) = (sacks(&mut first, 1), sacks(&mut second, 1));
    assert!(!a.is_empty() && !b.is_empty());
    let mut all: Vec<u32> = a.iter().chain(&b).copied().collect();
    all.sort_unstable();
    assert_eq!(all, (0..128).collect::<Vec<u32>>());

    // Three members, two replicas: each sack to exactly two of them.
    let mut third = Membership::join(&settings(&url), &ids[2]).unwrap();
    let mut owners = [0u32; 128];
    for member in [&mut first, &mut second, &mut third] {
        let own = sacks(member, 2);
        assert!(own.len() < 128, "{}", own.len());
        for sack in own {
            owners[sack as usize] += 1;
        }
    }
    assert_eq!(owners, [2; 128]);

    // One leaves: the others share its sacks at once.
    drop(third);
    let (a, b) = (sacks(&mut first, 1), sacks(&mut second, 1));
    assert_eq!(a.len() + b.len(), 128);
    // A member joined twice is refused.
    let again = Membership::join(&settings(&url), &ids[0]).unwrap_err();
    assert!(
        again.to_string().ends_with(&format!(
            "member {} of gnocchi-processing: already in the group",
            ids[0]
        )),
        "{again}"
    );
}
