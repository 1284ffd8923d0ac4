//! Opening what an ingest reads: a file, or `-` for standard input. Gzip
//! and zstd inputs are decoded on the fly, recognised by their magic bytes
//! rather than their names. The bytes read from the file (before decoding)
//! are counted for progress reports.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
const ZSTD_MAGIC: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];
const BUFFER_SIZE: usize = 1 << 20;

/// An opened input.
pub struct Input {
    /// The name messages give it: the path, or `-`.
    pub path: PathBuf,
    /// Its size on disk, when known (not for standard input).
    pub size: Option<u64>,
    /// How it was stored: `gzip`, `zstd` or `plain`.
    pub encoding: &'static str,
    read: Arc<AtomicU64>,
    reader: Box<dyn BufRead + Send>,
}

/// Counts the bytes that pass through it.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Input {
    /// Opens `path` (`-` is standard input).
    pub fn open(path: &Path) -> io::Result<Input> {
        if path == Path::new("-") {
            return Input::from_reader(path, None, Box::new(io::stdin()));
        }
        let file = File::open(path)?;
        let size = file.metadata().ok().map(|m| m.len());
        Input::from_reader(path, size, Box::new(file))
    }

    /// Wraps any reader, decoding it when it is compressed.
    pub fn from_reader(
        path: &Path,
        size: Option<u64>,
        raw: Box<dyn Read + Send>,
    ) -> io::Result<Input> {
        let read = Arc::new(AtomicU64::new(0));
        let mut counted = BufReader::with_capacity(
            BUFFER_SIZE,
            Counting {
                inner: raw,
                read: Arc::clone(&read),
            },
        );
        let head = counted.fill_buf()?;
        let (encoding, reader): (_, Box<dyn BufRead + Send>) = if head.starts_with(GZIP_MAGIC) {
            let decoder = flate2::bufread::MultiGzDecoder::new(counted);
            (
                "gzip",
                Box::new(BufReader::with_capacity(BUFFER_SIZE, decoder)),
            )
        } else if head.starts_with(ZSTD_MAGIC) {
            let decoder = zstd::stream::read::Decoder::with_buffer(counted)?;
            (
                "zstd",
                Box::new(BufReader::with_capacity(BUFFER_SIZE, decoder)),
            )
        } else {
            ("plain", Box::new(counted))
        };
        Ok(Input {
            path: path.to_owned(),
            size,
            encoding,
            read,
            reader,
        })
    }

    /// Bytes taken from the file so far (compressed bytes for a compressed
    /// file).
    pub fn bytes_read(&self) -> u64 {
        self.read.load(Ordering::Relaxed)
    }

    /// A handle on the byte count that stays valid after the reader is
    /// handed to a parser.
    pub fn counter(&self) -> ByteCounter {
        ByteCounter(Arc::clone(&self.read))
    }

    /// The decoded contents.
    pub fn reader(&mut self) -> &mut (dyn BufRead + Send) {
        &mut self.reader
    }
}

/// Reads how many bytes an input has consumed.
#[derive(Clone)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn read_all(bytes: Vec<u8>) -> (String, &'static str) {
        let mut input =
            Input::from_reader(Path::new("x"), None, Box::new(io::Cursor::new(bytes))).unwrap();
        let mut text = String::new();
        input.reader().read_to_string(&mut text).unwrap();
        (text, input.encoding)
    }

    #[test]
    fn compressed_inputs_are_decoded() {
        let text = "timestamp,value\n1,2\n".repeat(1000);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(text.as_bytes()).unwrap();
        assert_eq!(read_all(gzip.finish().unwrap()), (text.clone(), "gzip"));
        let zstd = zstd::encode_all(text.as_bytes(), 3).unwrap();
        assert_eq!(read_all(zstd), (text.clone(), "zstd"));
        assert_eq!(read_all(text.clone().into_bytes()), (text, "plain"));
    }

    #[test]
    fn empty_and_short_inputs_are_plain() {
        assert_eq!(read_all(Vec::new()), (String::new(), "plain"));
        assert_eq!(read_all(vec![0x1f]), ("\u{1f}".to_owned(), "plain"));
    }

    #[test]
    fn bytes_read_counts_the_file() {
        let zstd = zstd::encode_all("a,b\n".repeat(10_000).as_bytes(), 19).unwrap();
        let size = zstd.len() as u64;
        let mut input =
            Input::from_reader(Path::new("x"), Some(size), Box::new(io::Cursor::new(zstd)))
                .unwrap();
        io::copy(input.reader(), &mut io::sink()).unwrap();
        assert_eq!(input.bytes_read(), size);
    }
}
