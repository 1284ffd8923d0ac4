//! Gnocchi's carbonara v3 bytes: the bound (raw) series file `none_v3` and
//! aggregated split files, compressed (`'c'`) and padded. All integers and
//! floats are little-endian; "LZ4(…)" is python-lz4's framing (`lz4.rs`).
//!
//! Bound series, `none_v3` = LZ4(payload), payload of 16·N bytes:
//!
//! | offset   | size  | field                                              |
//! |----------|-------|----------------------------------------------------|
//! | 0        | 8     | T\[0\]: first timestamp, u64 ns since the epoch     |
//! | 8·i      | 8     | T\[i\], 1 ≤ i < N: delta to T\[i−1\] in ns, u64 (≥ 1) |
//! | 8·N + 8·i| 8     | V\[i\]: value, f64                                 |
//!
//! Compressed split = `'c'` (0x63) then LZ4(payload), payload of 10·N bytes:
//!
//! | offset    | size | field                                              |
//! |-----------|------|----------------------------------------------------|
//! | 0         | 1    | 0x63 (outside the LZ4 payload)                     |
//! | 2·i       | 2    | D\[i\]: u16, D\[0\] = (t0 − key)/g, D\[i\] = (t_i − t_{i−1})/g |
//! | 2·N + 8·i | 8    | V\[i\]: value, f64                                 |
//!
//! Padded split (read only; any split whose first byte is not 0x63): 9-byte
//! slots, slot i = timestamp key + i·g: a flag byte (0 = hole) then an f64.
//!
//! A split's key and granularity are not in its bytes but in its file name
//! (`split.rs`). Decoders reject truncated or corrupt input with an error,
//! never a panic (docs/format/carbonara-v3.md).

use super::lz4;
use super::points::Points;
use super::split::SplitKey;
use crate::time::{Span, Timestamp};

/// Marks a compressed split (`'c'`).
pub const COMPRESSED_MARKER: u8 = b'c';
const TIMESTAMP_SIZE: usize = 8;
const VALUE_SIZE: usize = 8;
const BOUND_RECORD_SIZE: usize = TIMESTAMP_SIZE + VALUE_SIZE;
const SPLIT_DELTA_SIZE: usize = 2;
const SPLIT_RECORD_SIZE: usize = SPLIT_DELTA_SIZE + VALUE_SIZE;
const PADDED_SLOT_SIZE: usize = 1 + VALUE_SIZE;
/// Size of one incoming measure record: i64 ns timestamp, f64 value.
pub const MEASURE_RECORD_SIZE: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("truncated data: {needed} bytes needed, {found} found")]
    Truncated { needed: usize, found: usize },
    #[error("invalid LZ4 data: {0}")]
    Lz4(String),
    #[error("invalid data: {length} bytes is not a whole number of {record}-byte records")]
    RaggedRecords { length: usize, record: usize },
    #[error("invalid data: {timestamps} timestamps but {values} values")]
    CountMismatch { timestamps: usize, values: usize },
    #[error("invalid data: timestamps are not strictly increasing at point {0}")]
    NotIncreasing(usize),
    #[error("a bound series needs at least one point")]
    EmptyBoundSeries,
    #[error(
        "invalid data: timestamps beyond the years 1677 to 2262 (64-bit nanoseconds) from key {key} and granularity {granularity}"
    )]
    OutOfRange { key: Timestamp, granularity: Span },
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn read_f64(bytes: &[u8], at: usize) -> f64 {
    f64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Encodes a bound series (`none_v3`). Timestamps must be strictly
/// increasing and not before the epoch.
pub fn encode_bound(points: &Points) -> Result<Vec<u8>, Error> {
    if points.is_empty() {
        return Err(Error::EmptyBoundSeries);
    }
    let n = points.len();
    let mut payload = Vec::with_capacity(n * BOUND_RECORD_SIZE);
    let mut previous = 0i64;
    for (i, t) in points.timestamps.iter().enumerate() {
        let delta = t.nanos().wrapping_sub(previous);
        if i > 0 && delta <= 0 {
            return Err(Error::NotIncreasing(i));
        }
        payload.extend_from_slice(&(delta as u64).to_le_bytes());
        previous = t.nanos();
    }
    for v in &points.values {
        payload.extend_from_slice(&v.to_le_bytes());
    }
    Ok(lz4::compress(&payload))
}

/// Decodes a bound series (`none_v3`).
pub fn decode_bound(bytes: &[u8]) -> Result<Points, Error> {
    let payload = lz4::decompress(bytes)?;
    let n = payload.len() / BOUND_RECORD_SIZE;
    let value_bytes = payload.len() - n * TIMESTAMP_SIZE;
    if !value_bytes.is_multiple_of(VALUE_SIZE) {
        return Err(Error::RaggedRecords {
            length: payload.len(),
            record: BOUND_RECORD_SIZE,
        });
    }
    if value_bytes / VALUE_SIZE != n {
        return Err(Error::CountMismatch {
            timestamps: n,
            values: value_bytes / VALUE_SIZE,
        });
    }
    let mut timestamps = Vec::with_capacity(n);
    let mut current = 0u64;
    for i in 0..n {
        current = current.wrapping_add(read_u64(&payload, i * TIMESTAMP_SIZE));
        timestamps.push(Timestamp::from_nanos(current as i64));
    }
    let values = (0..n)
        .map(|i| read_f64(&payload, n * TIMESTAMP_SIZE + i * VALUE_SIZE))
        .collect();
    Ok(Points { timestamps, values })
}

/// Encodes an aggregated split in the compressed `'c'` format, the only one
/// Gnocchi's file driver writes. Each step is the f64 quotient of the ns
/// difference by the granularity, truncated into u16, as Gnocchi does.
pub fn encode_split(key: SplitKey, points: &Points) -> Vec<u8> {
    let n = points.len();
    let granularity = key.granularity.nanos() as f64;
    let mut payload = Vec::with_capacity(n * SPLIT_RECORD_SIZE);
    let mut previous = key.start;
    for &t in &points.timestamps {
        let steps = ((t - previous).nanos() as f64 / granularity) as u16;
        payload.extend_from_slice(&steps.to_le_bytes());
        previous = t;
    }
    for v in &points.values {
        payload.extend_from_slice(&v.to_le_bytes());
    }
    let mut out = Vec::with_capacity(1 + 4 + payload.len());
    out.push(COMPRESSED_MARKER);
    out.extend_from_slice(&lz4::compress(&payload));
    out
}

/// The two encodings of a split, told apart by the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitFormat {
    /// `'c'`: u16 steps and f64 values, LZ4 (the file driver writes only this).
    Compressed,
    /// 9-byte slots of flag and value (Ceph's offset writes; read only).
    Padded,
}

