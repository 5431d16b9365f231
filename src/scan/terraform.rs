//! Terraform inputs into units: a root module is every `.tf`/`.tf.json` file of one directory,
//! with the local modules it calls (read from disk when they are outside the scanned paths) and
//! the remote ones `terraform init` downloaded (found through `.terraform/modules/modules.json`).
//!
//! A directory that another scanned directory calls as a module is not a root of its own: its
//! resources are evaluated with the values its callers give, as Terraform would, and only
//! there. Scanned on its own (no caller in the scan), it is a root with its defaults.
//!
//! A plan is a unit of its own. Its findings point at the `.tf` source of the same address when
//! the scan has the root module of the plan's own directory (where `terraform plan` ran) and
//! it declares that address; otherwise at the resource in the plan. Other directories are not
//! searched: a plan says nothing about where its configuration lives, and a guess could point
//! at an unrelated module that happens to use the same names.

use super::{InputError, Loaded, ScanOptions, Unit, display_path};
use crate::isolate::{isolate, test_trigger};
use crate::model::terraform::{self as tfm, Module, Project};
use crate::model::{FileId, Inventory, Origin, tfplan};
use crate::paths::normalize;
use crate::read::{Input, InputKind, Node, ReadOutcome, Span, Value, hcl, read_input, text};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

mod terragrunt;

type Files = Vec<(FileId, Arc<hcl::Body>)>;

/// Where `terraform init` records the modules it downloaded, relative to the root module.
const MANIFEST: &str = ".terraform/modules/modules.json";

/// One configuration file as a module of its own, or one plan (see `scan::model_of`).
pub(super) fn model_of(file: &FileId, input: &Input) -> Inventory {
    let project = match &input.body {
        Some(body) => Project {
            source: "terraform",
            modules: vec![Module {
                files: vec![(file.clone(), Arc::new(body.clone()))],
            }],
            calls: HashMap::new(),
            not_followed: HashMap::new(),
            tfvars: Vec::new(),
            instances_listed: false,
        },
        None => tfplan::project(file, &input.root).0,
    };
    tfm::inventory(&project).0
}

#[derive(Default)]
pub(super) struct Inputs {
    /// Directory -> its configuration files, in name order.
    dirs: HashMap<PathBuf, Files>,
    /// The normalised paths of those files, to tell which of a directory's files are read.
    paths: HashSet<PathBuf>,
    plans: Vec<(FileId, PathBuf, Node)>,
    /// What the files read leave out (a Terragrunt `include`).
    notes: Vec<InputError>,
}

fn dir_of(path: &Path, root: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    normalize(abs.parent().unwrap_or(Path::new("/")))
}

/// A module call's source: a local directory, or why it is not one.
enum Source {
    Local(PathBuf),
    Remote(String),
}

fn module_calls(body: &hcl::Body, dir: &Path) -> Vec<(String, Span, Source)> {
    body.blocks_of("module")
        .filter_map(|b| {
            let name = b.labels.first()?.clone();
            let src = b.body.attr("source")?;
            let source = match src.expr.as_str() {
                Some(t) if t.starts_with("./") || t.starts_with("../") => {
                    Source::Local(normalize(&dir.join(t)))
                }
                Some(t) => Source::Remote(format!("remote source \"{t}\"")),
                None => Source::Remote("a source computed by an expression".into()),
            };
            Some((name, src.expr.span, source))
        })
        .collect()
}

/// Reading what the scan did not: module directories outside the paths and variable files.
struct Reader<'a> {
    opts: &'a ScanOptions,
    root: &'a Path,
    /// What may be read: a module directory, a file in one or a variable file Terraform loads
    /// by itself that leads elsewhere is an error.
    boundary: crate::read::file::Boundary,
    /// Directories read from disk, by path.
    read: HashMap<PathBuf, Files>,
    reported: HashSet<String>,
}

