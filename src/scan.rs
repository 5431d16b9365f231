//! Wires the stages together: walk the paths, read and model each input, evaluate the policies
//! in parallel, and collect findings and errors in a deterministic order.

use crate::engine::{Finding, PolicyError, PolicySet};
use crate::model::{FileId, Inventory, api, cfn, drift};
use crate::read::cloudtrail::{self, Sniff};
use crate::read::{Input, InputKind, Limits, ReadError, ReadOutcome, read_input};
use crate::shard::Shard;
use crate::trail::{self, Catalog, Facts, LogFile, TrailReport};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

mod terraform;

pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub limits: Limits,
    /// Variable files for every Terraform root module (`--tf-vars`), after the ones Terraform
    /// loads by itself (`terraform.tfvars`, `*.auto.tfvars`).
    pub tf_vars: Vec<PathBuf>,
    /// What the CloudTrail logs are checked against besides the scan's own inputs, not
    /// reported on: the model's JSON (`atrest model` output), or templates, Terraform and API
    /// output (files or directories), read as a scan reads them.
    pub inventories: Vec<PathBuf>,
    /// Read only this shard's logs; only shard 1 reports the other inputs (see [`crate::shard`]).
    pub shard: Option<Shard>,
    /// Facts learned from all the logs of a sharded scan (`atrest facts`), joined with what
    /// this scan's logs show.
    pub facts: Option<Facts>,
}

/// The largest CloudTrail event accepted; a larger one means a broken file.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// A finding with the file it is in.
#[derive(Debug, Clone)]
pub struct FileFinding {
    /// Path as shown to the user: relative to the scan root where it is inside it.
    pub path: String,
    pub finding: Finding,
    /// Set by [`crate::triage`] when the user has accepted the finding.
    pub suppression: Option<crate::triage::Suppression>,
}

impl FileFinding {
    /// Files a finding under the file of its location, else under `fallback`.
    pub fn new(finding: Finding, fallback: Option<&FileId>) -> Self {
        FileFinding {
            path: finding
                .location
                .as_ref()
                .map(|l| l.file.to_string())
                .or_else(|| fallback.map(|f| f.to_string()))
                .unwrap_or_default(),
            finding,
            suppression: None,
        }
    }
}

/// An input that could not be read, or a policy that could not be loaded or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InputError {
    pub path: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.path, self.message),
            (Some(l), None) => write!(f, "{}:{l}: {}", self.path, self.message),
            _ => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

impl InputError {
    pub(crate) fn at(path: &str, span: Option<crate::read::Span>, message: String) -> Self {
        InputError {
            path: path.to_owned(),
            line: span.map(|s| s.start.line),
            column: span.map(|s| s.start.col),
            message,
        }
    }

    pub fn read(path: &str, e: ReadError) -> Self {
        InputError {
            path: path.to_owned(),
            line: e.line,
            column: e.column,
            message: e.message,
        }
    }
}

impl From<PolicyError> for InputError {
    fn from(e: PolicyError) -> Self {
        InputError {
            path: e.path,
            line: e.line,
            column: None,
            message: e.message,
        }
    }
}

#[derive(Debug, Default)]
pub struct ScanResult {
    /// Inputs understood and evaluated, by kind name.
    pub scanned: Vec<(String, InputKind)>,
    /// Files that are not inputs atrest reads.
    pub skipped: usize,
    pub findings: Vec<FileFinding>,
    pub errors: Vec<InputError>,
    /// What was not read, and why, where that is no defect (a remote Terraform module).
    pub notes: Vec<InputError>,
    /// What the CloudTrail logs of the scan gave besides findings, when there were any.
    pub trail: Option<TrailReport>,
    /// Model objects the rules were evaluated on (functions, mappings, keys, log groups, X-Ray
    /// settings, deployments), and how many of them no rule reported: the third outcome beside
    /// fail and unknown.
    pub checked: usize,
    pub passed: usize,
}

impl ScanResult {
    /// Inputs read: templates and log files.
    pub fn inputs(&self) -> usize {
        self.scanned.len() + self.trail.as_ref().map_or(0, |t| t.files.len())
    }
}

/// What a file turned out to be.
enum Read {
    Log(LogFile),
    /// Recognised and deliberately not read (CloudTrail digests, Panther rule tests).
    Skipped,
    Other(ReadOutcome),
}

