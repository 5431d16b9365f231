//! Wires the stages together: walk the paths, read and model each input, evaluate the policies
//! in parallel, and collect findings and errors in a deterministic order.

use crate::engine::{Finding, PolicyError, PolicySet};
use crate::isolate::{isolate, test_trigger};
use crate::model::{FileId, Inventory, ModelEntry, api, cfn, drift, serverless};
use crate::read::detect::{self, LogSniff};
pub use crate::read::file::Boundary;
use crate::read::remote::Remote;
use crate::read::s3::{self, S3Url};
use crate::read::trail_layout::TrailFilter;
use crate::read::{Input, InputKind, Limits, ReadError, ReadOutcome, Skip, include, read_input};
use crate::trail::{self, Catalog, Facts, LogFile, TrailReport};
use rayon::prelude::*;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

pub mod map;
mod select;
mod terraform;

pub use crate::finding::{FileFinding, InputError, ScanResult, SkippedFile};
pub use crate::paths::{display_path, scan_root};
pub use select::{Shard, path_hash};

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
    /// What the scan may read besides `paths` and the files named in the options: the paths
    /// named on the command line and with `--allow-outside`, each with the git repository it
    /// is in. A Terraform module or variable file, or a link in a walked directory, that leads
    /// elsewhere is an error. Empty: `paths`, with their repositories.
    pub roots: Vec<PathBuf>,
    /// Write every event of every CloudTrail finding to this file (`--all-events`).
    pub all_events: Option<PathBuf>,
    /// Keep each CloudTrail finding's event identities: the scan is a part of a sharded one.
    pub identities: bool,
    /// CloudTrail logs in S3, and which logs (here and under `paths`) are wanted.
    pub logs: LogSelection,
}

/// Which CloudTrail logs a scan reads besides its local files, and which of all of them.
#[derive(Debug, Clone, Default)]
pub struct LogSelection {
    /// `s3://bucket/prefix` paths.
    pub s3: Vec<S3Url>,
    pub access: s3::Access,
    /// `--since`, `--until`, `--account`, `--trail-region`: applied to S3 folders before they
    /// are listed, and to local paths that have the CloudTrail layout.
    pub filter: TrailFilter,
}

/// Splits the paths of a scan into S3 URLs and local paths; a broken S3 URL is an error.
pub fn split_s3(paths: Vec<PathBuf>) -> (Vec<S3Url>, Vec<PathBuf>, Vec<InputError>) {
    let mut urls = Vec::new();
    let mut local = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match p.to_str().and_then(S3Url::parse) {
            Some(Ok(url)) => urls.push(url),
            Some(Err(message)) => errors.push(InputError {
                path: p.to_string_lossy().into_owned(),
                line: None,
                column: None,
                message,
            }),
            None => local.push(p),
        }
    }
    (urls, local, errors)
}

impl ScanOptions {
    /// A scan of `paths` with the default limits and nothing else: no variable files,
    /// inventories, shard, facts or extra roots.
    pub fn of(paths: Vec<PathBuf>) -> Self {
        ScanOptions {
            paths,
            limits: Limits::default(),
            tf_vars: Vec::new(),
            inventories: Vec::new(),
            shard: None,
            facts: None,
            roots: Vec::new(),
            all_events: None,
            identities: false,
            logs: LogSelection::default(),
        }
    }

    /// The scanned tree (see [`ScanOptions::roots`]).
    pub fn boundary(&self) -> Boundary {
        let root = scan_root();
        let named = if self.roots.is_empty() {
            &self.paths
        } else {
            &self.roots
        };
        let mut b = Boundary::new(&root, named.iter().map(PathBuf::as_path)).with_repositories();
        for p in self.tf_vars.iter().chain(&self.inventories) {
            b.add(&root.join(p));
        }
        b
    }
}

/// The largest CloudTrail event accepted; a larger one means a broken file.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

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

/// One unit's findings and the messages of the rules that failed on it.
type Evaluated = (Vec<Finding>, Vec<String>);

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

