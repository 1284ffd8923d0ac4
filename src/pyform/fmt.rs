//! Python's text forms, which Gnocchi's file names, documents and messages
//! use: `repr(float)` (split file names, JSON floats), `str(timedelta)`
//! (archive policy definitions) and `repr(str)` (error messages). Pure
//! formatting; nothing here parses.

use std::fmt::Write;

/// `repr(x)` of a Python float: the shortest round-trip digits, positional
/// when the decimal exponent is in [-4, 16), else scientific with a signed,
/// at least two-digit exponent (`1e-05`, `1.5e+16`).
pub fn float_repr(x: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_float_repr(&mut out, x);
    String::from_utf8(out).expect("float digits are ASCII")
}

/// Appends `repr(x)` to `out` without allocating.
///
/// zmij picks the same shortest digits as Python; its layout differs only
/// in writing [1e-5, 1e-4) positionally, and possibly in the exponent's
/// form, which is rewritten (docs/format/carbonara-v3.md#file-names).
pub fn write_float_repr(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"nan");
        return;
    }
    if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let text = buffer.format_finite(x).as_bytes();
    // From the double 1e-4 (whose shortest digits are 0.0001) up to 1e16,
    // both write positionally.
    if (1e-4..1e16).contains(&x.abs()) {
        out.extend_from_slice(text);
        return;
    }
    if let Some(e) = text.iter().position(|&b| b == b'e') {
        out.extend_from_slice(&text[..e]);
        write_exponent(out, &text[e + 1..]);
        return;
    }
    let (sign, unsigned) = match text.strip_prefix(b"-") {
        Some(unsigned) => (&b"-"[..], unsigned),
        None => (&b""[..], text),
    };
    match unsigned.strip_prefix(b"0.0000") {
        // 0.0000ddd is Python's d.ddde-05.
        Some(digits) => {
            out.extend_from_slice(sign);
            out.push(digits[0]);
            if digits.len() > 1 {
                out.push(b'.');
                out.extend_from_slice(&digits[1..]);
            }
            out.extend_from_slice(b"e-05");
        }
        None => out.extend_from_slice(text),
    }
}

/// `e` and a signed exponent of at least two digits, from `-7`, `+16`…
fn write_exponent(out: &mut Vec<u8>, exponent: &[u8]) {
    out.push(b'e');
    let digits = match exponent.strip_prefix(b"-") {
        Some(digits) => {
            out.push(b'-');
            digits
        }
        None => {
            out.push(b'+');
            exponent.strip_prefix(b"+").unwrap_or(exponent)
        }
    };
    if digits.len() < 2 {
        out.push(b'0');
    }
    out.extend_from_slice(digits);
}

/// A float as Python's `json.dumps` writes it: `repr`, with `NaN`,
/// `Infinity` and `-Infinity` for the non-finite values.
pub fn json_float(x: f64) -> String {
    let mut out = Vec::with_capacity(24);
    write_json_float(&mut out, x);
    String::from_utf8(out).expect("float digits are ASCII")
}

/// Appends `json_float(x)` to `out` without allocating.
pub fn write_json_float(out: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if x.is_infinite() {
        out.extend_from_slice(if x > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        write_float_repr(out, x);
    }
}

/// `str(datetime.timedelta(...))` of a span of nanoseconds: `0:05:00`,
/// `1 day, 0:00:00`, `30 days, 0:00:00`, `0:00:00.500000`. Python keeps
/// microseconds, so the span is rounded to the nearest microsecond.
pub fn timedelta_str(nanoseconds: i64) -> String {
    let micros_total = (nanoseconds as i128 + 500).div_euclid(1000);
    let days = micros_total.div_euclid(86_400_000_000);
    let rest = micros_total.rem_euclid(86_400_000_000);
    let seconds = rest / 1_000_000;
    let micros = rest % 1_000_000;
    let mut out = String::new();
    if days != 0 {
        let plural = if days.abs() == 1 { "" } else { "s" };
        let _ = write!(out, "{days} day{plural}, ");
    }
    let _ = write!(
        out,
        "{}:{:02}:{:02}",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    );
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
    out
}

/// `repr(s)` of a Python string: single quotes unless the text has a
/// single quote and no double one; backslash escapes for the quote, `\\`,
/// `\n`, `\r`, `\t` and the characters Python does not print (`\x01`,
/// `\xa0`, `\u200b`).
pub fn str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c => {
                let code = c as u32;
                let _ = if code < 0x100 {
                    write!(out, "\\x{code:02x}")
                } else if code < 0x10000 {
                    write!(out, "\\u{code:04x}")
                } else {
                    write!(out, "\\U{code:08x}")
                };
            }
        }
    }
    out.push(quote);
    out
}

