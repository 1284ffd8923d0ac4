//! The files of a store, which a copied or damaged store may hold in any
//! state: carbonara v3 splits (their key from the file name), bound
//! series (`none_v3`), LZ4 blocks and incoming measure files.

use super::name_and_bytes;
use crate::carbonara::{SplitKey, codec, lz4};
use crate::store::incoming::{SackName, written_at};

/// A split file: its name on the first line (`1388448000.0_60.0_v3`),
/// its bytes after it.
pub fn split(data: &[u8]) {
    let Some((name, bytes)) = name_and_bytes(data) else {
        return;
    };
    let Some(key) = SplitKey::parse_file_name(name) else {
        return;
    };
    let _ = codec::split_points_bound(bytes);
    let _ = codec::decode_split(key, bytes);
    let _ = codec::decode_splits(&[(key, bytes), (key.next(), bytes)]);
}

/// A bound series file. One that decodes and encodes again must decode
/// to the same points.
pub fn bound_series(data: &[u8]) {
    let Ok(points) = codec::decode_bound(data) else {
        return;
    };
    if let Ok(encoded) = codec::encode_bound(&points) {
        let again = codec::decode_bound(&encoded).expect("an encoded series decodes");
        assert!(
            again.bitwise_eq(&points),
            "decode ∘ encode changed the series"
        );
    }
}

/// An LZ4 block in python-lz4's framing; the bytes are also compressed,
/// and must decompress to themselves.
pub fn lz4(data: &[u8]) {
    if let Ok(bytes) = lz4::decompress(data) {
        assert_eq!(
            lz4::decompress(&lz4::compress(&bytes)).as_deref(),
            Ok(&bytes[..])
        );
    }
    assert_eq!(lz4::decompress(&lz4::compress(data)).as_deref(), Ok(data));
}

/// An incoming measure file: its path in the sacks on the first line
/// (`incoming128-5/<metric>/<uuid>_20261124_17:13:42`), its bytes after
/// it. Measures that decode must encode to the same bytes.
pub fn incoming(data: &[u8]) {
    let Some((name, bytes)) = name_and_bytes(data) else {
        return;
    };
    for part in name.split('/') {
        let _ = (SackName::parse(part), written_at(part));
    }
    let mut measures = Vec::new();
    if codec::decode_measures(bytes, &mut measures).is_ok() {
        assert_eq!(codec::encode_measures(&measures), bytes);
    }
}
