//! Gnocchi's filter-string syntax (`QueryStringSearchAttrFilter`,
//! docs/gnocchi-semantics.md#the-filter-string), read exactly as its pyparsing
//! grammar reads it,
//! quirks included: `not`, `and`, `∧`, `or`, `∨` in that order of
//! precedence and matched as bare prefixes (`notes = 1` is `not es = 1`,
//! and `not = 1` does not parse),
//! the operator regex tried in order (so `==` never parses), numbers as
//! floats, `None`/`true`… matched as prefixes, operands of a chain
//! reversed. The result is the raw document Gnocchi builds, before its
//! schema checks it (`Filter::from_raw`).

use super::{FilterError, MAX_DEPTH, Raw};

/// The operator regex's alternatives, in order.
const OPERATORS: [&str; 18] = [
    ">=", "<=", "!=", ">", "<", "=", "==", "eq", "ne", "lt", "gt", "ge", "le", "in", "like", "≠",
    "≥", "≤",
];
const MULTIPLE_OPERATORS: [&str; 4] = ["and", "or", "∧", "∨"];
/// infixNotation levels, tightest first; the first one is unary.
const LEVELS: [&str; 5] = ["not", "and", "∧", "or", "∨"];

/// pyparsing's parse results: strings (values and operator words alike),
/// numbers, booleans, null, `[…]` lists and groups.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Value(Raw),
    List(Vec<Token>),
    Group(Vec<Token>),
}

struct Parser<'a> {
    text: &'a str,
    /// Farthest position a token was expected at, and what.
    failure: (usize, &'static str),
}

impl<'a> Parser<'a> {
    fn fail<T>(&mut self, at: usize, expected: &'static str) -> Option<T> {
        if at >= self.failure.0 {
            self.failure = (at, expected);
        }
        None
    }

    fn skip_whitespace(&self, at: usize) -> usize {
        at + self.text[at..]
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count()
    }

    fn literal(&mut self, at: usize, word: &'static str) -> Option<usize> {
        let at = self.skip_whitespace(at);
        if self.text[at..].starts_with(word) {
            Some(at + word.len())
        } else {
            self.fail(at, word)
        }
    }

