//! oslo.config's INI syntax, read line by line as `oslo_config/iniparser.py`
//! does, keeping the line of every value for messages. Nothing here knows
//! Gnocchi's options; `options` and `resolve` give the values a meaning.
//!
//! Written here rather than taken from rust-ini or configparser because
//! oslo's syntax differs from both where it matters: a `#` or `;` starts a
//! comment only at the start of a line (`url = …#x` keeps `#x`), the first
//! of `=` and `:` separates key and value, one pair of matching quotes
//! around a value is removed, an indented line continues the previous value
//! until a blank line (and is an error where no value precedes it), keys
//! are case-sensitive, section names are lowercased except `DEFAULT`, and
//! a key given twice keeps every value (the last one wins). Neither crate
//! reports the line of a value either.

use indexmap::IndexMap;

/// A value as the file gives it: the text after quote removal, with
/// continuation lines joined by `\n`, and the line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub line: usize,
}

/// One section: where it first appears and its keys in file order, each
/// with every value given, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub line: usize,
    pub keys: IndexMap<String, Vec<Entry>>,
}

impl Section {
    /// The value that counts: the last one given, as oslo.config reads a
    /// single-valued option.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.keys.get(key).and_then(|values| values.last())
    }
}

/// A parsed file: its sections by normalized name, in file order. A
/// section given twice is one section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub sections: IndexMap<String, Section>,
}

/// A line oslo.config refuses, with its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub message: String,
}

/// oslo.config's `_normalize_group_name`: `DEFAULT` as it is, any other
/// section name lowercased (`[Storage]` is `[storage]`, `[default]` is not
/// `[DEFAULT]`).
pub fn normalize_section(name: &str) -> String {
    if name == "DEFAULT" {
        name.to_owned()
    } else {
        name.to_lowercase()
    }
}

struct Pending {
    key: String,
    line: usize,
    lines: Vec<String>,
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Ini, SyntaxError> {
    let mut ini = Ini::default();
    let mut section: Option<String> = None;
    let mut pending: Option<Pending> = None;
    // Python's text mode reads `\r\n` and `\r` as line ends.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.trim_end();
        let error = |message: &str| SyntaxError {
            line: number,
            message: format!("{message}: {}", crate::pyform::fmt::str_repr(line)),
        };
        if line.is_empty() {
            // A blank line ends a value that continues on indented lines.
            flush(&mut ini, section.as_deref(), pending.take())?;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match pending.as_mut() {
                Some(p) => p.lines.push(line.trim_start().to_owned()),
                None => return Err(error("Unexpected continuation line")),
            }
            continue;
        }
        flush(&mut ini, section.as_deref(), pending.take())?;
        if line.starts_with('[') {
            if !line.ends_with(']') {
                return Err(error("Invalid section (must end with ])"));
            }
            if line.len() <= 2 {
                return Err(error("Empty section name"));
            }
            let name = normalize_section(&line[1..line.len() - 1]);
            ini.sections.entry(name.clone()).or_insert_with(|| Section {
                line: number,
                keys: IndexMap::new(),
            });
            section = Some(name);
        } else if line.starts_with(['#', ';']) {
            continue;
        } else {
            let (key, value) =
                split_key_value(line).ok_or_else(|| error("No ':' or '=' found in assignment"))?;
            if key.is_empty() {
                return Err(error("Key cannot be empty"));
            }
            pending = Some(Pending {
                key: key.to_owned(),
                line: number,
                lines: vec![value],
            });
        }
    }
    flush(&mut ini, section.as_deref(), pending.take())?;
    Ok(ini)
}

/// Key and value at the first `=` or `:`, both stripped, the value without
/// one pair of matching quotes around it.
fn split_key_value(line: &str) -> Option<(&str, String)> {
    let at = line.find(['=', ':'])?;
    let key = line[..at].trim();
    let mut value = line[at + 1..].trim();
    let bytes = value.as_bytes();
    if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last())
        && first == last
        && (first == b'"' || first == b'\'')
    {
        // Python's `value[1:-1]`: a lone quote becomes the empty string.
        value = if value.len() >= 2 {
            &value[1..value.len() - 1]
        } else {
            ""
        };
    }
    Some((key, value.to_owned()))
}

