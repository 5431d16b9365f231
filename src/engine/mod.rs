//! Engine: Rego policies evaluated in-process by regorus.
//!
//! Policies are compiled once per run into one prepared [`regorus::Engine`]; workers clone it
//! and evaluate each inventory against every rule's `deny` set. A policy names a model object and
//! a property; turning that into a file, line and column is done here, so policy authors never
//! deal with lines.

pub mod metadata;
pub mod route;

pub use route::{RouteCache, Router};

pub use metadata::{PolicyError, Route, Rule, Severity};

use crate::model::{Inventory, Loc};
use serde::{Deserialize, Serialize};
use std::path::Path;

// The built-in policies, embedded in the binary by build.rs. Files without `# METADATA` are
// helper libraries; `*_test.rego` files hold Rego unit tests.
include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Fail,
    /// The rule could not decide (a key from a parameter without default, say).
    Unknown,
}

/// A finding as the engine produces it: a rule, a model object, a property, and where that
/// property is written.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: usize,
    pub outcome: Outcome,
    pub message: String,
    pub resource_id: String,
    pub logical_id: String,
    pub resource_type: String,
    /// The source format of the object (`cloudformation`, `sam`, ...), to pick the right fix.
    pub source: &'static str,
    pub property: String,
    pub location: Option<Loc>,
    /// For CloudTrail rules: the events the finding stands for, and where else to look.
    pub trail: Option<Box<crate::trail::Evidence>>,
}

/// What a CloudTrail rule's `deny` set holds for one event. Everything but `message` is
/// optional; atrest fills what is left out from what it resolved for the event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventVerdict {
    pub message: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub principal: Option<String>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub mapping: Option<String>,
    #[serde(default)]
    pub outcome: Option<String>,
}

/// What a policy's `deny` set holds.
#[derive(Deserialize)]
struct PolicyFinding {
    resource: String,
    #[serde(default)]
    property: String,
    message: String,
    /// The property that makes the rule apply: where to point when `property` is not written.
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    outcome: Option<String>,
}

/// The compiled policies and their rules, shared by all workers.
#[derive(Clone)]
pub struct PolicySet {
    engine: regorus::Engine,
    pub rules: Vec<Rule>,
    /// `data.<package>.deny` per rule, precomputed.
    queries: Vec<String>,
    /// Which CloudTrail rules read which (eventSource, eventName).
    pub router: Router,
}

/// Which policies to load.
#[derive(Debug, Default, Clone)]
pub struct PolicyOptions {
    pub builtin: bool,
    pub dirs: Vec<std::path::PathBuf>,
    /// Only these rule ids (empty: all).
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl PolicySet {
    /// Loads and compiles the policies. Every broken policy file is reported; the rest load.
    pub fn load(opts: &PolicyOptions) -> (PolicySet, Vec<PolicyError>) {
        let mut sources: Vec<(String, String, bool)> = Vec::new();
        let mut errors = Vec::new();
        if opts.builtin {
            for (path, text) in BUILTIN_POLICIES
                .iter()
                .filter(|(p, _)| !p.ends_with("_test.rego"))
            {
                sources.push((path.to_string(), text.to_string(), true));
            }
        }
        for dir in &opts.dirs {
            match policy_files(dir) {
                Ok(files) => {
                    for f in files {
                        match std::fs::read_to_string(&f) {
                            Ok(t) => sources.push((f.display().to_string(), t, false)),
                            Err(e) => errors.push(PolicyError {
                                path: f.display().to_string(),
                                line: None,
                                message: format!("cannot read: {e}"),
                            }),
                        }
                    }
                }
                Err(e) => errors.push(PolicyError {
                    path: dir.display().to_string(),
                    line: None,
                    message: e,
                }),
            }
        }

        let mut engine = regorus::Engine::new();
        let mut rules: Vec<Rule> = Vec::new();
        for (path, text, builtin) in sources {
            let rule = match metadata::parse(&path, &text) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            if let Some(r) = &rule {
                let wanted = (opts.only.is_empty() || opts.only.contains(&r.id))
                    && !opts.skip.contains(&r.id);
                if !wanted {
                    continue;
                }
                if let Some(other) = rules.iter().find(|o| o.id == r.id) {
                    errors.push(PolicyError {
                        path: path.clone(),
                        line: None,
                        message: format!("rule id {} is already defined in {}", r.id, other.path),
                    });
                    continue;
                }
            }
            // Add to a scratch copy first, so one broken file does not poison the engine.
            let mut trial = engine.clone();
            match trial.add_policy(path.clone(), text) {
                Ok(_) => engine = trial,
                Err(e) => {
                    errors.push(regorus_error(&path, &e.to_string()));
                    continue;
                }
            }
            if let Some(mut r) = rule {
                r.builtin = builtin;
                rules.push(r);
            }
        }
        let queries: Vec<String> = rules
            .iter()
            .map(|r| format!("data.{}.deny", r.package))
            .collect();
        let router = Router::new(&rules);
        // Prepare (analyse, schedule) once here: every worker's engine is a clone of this one,
        // and an unprepared clone would redo that work on its first evaluation.
        engine.set_input(regorus::Value::new_object());
        for q in &queries {
            let _ = engine.eval_rule(q.clone());
        }
        (
            PolicySet {
                engine,
                rules,
                queries,
                router,
            },
            errors,
        )
    }

    /// Whether any loaded rule reads CloudTrail events.
    pub fn reads_events(&self) -> bool {
        self.rules.iter().any(Rule::reads_events)
    }

    /// An evaluator for one worker thread.
    pub fn evaluator(&self) -> Evaluator<'_> {
        Evaluator {
            set: self,
            engine: self.engine.clone(),
        }
    }
}

