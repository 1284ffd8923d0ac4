//! LZ4 block compression with python-lz4's framing: a u32 LE uncompressed
//! length, then one raw LZ4 block (docs/format/carbonara-v3.md#lz4-framing).
//!
//! The encoder reproduces python-lz4 4.x (liblz4 1.9.x,
//! `LZ4_compress_fast_continue` on a fresh stream, acceleration 1) bit for
//! bit, so archives match Gnocchi's files byte for byte. Decoding uses
//! lz4_flex and then checks the length like Gnocchi.

use super::codec::Error;

const HASH_LOG: u32 = 12;
const MIN_MATCH: usize = 4;
/// No match starts in the last 12 bytes (`MFLIMIT`).
const MATCH_FIND_LIMIT: usize = 12;
/// The last 5 bytes are always literals (`LASTLITERALS`).
const LAST_LITERALS: usize = 5;
const MAX_DISTANCE: usize = 65_535;
const SKIP_TRIGGER: u32 = 6;
const MAX_EXPANSION: usize = 255;

/// Compresses `src` into python-lz4's framing.
pub fn compress(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + src.len() + src.len() / 255 + 16);
    out.extend_from_slice(&(src.len() as u32).to_le_bytes());
    compress_block(src, &mut out);
    out
}

/// Decompresses python-lz4's framing; the block must decode to exactly the
/// announced length.
pub fn decompress(data: &[u8]) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    decompress_into(data, &mut out)?;
    Ok(out)
}

/// Decompresses into `out`, replacing its contents (its memory is reused).
pub fn decompress_into(data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    let Some((length, block)) = data.split_first_chunk::<4>() else {
        return Err(Error::Truncated {
            needed: 4,
            found: data.len(),
        });
    };
    let length = u32::from_le_bytes(*length) as usize;
    // A larger claim is corrupt, and allocating it could exhaust memory.
    if length > max_decompressed_len(block.len()) {
        return Err(Error::Lz4(format!(
            "header claims {length} bytes from a {}-byte block",
            block.len()
        )));
    }
    out.clear();
    out.resize(length, 0);
    let written =
        lz4_flex::block::decompress_into(block, out).map_err(|e| Error::Lz4(e.to_string()))?;
    if written != length {
        return Err(Error::Lz4(format!(
            "block decodes to {written} bytes, header says {length}"
        )));
    }
    Ok(())
}

/// The most bytes an LZ4 block of `block_len` bytes can decode to: one
/// byte expands to at most 255.
pub fn max_decompressed_len(block_len: usize) -> usize {
    block_len.saturating_mul(MAX_EXPANSION) + MAX_EXPANSION
}

fn read_u32(src: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(src[at..at + 4].try_into().expect("4 bytes"))
}

/// liblz4's 5-byte hash on 64-bit builds.
fn hash(src: &[u8], at: usize) -> usize {
    let sequence = u64::from_le_bytes(src[at..at + 8].try_into().expect("8 bytes"));
    ((sequence << 24).wrapping_mul(889_523_592_379) >> (64 - HASH_LOG)) as usize
}

