//! Whole aggregation passes through the store: 10 metrics × 100 000
//! one-second points in one batch, and the same metrics receiving
//! 1 000-point batches, under the `medium` and `high` policies. The store
//! lives in the system's temporary directory.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use carbonara::ingest::{self, MeasureBatch};
use carbonara::policy::ArchivePolicy;
use carbonara::process::{self, ProcessOptions};
use carbonara::store::{Metric, MetricStatus, Store};
use carbonara::time::Timestamp;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const S: i64 = 1_000_000_000;
const METRICS: usize = 10;

fn batch(first_second: usize, seconds: usize) -> MeasureBatch {
    let mut batch = MeasureBatch::default();
    for m in 0..METRICS {
        for i in first_second..first_second + seconds {
            let t = Timestamp::from_nanos((1_704_067_200 + i as i64) * S);
            batch.add(
                &format!("m{m}"),
                t,
                50.0 + 20.0 * (i as f64 / 600.0).sin() + (m * i % 17) as f64,
            );
        }
    }
    batch
}

fn new_store(policy: &str) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::init(&dir.path().join("store"), 128).unwrap();
    let index = store.index().unwrap();
    for p in ArchivePolicy::defaults() {
        index.create_archive_policy(&p).unwrap();
    }
    for m in 0..METRICS {
        index
            .create_metric(&Metric {
                id: uuid::Uuid::new_v4(),
                name: Some(format!("m{m}")),
                unit: None,
                archive_policy_name: policy.to_owned(),
                creator: "bench".into(),
                resource_id: None,
                status: MetricStatus::Active,
            })
            .unwrap();
    }
    (dir, store)
}

fn passes(c: &mut Criterion) {
    let mut group = c.benchmark_group("process");
    group.sample_size(10);
    for policy in ["medium", "high"] {
        let big = batch(0, 100_000);
        group.throughput(Throughput::Elements((METRICS * 100_000) as u64));
        group.bench_function(BenchmarkId::new("one_batch_10x100k", policy), |b| {
            b.iter_batched(
                || {
                    let (dir, store) = new_store(policy);
                    ingest::store_batch(&store, &store.index().unwrap(), &big, Timestamp::EPOCH)
                        .unwrap();
                    (dir, store)
                },
                |(dir, store)| {
                    process::run_pass(&store, &store.index().unwrap(), &ProcessOptions::default())
                        .unwrap();
                    dir
                },
                criterion::BatchSize::PerIteration,
            )
        });
        let (_dir, store) = new_store(policy);
        let index = store.index().unwrap();
        let mut next = 0;
        group.throughput(Throughput::Elements((METRICS * 1_000) as u64));
        group.bench_function(BenchmarkId::new("small_batch_10x1k", policy), |b| {
            b.iter_batched(
                || {
                    ingest::store_batch(&store, &index, &batch(next, 1_000), Timestamp::EPOCH)
                        .unwrap();
                    next += 1_000;
                },
                |()| process::run_pass(&store, &index, &ProcessOptions::default()).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, passes);
criterion_main!(benches);
