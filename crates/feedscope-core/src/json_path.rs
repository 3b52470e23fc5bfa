//! A path into a JSON value, such as `choices[0].delta.content`: the one syntax the query
//! language (`data.PATH`), JSON columns and LLM text assembly use to name a field.
//!
//! A path is a sequence of steps: a name (`delta`, or `["a name.with dots"]` for any key) or an
//! array item (`[0]`). Names are runs of letters, digits, `_`, `-`, `$` and `@`; the first step
//! has no leading dot.

use std::fmt;

use serde_json::Value;

/// One step of a [`JsonPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array item, from 0.
    Index(usize),
}

/// A parsed path; never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// Why a path was refused: `column` is 1-based, in characters, within the path's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at column {column}")]
pub struct PathError {
    pub column: usize,
    pub message: String,
}

impl JsonPath {
    /// Parses the whole of `s` as a path.
    pub fn parse(s: &str) -> Result<JsonPath, PathError> {
        let (path, used) = JsonPath::parse_prefix(s)?;
        if used < s.len() {
            return Err(PathError {
                column: column_of(s, used),
                message: format!("unexpected `{}` in a JSON path", s[used..].chars().next().unwrap_or(' ')),
            });
        }
        Ok(path)
    }

    /// Parses the longest path at the start of `s`, returning it and the bytes it used. The query
    /// language reads `data.PATH` with it, so the path's syntax lives here only.
    pub fn parse_prefix(s: &str) -> Result<(JsonPath, usize), PathError> {
        let mut steps = Vec::new();
        let mut i = 0;
        loop {
            let rest = &s[i..];
            if rest.starts_with('[') {
                let (step, used) = bracket(s, i)?;
                steps.push(step);
                i += used;
            } else if !steps.is_empty() && !rest.starts_with('.') {
                break;
            } else {
                if !steps.is_empty() {
                    i += 1; // the dot
                }
                let len = s[i..].find(|c: char| !is_name_char(c)).unwrap_or(s.len() - i);
                if len == 0 {
                    return Err(PathError { column: column_of(s, i), message: "expected a name".into() });
                }
                steps.push(Step::Key(s[i..i + len].to_owned()));
                i += len;
            }
        }
        Ok((JsonPath { steps }, i))
    }