impl Reader<'_> {
    fn module_files(
        &mut self,
        dir: &Path,
        known: &HashMap<PathBuf, Files>,
        out: &mut Loaded,
    ) -> Option<Files> {
        if let Some(f) = known.get(dir).or_else(|| self.read.get(dir)) {
            return Some(f.clone());
        }
        let paths = config_paths(dir)?;
        let files = self.read_files(paths, out);
        self.read.insert(dir.to_path_buf(), files.clone());
        Some(files)
    }

    /// Reads configuration files the scan did not, reporting each file once.
    fn read_files(&mut self, paths: Vec<PathBuf>, out: &mut Loaded) -> Files {
        let mut files = Files::new();
        for p in paths {
            let shown: FileId = display_path(&p, self.root).into();
            if let Err(why) = self.boundary.check(&p) {
                if self.reported.insert(shown.to_string()) {
                    out.errors.push(InputError::at(&shown, None, why));
                }
                continue;
            }
            match read_input(&p, &self.opts.limits) {
                ReadOutcome::Input(input) => {
                    if self.reported.insert(shown.to_string()) {
                        out.scanned.push((shown.to_string(), input.kind));
                        out.errors.extend(
                            input
                                .problems
                                .iter()
                                .map(|e| InputError::read(&shown, e.clone())),
                        );
                    }
                    if let Some(body) = input.body {
                        files.push((shown, Arc::new(body)));
                    }
                }
                ReadOutcome::Failed(e) => {
                    if self.reported.insert(shown.to_string()) {
                        out.errors.push(InputError::read(&shown, e));
                    }
                }
                ReadOutcome::Skipped(_) => {}
            }
        }
        files
    }

    /// `.terraform/modules/modules.json` of a root module, where `terraform init` ran there:
    /// module call key (`lambda`, `lambda.nested`) -> the directory its source was downloaded
    /// to. `None` without one, and for one that cannot be read (an input error).
    fn manifest(&mut self, dir: &Path, out: &mut Loaded) -> Option<HashMap<String, PathBuf>> {
        let path = dir.join(MANIFEST);
        if !path.is_file() {
            return None;
        }
        let shown: FileId = display_path(&path, self.root).into();
        let parsed = std::fs::read(&path)
            .map_err(|e| crate::read::ReadError::whole_file(format!("cannot read: {e}")))
            .and_then(|bytes| text::decode(&bytes))
            .and_then(|t| crate::read::json::parse(&t, &self.opts.limits));
        let parsed = parsed.and_then(|doc| match doc.root.get("Modules").map(|m| &m.value) {
            Some(Value::Seq(_)) => Ok(doc),
            _ => Err(crate::read::ReadError::at(
                doc.root.span.start,
                "no \"Modules\" list",
            )),
        });
        let doc = match parsed {
            Ok(doc) => doc,
            Err(mut e) => {
                e.message = format!("module manifest of terraform init: {}", e.message);
                if self.reported.insert(shown.to_string()) {
                    out.errors.push(InputError::read(&shown, e));
                }
                return None;
            }
        };
        let mut dirs = HashMap::new();
        let modules = doc.root.get("Modules").map(Node::items).unwrap_or_default();
        for m in modules {
            let key = m.get("Key").and_then(Node::as_str);
            let mdir = m.get("Dir").and_then(Node::as_str);
            if let (Some(key), Some(mdir)) = (key, mdir)
                && !key.is_empty()
            {
                dirs.insert(key.to_owned(), normalize(&dir.join(mdir)));
            }
        }
        Some(dirs)
    }

    /// `terraform.tfvars`, `*.auto.tfvars` (and their `.json` forms) of the root's directory in
    /// Terraform's order, then `--tf-vars` files.
    fn tfvars(&mut self, dir: &Path, out: &mut Loaded) -> Files {
        let mut auto: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                        n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json")
                    })
                    .collect()
            })
            .unwrap_or_default();
        auto.sort();
        let mut paths: Vec<PathBuf> = ["terraform.tfvars", "terraform.tfvars.json"]
            .iter()
            .map(|n| dir.join(n))
            // Whatever it is (a FIFO, a link): reading it says what is wrong with it.
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect();
        paths.extend(auto);
        // Loaded by name from the directory: what they lead to must be in the tree.
        let by_terraform = paths.len();
        paths.extend(self.opts.tf_vars.iter().cloned());
        let mut files = Files::new();
        for (i, p) in paths.into_iter().enumerate() {
            let shown: FileId = display_path(&p, self.root).into();
            let read = match self.boundary.check(&p) {
                Err(why) if i < by_terraform => Err(crate::read::ReadError::whole_file(why)),
                _ => read_vars(&p, &self.opts.limits),
            };
            match read {
                Ok(body) => files.push((shown, Arc::new(body))),
                Err(e) => {
                    if self.reported.insert(shown.to_string()) {
                        out.errors.push(InputError::read(&shown, e));
                    }
                }
            }
        }
        files
    }
}

