//! Wires the stages together: walk the paths, read and model each input, evaluate the policies
//! in parallel, and collect findings and errors in a deterministic order.

use crate::engine::{Finding, PolicyError, PolicySet};
use crate::model::{FileId, Inventory, api, cfn, drift};
use crate::read::{Input, InputKind, Limits, ReadError, ReadOutcome, read_input};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

mod terraform;

pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub limits: Limits,
    /// Variable files for every Terraform root module (`--tf-vars`), after the ones Terraform
    /// loads by itself (`terraform.tfvars`, `*.auto.tfvars`).
    pub tf_vars: Vec<PathBuf>,
}

/// A finding with the file it is in.
#[derive(Debug, Clone)]
pub struct FileFinding {
    /// Path as shown to the user: relative to the scan root where it is inside it.
    pub path: String,
    pub finding: Finding,
    /// Set by [`crate::triage`] when the user has accepted the finding.
    pub suppression: Option<crate::triage::Suppression>,
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

    fn read(path: &str, e: ReadError) -> Self {
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
}

/// The directory paths are shown relative to, and SARIF's `%SRCROOT%`.
pub fn scan_root() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}

/// Shows `path` relative to `root` where it lies inside it, with `/` separators; otherwise
/// absolute.
pub fn display_path(path: &Path, root: &Path) -> String {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
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
        for entry in ignore::WalkBuilder::new(p).build() {
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
}

/// Reads every input under the paths and groups them into modelled units.
pub fn load(opts: &ScanOptions) -> Loaded {
    let root = scan_root();
    let (files, errors) = collect_files(&opts.paths);
    let reads: Vec<(FileId, PathBuf, ReadOutcome)> = files
        .par_iter()
        .map(|file| {
            let shown: FileId = display_path(file, &root).into();
            let outcome = read_input(file, &opts.limits);
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
                    InputKind::CloudFormation { sam } => out.units.push(Unit {
                        kind: input.kind,
                        inventory: cfn::inventory(&file, &input.root, sam),
                        files: vec![file],
                    }),
                    InputKind::Terraform => tf.add_config(file, &path, input),
                    InputKind::TerraformPlan => tf.add_plan(file, &path, input),
                    InputKind::AwsApi(_) => deployed.push((file, input)),
                }
            }
        }
    }
    tf.into_units(opts, &root, &mut out);
    // Every deployed-state input of the scan is one picture of the account(s). Functions that a
    // template also describes are paired ([`drift::correlate`]), so the deployed state's unit
    // can report where it differs from the template.
    if let Some(kind) = deployed.first().map(|(_, i)| i.kind) {
        let refs: Vec<(FileId, &Input)> = deployed.iter().map(|(f, i)| (f.clone(), i)).collect();
        let mut inventory = api::inventory(&refs);
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

pub fn scan(opts: &ScanOptions, policies: &PolicySet) -> ScanResult {
    let loaded = load(opts);
    let mut errors = loaded.errors;
    let units = loaded.units;
    let mut out = ScanResult {
        scanned: loaded.scanned,
        skipped: loaded.skipped,
        notes: loaded.notes,
        ..ScanResult::default()
    };
    let evaluated: Vec<(Vec<Finding>, Vec<String>)> = units
        .par_iter()
        .map_init(
            || policies.evaluator(),
            |eval, unit| eval.evaluate(&unit.inventory),
        )
        .collect();
    for (unit, (findings, failures)) in units.iter().zip(evaluated) {
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
    out.findings.sort_by(|a, b| {
        let key = |f: &FileFinding| {
            (
                f.path.clone(),
                f.finding.location.as_ref().map(|l| l.span.start),
                f.finding.rule,
                f.finding.resource_id.clone(),
                f.finding.message.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    errors.sort();
    out.errors = errors;
    out
}
