//! The query language against a straightforward reference evaluator: random expressions, written
//! out as text and parsed by `Filter`, must select exactly the random records the reference selects.

use std::sync::Arc;

use feedscope_core::{Body, Filter, Record, Timestamp};
use proptest::prelude::*;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
enum E {
    Or(Box<E>, Box<E>),
    And(Box<E>, Box<E>),
    Not(Box<E>),
    Truthy(O),
    Cmp(O, &'static str, O),
    Match(O, &'static str),
}

#[derive(Debug, Clone)]
enum O {
    Type,
    Id,
    Seq,
    Kind,
    Data,
    /// The text after `data`, and the same path as steps.
    Path(&'static str, &'static [Seg]),
    Str(&'static str),
    Num(f64),
    Bool(bool),
    Null,
}

/// A path step, for the reference: an object member or an array item.
#[derive(Debug, Clone, Copy)]
enum Seg {
    K(&'static str),
    I(usize),
}

const PATHS: &[(&str, &[Seg])] = &[
    (".price", &[Seg::K("price")]),
    (".sym", &[Seg::K("sym")]),
    (".ok", &[Seg::K("ok")]),
    (".z", &[Seg::K("z")]),
    (".arr[0]", &[Seg::K("arr"), Seg::I(0)]),
    (".arr[5]", &[Seg::K("arr"), Seg::I(5)]),
    (".o.price", &[Seg::K("o"), Seg::K("price")]),
    ("[\"price\"]", &[Seg::K("price")]),
    (".missing", &[Seg::K("missing")]),
    ("[0]", &[Seg::I(0)]),
];
const STRINGS: &[&str] = &["price", "tick", "7", "10", "FSC", "", "a\"b", "100", "x\ny", "event", "retry"];
const NUMBERS: &[f64] = &[-1.0, 0.0, 7.0, 10.0, 99.5, 100.0, 150.0, 1e3];
const OPS: &[&str] = &["==", "!=", "<", "<=", ">", ">="];
const REGEXES: &[&str] = &["^p", "FSC", r"\d", "^$", "a\"b", "1", "(?i)PRICE", "e$"];

fn operand() -> impl Strategy<Value = O> {
    prop_oneof![
        Just(O::Type),
        Just(O::Id),
        Just(O::Seq),
        Just(O::Kind),
        Just(O::Data),
        prop::sample::select(PATHS).prop_map(|(t, p)| O::Path(t, p)),
        prop::sample::select(PATHS).prop_map(|(t, p)| O::Path(t, p)),
        prop::sample::select(STRINGS).prop_map(O::Str),
        prop::sample::select(NUMBERS).prop_map(O::Num),
        any::<bool>().prop_map(O::Bool),
        Just(O::Null),
    ]
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        operand().prop_map(E::Truthy),
        (operand(), prop::sample::select(OPS), operand()).prop_map(|(a, op, b)| E::Cmp(a, op, b)),
        (operand(), prop::sample::select(OPS), operand()).prop_map(|(a, op, b)| E::Cmp(a, op, b)),
        (operand(), prop::sample::select(REGEXES)).prop_map(|(a, r)| E::Match(a, r)),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Or(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::And(Box::new(a), Box::new(b))),
            inner.prop_map(|a| E::Not(Box::new(a))),
        ]
    })
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn render_operand(o: &O) -> String {
    match o {
        O::Type => "type".into(),
        O::Id => "id".into(),
        O::Seq => "seq".into(),
        O::Kind => "kind".into(),
        O::Data => "data".into(),
        O::Path(text, _) => format!("data{text}"),
        O::Str(s) => quoted(s),
        O::Num(n) => n.to_string(),
        O::Bool(b) => b.to_string(),
        O::Null => "null".into(),
    }
}

/// Fully parenthesized, alternating the two spellings of `&&` and `||`.
fn render(e: &E, words: bool) -> String {
    match e {
        E::Or(a, b) => format!("({} {} {})", render(a, !words), if words { "or" } else { "||" }, render(b, !words)),
        E::And(a, b) => format!("({} {} {})", render(a, !words), if words { "and" } else { "&&" }, render(b, !words)),
        E::Not(a) => format!("!{}", render(a, words)),
        E::Truthy(o) => render_operand(o),
        E::Cmp(a, op, b) => format!("{} {op} {}", render_operand(a), render_operand(b)),
        E::Match(a, r) => format!("{}~{}", render_operand(a), quoted(r)),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum V {
    Missing,
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Json(Value),
}

fn from_json(v: Option<&Value>) -> V {
    match v {
        None => V::Missing,
        Some(Value::Null) => V::Null,
        Some(Value::Bool(b)) => V::Bool(*b),
        Some(Value::Number(n)) => V::Num(n.as_f64().unwrap()),
        Some(Value::String(s)) => V::Str(s.clone()),
        Some(v) => V::Json(v.clone()),
    }
}

fn reference_value(o: &O, r: &Record) -> V {
    let event = match &r.body {
        Body::Event { seq, event_type, id, data } => Some((*seq, event_type.to_string(), id.to_string(), data.clone())),
        _ => None,
    };
    match (o, event) {
        (O::Kind, _) => V::Str(r.body.kind().as_str().to_owned()),
        (O::Str(s), _) => V::Str(s.to_string()),
        (O::Num(n), _) => V::Num(*n),
        (O::Bool(b), _) => V::Bool(*b),
        (O::Null, _) => V::Null,
        (_, None) => V::Missing,
        (O::Type, Some(e)) => V::Str(e.1),
        (O::Id, Some(e)) => V::Str(e.2),
        (O::Seq, Some(e)) => V::Num(e.0 as f64),
        (O::Data, Some(e)) => V::Str(e.3),
        (O::Path(_, steps), Some(e)) => {
            let Ok(root) = serde_json::from_str::<Value>(&e.3) else { return V::Missing };
            let mut at = &root;
            for step in steps.iter() {
                let next = match (step, at) {
                    (Seg::K(k), Value::Object(m)) => m.get(*k),
                    (Seg::I(i), Value::Array(a)) => a.get(*i),
                    _ => None,
                };
                match next {
                    Some(v) => at = v,
                    None => return V::Missing,
                }
            }
            from_json(Some(at))
        }
    }
}

fn reference_number(v: &V) -> Option<f64> {
    match v {
        V::Num(n) => Some(*n),
        V::Str(s) => {
            let numeric = regex::Regex::new(r"^[-.0-9][-+.0-9eE]*$").unwrap();
            if numeric.is_match(s) {
                s.parse::<f64>().ok().filter(|n| n.is_finite())
            } else {
                None
            }
        }
        _ => None,
    }
}

fn reference_compare(a: &V, op: &str, b: &V) -> bool {
    use std::cmp::Ordering;
    if *a == V::Missing || *b == V::Missing {
        return false;
    }
    let order: Option<Ordering> = if matches!(a, V::Num(_)) || matches!(b, V::Num(_)) {
        match (reference_number(a), reference_number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        }
    } else if let (V::Str(x), V::Str(y)) = (a, b) {
        Some(x.as_bytes().cmp(y.as_bytes()))
    } else if std::mem::discriminant(a) == std::mem::discriminant(b) {
        // true/false, null, objects and arrays: equality only.
        return match op {
            "==" => a == b,
            "!=" => a != b,
            _ => false,
        };
    } else {
        None
    };
    match (order, op) {
        (None, "!=") => true,
        (None, _) => false,
        (Some(o), "==") => o.is_eq(),
        (Some(o), "!=") => o.is_ne(),
        (Some(o), "<") => o.is_lt(),
        (Some(o), "<=") => o.is_le(),
        (Some(o), ">") => o.is_gt(),
        (Some(o), ">=") => o.is_ge(),
        _ => unreachable!(),
    }
}

fn reference(e: &E, r: &Record) -> bool {
    match e {
        E::Or(a, b) => reference(a, r) || reference(b, r),
        E::And(a, b) => reference(a, r) && reference(b, r),
        E::Not(a) => !reference(a, r),
        E::Truthy(o) => !matches!(reference_value(o, r), V::Missing | V::Null | V::Bool(false)),
        E::Cmp(a, op, b) => reference_compare(&reference_value(a, r), op, &reference_value(b, r)),
        E::Match(o, re) => {
            let re = regex::Regex::new(re).unwrap();
            match reference_value(o, r) {
                V::Str(s) => re.is_match(&s),
                V::Num(n) => re.is_match(&n.to_string()),
                _ => false,
            }
        }
    }
}

fn json_data() -> impl Strategy<Value = String> {
    let num = prop::sample::select(NUMBERS);
    (
        prop::option::of(num.clone()),
        prop::option::of(prop::sample::select(STRINGS)),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::collection::vec(num.clone(), 0..3),
        prop::option::of(num),
    )
        .prop_map(|(price, sym, ok, z, arr, o)| {
            let mut v = json!({});
            let m = v.as_object_mut().unwrap();
            if let Some(p) = price {
                m.insert("price".into(), json!(p));
            }
            if let Some(s) = sym {
                m.insert("sym".into(), json!(s));
            }
            if let Some(b) = ok {
                m.insert("ok".into(), json!(b));
            }
            if z {
                m.insert("z".into(), Value::Null);
            }
            m.insert("arr".into(), json!(arr));
            if let Some(p) = o {
                m.insert("o".into(), json!({ "price": p }));
            }
            v.to_string()
        })
}

fn record() -> impl Strategy<Value = Record> {
    let data = prop_oneof![
        3 => json_data(),
        1 => prop::sample::select(STRINGS).prop_map(str::to_owned),
        1 => prop::sample::select(&["[1, 2]", "150", "-3.5", "1e2", "null", "true", "{\"price\": \"120\"}"][..]).prop_map(str::to_owned),
    ];
    let event = (prop::sample::select(STRINGS), prop::sample::select(STRINGS), 0u64..200, data)
        .prop_map(|(t, id, seq, data)| Body::Event { seq, event_type: Arc::from(t), id: Arc::from(id), data });
    let body = prop_oneof![
        4 => event,
        1 => (0u64..5000).prop_map(|ms| Body::Retry { ms }),
        1 => prop::sample::select(STRINGS).prop_map(|t| Body::Comment { text: t.to_owned() }),
    ];
    body.prop_map(|b| Record::new(Arc::from("f"), Timestamp(0), b))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn filter_agrees_with_the_reference(e in expr(), records in prop::collection::vec(record(), 1..8)) {
        let text = render(&e, false);
        let filter = Filter::parse(&text).unwrap_or_else(|err| panic!("{text}: {err}\n{}", err.caret(&text)));
        for r in &records {
            prop_assert_eq!(filter.matches(r), reference(&e, r), "{} on {:?}", text, r.body);
        }
    }

    #[test]
    fn any_text_parses_or_points_inside_it(text in "[a-z .\\[\\]0-9\"=!<>~&|()\\\\-]{0,24}") {
        if let Err(err) = Filter::parse(&text) {
            prop_assert!(err.column >= 1 && err.column <= text.chars().count() + 1, "{text}: {err}");
        }
    }
}