    /// The value the path names in `v`, or `None` when a member or item is missing, or a step
    /// meets a value of the wrong shape (a name on an array, an index on an object).
    pub fn get<'a>(&self, v: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(v, |v, step| match step {
            Step::Key(k) => v.as_object()?.get(k),
            Step::Index(n) => v.as_array()?.get(*n),
        })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The paths of `v`'s scalar values (strings, numbers, booleans, null) and empty containers,
    /// depth first in document order, at most `limit` of them: what a person can pick as a
    /// column. A scalar at the top has no path, so it gives none.
    pub fn leaves(v: &Value, limit: usize) -> Vec<(JsonPath, &Value)> {
        fn walk<'a>(v: &'a Value, steps: &mut Vec<Step>, out: &mut Vec<(JsonPath, &'a Value)>, limit: usize) {
            if out.len() >= limit {
                return;
            }
            match v {
                Value::Object(m) if !m.is_empty() => {
                    for (k, item) in m {
                        steps.push(Step::Key(k.clone()));
                        walk(item, steps, out, limit);
                        steps.pop();
                    }
                }
                Value::Array(a) if !a.is_empty() => {
                    for (i, item) in a.iter().enumerate() {
                        steps.push(Step::Index(i));
                        walk(item, steps, out, limit);
                        steps.pop();
                    }
                }
                _ if !steps.is_empty() => out.push((JsonPath { steps: steps.clone() }, v)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(v, &mut Vec::new(), &mut out, limit);
        out
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, step) in self.steps.iter().enumerate() {
            match step {
                Step::Key(k) if !k.is_empty() && k.chars().all(is_name_char) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Step::Key(k) => write!(f, "[{}]", Value::String(k.clone()))?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '$' | '@')
}

/// The 1-based character column of byte offset `at` in `s`.
pub(crate) fn column_of(s: &str, at: usize) -> usize {
    s[..at].chars().count() + 1
}

/// `[n]` or `["key"]` at byte `at` of `s`.
fn bracket(s: &str, at: usize) -> Result<(Step, usize), PathError> {
    let inner = at + 1;
    let rest = &s[inner..];
    let (step, used) = if rest.starts_with('"') {
        let (key, used) = string_literal(s, inner)?;
        (Step::Key(key), used)
    } else {
        let len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if len == 0 {
            return Err(PathError {
                column: column_of(s, inner),
                message: "expected an index or a quoted name".into(),
            });
        }
        let n = rest[..len]
            .parse()
            .map_err(|_| PathError { column: column_of(s, inner), message: "index too large".into() })?;
        (Step::Index(n), len)
    };
    let close = inner + used;
    if !s[close..].starts_with(']') {
        return Err(PathError { column: column_of(s, close), message: "expected `]`".into() });
    }
    Ok((step, close + 1 - at))
}

/// A double-quoted string at byte `at` of `s` (which must start with `"`), with JSON's escapes
/// (`\" \\ \/ \b \f \n \r \t \uXXXX`). Returns the text and the bytes used, quotes included.
/// Shared with the query language so both quote the same way.
pub(crate) fn string_literal(s: &str, at: usize) -> Result<(String, usize), PathError> {
    let mut out = String::new();
    let mut chars = s[at + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        let pos = at + 1 + off;
        match c {
            '"' => return Ok((out, pos + 1 - at)),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                let bad = || PathError { column: column_of(s, pos), message: format!("unknown escape `\\{e}`") };
                out.push(match e {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                        let code = (hex.len() == 4).then(|| u32::from_str_radix(&hex, 16).ok()).flatten();
                        code.and_then(char::from_u32).ok_or_else(|| PathError {
                            column: column_of(s, pos),
                            message: "`\\u` needs four hex digits naming a character".into(),
                        })?
                    }
                    _ => return Err(bad()),
                });
            }
            c => out.push(c),
        }
    }
    Err(PathError { column: column_of(s, at), message: "unterminated string".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn steps(s: &str) -> Vec<Step> {
        JsonPath::parse(s).unwrap().steps
    }

    #[test]
    fn names_and_indexes() {
        use Step::*;
        assert_eq!(
            steps("choices[0].delta.content"),
            [Key("choices".into()), Index(0), Key("delta".into()), Key("content".into())]
        );
        assert_eq!(steps("[2][0]"), [Index(2), Index(0)]);
        assert_eq!(steps(r#"a["b.c \"d\""].e"#), [Key("a".into()), Key("b.c \"d\"".into()), Key("e".into())]);
        assert_eq!(steps("x-y_z$@1"), [Key("x-y_z$@1".into())]);
    }

    #[test]
    fn get_follows_the_steps() {
        let v = json!({"choices": [{"delta": {"content": "hi"}}], "n": 1});
        assert_eq!(JsonPath::parse("choices[0].delta.content").unwrap().get(&v), Some(&json!("hi")));
        assert_eq!(JsonPath::parse("choices[1]").unwrap().get(&v), None);
        assert_eq!(JsonPath::parse("n.x").unwrap().get(&v), None);
        assert_eq!(JsonPath::parse("choices.x").unwrap().get(&v), None);
        assert_eq!(JsonPath::parse("[0]").unwrap().get(&v), None);
        assert_eq!(JsonPath::parse("[1]").unwrap().get(&json!([0, 5])), Some(&json!(5)));
    }

    #[test]
    fn errors_name_the_column() {
        let err = |s: &str| JsonPath::parse(s).unwrap_err().to_string();
        assert_eq!(err(""), "expected a name at column 1");
        assert_eq!(err("a..b"), "expected a name at column 3");
        assert_eq!(err("a[x]"), "expected an index or a quoted name at column 3");
        assert_eq!(err("a[1"), "expected `]` at column 4");
        assert_eq!(err("a b"), "unexpected ` ` in a JSON path at column 2");
        assert_eq!(err("é.ü[\"x"), "unterminated string at column 5");
        assert_eq!(err(r#"a["\q"]"#), "unknown escape `\\q` at column 4");
    }

    #[test]
    fn prefix_stops_where_the_path_ends() {
        let (p, used) = JsonPath::parse_prefix("a.b[1] > 3").unwrap();
        assert_eq!(used, 6);
        assert_eq!(p.to_string(), "a.b[1]");
    }

    #[test]
    fn display_round_trips() {
        for s in ["choices[0].delta.content", r#"a["b c"][3]"#, "[0].x"] {
            assert_eq!(JsonPath::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn leaves_are_the_paths_a_person_can_pick_and_they_parse_back() {
        let v: Value = serde_json::from_str(r#"{"a":{"b":1,"c":[true,{"d":null}]},"x y":"s","e":[],"f":{}}"#).unwrap();
        let leaves: Vec<(String, &Value)> =
            JsonPath::leaves(&v, 100).into_iter().map(|(p, v)| (p.to_string(), v)).collect();
        let mut names: Vec<&str> = leaves.iter().map(|(p, _)| p.as_str()).collect();
        // Object members come in serde_json's order (the document's with `preserve_order`).
        names.sort_unstable();
        assert_eq!(names, ["[\"x y\"]", "a.b", "a.c[0]", "a.c[1].d", "e", "f"]);
        for (p, want) in &leaves {
            assert_eq!(JsonPath::parse(p).unwrap().get(&v), Some(*want), "{p}");
        }
        assert_eq!(JsonPath::leaves(&v, 2).len(), 2);
        assert!(JsonPath::leaves(&Value::from(3), 10).is_empty());
    }
}