/// The encoding of a split's bytes; `None` for an empty file.
pub fn split_format(bytes: &[u8]) -> Option<SplitFormat> {
    match bytes.first()? {
        &COMPRESSED_MARKER => Some(SplitFormat::Compressed),
        _ => Some(SplitFormat::Padded),
    }
}

/// Decodes a split file of either format; its key comes from the file name.
/// Empty bytes are an empty split.
pub fn decode_split(key: SplitKey, bytes: &[u8]) -> Result<Points, Error> {
    let mut points = Points::default();
    decode_split_into(key, bytes, &mut Vec::new(), &mut points)?;
    Ok(points)
}

/// At least the number of points a split holds, read from its header
/// without decoding (to size the memory of a read of many splits). A
/// header claiming more than its block can decode to is bounded by the
/// block: a corrupt split must not make its reader allocate what it says.
pub fn split_points_bound(bytes: &[u8]) -> usize {
    match split_format(bytes) {
        Some(SplitFormat::Compressed) => {
            bytes[1..]
                .split_first_chunk::<4>()
                .map_or(0, |(length, block)| {
                    let claimed = u32::from_le_bytes(*length) as usize;
                    claimed.min(lz4::max_decompressed_len(block.len())) / SPLIT_RECORD_SIZE
                })
        }
        Some(SplitFormat::Padded) => bytes.len() / PADDED_SLOT_SIZE,
        None => 0,
    }
}

