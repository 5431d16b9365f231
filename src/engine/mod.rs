//! Engine: Rego policies evaluated in-process by regorus.
//!
//! Policies are compiled once per run into one prepared [`regorus::Engine`]; workers clone it
//! and evaluate each inventory against every rule's `deny` set. A policy names a model object and
//! a property; turning that into a file, line and column is done here, so policy authors never
//! deal with lines.

mod files;
mod guard;
pub mod metadata;
mod regex_cache;
pub mod route;
pub mod scaffold;
mod sized;
pub mod testing;

pub use route::{RouteCache, Router};

pub use files::is_test_file;
use files::read_rego_files;

pub use crate::finding::{Finding, Outcome};
pub use crate::problem::Problem;
pub use metadata::{Route, Rule, Severity};

use crate::model::{Inventory, Object, Origin};
use serde::Deserialize;
use std::collections::HashMap;

// The built-in policies, embedded in the binary by build.rs. Files without `# METADATA` are
// helper libraries; `*_test.rego` files hold Rego unit tests.
include!(concat!(env!("OUT_DIR"), "/builtin_policies.rs"));

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
    /// Another object the finding is about, when the same resource and property can fail
    /// more than once (see [`Finding::subject`]).
    #[serde(default)]
    subject: Option<String>,
    /// Other properties of the same object to point at: `[{"property": ..., "message": ...}]`.
    #[serde(default)]
    related: Vec<RelatedProperty>,
}

#[derive(Deserialize)]
struct RelatedProperty {
    property: String,
    message: String,
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
    /// CloudTrail rules compiled to regorus's bytecode VM, made on first use (a scan without
    /// logs never pays for it); `None` for a rule the interpreter evaluates instead (see
    /// [`PolicySet::programs`]).
    programs: std::sync::OnceLock<Vec<Option<std::sync::Arc<regorus::rvm::program::Program>>>>,
    use_vm: bool,
    timeout: Option<std::time::Duration>,
    /// Packages whose rules reach a cycle of function calls (see `guard.rs`).
    recursive: HashMap<String, guard::Cycle>,
}

/// Which policies to load.
#[derive(Debug, Default, Clone)]
pub struct PolicyOptions {
    pub builtin: bool,
    pub dirs: Vec<std::path::PathBuf>,
    /// Only these rule ids (empty: all).
    pub only: Vec<String>,
    pub skip: Vec<String>,
    /// Wall-clock limit for evaluating one rule on one input; `None`: no limit.
    pub timeout: Option<std::time::Duration>,
    /// Evaluate CloudTrail rules with the tree-walking interpreter only, not the bytecode VM
    /// (the tests compare the two).
    pub interpreter_only: bool,
}

impl PolicySet {
    /// Loads and compiles the policies. Every broken policy file is reported; the rest load.
    pub fn load(opts: &PolicyOptions) -> (PolicySet, Vec<Problem>) {
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
            for (path, text) in read_rego_files(dir, false, &mut errors) {
                sources.push((path, text, false));
            }
        }