/// Every file under the given paths, respecting ignore files and hidden-file conventions, with
/// the files git tracks taken even where an ignore file matches them; paths named explicitly
/// are always taken. Only regular files are taken: a FIFO, device or socket is an error, and so
/// is a symbolic link that leads out of `boundary` (its target is not read). Sorted, so results
/// never depend on directory order.
pub fn collect_files(paths: &[PathBuf], boundary: &Boundary) -> (Vec<PathBuf>, Vec<InputError>) {
    let mut walk = Walk {
        boundary,
        root: scan_root(),
        files: Vec::new(),
        errors: Vec::new(),
        visited: std::collections::HashSet::new(),
    };
    for p in paths {
        match std::fs::metadata(p) {
            // A file named on the command line is taken wherever it is.
            Ok(m) if m.is_file() => walk.files.push(p.clone()),
            Ok(m) if m.is_dir() => walk.dir(p),
            Ok(m) => walk.refuse(p, crate::read::file::refuse_kind(&m).unwrap_or_default()),
            Err(_) if std::fs::symlink_metadata(p).is_ok() => {
                walk.refuse(p, "a symbolic link that leads nowhere".into())
            }
            Err(_) => walk.refuse(p, "no such file or directory".into()),
        }
    }
    let Walk {
        mut files, errors, ..
    } = walk;
    files.sort();
    files.dedup();
    (files, errors)
}

/// A walk of the scanned paths (see [`collect_files`]).
struct Walk<'a> {
    boundary: &'a Boundary,
    root: PathBuf,
    files: Vec<PathBuf>,
    errors: Vec<InputError>,
    /// Directories walked, canonical: a link back up the tree is not walked twice.
    visited: std::collections::HashSet<PathBuf>,
}

impl Walk<'_> {
    fn refuse(&mut self, path: &Path, message: String) {
        self.errors.push(InputError {
            path: display_path(path, &self.root),
            line: None,
            column: None,
            message,
        });
    }

    fn dir(&mut self, dir: &Path) {
        if let Ok(c) = std::fs::canonicalize(dir)
            && !self.visited.insert(c)
        {
            return;
        }
        // `.gitignore` is honoured outside a git repository too (an unpacked archive, a CI
        // workspace without `.git`): what the user ignores is never scanned.
        let mut builder = ignore::WalkBuilder::new(dir);
        builder.require_git(false);
        // The walker reads the ignore files of this directory and of those above it itself: one
        // that is a FIFO, `/dev/zero` or a link out of the tree is named, and this directory is
        // walked without ignore files. Below, a directory with such a file is walked apart.
        let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let above = canonical
            .ancestors()
            .skip(1)
            .find_map(|d| bad_ignore_file(d, None));
        let refused = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        if let Some((file, why)) = above.or_else(|| bad_ignore_file(dir, Some(self.boundary))) {
            self.refuse(&file, format!("{why} (ignore files are not used here)"));
            builder.git_ignore(false).ignore(false).parents(false);
        } else {
            let (boundary, refused) = (self.boundary.clone(), refused.clone());
            builder.filter_entry(move |e| {
                let bad = e.file_type().is_some_and(|t| t.is_dir())
                    && bad_ignore_file(e.path(), Some(&boundary)).is_some();
                if bad && let Ok(mut r) = refused.lock() {
                    r.push(e.path().to_path_buf());
                }
                !bad
            });
        }
        let walker = builder.build();
        let mut seen = std::collections::HashSet::new();
        for entry in walker {
            match entry {
                Ok(e) if e.depth() > 0 => {
                    seen.insert(e.path().to_path_buf());
                    // The walker knows a regular file already: no second look at it.
                    match e.file_type() {
                        Some(t) if t.is_file() => self.files.push(e.into_path()),
                        Some(t) if t.is_dir() => {}
                        _ => self.entry(e.path()),
                    }
                }
                Ok(_) => {}
                Err(e) => self.refuse(dir, format!("cannot walk: {e}")),
            }
        }
        let apart: Vec<PathBuf> = refused.lock().map(|r| r.clone()).unwrap_or_default();
        for sub in apart {
            self.dir(&sub);
        }
        // Git scans what it tracks whatever an ignore file says; an ignore file a change adds
        // must not hide a template from the check of that change.
        if crate::read::file::repository_top(dir).is_some()
            && let Ok(tracked) = crate::git::tracked_files(dir)
        {
            for path in tracked {
                let hidden = path.strip_prefix(dir).is_ok_and(|rel| {
                    rel.components()
                        .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
                });
                if !hidden && !seen.contains(&path) && std::fs::symlink_metadata(&path).is_ok() {
                    self.entry(&path);
                }
            }
        }
    }

    /// One entry of a walk: a file is taken; a link is followed inside the boundary only; a
    /// FIFO, device or socket is refused. A link or special file whose name no input has
    /// (`README.md`) is left alone, as a regular file of that name would be skipped.
    fn entry(&mut self, path: &Path) {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return;
        };
        if meta.is_file() {
            self.files.push(path.to_path_buf());
            return;
        }
        if meta.is_dir() {
            return;
        }
        // What the entry leads to. A dangling link (or a loop of links) has nothing to read;
        // named like a template or Terraform, it is named, not passed over: the file it stood
        // for is not checked.
        let Ok(target) = std::fs::metadata(path) else {
            use crate::read::detect::NameHint;
            if let Some(NameHint::Template | NameHint::Serverless)
            | Some(NameHint::TerraformHcl | NameHint::TerraformJson) =
                crate::read::detect::name_hint(path)
            {
                self.refuse(path, "a symbolic link that leads nowhere".into());
            }
            return;
        };
        if !target.is_dir() && !may_be_input(path) {
            return;
        }
        if meta.is_symlink()
            && let Err(why) = self.boundary.check(path)
        {
            return self.refuse(path, why);
        }
        if target.is_file() {
            self.files.push(path.to_path_buf());
        } else if target.is_dir() {
            self.dir(path);
        } else {
            let why = crate::read::file::refuse_kind(&target).unwrap_or_default();
            self.refuse(path, why);
        }
    }
}

