//! Rego unit tests, as OPA runs them: every rule named `test_*` is a test, it passes when it
//! evaluates to `true`, and it sets up its own world with `with input as` / `with data as`.
//! `atrest test` runs them for a policy directory, `cargo test` for the built-in policies, both
//! through [`run`]. With coverage on, regorus records which policy lines ran.

use super::{BUILTIN_POLICIES, Problem, first_line, is_test_file, read_rego_files, regorus_error};
use crate::escape::{Escaped, escape};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A policy file given to the test engine.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
    /// Its tests are run and its lines are counted for coverage. Built-in policies loaded only
    /// so that user policies can import the libraries are not targets.
    pub target: bool,
}

/// How one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    /// Evaluated to something other than `true` (`false`, or undefined).
    Fail(String),
    /// Evaluation failed.
    Error(String),
}

/// One test's outcome, with where the test is written.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub path: String,
    pub line: u32,
    /// `data.<package>.<rule>`.
    pub name: String,
    pub verdict: Verdict,
    pub duration: Duration,
}

/// Which lines of a policy file ran.
#[derive(Debug, Clone)]
pub struct FileCoverage {
    pub path: String,
    pub covered: BTreeSet<u32>,
    pub not_covered: BTreeSet<u32>,
}

/// Everything one `atrest test` run found.
#[derive(Debug, Default)]
pub struct TestRun {
    pub results: Vec<TestResult>,
    /// Policies that did not compile; their tests cannot run.
    pub errors: Vec<Problem>,
    /// Per target policy file (not the test files), with `--coverage`.
    pub coverage: Vec<FileCoverage>,
}

impl TestRun {
    /// Tests that did not pass (failed or errored): any makes `atrest test` exit 1.
    pub fn failed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.verdict != Verdict::Pass)
            .count()
    }
}

/// The policies to test: the built-in ones (targets when `dirs` is empty, otherwise there for
/// the libraries they provide) and every `.rego` file in `dirs`, tests included.
pub fn sources(builtin: bool, dirs: &[PathBuf]) -> (Vec<Source>, Vec<Problem>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    if builtin {
        // With directories to test, the built-in tests stay out: a test rule of the same name
        // in the same package would be merged with the user's.
        out.extend(
            BUILTIN_POLICIES
                .iter()
                .filter(|(path, _)| dirs.is_empty() || !is_test_file(Path::new(path)))
                .map(|(path, text)| Source {
                    path: path.to_string(),
                    text: text.to_string(),
                    target: dirs.is_empty(),
                }),
        );
    }
    for dir in dirs {
        out.extend(
            read_rego_files(dir, true, &mut errors)
                .into_iter()
                .map(|(path, text)| Source {
                    path,
                    text,
                    target: true,
                }),
        );
    }
    (out, errors)
}

/// The `test_*` rules a file defines, with their lines: rule heads start at the beginning of a
/// line, as `opa fmt` writes them.
fn tests_in(source: &Source) -> Vec<(String, u32)> {
    let Some(package) = source
        .text
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .map(str::trim)
    else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    source
        .text
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let name: String = l
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (name.starts_with("test_") && seen.insert(name.clone()))
                .then(|| (format!("data.{package}.{name}"), i as u32 + 1))
        })
        .collect()
}

/// Compiles `sources` together and runs the tests of the target files, in file order.
pub fn run(sources: &[Source], coverage: bool) -> TestRun {
    let mut run = TestRun::default();
    let mut engine = regorus::Engine::new();
    engine.set_gather_prints(true);
    let mut loaded = Vec::new();
    for s in sources {
        let mut trial = engine.clone();
        match trial.add_policy(s.path.clone(), s.text.clone()) {
            Ok(_) => {
                engine = trial;
                loaded.push(s);
            }
            Err(e) => run.errors.push(regorus_error(&s.path, &e.to_string())),
        }
    }
    if coverage {
        engine.set_enable_coverage(true);
    }
    for s in loaded.iter().filter(|s| s.target) {
        for (name, line) in tests_in(s) {
            let start = Instant::now();
            let verdict = match engine.eval_rule(name.clone()) {
                Ok(regorus::Value::Bool(true)) => Verdict::Pass,
                Ok(regorus::Value::Undefined) => Verdict::Fail("undefined".into()),
                Ok(other) => Verdict::Fail(format!(
                    "got {}",
                    serde_json::to_string(&other).unwrap_or_default()
                )),
                Err(e) => Verdict::Error(first_line(&e.to_string())),
            };
            super::show_prints(&mut engine);
            run.results.push(TestResult {
                path: s.path.clone(),
                line,
                name,
                verdict,
                duration: start.elapsed(),
            });
        }
    }
    if coverage && let Ok(report) = engine.get_coverage_report() {
        let targets: BTreeSet<&str> = loaded
            .iter()
            .filter(|s| s.target && !is_test_file(Path::new(&s.path)))
            .map(|s| s.path.as_str())
            .collect();
        run.coverage = report
            .files
            .into_iter()
            .filter(|f| targets.contains(f.path.as_str()))
            .map(|f| FileCoverage {
                path: f.path.to_string(),
                covered: f.covered,
                not_covered: f.not_covered,
            })
            .collect();
        // regorus reports only files something ran in; the others ran not at all.
        for path in targets {
            if !run.coverage.iter().any(|c| c.path == path) {
                run.coverage.push(FileCoverage {
                    path: path.to_owned(),
                    covered: BTreeSet::new(),
                    not_covered: BTreeSet::new(),
                });
            }
        }
        run.coverage.sort_by(|a, b| a.path.cmp(&b.path));
    }
    run
}