/// Extensions a CloudTrail log can have (`.json.gz` ends in `gz`); templates are sniffed too,
/// since both are `.json`.
const LOG_EXTENSIONS: &[&str] = &["json", "gz", "jsonl", "ndjson", "log", ""];

fn read_file(file: &Path, limits: &Limits, shown: &FileId) -> Read {
    as_log(file, shown).unwrap_or_else(|| Read::Other(read_input(file, limits)))
}

/// What a file is as a CloudTrail log, by its extension and content; `None` when it is not
/// one (it may still be another input).
fn as_log(file: &Path, shown: &FileId) -> Option<Read> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !LOG_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    match cloudtrail::sniff_file(file) {
        Ok(Sniff::Trail { shape, gzip }) => Some(Read::Log(LogFile {
            path: file.to_path_buf(),
            shown: shown.clone(),
            shape,
            gzip,
        })),
        Ok(Sniff::Digest | Sniff::PantherTests) => Some(Read::Skipped),
        // A file named `.gz` that is not gzip is a broken log delivery, not something else.
        Ok(Sniff::NotTrail) if ext == "gz" && !cloudtrail::is_gzip(file) => {
            Some(Read::Other(ReadOutcome::Failed(ReadError::whole_file(
                "named .gz but not gzip-compressed (no gzip header)",
            ))))
        }
        Err(e) if ext == "gz" => Some(Read::Other(ReadOutcome::Failed(ReadError::whole_file(
            format!("cannot read the compressed log: {e}"),
        )))),
        Ok(Sniff::NotTrail) | Err(_) => None,
    }
}

/// The CloudTrail logs among `files`, in path order, and the broken deliveries among them,
/// without reading any other input (`atrest facts` needs only the logs).
pub fn logs_of(files: &[PathBuf]) -> (Vec<LogFile>, Vec<InputError>) {
    let root = scan_root();
    let found: Vec<(FileId, Option<Read>)> = files
        .par_iter()
        .map(|file| {
            let shown: FileId = display_path(file, &root).into();
            let read = as_log(file, &shown);
            (shown, read)
        })
        .collect();
    let mut logs = Vec::new();
    let mut errors = Vec::new();
    for (shown, read) in found {
        match read {
            Some(Read::Log(log)) => logs.push(log),
            Some(Read::Other(ReadOutcome::Failed(e))) => errors.push(InputError::read(&shown, e)),
            _ => {}
        }
    }
    logs.sort_by(|a, b| a.shown.cmp(&b.shown));
    (logs, errors)
}

/// The directory paths are shown relative to, and SARIF's `%SRCROOT%`.
pub fn scan_root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Shows `path` relative to `root` where it lies inside it, with `/` separators; otherwise
/// absolute.
pub fn display_path(path: &Path, root: &Path) -> String {
    // `..` resolved first: `../other/t.yaml` is outside the root, not a path under it.
    let abs = crate::triage::normalize(&if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    });
    let normal = |p: &Path| {
        p.components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<PathBuf>()
            .to_string_lossy()
            .replace('\\', "/")
    };
    match abs.strip_prefix(root) {
        Ok(rel) => normal(rel),
        Err(_) => normal(&abs),
    }
}

/// Every file under the given paths, respecting `.gitignore` and hidden-file conventions;
/// paths named explicitly are always taken. Sorted, so results never depend on directory order.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_file() {
            files.push(p.clone());
            continue;
        }
        if !p.exists() {
            errors.push(InputError {
                path: p.display().to_string(),
                line: None,
                column: None,
                message: "no such file or directory".into(),
            });
            continue;
        }
        // `.gitignore` is honoured outside a git repository too (an unpacked archive, a CI
        // workspace without `.git`): what the user ignores is never scanned.
        for entry in ignore::WalkBuilder::new(p).require_git(false).build() {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => files.push(e.into_path()),
                Ok(_) => {}
                Err(e) => errors.push(InputError {
                    path: p.display().to_string(),
                    line: None,
                    column: None,
                    message: format!("cannot walk: {e}"),
                }),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, errors)
}