/// The ignore files the walker reads in each directory (besides git's own, in `.git`).
const IGNORE_FILES: &[&str] = &[".gitignore", ".ignore"];

/// The largest ignore file the walker may read.
const MAX_IGNORE_BYTES: u64 = 1024 * 1024;

/// An ignore file of `dir` the walker must not read, and why: not a regular file (the walker
/// would block on a FIFO or read `/dev/zero` until memory runs out), larger than
/// [`MAX_IGNORE_BYTES`], or (where `boundary` is given) a link out of the tree, whose lines an
/// error about a bad pattern would quote.
fn bad_ignore_file(dir: &Path, boundary: Option<&Boundary>) -> Option<(PathBuf, String)> {
    IGNORE_FILES.iter().find_map(|name| {
        let path = dir.join(name);
        let link = std::fs::symlink_metadata(&path).ok()?.is_symlink();
        if link && let Some(Err(why)) = boundary.map(|b| b.check(&path)) {
            return Some((path, why));
        }
        let why = match std::fs::metadata(&path).ok()? {
            m if !m.is_file() => crate::read::file::refuse_kind(&m)?,
            m if m.len() > MAX_IGNORE_BYTES => {
                format!("larger than the {MAX_IGNORE_BYTES}-byte limit for ignore files: not read")
            }
            _ => return None,
        };
        Some((path, why))
    })
}

