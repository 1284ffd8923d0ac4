//! Reading the operations text into an untyped tree (JSON values, as
//! Python holds the decoded body), before validation: the string form
//! exactly as Gnocchi's pyparsing `nestedExpr` reads it
//! (docs/gnocchi-semantics.md#the-operations-language), with pyparsing's
//! error messages, and the JSON form. Nothing here knows the operators.

use crate::pyform;
use crate::pyform::json::Json;

/// How deep operations may nest, in either form. Gnocchi has no limit of
/// its own but Python's recursion limit; here every level costs stack in
/// the parser, the validation and the evaluation, so one request must not
/// be able to exhaust it. Real operations nest a handful of levels.
pub const MAX_DEPTH: usize = 64;

fn too_deep(loc: Option<usize>) -> String {
    let at = loc
        .map(|loc| format!(" (at char {loc})"))
        .unwrap_or_default();
    format!("Operations nested deeper than {MAX_DEPTH} levels{at}")
}

/// pyparsing's `DEFAULT_WHITE_CHARS`: what separates atoms.
fn is_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Python's `str.isspace`, which `str.strip()` removes from atoms.
pub fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.expandtabs()`: pyparsing expands tabs before parsing, so
/// error positions count them as spaces to the next multiple of 8.
fn expand_tabs(text: &str) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len());
    let mut column = 0;
    for c in text.chars() {
        match c {
            '\t' => {
                let spaces = 8 - column % 8;
                out.extend(std::iter::repeat_n(' ', spaces));
                column += spaces;
            }
            '\n' | '\r' => {
                out.push(c);
                column = 0;
            }
            _ => {
                out.push(c);
                column += 1;
            }
        }
    }
    out
}

/// Parses the string form: the first complete S-expression after optional
/// white space; anything after it is ignored, as Gnocchi does. The error is
/// pyparsing's message (`Expected ')', found end of text  (at char 15),
/// (line:1, col:16)`).
pub fn parse_string(text: &str) -> Result<Json, String> {
    let chars = expand_tabs(text);
    let start = skip_separators(&chars, 0);
    if chars.get(start) != Some(&'(') {
        return Err(expected(&chars, "'('", start));
    }
    parse_group(&chars, start + 1, 1).map(|(item, _)| item)
}

fn skip_separators(chars: &[char], mut pos: usize) -> usize {
    while pos < chars.len() && is_separator(chars[pos]) {
        pos += 1;
    }
    pos
}

/// The items of a group whose `(` is just before `pos`, and the position
/// after its `)`; `depth` counts the groups open, this one included.
fn parse_group(chars: &[char], mut pos: usize, depth: usize) -> Result<(Json, usize), String> {
    let mut items = Vec::new();
    loop {
        pos = skip_separators(chars, pos);
        match chars.get(pos) {
            // An unclosed group runs to the end of the text, so every
            // parse error inside a group is reported there.
            None => return Err(expected(chars, "')'", pos)),
            Some(')') => return Ok((Json::Array(items), pos + 1)),
            Some('(') => {
                if depth >= MAX_DEPTH {
                    return Err(too_deep(Some(pos)));
                }
                let (group, next) = parse_group(chars, pos + 1, depth + 1)?;
                items.push(group);
                pos = next;
            }
            Some(_) => {
                if let Some(end) = quoted_string_end(chars, pos) {
                    items.push(Json::Str(chars[pos..end].iter().collect()));
                    pos = end;
                    continue;
                }
                // A run of characters up to white space, a parenthesis or
                // the start of a quoted string, then `str.strip()`.
                let mut end = pos + 1;
                while end < chars.len()
                    && !is_separator(chars[end])
                    && !matches!(chars[end], '(' | ')')
                    && quoted_string_end(chars, end).is_none()
                {
                    end += 1;
                }
                let atom: String = chars[pos..end].iter().collect();
                items.push(Json::Str(atom.trim_matches(is_python_space).to_owned()));
                pos = end;
            }
        }
    }
}