    fn prefix_of(&self, at: usize, words: &[&'static str]) -> Option<&'static str> {
        words
            .iter()
            .copied()
            .find(|w| self.text[at..].starts_with(w))
    }

    fn hex_run(&self, at: usize, count: usize) -> Option<usize> {
        let run = self.text.as_bytes().get(at..at + count)?;
        run.iter().all(u8::is_ascii_hexdigit).then_some(at + count)
    }

    /// `8hex [-] 4hex [-] 4hex [-] 4hex [-] 12hex`, no space inside.
    fn uuid(&self, at: usize) -> Option<usize> {
        let mut end = self.hex_run(at, 8)?;
        for count in [4, 4, 4, 12] {
            if self.text[end..].starts_with('-') {
                end += 1;
            }
            end = self.hex_run(end, count)?;
        }
        Some(end)
    }

    /// `[+-]?\d+(:?\.\d*)?(:?[eE][+-]?\d+)?` (the `(:?` is Gnocchi's typo:
    /// an optional colon).
    fn number(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let digits = |from: usize| {
            from + bytes[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let mut end = at + usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
        let after = digits(end);
        if after == end {
            return None;
        }
        end = after;
        let colon = |from: usize| from + usize::from(bytes.get(from) == Some(&b':'));
        let fraction = colon(end);
        if bytes.get(fraction) == Some(&b'.') {
            end = digits(fraction + 1);
        }
        let exponent = colon(end);
        if matches!(bytes.get(exponent), Some(b'e' | b'E')) {
            let sign =
                exponent + 1 + usize::from(matches!(bytes.get(exponent + 1), Some(b'+' | b'-')));
            let after = digits(sign);
            if after > sign {
                end = after;
            }
        }
        Some(end)
    }

    /// `null | boolean | uuid | identifier | number | quoted | list`: the
    /// first alternative that matches wins, even if what follows fails.
    /// `depth` counts the lists this term is inside.
    fn term(&mut self, at: usize, depth: usize) -> Result<Option<(Token, usize)>, FilterError> {
        let at = self.skip_whitespace(at);
        let rest = &self.text[at..];
        if let Some(word) = self.prefix_of(at, &["None", "none", "null"]) {
            return Ok(Some((Token::Value(Raw::None), at + word.len())));
        }
        if let Some(word) = self.prefix_of(at, &["False", "True", "false", "true"]) {
            let value = word.eq_ignore_ascii_case("true");
            return Ok(Some((Token::Value(Raw::Bool(value)), at + word.len())));
        }
        if let Some(end) = self.uuid(at) {
            return Ok(Some((
                Token::Value(Raw::Str(self.text[at..end].to_owned())),
                end,
            )));
        }
        if rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            return Ok(Some((
                Token::Value(Raw::Str(rest[..len].to_owned())),
                at + len,
            )));
        }
        if let Some(end) = self.number(at) {
            let text = &self.text[at..end];
            // Python's float() refuses the colon the regex lets through;
            // Gnocchi answers 500 there.
            let value: f64 = text.parse().map_err(|_| {
                FilterError::Syntax(format!("could not convert string to float: '{text}'"))
            })?;
            return Ok(Some((Token::Value(Raw::Float(value)), end)));
        }
        if let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') {
            let body = &rest[1..];
            if let Some(len) = body.find([quote, '\n', '\r'])
                && body[len..].starts_with(quote)
            {
                let value = convert_whitespace_escapes(&body[..len]);
                return Ok(Some((Token::Value(Raw::Str(value)), at + len + 2)));
            }
            return Ok(self.fail(at, "a closing quote"));
        }
        if rest.starts_with('[') {
            if depth >= MAX_DEPTH {
                return Err(too_deep(self.text, at));
            }
            let mut items = Vec::new();
            let mut end = at + 1;
            if let Some((item, after)) = self.term(end, depth + 1)? {
                items.push(item);
                end = after;
                while let Some(comma) = self.literal(end, ",") {
                    let Some((item, after)) = self.term(comma, depth + 1)? else {
                        break;
                    };
                    items.push(item);
                    end = after;
                }
            }
            return Ok(self.literal(end, "]").map(|end| (Token::List(items), end)));
        }
        Ok(self.fail(
            at,
            "a value (null, true, a UUID, a name, a number, a quoted string or a list)",
        ))
    }

    fn condition(&mut self, at: usize) -> Result<Option<(Token, usize)>, FilterError> {
        let Some((left, at)) = self.term(at, 0)? else {
            return Ok(None);
        };
        let at = self.skip_whitespace(at);
        let Some(operator) = self.prefix_of(at, &OPERATORS) else {
            return Ok(self.fail(at, "an operator (=, !=, <, <=, >, >=, in, like…)"));
        };
        let Some((right, end)) = self.term(at + operator.len(), 0)? else {
            return Ok(None);
        };
        let group = Token::Group(vec![
            left,
            Token::Value(Raw::Str(operator.to_owned())),
            right,
        ]);
        Ok(Some((group, end)))
    }

    /// pyparsing 3.3's `infix_notation`, an operator-precedence parser:
    /// a prefix `not` is taken whenever it matches (no going back), chains
    /// of one operator at one level make one group, parentheses only group.
    fn expression(&mut self, mut at: usize) -> Result<Option<(Token, usize)>, FilterError> {
        let mut operands: Vec<Token> = Vec::new();
        let mut operators: Vec<Pending> = Vec::new();
        let mut depth = 0usize;
        let mut expect_operand = true;
        loop {
            let position = self.skip_whitespace(at);
            let rest = &self.text[position..];
            if expect_operand {
                let nesting = operators
                    .iter()
                    .filter(|pending| !matches!(pending, Pending::Chain { .. }))
                    .count();
                if nesting >= MAX_DEPTH && (rest.starts_with(LEVELS[0]) || rest.starts_with('(')) {
                    return Err(too_deep(self.text, position));
                }
                if rest.starts_with(LEVELS[0]) {
                    operators.push(Pending::Not);
                    at = position + LEVELS[0].len();
                } else if let Some((condition, end)) = self.condition(position)? {
                    operands.push(condition);
                    at = end;
                    expect_operand = false;
                } else if rest.starts_with('(') {
                    operators.push(Pending::Open);
                    depth += 1;
                    at = position + 1;
                } else {
                    return Ok(self.fail(position, "a condition, `not` or `(`"));
                }
                continue;
            }
            if depth > 0 && rest.starts_with(')') {
                reduce(&mut operators, &mut operands, 0);
                operators.pop();
                depth -= 1;
                at = position + 1;
                continue;
            }
            let Some(level) = (1..LEVELS.len()).find(|&l| rest.starts_with(LEVELS[l])) else {
                break;
            };
            // Precedence falls with the level: `and` (1) binds tightest.
            let precedence = LEVELS.len() - level;
            reduce(&mut operators, &mut operands, precedence);
            match operators.last_mut() {
                Some(Pending::Chain {
                    level: top,
                    operators,
                }) if *top == level => *operators += 1,
                _ => operators.push(Pending::Chain {
                    level,
                    operators: 1,
                }),
            }
            at = position + LEVELS[level].len();
            expect_operand = true;
        }
        reduce(&mut operators, &mut operands, 0);
        if depth != 0 || operands.len() != 1 || !operators.is_empty() {
            let position = self.skip_whitespace(at);
            return Ok(self.fail(position, "balanced parentheses"));
        }
        Ok(operands.pop().map(|token| (token, at)))
    }
}

/// An operator waiting for its operands.
enum Pending {
    Open,
    Not,
    Chain { level: usize, operators: usize },
}

impl Pending {
    /// pyparsing's precedence (higher binds tighter); parentheses stop reductions.
    fn precedence(&self) -> Option<usize> {
        match self {
            Pending::Open => None,
            Pending::Not => Some(LEVELS.len()),
            Pending::Chain { level, .. } => Some(LEVELS.len() - level),
        }
    }
}

/// Applies the pending operators that bind tighter than `precedence`.
fn reduce(operators: &mut Vec<Pending>, operands: &mut Vec<Token>, precedence: usize) {
    while let Some(top) = operators.last() {
        match top.precedence() {
            Some(p) if p > precedence => {}
            _ => break,
        }
        let group = match operators.pop() {
            Some(Pending::Chain {
                level,
                operators: count,
            }) => {
                let split = operands.len().saturating_sub(count + 1);
                let args = operands.split_off(split);
                let mut group = Vec::with_capacity(2 * args.len());
                for (i, arg) in args.into_iter().enumerate() {
                    if i > 0 {
                        group.push(Token::Value(Raw::Str(LEVELS[level].to_owned())));
                    }
                    group.push(arg);
                }
                group
            }
            _ => {
                let mut group = vec![Token::Value(Raw::Str(LEVELS[0].to_owned()))];
                group.extend(operands.pop());
                group
            }
        };
        operands.push(Token::Group(group));
    }
}

/// pyparsing's QuotedString turns `\t`, `\n`, `\f`, `\r` into the characters.
fn convert_whitespace_escapes(text: &str) -> String {
    text.replace("\\t", "\t")
        .replace("\\n", "\n")
        .replace("\\f", "\u{c}")
        .replace("\\r", "\r")
}

/// Parses a filter string into the document Gnocchi builds from it.
pub fn parse(text: &str) -> Result<Raw, FilterError> {
    let mut parser = Parser {
        text,
        failure: (0, "a condition"),
    };
    let parsed = parser.expression(0)?;
    let token = match parsed {
        Some((token, end)) if parser.skip_whitespace(end) == text.len() => token,
        Some((_, end)) => {
            let at = parser.skip_whitespace(end);
            return Err(syntax_error(text, at, "end of text"));
        }
        None => return Err(syntax_error(text, parser.failure.0, parser.failure.1)),
    };
    match token {
        Token::Group(items) => to_document(items),
        other => token_value(other),
    }
}

/// A `not` or `(` past [`MAX_DEPTH`] open ones, or a list that deep.
fn too_deep(text: &str, at: usize) -> FilterError {
    let column = text[..at].chars().count();
    FilterError::TooDeep { at: Some(column) }
}

fn syntax_error(text: &str, at: usize, expected: &str) -> FilterError {
    let found: String = text[at..].chars().take(12).collect();
    let found = if found.is_empty() {
        "end of text".to_owned()
    } else {
        format!("'{found}'")
    };
    let column = text[..at].chars().count();
    FilterError::Syntax(format!(
        "Expected {expected}, found {found} (at char {column})"
    ))
}

/// A list or a value as `asList()` gives it.
fn token_value(token: Token) -> Result<Raw, FilterError> {
    match token {
        Token::Value(value) => Ok(value),
        Token::List(items) | Token::Group(items) => Ok(Raw::List(
            items
                .into_iter()
                .map(token_value)
                .collect::<Result<_, _>>()?,
        )),
    }
}

fn unparsable(reason: &str) -> FilterError {
    FilterError::Syntax(format!(
        "Unable to build a filter from this query: {reason}"
    ))
}

/// Gnocchi's `_parsed_query2dict`: pops tokens from the end, which is why
/// the operands of a chain come out reversed, and why a value that spells
/// an operator (`a = "in"`) derails it.
fn to_document(mut items: Vec<Token>) -> Result<Raw, FilterError> {
    let mut result: Option<Raw> = None;
    while let Some(part) = items.pop() {
        match part {
            Token::Value(Raw::Str(word)) if OPERATORS.contains(&word.as_str()) => {
                let key = items
                    .pop()
                    .ok_or_else(|| unparsable("an operator without operand"))
                    .and_then(token_value)?;
                let operand = Raw::Dict(vec![(key, result.take().unwrap_or(Raw::None))]);
                result = Some(Raw::Dict(vec![(Raw::Str(word), operand)]));
            }
            Token::Value(Raw::Str(word)) if MULTIPLE_OPERATORS.contains(&word.as_str()) => {
                let Some(Raw::Dict(fields)) = &mut result else {
                    return Err(unparsable(&format!("`{word}` after a value")));
                };
                let existing = fields
                    .iter_mut()
                    .find(|(k, v)| *k == Raw::Str(word.clone()) && v.is_truthy());
                match existing {
                    Some((_, Raw::List(operands))) => {
                        let next = match items.pop() {
                            Some(Token::Group(group)) => to_document(group)?,
                            _ => return Err(unparsable(&format!("`{word}` without operand"))),
                        };
                        operands.push(next);
                    }
                    Some(_) => return Err(unparsable(&format!("`{word}` on a value"))),
                    None => {
                        let previous = result.take().unwrap_or(Raw::None);
                        result = Some(Raw::Dict(vec![(Raw::Str(word), Raw::List(vec![previous]))]));
                    }
                }
            }
            Token::Value(Raw::Str(word)) if word == LEVELS[0] => {
                result = Some(Raw::Dict(vec![(
                    Raw::Str(word),
                    result.unwrap_or(Raw::None),
                )]));
            }
            Token::Value(value) => result = Some(value),
            Token::List(list) => absorb(
                &mut result,
                Raw::List(
                    list.into_iter()
                        .map(token_value)
                        .collect::<Result<_, _>>()?,
                ),
            )?,
            Token::Group(group) => absorb(&mut result, to_document(group)?)?,
        }
    }
    Ok(result.unwrap_or(Raw::None))
}

/// A sub-result: the result if there is none yet, else appended to the
/// list of a dict's first value; dropped when the result is a plain value.
fn absorb(result: &mut Option<Raw>, value: Raw) -> Result<(), FilterError> {
    match result {
        None | Some(Raw::None) => *result = Some(value),
        Some(Raw::Dict(fields)) => match fields.first_mut() {
            Some((_, Raw::List(operands))) => operands.push(value),
            _ => return Err(unparsable("an operand where a list was expected")),
        },
        Some(_) => {}
    }
    Ok(())
}

impl Raw {
    fn is_truthy(&self) -> bool {
        match self {
            Raw::None => false,
            Raw::Bool(b) => *b,
            Raw::Int(i) => *i != 0,
            Raw::Float(f) => *f != 0.0,
            Raw::Str(s) => !s.is_empty(),
            Raw::List(items) => !items.is_empty(),
            Raw::Dict(fields) => !fields.is_empty(),
        }
    }
}