/// Writes a length nibble's overflow: bytes of 255, then the remainder.
fn push_length_extension(out: &mut Vec<u8>, mut rest: usize) {
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

/// Starts a sequence: token (literal nibble set, match nibble 0), the
/// literal-length extension and the literals. Returns the token's index.
fn push_literals(out: &mut Vec<u8>, literals: &[u8]) -> usize {
    let token = out.len();
    if literals.len() >= 15 {
        out.push(15 << 4);
        push_length_extension(out, literals.len() - 15);
    } else {
        out.push((literals.len() as u8) << 4);
    }
    out.extend_from_slice(literals);
    token
}

fn compress_block(src: &[u8], out: &mut Vec<u8>) {
    let len = src.len();
    let mut anchor = 0;
    if len > MATCH_FIND_LIMIT {
        anchor = compress_sequences(src, out);
    }
    push_literals(out, &src[anchor..]);
}

/// Emits every sequence that has a match; returns where the final literal
/// run starts.
fn compress_sequences(src: &[u8], out: &mut Vec<u8>) -> usize {
    let len = src.len();
    let limit = len - MATCH_FIND_LIMIT + 1;
    let match_limit = len - LAST_LITERALS;
    let mut table = vec![0u32; 1 << HASH_LOG];
    let mut anchor = 0;

    table[hash(src, 0)] = 0;
    let mut ip = 1;
    let mut forward_hash = hash(src, ip);
    loop {
        // Search for a 4-byte match, skipping faster the longer it fails.
        let mut forward = ip;
        let mut step = 1;
        let mut attempts = 1u32 << SKIP_TRIGGER;
        let mut candidate;
        loop {
            let h = forward_hash;
            let current = forward;
            candidate = table[h] as usize;
            ip = forward;
            forward += step;
            step = (attempts >> SKIP_TRIGGER) as usize;
            attempts += 1;
            if forward > limit {
                return anchor;
            }
            forward_hash = hash(src, forward);
            table[h] = current as u32;
            if candidate + MAX_DISTANCE >= current && read_u32(src, candidate) == read_u32(src, ip)
            {
                break;
            }
        }
        // Extend the match backwards over equal bytes.
        while ip > anchor && candidate > 0 && src[ip - 1] == src[candidate - 1] {
            ip -= 1;
            candidate -= 1;
        }
        let mut token = push_literals(out, &src[anchor..ip]);
        loop {
            out.extend_from_slice(&((ip - candidate) as u16).to_le_bytes());
            let mut extra = 0;
            while ip + MIN_MATCH + extra < match_limit
                && src[ip + MIN_MATCH + extra] == src[candidate + MIN_MATCH + extra]
            {
                extra += 1;
            }
            if extra >= 15 {
                out[token] |= 15;
                push_length_extension(out, extra - 15);
            } else {
                out[token] |= extra as u8;
            }
            ip += MIN_MATCH + extra;
            anchor = ip;
            if ip >= limit {
                return anchor;
            }
            table[hash(src, ip - 2)] = (ip - 2) as u32;
            // A match right at the current position continues without literals.
            let h = hash(src, ip);
            candidate = table[h] as usize;
            table[h] = ip as u32;
            if candidate + MAX_DISTANCE >= ip && read_u32(src, candidate) == read_u32(src, ip) {
                token = out.len();
                out.push(0);
                continue;
            }
            break;
        }
        ip += 1;
        forward_hash = hash(src, ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(text: &str) -> Vec<u8> {
        let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        (0..clean.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&clean[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn empty_input_matches_python_lz4() {
        assert_eq!(compress(&[]), hex("0000000000"));
        assert_eq!(decompress(&hex("0000000000")).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bound_series_example_a_is_byte_identical() {
        // docs/format/carbonara-v3.md#worked-examples, example A.
        let payload = hex("0080105ff8374513 00286bee00000000 00f2052a01000000
             0000000000000840 0000000000001440 0000000000001840");
        let want = hex(
            "30000000 f1060080105ff837451300286bee0000000000f2052a010900620000000008400800a014400000000000001840",
        );
        assert_eq!(compress(&payload), want);
        assert_eq!(decompress(&want).unwrap(), payload);
    }

    #[test]
    fn split_example_d_is_byte_identical() {
        // docs/format/carbonara-v3.md#worked-examples, example D (without the 'c' byte).
        let mut payload = hex("a005");
        payload.extend(std::iter::repeat_n([0x01, 0x00], 9).flatten());
        payload.extend(std::iter::repeat_n(1.0f64.to_le_bytes(), 10).flatten());
        let want = hex("64000000 4ca0050100020002010021f03f07000f08002b50000000f03f");
        assert_eq!(compress(&payload), want);
    }

    #[test]
    fn length_header_must_match() {
        let mut framed = compress(b"hello hello hello hello");
        framed[0] += 1;
        assert!(matches!(decompress(&framed), Err(Error::Lz4(_))));
        assert!(matches!(decompress(b"c"), Err(Error::Truncated { .. })));
    }

    #[test]
    fn long_runs_use_length_extensions() {
        let zeros = vec![0u8; 100_000];
        let framed = compress(&zeros);
        assert!(framed.len() < 1_000);
        assert_eq!(decompress(&framed).unwrap(), zeros);
    }
}
