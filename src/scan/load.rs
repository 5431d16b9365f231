//! Reading and modelling: every input under the paths, grouped into units before any policy runs.

use super::{
    InputError, ScanOptions, SkippedFile, collect_files, display_path, scan_root, terraform,
};
use crate::isolate::{isolate, test_trigger};
use crate::model::{FileId, Inventory, ModelEntry, api, cfn, drift, serverless};
use crate::read::detect::{self, LogSniff};
use crate::read::remote::Remote;
use crate::read::s3;
use crate::read::trail_layout::TrailFilter;
use crate::read::{Input, InputKind, Limits, ReadError, ReadOutcome, Skip, include, read_input};
use crate::trail::LogFile;
use rayon::prelude::*;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a file turned out to be.
enum Read {
    Log(LogFile),
    /// Recognised and deliberately not read (CloudTrail digests, Panther rule tests).
    Skipped(Skip),
    Other(ReadOutcome),
}

fn read_file(file: &Path, limits: &Limits, shown: &FileId) -> Read {
    as_log(file, shown).unwrap_or_else(|| Read::Other(read_input(file, limits)))
}

/// What a file is as a CloudTrail log ([`detect::log`]); `None` when it is not one (it may
/// still be another input).
fn as_log(file: &Path, shown: &FileId) -> Option<Read> {
    Some(match detect::log(file)? {
        LogSniff::Trail { shape, gzip } => Read::Log(LogFile {
            path: file.to_path_buf(),
            shown: shown.clone(),
            shape,
            gzip,
            remote: None,
        }),
        LogSniff::Skipped(why) => Read::Skipped(why),
        LogSniff::Broken(e) => Read::Other(ReadOutcome::Failed(e)),
    })
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
        InputKind::Serverless => serverless::inventory(file, &input.root, &|_| None),
        InputKind::Terraform | InputKind::TerraformPlan => terraform::model_of(file, input),
        InputKind::AwsApi(_) => api::inventory(&[(file.clone(), input)]),
    }
}

/// Everything read and modelled, before any policy runs.
#[derive(Default)]
pub struct Loaded {
    pub units: Vec<Unit>,
    pub scanned: Vec<(String, InputKind)>,
    pub skipped: Vec<SkippedFile>,
    pub errors: Vec<InputError>,
    pub notes: Vec<InputError>,
    /// CloudTrail log files, read later in two phases (see [`crate::trail`]).
    pub logs: Vec<LogFile>,
}

/// Reads every input under the paths and groups them into modelled units.
pub fn load(opts: &ScanOptions) -> Loaded {
    let root = scan_root();
    let boundary = opts.boundary();
    let (mut files, errors) = collect_files(&opts.paths, &boundary);
    let filter = &opts.logs.filter;
    if !filter.is_empty() {
        files.retain(|f| keeps_local(filter, &root.join(f)));
    }
    let reads: Vec<(FileId, PathBuf, Read)> = files
        .par_iter()
        .map(|file| {
            let shown: FileId = display_path(file, &root).into();
            let outcome = isolate("reading this file", || {
                read_file(file, &opts.limits, &shown)
            })
            .unwrap_or_else(|e| Read::Other(ReadOutcome::Failed(ReadError::whole_file(e))));
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
            Read::Skipped(why) => {
                out.skipped.push(SkippedFile::new(&file, why));
                continue;
            }
            Read::Other(o) => o,
        };
        match outcome {
            ReadOutcome::Skipped(why) => out.skipped.push(SkippedFile::new(&file, why)),
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
                        match isolate("modelling this template", || {
                            test_trigger(&file);
                            cfn::inventory_and_notes(&file, &input.root, sam)
                        }) {
                            Ok(m) => {
                                let read = |e| InputError::read(&file, e);
                                out.errors.extend(m.errors.into_iter().map(read));
                                out.notes.extend(m.notes.into_iter().map(read));
                                out.units.push(Unit {
                                    kind: input.kind,
                                    inventory: m.inventory,
                                    files: vec![file],
                                });
                            }
                            Err(message) => out.errors.push(InputError::at(&file, None, message)),
                        }
                    }
                    InputKind::Serverless => {
                        let dir = path.parent().unwrap_or(Path::new("."));
                        let files = |rel: &str| include::local(dir, rel, &root, &opts.limits);
                        match isolate("modelling this Serverless service", || {
                            test_trigger(&file);
                            serverless::inventory(&file, &input.root, &files)
                        }) {
                            Ok(inventory) => out.units.push(Unit {
                                kind: input.kind,
                                inventory,
                                files: vec![file],
                            }),
                            Err(message) => out.errors.push(InputError::at(&file, None, message)),
                        }
                    }
                    InputKind::Terraform => tf.add_config(file, &path, input),
                    InputKind::TerraformPlan => tf.add_plan(file, &path, input),
                    InputKind::AwsApi(_) => deployed.push((file, input)),
                }
            }
        }
    }
    list_s3(opts, &mut out);
    // Path order, as shown: which copy of a duplicate delivery is kept, and the order of
    // events, must not depend on how a scan was split (see [`crate::shard`]).
    out.logs.sort_by(|a, b| a.shown.cmp(&b.shown));
    tf.into_units(opts, &root, &mut out);
    // Every deployed-state input of the scan is one picture of the account(s). Functions that a
    // template also describes are paired ([`drift::correlate`]), so the deployed state's unit
    // can report where it differs from the template.
    if let Some(kind) = deployed.first().map(|(_, i)| i.kind) {
        let refs: Vec<(FileId, &Input)> = deployed.iter().map(|(f, i)| (f.clone(), i)).collect();
        let modelled = isolate("modelling the deployed state", || {
            refs.iter().for_each(|(f, _)| test_trigger(f));
            api::inventory_and_keys(&refs)
        });
        let (mut inventory, keys) = match modelled {
            Ok(modelled) => modelled,
            Err(message) => {
                out.errors.extend(
                    deployed
                        .iter()
                        .map(|(f, _)| InputError::at(f, None, message.clone())),
                );
                return out;
            }
        };
        drift::join_deployed(
            &mut inventory,
            &keys,
            out.units.iter_mut().map(|u| &mut u.inventory).collect(),
        );
        out.units.push(Unit {
            kind,
            inventory,
            files: deployed.into_iter().map(|(f, _)| f).collect(),
        });
    }
    out
}

