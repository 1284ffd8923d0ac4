//! Codec throughput: the bit-exact LZ4 encoder, bound series and split
//! encode/decode on realistic payloads (1-second gauge values).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use carbonara::carbonara::codec;
use carbonara::carbonara::lz4;
use carbonara::carbonara::{Points, SplitKey};
use carbonara::time::{Span, Timestamp};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const S: i64 = 1_000_000_000;

fn gauge(points: usize, step: Span) -> Points {
    let start = 1_704_067_200 * S;
    (0..points)
        .map(|i| {
            let t = Timestamp::from_nanos(start + i as i64 * step.nanos());
            let v = 50.0 + 20.0 * (i as f64 / 600.0).sin() + ((i * 7919) % 1000) as f64 / 200.0;
            (t, (v * 1e6).round() / 1e6)
        })
        .collect()
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    let split_points = gauge(3600, Span::from_secs(60));
    let key = SplitKey::of(split_points.first().unwrap(), Span::from_secs(60));
    let split_bytes = codec::encode_split(key, &split_points);
    group.throughput(Throughput::Elements(3600));
    group.bench_function("encode_split/3600", |b| {
        b.iter(|| codec::encode_split(key, &split_points))
    });
    group.bench_function("decode_split/3600", |b| {
        b.iter(|| codec::decode_split(key, &split_bytes).unwrap())
    });

    let bound = gauge(3600, Span::from_secs(1));
    let bound_bytes = codec::encode_bound(&bound).unwrap();
    group.bench_function("encode_bound/3600", |b| {
        b.iter(|| codec::encode_bound(&bound).unwrap())
    });
    group.bench_function("decode_bound/3600", |b| {
        b.iter(|| codec::decode_bound(&bound_bytes).unwrap())
    });

    for size in [1_000usize, 36_000, 160_000] {
        let payload: Vec<u8> = gauge(size / 10, Span::from_secs(1))
            .values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .chain(std::iter::repeat_n(1u8, size))
            .take(size)
            .collect();
        let compressed = lz4::compress(&payload);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("lz4_compress", size), &payload, |b, p| {
            b.iter(|| lz4::compress(p))
        });
        group.bench_with_input(
            BenchmarkId::new("lz4_decompress", size),
            &compressed,
            |b, p| b.iter(|| lz4::decompress(p).unwrap()),
        );
    }
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
