//! `.atrest.yaml`: project settings for `atrest scan`, so that a pre-commit hook, a CI job and
//! a reviewer at a terminal run the same scan.
//!
//! The file is found in the scan root or the nearest parent directory that has one, stopping at
//! the repository's top (the directory with `.git`), or given with `--config`. It is validated
//! against `schemas/config.schema.json`; a mistake is reported with its line and column, found
//! through the positioned YAML tree. Relative paths in it are relative to its directory.

pub use crate::paths::{glob, path_matches};

use crate::engine::{Rule, Severity};
use crate::read::{Limits, Node, Pos, yaml};
use crate::triage::{self, Directive, Place, Suppression, SuppressionKind, Target, Via};
use globset::GlobMatcher;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The names looked for, in order.
pub const FILE_NAMES: &[&str] = &[".atrest.yaml", ".atrest.yml"];

const SCHEMA: &str = include_str!("../schemas/config.schema.json");

/// One rule's settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSetting {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
}

/// A loaded, validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The file as shown to the user.
    pub shown: String,
    /// Its directory, absolute.
    pub dir: PathBuf,
    /// `low`, `medium`, `high`, `critical` or `none`, as on the command line.
    pub fail_on: Option<String>,
    /// `pass`, `warn` or `fail`.
    pub unknown: Option<String>,
    /// Policy directories, as paths relative to the scan root where they lie inside it.
    pub policy: Vec<PathBuf>,
    pub no_builtin: Option<bool>,
    pub rules: BTreeMap<String, RuleSetting>,
    /// Terraform variable files, resolved against the file's directory.
    pub tfvars: Vec<PathBuf>,
    /// Paths the file names that lead out of the project (see [`Config::load_within`]): left
    /// out, and errors of the scan.
    pub refused: Vec<crate::scan::InputError>,
    exclude: Vec<GlobMatcher>,
    ignore: Vec<Directive>,
    tree: Node,
}

/// The largest config file read.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The nearest config file at or above `start`, not above the repository's top; outside a
/// repository, only `start` itself (a stray file in a parent directory is not this project's).
pub fn discover(start: &Path) -> Option<PathBuf> {
    let top = crate::read::file::repository_top(start);
    let mut dir = Some(start);
    while let Some(d) = dir {
        for name in FILE_NAMES {
            let candidate = d.join(name);
            // Whatever it is: loading it says what is wrong with it (a FIFO, a link out).
            if std::fs::symlink_metadata(&candidate).is_ok() {
                return Some(candidate);
            }
        }
        if top.as_deref().is_none_or(|t| t == d) {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// What paths in a config file may name: the repository the scan root is in (or the scan root
/// outside one), the config file's own directory, and `--allow-outside` paths.
fn config_boundary(root: &Path, dir: &Path, allow: &[PathBuf]) -> crate::read::file::Boundary {
    let top = crate::read::file::repository_top(root).unwrap_or_else(|| root.to_path_buf());
    crate::read::file::Boundary::new(
        root,
        [top.as_path(), dir]
            .into_iter()
            .chain(allow.iter().map(PathBuf::as_path)),
    )
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA).expect("the config schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the config schema compiles")
    })
}

/// The node at a JSON pointer (as far as it leads).
fn node_at<'a>(root: &'a Node, pointer: &str) -> &'a Node {
    let mut node = root;
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if let Some(e) = node.entry(&seg) {
            node = &e.value;
        } else if let Some(item) = seg.parse::<usize>().ok().and_then(|i| node.items().get(i)) {
            node = item;
        } else {
            break;
        }
    }
    node
}

