//! Triage: after the policies have run and before anything is reported, decide which findings
//! the user has already dealt with.
//!
//! One suppression model, written four ways: an `atrest:ignore` comment in the template
//! ([`inline`]), `Metadata: {atrest: {ignore: [...]}}` on a CloudFormation resource (also
//! [`inline`]), an `ignore` entry in `.atrest.yaml` ([`crate::config`]), and `--skip-rule`.
//! Each carries a reason and optionally an expiry date. A [`baseline`] accepts the findings that
//! existed when it was written. `--diff-base` keeps only findings in files changed since a git
//! revision ([`git`]).
//!
//! A suppressed finding is not dropped: it keeps a [`Suppression`] that reporters render (SARIF
//! `suppressions`, text only with `--show-suppressed`). What the user should hear about the
//! suppressions themselves (expired, matching nothing, malformed) comes back as [`Notice`]s.

pub mod baseline;
pub mod comments;
pub use crate::finding::date;
pub use crate::git;
pub mod inline;

pub use crate::finding::{Date, Place, Suppression, SuppressionKind, Via};
pub use crate::paths::{normalize, relative_from, relative_to};

use crate::engine::Rule;
use crate::scan::{FileFinding, ScanResult};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

impl Suppression {
    fn expired(&self, today: Date) -> bool {
        self.until.is_some_and(|u| u < today)
    }
}

/// Which findings a suppression applies to.
#[derive(Debug, Clone)]
pub enum Target {
    /// Every finding of its rules (`--skip-rule`, a config entry that names only a rule).
    Everywhere,
    /// The findings of one resource in one file: a comment inside or just above it, or its
    /// `Metadata`. `lines` is the resource's extent, inclusive.
    Resource {
        file: String,
        name: String,
        lines: (u32, u32),
    },
    /// Findings located on one line of one file (a comment outside any resource).
    Line { file: String, line: u32 },
    /// A config entry: a glob over paths relative to `base` (the config file's directory),
    /// a resource name, or both.
    Selector {
        base: PathBuf,
        paths: Option<globset::GlobMatcher>,
        resource: Option<String>,
    },
}

/// One written suppression: the rules it names, what it applies to, and what it says.
#[derive(Debug, Clone)]
pub struct Directive {
    pub rules: Vec<String>,
    pub target: Target,
    pub suppression: Suppression,
}

/// A finding's object is `name` itself, or a part of it (`Fn.Events.Queue` of `Fn`).
fn part_of(resource_id: &str, name: &str) -> bool {
    resource_id == name
        || resource_id
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with('.'))
}

impl Directive {
    fn matches(&self, f: &FileFinding, rule_id: &str, root: &Path) -> bool {
        if !self.rules.iter().any(|r| r.eq_ignore_ascii_case(rule_id)) {
            return false;
        }
        let line = f.finding.location.as_ref().map(|l| l.span.start.line);
        let ids = [&f.finding.resource_id, &f.finding.logical_id];
        match &self.target {
            Target::Everywhere => true,
            Target::Resource { file, name, lines } => {
                *file == f.path
                    && (ids.iter().any(|id| part_of(id, name))
                        || line.is_some_and(|l| (lines.0..=lines.1).contains(&l)))
            }
            Target::Line { file, line: at } => *file == f.path && line == Some(*at),
            Target::Selector {
                base,
                paths,
                resource,
            } => {
                let path_ok = paths.as_ref().is_none_or(|glob| {
                    relative_to(&f.path, root, base)
                        .is_some_and(|rel| crate::paths::path_matches(glob, &rel))
                });
                let resource_ok = resource
                    .as_ref()
                    .is_none_or(|r| ids.iter().any(|id| part_of(id, r)));
                path_ok && resource_ok
            }
        }
    }

    /// How the directive is named in notices, which carry its place: "suppression of ATR-L001".
    fn describe(&self) -> String {
        let rules = self.rules.join(", ");
        match self.suppression.via {
            Via::CommandLine => format!("--skip-rule {rules}"),
            via => format!("suppression of {rules} ({})", via.name()),
        }
    }
}

/// Directives by what they can match, so that a file with many suppressions and many findings
/// costs about one lookup per finding rather than a comparison of every pair.
struct Index<'a> {
    /// Not tied to one file: the config file and the command line.
    global: Vec<usize>,
    files: HashMap<&'a str, FileIndex<'a>>,
}

#[derive(Default)]
struct FileIndex<'a> {
    lines: HashMap<u32, Vec<usize>>,
    names: HashMap<&'a str, Vec<usize>>,
    /// Resource extents by first line: (last line, directives). Extents do not overlap.
    extents: BTreeMap<u32, (u32, Vec<usize>)>,
}