/// `3-5, 9` for the lines {3, 4, 5, 9}.
pub fn ranges(lines: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = lines.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(", ")
}

/// The text `atrest test` prints: a line per test, a summary, and coverage when recorded.
pub fn render(run: &TestRun) -> String {
    let mut out = String::new();
    for e in &run.errors {
        out.push_str(&format!("error: {}\n", Escaped(e)));
    }
    let mut current = None;
    for r in &run.results {
        if current != Some(&r.path) {
            out.push_str(&format!("{}:\n", escape(&r.path)));
            current = Some(&r.path);
        }
        let ms = r.duration.as_secs_f64() * 1000.0;
        let name = escape(&r.name);
        match &r.verdict {
            Verdict::Pass => out.push_str(&format!("  PASS  {name} ({ms:.1} ms)\n")),
            Verdict::Fail(why) => out.push_str(&format!(
                "  FAIL  {name} (line {}): {}\n",
                r.line,
                escape(why)
            )),
            Verdict::Error(why) => out.push_str(&format!(
                "  ERROR {name} (line {}): {}\n",
                r.line,
                escape(why)
            )),
        }
    }
    if !run.coverage.is_empty() {
        out.push_str("\ncoverage (lines of policy code that ran):\n");
        for f in &run.coverage {
            let total = f.covered.len() + f.not_covered.len();
            if total == 0 {
                out.push_str(&format!("  {}  no test ran it\n", escape(&f.path)));
                continue;
            }
            let pct = 100.0 * f.covered.len() as f64 / total as f64;
            out.push_str(&format!(
                "  {}  {pct:.1}% ({} of {total} lines)\n",
                escape(&f.path),
                f.covered.len()
            ));
            if !f.covered.is_empty() {
                out.push_str(&format!("    ran:     {}\n", ranges(&f.covered)));
            }
            if !f.not_covered.is_empty() {
                out.push_str(&format!("    not run: {}\n", ranges(&f.not_covered)));
            }
        }
    }
    let failed = run.failed();
    out.push_str(&format!(
        "\n{} test{}: {} passed, {failed} failed\n",
        run.results.len(),
        if run.results.len() == 1 { "" } else { "s" },
        run.results.len() - failed
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(path: &str, text: &str) -> Source {
        Source {
            path: path.into(),
            text: text.into(),
            target: true,
        }
    }

    #[test]
    fn tests_pass_fail_and_cover_lines() {
        let policy = source(
            "p.rego",
            "package p\n\nimport rego.v1\n\nallow if input.ok\n\nhigh if {\n\tinput.n > 10\n}\n",
        );
        let tests = source(
            "p_test.rego",
            "package p\n\nimport rego.v1\n\ntest_allow if allow with input as {\"ok\": true}\n\ntest_wrong if allow with input as {\"ok\": false}\n\ntest_data if data.p.allow with input as {\"ok\": true} with data.other as 1\n",
        );
        let run = run(&[policy, tests], true);
        assert!(run.errors.is_empty(), "{:?}", run.errors);
        let verdicts: Vec<(&str, &Verdict)> = run
            .results
            .iter()
            .map(|r| (r.name.as_str(), &r.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("data.p.test_allow", &Verdict::Pass),
                ("data.p.test_wrong", &Verdict::Fail("undefined".into())),
                ("data.p.test_data", &Verdict::Pass),
            ]
        );
        assert_eq!(run.failed(), 1);
        let cov = &run.coverage[0];
        assert_eq!(cov.path, "p.rego");
        assert!(cov.covered.contains(&5), "{cov:?}");
        assert!(cov.not_covered.contains(&8), "{cov:?}");
        let text = render(&run);
        assert!(
            text.contains("FAIL  data.p.test_wrong (line 7): undefined"),
            "{text}"
        );
        assert!(text.contains("3 tests: 2 passed, 1 failed"), "{text}");
        assert!(text.contains("p.rego  "), "{text}");
    }

    #[test]
    fn line_ranges() {
        let lines: BTreeSet<u32> = [1, 2, 3, 5, 7, 8].into();
        assert_eq!(ranges(&lines), "1-3, 5, 7-8");
    }
}