/// pyparsing's `quotedString` at `pos`: a quote, then greedily characters
/// other than that quote, CR, LF and backslash, or a doubled quote, or a
/// backslash escape (`\x` needs hex digits), then the closing quote. The
/// greedy run never gives back: `"a""` has no closing quote.
fn quoted_string_end(chars: &[char], pos: usize) -> Option<usize> {
    let quote = *chars.get(pos)?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let mut i = pos + 1;
    while let Some(&c) = chars.get(i) {
        if c == quote {
            if chars.get(i + 1) == Some(&quote) {
                i += 2;
                continue;
            }
            break;
        }
        match c {
            '\n' | '\r' => break,
            '\\' => match chars.get(i + 1) {
                None => break,
                Some('x') => {
                    let hex = chars[i + 2..]
                        .iter()
                        .take_while(|c| c.is_ascii_hexdigit())
                        .count();
                    if hex == 0 {
                        break;
                    }
                    i += 2 + hex;
                }
                Some(_) => i += 2,
            },
            _ => i += 1,
        }
    }
    (chars.get(i) == Some(&quote)).then_some(i + 1)
}

/// pyparsing's `ParseException` text.
fn expected(chars: &[char], what: &str, loc: usize) -> String {
    let found = if chars.is_empty() {
        String::new()
    } else if loc >= chars.len() {
        ", found end of text".to_owned()
    } else {
        let word_len = chars[loc..]
            .iter()
            .take(16)
            .take_while(|&&c| is_exception_word_char(c))
            .count();
        let found: String = chars[loc..loc + word_len.max(1)].iter().collect();
        format!(
            ", found {}",
            pyform::fmt::str_repr(&found).replace("\\\\", "\\")
        )
    };
    let line = chars[..loc].iter().filter(|&&c| c == '\n').count() + 1;
    let column = if loc > 0 && loc < chars.len() && chars[loc - 1] == '\n' {
        1
    } else {
        loc - chars[..loc]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |p| p + 1)
            + 1
    };
    format!("Expected {what}{found}  (at char {loc}), (line:{line}, col:{column})")
}

/// The letters pyparsing's messages quote as a word: ASCII alphanumerics
/// and its Latin-1, Latin A/B, Greek and Cyrillic sets.
fn is_exception_word_char(c: char) -> bool {
    const RANGES: [(u32, u32); 50] = [
        (0x30, 0x39),
        (0x41, 0x5A),
        (0x61, 0x7A),
        (0xAA, 0xAA),
        (0xB2, 0xB3),
        (0xB5, 0xB5),
        (0xB9, 0xBA),
        (0xC0, 0xD6),
        (0xD8, 0xF6),
        (0xF8, 0x24F),
        (0x370, 0x374),
        (0x376, 0x377),
        (0x37A, 0x37D),
        (0x37F, 0x37F),
        (0x386, 0x386),
        (0x388, 0x38A),
        (0x38C, 0x38C),
        (0x38E, 0x3A1),
        (0x3A3, 0x3E1),
        (0x3F0, 0x3F5),
        (0x3F7, 0x481),
        (0x48A, 0x52F),
        (0x1C80, 0x1C88),
        (0x1D26, 0x1D2B),
        (0x1D5E, 0x1D5E),
        (0x1D60, 0x1D60),
        (0x1D66, 0x1D6A),
        (0x1D78, 0x1D78),
        (0x1F00, 0x1F15),
        (0x1F18, 0x1F1D),
        (0x1F20, 0x1F45),
        (0x1F48, 0x1F4D),
        (0x1F50, 0x1F57),
        (0x1F59, 0x1F59),
        (0x1F5B, 0x1F5B),
        (0x1F5D, 0x1F5D),
        (0x1F5F, 0x1F7D),
        (0x1F80, 0x1FB4),
        (0x1FB6, 0x1FBC),
        (0x1FBE, 0x1FBE),
        (0x1FC2, 0x1FC4),
        (0x1FC6, 0x1FCC),
        (0x1FD0, 0x1FD3),
        (0x1FD6, 0x1FDB),
        (0x1FE0, 0x1FEC),
        (0x1FF2, 0x1FF4),
        (0x1FF6, 0x1FFC),
        (0xA640, 0xA66E),
        (0xA67F, 0xA69D),
        (0xAB65, 0xAB65),
    ];
    let code = c as u32;
    RANGES
        .iter()
        .any(|&(low, high)| low <= code && code <= high)
}

/// Parses the JSON form (a JSON document whose top level is the
/// operation list).
pub fn parse_json(text: &str) -> Result<Json, String> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if nesting(&value) > MAX_DEPTH {
        return Err(too_deep(None));
    }
    Ok(from_serde(value))
}

/// How many lists and objects deep the document goes (serde_json itself
/// stops at 128).
fn nesting(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Array(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(nesting).max().unwrap_or(0),
        _ => 0,
    }
}

