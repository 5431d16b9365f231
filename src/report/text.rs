//! The terminal report: findings grouped by file, each with the source line, a caret under the
//! spot to change, how a key reference was resolved, and the first line of the fix; notices
//! about suppressions; a one-line summary at the end. Suppressed findings are shown only when
//! asked for.

use super::{Report, remediation};
use crate::engine::{Outcome, Severity};
use crate::escape::{Escaped, escape};
use std::collections::HashMap;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr as _;

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub quiet: bool,
    /// Also list suppressed findings, with their justification.
    pub show_suppressed: bool,
    /// Also list every file that was not read as an input, with the reason.
    pub verbose: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_owned()
        }
    }
}

fn severity_color(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "1;35",
        Severity::High => "1;31",
        Severity::Medium => "1;33",
        Severity::Low => "1;36",
    }
}

/// A source line as the report shows it: tabs as four spaces (as rustc shows them, so that the
/// caret line, made of spaces, lines up), and what [`escape`] escapes, escaped.
fn shown(src: &str) -> String {
    escape(&src.replace('\t', "    ")).into_owned()
}

/// A source line as shown, and the caret line under it that marks `loc` (whose start is on
/// this line). The caret is placed under the line as shown: a tab is four columns there, and
/// an escaped character as many as its escape.
pub fn snippet(src: &str, loc: &crate::model::Loc) -> (String, String) {
    let span = loc.span;
    let col = span.start.col.max(1) as usize;
    let caret_len = if span.end.line == span.start.line && span.end.col > span.start.col {
        (span.end.col - span.start.col) as usize
    } else {
        src.chars().count().saturating_sub(col - 1).max(1)
    };
    let before: String = src.chars().take(col - 1).collect();
    let through: String = src.chars().take(col - 1 + caret_len).collect();
    // Columns on a terminal, not characters: an East Asian wide character takes two and a
    // combining mark none.
    let start = shown(&before).width();
    let end = shown(&through).width();
    let caret = format!(
        "{}{}",
        " ".repeat(start),
        "^".repeat(end.saturating_sub(start).clamp(1, 80))
    );
    (shown(src), caret)
}

/// Reads the source lines of files that have findings. Only for display: nothing is parsed.
pub fn source_lines(path: &str) -> Option<Vec<String>> {
    // Regular files only, within the input limit: a merged part may name any path.
    let limit = crate::read::Limits::default().max_template_bytes;
    let text = crate::read::file::read_text_bounded(std::path::Path::new(path), limit).ok()?;
    Some(text.lines().map(str::to_owned).collect())
}

