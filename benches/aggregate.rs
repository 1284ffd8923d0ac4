//! Aggregation throughput: every method over 100 000 one-second points
//! grouped by 60 s and by 1 s, and a whole batch merged into a metric under
//! the `high` and `medium` policies (no I/O).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use carbonara::carbonara::Points;
use carbonara::carbonara::aggregate::Grouped;
use carbonara::carbonara::update;
use carbonara::policy::{ArchivePolicy, BaseMethod};
use carbonara::time::{Span, Timestamp};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const S: i64 = 1_000_000_000;
const POINTS: usize = 100_000;

fn series() -> Points {
    (0..POINTS)
        .map(|i| {
            let t = Timestamp::from_nanos(1_704_067_200 * S + i as i64 * S);
            (
                t,
                50.0 + 20.0 * (i as f64 / 600.0).sin() + ((i * 7919) % 1000) as f64 / 200.0,
            )
        })
        .collect()
}

fn methods(c: &mut Criterion) {
    let points = series();
    let mut group = c.benchmark_group("aggregate");
    group.throughput(Throughput::Elements(POINTS as u64));
    for granularity in [60, 1] {
        group.bench_function(BenchmarkId::new("group", granularity), |b| {
            b.iter(|| {
                Grouped::by_granularity(
                    &points.timestamps,
                    &points.values,
                    Span::from_secs(granularity),
                )
            })
        });
        for method in [
            "mean", "sum", "min", "max", "std", "count", "median", "95pct", "first", "last",
        ] {
            let base: BaseMethod = method.parse().unwrap();
            group.bench_function(
                BenchmarkId::new(format!("{method}/g{granularity}"), POINTS),
                |b| {
                    b.iter_batched(
                        || {
                            Grouped::by_granularity(
                                &points.timestamps,
                                &points.values,
                                Span::from_secs(granularity),
                            )
                        },
                        |grouped| grouped.aggregate(base),
                        criterion::BatchSize::LargeInput,
                    )
                },
            );
        }
    }
    for policy in ArchivePolicy::defaults()
        .into_iter()
        .filter(|p| p.name == "high" || p.name == "medium")
    {
        let measures: Vec<(Timestamp, f64)> = points.iter().collect();
        group.bench_function(BenchmarkId::new("apply_batch", &policy.name), |b| {
            b.iter(|| update::apply_batch(&policy, None, measures.clone()).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, methods);
criterion_main!(benches);
