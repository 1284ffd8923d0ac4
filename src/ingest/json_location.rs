//! Where a value of a JSON document is, for messages that name a line:
//! follows a path of keys (and a final list index) through the text with
//! serde_json's raw values, which borrow from it.

use std::collections::HashMap;

use serde_json::value::RawValue;

/// The 1-based line where the value at `path` (then, if given, element
/// `index` of that list) starts; the deepest value found on the way when
/// the path does not lead anywhere.
pub fn line_of(text: &str, path: &[String], index: Option<usize>) -> u64 {
    let offset = offset_of(text, path, index).unwrap_or(0);
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

fn offset_of(text: &str, path: &[String], index: Option<usize>) -> Option<usize> {
    let start = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let mut value: &RawValue = serde_json::from_str(text).ok()?;
    let mut found = start(value);
    for key in path {
        // Later duplicates win, as in Python's json.
        let object: HashMap<String, &RawValue> = match serde_json::from_str(value.get()) {
            Ok(object) => object,
            Err(_) => return Some(found),
        };
        match object.get(key) {
            Some(inner) => value = inner,
            None => return Some(found),
        }
        found = start(value);
    }
    if let Some(index) = index
        && let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(value.get())
        && let Some(element) = list.get(index)
    {
        found = start(element);
    }
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lead_to_their_lines() {
        let text = "{\n \"r\": {\n  \"m\": [\n   {\"timestamp\": 1},\n   {\"x\": 2}\n  ]\n },\n \"r\": {\"m\": []}\n}";
        assert_eq!(line_of(text, &[], None), 1);
        // The second "r" replaces the first, as Python reads it.
        assert_eq!(line_of(text, &["r".into(), "m".into()], None), 8);
        let first = "{\"a\": {\n \"m\": [\n  1,\n  2\n ]}}";
        assert_eq!(line_of(first, &["a".into(), "m".into()], Some(1)), 4);
        assert_eq!(line_of(first, &["a".into(), "nope".into()], None), 1);
        assert_eq!(line_of("not json", &["a".into()], None), 1);
    }
}
