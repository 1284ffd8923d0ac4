//! Python's text forms, which Gnocchi's file names, documents and messages
//! use: `repr(float)` (split file names, JSON floats), `str(timedelta)`
//! (archive policy definitions) and `repr(str)` (error messages). Pure
//! formatting; nothing here parses.

use std::fmt::Write;

/// `repr(x)` of a Python float: the shortest round-trip digits, positional
/// when the decimal exponent is in [-4, 16), else scientific with a signed,
/// at least two-digit exponent (`1e-05`, `1.5e+16`).
///
/// Rust's `{:?}` picks the same digits and the same switch point but writes
/// `1e-5`/`1e16`; only the exponent is rewritten (spec/storage-format.md §4.2).
pub fn float_repr(x: f64) -> String {
    let mut out = String::new();
    write_float_repr(&mut out, x);
    out
}

/// Appends `float_repr(x)` to `out`.
pub fn write_float_repr(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    let start = out.len();
    let _ = std::fmt::Write::write_fmt(out, format_args!("{x:?}"));
    // Rust writes `1e16` and `1e-5`; Python `1e+16` and `1e-05`.
    if let Some(e) = out[start..].find('e') {
        let exponent = out.split_off(start + e + 1);
        let (sign, digits) = match exponent.strip_prefix('-') {
            Some(digits) => ('-', digits),
            None => ('+', exponent.as_str()),
        };
        out.push(sign);
        if digits.len() < 2 {
            out.push('0');
        }
        out.push_str(digits);
    }
}

/// A float as Python's `json.dumps` writes it: `repr`, with `NaN`,
/// `Infinity` and `-Infinity` for the non-finite values.
pub fn json_float(x: f64) -> String {
    let mut out = String::new();
    write_json_float(&mut out, x);
    out
}

/// Appends `json_float(x)` to `out`.
pub fn write_json_float(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("NaN");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
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
/// `\n`, `\r`, `\t` and other control characters.
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
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
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
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(*x), *want, "repr of {x:e}");
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