impl<'a> Index<'a> {
    fn new(directives: &'a [Directive]) -> Self {
        let mut index = Index {
            global: Vec::new(),
            files: HashMap::new(),
        };
        for (i, d) in directives.iter().enumerate() {
            match &d.target {
                Target::Everywhere | Target::Selector { .. } => index.global.push(i),
                Target::Line { file, line } => index
                    .files
                    .entry(file)
                    .or_default()
                    .lines
                    .entry(*line)
                    .or_default()
                    .push(i),
                Target::Resource { file, name, lines } => {
                    let fi = index.files.entry(file).or_default();
                    fi.names.entry(name).or_default().push(i);
                    let extent = fi.extents.entry(lines.0).or_insert((lines.1, Vec::new()));
                    extent.0 = extent.0.max(lines.1);
                    extent.1.push(i);
                }
            }
        }
        index
    }

    /// The directives that may match `f`, in precedence order, each once.
    fn candidates(&self, f: &FileFinding) -> Vec<usize> {
        let mut out = self.global.clone();
        if let Some(fi) = self.files.get(f.path.as_str()) {
            let line = f.finding.location.as_ref().map(|l| l.span.start.line);
            if let Some(l) = line {
                out.extend(fi.lines.get(&l).into_iter().flatten());
                if let Some((_, (end, ids))) = fi.extents.range(..=l).next_back()
                    && *end >= l
                {
                    out.extend(ids);
                }
            }
            // A resource's name, or any prefix of a part's id (`Fn` of `Fn.Events.Queue`).
            for id in [&f.finding.resource_id, &f.finding.logical_id] {
                let mut name = id.as_str();
                loop {
                    out.extend(fi.names.get(name).into_iter().flatten());
                    match name.rfind('.') {
                        Some(dot) => name = &name[..dot],
                        None => break,
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Something to tell the user about a suppression or the baseline. Never changes the exit code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Notice {
    pub kind: NoticeKind,
    pub place: Option<Place>,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// A suppression that is malformed (no reason, a bad date) and so does not suppress.
    Invalid,
    /// A suppression past its `until` date that matches a finding: the finding is reported.
    Expired,
    /// A suppression or baseline entry that matches no finding (`--report-unused-suppressions`).
    Unused,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.place {
            Some(p) => write!(f, "{p}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// What triage needs besides the scan.
pub struct Triage<'a> {
    /// Suppressions written outside the templates: `.atrest.yaml` and `--skip-rule`.
    pub external: Vec<Directive>,
    pub baseline: Option<&'a baseline::Baseline>,
    /// With `--diff-base`: the files (as shown) that changed; findings elsewhere are dropped.
    pub changed: Option<&'a BTreeSet<String>>,
    /// Look for suppressions that match nothing, in every scanned file.
    pub report_unused: bool,
    pub today: Date,
    /// The limits the scan read templates with; files are read again with the same.
    pub limits: crate::read::Limits,
    /// Every rule id of the catalogue, also those this run does not evaluate (`--rule`): a
    /// suppression naming none of them has a typo. Empty: not checked.
    pub catalogue: Vec<String>,
}

/// Marks suppressed findings and returns what to tell the user about the suppressions.
///
/// Order of precedence when several match: comments, `Metadata`, config, `--skip-rule`, then
/// the baseline. An expired suppression does not suppress; the next one that matches may.
pub fn apply(result: &mut ScanResult, rules: &[Rule], root: &Path, t: Triage) -> Vec<Notice> {
    // With --diff-base, findings elsewhere still mark suppressions as used (they are not
    // stale), but only changed files get notices and findings.
    let in_scope = |file: &str| t.changed.is_none_or(|c| c.contains(file));
    let mut notices = Vec::new();
    let mut files: BTreeSet<&str> = result.findings.iter().map(|f| f.path.as_str()).collect();
    if t.report_unused {
        files.extend(result.scanned.iter().map(|(p, _)| p.as_str()));
    }
    let mut directives = Vec::new();
    let known = |id: &str| t.catalogue.iter().any(|k| k.eq_ignore_ascii_case(id));
    for file in files {
        let (found, problems) = inline::directives(file, root, &t.limits);
        if in_scope(file) {
            notices.extend(problems);
            // A typo (`ATR-L01`) would otherwise never suppress and never be noticed.
            if !t.catalogue.is_empty() {
                for d in &found {
                    for id in d.rules.iter().filter(|id| !known(id)) {
                        notices.push(Notice {
                            kind: NoticeKind::Invalid,
                            place: d.suppression.place.clone(),
                            message: format!(
                                "{}: {id} is no rule (see `atrest rules`)",
                                d.describe()
                            ),
                        });
                    }
                }
            }
        }
        directives.extend(found);
    }
    directives.extend(t.external);

    let index = Index::new(&directives);
    let mut used = vec![false; directives.len()];
    let mut expired_seen: BTreeMap<usize, usize> = BTreeMap::new();
    for f in &mut result.findings {
        let rule_id = rules[f.finding.rule].id.as_str();
        let mut chosen = None;
        for i in index.candidates(f) {
            let d = &directives[i];
            if !d.matches(f, rule_id, root) {
                continue;
            }
            used[i] = true;
            if d.suppression.expired(t.today) {
                if in_scope(&f.path) {
                    *expired_seen.entry(i).or_default() += 1;
                }
            } else if chosen.is_none() {
                chosen = Some(d.suppression.clone());
            }
        }
        f.suppression = chosen;
    }
    let baseline_used = t
        .baseline
        .map(|b| b.apply(result, rules, root))
        .unwrap_or_default();

    for (i, count) in expired_seen {
        let d = &directives[i];
        let until = d
            .suppression
            .until
            .map(|u| u.to_string())
            .unwrap_or_default();
        notices.push(Notice {
            kind: NoticeKind::Expired,
            place: d.suppression.place.clone(),
            message: format!(
                "{} expired on {until}; {count} finding{} it matches {} reported again",
                d.describe(),
                if count == 1 { "" } else { "s" },
                if count == 1 { "is" } else { "are" },
            ),
        });
    }
    if t.report_unused {
        // A suppression of rules this run did not evaluate (`--rule`) cannot have matched.
        let evaluated = |d: &Directive| {
            d.rules
                .iter()
                .any(|id| rules.iter().any(|r| r.id.eq_ignore_ascii_case(id)))
        };
        let stale = directives.iter().zip(&used).filter(|(d, used)| {
            let in_source = matches!(d.suppression.kind, SuppressionKind::InSource);
            !**used
                && evaluated(d)
                && (!in_source
                    || d.suppression
                        .place
                        .as_ref()
                        .is_none_or(|p| in_scope(&p.file)))
        });
        for (d, _) in stale {
            notices.push(Notice {
                kind: NoticeKind::Unused,
                place: d.suppression.place.clone(),
                message: format!("{} matches no finding", d.describe()),
            });
        }
        if let Some(b) = t.baseline {
            notices.extend(b.unused(&baseline_used));
        }
    }
    result.findings.retain(|f| in_scope(&f.path));
    notices.sort_by(|a, b| (&a.place, a.kind).cmp(&(&b.place, b.kind)));
    notices
}

/// Parses `reason="..." until=YYYY-MM-DD` values shared by every written form: a reason is
/// required, `until` must be a real day.
pub fn check_fields(reason: Option<&str>, until: Option<&str>) -> Result<Option<Date>, String> {
    if reason.is_none_or(|r| r.trim().is_empty()) {
        return Err("needs a reason (reason=\"...\")".into());
    }
    match until {
        None => Ok(None),
        Some(u) => Date::parse(u)
            .map(Some)
            .ok_or_else(|| format!("until={u} is not a date (YYYY-MM-DD)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_a_resource_match_it() {
        assert!(part_of("Fn", "Fn"));
        assert!(part_of("Fn.Events.Queue", "Fn"));
        assert!(!part_of("FnOther", "Fn"));
    }

    #[test]
    fn fields_need_a_reason_and_a_real_date() {
        assert!(check_fields(None, None).is_err());
        assert!(check_fields(Some("  "), None).is_err());
        assert_eq!(check_fields(Some("ok"), None), Ok(None));
        assert!(check_fields(Some("ok"), Some("2027-02-30")).is_err());
        assert!(
            check_fields(Some("ok"), Some("2027-02-28"))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn paths_relative_to_a_base() {
        let root = Path::new("/repo/sub");
        assert_eq!(
            relative_to("a/b.yaml", root, Path::new("/repo")).as_deref(),
            Some("sub/a/b.yaml")
        );
        assert_eq!(
            relative_to("/elsewhere/x.yaml", root, Path::new("/repo")),
            None
        );
        assert_eq!(
            relative_from("a/b.yaml", root, Path::new("/repo")),
            "sub/a/b.yaml"
        );
        assert_eq!(
            relative_from("a/b.yaml", root, Path::new("/repo/other/bl")),
            "../../sub/a/b.yaml"
        );
        assert_eq!(
            relative_from("../x.yaml", root, Path::new("/repo/sub/bl")),
            "../../x.yaml"
        );
    }
}