/// One worker's engine. Cloned from the prepared one, so policies are parsed only once.
pub struct Evaluator<'a> {
    set: &'a PolicySet,
    engine: regorus::Engine,
}

impl Evaluator<'_> {
    /// Evaluates every rule against one inventory. An error names the rule that failed.
    pub fn evaluate(&mut self, inv: &Inventory) -> Result<Vec<Finding>, String> {
        if inv.is_empty() || self.set.rules.is_empty() {
            return Ok(Vec::new());
        }
        let input = serde_json::to_value(inv).map_err(|e| e.to_string())?;
        let input = regorus::Value::deserialize(input).map_err(|e| e.to_string())?;
        self.engine.set_input(input);
        let mut findings = Vec::new();
        for (index, rule) in self.set.rules.iter().enumerate() {
            if rule.reads_events() {
                continue;
            }
            for item in self.deny(index)? {
                let pf: PolicyFinding = serde_json::from_value(item.clone()).map_err(|e| {
                    format!(
                        "rule {}: a finding must have resource and message ({e}): {item}",
                        rule.id
                    )
                })?;
                let origin = inv.origin(&pf.resource).ok_or_else(|| {
                    format!(
                        "rule {}: finding names resource {:?}, which is not in the input",
                        rule.id, pf.resource
                    )
                })?;
                let outcome = match pf.outcome.as_deref() {
                    None | Some("fail") => Outcome::Fail,
                    Some("unknown") => Outcome::Unknown,
                    Some(o) => {
                        return Err(format!(
                            "rule {}: outcome must be \"fail\" or \"unknown\", got {o:?}",
                            rule.id
                        ));
                    }
                };
                findings.push(Finding {
                    rule: index,
                    outcome,
                    message: pf.message,
                    resource_id: pf.resource.clone(),
                    logical_id: origin.logical_id.clone(),
                    resource_type: origin.resource_type.clone(),
                    source: origin.source,
                    location: origin
                        .locate(&pf.property)
                        .or_else(|| pf.trigger.as_deref().and_then(|t| origin.locate(t)))
                        .or_else(|| origin.declared_at())
                        .cloned(),
                    property: pf.property,
                    trail: None,
                });
            }
        }
        Ok(findings)
    }

    /// The items of one rule's `deny` set for the current input.
    fn deny(&mut self, index: usize) -> Result<Vec<serde_json::Value>, String> {
        let rule = &self.set.rules[index];
        let value = self
            .engine
            .eval_rule(self.set.queries[index].clone())
            .map_err(|e| {
                format!(
                    "rule {} ({}): {}",
                    rule.id,
                    rule.path,
                    first_line(&e.to_string())
                )
            })?;
        if value == regorus::Value::Undefined {
            return Ok(Vec::new());
        }
        match serde_json::to_value(&value).map_err(|e| e.to_string())? {
            serde_json::Value::Array(items) => Ok(items),
            other => Err(format!(
                "rule {}: deny must be a set of objects, got {other}",
                rule.id
            )),
        }
    }

    /// Evaluates the given CloudTrail rules against one event's input (`event`, `resolved`,
    /// `facts`, `inventory`). The engine is reused: only the input changes.
    pub fn evaluate_event(
        &mut self,
        rules: &[usize],
        input: regorus::Value,
    ) -> Result<Vec<(usize, EventVerdict)>, String> {
        self.engine.set_input(input);
        let mut out = Vec::new();
        // One evaluation per rule: regorus evaluates a generated rule that gathers several
        // deny sets more slowly than the rules one by one (measured).
        let per_rule: Vec<Vec<serde_json::Value>> = rules
            .iter()
            .map(|&index| self.deny(index))
            .collect::<Result<_, _>>()?;
        for (&index, items) in rules.iter().zip(per_rule) {
            for item in items {
                let verdict: EventVerdict = serde_json::from_value(item.clone()).map_err(|e| {
                    format!(
                        "rule {}: a finding must have a message ({e}): {item}",
                        self.set.rules[index].id
                    )
                })?;
                if !matches!(verdict.outcome.as_deref(), None | Some("fail" | "unknown")) {
                    return Err(format!(
                        "rule {}: outcome must be \"fail\" or \"unknown\", got {:?}",
                        self.set.rules[index].id, verdict.outcome
                    ));
                }
                out.push((index, verdict));
            }
        }
        Ok(out)
    }
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

/// regorus reports `path:line:col: error: message` followed by a source excerpt; keep one line.
fn regorus_error(path: &str, msg: &str) -> PolicyError {
    let line_text = first_line(msg);
    let after_path = line_text
        .strip_prefix(path)
        .and_then(|r| r.strip_prefix(':'));
    if let Some(rest) = after_path {
        let mut parts = rest.splitn(3, ':');
        if let (Some(l), Some(_c), Some(m)) = (parts.next(), parts.next(), parts.next())
            && let Ok(line) = l.trim().parse::<u32>()
        {
            return PolicyError {
                path: path.to_owned(),
                line: Some(line),
                message: m.trim().trim_start_matches("error:").trim().to_owned(),
            };
        }
    }
    PolicyError {
        path: path.to_owned(),
        line: None,
        message: line_text.to_owned(),
    }
}

/// `.rego` files under a directory, sorted, skipping `*_test.rego`.
fn policy_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    if !dir.is_dir() {
        return Err("policy directory does not exist".into());
    }
    let mut files: Vec<_> = ignore::WalkBuilder::new(dir)
        .build()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "rego")
                && !p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with("_test.rego"))
        })
        .collect();
    files.sort();
    Ok(files)
}