/// Stored splits of one method read into one series: consecutive splits
/// are concatenated (merged when they overlap, the later one winning).
/// Memory is sized from the splits' headers first, so a large read copies
/// nothing twice. Every storage driver reads splits through this, from
/// files or objects alike. On error, the key of the split that failed.
pub fn decode_splits<B: AsRef<[u8]>>(
    splits: &[(SplitKey, B)],
) -> Result<Points, (SplitKey, Error)> {
    let capacity = splits
        .iter()
        .map(|(_, bytes)| split_points_bound(bytes.as_ref()))
        .sum();
    let mut points = Points::with_capacity(capacity);
    let mut scratch = Vec::new();
    for (key, bytes) in splits {
        let before = points.len();
        decode_split_into(*key, bytes.as_ref(), &mut scratch, &mut points)
            .map_err(|error| (*key, error))?;
        points.merge_tail(before);
    }
    Ok(points)
}

/// Decodes a split, appending its points to `out` (unchanged on error);
/// `scratch` holds the decompressed bytes, so a reader of many splits
/// allocates it once.
pub fn decode_split_into(
    key: SplitKey,
    bytes: &[u8],
    scratch: &mut Vec<u8>,
    out: &mut Points,
) -> Result<(), Error> {
    match split_format(bytes) {
        None => Ok(()),
        Some(SplitFormat::Compressed) => decode_compressed_split(key, &bytes[1..], scratch, out),
        Some(SplitFormat::Padded) => decode_padded_split(key, bytes, out),
    }
}

fn decode_compressed_split(
    key: SplitKey,
    framed: &[u8],
    payload: &mut Vec<u8>,
    out: &mut Points,
) -> Result<(), Error> {
    lz4::decompress_into(framed, payload)?;
    let n = payload.len() / SPLIT_RECORD_SIZE;
    let value_bytes = payload.len() - n * SPLIT_DELTA_SIZE;
    if !value_bytes.is_multiple_of(VALUE_SIZE) || value_bytes / VALUE_SIZE != n {
        return Err(Error::RaggedRecords {
            length: payload.len(),
            record: SPLIT_RECORD_SIZE,
        });
    }
    let granularity = key.granularity.nanos();
    let (deltas, values) = payload.split_at(n * SPLIT_DELTA_SIZE);
    let steps: i64 = deltas
        .chunks_exact(SPLIT_DELTA_SIZE)
        .map(|d| i64::from(u16::from_le_bytes([d[0], d[1]])))
        .sum();
    // The last timestamp is the furthest from the key: when it fits, every
    // one before it does.
    check_range(key, steps)?;
    let mut steps_total: i64 = 0;
    out.timestamps
        .extend(deltas.chunks_exact(SPLIT_DELTA_SIZE).map(|d| {
            steps_total += i64::from(u16::from_le_bytes([d[0], d[1]]));
            Timestamp::from_nanos(key.start.nanos() + granularity * steps_total)
        }));
    out.values
        .extend(values.chunks_exact(VALUE_SIZE).map(|v| read_f64(v, 0)));
    Ok(())
}

fn decode_padded_split(key: SplitKey, bytes: &[u8], out: &mut Points) -> Result<(), Error> {
    if !bytes.len().is_multiple_of(PADDED_SLOT_SIZE) {
        return Err(Error::RaggedRecords {
            length: bytes.len(),
            record: PADDED_SLOT_SIZE,
        });
    }
    check_range(
        key,
        (bytes.len() / PADDED_SLOT_SIZE).saturating_sub(1) as i64,
    )?;
    for (i, slot) in bytes.chunks_exact(PADDED_SLOT_SIZE).enumerate() {
        if slot[0] != 0 {
            out.push(
                key.start + Span::from_nanos(key.granularity.nanos() * i as i64),
                read_f64(slot, 1),
            );
        }
    }
    Ok(())
}

/// Refuses a split whose timestamps, up to `steps` granularities after
/// its key, leave the range of i64 nanoseconds: its key and granularity
/// come from a file name, which may say anything.
fn check_range(key: SplitKey, steps: i64) -> Result<(), Error> {
    key.granularity
        .nanos()
        .checked_mul(steps)
        .and_then(|offset| key.start.nanos().checked_add(offset))
        .map(drop)
        .ok_or(Error::OutOfRange {
            key: key.start,
            granularity: key.granularity,
        })
}

/// Encodes measures as an incoming file: 16-byte records, no header.
pub fn encode_measures(measures: &[(Timestamp, f64)]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_measures_into(measures, &mut out);
    out
}

