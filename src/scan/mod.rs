//! Wires the stages together: walk the paths, read and model each input, evaluate the policies
//! in parallel, and collect findings and errors in a deterministic order.

use crate::engine::{Finding, PolicyError, PolicySet};
use crate::isolate::{isolate, test_trigger};
use crate::read::Limits;
pub use crate::read::file::Boundary;
use crate::read::s3::{self, S3Url};
use crate::read::trail_layout::TrailFilter;
use crate::trail::{self, Catalog, Facts, TrailReport};
use rayon::prelude::*;
use std::io::Write;
use std::path::PathBuf;

mod load;
pub mod map;
mod order;
mod select;
mod terraform;
mod walk;

pub use crate::finding::{FileFinding, InputError, ScanResult, SkippedFile};
pub use crate::paths::{display_path, scan_root};
pub use load::{Loaded, Unit, load, load_inventory, logs_of, model_of};
use load::{all_events_file, load_inventories};
pub use order::{REPEATED_SHOWN, put_in_order};
pub use select::{Shard, path_hash};
pub use walk::collect_files;

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