/// Whether a file of this name could be read as an input (a template, Terraform, API output
/// or a CloudTrail log), whatever its content.
fn may_be_input(path: &Path) -> bool {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    crate::read::detect::name_hint(path).is_some() || detect::LOG_EXTENSIONS.contains(&ext.as_str())
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
fn all_events_file(
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

pub fn scan(opts: &ScanOptions, policies: &PolicySet) -> ScanResult {
    let root = scan_root();
    let mut loaded = load(opts);
    let mut out = ScanResult::default();
    let mut errors = Vec::new();
    let mut keep = trail::Keep {
        all_events: None,
        identities: opts.identities,
    };
    // Created before the logs are read; an error joins the others below.
    let mut all_events_error = None;
    if let Some(path) = &opts.all_events {
        match all_events_file(path, &root, &loaded) {
            Ok(w) => keep.all_events = Some(w),
            Err(message) => {
                all_events_error = Some(InputError::at(&display_path(path, &root), None, message))
            }
        }
    }
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
    errors.extend(all_events_error);
    let units = loaded.units;
    let mut logs = loaded.logs;
    if let Some(shard) = opts.shard {
        logs.retain(|l| shard.owns(&l.shown));
    }
    let inventories = load_inventories(opts, &root);
    errors.extend(inventories.errors);
    // Phase one of the logs runs beside nothing else: it is the part that reads gigabytes.
    // A bug met in the logs fails the logs, not the templates' findings.
    let log_failure = |errors: &mut Vec<InputError>, message: String| {
        errors.extend(
            logs.iter()
                .map(|l| InputError::at(&l.shown, None, message.clone())),
        );
    };
    let phase_one = match (!logs.is_empty()).then(|| {
        isolate("reading the CloudTrail logs", || {
            logs.iter().for_each(|l| test_trigger(&l.shown));
            trail::read_logs(&logs, policies, MAX_EVENT_BYTES)
        })
    }) {
        Some(Err(message)) => {
            log_failure(&mut errors, message);
            None
        }
        Some(Ok(one)) => Some(one),
        None => None,
    };
    let evaluated: Vec<Result<Evaluated, String>> = units
        .par_iter()
        .map_init(
            || policies.evaluator(),
            |eval, unit| {
                let first = unit
                    .files
                    .first()
                    .map(|f| f.to_string())
                    .unwrap_or_default();
                isolate("evaluating the policies on this input", || {
                    test_trigger(&format!("{first}#evaluate"));
                    eval.evaluate(&unit.inventory)
                })
                .inspect_err(|_| {
                    // The engine may be left half-way through a query: start a fresh one.
                    *eval = policies.evaluator();
                })
            },
        )
        .collect();
    for (unit, evaluated) in units.iter().zip(evaluated) {
        let first_file = unit
            .files
            .first()
            .map(|f| f.to_string())
            .unwrap_or_default();
        let (findings, failures) = match evaluated {
            Ok(evaluated) => evaluated,
            Err(message) => {
                errors.push(InputError::at(&first_file, None, message));
                continue;
            }
        };
        let objects: std::collections::BTreeSet<&str> = unit.inventory.judged_ids().collect();
        let reported: std::collections::BTreeSet<&str> =
            findings.iter().map(|f| f.resource_id.as_str()).collect();
        out.checked += objects.len();
        out.passed += objects.difference(&reported).count();
        let path_of = |f: &Finding| {
            f.location
                .as_ref()
                .map_or_else(|| first_file.clone(), |l| l.file.to_string())
        };
        map::add_unit(
            &mut out.map,
            &first_file,
            &unit.inventory,
            &findings,
            path_of,
        );
        errors.extend(failures.into_iter().map(|message| InputError {
            path: first_file.clone(),
            line: None,
            column: None,
            message: format!("policy evaluation failed: {message}"),
        }));
        out.findings
            .extend(findings.into_iter().map(|finding| FileFinding {
                path: path_of(&finding),
                finding,
                suppression: None,
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
        out.notes.extend(
            std::mem::take(&mut one.notes)
                .into_iter()
                .map(|n| InputError::read(&n.file, n.error)),
        );
        let mut log_errors = std::mem::take(&mut one.errors);
        let evaluated = isolate("evaluating the CloudTrail rules", || {
            logs.iter()
                .for_each(|l| test_trigger(&format!("{}#evaluate", l.shown)));
            trail::evaluate(&logs, one, &catalog, policies, &mut keep)
        });
        if let Some((name, mut w)) = keep.all_events.take()
            && let Err(e) = w.flush()
        {
            errors.push(InputError::at(
                &name,
                None,
                format!("--all-events: cannot write: {e}"),
            ));
        }
        let (findings, report, more) = match evaluated {
            Ok(evaluated) => evaluated,
            Err(message) => {
                log_failure(&mut errors, message);
                (Vec::new(), TrailReport::default(), Vec::new())
            }
        };
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
                // Looked up once per declaration: a search of the list would be quadratic.
                // The first origin of an id wins, as a search would find it.
                let mut origins = std::collections::HashMap::new();
                for o in unit.inventory.origins() {
                    origins.entry(o.id.as_str()).or_insert(o);
                }
                let locate = |id: &str, prop: &str| {
                    origins.get(id).and_then(|o| {
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
    // By unit, each unit's rows in model order (a stable sort): the same however the units
    // were split between shards.
    out.map.functions.sort_by(|a, b| a.unit.cmp(&b.unit));
    out.map.keys.sort_by(|a, b| a.unit.cmp(&b.unit));
    // Every shard reads the inventory: an error in it comes once from each.
    out.errors.sort();
    out.errors.dedup();
    cap_repeated(&mut out.errors);
    out.notes.sort();
    out.notes.dedup();
    out.skipped.sort();
    out.skipped.dedup();
}

/// How many errors of one kind in one file are shown before the rest are counted.
pub const REPEATED_SHOWN: usize = 3;

/// A message with its particulars taken out (numbers, and what is quoted), so that "alias
/// `*a` at 3" and "alias `*b` at 9" are one kind of error.
fn kind_of(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    for c in message.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '"' | '\'') => {
                quote = Some(c);
                out.push('…');
            }
            None if c.is_ascii_digit() => {
                if !out.ends_with('#') {
                    out.push('#');
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// Keeps the first [`REPEATED_SHOWN`] errors of each kind in each file (errors are in order),
/// and replaces the rest with one error that counts them, at the first one it stands for: a
/// file with 80 YAML aliases says so in four lines, not eighty.
fn cap_repeated(errors: &mut Vec<InputError>) {
    struct Kind {
        count: usize,
        first_dropped: Option<usize>,
        last_line: Option<u32>,
    }
    let mut kinds: std::collections::HashMap<(String, String), Kind> =
        std::collections::HashMap::new();
    let mut keep = Vec::with_capacity(errors.len());
    for (i, e) in errors.iter().enumerate() {
        let kind = kinds
            .entry((e.path.clone(), kind_of(&e.message)))
            .or_insert(Kind {
                count: 0,
                first_dropped: None,
                last_line: None,
            });
        kind.count += 1;
        kind.last_line = e.line.or(kind.last_line);
        let shown = kind.count <= REPEATED_SHOWN;
        if !shown && kind.first_dropped.is_none() {
            kind.first_dropped = Some(i);
        }
        keep.push(shown);
    }
    let summaries: Vec<InputError> = kinds
        .values()
        .filter_map(|k| {
            let e = &errors[k.first_dropped?];
            let upto = k
                .last_line
                .map(|l| format!(" (up to line {l})"))
                .unwrap_or_default();
            Some(InputError {
                message: format!(
                    "{} more like this{upto}: {}",
                    k.count - REPEATED_SHOWN,
                    e.message
                ),
                ..e.clone()
            })
        })
        .collect();
    let mut keep = keep.into_iter();
    errors.retain(|_| keep.next().unwrap_or(true));
    errors.extend(summaries);
    errors.sort();
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

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Where links may point, relative to the directory they are in: into the tree, up and
    /// out of it, to themselves, nowhere, and the file system's root.
    const TARGETS: &[&str] = &[
        "x.yaml",
        "d",
        ".",
        "..",
        "../..",
        "../../outside",
        "../outside/secret.yaml",
        "../../outside/secret.yaml",
        "nowhere.yaml",
        "/",
    ];
    const DIRS: &[&str] = &["tree", "tree/d", "tree/d/d"];
    const NAMES: &[&str] = &["x.yaml", "y.json", "z", "l.tf"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever links a tree holds, the walk ends, takes no file whose target lies outside
        /// the tree, and names every link it refuses.
        #[test]
        fn the_walk_never_leaves_the_tree(
            links in proptest::collection::vec((0..DIRS.len(), 0..NAMES.len(), 0..TARGETS.len()), 0..10)
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let base = tmp.path();
            for d in DIRS {
                std::fs::create_dir_all(base.join(d)).unwrap();
            }
            std::fs::create_dir_all(base.join("outside")).unwrap();
            std::fs::write(base.join("outside/secret.yaml"), "x").unwrap();
            std::fs::write(base.join("tree/x.yaml"), "x").unwrap();
            for (d, n, t) in links {
                let at = base.join(DIRS[d]).join(NAMES[n]);
                let _ = std::os::unix::fs::symlink(TARGETS[t], &at);
            }
            let tree = base.join("tree");
            let boundary = Boundary::new(base, [Path::new("tree")]);
            let (files, errors) = collect_files(std::slice::from_ref(&tree), &boundary);
            let inside = std::fs::canonicalize(&tree).unwrap();
            for f in &files {
                let target = std::fs::canonicalize(f).unwrap();
                prop_assert!(target.starts_with(&inside), "{} -> {}", f.display(), target.display());
            }
            for e in &errors {
                prop_assert!(e.message.contains("symbolic link"), "{e}");
            }
            // Every link out of the tree that could matter is named.
            let root = scan_root();
            for d in DIRS {
                for n in NAMES {
                    let at = base.join(d).join(n);
                    let Ok(target) = std::fs::canonicalize(&at) else { continue };
                    let matters = target.is_dir() || may_be_input(&at);
                    if !target.starts_with(&inside) && matters {
                        let shown = display_path(&at, &root);
                        prop_assert!(errors.iter().any(|e| e.path == shown), "{shown} not named: {errors:?}");
                    }
                }
            }
        }
    }
}
