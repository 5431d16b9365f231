//! The review report as Markdown, for a pull-request comment or `$GITHUB_STEP_SUMMARY`: the
//! summary, the data-at-rest map (compact) and the findings, drawn from the JSON report's data
//! ([`super::review::map_value`]). GitHub takes at most 1 MiB of step summary: rows that do not
//! fit are left out, and the report says how many, as the SARIF writer does for code scanning.

use super::Report;
use crate::escape::escape;
use serde_json::Value;

/// GitHub's limit for one step's summary, in bytes.
pub const MAX_BYTES: usize = 1024 * 1024;

/// Room kept for the lines that say what was cut, and the report's end.
const RESERVE: usize = 2048;

/// Text made safe in a Markdown table cell: one line, with every character that Markdown or
/// the HTML GitHub allows in it could read as syntax escaped. Nothing from an input can start
/// a link, an image, an element or a new cell (GitHub turns only `http(s)://` and `www.` text
/// into links, never `javascript:`).
pub fn cell(text: &str) -> String {
    let text = escape(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            // Emphasis, code, strike-through, and `[`, without which no link or image starts.
            '\\' | '`' | '*' | '_' | '[' | ']' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn verdict(v: &str) -> &'static str {
    match v {
        "pass" => "✅ pass",
        "fail" => "❌ fail",
        "unknown" => "❔ unknown",
        "suppressed" => "➖ suppressed",
        _ => "· none",
    }
}

fn manager(state: &str) -> &'static str {
    match state {
        "customer_managed" => "CMK",
        "aws_managed" => "AWS managed",
        "aws_default" => "AWS default",
        _ => "unknown",
    }
}

/// A map cell: the verdict of each piece of data of one kind, and its key.
fn map_cell(cells: &[&Value]) -> String {
    if cells.is_empty() {
        return verdict("none").to_owned();
    }
    let parts: Vec<String> = cells
        .iter()
        .map(|c| {
            let v = c["verdict"].as_str().unwrap_or("unknown");
            let mut s = verdict(v).to_owned();
            if let Some(kv) = c["key_verdict"].as_str().filter(|k| *k != "pass") {
                s.push_str(&format!(" (key: {})", verdict(kv)));
            }
            if let Some(label) = c["label"].as_str() {
                s.push_str(&format!(" {}", cell(label)));
            }
            if v != "none" {
                let key = &c["key"];
                let name = key["value"].as_str().or(key["key"].as_str());
                match (key["state"].as_str(), name) {
                    (Some(state), Some(name)) => {
                        s.push_str(&format!(" — {}: {}", manager(state), cell(name)))
                    }
                    (Some(state), None) => s.push_str(&format!(" — {}", manager(state))),
                    _ => {}
                }
            }
            s
        })
        .collect();
    parts.join("<br>")
}

/// Appends `line` (with its newline) if it fits the budget; false when it does not.
fn fits(out: &mut String, line: &str) -> bool {
    if out.len() + line.len() + 1 + RESERVE > MAX_BYTES {
        return false;
    }
    out.push_str(line);
    out.push('\n');
    true
}

pub fn render(report: &Report) -> String {
    let map = super::review::map_value(report);
    let mut out = String::from("# atrest review report\n\n");
    out.push_str(&cell(&super::text::summary(report)));
    out.push_str("\n\n");
    let mut cut = Vec::new();

    out.push_str("## Data-at-rest map\n\n");
    let functions = map["functions"].as_array().map_or(&[][..], Vec::as_slice);
    if functions.is_empty() {
        out.push_str("No functions in the inputs.\n");
    } else {
        out.push_str("| Function | Env vars | .zip | Filter criteria | Logs | Traces | Durable | Verdict |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (i, f) in functions.iter().enumerate() {
            let cells = f["cells"].as_array().map_or(&[][..], Vec::as_slice);
            let kinds: Vec<String> = crate::scan::map::KINDS
                .iter()
                .map(|k| {
                    let of: Vec<&Value> = cells.iter().filter(|c| c["kind"] == *k).collect();
                    map_cell(&of)
                })
                .collect();
            let place = match (f["file"].as_str(), f["line"].as_u64()) {
                (Some(file), Some(line)) => format!("<br>{}:{line}", cell(file)),
                (Some(file), None) => format!("<br>{}", cell(file)),
                _ => String::new(),
            };
            let row = format!(
                "| **{}**{place} | {} | {} |",
                cell(f["name"].as_str().unwrap_or("")),
                kinds.join(" | "),
                verdict(f["verdict"].as_str().unwrap_or("unknown"))
            );
            if !fits(&mut out, &row) {
                cut.push(format!(
                    "the map shows {i} of {} functions",
                    functions.len()
                ));
                break;
            }
        }
    }

    out.push_str("\n## Findings\n\n");
    let total = report.results().count();
    if total == 0 {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| Outcome | Rule | Severity | Where | Message |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for (i, f) in report.results().enumerate() {
            let rule = report.rule(f);
            let outcome = match (&f.suppression, f.finding.outcome) {
                (Some(_), _) => "suppressed",
                (None, crate::engine::Outcome::Fail) => "fail",
                (None, crate::engine::Outcome::Unknown) => "unknown",
            };
            let place = match &f.finding.location {
                Some(l) => format!("{}:{}:{}", f.path, l.span.start.line, l.span.start.col),
                None => f.path.clone(),
            };
            let mut message = cell(&f.finding.message);
            if let Some(s) = &f.suppression {
                message.push_str(&format!(
                    "<br>suppressed{}: {}",
                    s.until.map(|u| format!(" until {u}")).unwrap_or_default(),
                    cell(&s.justification)
                ));
            }
            let row = format!(
                "| {} | {} | {} | {} | {message} |",
                verdict(outcome),
                cell(&rule.id),
                rule.severity,
                cell(&place),
            );
            if !fits(&mut out, &row) {
                cut.push(format!("the findings table shows {i} of {total} findings"));
                break;
            }
        }
    }
    if !report.result.errors.is_empty() {
        out.push_str("\n## Input errors\n\n");
        let n = report.result.errors.len();
        for (i, e) in report.result.errors.iter().enumerate() {
            if !fits(&mut out, &format!("- {}", cell(&e.to_string()))) {
                cut.push(format!("{i} of {n} input errors are listed"));
                break;
            }
        }
    }
    if !cut.is_empty() {
        out.push_str(&format!(
            "\n> **Cut to fit GitHub's 1 MiB summary limit:** {}. The JSON, SARIF or HTML report has all of it.\n",
            cut.join("; ")
        ));
    }
    out
}

/// What a Markdown report cut to fit says about it, for a CI log.
pub fn truncation_notice(markdown: &str) -> Option<&str> {
    markdown
        .lines()
        .find(|l| l.starts_with("> **Cut to fit"))
        .map(|l| l.trim_start_matches("> "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_carry_markup_links_or_new_cells() {
        let s = cell("\"><img src=x onerror=alert(1)> | [x](javascript:alert(1)) `code`\n<script>");
        assert!(!s.contains('<') && !s.contains('>'));
        assert!(s.contains("\\[x\\]") && !s.replace("\\]", "").contains("]("));
        assert!(!s.contains(" | ") && !s.contains('\n'));
        assert!(s.contains("\\`code\\`"));
    }
}