        let mut engine = regorus::Engine::new();
        // `print()` output is taken from regorus and shown escaped (see `show_prints`).
        engine.set_gather_prints(true);
        if let Some(limit) = opts.timeout {
            engine.set_execution_timer_config(timer(limit));
        }
        guard::register(&mut engine).expect("a fresh engine has no extensions");
        engine
            .add_extension("regex.match".into(), 2, Box::new(regex_cache::is_match))
            .expect("a fresh engine has no regex.match extension");
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
                // Rule ids are matched without regard to case everywhere (`atr-l001` too).
                let named = |list: &[String]| list.iter().any(|i| i.eq_ignore_ascii_case(&r.id));
                let wanted = (opts.only.is_empty() || named(&opts.only)) && !named(&opts.skip);
                if !wanted {
                    continue;
                }
                if let Some(other) = rules.iter().find(|o| o.id == r.id) {
                    errors.push(Problem {
                        path: path.clone(),
                        line: None,
                        column: None,
                        message: format!("rule id {} is already defined in {}", r.id, other.path),
                    });
                    continue;
                }
            }
            // regorus parses the whole file before changing the engine, so a file with a syntax
            // error leaves the engine as it was and the other policies still load.
            let bare_deny = (rule.is_none() && !builtin)
                .then(|| {
                    text.lines().position(|l| {
                        l.trim_start().starts_with("deny ") || l.trim_start().starts_with("deny:")
                    })
                })
                .flatten();
            if let Some(line) = guard::opener_run_too_long(&text) {
                errors.push(Problem {
                    path: path.clone(),
                    line: Some(line),
                    column: None,
                    message: format!(
                        "more than {} brackets opened one after another: the Rego parser's time \
                         grows exponentially with them",
                        guard::MAX_OPENER_RUN
                    ),
                });
                continue;
            }
            match engine.add_policy(path.clone(), text) {
                Ok(_) => {}
                Err(e) => {
                    errors.push(regorus_error(&path, &e.to_string()));
                    continue;
                }
            }
            // A user's file with a `deny` rule but no METADATA would load as a library and
            // never report anything: say so rather than pass silently.
            if let Some(line) = bare_deny {
                errors.push(Problem {
                    path: path.clone(),
                    line: Some(line as u32 + 1),
                    column: None,
                    message: "defines `deny` but has no `# METADATA` block with `custom.id`: it \
                              would load as a library and its findings would never be reported"
                        .into(),
                });
                continue;
            }
            if let Some(mut r) = rule {
                r.builtin = builtin;
                rules.push(r);
            }
        }
        // A rule that can reach a function calling itself would overflow the stack: it is
        // never evaluated, and fails on every input (see `refusal`).
        let recursive = guard::recursive_packages(engine.get_modules());
        // Ordered by id: `atrest rules`, SARIF's rule table and ruleIndex are stable whatever
        // the file layout.
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let queries: Vec<String> = rules
            .iter()
            .map(|r| format!("data.{}.deny", r.package))
            .collect();
        let router = Router::new(&rules);
        // Prepare (analyse, schedule) once here: every worker's engine is a clone of this one,
        // and an unprepared clone would redo that work on its first evaluation.
        engine.set_input(regorus::Value::new_object());
        for (q, r) in queries.iter().zip(&rules) {
            if !recursive.contains_key(&r.package) {
                let _ = engine.eval_rule(q.clone());
            }
        }
        // What policies print for this empty input is not about any input: dropped.
        let _ = engine.take_prints();
        (
            PolicySet {
                engine,
                rules,
                queries,
                router,
                programs: std::sync::OnceLock::new(),
                use_vm: !opts.interpreter_only,
                timeout: opts.timeout,
                recursive,
            },
            errors,
        )
    }

    /// The bytecode programs of the CloudTrail rules (compiled once, on first use).
    ///
    /// regorus's VM evaluates a CloudTrail rule several times faster than its interpreter,
    /// but in 0.14.1 it does not take `else` branches (`f(x) := y if {...} else := z` is
    /// undefined where the interpreter gives `z`). So only built-in rules run on it, written
    /// without `else` and checked against the interpreter by `tests/rego_vm.rs`; a rule whose
    /// policy or libraries use `else`, and every user policy, stay on the interpreter.
    fn programs(&self) -> &[Option<std::sync::Arc<regorus::rvm::program::Program>>] {
        self.programs.get_or_init(|| {
            let uses_else = |text: &str| {
                text.lines().any(|l| {
                    let code = l.split('#').next().unwrap_or("");
                    code.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|w| w == "else")
                })
            };
            let libraries_use_else = BUILTIN_POLICIES
                .iter()
                .any(|(path, text)| path.contains("/lib/") && uses_else(text));
            self.rules
                .iter()
                .zip(&self.queries)
                .map(|(rule, query)| {
                    if !self.use_vm || !rule.reads_events() || !rule.builtin {
                        return None;
                    }
                    let (_, text) = BUILTIN_POLICIES.iter().find(|(p, _)| *p == rule.path)?;
                    if libraries_use_else || uses_else(text) {
                        return None;
                    }
                    let mut engine = self.engine.clone();
                    let compiled = engine
                        .compile_with_entrypoint(&query.as_str().into())
                        .ok()?;
                    regorus::languages::rego::compiler::Compiler::compile_from_policy(
                        &compiled,
                        &[query.as_str()],
                    )
                    .ok()
                })
                .collect()
        })
    }

    /// The ids of the rules evaluated on the bytecode VM.
    pub fn vm_rules(&self) -> Vec<&str> {
        self.rules
            .iter()
            .zip(self.programs())
            .filter(|(_, p)| p.is_some())
            .map(|(r, _)| r.id.as_str())
            .collect()
    }

    /// Why a rule is not evaluated, if it is not.
    fn refusal(&self, rule: &Rule) -> Result<(), String> {
        match self.recursive.get(&rule.package) {
            Some(c) => Err(format!(
                "rule {} ({}): calls a recursive function ({}, {} line {}), which Rego does not allow",
                rule.id,
                rule.path,
                c.names.join(" -> "),
                c.path,
                c.line
            )),
            None => Ok(()),
        }
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
            vms: Vec::new(),
        }
    }
}

