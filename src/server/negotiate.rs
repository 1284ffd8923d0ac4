//! Content negotiation as Gnocchi's stack does it: webob's `Accept`
//! parsing and `acceptable_offers` (RFC 7231 matching, ties kept in the
//! order of the offers), used twice for an error (pecan picks its JSON
//! envelope only when `application/json` is the best of `text/plain`,
//! `text/html`, `application/json`; otherwise webob renders its own page,
//! the best of `text/html`, `application/json`, else plain text), and once
//! for a success (the handler's type, JSON but for two, or 406).

use std::sync::LazyLock;

use regex::Regex;

/// webob's grammar of an `Accept` header (`Accept.accept_compiled_re` and
/// the pieces it is built from).
struct Grammar {
    valid: Regex,
    item: Regex,
    parameter: Regex,
}

static GRAMMAR: LazyLock<Grammar> = LazyLock::new(|| {
    let ows = "[ \t]*";
    let token = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+";
    let qvalue = r"(?:0(?:\.[0-9]{0,3})?)|(?:1(?:\.0{0,3})?)";
    let weight = format!("{ows};{ows}[qQ]=({qvalue})");
    let qdtext = "[\t \x21\x23-\x5b\x5d-\x7e\u{80}-\u{ff}]";
    let quoted_pair = "\\\\[\t \x21-\x7e\u{80}-\u{ff}]";
    let quoted_string = format!("\"(?:(?:{qdtext})|(?:{quoted_pair}))*\"");
    // webob forbids a media type parameter named `q` with a lookahead;
    // here the name is any token but `q`/`Q` alone.
    let tchar = r"!#$%&'*+\-.^_`|~0-9A-Za-z";
    let not_q = format!("(?:[!#$%&'*+\\-.^_`|~0-9A-PR-Za-pr-z][{tchar}]*|[qQ][{tchar}]+)");
    let media_parameter = format!("{not_q}=(?:(?:{token})|(?:{quoted_string}))");
    let media_range = format!("({token}/{token})((?:{ows};{ows}{media_parameter})*)");
    let accept_ext = format!("{ows};{ows}{token}(?:=(?:(?:{token})|(?:{quoted_string})))?");
    let element = format!("{media_range}(?:{weight}((?:{accept_ext})*))?");
    let valid = format!("^(?:$|(?:(?:,|(?:{element}))(?:{ows},(?:{ows}{element})?)*)$)");
    Grammar {
        valid: Regex::new(&valid).expect("the Accept grammar compiles"),
        item: Regex::new(&element).expect("the Accept grammar compiles"),
        parameter: Regex::new(&format!("{ows};{ows}({token})=({token}|{quoted_string})"))
            .expect("the Accept grammar compiles"),
    }
});

/// A parsed `Accept` header, as webob sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum Accept {
    /// No header: everything is acceptable, in the offers' order.
    Absent,
    /// A header that does not parse: treated like no header.
    Invalid,
    /// Media ranges with their q-values (type/subtype lowercased, and
    /// their media type parameters).
    Valid(Vec<MediaRange>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct MediaRange {
    pub kind: String,
    pub subtype: String,
    pub params: Vec<(String, String)>,
    pub quality: f64,
}

impl Accept {
    pub fn parse(header: Option<&str>) -> Accept {
        let Some(text) = header else {
            return Accept::Absent;
        };
        let grammar = &*GRAMMAR;
        if !grammar.valid.is_match(text) {
            return Accept::Invalid;
        }
        let mut ranges = Vec::new();
        for item in grammar.item.captures_iter(text) {
            let type_subtype = item.get(1).map_or("", |m| m.as_str()).to_ascii_lowercase();
            let (kind, subtype) = type_subtype.split_once('/').unwrap_or((&type_subtype, ""));
            let params = grammar
                .parameter
                .captures_iter(item.get(2).map_or("", |m| m.as_str()))
                .map(|p| {
                    let value = p[2].to_owned();
                    let value = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                        Some(inner) => unescape_quoted(inner),
                        None => value,
                    };
                    (p[1].to_ascii_lowercase(), value)
                })
                .collect();
            let quality = item
                .get(3)
                .and_then(|q| q.as_str().parse::<f64>().ok())
                .unwrap_or(1.0);
            ranges.push(MediaRange {
                kind: kind.to_owned(),
                subtype: subtype.to_owned(),
                params,
                quality,
            });
        }
        Accept::Valid(ranges)
    }

    /// webob's `acceptable_offers`: the offers (`type/subtype`, no
    /// parameters) the header admits, best first; equal q-values keep the
    /// offers' order. For each offer the most specific matching range
    /// decides (exact type, then `type/*`, then `*/*`; the first of equals).
    pub fn acceptable<'o>(&self, offers: &[&'o str]) -> Vec<&'o str> {
        let ranges = match self {
            Accept::Absent | Accept::Invalid => return offers.to_vec(),
            Accept::Valid(ranges) => ranges,
        };
        let mut found: Vec<(f64, usize, &'o str)> = Vec::new();
        for (index, offer) in offers.iter().enumerate() {
            let (kind, subtype) = offer.split_once('/').unwrap_or((offer, ""));
            let mut best: Option<(u8, f64)> = None;
            for range in ranges {
                let specificity = if range.kind == kind && range.subtype == subtype {
                    if range.params.is_empty() { 3 } else { continue }
                } else if range.subtype == "*" && range.kind == kind {
                    2
                } else if range.kind == "*" && range.subtype == "*" {
                    1
                } else {
                    continue;
                };
                if best.is_none_or(|(s, _)| specificity > s) {
                    best = Some((specificity, range.quality));
                }
            }
            if let Some((_, quality)) = best
                && quality > 0.0
            {
                found.push((quality, index, offer));
            }
        }
        found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        found.into_iter().map(|(_, _, offer)| offer).collect()
    }

    pub fn best<'o>(&self, offers: &[&'o str]) -> Option<&'o str> {
        self.acceptable(offers).first().copied()
    }
}

