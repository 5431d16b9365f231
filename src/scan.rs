//! Wires the stages together: walk the paths, read and model each input, evaluate the policies
//! in parallel, and collect findings and errors in a deterministic order.

use crate::engine::{Finding, PolicyError, PolicySet};
use crate::model::{Inventory, cfn};
use crate::read::{Input, InputKind, Limits, ReadError, ReadOutcome, read_input};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

pub struct ScanOptions {
    pub paths: Vec<PathBuf>,
    pub limits: Limits,
}

/// A finding with the file it is in.
#[derive(Debug, Clone)]
pub struct FileFinding {
    /// Path as shown to the user: relative to the scan root where it is inside it.
    pub path: String,
    pub finding: Finding,
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

enum FileResult {
    Skipped,
    Scanned {
        kind: InputKind,
        findings: Vec<Finding>,
        errors: Vec<InputError>,
    },
    Failed(InputError),
}

/// The model of one input.
pub fn model_of(input: &Input) -> Inventory {
    match input.kind {
        InputKind::CloudFormation { sam } => cfn::inventory(&input.root, sam),
    }
}

pub fn scan(opts: &ScanOptions, policies: &PolicySet) -> ScanResult {
    let root = scan_root();
    let (files, mut errors) = collect_files(&opts.paths);
    let results: Vec<(String, FileResult)> = files
        .par_iter()
        .map_init(
            || policies.evaluator(),
            |eval, file| {
                let shown = display_path(file, &root);
                let result = match read_input(file, &opts.limits) {
                    ReadOutcome::Skipped => FileResult::Skipped,
                    ReadOutcome::Failed(e) => FileResult::Failed(InputError::read(&shown, e)),
                    ReadOutcome::Input(input) => {
                        let inventory = model_of(&input);
                        let mut errors: Vec<InputError> = input
                            .problems
                            .into_iter()
                            .map(|e| InputError::read(&shown, e))
                            .collect();
                        let findings = match eval.evaluate(&inventory) {
                            Ok(f) => f,
                            Err(message) => {
                                errors.push(InputError {
                                    path: shown.clone(),
                                    line: None,
                                    column: None,
                                    message: format!("policy evaluation failed: {message}"),
                                });
                                Vec::new()
                            }
                        };
                        FileResult::Scanned {
                            kind: input.kind,
                            findings,
                            errors,
                        }
                    }
                };
                (shown, result)
            },
        )
        .collect();

    let mut out = ScanResult::default();
    for (path, result) in results {
        match result {
            FileResult::Skipped => out.skipped += 1,
            FileResult::Failed(e) => errors.push(e),
            FileResult::Scanned {
                kind,
                findings,
                errors: errs,
            } => {
                out.scanned.push((path.clone(), kind));
                errors.extend(errs);
                out.findings
                    .extend(findings.into_iter().map(|finding| FileFinding {
                        path: path.clone(),
                        finding,
                    }));
            }
        }
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
