//! The query language for records (`type == "price" && data.price > 100`), one for every face:
//! the CLI's `--filter`, and later the app's search, exports and alerts. docs/query.md is its reference.
//!
//! [`Filter::parse`] checks and compiles an expression once (regexes included); [`Filter::matches`]
//! then tests records without allocating, except to parse an event's data as JSON, which happens
//! at most once per record and only when a `data.PATH` is actually reached.

use std::cell::OnceCell;
use std::cmp::Ordering;
use std::fmt;

use regex::Regex;
use serde_json::Value;

use crate::json_path::{column_of, string_literal, JsonPath};
use crate::record::{Body, Record};

/// A compiled query: a predicate on records.
#[derive(Debug, Clone)]
pub struct Filter {
    source: String,
    root: Node,
}

/// Why an expression was refused: `column` is 1-based, in characters, where it went wrong.
/// Displays as `expected a value at column 14`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl QueryError {
    /// Two lines for a terminal: the expression, and a caret under the column.
    pub fn caret(&self, source: &str) -> String {
        format!("{source}\n{}^", " ".repeat(self.column.saturating_sub(1)))
    }
}

impl Filter {
    pub fn parse(source: &str) -> Result<Filter, QueryError> {
        let tokens = lex(source)?;
        let mut p = Parser { src: source, tokens, at: 0 };
        let root = p.or()?;
        if !matches!(p.peek(), Tok::End) {
            return Err(p.error("expected `&&`, `||` or the end"));
        }
        Ok(Filter { source: source.to_owned(), root })
    }

    /// The expression as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `record` satisfies the expression. A name the record lacks (an event field on a
    /// connection record, a JSON field the data does not have) makes its comparison false.
    pub fn matches(&self, record: &Record) -> bool {
        let ctx = Ctx { record, json: OnceCell::new() };
        self.root.eval(&ctx)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone)]
enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// A value on its own: true unless missing, `false` or `null`.
    Truthy(Operand),
    Cmp(Operand, CmpOp, Operand),
    Match(Operand, Box<Regex>),
}

#[derive(Debug, Clone)]
enum Operand {
    Type,
    Id,
    Seq,
    Kind,
    Data,
    Path(JsonPath),
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// What an operand is for one record.
#[derive(Debug, Clone, Copy)]
enum Val<'a> {
    Missing,
    Null,
    Bool(bool),
    Num(f64),
    Str(&'a str),
    /// A JSON object or array.
    Json(&'a Value),
}

struct Ctx<'a> {
    record: &'a Record,
    /// The event's data as JSON: parsed the first time a `data.PATH` needs it.
    json: OnceCell<Option<Value>>,
}

impl Ctx<'_> {
    fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| match &self.record.body {
                // Only an object or an array has fields; skip parsing anything else.
                Body::Event { data, .. } if data.trim_start().starts_with(['{', '[']) => {
                    serde_json::from_str(data).ok()
                }
                _ => None,
            })
            .as_ref()
    }
}

impl Node {
    fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Node::Or(a, b) => a.eval(ctx) || b.eval(ctx),
            Node::And(a, b) => a.eval(ctx) && b.eval(ctx),
            Node::Not(a) => !a.eval(ctx),
            Node::Truthy(a) => !matches!(a.value(ctx), Val::Missing | Val::Null | Val::Bool(false)),
            Node::Cmp(a, op, b) => compare(a.value(ctx), *op, b.value(ctx)),
            Node::Match(a, re) => match a.value(ctx) {
                Val::Str(s) => re.is_match(s),
                Val::Num(n) => re.is_match(&n.to_string()),
                _ => false,
            },
        }
    }
}

impl Operand {
    /// The record's value a name stands for (`type`, `id`, `seq`, `kind`, `data`).
    fn name(word: &str) -> Option<Operand> {
        Some(match word {
            "type" => Operand::Type,
            "id" => Operand::Id,
            "seq" => Operand::Seq,
            "kind" => Operand::Kind,
            "data" => Operand::Data,
            _ => return None,
        })
    }