/// One evaluation: the inventory built from one or more inputs. A CloudFormation template or a
/// Terraform plan is a unit of its own; a Terraform root module (the `.tf` files of one
/// directory, with the local modules it calls) is one unit; all AWS API inputs of a scan are one
/// unit, the deployed state of the account(s) they come from.
pub struct Unit {
    pub kind: InputKind,
    pub inventory: Inventory,
    /// The files the inventory came from; findings without a location name the first.
    pub files: Vec<FileId>,
}

/// The model of one input on its own: a template, a plan, or one Terraform file as a module of
/// its own (no variable files, no module followed). A scan groups Terraform files into root
/// modules instead (see [`load`]); this is for looking at, or fuzzing, one input.
pub fn model_of(file: &FileId, input: &Input) -> Inventory {
    match input.kind {
        InputKind::CloudFormation { sam } => cfn::inventory(file, &input.root, sam),
        InputKind::Terraform | InputKind::TerraformPlan => terraform::model_of(file, input),
        InputKind::AwsApi(_) => api::inventory(&[(file.clone(), input)]),
    }
}

/// Everything read and modelled, before any policy runs.
#[derive(Default)]
pub struct Loaded {
    pub units: Vec<Unit>,
    pub scanned: Vec<(String, InputKind)>,
    pub skipped: usize,
    pub errors: Vec<InputError>,
    pub notes: Vec<InputError>,
    /// CloudTrail log files, read later in two phases (see [`crate::trail`]).
    pub logs: Vec<LogFile>,
}

/// Reads every input under the paths and groups them into modelled units.
pub fn load(opts: &ScanOptions) -> Loaded {
    let root = scan_root();
    let (files, errors) = collect_files(&opts.paths);
    let reads: Vec<(FileId, PathBuf, Read)> = files
        .par_iter()
        .map(|file| {
            let shown: FileId = display_path(file, &root).into();
            let outcome = read_file(file, &opts.limits, &shown);
            (shown, file.clone(), outcome)
        })
        .collect();

    let mut out = Loaded {
        errors,
        ..Loaded::default()
    };
    let mut tf = terraform::Inputs::default();
    let mut deployed: Vec<(FileId, Input)> = Vec::new();
    for (file, path, outcome) in reads {
        let outcome = match outcome {
            Read::Log(log) => {
                out.logs.push(log);
                continue;
            }
            Read::Skipped => {
                out.skipped += 1;
                continue;
            }
            Read::Other(o) => o,
        };
        match outcome {
            ReadOutcome::Skipped => out.skipped += 1,
            ReadOutcome::Failed(e) => out.errors.push(InputError::read(&file, e)),
            ReadOutcome::Input(mut input) => {
                out.errors.extend(
                    std::mem::take(&mut input.problems)
                        .into_iter()
                        .map(|e| InputError::read(&file, e)),
                );
                out.scanned.push((file.to_string(), input.kind));
                match input.kind {
                    InputKind::CloudFormation { sam } => {
                        let m = cfn::inventory_and_notes(&file, &input.root, sam);
                        let read = |e| InputError::read(&file, e);
                        out.errors.extend(m.errors.into_iter().map(read));
                        out.notes.extend(m.notes.into_iter().map(read));
                        out.units.push(Unit {
                            kind: input.kind,
                            inventory: m.inventory,
                            files: vec![file],
                        });
                    }
                    InputKind::Terraform => tf.add_config(file, &path, input),
                    InputKind::TerraformPlan => tf.add_plan(file, &path, input),
                    InputKind::AwsApi(_) => deployed.push((file, input)),
                }
            }
        }
    }
    // Path order, as shown: which copy of a duplicate delivery is kept, and the order of
    // events, must not depend on how a scan was split (see [`crate::shard`]).
    out.logs.sort_by(|a, b| a.shown.cmp(&b.shown));
    tf.into_units(opts, &root, &mut out);
    // Every deployed-state input of the scan is one picture of the account(s). Functions that a
    // template also describes are paired ([`drift::correlate`]), so the deployed state's unit
    // can report where it differs from the template.
    if let Some(kind) = deployed.first().map(|(_, i)| i.kind) {
        let refs: Vec<(FileId, &Input)> = deployed.iter().map(|(f, i)| (f.clone(), i)).collect();
        let (mut inventory, keys) = api::inventory_and_keys(&refs);
        // A template's literal key that the deployed state describes is what it says it is.
        for unit in &mut out.units {
            keys.settle(&mut unit.inventory);
        }
        let others: Vec<&Inventory> = out.units.iter().map(|u| &u.inventory).collect();
        drift::correlate(&mut inventory, &others);
        out.units.push(Unit {
            kind,
            inventory,
            files: deployed.into_iter().map(|(f, _)| f).collect(),
        });
    }
    out
}

