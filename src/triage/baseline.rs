//! Baselines: accept the findings that exist today, report only new ones.
//!
//! A finding is identified as SARIF's `partialFingerprints` identify it
//! ([`crate::finding::Identity`]): rule, file, resource, property, and where present the
//! other object it is about and the module call it was reached through; never a line, so
//! reformatting a template keeps its findings baselined. Files are stored relative to the
//! baseline's own directory (climbing with `..` where they are outside it), so the baseline
//! matches from any working directory, and a finding never matches an entry of another file,
//! even for a resource of the same name. A CloudTrail finding has no file: it is its rule and
//! subject (key, principal, function, mapping), whichever log its events are in.
//!
//! The file is JSON, one entry per line, sorted, so that it reviews well in a diff:
//!
//! ```json
//! {"tool": "atrest", "version": 1, "findings": [
//!   {"rule_id": "ATR-L001", "file": "stack/template.yaml", "resource": "Fn", "property": "kms_key", "message": "..."}
//! ]}
//! ```

use super::{Notice, NoticeKind, Place, Suppression, SuppressionKind, Via};
use crate::engine::Rule;
use crate::finding::Identity;
use crate::read::{Limits, Node};
use crate::scan::{FileFinding, ScanResult};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

const VERSION: u64 = 1;

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry {
    pub rule_id: String,
    /// Relative to the baseline file's directory, `/`-separated.
    pub file: String,
    pub resource: String,
    pub property: String,
    /// How a module's object was reached (`module.fn` called from `prod/main.tf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// The other object the finding is about (ATR-L010: the function).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// A CloudTrail finding's subject, in place of `file`, `resource` and `property`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloudtrail: Option<crate::trail::Subject>,
    /// For the reader of the file only; not matched.
    #[serde(default)]
    pub message: String,
}

impl Entry {
    /// The entry for a finding, its file relative to the baseline's directory `dir`: its
    /// [`Identity`], and for the reader the message (and, of a CloudTrail finding, the object
    /// its subject names).
    fn of(f: &FileFinding, rule_id: &str, root: &Path, dir: &Path) -> Entry {
        let message = f.finding.message.clone();
        match Identity::of(f, rule_id, &f.path) {
            Identity::File(k) => Entry {
                rule_id: k.rule.to_owned(),
                file: super::relative_from(k.file, root, dir),
                resource: k.resource.to_owned(),
                property: k.property.to_owned(),
                via: k.via.map(str::to_owned),
                subject: k.subject.map(str::to_owned),
                cloudtrail: None,
                message,
            },
            Identity::Trail { rule, subject } => Entry {
                rule_id: rule.to_owned(),
                file: String::new(),
                resource: f.finding.resource_id.clone(),
                property: f.finding.property.clone(),
                via: f.finding.via.clone(),
                subject: f.finding.subject.clone(),
                cloudtrail: Some(subject.clone()),
                message,
            },
        }
    }

    /// What a finding must equal to be accepted: its [`Identity`]. For a CloudTrail entry that
    /// is its rule and subject; what else it stores is for the reader.
    fn key(&self) -> Entry {
        match &self.cloudtrail {
            Some(subject) => Entry {
                rule_id: self.rule_id.clone(),
                file: String::new(),
                resource: String::new(),
                property: String::new(),
                via: None,
                subject: None,
                cloudtrail: Some(subject.clone()),
                message: String::new(),
            },
            None => Entry {
                message: String::new(),
                ..self.clone()
            },
        }
    }
}

/// A loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    /// The baseline file as shown to the user.
    shown: String,
    /// Its directory, absolute: entries' files are relative to it.
    dir: PathBuf,
    entries: Vec<(Entry, Place)>,
    index: HashMap<Entry, usize>,
}

/// The directory a baseline file's paths are relative to.
fn base_dir(path: &Path, root: &Path) -> PathBuf {
    let abs = root.join(path);
    abs.parent().map(Path::to_path_buf).unwrap_or(abs)
}

