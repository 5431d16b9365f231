//! The review report: one self-contained HTML page (inline CSS and JS, nothing fetched, works
//! from `file://`). Its data is the JSON report ([`super::json::value`]), so both say the same
//! thing, plus what only a reader needs: each finding's source line with its caret and the fix
//! for its source format. The data sits in a `<script type="application/json">` block, escaped
//! so that no value can end the block; the page's script draws it with `textContent` only, a
//! page of rows at a time, so a template or a log cannot inject markup and 10,000 findings do
//! not make a 10,000-element DOM.

use super::{Report, remediation};
use crate::scan::FileFinding;
use serde_json::{Value, json};
use std::collections::HashMap;

const PAGE: &str = include_str!("html/page.html");

/// The marker in [`PAGE`] that the data replaces.
const DATA_MARK: &str = "@@ATREST_DATA@@";

/// `text` made safe inside a `<script>` element: `<`, `>` and `&` (which could end the
/// element or start a comment) and U+2028/U+2029 (line ends to older JavaScript) as JSON
/// escapes. Only JSON strings can hold these characters, so the result is the same JSON.
pub fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The fixes the page shows, each once: (rule id, source) -> place in the list.
#[derive(Default)]
struct Fixes {
    index: HashMap<(String, String), usize>,
    list: Vec<Value>,
}

/// What the page shows of one finding besides its JSON: the source line and caret, and the
/// fix for the finding's source format (a place in the list of fixes).
fn extra(
    f: &FileFinding,
    report: &Report,
    sources: &mut HashMap<String, Option<Vec<String>>>,
    fixes: &mut Fixes,
) -> Value {
    let rule = report.rule(f);
    let fix = remediation(rule, f.finding.source).map(|(source, text)| {
        let key = (rule.id.clone(), source.to_owned());
        *fixes.index.entry(key).or_insert_with(|| {
            fixes.list.push(json!({"source": source, "text": text}));
            fixes.list.len() - 1
        })
    });
    // A log line can be megabytes long (or gzip): CloudTrail findings show their events.
    let snippet = match (&f.finding.location, &f.finding.trail) {
        (Some(loc), None) => sources
            .entry(f.path.clone())
            .or_insert_with(|| super::text::source_lines(&f.path))
            .as_ref()
            .and_then(|lines| lines.get((loc.span.start.line as usize).checked_sub(1)?))
            .map(|src| {
                let (text, caret) = super::text::snippet(src, loc);
                json!({"line": loc.span.start.line, "text": text, "caret": caret})
            }),
        _ => None,
    };
    json!({"snippet": snippet, "fix": fix})
}

/// The page's data: the JSON report, and per finding (open ones, then suppressed ones, in the
/// JSON report's order) what [`extra`] gives, with the fixes it names.
pub fn data(report: &Report) -> Value {
    let mut sources = HashMap::new();
    let mut fixes = Fixes::default();
    let findings: Vec<Value> = report
        .findings()
        .map(|f| extra(f, report, &mut sources, &mut fixes))
        .collect();
    let suppressed: Vec<Value> = report
        .suppressed()
        .map(|f| extra(f, report, &mut sources, &mut fixes))
        .collect();
    json!({
        "report": super::json::value(report),
        "extra": {"findings": findings, "suppressed": suppressed, "fixes": fixes.list},
    })
}

pub fn render(report: &Report) -> String {
    let data = script_safe(&crate::escape::to_json(&data(report), false));
    let (head, tail) = PAGE.split_once(DATA_MARK).unwrap_or((PAGE, ""));
    let mut out = String::with_capacity(PAGE.len() + data.len());
    out.push_str(head);
    out.push_str(&data);
    out.push_str(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_safe_json_cannot_end_the_script_element() {
        let v = json!({"a": "</script><script>alert(1)</script>", "b": "<!-- & \u{2028}\u{2029}"});
        let s = script_safe(&v.to_string());
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert!(!s.contains('\u{2028}') && !s.contains('\u{2029}'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn the_page_has_exactly_one_data_marker() {
        assert_eq!(PAGE.matches(DATA_MARK).count(), 1);
    }
}