/// Inputs given with `--inventory`: read for correlation, not reported on.
struct Inventories {
    /// Model JSON files: (label, inventory).
    models: Vec<(String, serde_json::Value)>,
    /// Units read from templates, Terraform and API output.
    units: Vec<Unit>,
    errors: Vec<InputError>,
}

fn load_inventories(opts: &ScanOptions, root: &Path) -> Inventories {
    let mut out = Inventories {
        models: Vec::new(),
        units: Vec::new(),
        errors: Vec::new(),
    };
    let mut inputs = Vec::new();
    for path in &opts.inventories {
        let shown = display_path(path, root);
        if path.is_file()
            && let Ok(models) = load_inventory(path)
        {
            for (label, model) in models {
                out.models
                    .push((label.unwrap_or_else(|| shown.clone()), model));
            }
            continue;
        }
        inputs.push(path.clone());
    }
    if !inputs.is_empty() {
        let loaded = load(&ScanOptions {
            paths: inputs.clone(),
            limits: opts.limits,
            tf_vars: opts.tf_vars.clone(),
            inventories: Vec::new(),
            shard: None,
            facts: None,
        });
        // A file named as an inventory that is neither a model nor an input is a mistake.
        for path in inputs.iter().filter(|p| p.is_file()) {
            let shown = display_path(path, root);
            let read = loaded.scanned.iter().any(|(p, _)| *p == shown)
                || loaded.errors.iter().any(|e| e.path == shown);
            if !read {
                out.errors.push(InputError {
                    path: shown,
                    line: None,
                    column: None,
                    message: "not an inventory: expected the model's JSON (`atrest model` output), a template, Terraform or AWS API output".into(),
                });
            }
        }
        out.errors.extend(loaded.errors);
        out.units = loaded.units;
    }
    out
}

pub fn scan(opts: &ScanOptions, policies: &PolicySet) -> ScanResult {
    let root = scan_root();
    let mut loaded = load(opts);
    let mut out = ScanResult::default();
    let mut errors = Vec::new();
    // Units every shard reads, for the catalog; only shard 1 reports them.
    let mut context_units = Vec::new();
    match opts.shard {
        Some(shard) if !shard.reports_inventory() => {
            context_units = std::mem::take(&mut loaded.units);
        }
        _ => {
            out.scanned = loaded.scanned;
            out.skipped = loaded.skipped;
            out.notes = loaded.notes;
            errors = loaded.errors;
        }
    }
    let units = loaded.units;
    let mut logs = loaded.logs;
    if let Some(shard) = opts.shard {
        logs.retain(|l| shard.owns(&l.shown));
    }
    let inventories = load_inventories(opts, &root);
    errors.extend(inventories.errors);
    // Phase one of the logs runs beside nothing else: it is the part that reads gigabytes.
    let phase_one = (!logs.is_empty()).then(|| trail::read_logs(&logs, policies, MAX_EVENT_BYTES));
    let evaluated: Vec<(Vec<Finding>, Vec<String>)> = units
        .par_iter()
        .map_init(
            || policies.evaluator(),
            |eval, unit| eval.evaluate(&unit.inventory),
        )
        .collect();
    for (unit, (findings, failures)) in units.iter().zip(evaluated) {
        let objects: std::collections::BTreeSet<&str> = unit.inventory.judged_ids().collect();
        let reported: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| f.resource_id.as_str()).collect();
        out.checked += objects.len();
        out.passed += objects.difference(&reported).count();
        let first_file = unit
            .files
            .first()
            .map(|f| f.to_string())
            .unwrap_or_default();
        errors.extend(failures.into_iter().map(|message| InputError {
            path: first_file.clone(),
            line: None,
            column: None,
            message: format!("policy evaluation failed: {message}"),
        }));
        out.findings.extend(findings.into_iter().map(|finding| {
            FileFinding {
                path: finding
                    .location
                    .as_ref()
                    .map_or_else(|| first_file.clone(), |l| l.file.to_string()),
                finding,
                suppression: None,
            }
        }));
    }
    if let Some(mut one) = phase_one {
        if let Some(given) = &opts.facts {
            one.facts.merge(given.clone());
            one.report.facts = one.facts.clone();
        }
        let catalog = catalog(
            units.iter().chain(&context_units).chain(&inventories.units),
            inventories.models,
        );
        let mut log_errors = std::mem::take(&mut one.errors);
        let (findings, report, more) = trail::evaluate(&logs, one, &catalog, policies);
        log_errors.extend(more);
        errors.extend(
            log_errors
                .into_iter()
                .map(|e| InputError::read(&e.file, e.error)),
        );
        out.findings
            .extend(findings.into_iter().map(|f| FileFinding::new(f, None)));
        out.trail = Some(report);
    }
    out.errors = errors;
    put_in_order(&mut out);
    out
}

