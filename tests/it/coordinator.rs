//! tooz's PostgreSQL sack locks against a live PostgreSQL: a lock carbonara
//! holds is the advisory lock gnocchi-metricd asks for
//! (`pg_try_advisory_lock(211, 58)` for `incoming128-17`), refused to
//! every other session until released; waiting gets it once its holder
//! lets go or dies. tooz's own `PostgresLock` is checked against it by
//! `scripts/oracle/tooz_sack_locks.py`.
//!
//! On a database of its own on the tests' PostgreSQL server
//! (`postgresql.rs`): advisory locks are per database, so other tests'
//! locks neither show nor interfere.

use std::time::{Duration, Instant};

use carbonara::deployment::DatabaseUrl;
use carbonara::store::coordinator::postgres::Coordinator;
use carbonara::store::incoming::SackName;

use super::postgresql::fresh_database;

fn session(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}

/// What another session gets from `pg_try_advisory_lock` on the keys, as
/// gnocchi-metricd's connection asks; a lock it gets is released at once.
fn other_session_gets(url: &str, [k1, k2]: [i32; 2]) -> bool {
    let mut session = session(url);
    let got: bool = session
        .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&k1, &k2])
        .unwrap()
        .get(0);
    got
}

fn advisory_locks(session: &mut postgres::Client) -> Vec<(i64, i64, i32)> {
    session
        .query(
            "SELECT classid::bigint, objid::bigint, objsubid::int FROM pg_locks \
             WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
             ORDER BY 1, 2",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

/// How many sessions carbonara has open, once closed ones are gone.
fn carbonara_sessions(session: &mut postgres::Client, expected: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let count: i64 = session
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE application_name = 'carbonara' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .get(0);
        if count == expected || Instant::now() > deadline {
            return count;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn tooz_sack_locks_on_a_live_server() {
    let url = fresh_database("sack_locks");
    let coordinator = Coordinator::new(&DatabaseUrl::parse(&url).unwrap()).unwrap();
    let sack17 = SackName {
        total: 128,
        number: 17,
    };
    let sack90 = SackName {
        total: 128,
        number: 90,
    };
    let mut watcher = session(&url);

    // Held by carbonara: the keys pg_locks showed for gnocchi-metricd's
    // lock of incoming128-17, refused to any other session, ours included.
    let lock = coordinator.try_lock(sack17).unwrap().expect("a free sack");
    assert_eq!(advisory_locks(&mut watcher), [(211, 58, 2)]);
    assert!(!other_session_gets(&url, [211, 58]));
    assert!(coordinator.try_lock(sack17).unwrap().is_none());
    // Another sack is another lock; a refused attempt keeps no session.
    let other = coordinator.try_lock(sack90).unwrap().expect("another sack");
    assert_eq!(advisory_locks(&mut watcher), [(199, 150, 2), (211, 58, 2)]);
    assert_eq!(carbonara_sessions(&mut watcher, 2), 2);

    // Released: unlocked and its session closed.
    drop(lock);
    drop(other);
    assert_eq!(carbonara_sessions(&mut watcher, 0), 0);
    assert_eq!(advisory_locks(&mut watcher), []);
    assert!(other_session_gets(&url, [211, 58]));

    // Held by another session (as gnocchi-metricd would): refused to
    // carbonara, which gives up at its deadline.
    let mut metricd = session(&url);
    metricd
        .execute("SELECT pg_advisory_lock(211, 58)", &[])
        .unwrap();
    assert!(coordinator.try_lock(sack17).unwrap().is_none());
    let started = Instant::now();
    assert!(
        coordinator
            .lock(sack17, Duration::from_millis(300))
            .unwrap()
            .is_none()
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(carbonara_sessions(&mut watcher, 0), 0);

    // Waiting gets it once the holder unlocks...
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        metricd
            .execute("SELECT pg_advisory_unlock(211, 58)", &[])
            .unwrap();
        metricd
    });
    let started = Instant::now();
    let lock = coordinator.lock(sack17, Duration::from_secs(20)).unwrap();
    assert!(lock.is_some(), "the lock once released");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let mut metricd = holder.join().unwrap();
    drop(lock);

    // ...or once its session ends, as when a worker dies.
    metricd
        .execute("SELECT pg_advisory_lock(211, 58)", &[])
        .unwrap();
    let holder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(metricd);
    });
    assert!(
        coordinator
            .lock(sack17, Duration::from_secs(20))
            .unwrap()
            .is_some()
    );
    holder.join().unwrap();
}