/// RFC 7230's quoted-pair: a backslash escapes the next character.
fn unescape_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How an error page is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorStyle {
    /// Gnocchi's `{"code", "title", "description"}` (pecan).
    Envelope,
    /// webob's pages.
    Html,
    Json,
    Plain,
}

/// Pecan reads a missing or empty header as `*/*`; webob reads the header
/// as it is.
pub fn error_style(header: Option<&str>) -> ErrorStyle {
    let pecan_view = match header {
        None | Some("") => Accept::parse(Some("*/*")),
        Some(text) => Accept::parse(Some(text)),
    };
    if pecan_view.best(&["text/plain", "text/html", "application/json"]) == Some("application/json")
    {
        return ErrorStyle::Envelope;
    }
    webob_error_style(header)
}

/// webob's own choice, for pages written outside pecan (keystonemiddleware's).
pub fn webob_error_style(header: Option<&str>) -> ErrorStyle {
    match Accept::parse(Some(header.unwrap_or(""))).best(&["text/html", "application/json"]) {
        Some("text/html") => ErrorStyle::Html,
        Some(_) => ErrorStyle::Json,
        None => ErrorStyle::Plain,
    }
}

/// Whether an answer of this type is acceptable (else pecan answers 406).
pub fn accepts(header: Option<&str>, offer: &str) -> bool {
    match header {
        None | Some("") | Some("*/*") => true,
        // What clients send most, without the grammar.
        Some(text) if text == offer => true,
        Some(text) => !Accept::parse(Some(text)).acceptable(&[offer]).is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_styles_follow_pecan_then_webob() {
        // Each case was checked against the real Gnocchi 4.7.1.
        let cases = [
            (None, ErrorStyle::Plain),
            (Some(""), ErrorStyle::Plain),
            (Some("*/*"), ErrorStyle::Html),
            (Some("application/json"), ErrorStyle::Envelope),
            (Some("application/json, */*"), ErrorStyle::Html),
            (
                Some("text/plain, application/json; q=0.8"),
                ErrorStyle::Json,
            ),
            (
                Some("application/json;q=0.5, text/html;q=0.5"),
                ErrorStyle::Html,
            ),
            (Some("text/*"), ErrorStyle::Html),
            (Some("application/*"), ErrorStyle::Envelope),
            (Some("foo"), ErrorStyle::Html),
            (Some("application/json;q=0"), ErrorStyle::Plain),
        ];
        for (header, style) in cases {
            assert_eq!(error_style(header), style, "{header:?}");
        }
    }

    #[test]
    fn offers_are_ranked_like_webob() {
        // webob: [('application/json', 0.5), ('text/plain', 0.3), ('text/html', 0.3)]
        let accept = Accept::parse(Some(
            "text/html;level=1, text/*;q=0.3, application/json;q=0.5",
        ));
        assert_eq!(
            accept.acceptable(&["text/plain", "text/html", "application/json"]),
            ["application/json", "text/plain", "text/html"]
        );
        let json = "application/json";
        assert!(!accepts(Some("text/plain"), json));
        assert!(accepts(Some("*/*"), json));
        assert!(accepts(Some("garbage,,;"), json));
        assert!(!accepts(Some("application/json;q=0"), json));
        assert!(!accepts(Some("application/json"), "text/html"));
        assert_eq!(Accept::parse(Some("a/b;q=2")), Accept::Invalid);
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(header in "\\PC{0,40}") {
            let _ = error_style(Some(&header));
            let _ = accepts(Some(&header), "application/json");
        }
    }
}
