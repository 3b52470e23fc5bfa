//! What changed between two bodies of a polled feed, line by line, for the record detail: JSON
//! bodies are pretty-printed first so a changed field is a changed line.

use serde::Serialize;
use ts_rs::TS;

use feedscope_core::text::visible;

/// Lines of context kept around each change.
const CONTEXT: usize = 2;
/// Above this many line pairs the bodies are not aligned, only said to differ.
const MAX_CELLS: usize = 4_000_000;

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DiffLine {
    /// `+` added, `-` removed, ` ` unchanged context, `…` unchanged lines left out.
    pub op: String,
    /// Made safe to show.
    pub text: String,
}

/// The body as lines: pretty JSON when it parses as an object or array.
fn lines(body: &str) -> Vec<String> {
    let pretty = body
        .trim_start()
        .starts_with(['{', '['])
        .then(|| serde_json::from_str::<serde_json::Value>(body).ok())
        .flatten()
        .and_then(|v| serde_json::to_string_pretty(&v).ok());
    pretty.as_deref().unwrap_or(body).lines().map(str::to_owned).collect()
}

/// The lines that differ between `old` and `new` (longest common subsequence), with
/// [`CONTEXT`] unchanged lines around each change. Empty when the bodies read the same.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let (a, b) = (lines(old), lines(new));
    let line = |op: &str, text: &str| DiffLine { op: op.to_owned(), text: visible(text) };
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        let mut out = vec![line("…", &format!("{} lines before, {} now: too long to align", a.len(), b.len()))];
        out.extend(b.iter().take(200).map(|t| line("+", t)));
        return out;
    }
    // lcs[i][j]: the common subsequence length of a[i..] and b[j..].
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let mut all: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            all.push((' ', &a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as `diff -u` shows them.
            all.push(('-', &a[i]));
            i += 1;
        } else {
            all.push(('+', &b[j]));
            j += 1;
        }
    }
    if all.iter().all(|(op, _)| *op == ' ') {
        return Vec::new();
    }
    // Keep changes and their context; runs of unchanged lines become one `…`.
    let near = |k: usize| {
        let lo = k.saturating_sub(CONTEXT);
        let hi = (k + CONTEXT).min(all.len() - 1);
        all[lo..=hi].iter().any(|(op, _)| *op != ' ')
    };
    let mut out = Vec::new();
    for (k, (op, text)) in all.iter().enumerate() {
        if *op != ' ' || near(k) {
            out.push(line(&op.to_string(), text));
        } else if out.last().is_none_or(|l: &DiffLine| l.op != "…") {
            out.push(line("…", ""));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(d: &[DiffLine]) -> Vec<String> {
        d.iter().map(|l| format!("{}{}", l.op, l.text)).collect()
    }

    #[test]
    fn a_changed_json_field_is_one_line_out_one_line_in() {
        let old = r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7}"#;
        let new = r#"{"a":1,"b":2,"c":3,"d":40,"e":5,"f":6,"g":7}"#;
        assert_eq!(
            ops(&line_diff(old, new)),
            ["…", "   \"b\": 2,", "   \"c\": 3,", "-  \"d\": 4,", "+  \"d\": 40,", "   \"e\": 5,", "   \"f\": 6,", "…"]
        );
        assert!(line_diff(old, old).is_empty());
    }

    #[test]
    fn plain_text_lines_added_and_removed_and_made_safe() {
        let d = line_diff("one\ntwo\nthree", "one\nthree\nfour\u{202e}");
        assert_eq!(ops(&d), [" one", "-two", " three", "+four\\u{202e}"]);
    }
}