/// What the CloudTrail rules correlate events with: every unit's inventory with the places its
/// objects are declared, and the `--inventory` models. Added in label order, so the catalog is
/// the same however the inputs were split between shards.
fn catalog<'a>(
    units: impl Iterator<Item = &'a Unit>,
    models: Vec<(String, serde_json::Value)>,
) -> Catalog {
    let mut entries: Vec<(String, Option<&Unit>, serde_json::Value)> = units
        .map(|unit| {
            let label = unit
                .files
                .first()
                .map(|f| f.to_string())
                .unwrap_or_default();
            let model = serde_json::to_value(&unit.inventory).unwrap_or_default();
            (label, Some(unit), model)
        })
        .chain(
            models
                .into_iter()
                .map(|(label, model)| (label, None, model)),
        )
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut catalog = Catalog::new();
    for (label, unit, model) in &entries {
        match unit {
            Some(unit) => {
                let inv = &unit.inventory;
                let locate = |id: &str, prop: &str| {
                    inv.origins().find(|o| o.id == id).and_then(|o| {
                        if prop.is_empty() {
                            o.declared_at().cloned()
                        } else {
                            o.locations.get(prop).cloned()
                        }
                    })
                };
                catalog.add(label, model, &locate);
            }
            None => catalog.add(label, model, &|_, _| None),
        }
    }
    catalog
}

/// The order every report is in, whatever order inputs were read or shards merged in.
pub fn put_in_order(out: &mut ScanResult) {
    out.findings.sort_by(|a, b| {
        let key = |f: &FileFinding| {
            (
                f.path.clone(),
                f.finding.location.as_ref().map(|l| l.span.start),
                f.finding.rule,
                f.finding.resource_id.clone(),
                f.finding.message.clone(),
                f.finding.trail.as_ref().map(|t| t.subject.clone()),
            )
        };
        key(a).cmp(&key(b))
    });
    out.scanned.sort_by(|a, b| a.0.cmp(&b.0));
    out.scanned.dedup_by(|a, b| a.0 == b.0);
    // Every shard reads the inventory: an error in it comes once from each.
    out.errors.sort();
    out.errors.dedup();
    out.notes.sort();
    out.notes.dedup();
}

/// Reads an `--inventory` file: one inventory in the model's shape, or what `atrest model`
/// prints (a list of `{file, kind, model}`). Returns (label, inventory) pairs.
pub fn load_inventory(path: &Path) -> Result<Vec<(Option<String>, serde_json::Value)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read inventory: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("inventory is not valid JSON: {e}"))?;
    let is_inventory = |v: &serde_json::Value| {
        v.is_object()
            && ["functions", "event_source_mappings", "kms_keys"]
                .iter()
                .any(|k| v.get(k).is_some_and(serde_json::Value::is_array))
    };
    match &value {
        v if is_inventory(v) => Ok(vec![(None, value)]),
        serde_json::Value::Array(items) if items.iter().all(|i| is_inventory(&i["model"])) => Ok(items
            .iter()
            .map(|i| (i["file"].as_str().map(str::to_owned), i["model"].clone()))
            .collect()),
        _ => Err(
            "not an inventory: expected the model's JSON (functions, event_source_mappings, kms_keys, ...) or `atrest model` output"
                .into(),
        ),
    }
}