fn from_serde(value: serde_json::Value) -> Json {
    use serde_json::Value;
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Json::Int(i),
            None => Json::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Json::Str(s),
        Value::Array(items) => Json::Array(items.into_iter().map(from_serde).collect()),
        Value::Object(fields) => Json::Object(
            fields
                .into_iter()
                .map(|(key, value)| (key, from_serde(value)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[Json]) -> Json {
        Json::Array(items.to_vec())
    }

    fn s(text: &str) -> Json {
        Json::Str(text.to_owned())
    }

    #[test]
    fn atoms_quotes_and_nesting_follow_pyparsing() {
        assert_eq!(
            parse_string("  (metric (a mean) (b max)) trailing").unwrap(),
            list(&[
                s("metric"),
                list(&[s("a"), s("mean")]),
                list(&[s("b"), s("max")])
            ])
        );
        assert_eq!(
            parse_string("(a\"b c\"d)").unwrap(),
            list(&[s("a"), s("\"b c\""), s("d")])
        );
        assert_eq!(
            parse_string("(a \"b c)").unwrap(),
            list(&[s("a"), s("\"b"), s("c")])
        );
        assert_eq!(
            parse_string("(a 'it''s' b)").unwrap(),
            list(&[s("a"), s("'it''s'"), s("b")])
        );
        assert_eq!(
            parse_string("(\"x\\\"y\" z)").unwrap(),
            list(&[s("\"x\\\"y\""), s("z")])
        );
        assert_eq!(
            parse_string("(a\u{a0}b \u{b}c)").unwrap(),
            list(&[s("a\u{a0}b"), s("c")])
        );
        assert_eq!(parse_string("(a b))").unwrap(), list(&[s("a"), s("b")]));
        assert_eq!(parse_string("(a) (b").unwrap(), list(&[s("a")]));
    }

    #[test]
    fn errors_are_pyparsings() {
        let err = |text: &str| parse_string(text).unwrap_err();
        assert_eq!(err(""), "Expected '('  (at char 0), (line:1, col:1)");
        assert_eq!(
            err("   "),
            "Expected '(', found end of text  (at char 3), (line:1, col:4)"
        );
        assert_eq!(
            err("(metroc foo bar"),
            "Expected ')', found end of text  (at char 15), (line:1, col:16)"
        );
        assert_eq!(
            err("abcdefghijklmnopqrstuvwxyz"),
            "Expected '(', found 'abcdefghijklmnop'  (at char 0), (line:1, col:1)"
        );
        assert_eq!(
            err("'x'"),
            "Expected '(', found \"'\"  (at char 0), (line:1, col:1)"
        );
        assert_eq!(
            err("\\"),
            "Expected '(', found '\\'  (at char 0), (line:1, col:1)"
        );
        assert_eq!(
            err("\t(metric a"),
            "Expected ')', found end of text  (at char 17), (line:1, col:18)"
        );
        assert_eq!(
            err("\n\n  (metric\n a ("),
            "Expected ')', found end of text  (at char 16), (line:4, col:5)"
        );
        assert_eq!(
            err("\u{b}(a)"),
            "Expected '(', found '\\x0b'  (at char 0), (line:1, col:1)"
        );
    }

    #[test]
    fn nesting_stops_at_the_limit_in_both_forms() {
        let nested = |depth: usize, open: &str, close: &str| {
            format!("{}metric a mean{}", open.repeat(depth), close.repeat(depth))
        };
        assert!(parse_string(&nested(MAX_DEPTH, "(", ")")).is_ok());
        assert_eq!(
            parse_string(&nested(MAX_DEPTH + 1, "(", ")")).unwrap_err(),
            format!("Operations nested deeper than {MAX_DEPTH} levels (at char {MAX_DEPTH})")
        );
        // Deep enough to overflow any stack if it were parsed recursively.
        assert!(parse_string(&"(".repeat(100_000)).is_err());
        let json = |depth: usize| format!("{}\"x\"{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse_json(&json(MAX_DEPTH)).is_ok());
        assert_eq!(
            parse_json(&json(MAX_DEPTH + 1)).unwrap_err(),
            format!("Operations nested deeper than {MAX_DEPTH} levels")
        );
        assert!(parse_json(&json(100_000)).is_err());
    }

    proptest::proptest! {
        #[test]
        fn the_string_parser_never_panics(text in "\\PC*") {
            let _ = parse_string(&text);
        }

        #[test]
        fn the_string_parser_never_panics_on_nested_input(text in "[()\"' \\\\\tx\n]{0,40}") {
            let _ = parse_string(&text);
        }

        #[test]
        fn the_json_parser_never_panics(text in "\\PC*") {
            let _ = parse_json(&text);
        }
    }
}