/// Python's `str.isprintable` for one character: not a control, format or
/// separator character (the space excepted), nor a surrogate or private use.
fn is_printable(c: char) -> bool {
    const FORMAT: [(u32, u32); 9] = [
        (0xAD, 0xAD),
        (0x600, 0x605),
        (0x61C, 0x61C),
        (0x6DD, 0x6DD),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0xFEFF, 0xFEFF),
    ];
    let code = c as u32;
    c == ' '
        || !(c.is_control()
            || c.is_whitespace()
            || FORMAT
                .iter()
                .any(|&(low, high)| low <= code && code <= high)
            || (0xE000..=0xF8FF).contains(&code)
            || (0xFFF9..=0xFFFB).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_repr_matches_python() {
        assert_eq!(str_repr("abc"), "'abc'");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("'\""), "'\\'\"'");
        assert_eq!(str_repr("a\\b\nc\rd\te\u{1}"), "'a\\\\b\\nc\\rd\\te\\x01'");
        assert_eq!(str_repr("é"), "'é'");
        assert_eq!(str_repr("ab'c\"d"), "'ab\\'c\"d'");
        assert_eq!(
            str_repr("\u{a0}\u{200b}\u{1F600}"),
            "'\\xa0\\u200b\u{1F600}'"
        );
    }

    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (1388448000.0, "1388448000.0"),
            (60.0, "60.0"),
            (0.2, "0.2"),
            (0.001, "0.001"),
            (1388577601.764, "1388577601.764"),
            (1e-5, "1e-05"),
            (7e-9, "7e-09"),
            (1.5e-7, "1.5e-07"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (0.0001, "0.0001"),
            (123456789012345.6, "123456789012345.6"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (-4.25, "-4.25"),
            (3.120000000000001, "3.120000000000001"),
            (1.5e-5, "1.5e-05"),
            (-2e-5, "-2e-05"),
            (9.99e-5, "9.99e-05"),
            (1e-4, "0.0001"),
            (1e22, "1e+22"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (123456789.0, "123456789.0"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(*x), *want, "repr of {x:e}");
        }
    }

    /// CPython's own reprs (tests/golden/float-repr/make_reprs.py): random bits, ties
    /// at the 17th digit (round half to even, where Rust's `{:?}` differs),
    /// and the switch points to exponents.
    #[test]
    fn float_repr_equals_cpythons() {
        let reprs = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/float-repr/reprs.txt"
        ));
        let mut checked = 0;
        for line in reprs.lines() {
            let (bits, want) = line.split_once(' ').unwrap();
            let x = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
            assert_eq!(float_repr(x), want, "bits {bits}");
            checked += 1;
        }
        assert!(checked > 10_000);
    }

    proptest::proptest! {
        #[test]
        fn float_repr_reads_back_and_is_laid_out_like_python(bits in proptest::num::u64::ANY) {
            let x = f64::from_bits(bits);
            if x.is_finite() {
                let text = float_repr(x);
                proptest::prop_assert_eq!(text.parse::<f64>().unwrap().to_bits(), x.to_bits());
                let exponent = (x.abs().log10().floor()) as i32;
                let scientific = text.contains('e');
                if x != 0.0 && !(-5..=16).contains(&exponent) {
                    proptest::prop_assert!(scientific, "{}", text);
                }
                if (-3..=14).contains(&exponent) {
                    proptest::prop_assert!(!scientific, "{}", text);
                }
                if let Some((_, e)) = text.split_once('e') {
                    proptest::prop_assert!(e.len() >= 3 && (e.starts_with('+') || e.starts_with('-')), "{}", text);
                }
            }
        }
    }

    #[test]
    fn json_float_uses_python_tokens() {
        assert_eq!(json_float(f64::NAN), "NaN");
        assert_eq!(json_float(f64::INFINITY), "Infinity");
        assert_eq!(json_float(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(json_float(12.0), "12.0");
    }

    #[test]
    fn timedelta_matches_python() {
        let s = 1_000_000_000i64;
        assert_eq!(timedelta_str(300 * s), "0:05:00");
        assert_eq!(timedelta_str(86_400 * s), "1 day, 0:00:00");
        assert_eq!(timedelta_str(30 * 86_400 * s), "30 days, 0:00:00");
        assert_eq!(timedelta_str(s / 2), "0:00:00.500000");
        assert_eq!(timedelta_str(3_600_000_000), "0:00:03.600000");
        assert_eq!(timedelta_str(3_599 * s), "0:59:59");
        assert_eq!(timedelta_str(365 * 86_400 * s), "365 days, 0:00:00");
    }
}
