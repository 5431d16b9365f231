//! JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure Pipelines, ...).
//!
//! One `testsuite` per scanned file, one `testcase` per finding: a counted finding is a
//! `failure`, an unknown that does not count and a suppressed finding are `skipped`, and a file
//! without findings has one passing `testcase`. Input and policy errors are `error` test cases in
//! a suite per file.

use super::{Report, outcome_name, remediation};
use crate::escape::{escape as shown, escape_lines};
use crate::scan::FileFinding;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A value from an input, for an XML attribute or content: [`crate::escape::escape`]d as for a
/// terminal (a CI system may print it), then [`xml`]-escaped.
pub fn escape(s: &str) -> String {
    xml(&shown(s))
}

/// Escapes text for XML attributes and content. Characters XML 1.0 cannot hold at all (most
/// control characters) are dropped.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Default)]
struct Suite {
    cases: String,
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

fn case(report: &Report, f: &FileFinding, suite: &mut Suite) {
    let rule = report.rule(f);
    let (line, col) = f
        .finding
        .location
        .as_ref()
        .map_or((0, 0), |l| (l.span.start.line, l.span.start.col));
    let name = format!(
        "{} {} {}",
        rule.id, f.finding.resource_id, f.finding.property
    );
    let _ = writeln!(
        suite.cases,
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{line}\">",
        escape(name.trim_end()),
        escape(&f.path),
        escape(&f.path)
    );
    suite.tests += 1;
    let place = format!("{}:{line}:{col}", f.path);
    let skipped = match &f.suppression {
        Some(s) => Some(format!(
            "suppressed ({}): {}",
            s.via.name(),
            s.justification
        )),
        None if !report.counts(f) => Some(format!(
            "{}: {}",
            outcome_name(f.finding.outcome),
            f.finding.message
        )),
        None => None,
    };
    if let Some(why) = skipped {
        suite.skipped += 1;
        let _ = writeln!(suite.cases, "      <skipped message=\"{}\"/>", escape(&why));
    } else {
        suite.failures += 1;
        // Lines of its own: each is escaped, the line breaks between them are kept.
        let mut body = shown(&format!(
            "{place} {} {}: {}",
            rule.id, rule.severity, f.finding.message
        ))
        .into_owned();
        if let Some((source, fix)) = remediation(rule, f.finding.source) {
            let _ = write!(
                body,
                "\n{}",
                escape_lines(&format!("fix ({source}): {fix}"))
            );
        }
        let _ = writeln!(
            suite.cases,
            "      <failure message=\"{}\" type=\"{}\">{}</failure>",
            escape(&f.finding.message),
            rule.severity,
            xml(&body)
        );
    }
    suite.cases.push_str("    </testcase>\n");
}

/// The whole report as one JUnit XML document.
pub fn render(report: &Report) -> String {
    let mut suites: BTreeMap<&str, Suite> = BTreeMap::new();
    for (path, _) in &report.result.scanned {
        suites.entry(path.as_str()).or_default();
    }
    for f in report.results() {
        case(report, f, suites.entry(f.path.as_str()).or_default());
    }
    for e in &report.result.errors {
        let suite = suites.entry(e.path.as_str()).or_default();
        suite.tests += 1;
        suite.errors += 1;
        let _ = write!(
            suite.cases,
            "    <testcase name=\"read and evaluate\" classname=\"{}\">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
            escape(&e.path),
            escape(&e.message),
            escape(&e.to_string())
        );
    }
    let mut body = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for (path, mut suite) in suites {
        if suite.tests == 0 {
            suite.tests = 1;
            let _ = writeln!(
                suite.cases,
                "    <testcase name=\"no findings\" classname=\"{}\" file=\"{}\"/>",
                escape(path),
                escape(path)
            );
        }
        tests += suite.tests;
        failures += suite.failures;
        errors += suite.errors;
        skipped += suite.skipped;
        let _ = write!(
            body,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{}  </testsuite>\n",
            escape(path),
            suite.tests,
            suite.failures,
            suite.errors,
            suite.skipped,
            suite.cases
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"atrest\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{body}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            xml("a<b & \"c\" 'd'>\u{1}\n"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;\n"
        );
    }

    #[test]
    fn values_are_shown_on_one_line() {
        assert_eq!(
            escape("x\n::error::<y>\u{1b}"),
            "x\\n::error::&lt;y&gt;\\u{1b}"
        );
    }
}