pub fn render(report: &Report, style: Style) -> String {
    let mut out = String::new();
    let mut sources: HashMap<&str, Option<Vec<String>>> = HashMap::new();
    let mut current: Option<&str> = None;
    for f in report
        .results()
        .filter(|f| style.show_suppressed || f.suppression.is_none())
    {
        let rule = report.rule(f);
        if current != Some(f.path.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}", style.paint("1;4", &escape(&f.path)));
            current = Some(&f.path);
        }
        let (line, col) = f
            .finding
            .location
            .as_ref()
            .map_or((0, 0), |l| (l.span.start.line, l.span.start.col));
        let tag = match (f.finding.outcome, &f.suppression) {
            (_, Some(_)) => style.paint("2", &format!("{} suppressed", rule.severity)),
            (Outcome::Fail, None) => {
                style.paint(severity_color(rule.severity), &rule.severity.to_string())
            }
            (Outcome::Unknown, None) => style.paint("2", "unknown"),
        };
        let _ = writeln!(
            out,
            "  {}:{line}:{col} {} {tag}: {}",
            escape(&f.path),
            style.paint("1", &escape(&rule.id)),
            escape(&f.finding.message)
        );
        let suppressed = f.suppression.as_ref().map(|s| {
            let place = s
                .place
                .as_ref()
                .map(|p| format!(" at {}", Escaped(p)))
                .unwrap_or_default();
            let until = s.until.map(|u| format!(", until {u}")).unwrap_or_default();
            format!(
                "suppressed by {}{place}{until}: {}",
                s.via.name(),
                escape(&s.justification)
            )
        });
        if style.quiet {
            if let Some(s) = suppressed {
                let _ = writeln!(out, "      = {s}");
            }
            continue;
        }
        // A log line can be megabytes long (or gzip): show the evidence, not the source.
        if let Some(t) = &f.finding.trail {
            let _ = writeln!(
                out,
                "      = {} event{}, {} .. {}",
                t.count,
                if t.count == 1 { "" } else { "s" },
                escape(&t.first_seen),
                escape(&t.last_seen)
            );
            for (what, d) in [
                ("callers", &t.principals),
                ("from", &t.addresses),
                ("user agents", &t.agents),
            ] {
                if d.values.iter().any(|v| !v.is_empty()) {
                    let _ = writeln!(
                        out,
                        "      = {what}: {}",
                        d.describe(|v| escape(v).into_owned())
                    );
                }
            }
            for d in &t.declared {
                let _ = writeln!(
                    out,
                    "      = {} declared at {}:{}:{}",
                    escape(&d.what),
                    Escaped(&d.loc.file),
                    d.loc.span.start.line,
                    d.loc.span.start.col
                );
            }
            if let Some(fix) = fix_line(rule, f.finding.source) {
                let _ = writeln!(out, "      = {fix}");
            }
            continue;
        }
        let lines = sources
            .entry(f.path.as_str())
            .or_insert_with(|| source_lines(&f.path));
        if let (Some(lines), Some(loc)) = (lines.as_ref(), f.finding.location.as_ref())
            && let Some(src) = lines.get(line as usize - 1)
        {
            let width = line.to_string().len();
            let pad = " ".repeat(width);
            let (src, caret) = snippet(src, loc);
            let _ = writeln!(out, "   {pad} |");
            let _ = writeln!(out, "   {line} | {src}");
            let _ = writeln!(
                out,
                "   {pad} | {}",
                style.paint(severity_color(rule.severity), &caret)
            );
            if f.finding.chain.len() > 1 {
                let _ = writeln!(
                    out,
                    "   {pad} = resolved: {}",
                    escape(&f.finding.chain.join(" <- "))
                );
            }
            if let Some(fix) = fix_line(rule, f.finding.source) {
                let _ = writeln!(out, "   {pad} = {fix}");
            }
            if let Some(s) = &suppressed {
                let _ = writeln!(out, "   {pad} = {s}");
            }
        } else if let Some(s) = &suppressed {
            let _ = writeln!(out, "      = {s}");
        }
    }
    if !style.quiet {
        timeline(report, style, &mut out);
    }
    if !report.result.errors.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for e in &report.result.errors {
            let _ = writeln!(out, "{}: {}", style.paint("1;31", "error"), Escaped(e));
        }
    }
    if !report.notices.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for n in report.notices {
            let _ = writeln!(out, "{}: {}", style.paint("1;33", "warning"), Escaped(n));
        }
    }
    if !style.quiet && !report.result.notes.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for n in &report.result.notes {
            let _ = writeln!(out, "{}: {}", style.paint("2", "note"), Escaped(n));
        }
    }
    if style.verbose && !report.result.skipped.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        for s in &report.result.skipped {
            let _ = writeln!(
                out,
                "{}: {}: {}",
                style.paint("2", "skipped"),
                s.path,
                s.reason
            );
        }
    }
    if !style.quiet {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&summary(report));
        out.push('\n');
    }
    out
}

/// `fix (source): ...`: the first paragraph of the fix for the finding's source, on one line.
fn fix_line(rule: &crate::engine::Rule, source: &str) -> Option<String> {
    let (source, fix) = remediation(rule, source)?;
    let first: Vec<&str> = fix
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    Some(format!(
        "fix ({}): {}",
        escape(source),
        escape(&first.join(" "))
    ))
}

