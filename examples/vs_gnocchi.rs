//! The carbonara side of `scripts/bench/vs-gnocchi.sh`: aggregates CSV batches
//! (made by `scripts/bench/synth_csv.py` from the same generator as the oracle's
//! `bench_gnocchi.py`) with one in-process aggregation pass after each
//! batch, then reads back every aggregate (every method × granularity of
//! every metric, as Gnocchi's read-back does) and prints one JSON line.
//! Like Gnocchi's figures, the pass time does not count writing the
//! measures into the sacks, and the read-back is one read, just after.
//! Beside the pass time: the time its syncs took (the floor durability
//! sets), and the archive objects and incoming files it read and wrote.
//!
//!   cargo run --release --example vs_gnocchi -- --policy medium --store DIR BATCH.csv…

use std::path::PathBuf;
use std::time::{Duration, Instant};

use carbonara::ingest::{self, csv};
use carbonara::policy::ArchivePolicy;
use carbonara::process::{self, ProcessOptions};
use carbonara::query::measures::read_aggregations;
use carbonara::store::txn::sync_statistics;
use carbonara::store::{Metric, MetricFilter, MetricStatus, Page, Store};
use carbonara::time::Timestamp;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut policy = String::from("medium");
    let mut store_dir: Option<PathBuf> = None;
    let mut batches = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--policy" => policy = args.next().expect("--policy NAME"),
            "--store" => store_dir = Some(args.next().expect("--store DIR").into()),
            other => batches.push(PathBuf::from(other)),
        }
    }
    let store_dir = store_dir.expect("--store DIR (a directory that does not exist yet)");
    let store = Store::init(&store_dir, carbonara::store::DEFAULT_SACKS).expect("init");
    let index = store.index().expect("index");
    for p in ArchivePolicy::defaults() {
        index.create_archive_policy(&p).expect("policy");
    }
    let options = csv::CsvOptions::new(
        csv::MetricSource::Column(csv::Column::Name("metric".into())),
        Timestamp::EPOCH,
    );
    let (mut process_time, mut points) = (Duration::ZERO, 0u64);
    let (mut syncs, mut sync_time) = (0, Duration::ZERO);
    let (mut metric_passes, mut objects) = (0, process::ObjectCounts::default());
    for path in &batches {
        let mut batch = ingest::MeasureBatch::default();
        let file = std::fs::File::open(path).expect("batch");
        csv::read(file, path, &options, &mut batch).expect("csv");
        for name in batch.measures.keys() {
            if index.find_metric(name).is_err() {
                index
                    .create_metric(&Metric {
                        id: uuid::Uuid::new_v4(),
                        name: Some(name.clone()),
                        unit: None,
                        archive_policy_name: policy.clone(),
                        creator: "bench".into(),
                        resource_id: None,
                        status: MetricStatus::Active,
                    })
                    .expect("metric");
            }
        }
        ingest::store_batch(&store, &index, &batch, Timestamp::EPOCH).expect("ingest");
        let (syncs_before, sync_time_before) = sync_statistics();
        let started = Instant::now();
        let report =
            process::run_pass(&store, &index, &ProcessOptions::default()).expect("process");
        process_time += started.elapsed();
        let (syncs_after, sync_time_after) = sync_statistics();
        syncs += syncs_after - syncs_before;
        sync_time += sync_time_after - sync_time_before;
        assert!(report.failures.is_empty());
        points += report.measures;
        metric_passes += report.metrics;
        objects.read += report.objects.read;
        objects.written += report.objects.written;
        objects.deleted += report.objects.deleted;
        objects.incoming_files += report.objects.incoming_files;
    }
    let (read_time, read_points) = read_back(&store, &index, &policy);
    println!(
        "{{\"engine\": \"carbonara\", \"policy\": \"{policy}\", \"batches\": {}, \"points\": {points}, \"process_s\": {:.4}, \"syncs\": {syncs}, \"sync_s\": {:.4}, \"metric_passes\": {metric_passes}, \"objects_read\": {}, \"objects_written\": {}, \"objects_deleted\": {}, \"incoming_files\": {}, \"process_points_per_s\": {:.0}, \"read_s\": {:.5}, \"read_aggregate_points\": {read_points}, \"read_aggregate_points_per_s\": {:.0}}}",
        batches.len(),
        process_time.as_secs_f64(),
        sync_time.as_secs_f64(),
        objects.read,
        objects.written,
        objects.deleted,
        objects.incoming_files,
        points as f64 / process_time.as_secs_f64(),
        read_time.as_secs_f64(),
        read_points as f64 / read_time.as_secs_f64()
    );
}

/// Decodes every aggregate of every metric (all methods, all
/// granularities, timespan-truncated as Gnocchi's reads are), one call per
/// metric like Gnocchi's read-back: the time and the number of points.
fn read_back(store: &Store, index: &carbonara::store::Index, policy: &str) -> (Duration, usize) {
    let policy = index.get_archive_policy(policy).expect("policy");
    let metrics = index
        .list_metrics(&MetricFilter::default(), &Page::default())
        .expect("metrics");
    let aggregations = policy.aggregations();
    let started = Instant::now();
    let mut points = 0;
    for metric in &metrics {
        let series = read_aggregations(store, metric.id, &aggregations, None, None).expect("read");
        points += series.iter().map(|s| s.len()).sum::<usize>();
    }
    (started.elapsed(), points)
}