/// The `.tf` and `.tf.json` files of a directory, in name order.
fn config_paths(dir: &Path) -> Option<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !p.is_dir() && (n.ends_with(".tf") || n.ends_with(".tf.json"))
        })
        .collect();
    paths.sort();
    Some(paths)
}

fn read_vars(
    path: &Path,
    limits: &crate::read::Limits,
) -> Result<hcl::Body, crate::read::ReadError> {
    let bytes = crate::read::file::read_bounded(path, limits.max_template_bytes)
        .map_err(|e| crate::read::ReadError::whole_file(format!("variable file: {e}")))?;
    let text = text::decode(&bytes)?;
    if path.extension().is_some_and(|e| e == "json") {
        let doc = crate::read::json::parse(&text, limits)?;
        Ok(hcl::json_body(&doc.root))
    } else {
        hcl::parse(&text, limits)
    }
}

impl Inputs {
    pub(super) fn add_config(&mut self, file: FileId, path: &Path, input: Input) {
        let Some(mut body) = input.body else { return };
        if path.file_name().and_then(|n| n.to_str()) == Some(terragrunt::FILE_NAME) {
            let (translated, notes) = terragrunt::translate(&body);
            body = translated;
            self.notes.extend(
                notes
                    .into_iter()
                    .map(|(span, why)| InputError::at(&file, Some(span), why)),
            );
        }
        let root = super::scan_root();
        let dir = dir_of(path, &root);
        self.paths.insert(normalize(&root.join(path)));
        let files = self.dirs.entry(dir).or_default();
        files.push((file, Arc::new(body)));
        files.sort_by(|a, b| a.0.cmp(&b.0));
    }

    pub(super) fn add_plan(&mut self, file: FileId, path: &Path, input: Input) {
        self.plans
            .push((file, dir_of(path, &super::scan_root()), input.root));
    }

