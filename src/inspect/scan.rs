//! Reads one archive or measure file (or decodes an object fetched from a
//! remote driver) with the codec, telling how it is encoded. The one place
//! inspection reads file contents.

use std::fs;

use super::layout::{ArchiveFile, FileKind};
use crate::carbonara::codec::{self, SplitFormat};
use crate::carbonara::{Points, SplitKey};
use crate::store::{self, io_error};
use crate::time::Timestamp;

/// How a file's points are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// A bound series: delta-encoded, LZ4.
    Lz4,
    /// A `'c'` split: u16 steps and values, LZ4.
    Compressed,
    /// A padded split: 9-byte slots.
    Padded,
    /// An empty split file.
    Empty,
    /// A measure file: plain 16-byte records.
    Records,
}

impl Encoding {
    /// `lz4`, `c`, `padded`, `empty` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Lz4 => "lz4",
            Encoding::Compressed => "c",
            Encoding::Padded => "padded",
            Encoding::Empty => "empty",
            Encoding::Records => "none",
        }
    }
}

/// A file's contents, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// Size of the file.
    pub bytes: u64,
    pub encoding: Encoding,
    /// The points; a measure file's are in file order (unsorted, possibly
    /// with duplicate timestamps).
    pub points: Points,
}

impl Decoded {
    /// The earliest timestamp.
    pub fn first(&self) -> Option<Timestamp> {
        self.points.timestamps.iter().min().copied()
    }

    /// The latest timestamp.
    pub fn last(&self) -> Option<Timestamp> {
        self.points.timestamps.iter().max().copied()
    }

    pub fn bytes_per_point(&self) -> Option<f64> {
        let points = self.points.len();
        (points > 0).then(|| self.bytes as f64 / points as f64)
    }
}

/// Decodes a file's bytes; a split needs the key its name gives.
pub fn decode(kind: &FileKind, bytes: &[u8]) -> Result<(Encoding, Points), codec::Error> {
    match kind {
        FileKind::Bound => Ok((Encoding::Lz4, codec::decode_bound(bytes)?)),
        FileKind::Split { key, .. } => decode_split(*key, bytes),
        FileKind::Measures => {
            let mut measures = Vec::new();
            codec::decode_measures(bytes, &mut measures)?;
            Ok((Encoding::Records, measures.into_iter().collect()))
        }
    }
}

fn decode_split(key: SplitKey, bytes: &[u8]) -> Result<(Encoding, Points), codec::Error> {
    let encoding = match codec::split_format(bytes) {
        None => Encoding::Empty,
        Some(SplitFormat::Compressed) => Encoding::Compressed,
        Some(SplitFormat::Padded) => Encoding::Padded,
    };
    Ok((encoding, codec::decode_split(key, bytes)?))
}

/// Reads and decodes a file; a corrupt one is an error naming it.
pub fn read(file: &ArchiveFile) -> store::Result<Decoded> {
    let bytes = fs::read(&file.path).map_err(io_error(&file.path))?;
    decode_fetched(file, &bytes)
}

/// Decodes an object already fetched (from a driver that is not a
/// directory); a corrupt one is an error naming it.
pub fn decode_fetched(file: &ArchiveFile, bytes: &[u8]) -> store::Result<Decoded> {
    let (encoding, points) = decode(&file.kind, bytes).map_err(|source| store::Error::Corrupt {
        path: file.path.clone(),
        source,
    })?;
    Ok(Decoded {
        bytes: bytes.len() as u64,
        encoding,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Span;

    #[test]
    fn every_kind_decodes_with_its_encoding() {
        let key = SplitKey::new(Timestamp::EPOCH, Span::from_secs(60));
        let split = FileKind::Split { method: None, key };
        let points: Points = [(Timestamp::from_nanos(60_000_000_000), 2.5)]
            .into_iter()
            .collect();
        let bytes = codec::encode_split(key, &points);
        assert_eq!(
            decode(&split, &bytes).unwrap(),
            (Encoding::Compressed, points.clone())
        );
        assert_eq!(decode(&split, &[0u8; 18]).unwrap().0, Encoding::Padded);
        assert_eq!(decode(&split, b"").unwrap().0, Encoding::Empty);
        let bound = codec::encode_bound(&points).unwrap();
        assert_eq!(
            decode(&FileKind::Bound, &bound).unwrap(),
            (Encoding::Lz4, points)
        );
        let measures = codec::encode_measures(&[
            (Timestamp::from_nanos(9), 1.0),
            (Timestamp::from_nanos(3), 2.0),
        ]);
        let (encoding, decoded) = decode(&FileKind::Measures, &measures).unwrap();
        assert_eq!(encoding, Encoding::Records);
        let file = Decoded {
            bytes: 32,
            encoding,
            points: decoded,
        };
        assert_eq!(file.first(), Some(Timestamp::from_nanos(3)));
        assert_eq!(file.last(), Some(Timestamp::from_nanos(9)));
        assert_eq!(file.bytes_per_point(), Some(16.0));
        assert!(decode(&FileKind::Measures, &measures[..20]).is_err());
    }
}