    fn value<'c>(&'c self, ctx: &'c Ctx<'_>) -> Val<'c> {
        let event = match &ctx.record.body {
            Body::Event { seq, event_type, id, data } => Some((*seq, &**event_type, &**id, data.as_str())),
            _ => None,
        };
        match self {
            Operand::Type => event.map_or(Val::Missing, |e| Val::Str(e.1)),
            Operand::Id => event.map_or(Val::Missing, |e| Val::Str(e.2)),
            Operand::Seq => event.map_or(Val::Missing, |e| Val::Num(e.0 as f64)),
            Operand::Data => event.map_or(Val::Missing, |e| Val::Str(e.3)),
            Operand::Kind => Val::Str(ctx.record.body.kind().as_str()),
            Operand::Path(p) => match ctx.json().and_then(|v| p.get(v)) {
                None => Val::Missing,
                Some(Value::Null) => Val::Null,
                Some(Value::Bool(b)) => Val::Bool(*b),
                Some(Value::Number(n)) => n.as_f64().map_or(Val::Missing, Val::Num),
                Some(Value::String(s)) => Val::Str(s),
                Some(v) => Val::Json(v),
            },
            Operand::Str(s) => Val::Str(s),
            Operand::Num(n) => Val::Num(*n),
            Operand::Bool(b) => Val::Bool(*b),
            Operand::Null => Val::Null,
        }
    }
}

fn unknown_name(word: &str) -> String {
    format!("unknown name `{word}` (the names are type, id, seq, kind, data and data.PATH)")
}

/// A string that reads as a decimal number, for comparing it with a number.
fn as_number(s: &str) -> Option<f64> {
    let plausible = s.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    plausible.then(|| s.parse::<f64>().ok()).flatten().filter(|n| n.is_finite())
}

fn compare(a: Val<'_>, op: CmpOp, b: Val<'_>) -> bool {
    let ord = match (a, b) {
        (Val::Missing, _) | (_, Val::Missing) => return false,
        (Val::Num(x), Val::Num(y)) => x.partial_cmp(&y),
        (Val::Num(x), Val::Str(s)) => match as_number(s) {
            Some(y) => x.partial_cmp(&y),
            None => None,
        },
        (Val::Str(s), Val::Num(y)) => match as_number(s) {
            Some(x) => x.partial_cmp(&y),
            None => None,
        },
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        // Only equality for the rest: true and false, null, objects and arrays have no order.
        (Val::Bool(x), Val::Bool(y)) => return equality(op, x == y),
        (Val::Null, Val::Null) => return equality(op, true),
        (Val::Json(x), Val::Json(y)) => return equality(op, x == y),
        _ => None,
    };
    match ord {
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
        // Values of different kinds are unequal, and unordered.
        None => op == CmpOp::Ne,
    }
}