fn flush(
    ini: &mut Ini,
    section: Option<&str>,
    pending: Option<Pending>,
) -> Result<(), SyntaxError> {
    let Some(pending) = pending else {
        return Ok(());
    };
    let Some(section) = section else {
        return Err(SyntaxError {
            line: pending.line,
            message: "Section must be started before assignment".to_owned(),
        });
    };
    let entry = Entry {
        value: pending.lines.join("\n"),
        line: pending.line,
    };
    ini.sections
        .get_mut(section)
        .expect("a section is recorded when it starts")
        .keys
        .entry(pending.key)
        .or_default()
        .push(entry);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value<'i>(ini: &'i Ini, section: &str, key: &str) -> &'i str {
        &ini.sections[section].get(key).unwrap().value
    }

    #[test]
    fn equals_or_colon_whichever_comes_first() {
        let ini = parse("[s]\na = b:c\nd: e=f\ng  =  h  \n").unwrap();
        assert_eq!(value(&ini, "s", "a"), "b:c");
        assert_eq!(value(&ini, "s", "d"), "e=f");
        assert_eq!(value(&ini, "s", "g"), "h");
    }

    #[test]
    fn comments_only_at_the_start_of_a_line() {
        let ini = parse("# top\n[s]\n; semicolon\na = x # not a comment\nb = y;z\n").unwrap();
        assert_eq!(value(&ini, "s", "a"), "x # not a comment");
        assert_eq!(value(&ini, "s", "b"), "y;z");
        assert_eq!(ini.sections["s"].keys.len(), 2);
    }

    #[test]
    fn one_pair_of_matching_quotes_is_removed() {
        let ini = parse("[s]\na = \"x y\"\nb = 'q'\nc = \"x'\nd = \"\ne = \"\"a\"\"\n").unwrap();
        assert_eq!(value(&ini, "s", "a"), "x y");
        assert_eq!(value(&ini, "s", "b"), "q");
        assert_eq!(value(&ini, "s", "c"), "\"x'");
        assert_eq!(value(&ini, "s", "d"), "");
        assert_eq!(value(&ini, "s", "e"), "\"a\"");
    }

    #[test]
    fn indented_lines_continue_a_value_until_a_blank_line() {
        let ini = parse("[s]\na = one\n  two\n\tthree\n\n  b = no\n").unwrap_err();
        assert_eq!(ini.line, 6);
        assert!(
            ini.message.starts_with("Unexpected continuation line"),
            "{}",
            ini.message
        );
        let ini = parse("[s]\na = one\n  two\n   # kept\nb =\n  x\n").unwrap();
        assert_eq!(value(&ini, "s", "a"), "one\ntwo\n# kept");
        assert_eq!(value(&ini, "s", "b"), "\nx");
    }

    #[test]
    fn later_duplicates_win_and_sections_merge() {
        let ini = parse("[s]\na = 1\n[t]\n[s]\na = 2\nb = 3\n").unwrap();
        assert_eq!(value(&ini, "s", "a"), "2");
        assert_eq!(ini.sections["s"].get("a").unwrap().line, 5);
        assert_eq!(ini.sections["s"].keys["a"].len(), 2);
        assert_eq!(ini.sections["s"].line, 1);
        assert_eq!(ini.sections.keys().collect::<Vec<_>>(), ["s", "t"]);
    }

    #[test]
    fn section_names_are_lowercased_except_default() {
        let ini = parse("[DEFAULT]\na=1\n[Storage]\nb=2\n[default]\nc=3\n").unwrap();
        assert_eq!(
            ini.sections.keys().collect::<Vec<_>>(),
            ["DEFAULT", "storage", "default"]
        );
        // Keys keep their case.
        let ini = parse("[s]\nKey = 1\n").unwrap();
        assert!(ini.sections["s"].get("key").is_none());
        assert_eq!(value(&ini, "s", "Key"), "1");
    }

    #[test]
    fn carriage_returns_end_lines() {
        let ini = parse("[s]\r\na = 1\r\nb = 2\r").unwrap();
        assert_eq!(value(&ini, "s", "a"), "1");
        assert_eq!(value(&ini, "s", "b"), "2");
    }

    #[test]
    fn bad_lines_name_their_line_and_text() {
        let cases = [
            ("a = 1\n", 1, "Section must be started before assignment"),
            ("[s]\n[t\n", 2, "Invalid section (must end with ]): '[t'"),
            ("[s]\n[]\n", 2, "Empty section name: '[]'"),
            (
                "[s]\nnovalue\n",
                2,
                "No ':' or '=' found in assignment: 'novalue'",
            ),
            ("[s]\n= x\n", 2, "Key cannot be empty: '= x'"),
            (
                "[s]\n# c\n  x = 1\n",
                3,
                "Unexpected continuation line: '  x = 1'",
            ),
            ("  x = 1\n", 1, "Unexpected continuation line: '  x = 1'"),
        ];
        for (text, line, message) in cases {
            let error = parse(text).unwrap_err();
            assert_eq!(
                (error.line, error.message.as_str()),
                (line, message),
                "{text:?}"
            );
        }
    }
}