    pub(super) fn into_units(self, opts: &ScanOptions, root: &Path, out: &mut Loaded) {
        let mut reader = Reader {
            opts,
            root,
            boundary: opts.boundary(),
            read: HashMap::new(),
            reported: out.scanned.iter().map(|(f, _)| f.clone()).collect(),
        };
        let mut notes: BTreeSet<InputError> = self.notes.iter().cloned().collect();
        let roots = self.roots();
        // Root dir -> (unit index, inventory ids) for placing plan findings.
        let mut by_dir: HashMap<PathBuf, usize> = HashMap::new();
        for dir in roots {
            let (project, files) = self.project(&dir, &mut reader, &mut notes, out);
            let modelled = isolate("modelling this Terraform root module", || {
                files.iter().for_each(|f| test_trigger(f));
                tfm::inventory(&project)
            });
            let (inventory, problems) = match modelled {
                Ok(modelled) => modelled,
                Err(message) => {
                    let first = files.first().map(|f| f.to_string()).unwrap_or_default();
                    out.errors.push(InputError::at(&first, None, message));
                    continue;
                }
            };
            out.errors.extend(problems);
            by_dir.insert(dir, out.units.len());
            out.units.push(Unit {
                kind: InputKind::Terraform,
                inventory,
                files,
            });
        }
        for (file, dir, node) in &self.plans {
            let modelled = isolate("modelling this Terraform plan", || {
                test_trigger(file);
                let (project, problems) = tfplan::project(file, node);
                (tfm::inventory(&project).0, problems)
            });
            let (mut inventory, problems) = match modelled {
                Ok(modelled) => modelled,
                Err(message) => {
                    out.errors.push(InputError::at(file, None, message));
                    continue;
                }
            };
            out.errors.extend(problems);
            place_plan(
                &mut inventory,
                file,
                by_dir.get(dir).map(|&i| &out.units[i]),
            );
            out.units.push(Unit {
                kind: InputKind::TerraformPlan,
                inventory,
                files: vec![file.clone()],
            });
        }
        out.notes.extend(notes);
    }

    /// Scanned directories that no other scanned directory calls; and any left unreached
    /// (calls in a cycle), so that nothing scanned goes unevaluated.
    fn roots(&self) -> Vec<PathBuf> {
        let mut called: HashSet<PathBuf> = HashSet::new();
        let mut edges: HashMap<&PathBuf, Vec<PathBuf>> = HashMap::new();
        for (dir, files) in &self.dirs {
            for (_, body) in files {
                for (_, _, src) in module_calls(body, dir) {
                    if let Source::Local(target) = src
                        && &target != dir
                    {
                        called.insert(target.clone());
                        edges.entry(dir).or_default().push(target);
                    }
                }
            }
        }
        let mut roots: Vec<PathBuf> = self
            .dirs
            .keys()
            .filter(|d| !called.contains(*d))
            .cloned()
            .collect();
        let mut reached: HashSet<PathBuf> = roots.iter().cloned().collect();
        let mut stack = roots.clone();
        while let Some(d) = stack.pop() {
            for t in edges.get(&d).into_iter().flatten() {
                if reached.insert(t.clone()) {
                    stack.push(t.clone());
                }
            }
        }
        roots.extend(self.dirs.keys().filter(|d| !reached.contains(*d)).cloned());
        roots.sort();
        roots
    }