fn equality(op: CmpOp, equal: bool) -> bool {
    match op {
        CmpOp::Eq => equal,
        CmpOp::Ne => !equal,
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Tok {
    Word(String),
    Path(JsonPath),
    Str(String),
    Num(f64),
    Cmp(CmpOp),
    Tilde,
    And,
    Or,
    Not,
    Open,
    Close,
    End,
}

/// The tokens of `src`, each with its byte offset.
fn lex(src: &str) -> Result<Vec<(Tok, usize)>, QueryError> {
    let err = |at: usize, message: String| QueryError { column: column_of(src, at), message };
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let c = src[i..].chars().next().unwrap_or(' ');
        if c.is_whitespace() {
            i += c.len_utf8();
            continue;
        }
        let start = i;
        let two = b.get(i + 1).copied();
        let (tok, len) = match (c, two) {
            ('=', Some(b'=')) => (Tok::Cmp(CmpOp::Eq), 2),
            ('!', Some(b'=')) => (Tok::Cmp(CmpOp::Ne), 2),
            ('<', Some(b'=')) => (Tok::Cmp(CmpOp::Le), 2),
            ('>', Some(b'=')) => (Tok::Cmp(CmpOp::Ge), 2),
            ('&', Some(b'&')) => (Tok::And, 2),
            ('|', Some(b'|')) => (Tok::Or, 2),
            ('<', _) => (Tok::Cmp(CmpOp::Lt), 1),
            ('>', _) => (Tok::Cmp(CmpOp::Gt), 1),
            ('!', _) => (Tok::Not, 1),
            ('~', _) => (Tok::Tilde, 1),
            ('(', _) => (Tok::Open, 1),
            (')', _) => (Tok::Close, 1),
            ('=', _) => return Err(err(i, "unexpected `=`: compare with `==`".into())),
            ('&', _) => return Err(err(i, "unexpected `&`: write `&&` or `and`".into())),
            ('|', _) => return Err(err(i, "unexpected `|`: write `||` or `or`".into())),
            ('"', _) => {
                let (s, used) = string_literal(src, i).map_err(|e| err(i, e.message).at(e.column))?;
                (Tok::Str(s), used)
            }
            (c, _) if c.is_ascii_digit() || (c == '-' && two.is_some_and(|d| d.is_ascii_digit())) => {
                let len = number_len(&src[i..]);
                match src[i..i + len].parse::<f64>() {
                    Ok(n) if n.is_finite() => (Tok::Num(n), len),
                    _ => return Err(err(i, format!("`{}` is not a number", &src[i..i + len]))),
                }
            }
            (c, _) if c.is_alphanumeric() || c == '_' => {
                let len = src[i..].find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(src.len() - i);
                let word = &src[i..i + len];
                let rest = &src[i + len..];
                if word == "data" && (rest.starts_with('.') || rest.starts_with('[')) {
                    let at = i + len + usize::from(rest.starts_with('.'));
                    let (path, used) = JsonPath::parse_prefix(&src[at..])
                        .map_err(|e| err(at, e.message).at(column_of(src, at) + e.column - 1))?;
                    (Tok::Path(path), at + used - i)
                } else {
                    let tok = match word {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        _ => Tok::Word(word.to_owned()),
                    };
                    (tok, len)
                }
            }
            (c, _) => return Err(err(i, format!("unexpected `{c}`"))),
        };
        out.push((tok, start));
        i += len;
    }
    out.push((Tok::End, src.len()));
    Ok(out)
}

impl QueryError {
    fn at(mut self, column: usize) -> Self {
        self.column = column;
        self
    }
}

/// The length of the number at the start of `s`: `-?digits(.digits)?([eE][+-]?digits)?`.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let digits = |mut i: usize| {
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        i
    };
    let mut i = digits(usize::from(b.first() == Some(&b'-')));
    if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i = digits(i + 1);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let j = i + 1 + usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        if b.get(j).is_some_and(u8::is_ascii_digit) {
            i = digits(j);
        }
    }
    i
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<(Tok, usize)>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].0
    }

    fn next(&mut self) -> (Tok, usize) {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn error(&self, message: &str) -> QueryError {
        QueryError { column: column_of(self.src, self.tokens[self.at].1), message: message.to_owned() }
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut node = self.and()?;
        while matches!(self.peek(), Tok::Or) {
            self.next();
            node = Node::Or(Box::new(node), Box::new(self.and()?));
        }
        Ok(node)
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut node = self.unary()?;
        while matches!(self.peek(), Tok::And) {
            self.next();
            node = Node::And(Box::new(node), Box::new(self.unary()?));
        }
        Ok(node)
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        match self.peek() {
            Tok::Not => {
                self.next();
                Ok(Node::Not(Box::new(self.unary()?)))
            }
            Tok::Open => {
                self.next();
                let node = self.or()?;
                if !matches!(self.peek(), Tok::Close) {
                    return Err(self.error("expected `)`"));
                }
                self.next();
                Ok(node)
            }
            _ => self.test(),
        }
    }

    fn test(&mut self) -> Result<Node, QueryError> {
        let left = self.value()?;
        match self.peek().clone() {
            Tok::Cmp(op) => {
                self.next();
                Ok(Node::Cmp(left, op, self.value()?))
            }
            Tok::Tilde => {
                self.next();
                let (tok, at) = self.next();
                let Tok::Str(pattern) = tok else {
                    self.at -= 1;
                    return Err(self.error("expected a regex in double quotes"));
                };
                let re = Regex::new(&pattern).map_err(|e| QueryError {
                    column: column_of(self.src, at),
                    message: format!("invalid regex ({})", e.to_string().lines().last().unwrap_or("").trim()),
                })?;
                Ok(Node::Match(left, Box::new(re)))
            }
            _ => Ok(Node::Truthy(left)),
        }
    }

    fn value(&mut self) -> Result<Operand, QueryError> {
        let operand = match self.peek() {
            Tok::Path(p) => Operand::Path(p.clone()),
            Tok::Str(s) => Operand::Str(s.clone()),
            Tok::Num(n) => Operand::Num(*n),
            Tok::Word(w) => match (Operand::name(w), w.as_str()) {
                (Some(name), _) => name,
                (None, "true") => Operand::Bool(true),
                (None, "false") => Operand::Bool(false),
                (None, "null") => Operand::Null,
                (None, w) => return Err(self.error(&unknown_name(w))),
            },
            _ => return Err(self.error("expected a value")),
        };
        self.next();
        Ok(operand)
    }
}

