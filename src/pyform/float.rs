//! Numbers as Python's `float()` reads them, which Gnocchi applies to every
//! value it is given (measures, CSV fields, query arguments): surrounding
//! white space, `_` between digits, `inf` and `nan`. Pure parsing; nothing
//! here formats (see `fmt`).

/// What Python's `float()` accepts: surrounding white space, an optional
/// sign, digits with optional `_` between them, `inf`, `nan`.
pub fn parse_python_float(text: &str) -> Option<f64> {
    let trimmed = trim_ascii_fast(text);
    if trimmed.is_empty() {
        return None;
    }
    if let Some(value) = plain_decimal(trimmed.as_bytes()) {
        return Some(value);
    }
    if trimmed.contains('_') {
        let bytes = trimmed.as_bytes();
        let well_placed = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'_'
                || (i > 0
                    && i + 1 < bytes.len()
                    && bytes[i - 1].is_ascii_digit()
                    && bytes[i + 1].is_ascii_digit())
        });
        if !well_placed {
            return None;
        }
        return trimmed.replace('_', "").parse().ok();
    }
    trimmed.parse().ok()
}

/// Powers of ten that are exact in an f64.
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The usual number of a file, `[+-]digits[.digits]` with at most 19
/// digits whose value without the point is below 2⁵³, read quickly and
/// exactly: that value and the power of ten are exact floats, so one
/// division rounds as a full decimal parser does (Clinger's fast path).
/// `None` for anything else.
fn plain_decimal(text: &[u8]) -> Option<f64> {
    let (negative, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, text),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0;
    let mut point = None;
    for (i, &byte) in digits.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                count += 1;
                if count > 19 {
                    return None;
                }
                mantissa = mantissa * 10 + u64::from(byte - b'0');
            }
            b'.' if point.is_none() => point = Some(i),
            _ => return None,
        }
    }
    if count == 0 || mantissa > 1 << 53 {
        return None;
    }
    let fraction_digits = point.map_or(0, |point| digits.len() - point - 1);
    let value = mantissa as f64 / EXACT_POWERS_OF_TEN.get(fraction_digits)?;
    Some(if negative { -value } else { value })
}

/// `str::trim`, quicker when there is nothing to trim (the usual case on
/// hot paths such as CSV fields).
pub fn trim_ascii_fast(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn plain_decimals_read_as_a_full_parser_reads_them(
            sign in "[-+]?",
            whole in "[0-9]{0,12}",
            fraction in proptest::option::of("[0-9]{0,12}"),
        ) {
            let text = match &fraction {
                Some(fraction) => format!("{sign}{whole}.{fraction}"),
                None => format!("{sign}{whole}"),
            };
            let full: Option<f64> = text.parse().ok();
            let read = parse_python_float(&text);
            proptest::prop_assert_eq!(read.map(f64::to_bits), full.map(f64::to_bits), "{}", text);
        }
    }
}