/// Per Lambda CMK: who used it, how often, and what was found about it.
fn timeline(report: &Report, style: Style, out: &mut String) {
    let Some(t) = &report.result.trail else {
        return;
    };
    if !out.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{}: {} events in {} log file{}; {} evaluated by the rules, {} duplicate deliveries dropped",
        style.paint("1;4", "CloudTrail"),
        t.events,
        t.files.len(),
        if t.files.len() == 1 { "" } else { "s" },
        t.evaluated,
        t.duplicates
    );
    for k in &t.timelines {
        let _ = writeln!(out, "\n  key {}", style.paint("1", &escape(&k.key)));
        let _ = writeln!(out, "    a Lambda CMK: {}", escape(&k.why));
        let _ = writeln!(
            out,
            "    used {} .. {}",
            escape(&k.first_seen),
            escape(&k.last_seen)
        );
        let width = k.calls.keys().map(|(n, _)| n.len()).max().unwrap_or(0);
        for ((name, caller), n) in &k.calls {
            let (name, caller) = (escape(name), escape(caller));
            let _ = writeln!(out, "    {n:>7}  {name:<width$}  {caller}");
        }
        let mut found: Vec<String> = report
            .findings()
            .filter_map(|f| {
                let tr = f.finding.trail.as_ref()?;
                (tr.subject.key.as_deref() == Some(k.key.as_str())).then(|| {
                    format!(
                        "{} x{} ({})",
                        report.rule(f).id,
                        tr.count,
                        tr.subject
                            .principal
                            .as_deref()
                            .unwrap_or("unknown principal")
                    )
                })
            })
            .collect();
        found.dedup();
        if found.is_empty() {
            let _ = writeln!(out, "    findings: none");
        } else {
            let _ = writeln!(out, "    findings: {}", escape(&found.join(", ")));
        }
    }
}

/// One line: counts per severity, unknowns, inputs, skipped files and errors.
pub fn summary(report: &Report) -> String {
    let counts: Vec<String> = report
        .severity_counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let total: usize = report.severity_counts().iter().map(|(_, n)| n).sum();
    let inputs = report.result.inputs();
    let mut s = if total == 0 {
        "No findings".to_owned()
    } else {
        format!(
            "{total} finding{} ({})",
            if total == 1 { "" } else { "s" },
            counts.join(", ")
        )
    };
    let unknown = report
        .findings()
        .filter(|f| f.finding.outcome == Outcome::Unknown)
        .count();
    if unknown > 0 {
        // With `--unknown fail` the unknowns are among the findings counted above; they are
        // still told apart from failures.
        if report.unknown == crate::report::UnknownMode::Fail {
            s.push_str(&format!(", {unknown} of them unknown"));
        } else {
            s.push_str(&format!(", {unknown} unknown"));
        }
    }
    let suppressed = report.suppressed().count();
    if suppressed > 0 {
        s.push_str(&format!(", {suppressed} suppressed"));
    }
    s.push_str(&format!(
        " in {inputs} input{}",
        if inputs == 1 { "" } else { "s" }
    ));
    let (checked, passed) = (report.result.checked, report.result.passed);
    if checked > 0 {
        s.push_str(&format!(
            "; {passed} of {checked} resource{} passed every rule",
            if checked == 1 { "" } else { "s" }
        ));
    }
    let skipped = report.result.skipped.len();
    s.push_str(&format!(
        "; {skipped} other file{} skipped",
        if skipped == 1 { "" } else { "s" }
    ));
    let errors = report.result.errors.len();
    if errors > 0 {
        s.push_str(&format!(
            "; {errors} input error{}",
            if errors == 1 { "" } else { "s" }
        ));
    }
    s.push('.');
    s
}
