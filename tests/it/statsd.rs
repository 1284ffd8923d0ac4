//! statsd parsing and accumulation against the real gnocchi-statsd: the
//! datagrams of tests/golden/ingest/statsd/cases.json, and what Gnocchi
//! 4.7.1 flushed and logged for them (expected.json, made by
//! make_cases.py beside it).

use std::path::Path;

use carbonara::ingest::statsd::Accumulator;
use carbonara::time::Timestamp;
use serde_json::Value;

use crate::common::expected_value;

fn golden() -> (Value, Value) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ingest/statsd");
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let expected =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (cases, expected)
}

/// A datagram of cases.json: text, or `{"hex": …}` for raw bytes.
fn datagram_bytes(datagram: &Value) -> Vec<u8> {
    match datagram {
        Value::String(text) => text.as_bytes().to_vec(),
        other => {
            let hex = other["hex"].as_str().unwrap();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        }
    }
}

#[test]
fn flushes_and_logs_match_gnocchi_statsd() {
    let (cases, expected) = golden();
    let now = Timestamp::from_nanos(expected["now_ns"].as_i64().unwrap());
    let mut checked = 0;
    for (name, case) in cases.as_object().unwrap() {
        let mut stats = Accumulator::default();
        let mut logged = Vec::new();
        for datagram in case["datagrams"].as_array().unwrap() {
            logged.extend(stats.feed_datagram(&datagram_bytes(datagram), now));
        }
        let want = &expected[name];
        // Measures Gnocchi failed to store at flush time (no rule for the
        // metric) are the writer's business, not the accumulator's.
        let lost: Vec<&str> = want["logs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l.as_str().unwrap().strip_prefix("Unable to add measure "))
            .map(|l| l.split(':').next().unwrap())
            .collect();
        let flushed: Vec<(String, i64, f64)> = stats
            .flush()
            .into_iter()
            .filter(|(metric, _, _)| !lost.contains(&metric.as_str()))
            .map(|(metric, timestamp, value)| (metric, timestamp.nanos(), value))
            .collect();
        let want_flushed: Vec<(String, i64, f64)> = want["flushed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m[0].as_str().unwrap().to_owned(),
                    m[1].as_i64().unwrap(),
                    expected_value(&m[2]),
                )
            })
            .collect();
        assert_eq!(flushed.len(), want_flushed.len(), "{name}: {flushed:?}");
        for (got, want) in flushed.iter().zip(&want_flushed) {
            assert_eq!((&got.0, got.1), (&want.0, want.1), "{name}");
            assert_eq!(
                got.2.to_bits(),
                want.2.to_bits(),
                "{name}: {} {}",
                got.0,
                got.2
            );
        }
        // Gnocchi's own log lines, less those of metric creation at flush
        // time (the writer's job) and with asyncio's wrapping of an error
        // that escapes the datagram handler.
        let want_logged: Vec<String> = want["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .filter(|l| !l.starts_with("Unable to add measure"))
            .map(|l| {
                l.strip_prefix("datagram aborted: ValueError: ")
                    .unwrap_or(l)
                    .to_owned()
            })
            .collect();
        assert_eq!(logged, want_logged, "{name}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} cases");
}