/// A name of the query language on its own (`type`, `id`, `seq`, `kind`, `data` or `data.PATH`):
/// what a table column, a sort key or an export column shows for each record. It reads records
/// exactly as a [`Filter`] does.
#[derive(Debug, Clone)]
pub struct Field {
    source: String,
    operand: Operand,
}

/// A field's value for one record: text as the table and a CSV column show it, and a key to sort
/// by (missing < null/bool < numbers by value < strings < JSON objects and arrays as text).
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Missing,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// A JSON object or array, as compact JSON.
    Json(String),
}

impl FieldValue {
    /// The text shown for it: strings as they are, numbers and JSON as JSON, missing as empty.
    pub fn text(&self) -> String {
        match self {
            FieldValue::Missing => String::new(),
            FieldValue::Null => "null".into(),
            FieldValue::Bool(b) => b.to_string(),
            FieldValue::Num(n) => n.to_string(),
            FieldValue::Str(s) | FieldValue::Json(s) => s.clone(),
        }
    }

    fn rank(&self) -> u8 {
        match self {
            FieldValue::Missing => 0,
            FieldValue::Null => 1,
            FieldValue::Bool(_) => 2,
            FieldValue::Num(_) => 3,
            FieldValue::Str(_) => 4,
            FieldValue::Json(_) => 5,
        }
    }