/// `encode_measures`, appending to `out`.
pub fn encode_measures_into(measures: &[(Timestamp, f64)], out: &mut Vec<u8>) {
    out.reserve(measures.len() * MEASURE_RECORD_SIZE);
    for (t, v) in measures {
        out.extend_from_slice(&t.nanos().to_le_bytes());
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Decodes an incoming file, appending to `into`.
pub fn decode_measures(bytes: &[u8], into: &mut Vec<(Timestamp, f64)>) -> Result<(), Error> {
    if !bytes.len().is_multiple_of(MEASURE_RECORD_SIZE) {
        return Err(Error::RaggedRecords {
            length: bytes.len(),
            record: MEASURE_RECORD_SIZE,
        });
    }
    into.reserve(bytes.len() / MEASURE_RECORD_SIZE);
    for record in bytes.chunks_exact(MEASURE_RECORD_SIZE) {
        let t = i64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
        into.push((Timestamp::from_nanos(t), read_f64(record, 8)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = 1_000_000_000;

    fn hex(text: &str) -> Vec<u8> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..clean.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).unwrap())
            .collect()
    }

    fn points(pairs: &[(i64, f64)]) -> Points {
        Points {
            timestamps: pairs.iter().map(|p| Timestamp::from_nanos(p.0)).collect(),
            values: pairs.iter().map(|p| p.1).collect(),
        }
    }

    fn minute_key(start_secs: i64) -> SplitKey {
        SplitKey::new(Timestamp::from_nanos(start_secs * S), Span::from_secs(60))
    }

    #[test]
    fn bound_example_a() {
        let base = 1_388_577_600 * S;
        let series = points(&[(base, 3.0), (base + 4 * S, 5.0), (base + 9 * S, 6.0)]);
        let bytes = encode_bound(&series).unwrap();
        assert_eq!(
            bytes,
            hex(
                "30000000 f1060080105ff837451300286bee0000000000f2052a010900620000000008400800a014400000000000001840"
            )
        );
        assert!(decode_bound(&bytes).unwrap().bitwise_eq(&series));
    }

    #[test]
    fn bound_example_e_single_point() {
        let bytes = hex("10000000f0010088e6472238451300000000000011c0");
        let series = decode_bound(&bytes).unwrap();
        assert!(series.bitwise_eq(&points(&[(1_388_577_780 * S, -4.25)])));
        assert_eq!(encode_bound(&series).unwrap(), bytes);
    }

    #[test]
    fn compressed_split_example_b() {
        let key = minute_key(1_388_448_000);
        let base = 1_388_577_600 * S;
        let series = points(&[(base, 1.5), (base + 60 * S, 2.0), (base + 180 * S, -4.25)]);
        let bytes = encode_split(key, &series);
        assert_eq!(
            bytes,
            hex("63 1e000000 62700801000200010022f83f0800a0004000000000000011c0")
        );
        assert!(decode_split(key, &bytes).unwrap().bitwise_eq(&series));
    }

    #[test]
    fn padded_split_example_c() {
        let key = SplitKey::new(
            Timestamp::from_nanos(1_388_577_600 * S),
            Span::from_secs(60),
        );
        let bytes = hex(
            "01 000000000000f83f  01 0000000000000040  00 0000000000000000  01 00000000000011c0",
        );
        let base = 1_388_577_600 * S;
        let want = points(&[(base, 1.5), (base + 60 * S, 2.0), (base + 180 * S, -4.25)]);
        assert!(decode_split(key, &bytes).unwrap().bitwise_eq(&want));
        assert!(matches!(
            decode_split(key, b"oh really?"),
            Err(Error::RaggedRecords { .. })
        ));
    }

    #[test]
    fn a_split_named_beyond_2262_is_an_error() {
        // A key near the end of i64 nanoseconds: a few steps leave it.
        let key = SplitKey::parse_file_name("9223372036.0_60.0_v3").unwrap();
        let compressed = encode_split(minute_key(0), &points(&[(0, 1.0), (60 * S, 2.0)]));
        let padded = hex("01 000000000000f83f  01 0000000000000040");
        for bytes in [&compressed[..], &padded[..]] {
            assert!(matches!(
                decode_split(key, bytes),
                Err(Error::OutOfRange { .. })
            ));
        }
    }

    #[test]
    fn corrupt_inputs_are_errors() {
        let key = minute_key(0);
        assert!(decode_split(key, b"").unwrap().is_empty());
        assert!(matches!(
            decode_split(key, b"c"),
            Err(Error::Truncated { .. })
        ));
        assert!(matches!(decode_bound(b""), Err(Error::Truncated { .. })));
        assert_eq!(
            encode_bound(&Points::default()),
            Err(Error::EmptyBoundSeries)
        );
        // 24 bytes = one timestamp + two values: a count mismatch.
        let framed = lz4::compress(&[0u8; 24]);
        assert!(matches!(
            decode_bound(&framed),
            Err(Error::CountMismatch { .. })
        ));
        let framed = lz4::compress(&[0u8; 20]);
        assert!(matches!(
            decode_bound(&framed),
            Err(Error::RaggedRecords { .. })
        ));
    }

    #[test]
    fn a_corrupt_header_bounds_no_allocation() {
        // Claims 4 GiB from an empty block: at most one block's worth.
        let split = [COMPRESSED_MARKER, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(split_points_bound(&split), 255 / SPLIT_RECORD_SIZE);
        assert!(decode_split(minute_key(0), &split).is_err());
        let mut long = vec![COMPRESSED_MARKER, 0xff, 0xff, 0xff, 0xff];
        long.extend([0u8; 100]);
        assert_eq!(
            split_points_bound(&long),
            lz4::max_decompressed_len(100) / SPLIT_RECORD_SIZE
        );
        // An honest header is taken as it is.
        let key = minute_key(0);
        let honest = encode_split(key, &points(&[(0, 1.0), (60, 2.0)]));
        assert_eq!(split_points_bound(&honest), 2);
    }

    #[test]
    fn measure_records_example_f() {
        let base = 1_388_577_600 * S;
        let measures = [
            (Timestamp::from_nanos(base), 42.0),
            (Timestamp::from_nanos(base + 1_500_000_000), -1.25),
        ];
        let bytes = encode_measures(&measures);
        assert_eq!(
            bytes,
            hex("0080105ff8374513 0000000000004540 00af78b8f8374513 000000000000f4bf")
        );
        let mut back = Vec::new();
        decode_measures(&bytes, &mut back).unwrap();
        assert_eq!(back, measures);
        assert!(decode_measures(&bytes[..17], &mut back).is_err());
    }

    fn arbitrary_series() -> impl Strategy<Value = Points> {
        (
            0i64..(4_000_000_000 * S),
            prop::collection::vec((1i64..10_000 * S, any::<f64>()), 1..300),
        )
            .prop_map(|(start, steps)| {
                let mut t = start;
                let mut series = Points::default();
                for (step, value) in steps {
                    t += step;
                    series.timestamps.push(Timestamp::from_nanos(t));
                    series.values.push(value);
                }
                series
            })
    }

    fn arbitrary_split() -> impl Strategy<Value = (SplitKey, Points)> {
        (
            1i64..100_000,
            0i64..4_000_000_000,
            prop::collection::btree_set(0i64..3600, 1..200),
            any::<u64>(),
        )
            .prop_map(|(granularity_ms, around_secs, offsets, seed)| {
                let granularity = Span::from_nanos(granularity_ms * 1_000_000);
                let key = SplitKey::of(Timestamp::from_nanos(around_secs * S), granularity);
                let start = key.start;
                let mut series = Points::default();
                for (i, offset) in offsets.into_iter().enumerate() {
                    series
                        .timestamps
                        .push(start + Span::from_nanos(offset * granularity.nanos()));
                    series
                        .values
                        .push(f64::from_bits(seed.rotate_left(i as u32)));
                }
                (key, series)
            })
    }

    proptest! {
        #[test]
        fn bound_round_trips(series in arbitrary_series()) {
            let bytes = encode_bound(&series).unwrap();
            prop_assert!(decode_bound(&bytes).unwrap().bitwise_eq(&series));
        }

        #[test]
        fn split_round_trips((key, series) in arbitrary_split()) {
            let bytes = encode_split(key, &series);
            prop_assert!(decode_split(key, &bytes).unwrap().bitwise_eq(&series));
        }

        #[test]
        fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_bound(&bytes);
            let _ = decode_split(minute_key(0), &bytes);
            let mut framed = vec![b'c'];
            framed.extend_from_slice(&bytes);
            let _ = decode_split(minute_key(0), &framed);
            let _ = decode_measures(&bytes, &mut Vec::new());
        }
    }
}