impl Baseline {
    /// Reads a baseline written by [`write`]. `shown` is how the file is named in messages.
    pub fn load(path: &Path, root: &Path) -> Result<Baseline, String> {
        let shown = crate::scan::display_path(path, root);
        let text = crate::read::file::read_text_bounded(
            &root.join(path),
            Limits::default().max_template_bytes,
        )
        .map_err(|e| format!("{shown}: cannot read baseline: {e}"))?;
        let doc = crate::read::json::parse(&text, &Limits::default())
            .map_err(|e| format!("{shown}: {e}"))?;
        let bad = |why: &str| format!("{shown}: not an atrest baseline: {why}");
        if doc.root.get("tool").and_then(Node::as_str) != Some("atrest") {
            return Err(bad("\"tool\" is not \"atrest\""));
        }
        let version = doc.root.get("version").and_then(Node::scalar_text);
        if version.as_deref() != Some(&VERSION.to_string()) {
            return Err(bad(&format!("version {version:?} is not {VERSION}")));
        }
        let items = match doc.root.get("findings") {
            Some(n) if matches!(n.value, crate::read::Value::Seq(_)) => n.items(),
            _ => return Err(bad("no \"findings\" list")),
        };
        let mut entries = Vec::with_capacity(items.len());
        let mut index = HashMap::with_capacity(items.len());
        for item in items {
            let entry: Entry = serde_json::from_value(item.to_json()).map_err(|e| {
                format!("{shown}:{}: bad baseline entry: {e}", item.span.start.line)
            })?;
            let place = Place {
                file: shown.clone(),
                line: item.span.start.line,
                column: item.span.start.col,
            };
            index.insert(entry.key(), entries.len());
            entries.push((entry, place));
        }
        Ok(Baseline {
            shown,
            dir: base_dir(path, root),
            entries,
            index,
        })
    }

    /// The entry that accepts this finding, by index.
    pub fn find(&self, f: &FileFinding, rule_id: &str, root: &Path) -> Option<usize> {
        self.index
            .get(&Entry::of(f, rule_id, root, &self.dir).key())
            .copied()
    }

    /// The suppression a finding accepted by entry `entry` carries: external, pointing at the
    /// entry's line in the baseline.
    pub fn suppression(&self, entry: usize) -> Suppression {
        Suppression {
            kind: SuppressionKind::External,
            via: Via::Baseline,
            justification: format!("accepted in the baseline {}", self.shown),
            until: None,
            place: Some(self.entries[entry].1.clone()),
        }
    }

    /// Suppresses the open findings the baseline accepts; returns the entries used.
    pub fn apply(&self, result: &mut ScanResult, rules: &[Rule], root: &Path) -> BTreeSet<usize> {
        let mut used = BTreeSet::new();
        for f in result
            .findings
            .iter_mut()
            .filter(|f| f.suppression.is_none())
        {
            if let Some(i) = self.find(f, &rules[f.finding.rule].id, root) {
                used.insert(i);
                f.suppression = Some(self.suppression(i));
            }
        }
        used
    }

    /// Entries that matched nothing: fixed, renamed, or out of this scan's paths.
    pub fn unused(&self, used: &BTreeSet<usize>) -> Vec<Notice> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(_, (e, place))| Notice {
                kind: NoticeKind::Unused,
                place: Some(place.clone()),
                message: match &e.cloudtrail {
                    Some(_) => format!(
                        "baseline entry {} {} in the CloudTrail logs matches no finding",
                        e.rule_id, e.resource
                    ),
                    None => format!(
                        "baseline entry {} {} {} in {} matches no finding",
                        e.rule_id, e.resource, e.property, e.file
                    ),
                },
            })
            .collect()
    }
}

/// Writes the open (unsuppressed) findings of `result` as a baseline at `path`.
pub fn write(
    path: &Path,
    result: &ScanResult,
    rules: &[Rule],
    root: &Path,
) -> Result<usize, String> {
    let dir = base_dir(path, root);
    let mut entries: Vec<Entry> = result
        .findings
        .iter()
        .filter(|f| f.suppression.is_none())
        .map(|f| Entry::of(f, &rules[f.finding.rule].id, root, &dir))
        .collect();
    entries.sort();
    entries.dedup_by(|a, b| a.key() == b.key());
    let mut text = format!(
        "{{\"tool\": \"atrest\", \"version\": {VERSION}, \"findings\": [{}",
        if entries.is_empty() { "" } else { "\n" }
    );
    for (i, e) in entries.iter().enumerate() {
        let line = serde_json::to_string(e).map_err(|e| e.to_string())?;
        text.push_str(&format!(
            "  {line}{}\n",
            if i + 1 < entries.len() { "," } else { "" }
        ));
    }
    text.push_str("]}\n");
    let target = root.join(path);
    if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot write baseline {}: {e}", path.display()))?;
    }
    crate::read::file::write_atomic(&target, text.as_bytes())?;
    Ok(entries.len())
}