/// Whether a local file is in a folder the trail filter keeps (a path without the CloudTrail
/// layout always is).
fn keeps_local(filter: &TrailFilter, path: &Path) -> bool {
    let folder: Vec<String> = path
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let folder: Vec<&str> = folder.iter().map(String::as_str).collect();
    filter.keeps_file_in(&folder)
}

/// The logs under the scan's S3 URLs, listed with the filter's pruning; only a shard's own are
/// fetched.
fn list_s3(opts: &ScanOptions, out: &mut Loaded) {
    let urls = &opts.logs.s3;
    if urls.is_empty() {
        return;
    }
    let keep = |shown: &str| opts.shard.is_none_or(|s| s.owns(shown));
    let listing = match s3::list(urls, &opts.logs.access, &opts.logs.filter, &keep) {
        Ok(l) => l,
        Err(message) => {
            out.errors.extend(
                urls.iter()
                    .map(|u| InputError::at(&u.to_string(), None, message.clone())),
            );
            return;
        }
    };
    for (url, message) in listing.errors {
        out.errors.push(InputError::at(&url, None, message));
    }
    for (path, reason) in listing.skipped {
        out.skipped.push(SkippedFile {
            path,
            reason: reason.to_owned(),
        });
    }
    // A scan pointed at the wrong prefix must not pass on "no findings"; one whose dates select
    // nothing may. Said once, by the shard that reports the other inputs.
    if opts.shard.is_none_or(|s| s.reports_inventory()) {
        for shown in listing.empty {
            if opts.logs.filter.is_empty() {
                let message = "no CloudTrail log found under this prefix".into();
                out.errors.push(InputError::at(&shown, None, message));
            } else {
                let message = "no CloudTrail log under this prefix matches --since, --until, --account and --trail-region".into();
                out.notes.push(InputError::at(&shown, None, message));
            }
        }
    }
    let Some(fetch) = listing.fetch else {
        return;
    };
    for (shown, index) in listing.logs {
        out.logs.push(LogFile {
            path: PathBuf::from(&shown),
            shown: shown.into(),
            shape: crate::read::cloudtrail::TrailShape::Records,
            gzip: true,
            remote: Some(Remote::new(fetch.clone(), index)),
        });
    }
}

/// Inputs given with `--inventory`: read for correlation, not reported on.
pub(super) struct Inventories {
    /// Model JSON files: (label, inventory).
    pub(super) models: Vec<(String, serde_json::Value)>,
    /// Units read from templates, Terraform and API output.
    pub(super) units: Vec<Unit>,
    pub(super) errors: Vec<InputError>,
}

pub(super) fn load_inventories(opts: &ScanOptions, root: &Path) -> Inventories {
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
            limits: opts.limits,
            tf_vars: opts.tf_vars.clone(),
            roots: opts.roots.clone(),
            ..ScanOptions::of(inputs.clone())
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

/// Creates the `--all-events` file, unless it is one of the inputs.
pub(super) fn all_events_file(
    path: &Path,
    root: &Path,
    loaded: &Loaded,
) -> Result<(String, Box<dyn Write + Send>), String> {
    let name = display_path(path, root);
    let same = |p: &Path| std::fs::canonicalize(p).ok();
    if let Some(target) = same(path) {
        let inputs = loaded.logs.iter().map(|l| l.path.clone());
        let inputs = inputs.chain(loaded.scanned.iter().map(|(p, _)| root.join(p)));
        if inputs.filter_map(|p| same(&p)).any(|p| p == target) {
            return Err("--all-events: one of the inputs; not overwritten".into());
        }
    }
    let f = std::fs::File::create(path).map_err(|e| format!("--all-events: cannot create: {e}"))?;
    Ok((name, Box::new(std::io::BufWriter::new(f))))
}

const NOT_AN_INVENTORY: &str = "not an inventory: expected the model's JSON (functions, event_source_mappings, kms_keys, ...) or `atrest model` output";

/// Reads an `--inventory` file: one inventory in the model's shape, or what `atrest model`
/// prints (a list of [`ModelEntry`]). Returns (label, inventory) pairs.
pub fn load_inventory(path: &Path) -> Result<Vec<(Option<String>, serde_json::Value)>, String> {
    let text = crate::read::file::read_text_bounded(path, Limits::default().max_template_bytes)
        .map_err(|e| format!("cannot read inventory: {e}"))?;
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
        serde_json::Value::Array(_) => {
            match Vec::<ModelEntry<serde_json::Value>>::deserialize(&value) {
                Ok(entries) if entries.iter().all(|e| is_inventory(&e.model)) => {
                    Ok(entries.into_iter().map(|e| (e.file, e.model)).collect())
                }
                _ => Err(NOT_AN_INVENTORY.into()),
            }
        }
        _ => Err(NOT_AN_INVENTORY.into()),
    }
}
