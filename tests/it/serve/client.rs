//! A session of the real gnocchiclient (archive policies, rules, metrics,
//! measures, resource types, resources, searches) against `carbonara
//! serve`, recorded by tests/golden/serve/record_gnocchiclient.py with
//! every HTTP exchange the client had. Replayed through the router: each
//! request the client sent must be answered as recorded, so a change that
//! would break gnocchiclient shows here without Python.

use crate::common::{golden_dir, read_json};
use crate::serve::common::{Normalizer, compare, empty_store, send_recorded, test_app};
use carbonara::server::AuthMode;

#[tokio::test]
async fn answers_gnocchiclient_as_recorded() {
    let session = read_json(&golden_dir().join("serve/gnocchiclient_session.json"));
    let host = session["host"].as_str().unwrap();
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let (mut recorded_norm, mut our_norm) = (Normalizer::new(), Normalizer::new());
    let mut failures = Vec::new();
    let mut exchanges = 0;
    for step in session["steps"].as_array().unwrap() {
        let command = step["command"].as_str().unwrap();
        for exchange in step["exchanges"].as_array().unwrap() {
            exchanges += 1;
            // Ids the client took from earlier answers become ours.
            let restore = |text: &str, recorded: &mut Normalizer, ours: &Normalizer| {
                ours.restore(&recorded.apply(text, &[]))
            };
            let path = restore(
                exchange["path"].as_str().unwrap(),
                &mut recorded_norm,
                &our_norm,
            );
            let body = exchange["body"]
                .as_str()
                .map(|b| restore(b, &mut recorded_norm, &our_norm));
            let method = exchange["method"].as_str().unwrap();
            let ours =
                send_recorded(&app, exchange, host, &path, body.as_deref(), str::to_owned).await;
            let problems = compare(
                exchange,
                &ours,
                (&mut recorded_norm, &[]),
                (&mut our_norm, &[]),
                false,
            );
            if !problems.is_empty() {
                failures.push(format!(
                    "`gnocchi {command}`: {method} {path}:\n  {}",
                    problems.join("\n  ")
                ));
            }
        }
    }
    assert!(exchanges >= 40, "only {exchanges} exchanges recorded");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
