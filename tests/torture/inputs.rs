//! The inputs the campaigns write: 10 series of 5 000 measures, one a
//! second from 2024-01-01T00:00:00, in each format `ingest` reads.

use std::fmt::Write;
use std::path::Path;

use carbonara::ingest::prometheus::{TimeSeries, WriteRequest};

use crate::store::{POLICY, json, ok};

pub const SERIES: usize = 10;
pub const POINTS: usize = 5_000;
/// 2024-01-01T00:00:00, in seconds.
pub const START: i64 = 1_704_067_200;

fn value(series: usize, point: usize) -> f64 {
    ((point * 7 + series * 13) % 101) as f64
}

fn measures() -> impl Iterator<Item = (usize, i64, f64)> {
    (0..SERIES).flat_map(|series| {
        (0..POINTS).map(move |point| (series, START + point as i64, value(series, point)))
    })
}

fn write(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_owned()
}

/// An ingest command, its input written in `dir` (metrics it needs
/// created in `store`).
pub type Prepare = fn(store: &Path, dir: &Path) -> Vec<String>;

pub fn csv(_: &Path, dir: &Path) -> Vec<String> {
    let mut text = String::from("metric,timestamp,value\n");
    for (series, second, value) in measures() {
        writeln!(text, "c{series},{second},{value}").unwrap();
    }
    let file = write(dir, "in.csv", text);
    [
        "ingest",
        "csv",
        "--metric-column",
        "metric",
        "--create-metrics",
        &file,
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn influx(_: &Path, dir: &Path) -> Vec<String> {
    let mut text = String::new();
    for (series, second, value) in measures() {
        writeln!(
            text,
            "torture,host=h{series} value={value} {second}000000000"
        )
        .unwrap();
    }
    let file = write(dir, "in.lp", text);
    ["ingest", "influx", "--db", "torture", &file]
        .map(str::to_owned)
        .to_vec()
}

pub fn batch(store: &Path, dir: &Path) -> Vec<String> {
    let ids: Vec<String> = (0..SERIES)
        .map(|series| {
            let name = format!("b{series}");
            json(store, &["metric", "create", &name, "-a", POLICY])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let mut document = serde_json::Map::new();
    for (series, id) in ids.iter().enumerate() {
        let measures: Vec<serde_json::Value> = (0..POINTS)
            .map(|point| {
                serde_json::json!({
                    "timestamp": START + point as i64,
                    "value": value(series, point),
                })
            })
            .collect();
        document.insert(id.clone(), measures.into());
    }
    let file = write(dir, "in.json", serde_json::to_vec(&document).unwrap());
    ["ingest", "batch", &file].map(str::to_owned).to_vec()
}

/// The id of the Ceilometer volume of series `series`.
pub fn ceilometer_resource(series: usize) -> String {
    format!("00000000-0000-4000-8000-{series:012}")
}

pub fn ceilometer(_: &Path, dir: &Path) -> Vec<String> {
    let mut text = String::new();
    for (series, second, value) in measures() {
        let timestamp = chrono::DateTime::from_timestamp(second, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S");
        writeln!(
            text,
            r#"{{"name": "volume.size", "type": "gauge", "unit": "GB", "volume": {value}, "user_id": "U", "project_id": "P", "resource_id": "{}", "timestamp": "{timestamp}", "resource_metadata": {{"display_name": "v{series}"}}, "source": "openstack"}}"#,
            ceilometer_resource(series)
        )
        .unwrap();
    }
    let file = write(dir, "in.jsonl", text);
    ["ingest", "ceilometer", "--archive-policy", POLICY, &file]
        .map(str::to_owned)
        .to_vec()
}

/// statsd: a file is one flush interval, so each of its 20 gauges is one
/// measure at `--at`, the last of its 2 500 lines.
pub fn statsd(_: &Path, dir: &Path) -> Vec<String> {
    let mut text = String::new();
    for (series, _, value) in measures() {
        writeln!(text, "g{}:{value}|g", series * 2 + (value as usize) % 2).unwrap();
    }
    let file = write(dir, "in.statsd", text);
    [
        "ingest",
        "statsd",
        "--resource-id",
        "statsd",
        "--archive-policy-name",
        POLICY,
        "--at",
        "2024-01-01T01:00:00",
        &file,
    ]
    .map(str::to_owned)
    .to_vec()
}

pub fn prometheus(_: &Path, dir: &Path) -> Vec<String> {
    let request = WriteRequest {
        timeseries: (0..SERIES)
            .map(|series| {
                let instance = format!("node{series}:9100");
                let samples: Vec<(f64, i64)> = (0..POINTS)
                    .map(|point| (value(series, point), (START + point as i64) * 1000))
                    .collect();
                TimeSeries::new(
                    &[("__name__", "up"), ("job", "node"), ("instance", &instance)],
                    &samples,
                )
            })
            .collect(),
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&prost::Message::encode_to_vec(&request))
        .unwrap();
    let file = write(dir, "in.snappy", body);
    ["ingest", "prometheus", &file].map(str::to_owned).to_vec()
}

/// The measures of [`csv`], queued in `store` and not processed.
pub fn queued(store: &Path, dir: &Path) {
    let args = csv(store, dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(store, &args);
}

/// The committed test data directory.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `store` replaced by the committed store of format 1 (its metrics'
/// policy has `count`).
pub fn format_1_store(store: &Path) {
    std::fs::remove_dir_all(store).unwrap();
    crate::copy_dir::copy_dir(&fixture("store-format-1/store"), store);
}

/// A genuine Gnocchi file store with measures still in its sacks, copied
/// into `dir`, and its policy made in `store`: the command that adopts it.
pub fn gnocchi_store(store: &Path, dir: &Path) -> Vec<String> {
    let gnocchi = dir.join("gnocchi");
    crate::copy_dir::copy_dir(&fixture("gnocchi-backlog/gnocchi"), &gnocchi);
    let mut policy = vec![
        "archive-policy",
        "create",
        "two-levels",
        "-d",
        "granularity:1m,timespan:1d",
        "-d",
        "granularity:1h,timespan:30d",
        "-b",
        "1",
    ];
    for method in ["count", "max", "mean", "rate:sum"] {
        policy.extend(["-m", method]);
    }
    ok(store, &policy);
    [
        "import-gnocchi",
        "-a",
        "two-levels",
        gnocchi.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `process` of the measures of [`csv`], queued.
pub fn process(store: &Path, dir: &Path) -> Vec<String> {
    queued(store, dir);
    vec!["process".to_owned()]
}

/// `sacks --set 32 --process` of the measures of [`csv`], queued.
pub fn sacks_set(store: &Path, dir: &Path) -> Vec<String> {
    queued(store, dir);
    ["sacks", "--set", "32", "--process"]
        .map(str::to_owned)
        .to_vec()
}