/// The most specific message of a schema error: for `oneOf`/`anyOf`, the deepest sub-error.
fn best_error<'a>(
    e: &'a jsonschema::ValidationError<'a>,
) -> (&'a jsonschema::ValidationError<'a>, String) {
    use jsonschema::error::ValidationErrorKind as K;
    let context = match e.kind() {
        K::OneOfNotValid { context } | K::AnyOf { context } => Some(context),
        _ => None,
    };
    let deeper = context.and_then(|branches| {
        branches
            .iter()
            .flatten()
            .filter(|s| s.instance_path().as_str().len() > e.instance_path().as_str().len())
            .max_by_key(|s| s.instance_path().as_str().len())
    });
    let e = deeper.unwrap_or(e);
    // The crate's enum message lists two options and a count; name them all.
    let message = match e.kind() {
        K::Enum { options } => format!(
            "{} is not one of {}",
            e.instance(),
            options
                .as_array()
                .map(|o| o
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_else(|| options.to_string())
        ),
        _ => e.to_string(),
    };
    (e, message)
}

/// The `ignore` entries of a config file, as suppressions.
fn ignore_directives(tree: &Node, shown: &str, dir: &Path) -> Result<Vec<Directive>, String> {
    let mut out = Vec::new();
    for item in tree.get("ignore").map(Node::items).unwrap_or_default() {
        let text = |k: &str| item.get(k).and_then(Node::scalar_text);
        let at = |k: &str| {
            let n = item.get(k).unwrap_or(item);
            format!("{}:{}:{}", shown, n.span.start.line, n.span.start.col)
        };
        let rules: Vec<String> = match item.get("id") {
            Some(n) if !n.items().is_empty() => {
                n.items().iter().filter_map(Node::scalar_text).collect()
            }
            Some(n) => n.scalar_text().into_iter().collect(),
            None => Vec::new(),
        };
        let until = triage::check_fields(text("reason").as_deref(), text("until").as_deref())
            .map_err(|e| format!("{}: ignore: {e}", at("until")))?;
        let paths = match text("path") {
            Some(p) => Some(glob(&p).map_err(|e| format!("{}: {e}", at("path")))?),
            None => None,
        };
        let target = if paths.is_none() && text("resource").is_none() {
            Target::Everywhere
        } else {
            Target::Selector {
                base: dir.to_path_buf(),
                paths,
                resource: text("resource"),
            }
        };
        out.push(Directive {
            rules,
            target,
            suppression: Suppression {
                kind: SuppressionKind::External,
                via: Via::Config,
                justification: text("reason").unwrap_or_default(),
                until,
                place: Some(Place {
                    file: shown.to_owned(),
                    line: item.span.start.line,
                    column: item.span.start.col,
                }),
            },
        });
    }
    Ok(out)
}

impl Config {
    /// Reads and validates a config file. `root` is the scan root, for showing the path.
    pub fn load(path: &Path, root: &Path) -> Result<Config, String> {
        Config::load_within(path, root, &[])
    }

    /// [`Config::load`], where the paths the file names (`policy`, `tfvars`) may lie in the
    /// repository the scan root is in (the scan root outside one), in the file's directory, or
    /// under `allow` (`--allow-outside`); others are [`Config::refused`].
    pub fn load_within(path: &Path, root: &Path, allow: &[PathBuf]) -> Result<Config, String> {
        let shown = crate::scan::display_path(path, root);
        let abs = root.join(path);
        let text = crate::read::file::read_text_bounded(&abs, MAX_CONFIG_BYTES)
            .map_err(|e| format!("{shown}: {e}"))?;
        let parsed = yaml::parse(&text, &Limits::default()).map_err(|e| format!("{shown}: {e}"))?;
        if let Some(p) = parsed.problems.first() {
            return Err(format!("{shown}: {p}"));
        }
        let tree = parsed.root;
        // An empty file is an empty configuration.
        let json = if tree.is_null() {
            serde_json::json!({})
        } else {
            tree.to_json()
        };
        let at = |pos: Pos, msg: &str| format!("{shown}:{}:{}: {msg}", pos.line, pos.col);
        if let Some(e) = validator().iter_errors(&json).next() {
            let (e, message) = best_error(&e);
            let pointer = e.instance_path().as_str().to_owned();
            let node = node_at(&tree, &pointer);
            let mut pos = node.span.start;
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
                e.kind()
                && let Some(entry) = unexpected.first().and_then(|k| node.entry(k))
            {
                pos = entry.key_span.start;
            }
            let field = pointer.trim_start_matches('/').replace('/', ".");
            let msg = if field.is_empty() {
                message
            } else {
                format!("{field}: {message}")
            };
            return Err(at(pos, &msg));
        }

        let dir = abs
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| root.to_path_buf());
        let strings = |key: &str| -> Vec<String> {
            tree.get(key)
                .map(|n| n.items().iter().filter_map(Node::scalar_text).collect())
                .unwrap_or_default()
        };
        let text_of = |key: &str| tree.get(key).and_then(Node::scalar_text);
        let mut exclude = Vec::new();
        for (i, pattern) in strings("exclude").iter().enumerate() {
            let node = &tree.get("exclude").unwrap().items()[i];
            exclude.push(glob(pattern).map_err(|e| at(node.span.start, &e))?);
        }
        let mut rules = BTreeMap::new();
        for e in tree.get("rules").map(Node::entries).unwrap_or_default() {
            let setting = match e.value.scalar_text().as_deref() {
                Some("on" | "true") => RuleSetting {
                    enabled: Some(true),
                    ..Default::default()
                },
                Some("off" | "false") => RuleSetting {
                    enabled: Some(false),
                    ..Default::default()
                },
                _ => RuleSetting {
                    enabled: e
                        .value
                        .get("enabled")
                        .and_then(|n| match n.scalar_text()?.as_str() {
                            "true" => Some(true),
                            _ => Some(false),
                        }),
                    severity: e
                        .value
                        .get("severity")
                        .and_then(|n| serde_json::from_value(n.to_json()).ok()),
                },
            };
            rules.insert(e.key.clone(), setting);
        }
        let ignore = ignore_directives(&tree, &shown, &dir)?;
        // A pull request writes the config too: what it names must be in the project. A path
        // that leads elsewhere is an error of the scan, and left out; the rest still applies.
        let boundary = config_boundary(root, &dir, allow);
        let mut refused = Vec::new();
        let mut paths = |key: &str| -> Vec<String> {
            let mut kept = Vec::new();
            for node in tree.get(key).map(Node::items).unwrap_or_default() {
                let Some(p) = node.scalar_text() else {
                    continue;
                };
                match boundary.check(&dir.join(&p)) {
                    Ok(()) => kept.push(p),
                    Err(why) => refused.push(crate::scan::InputError {
                        path: shown.clone(),
                        line: Some(node.span.start.line),
                        column: Some(node.span.start.col),
                        message: format!("{key}: {p}: {why}"),
                    }),
                }
            }
            kept
        };
        let policy = paths("policy");
        let tfvars = paths("tfvars");
        Ok(Config {
            shown,
            fail_on: text_of("fail-on"),
            unknown: text_of("unknown"),
            // Shown like paths given on the command line: relative to the scan root.
            policy: policy
                .iter()
                .map(|p| match crate::scan::display_path(&dir.join(p), root) {
                    shown if shown.is_empty() => PathBuf::from("."),
                    shown => PathBuf::from(shown),
                })
                .collect(),
            no_builtin: text_of("no-builtin").map(|b| b == "true"),
            tfvars: tfvars.iter().map(|p| dir.join(p)).collect(),
            refused,
            rules,
            exclude,
            ignore,
            dir,
            tree,
        })
    }

    /// The `ignore` entries, as suppressions.
    pub fn ignore(&self) -> &[Directive] {
        &self.ignore
    }

    /// Whether a file (as shown relative to `root`) is excluded from the scan.
    pub fn excluded(&self, shown: &str, root: &Path) -> bool {
        !self.exclude.is_empty()
            && triage::relative_to(shown, root, &self.dir)
                .is_some_and(|rel| self.exclude.iter().any(|g| path_matches(g, &rel)))
    }

    /// Rule IDs set `off` (or `enabled: false`).
    pub fn disabled_rules(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|(_, s)| s.enabled == Some(false))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// Checks that every rule the file names exists among `known`.
    pub fn check_rule_ids(&self, known: &[Rule]) -> Result<(), String> {
        let mut named: Vec<(String, Pos)> = Vec::new();
        if let Some(rules) = self.tree.get("rules") {
            named.extend(
                rules
                    .entries()
                    .iter()
                    .map(|e| (e.key.clone(), e.key_span.start)),
            );
        }
        for d in &self.ignore {
            if let Some(p) = &d.suppression.place {
                let pos = Pos {
                    line: p.line,
                    col: p.column,
                };
                named.extend(d.rules.iter().map(|r| (r.clone(), pos)));
            }
        }
        for (id, pos) in named {
            if !known.iter().any(|r| r.id.eq_ignore_ascii_case(&id)) {
                return Err(format!(
                    "{}:{}:{}: {id}: no such rule (see `atrest rules`)",
                    self.shown, pos.line, pos.col
                ));
            }
        }
        Ok(())
    }

    /// Applies severity overrides to the loaded rules. A new severity brings its default
    /// security-severity, so GitHub ranks the alert as the project does.
    pub fn override_severities(&self, rules: &mut [Rule]) {
        for rule in rules {
            let setting = self
                .rules
                .iter()
                .find(|(id, _)| id.eq_ignore_ascii_case(&rule.id))
                .map(|(_, s)| s);
            if let Some(s) = setting.and_then(|s| s.severity) {
                rule.severity = s;
                rule.security_severity =
                    crate::engine::metadata::default_security_severity(s).into();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".atrest.yaml"), text).unwrap();
        Config::load(Path::new(".atrest.yaml"), dir.path())
    }

    #[test]
    fn a_full_config_loads() {
        let c = load(
            "fail-on: medium\nunknown: fail\npolicy: [org-policies]\nrules:\n  ATR-L005: off\n  ATR-L004: {severity: high}\nexclude: [cdk.out, 'legacy/**']\ntfvars: [prod.tfvars]\nignore:\n  - id: ATR-L001\n    path: 'stacks/*.yaml'\n    reason: reviewed\n    until: 2999-01-31\n",
        )
        .unwrap();
        assert_eq!(c.fail_on.as_deref(), Some("medium"));
        assert_eq!(c.unknown.as_deref(), Some("fail"));
        assert_eq!(c.disabled_rules(), ["ATR-L005"]);
        assert_eq!(c.rules["ATR-L004"].severity, Some(Severity::High));
        assert!(c.policy[0].ends_with("org-policies"));
        assert_eq!(c.ignore().len(), 1);
        let root = c.dir.clone();
        assert!(c.excluded("cdk.out/stack.json", &root));
        assert!(c.excluded("a/cdk.out/stack.json", &root));
        assert!(c.excluded("legacy/x/y.yaml", &root));
        assert!(!c.excluded("stacks/a.yaml", &root));
        assert!(load("").is_ok());
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            ("fail-on: sometimes\n", ":1:10: fail-on:"),
            (
                "rules:\n  ATR-L004: {severity: extreme}\n",
                ":2:24: rules.ATR-L004.severity:",
            ),
            ("unknown: warn\ncolour: red\n", ":2:1:"),
            (
                "ignore:\n  - id: ATR-L001\n    path: x\n",
                ":2:5: ignore.0:",
            ),
            (
                "ignore:\n  - {id: ATR-L001, reason: r, until: 2027-02-30}\n",
                ":2:",
            ),
            ("exclude: ['a[']\n", ":1:11:"),
        ];
        for (text, expected) in cases {
            let e = load(text).unwrap_err();
            assert!(e.contains(expected), "{text:?}: {e}");
        }
        assert!(
            load("fail-on: sometimes\n")
                .unwrap_err()
                .contains("sometimes")
        );
        assert!(
            load("ignore:\n  - id: ATR-L001\n    path: x\n")
                .unwrap_err()
                .contains("reason")
        );
    }

    #[test]
    fn discovery_walks_up_to_the_repository_top() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("repo/a/b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(discover(&deep), None);
        std::fs::write(dir.path().join(".atrest.yaml"), "").unwrap();
        // Outside a repository, only the scan root's own file counts.
        assert_eq!(discover(&deep), None);
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        assert_eq!(discover(&deep), None, "not above the repository");
        std::fs::write(dir.path().join("repo/.atrest.yaml"), "").unwrap();
        assert_eq!(discover(&deep), Some(dir.path().join("repo/.atrest.yaml")));
        std::fs::write(dir.path().join("repo/a/.atrest.yml"), "").unwrap();
        assert_eq!(discover(&deep), Some(dir.path().join("repo/a/.atrest.yml")));
    }
}