/// One worker's engine. Cloned from the prepared one, so policies are parsed only once.
pub struct Evaluator<'a> {
    set: &'a PolicySet,
    engine: regorus::Engine,
    /// One VM per CloudTrail rule with a program (by rule index), reused across events.
    vms: Vec<Option<regorus::rvm::vm::RegoVM>>,
}

impl Evaluator<'_> {
    /// Evaluates every rule against one inventory. A rule that fails (an error, a time-out, a
    /// malformed finding) is reported by name; the other rules' findings are kept.
    pub fn evaluate(&mut self, inv: &Inventory) -> (Vec<Finding>, Vec<String>) {
        if inv.is_empty() || self.set.rules.is_empty() {
            return (Vec::new(), Vec::new());
        }
        let input = match to_rego(inv) {
            Ok(v) => v,
            Err(e) => {
                return (
                    Vec::new(),
                    vec![format!("the model cannot be handed to Rego: {e}")],
                );
            }
        };
        self.engine.set_input(input);
        let origins: HashMap<&str, &Origin> = inv.origins().map(|o| (o.id.as_str(), o)).collect();
        // Findings quote key resolution chains from the model itself, not from a copy of it.
        let objects: HashMap<&str, Object<'_>> = inv.objects().collect();
        let mut findings = Vec::new();
        let mut errors = Vec::new();
        for index in 0..self.set.rules.len() {
            // CloudTrail rules read events, not inventories (see crate::trail).
            if self.set.rules[index].reads_events() {
                continue;
            }
            match self.evaluate_rule(index, &origins, &objects) {
                Ok(f) => findings.extend(f),
                Err(e) => errors.push(e),
            }
        }
        // The input is not needed after this: an engine kept for the next inventory must not
        // hold this one's until then.
        self.engine.set_input(regorus::Value::new_object());
        // A failure of an object that may not exist is not known to be one.
        for f in &mut findings {
            if f.outcome == Outcome::Fail
                && let Some(why) = inv.uncertain.get(&f.resource_id)
            {
                f.outcome = Outcome::Unknown;
                f.message = format!(
                    "{} (unknown: it may not exist; {why}).",
                    f.message.trim_end_matches('.')
                );
            }
        }
        (findings, errors)
    }

    fn evaluate_rule(
        &mut self,
        index: usize,
        origins: &HashMap<&str, &Origin>,
        objects: &HashMap<&str, Object<'_>>,
    ) -> Result<Vec<Finding>, String> {
        // The regorus set is dropped once converted, and each item is read where it is: a
        // rule with 100,000 findings holds one copy of them, not three.
        let items = self.deny(index)?;
        let rule = &self.set.rules[index];
        let mut findings = Vec::with_capacity(items.len());
        for item in items {
            let pf = PolicyFinding::deserialize(&item).map_err(|e| {
                format!(
                    "rule {}: a finding must have resource and message ({e}): {item}",
                    rule.id
                )
            })?;
            let origin = origins.get(pf.resource.as_str()).ok_or_else(|| {
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
            // Located in another input's source: say which input it was read from.
            let message = match &origin.via {
                Some(via) => format!("{} ({via})", pf.message),
                None => pf.message,
            };
            findings.push(Finding {
                rule: index,
                outcome,
                message,
                resource_id: pf.resource.clone(),
                logical_id: origin.logical_id.clone(),
                resource_type: origin.resource_type.clone(),
                source: origin.source,
                via: origin.via.clone(),
                location: origin
                    .locate(&pf.property)
                    .or_else(|| pf.trigger.as_deref().and_then(|t| origin.locate(t)))
                    .or_else(|| origin.declared_at())
                    .cloned(),
                chain: objects
                    .get(pf.resource.as_str())
                    .map(|o| o.chain(&pf.property))
                    .unwrap_or_default(),
                related: pf
                    .related
                    .iter()
                    .filter_map(|r| Some((origin.locate(&r.property)?.clone(), r.message.clone())))
                    .collect(),
                property: pf.property,
                subject: pf.subject,
                trail: None,
            });
        }
        Ok(findings)
    }

    /// The items of one rule's `deny` set for the current input.
    fn deny(&mut self, index: usize) -> Result<Vec<serde_json::Value>, String> {
        let rule = &self.set.rules[index];
        self.set.refusal(rule)?;
        let value = self.engine.eval_rule(self.set.queries[index].clone());
        show_prints(&mut self.engine);
        deny_items(rule, value.map_err(|e| rule_failed(rule, &e))?)
    }

    /// One rule's deny set on the bytecode VM.
    fn deny_vm(
        &mut self,
        index: usize,
        program: &std::sync::Arc<regorus::rvm::program::Program>,
        input: &regorus::Value,
    ) -> Result<Vec<serde_json::Value>, String> {
        let timeout = self.set.timeout;
        if self.vms.len() <= index {
            self.vms.resize_with(index + 1, || None);
        }
        let vm = self.vms[index].get_or_insert_with(|| {
            let mut vm = regorus::rvm::vm::RegoVM::new();
            vm.load_program(program.clone());
            vm.set_execution_timer_config(timeout.map(timer));
            vm
        });
        vm.set_input(input.clone());
        let rule = &self.set.rules[index];
        let value = vm.execute().map_err(|e| rule_failed(rule, &e))?;
        deny_items(rule, value)
    }

    /// Evaluates the given CloudTrail rules against one event's input (`event`, `resolved`,
    /// `facts`, `inventory`). The engine is reused: only the input changes.
    pub fn evaluate_event(
        &mut self,
        rules: &[usize],
        input: regorus::Value,
    ) -> Result<Vec<(usize, EventVerdict)>, String> {
        let programs = self.set.programs();
        let mut out = Vec::new();
        let mut interpreted = false;
        // One evaluation per rule: regorus evaluates a generated rule that gathers several
        // deny sets more slowly than the rules one by one (measured).
        let mut per_rule: Vec<Vec<serde_json::Value>> = Vec::with_capacity(rules.len());
        for &index in rules {
            let items = match &programs[index] {
                Some(program) => self.deny_vm(index, program, &input)?,
                None => {
                    if !interpreted {
                        self.engine.set_input(input.clone());
                        interpreted = true;
                    }
                    self.deny(index)?
                }
            };
            per_rule.push(items);
        }
        for (&index, items) in rules.iter().zip(per_rule) {
            for item in items {
                let verdict = EventVerdict::deserialize(&item).map_err(|e| {
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

/// The time limit of one rule on one input. Checked every few hundred evaluation steps: cheap,
/// and a runaway rule stops within milliseconds of the limit.
fn timer(limit: std::time::Duration) -> regorus::utils::limits::ExecutionTimerConfig {
    regorus::utils::limits::ExecutionTimerConfig {
        limit,
        check_interval: std::num::NonZeroU32::new(256).expect("non-zero"),
    }
}

/// Writes what policies' `print()` calls said (gathered by regorus as `file:line: text`) to
/// standard error, as regorus would, but escaped: a policy may print what an input holds.
fn show_prints(engine: &mut regorus::Engine) {
    for line in engine.take_prints().unwrap_or_default() {
        eprintln!("{}", crate::escape::escape(&line));
    }
}

/// A rule that could not be evaluated, named with its file.
fn rule_failed(rule: &Rule, e: &dyn std::fmt::Display) -> String {
    format!(
        "rule {} ({}): {}",
        rule.id,
        rule.path,
        first_line(&e.to_string())
    )
}

/// A deny set's items (none when the set is undefined).
fn deny_items(rule: &Rule, value: regorus::Value) -> Result<Vec<serde_json::Value>, String> {
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

/// The model as the Rego value policies read as `input`.
///
/// Made from the model's compact JSON text rather than a `serde_json::Value` tree: the text
/// takes a fraction of the tree's memory, and regorus's parser keeps one copy of each object
/// key for the whole input, where the tree gives every object its own.
pub fn to_rego(inv: &Inventory) -> Result<regorus::Value, String> {
    let text = serde_json::to_string(inv).map_err(|e| e.to_string())?;
    match regorus::Value::from_json_str(&text) {
        Ok(value) => Ok(value),
        // serde_json's parser stops at 128 levels of nesting, and a key policy from a template
        // may be nested deeper than that: such a model goes through the tree, which has no limit.
        Err(_) => {
            drop(text);
            let json = serde_json::to_value(inv).map_err(|e| e.to_string())?;
            regorus::Value::deserialize(json).map_err(|e| e.to_string())
        }
    }
}

/// One line of a regorus error: the line naming the error, not the source excerpt around it.
fn first_line(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let place = lines
        .iter()
        .find(|l| l.starts_with("-->"))
        .map(|l| l.trim_start_matches("-->").trim());
    let error = lines.iter().find(|l| l.contains("error:")).map(|l| {
        l[l.find("error:").unwrap_or(0)..]
            .trim_start_matches("error:")
            .trim()
    });
    match (place, error) {
        (Some(p), Some(e)) => format!("{p}: {e}"),
        (None, Some(e)) => e.to_owned(),
        _ => lines.first().copied().unwrap_or(s).to_owned(),
    }
}

/// regorus reports `path:line:col: error: message` followed by a source excerpt; keep one line.
fn regorus_error(path: &str, msg: &str) -> Problem {
    let line_text = first_line(msg);
    let line_text = line_text.as_str();
    let after_path = line_text
        .strip_prefix(path)
        .and_then(|r| r.strip_prefix(':'));
    if let Some(rest) = after_path {
        let mut parts = rest.splitn(3, ':');
        if let (Some(l), Some(_c), Some(m)) = (parts.next(), parts.next(), parts.next())
            && let Ok(line) = l.trim().parse::<u32>()
        {
            return Problem {
                path: path.to_owned(),
                line: Some(line),
                column: None,
                message: m.trim().trim_start_matches("error:").trim().to_owned(),
            };
        }
    }
    Problem {
        path: path.to_owned(),
        line: None,
        column: None,
        message: line_text.to_owned(),
    }
}