    /// The sort order: by kind of value, then numbers by value and the rest by text.
    pub fn sort_cmp(&self, other: &FieldValue) -> Ordering {
        match (self, other) {
            (FieldValue::Num(a), FieldValue::Num(b)) => a.total_cmp(b),
            (FieldValue::Bool(a), FieldValue::Bool(b)) => a.cmp(b),
            (FieldValue::Str(a), FieldValue::Str(b)) | (FieldValue::Json(a), FieldValue::Json(b)) => a.cmp(b),
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl Field {
    /// Parses a name; anything else (an operator, a literal, a second name) is refused with the
    /// column where it went wrong.
    pub fn parse(source: &str) -> Result<Field, QueryError> {
        let tokens = lex(source)?;
        let (tok, at) = &tokens[0];
        let operand = match tok {
            Tok::Path(p) => Operand::Path(p.clone()),
            Tok::Word(w) => match Operand::name(w) {
                Some(name) => name,
                None => return Err(QueryError { column: column_of(source, *at), message: unknown_name(w) }),
            },
            Tok::End => return Err(QueryError { column: 1, message: "expected a name such as data.PATH".into() }),
            _ => {
                return Err(QueryError {
                    column: column_of(source, *at),
                    message: "expected a name such as data.PATH".into(),
                })
            }
        };
        if let Some((tok, at)) = tokens.get(1).filter(|(t, _)| !matches!(t, Tok::End)) {
            let _ = tok;
            return Err(QueryError { column: column_of(source, *at), message: "expected one name only".into() });
        }
        Ok(Field { source: source.trim().to_owned(), operand })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The field's value in `record` (missing for records that are not events).
    pub fn value(&self, record: &Record) -> FieldValue {
        let ctx = Ctx { record, json: OnceCell::new() };
        match self.operand.value(&ctx) {
            Val::Missing => FieldValue::Missing,
            Val::Null => FieldValue::Null,
            Val::Bool(b) => FieldValue::Bool(b),
            Val::Num(n) => FieldValue::Num(n),
            Val::Str(s) => FieldValue::Str(s.to_owned()),
            Val::Json(v) => FieldValue::Json(v.to_string()),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::record::Timestamp;

    fn event(event_type: &str, id: &str, seq: u64, data: &str) -> Record {
        Record::new(
            Arc::from("f"),
            Timestamp(0),
            Body::Event { seq, event_type: Arc::from(event_type), id: Arc::from(id), data: data.into() },
        )
    }

    fn yes(q: &str, r: &Record) -> bool {
        Filter::parse(q).unwrap_or_else(|e| panic!("{q}: {e}")).matches(r)
    }

    fn error(q: &str) -> String {
        Filter::parse(q).unwrap_err().to_string()
    }

    #[test]
    fn names_read_the_event() {
        let r = event("price", "7", 7, r#"{"price": 114.33, "symbol": "FSC", "tags": ["a", "b"], "ok": true}"#);
        assert!(yes(r#"type == "price" && data.price > 100"#, &r));
        assert!(yes(r#"type == "price" and data.price > 100 and seq == 7 and id == "7""#, &r));
        assert!(yes(r#"kind == "event""#, &r));
        assert!(yes(r#"data.tags[1] == "b""#, &r));
        assert!(yes(r#"data ~ "FSC" && data.symbol ~ "^F""#, &r));
        assert!(yes("data.ok", &r));
        assert!(!yes("data.price < 100 || data.price >= 115", &r));
        assert!(yes(r#"!(type == "tick")"#, &r));
        assert!(yes(r#"!type == "tick""#, &r));
    }

    #[test]
    fn numbers_compare_as_numbers() {
        let r = event("t", "10", 2, r#"{"n": 9}"#);
        assert!(yes("id > 9", &r), "the id reads as a number");
        assert!(yes(r#"id > "09""#, &r) && yes(r#"id < "9""#, &r), "two strings compare as text");
        assert!(yes("data.n == 9.0 && data.n < 10", &r));
        assert!(yes(r#"data.n == "9""#, &r));
        assert!(yes("seq >= 2 && seq <= 2 && seq != 3", &r));
        assert!(yes("1e2 == 100 && -1 < 0", &r));
    }

    #[test]
    fn missing_field_is_false_never_an_error() {
        let r = event("t", "", 1, "plain text");
        for q in ["data.x == 1", "data.x != 1", "data.x < 1", "data.x ~ \"\"", "data.x"] {
            assert!(!yes(q, &r), "{q}");
        }
        assert!(yes("!(data.x == 1)", &r));
        let open = Record::new(Arc::from("f"), Timestamp(0), Body::Retry { ms: 5 });
        assert!(!yes("type != \"x\"", &open), "a connection record has no type");
        assert!(yes("kind == \"retry\"", &open));
    }

    #[test]
    fn different_kinds_are_unequal_and_unordered() {
        let r = event("t", "", 1, r#"{"b": true, "z": null, "o": {"a": 1}, "s": "x"}"#);
        assert!(yes("data.b == true && data.b != 1 && data.z == null && data.s != 1", &r));
        assert!(!yes("data.b > false || data.s > 1 || data.s < 1 || data.o == 1", &r));
        assert!(yes("data.o == data.o && data.o != data.s", &r));
        assert!(!yes("data.z", &r) && !yes("data.b == false", &r));
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let r = event("a", "", 1, "");
        assert!(yes(r#"type == "a" || type == "b" && false"#, &r));
        assert!(!yes(r#"(type == "a" || type == "b") && false"#, &r));
    }

    #[test]
    fn string_escapes() {
        let r = event("a\"b", "", 1, "line\nnext\u{e9}");
        assert!(yes(r#"type == "a\"b" && data == "line\nnext\u00e9""#, &r));
    }

    #[test]
    fn errors_point_at_the_column() {
        assert_eq!(error(r#"type == "x" &&"#), "expected a value at column 15");
        assert_eq!(error("type == "), "expected a value at column 9");
        assert_eq!(error(""), "expected a value at column 1");
        assert_eq!(error("type = 1"), "unexpected `=`: compare with `==` at column 6");
        assert_eq!(error("type == 1 & seq"), "unexpected `&`: write `&&` or `and` at column 11");
        assert_eq!(error("(type == 1"), "expected `)` at column 11");
        assert_eq!(error("type == 1 seq"), "expected `&&`, `||` or the end at column 11");
        assert_eq!(
            error("typ == 1"),
            "unknown name `typ` (the names are type, id, seq, kind, data and data.PATH) at column 1"
        );
        assert_eq!(error(r#"data ~ "(""#), "invalid regex (error: unclosed group) at column 8");
        assert_eq!(error("data ~ seq"), "expected a regex in double quotes at column 8");
        assert_eq!(error(r#"type == "abc"#), "unterminated string at column 9");
        assert_eq!(error(r#"type == "a\q""#), "unknown escape `\\q` at column 11");
        assert_eq!(error("data.a..b == 1"), "expected a name at column 8");
        assert_eq!(error("data.a[x] == 1"), "expected an index or a quoted name at column 8");
        assert_eq!(error("é # 1"), "unexpected `#` at column 3");
        assert_eq!(error("seq == 1e999"), "`1e999` is not a number at column 8");
    }

    #[test]
    fn caret_sits_under_the_column() {
        let q = "seq == ";
        assert_eq!(Filter::parse(q).unwrap_err().caret(q), "seq == \n       ^");
    }

    #[test]
    fn a_field_reads_records_as_the_filter_does_and_sorts_by_kind_then_value() {
        let rec = |data: &str| {
            let body = Body::Event { seq: 4, event_type: Arc::from("px"), id: Arc::from("9"), data: data.into() };
            Record::new(Arc::from("f"), Timestamp(0), body)
        };
        let r = rec(r#"{"s":"AB","n":2.5,"o":{"k":[1]},"z":null,"b":true}"#);
        let get = |name: &str| Field::parse(name).unwrap().value(&r);
        assert_eq!(get("data.s"), FieldValue::Str("AB".into()));
        assert_eq!(get("data.n").text(), "2.5");
        assert_eq!(get("data.o").text(), r#"{"k":[1]}"#);
        assert_eq!(get("data.o.k[0]").text(), "1");
        assert_eq!((get("data.z").text(), get("data.b").text()), ("null".into(), "true".into()));
        assert_eq!(get("data.missing"), FieldValue::Missing);
        assert_eq!((get("type").text(), get("id").text(), get("seq").text()), ("px".into(), "9".into(), "4".into()));
        assert_eq!(Field::parse(" data.s ").unwrap().as_str(), "data.s");

        let mut values = [
            FieldValue::Str("b".into()),
            FieldValue::Num(10.0),
            FieldValue::Missing,
            FieldValue::Num(9.0),
            FieldValue::Str("a".into()),
            FieldValue::Null,
        ];
        values.sort_by(FieldValue::sort_cmp);
        let texts: Vec<String> = values.iter().map(FieldValue::text).collect();
        assert_eq!(texts, ["", "null", "9", "10", "a", "b"]);

        for (bad, column) in [("", 1), ("data.", 6), ("type == 1", 6), ("price", 1), ("\"x\"", 1)] {
            let e = Field::parse(bad).unwrap_err();
            assert_eq!(e.column, column, "{bad}: {}", e.message);
        }
    }
}
