//! Top-N over many metrics: 10 000 metrics × one day at one minute (1 440
//! mean points each, one split a metric), ingested and aggregated once
//! into a store in the system's temporary directory, then the top 10 of
//! all of them by their maximum read back through `query::top`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use carbonara::ingest::{self, MeasureBatch};
use carbonara::policy::{AggregationMethod, ArchivePolicy, Definition};
use carbonara::process::{self, ProcessOptions};
use carbonara::query::top::{self, Lacking, Reduce, TopQuery};
use carbonara::store::{Index, Metric, MetricStatus, Store};
use carbonara::time::{Span, Timestamp};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const METRICS: usize = 10_000;
const MINUTES: usize = 1_440;
/// Metrics ingested and aggregated at a time, to bound the memory used.
const CHUNK: usize = 1_000;
const DAY: i64 = 1_704_067_200;

/// The store, its metrics under a policy of 1 min × 1 day, mean only.
fn store_of_a_day() -> (tempfile::TempDir, Store, Vec<Metric>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(&dir.path().join("store"), 128).unwrap();
    let index = store.index().unwrap();
    let minute = Definition::new(Some(Span::from_secs(60)), Some(MINUTES as i64), None).unwrap();
    let mean: AggregationMethod = "mean".parse().unwrap();
    let policy = ArchivePolicy::new("day", 0, vec![minute], vec![mean]).unwrap();
    index.create_archive_policy(&policy).unwrap();
    let metrics: Vec<Metric> = (0..METRICS)
        .map(|m| Metric {
            id: uuid::Uuid::new_v4(),
            name: Some(format!("m{m}")),
            unit: None,
            archive_policy_name: "day".to_owned(),
            creator: "bench".into(),
            resource_id: None,
            status: MetricStatus::Active,
        })
        .collect();
    index
        .atomically(|index| {
            for metric in &metrics {
                index.create_metric(metric)?;
            }
            Ok(())
        })
        .unwrap();
    for chunk in metrics.chunks(CHUNK) {
        ingest_day(&store, &index, chunk);
    }
    (dir, store, metrics)
}

/// One measure a minute through the day for each metric, aggregated.
fn ingest_day(store: &Store, index: &Index, metrics: &[Metric]) {
    let mut batch = MeasureBatch::default();
    for (m, metric) in metrics.iter().enumerate() {
        let name = metric.name.as_deref().unwrap();
        for i in 0..MINUTES {
            let t = Timestamp::from_nanos((DAY + 60 * i as i64) * 1_000_000_000);
            batch.add(
                name,
                t,
                50.0 + 20.0 * (i as f64 / 90.0).sin() + (m * i % 17) as f64,
            );
        }
    }
    ingest::store_batch(store, index, &batch, Timestamp::EPOCH).unwrap();
    process::run_pass(store, index, &ProcessOptions::default()).unwrap();
}

fn top_ten(c: &mut Criterion) {
    let (_dir, store, metrics) = store_of_a_day();
    let index = store.index().unwrap();
    let query = TopQuery {
        aggregation: "mean".parse().unwrap(),
        granularity: None,
        start: None,
        stop: None,
        reduce: Reduce::Max,
        limit: 10,
        ascending: false,
    };
    let mut group = c.benchmark_group("top");
    group.sample_size(10);
    group.throughput(Throughput::Elements((METRICS * MINUTES) as u64));
    group.bench_function("10k_metrics_x_1440_points_top_10", |b| {
        b.iter(|| {
            let candidates =
                top::candidates(&index, metrics.iter().map(|m| (m.clone(), None))).unwrap();
            let ranking = top::rank(&store, &candidates, &query, Lacking::Refuse).unwrap();
            assert_eq!(ranking.ranked.len(), 10);
            ranking
        })
    });
    group.finish();
}

criterion_group!(benches, top_ten);
criterion_main!(benches);
