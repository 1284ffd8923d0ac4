//! A transaction PostgreSQL aborts to break a deadlock runs again, as
//! Gnocchi's indexer retries it (oslo.db's `wrap_db_retry`): two
//! connections that update two resources in opposite orders both succeed,
//! one of them on its second run.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use carbonara::store::{Index, NewResource, PostgresIndex, ResourceChanges};
use carbonara::time::Timestamp;
use uuid::Uuid;

use super::gnocchi_database;

fn generic(id: Uuid) -> NewResource {
    NewResource {
        id,
        original_resource_id: id.to_string(),
        type_name: "generic".to_owned(),
        creator: "admin".to_owned(),
        user_id: None,
        project_id: None,
        started_at: Some(Timestamp::from_nanos(0)),
        ended_at: None,
        attributes: Vec::new(),
        metrics: Vec::new(),
    }
}

#[test]
fn a_deadlocks_victim_runs_again() {
    let url = gnocchi_database("deadlock");
    let connect = || Index::new(PostgresIndex::connect(&url).unwrap());
    let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
    let index = connect();
    index
        .create_resource(&generic(a), Timestamp::from_nanos(1_000))
        .unwrap();
    index
        .create_resource(&generic(b), Timestamp::from_nanos(1_000))
        .unwrap();
    // Both hold their first row before either asks for its second.
    let both_hold_one = Arc::new(Barrier::new(2));
    let runs = Arc::new(AtomicU32::new(0));
    let updater = |first: Uuid, second: Uuid, user: &'static str| {
        let index = connect();
        let both_hold_one = Arc::clone(&both_hold_one);
        let runs = Arc::clone(&runs);
        std::thread::spawn(move || {
            let changes = ResourceChanges {
                user_id: Some(Some(user.to_owned())),
                ..ResourceChanges::default()
            };
            let mut first_run = true;
            index.atomically(|index| {
                runs.fetch_add(1, Ordering::SeqCst);
                index.update_resource("generic", first, &changes, Timestamp::from_nanos(2_000))?;
                if std::mem::take(&mut first_run) {
                    both_hold_one.wait();
                }
                index.update_resource("generic", second, &changes, Timestamp::from_nanos(3_000))
            })
        })
    };
    let one = updater(a, b, "one");
    let other = updater(b, a, "other");
    let (one, other) = (one.join().unwrap(), other.join().unwrap());
    assert!(one.is_ok(), "{:?}", one.err());
    assert!(other.is_ok(), "{:?}", other.err());
    assert_eq!(runs.load(Ordering::SeqCst), 3, "the victim ran twice");
    // The victim's changes came last: both resources carry its user.
    let users: Vec<Option<String>> = [a, b]
        .iter()
        .map(|&id| index.get_resource("generic", id).unwrap().unwrap().user_id)
        .collect();
    assert_eq!(users[0], users[1], "{users:?}");
}