    /// The root module at `dir` and every local module it reaches.
    fn project(
        &self,
        dir: &Path,
        reader: &mut Reader,
        notes: &mut BTreeSet<InputError>,
        out: &mut Loaded,
    ) -> (Project, Vec<FileId>) {
        let mut project = Project {
            source: "terraform",
            modules: Vec::new(),
            calls: HashMap::new(),
            not_followed: HashMap::new(),
            tfvars: reader.tfvars(dir, out),
            instances_listed: false,
        };
        let mut index: HashMap<PathBuf, usize> = HashMap::new();
        let mut root_files = self.dirs.get(dir).cloned().unwrap_or_default();
        // A file named on its own brings the rest of its module: Terraform reads the directory.
        let missing: Vec<PathBuf> = config_paths(dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !self.paths.contains(p))
            .collect();
        if !missing.is_empty() {
            root_files.extend(reader.read_files(missing, out));
            root_files.sort_by(|a, b| a.0.cmp(&b.0));
        }
        index.insert(dir.to_path_buf(), 0);
        project.modules.push(Module { files: root_files });
        let manifest = reader.manifest(dir, out);
        // (module index, its directory, the directories above it, its key in the manifest)
        let mut stack: Vec<(usize, PathBuf, Vec<PathBuf>, String)> =
            vec![(0, dir.to_path_buf(), Vec::new(), String::new())];
        while let Some((m, mdir, above, mkey)) = stack.pop() {
            let calls: Vec<(FileId, String, Span, Source)> = project.modules[m]
                .files
                .iter()
                .flat_map(|(f, body)| {
                    module_calls(body, &mdir)
                        .into_iter()
                        .map(move |(n, s, src)| (f.clone(), n, s, src))
                })
                .collect();
            for (file, name, span, source) in calls {
                let key = (m, name.clone());
                let call_key = if mkey.is_empty() {
                    name.clone()
                } else {
                    format!("{mkey}.{name}")
                };
                let (target, from_init) = match source {
                    Source::Remote(src) => {
                        let downloaded = manifest.as_ref().and_then(|d| d.get(&call_key));
                        if let Some(t) = downloaded {
                            (t.clone(), true)
                        } else {
                            let why = src;
                            let how = match manifest {
                                Some(_) => format!(
                                    "; {MANIFEST} has no module \"{call_key}\" (run terraform init again)"
                                ),
                                None => String::new(),
                            };
                            notes.insert(InputError::at(
                                &file,
                                Some(span),
                                format!("module \"{name}\": {why} is not followed{how}; its resources are not scanned"),
                            ));
                            project.not_followed.insert(key, why);
                            continue;
                        }
                    }
                    Source::Local(t) => (t, false),
                };
                if target == mdir || above.contains(&target) {
                    out.errors.push(InputError::at(
                        &file,
                        Some(span),
                        format!("module \"{name}\" calls a module that calls it: Terraform cannot expand it"),
                    ));
                    project.not_followed.insert(key, "a module cycle".into());
                    continue;
                }
                if let Some(&i) = index.get(&target) {
                    project.calls.insert(key, i);
                    continue;
                }
                if let Err(why) = reader.boundary.check(&target) {
                    let shown = match display_path(&target, reader.root) {
                        s if s.is_empty() => ".".to_owned(),
                        s => s,
                    };
                    out.errors.push(InputError::at(
                        &file,
                        Some(span),
                        format!("module \"{name}\": source directory {shown}: {why}"),
                    ));
                    project
                        .not_followed
                        .insert(key, "a source outside the scanned tree".into());
                    continue;
                }
                match reader.module_files(&target, &self.dirs, out) {
                    Some(files) if !files.is_empty() => {
                        let i = project.modules.len();
                        index.insert(target.clone(), i);
                        project.modules.push(Module { files });
                        project.calls.insert(key, i);
                        let mut chain = above.clone();
                        chain.push(mdir.clone());
                        stack.push((i, target, chain, call_key));
                    }
                    _ => {
                        let why = format!(
                            "{} {} has no Terraform files",
                            if from_init {
                                "its directory from terraform init"
                            } else {
                                "local source"
                            },
                            display_path(&target, reader.root)
                        );
                        notes.insert(InputError::at(
                            &file,
                            Some(span),
                            format!("module \"{name}\": {why}; its resources are not scanned"),
                        ));
                        project.not_followed.insert(key, why);
                    }
                }
            }
        }
        let files = project
            .modules
            .iter()
            .flat_map(|m| m.files.iter().map(|(f, _)| f.clone()))
            .collect();
        (project, files)
    }
}

/// Points a plan's objects at their `.tf` source where the scan has it; else every property of
/// an object at its resource in the plan.
fn place_plan(inv: &mut Inventory, plan: &FileId, same_dir: Option<&Unit>) {
    let sources: HashMap<&str, &Origin> = same_dir
        .map(|u| u.inventory.origins().map(|o| (o.id.as_str(), o)).collect())
        .unwrap_or_default();
    for origin in inv.origins_mut() {
        let source = sources.get(origin.id.as_str());
        match source {
            Some(source) => {
                origin.locations = source.locations.clone();
                origin.via = Some(format!("read from {plan}"));
            }
            None => {
                let declared = origin.locations.remove("");
                origin.locations.clear();
                if let Some(d) = declared {
                    origin.locations.insert(String::new(), d);
                }
            }
        }
    }
}
