//! A JSON document writer that encodes like Python's `json.dumps`, as
//! Gnocchi's API does: floats in `repr` form (`12.0`, `1e+16`) and the
//! non-standard `NaN`, `Infinity` tokens, keys in the order given.

use std::fmt::Write;

use crate::pyform;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    pub fn str(text: impl Into<String>) -> Json {
        Json::Str(text.into())
    }

    /// `None` becomes `null`.
    pub fn opt_str(text: Option<impl Into<String>>) -> Json {
        text.map_or(Json::Null, |t| Json::Str(t.into()))
    }

    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Object(fields.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Compact, with Python's default separators (`", "`, `": "`).
    pub fn to_python_string(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0, false);
        out
    }

    /// As Gnocchi's API writes it: compact, and non-ASCII characters as
    /// `\uXXXX` escapes (Python's `ensure_ascii`).
    pub fn to_ascii_python_string(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, None, 0, true);
        out
    }

    /// Indented by `indent` spaces per level.
    pub fn to_pretty_string(&self, indent: usize) -> String {
        let mut out = String::new();
        self.write(&mut out, Some(indent), 0, false);
        out
    }

    /// Python's `repr()` of the value as a Python object (`{'a': None}`),
    /// which webob's text pages show.
    pub fn to_python_repr(&self) -> String {
        match self {
            Json::Null => "None".to_owned(),
            Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
            Json::Int(i) => i.to_string(),
            Json::Float(f) => pyform::fmt::float_repr(*f),
            Json::Str(s) => pyform::fmt::str_repr(s),
            Json::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Json::to_python_repr)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Json::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| format!("{}: {}", pyform::fmt::str_repr(k), v.to_python_repr()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn write(&self, out: &mut String, indent: Option<usize>, depth: usize, ascii: bool) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Float(f) => out.push_str(&pyform::fmt::json_float(*f)),
            Json::Str(s) => write_string(out, s, ascii),
            Json::Array(items) => write_container(
                out,
                '[',
                ']',
                items.iter(),
                indent,
                depth,
                |out, item, d| item.write(out, indent, d, ascii),
            ),
            Json::Object(fields) => write_container(
                out,
                '{',
                '}',
                fields.iter(),
                indent,
                depth,
                |out, (k, v), d| {
                    write_string(out, k, ascii);
                    out.push_str(": ");
                    v.write(out, indent, d, ascii);
                },
            ),
        }
    }
}

fn write_container<T>(
    out: &mut String,
    open: char,
    close: char,
    items: impl ExactSizeIterator<Item = T>,
    indent: Option<usize>,
    depth: usize,
    write_item: impl Fn(&mut String, T, usize),
) {
    out.push(open);
    let empty = items.len() == 0;
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
            if indent.is_none() {
                out.push(' ');
            }
        }
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * (depth + 1)));
        }
        write_item(out, item, depth + 1);
    }
    if let (Some(width), false) = (indent, empty) {
        out.push('\n');
        out.push_str(&" ".repeat(width * depth));
    }
    out.push(close);
}

/// A string with JSON escapes; non-ASCII is kept as is (UTF-8), or
/// written as `\uXXXX` (surrogate pairs beyond the BMP) when `ascii`.
fn write_string(out: &mut String, text: &str, ascii: bool) {
    out.push('"');
    // Most strings need no escape at all.
    if text
        .bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) == 0x7f) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if ascii && !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_python() {
        let doc = Json::object([
            ("name", Json::str("a\"b\n")),
            (
                "values",
                Json::Array(vec![
                    Json::Float(12.0),
                    Json::Float(f64::NAN),
                    Json::Float(1e16),
                ]),
            ),
            ("none", Json::Null),
            ("n", Json::Int(3)),
            ("ok", Json::Bool(true)),
        ]);
        assert_eq!(
            doc.to_python_string(),
            r#"{"name": "a\"b\n", "values": [12.0, NaN, 1e+16], "none": null, "n": 3, "ok": true}"#
        );
    }

    #[test]
    fn ascii_and_repr_forms_are_pythons() {
        let doc = Json::object([
            ("name", Json::str("é😀'")),
            (
                "list",
                Json::Array(vec![Json::Null, Json::Bool(true), Json::Float(1.0)]),
            ),
        ]);
        assert_eq!(
            doc.to_ascii_python_string(),
            r#"{"name": "\u00e9\ud83d\ude00'", "list": [null, true, 1.0]}"#
        );
        assert_eq!(
            doc.to_python_repr(),
            r#"{'name': "é😀'", 'list': [None, True, 1.0]}"#
        );
    }

    #[test]
    fn pretty_printing_indents() {
        let doc = Json::Array(vec![
            Json::object([("a", Json::Int(1))]),
            Json::Array(vec![]),
        ]);
        assert_eq!(
            doc.to_pretty_string(2),
            "[\n  {\n    \"a\": 1\n  },\n  []\n]"
        );
    }
}
