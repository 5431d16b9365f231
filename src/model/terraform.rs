//! Terraform configuration into the model.
//!
//! A [`Project`] is a root module (every `.tf`/`.tf.json` file of one directory), the local
//! modules it calls, and the variable values given to the root. Expressions are evaluated
//! statically, as far as the configuration allows: literals, `var.*` (tfvars, then defaults, or
//! the calling module's arguments), `local.*`, `module.*` outputs of followed modules, the common
//! functions and operators, `for` expressions, `count`/`for_each` and `dynamic` blocks.
//! A reference to a resource is a symbol: `aws_kms_key.k.arn` is "the key `aws_kms_key.k`",
//! known to be customer managed because an `aws_kms_key` always is. `data.aws_kms_alias` and
//! `data.aws_kms_key` are classified by their literal name or id. Anything else is unknown,
//! never a pass.
//!
//! A resource with `count` or `for_each` is one model object: each instance is evaluated, and
//! where instances disagree the value is unknown (lists of variables or filters are united:
//! data at rest in any instance counts). A resource whose `count` is 0 or whose `for_each` is
//! empty does not exist and is left out.

use super::keys::{KeyRef, KeyState, is_aws_managed_alias};
use super::{
    Durable, Environment, EventSourceMapping, FileId, FilterCriteria, Function, Inventory,
    KmsAlias, KmsKey, Loc, Locations, LogGroup, Origin, RoleRef, Tri, XrayEncryption,
};
use crate::read::Span;
use crate::read::hcl::{
    BinOp, Block, Body, Expr, ExprKind, ObjectItem, ObjectKey, Op, TemplatePart, UnOp,
};
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One module: the files of one directory.
#[derive(Debug, Clone)]
pub struct Module {
    pub files: Vec<(FileId, Arc<Body>)>,
}

/// A root module with everything needed to evaluate it.
#[derive(Debug, Clone)]
pub struct Project {
    /// `terraform` or `terraform-plan`, for [`Origin::source`].
    pub source: &'static str,
    /// `modules[0]` is the root.
    pub modules: Vec<Module>,
    /// (calling module, call name) -> the module its local source was followed to.
    pub calls: HashMap<(usize, String), usize>,
    /// (calling module, call name) -> why the call was not followed.
    pub not_followed: HashMap<(usize, String), String>,
    /// Values for the root module's variables, in increasing precedence.
    pub tfvars: Vec<(FileId, Arc<Body>)>,
    /// Objects that are instances of one resource (a plan lists each instance): merged without
    /// being reported as duplicates.
    pub instances_listed: bool,
}

/// A defect of the configuration found while modelling it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

/// Resource types that make model objects.
const LAMBDA_FUNCTION: &str = "aws_lambda_function";
const EVENT_SOURCE_MAPPING: &str = "aws_lambda_event_source_mapping";
const KMS_KEY: &str = "aws_kms_key";
const KMS_REPLICA_KEY: &str = "aws_kms_replica_key";
const KMS_EXTERNAL_KEY: &str = "aws_kms_external_key";
const KMS_ALIAS: &str = "aws_kms_alias";
const KMS_KEY_POLICY: &str = "aws_kms_key_policy";
const LOG_GROUP: &str = "aws_cloudwatch_log_group";
const XRAY_ENCRYPTION: &str = "aws_xray_encryption_config";
const DATA_KMS_ALIAS: &str = "data.aws_kms_alias";
const DATA_KMS_KEY: &str = "data.aws_kms_key";
const IAM_ROLE: &str = "aws_iam_role";
const DATA_IAM_ROLE: &str = "data.aws_iam_role";

/// Bounds: configurations can be cyclic or absurdly large.
const MAX_DEPTH: usize = 48;
const MAX_INSTANCES: usize = 64;
const MAX_MODULE_DEPTH: usize = 16;

/// A resource attribute known only after apply: `aws_kms_key.k.arn`.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    /// Model id of the resource: its address without instance keys.
    id: String,
    /// `aws_kms_key`, or `data.aws_kms_alias` for data sources.
    ty: String,
    /// The attribute named (`arn`), where one is.
    attr: Option<String>,
}

/// A statically evaluated value.
#[derive(Debug, Clone, PartialEq)]
enum V {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<V>),
    Obj(Vec<(String, V)>),
    /// A string with parts known only later, shown as `${?}` or `${address}`.
    Partial {
        text: String,
        refs: Vec<Target>,
    },
    Ref(Target),
    /// One of these, depending on a condition that is not known.
    Choice(Vec<V>),
    Unknown(String),
    /// What Terraform would reject (a missing attribute): `try` and `can` catch it.
    Err(String),
}

impl V {
    fn is_known(&self) -> bool {
        match self {
            V::Null | V::Bool(_) | V::Num(_) | V::Str(_) => true,
            V::List(items) => items.iter().all(V::is_known),
            V::Obj(items) => items.iter().all(|(_, v)| v.is_known()),
            _ => false,
        }
    }

    /// Not a definite value: what an operation on it yields.
    fn unknown_of(&self) -> Option<V> {
        match self {
            V::Err(e) => Some(V::Err(e.clone())),
            V::Unknown(w) => Some(V::Unknown(w.clone())),
            V::Ref(t) => Some(V::Unknown(format!(
                "{} is known only when Terraform runs",
                t.id
            ))),
            V::Partial { .. } => Some(V::Unknown("a string known only after apply".into())),
            V::Choice(_) => Some(V::Unknown(
                "depends on a condition that is not known".into(),
            )),
            _ => None,
        }
    }

    /// How many parts the value has (itself and everything inside it).
    fn size(&self) -> u32 {
        let inner = match self {
            V::List(items) | V::Choice(items) => {
                items.iter().map(V::size).fold(0, u32::saturating_add)
            }
            V::Obj(items) => items
                .iter()
                .map(|(_, v)| v.size())
                .fold(0, u32::saturating_add),
            _ => 0,
        };
        inner.saturating_add(1)
    }

    /// Why this value, or the first value inside it, is not known.
    fn first_unknown(&self) -> Option<String> {
        match self {
            V::List(items) => items.iter().find_map(V::first_unknown),
            V::Obj(items) => items.iter().find_map(|(_, v)| v.first_unknown()),
            other => other.unknown_of().map(|u| match u {
                V::Unknown(why) | V::Err(why) => why,
                _ => String::new(),
            }),
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            V::Str(s) => Some(s.clone()),
            V::Num(n) => Some(num_text(*n)),
            V::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn get(&self, key: &str) -> Option<&V> {
        match self {
            V::Obj(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn to_json(&self) -> Option<serde_json::Value> {
        use serde_json::Value as J;
        Some(match self {
            V::Null => J::Null,
            V::Bool(b) => J::Bool(*b),
            V::Num(n) => serde_json::Number::from_f64(*n)
                .map(|x| {
                    if n.fract() == 0.0 && n.abs() < 1e15 {
                        J::from(*n as i64)
                    } else {
                        J::Number(x)
                    }
                })
                .unwrap_or(J::Null),
            V::Str(s) => J::String(s.clone()),
            V::List(items) => J::Array(items.iter().map(V::to_json).collect::<Option<_>>()?),
            V::Obj(items) => J::Object(
                items
                    .iter()
                    .map(|(k, v)| Some((k.clone(), v.to_json()?)))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }

    fn from_json(j: &serde_json::Value) -> V {
        use serde_json::Value as J;
        match j {
            J::Null => V::Null,
            J::Bool(b) => V::Bool(*b),
            J::Number(n) => V::Num(n.as_f64().unwrap_or(f64::NAN)),
            J::String(s) => V::Str(s.clone()),
            J::Array(a) => V::List(a.iter().map(V::from_json).collect()),
            J::Object(o) => V::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), V::from_json(v)))
                    .collect(),
            ),
        }
    }
}

/// Whether two values are equal as Terraform's `==` says, where that is known: `None` when it
/// depends on a value known only later. An object or list is never null, even when values
/// inside it are not known, and two values that differ in a known part differ.
fn equal(a: &V, b: &V) -> Option<bool> {
    // Each option of a choice compared: known when every option gives the same answer.
    let choice = |options: &[V], other: &V| {
        let mut answers = options.iter().map(|o| equal(o, other));
        let first = answers.next()??;
        answers.all(|x| x == Some(first)).then_some(first)
    };
    // Every known answer is false: false; all true: true; else not known.
    let all = |answers: &mut dyn Iterator<Item = Option<bool>>| {
        let mut known = true;
        for x in answers {
            match x {
                Some(false) => return Some(false),
                Some(true) => {}
                None => known = false,
            }
        }
        known.then_some(true)
    };
    match (a, b) {
        (V::Choice(options), other) | (other, V::Choice(options)) => choice(options, other),
        (V::Null, V::Null) => Some(true),
        // A reference or a partly known string is never null.
        (V::Null, x) | (x, V::Null) => match x {
            V::Unknown(_) | V::Err(_) => None,
            _ => Some(false),
        },
        (V::Num(x), V::Num(y)) => Some(x == y),
        (V::Bool(x), V::Bool(y)) => Some(x == y),
        (V::Str(x), V::Str(y)) => Some(x == y),
        (V::List(x), V::List(y)) => {
            if x.len() != y.len() {
                return Some(false);
            }
            all(&mut x.iter().zip(y).map(|(p, q)| equal(p, q)))
        }
        (V::Obj(x), V::Obj(y)) => {
            if x.len() != y.len() || x.iter().any(|(k, _)| b.get(k).is_none()) {
                return Some(false);
            }
            all(&mut x.iter().map(|(k, v)| b.get(k).and_then(|w| equal(v, w))))
        }
        (V::Unknown(_) | V::Err(_) | V::Ref(_) | V::Partial { .. }, _)
        | (_, V::Unknown(_) | V::Err(_) | V::Ref(_) | V::Partial { .. }) => None,
        // Known values of different types: Terraform's `==` does not convert.
        _ => Some(false),
    }
}

/// Several possible values as one: the value where they agree and are known, else a choice.
fn one_of(options: Vec<V>) -> V {
    match options.first() {
        Some(first) if first.is_known() && options.iter().all(|o| o == first) => first.clone(),
        _ => V::Choice(options),
    }
}

/// Most combinations of options a function or operator is applied to.
const MAX_CHOICE_CALLS: usize = 16;

/// A function or operator of arguments some of which are one of several values
/// (`var.prod ? a : b`): applied to each option, where the combinations are few; else to the
/// arguments as they are (which gives unknown).
fn each_option(args: Vec<V>, f: &dyn Fn(Vec<V>) -> V) -> V {
    let combinations = args.iter().try_fold(1usize, |n, a| match a {
        V::Choice(o) => n.checked_mul(o.len()),
        _ => Some(n),
    });
    let Some(i) = args.iter().position(|a| matches!(a, V::Choice(_))) else {
        return f(args);
    };
    if combinations.is_none_or(|n| n > MAX_CHOICE_CALLS) {
        return f(args);
    }
    let V::Choice(options) = &args[i] else {
        return f(args);
    };
    let out = options
        .iter()
        .map(|o| {
            let mut each = args.clone();
            each[i] = o.clone();
            each_option(each, f)
        })
        .collect();
    one_of(out)
}

fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Variables bound while evaluating: `each`, `count`, dynamic-block iterators, `for` variables.
type Binds = Vec<(String, V)>;

#[derive(Clone)]
struct Cx {
    inst: usize,
    binds: Binds,
}

impl Cx {
    fn with(&self, name: &str, v: V) -> Cx {
        let mut binds = self.binds.clone();
        binds.push((name.to_owned(), v));
        Cx {
            inst: self.inst,
            binds,
        }
    }
}

/// The resolution steps of one key reference, recorded while they pass a value through.
type Trace<'t> = Option<&'t mut Vec<String>>;

/// A value `Eval::once` keeps, and its size.
type Kept = (V, u32);

/// What `Eval::once` keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Named {
    Var,
    Local,
}

/// Where a variable's value comes from.
enum VarSource<'p> {
    /// A variable file of the root module.
    Tfvars(&'p FileId, &'p Expr),
    /// The argument of the module call (its name), evaluated in the caller.
    Argument(&'p str, &'p Expr, Cx),
    Default(&'p Expr),
    /// Declared without a default, and given no value.
    Missing,
    Undeclared,
}

/// A block as declared: which file, and its syntax.
#[derive(Clone, Copy)]
struct Decl<'p> {
    file: &'p FileId,
    block: &'p Block,
}

/// The declarations of one module, by name.
#[derive(Default)]
struct Def<'p> {
    variables: HashMap<&'p str, Decl<'p>>,
    locals: HashMap<&'p str, (&'p FileId, &'p crate::read::hcl::Attribute)>,
    /// Managed resources and data sources by address (`aws_kms_key.k`, `data.aws_kms_alias.a`),
    /// first declaration only, and every declaration in order.
    by_address: HashMap<String, Decl<'p>>,
    resources: Vec<Decl<'p>>,
    modules: HashMap<&'p str, Decl<'p>>,
    module_order: Vec<&'p str>,
    outputs: HashMap<&'p str, Decl<'p>>,
}

/// One instance of a module in the tree of calls.
struct Inst<'p> {
    def: usize,
    /// The calling instance, the `module` block, and the module instance's `each`/`count`.
    parent: Option<(usize, Decl<'p>, Binds)>,
    /// `module.a.module.b.`
    prefix: String,
    /// Call name -> the instances it made.
    children: HashMap<String, Vec<(Option<V>, usize)>>,
    /// The root module's call this instance descends from: `main.tf:12`.
    called_from: Option<String>,
    /// Why this module instance may not exist (a `count`/`for_each` that cannot be evaluated,
    /// here or in a calling module).
    uncertain: Option<String>,
}

struct Eval<'p> {
    project: &'p Project,
    defs: Vec<Def<'p>>,
    insts: Vec<Inst<'p>>,
    /// Model id -> (instance, declaration) of every resource and data source.
    decls: HashMap<String, (usize, Decl<'p>)>,
    budget: budget::Budget,
    depth: Cell<usize>,
    /// How many evaluations the depth bound cut short.
    cut: Cell<u32>,
    /// See `once`.
    memo: RefCell<HashMap<(usize, Named, String), Kept>>,
    /// The declared log groups, found once (see `logs.rs`).
    log_groups: OnceCell<Vec<logs::Group>>,
}

fn address(block: &Block) -> Option<String> {
    match (block.kind.as_str(), block.labels.as_slice()) {
        ("resource", [ty, name]) => Some(format!("{ty}.{name}")),
        ("data", [ty, name]) => Some(format!("data.{ty}.{name}")),
        _ => None,
    }
}

/// The attribute names of a traversal, instance keys left out: `a.b[0].c` -> `[b, c]`.
fn attr_path(ops: &[Op]) -> Vec<&str> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Attr(a) => Some(a.as_str()),
            _ => None,
        })
        .collect()
}

fn pointer_of(block: &Block) -> String {
    let mut p = format!("/{}", block.kind);
    for l in &block.labels {
        p.push('/');
        p.push_str(&l.replace('~', "~0").replace('/', "~1"));
    }
    p
}

impl<'p> Def<'p> {
    fn new(module: &'p Module, problems: &mut Vec<Problem>) -> Self {
        let mut d = Def::default();
        for (file, body) in &module.files {
            for block in &body.blocks {
                let decl = Decl { file, block };
                let name = block.labels.first().map(String::as_str);
                match (block.kind.as_str(), name) {
                    ("variable", Some(n)) => {
                        d.variables.entry(n).or_insert(decl);
                    }
                    ("output", Some(n)) => {
                        d.outputs.entry(n).or_insert(decl);
                    }
                    ("module", Some(n)) if d.modules.insert(n, decl).is_none() => {
                        d.module_order.push(n);
                    }
                    ("locals", _) => {
                        for a in &block.body.attributes {
                            d.locals.entry(a.name.as_str()).or_insert((file, a));
                        }
                    }
                    _ => {}
                }
                if let Some(addr) = address(block) {
                    syntax::argument_blocks(file, block, problems);
                    if let Some(first) = d.by_address.get(&addr) {
                        problems.push(Problem {
                            file: file.clone(),
                            span: block.span,
                            message: format!(
                                "duplicate {} \"{}\" \"{}\": already declared in {} line {}; Terraform rejects the module",
                                block.kind,
                                block.labels[0],
                                block.labels[1],
                                first.file,
                                first.block.span.start.line
                            ),
                        });
                    } else {
                        d.by_address.insert(addr, decl);
                    }
                    d.resources.push(decl);
                }
            }
        }
        d
    }
}

/// The model of a project, and the defects found on the way.
pub fn inventory(project: &Project) -> (Inventory, Vec<Problem>) {
    let (ev, mut problems) = Eval::new(project);
    let inv = ev.build();
    if let Some(x) = ev.budget.exceeded() {
        problems.push(Problem {
            file: x.file,
            span: x.span,
            message: format!(
                "{} is too large to evaluate (over {} steps and values; a list or string that grows with each reference?): what depends on it is unknown",
                x.what,
                budget::MAX_WORK
            ),
        });
    }
    (inv, problems)
}

impl<'p> Eval<'p> {
    /// The declarations of every module, and the tree of module instances.
    fn new(project: &'p Project) -> (Self, Vec<Problem>) {
        let mut problems = Vec::new();
        let mut defs: Vec<Def> = project
            .modules
            .iter()
            .map(|m| {
                let mut p = Vec::new();
                let d = Def::new(m, &mut p);
                if !project.instances_listed {
                    problems.extend(p);
                }
                d
            })
            .collect();
        // The root instance needs a module, even an empty one.
        if defs.is_empty() {
            defs.push(Def::default());
        }
        let mut ev = Eval {
            project,
            defs,
            insts: vec![Inst {
                def: 0,
                parent: None,
                prefix: String::new(),
                children: HashMap::new(),
                called_from: None,
                uncertain: None,
            }],
            decls: HashMap::new(),
            budget: budget::Budget::default(),
            depth: Cell::new(0),
            cut: Cell::new(0),
            memo: RefCell::new(HashMap::new()),
            log_groups: OnceCell::new(),
        };
        ev.instantiate_modules();
        ev.index_declarations();
        (ev, problems)
    }
}

impl<'p> Eval<'p> {
    // ---- module tree --------------------------------------------------------------------

    fn instantiate_modules(&mut self) {
        let mut i = 0;
        while i < self.insts.len() {
            let depth = self.insts[i].prefix.matches("module.").count();
            let def = self.insts[i].def;
            let calls: Vec<&'p str> = self.defs[def].module_order.clone();
            for name in calls {
                let Some(&child_def) = self
                    .project
                    .calls
                    .get(&(def, name.to_owned()))
                    .filter(|&&c| c < self.defs.len())
                else {
                    continue;
                };
                if depth >= MAX_MODULE_DEPTH {
                    continue;
                }
                let decl = self.defs[def].modules[name];
                let cx = Cx {
                    inst: i,
                    binds: Vec::new(),
                };
                let (instances, unknown) = self.instances(decl.block, &cx);
                let uncertain = unknown
                    .map(|why| format!("module.{name}: {why}"))
                    .or_else(|| self.insts[i].uncertain.clone());
                let mut made = Vec::new();
                let called_from = self.insts[i]
                    .called_from
                    .clone()
                    .or_else(|| Some(format!("{}:{}", decl.file, decl.block.span.start.line)));
                for (key, binds) in instances {
                    let id = self.insts.len();
                    self.insts.push(Inst {
                        def: child_def,
                        parent: Some((i, decl, binds)),
                        prefix: format!("{}module.{name}.", self.insts[i].prefix),
                        children: HashMap::new(),
                        called_from: called_from.clone(),
                        uncertain: uncertain.clone(),
                    });
                    made.push((key, id));
                }
                self.insts[i].children.insert(name.to_owned(), made);
            }
            i += 1;
        }
    }

    fn index_declarations(&mut self) {
        let mut decls = HashMap::new();
        for (i, inst) in self.insts.iter().enumerate() {
            for decl in &self.defs[inst.def].resources {
                let addr = address(decl.block).unwrap_or_default();
                decls
                    .entry(format!("{}{addr}", inst.prefix))
                    .or_insert((i, *decl));
            }
        }
        self.decls = decls;
    }

    /// The instances `count`/`for_each` make, each with its key and bindings. Known zero:
    /// none. Not known: one instance whose `count.index`/`each` are unknown.
    /// The instances of a block with `count` or `for_each`, and why their number is not known
    /// where it is not (one stand-in instance is made then).
    fn instances(&self, block: &Block, cx: &Cx) -> (Vec<(Option<V>, Binds)>, Option<String>) {
        let listed = self.listed_instances(block, cx);
        let unknown = (listed.len() == 1 && listed[0].0.is_none())
            .then(|| {
                ["count", "for_each"]
                    .into_iter()
                    .find(|a| block.body.attr(a).is_some())
                    .map(|a| format!("its {a} cannot be evaluated"))
            })
            .flatten();
        (listed, unknown)
    }

    fn listed_instances(&self, block: &Block, cx: &Cx) -> Vec<(Option<V>, Binds)> {
        let unknown_one = |name: &str| {
            let v = if name == "count" {
                V::Obj(vec![("index".into(), V::Unknown("count.index".into()))])
            } else {
                V::Obj(vec![
                    ("key".into(), V::Unknown("each.key".into())),
                    ("value".into(), V::Unknown("each.value".into())),
                ])
            };
            vec![(None, vec![(name.to_owned(), v)])]
        };
        if let Some(a) = block.body.attr("count") {
            return match self.eval(&a.expr, cx, None) {
                V::Num(n) if n >= 0.0 && (n as usize) <= MAX_INSTANCES => (0..n as usize)
                    .map(|i| {
                        let v = V::Obj(vec![("index".into(), V::Num(i as f64))]);
                        (Some(V::Num(i as f64)), vec![("count".to_owned(), v)])
                    })
                    .collect(),
                _ => unknown_one("count"),
            };
        }
        if let Some(a) = block.body.attr("for_each") {
            let pairs: Option<Vec<(String, V)>> = match self.eval(&a.expr, cx, None) {
                V::Obj(items) => Some(items),
                V::List(items) => items
                    .into_iter()
                    .map(|v| v.text().map(|t| (t.clone(), V::Str(t))))
                    .collect(),
                _ => None,
            };
            return match pairs {
                Some(p) if p.len() <= MAX_INSTANCES => p
                    .into_iter()
                    .map(|(k, v)| {
                        let each =
                            V::Obj(vec![("key".into(), V::Str(k.clone())), ("value".into(), v)]);
                        (Some(V::Str(k)), vec![("each".to_owned(), each)])
                    })
                    .collect(),
                _ => unknown_one("each"),
            };
        }
        vec![(None, Vec::new())]
    }

    // ---- evaluation ---------------------------------------------------------------------

    /// A value made or copied, if the budget pays for it (see `budget.rs`).
    fn charged(&self, v: V) -> V {
        if self.budget.charge(&v) {
            v
        } else {
            V::Unknown("the configuration is too large to evaluate".into())
        }
    }

    fn tick(&self) -> bool {
        self.budget.spend(1)
    }

    /// Follows a reference one level deeper; `None` when too deep (a cycle).
    fn deeper<T>(&self, f: impl FnOnce() -> T) -> Option<T> {
        let d = self.depth.get();
        if d >= MAX_DEPTH {
            self.cut.set(self.cut.get() + 1);
            return None;
        }
        if !self.tick() {
            return None;
        }
        self.depth.set(d + 1);
        let out = f();
        self.depth.set(d);
        Some(out)
    }

    /// The value of `var.<name>` or `local.<name>` in module instance `inst`, evaluated once:
    /// a module's locals refer to each other (label modules chain dozens), and evaluating each
    /// reference anew is exponential in the length of the chain. A trace is recorded by
    /// evaluating again; a value cut short by a bound is not kept.
    fn once(
        &self,
        inst: usize,
        kind: Named,
        name: &str,
        tr: Trace,
        f: impl FnOnce(Trace) -> V,
    ) -> V {
        let key = (inst, kind, name.to_owned());
        if tr.is_some() {
            return f(tr);
        }
        if let Some((v, size)) = self.memo.borrow().get(&key) {
            // A copy costs as many steps as the value has parts: values built by repeating a
            // kept one (`[local.a, local.a]`, level upon level) stay within the step bound.
            if !self.budget.spend(u64::from(*size)) {
                return V::Unknown("the configuration is too large to evaluate".into());
            }
            return v.clone();
        }
        let cut = self.cut.get();
        let v = f(None);
        if self.cut.get() == cut && !self.budget.spent() {
            self.memo.borrow_mut().insert(key, (v.clone(), v.size()));
        }
        v
    }

    fn eval(&self, e: &Expr, cx: &Cx, mut tr: Trace) -> V {
        if !self.tick() {
            return V::Unknown("the configuration is too large to evaluate".into());
        }
        match &e.kind {
            ExprKind::Null => V::Null,
            ExprKind::Bool(b) => V::Bool(*b),
            ExprKind::Number(n) => V::Num(*n),
            ExprKind::Str(s) => V::Str(s.clone()),
            ExprKind::Unknown(why) => V::Unknown(why.clone()),
            ExprKind::Template(parts) => {
                if let [TemplatePart::Interp(inner)] = parts.as_slice() {
                    return self.eval(inner, cx, tr);
                }
                let vals: Vec<V> = parts
                    .iter()
                    .map(|p| match p {
                        TemplatePart::Lit(s) => V::Str(s.clone()),
                        TemplatePart::Interp(x) => self.eval(x, cx, None),
                        TemplatePart::Directive => V::Unknown("a template directive".into()),
                    })
                    .collect();
                self.charged(concat(&vals))
            }
            ExprKind::Tuple(items) => {
                V::List(items.iter().map(|x| self.eval(x, cx, None)).collect())
            }
            ExprKind::Object(items) => self.object(items, cx),
            ExprKind::Var(name) => self.variable(name, cx),
            ExprKind::Traverse(base, ops) => self.traverse(base, ops, cx, tr),
            ExprKind::Call(name, args) => self.call(name, args, cx, tr),
            ExprKind::Cond(c, a, b) => match self.eval(c, cx, None) {
                V::Bool(true) => {
                    if let Some(t) = tr.as_deref_mut() {
                        t.push("condition true".into());
                    }
                    self.eval(a, cx, tr)
                }
                V::Bool(false) => {
                    if let Some(t) = tr.as_deref_mut() {
                        t.push("condition false".into());
                    }
                    self.eval(b, cx, tr)
                }
                V::Err(e) => V::Err(e),
                _ => {
                    let (x, y) = (self.eval(a, cx, None), self.eval(b, cx, None));
                    if x == y && x.is_known() {
                        x
                    } else {
                        V::Choice(vec![x, y])
                    }
                }
            },
            ExprKind::Binary(op, l, r) => self.binary(*op, l, r, cx),
            ExprKind::Unary(op, x) => match (op, self.eval(x, cx, None)) {
                (UnOp::Not, V::Bool(b)) => V::Bool(!b),
                (UnOp::Neg, V::Num(n)) => V::Num(-n),
                (_, v) => v
                    .unknown_of()
                    .unwrap_or(V::Err("wrong operand type".into())),
            },
            ExprKind::For(f) => {
                let coll = self.eval(&f.collection, cx, None);
                let pairs: Vec<(V, V)> = match coll {
                    V::List(items) => items
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (V::Num(i as f64), v))
                        .collect(),
                    V::Obj(items) => items.into_iter().map(|(k, v)| (V::Str(k), v)).collect(),
                    other => {
                        return other
                            .unknown_of()
                            .unwrap_or(V::Err("for over a non-collection".into()));
                    }
                };
                let mut list = Vec::new();
                let mut obj: Vec<(String, V)> = Vec::new();
                let mut groups: HashMap<String, usize> = HashMap::new();
                for (k, v) in pairs {
                    let mut inner = cx.with(&f.value_var, v);
                    if let Some(kv) = &f.key_var {
                        inner = inner.with(kv, k);
                    }
                    if let Some(c) = &f.cond {
                        match self.eval(c, &inner, None) {
                            V::Bool(true) => {}
                            V::Bool(false) => continue,
                            other => {
                                return other
                                    .unknown_of()
                                    .unwrap_or(V::Err("for condition".into()));
                            }
                        }
                    }
                    let val = self.eval(&f.value, &inner, None);
                    match &f.key {
                        None => list.push(val),
                        Some(kx) => match self.eval(kx, &inner, None).text() {
                            Some(key) => {
                                if f.grouping {
                                    match groups.get(&key) {
                                        Some(&i) => match &mut obj[i].1 {
                                            V::List(l) => l.push(val),
                                            _ => unreachable!("groups are lists"),
                                        },
                                        None => {
                                            groups.insert(key.clone(), obj.len());
                                            obj.push((key, V::List(vec![val])));
                                        }
                                    }
                                } else {
                                    obj.push((key, val));
                                }
                            }
                            None => {
                                return V::Unknown("a for expression with computed keys".into());
                            }
                        },
                    }
                }
                if f.key.is_some() {
                    let mut obj = functions::last_wins(obj);
                    obj.sort_by(|a, b| a.0.cmp(&b.0));
                    V::Obj(obj)
                } else {
                    V::List(list)
                }
            }
        }
    }

    fn object(&self, items: &[ObjectItem], cx: &Cx) -> V {
        let mut out: Vec<(String, V)> = Vec::new();
        for item in items {
            let key = match &item.key {
                ObjectKey::Name(n) => n.clone(),
                ObjectKey::Expr(x) => match self.eval(x, cx, None) {
                    V::Str(s) => s,
                    other => match other.text() {
                        Some(t) => t,
                        None => return V::Unknown("an object with computed keys".into()),
                    },
                },
            };
            let v = self.eval(&item.value, cx, None);
            out.push((key, v));
        }
        V::Obj(functions::last_wins(out))
    }

    fn variable(&self, name: &str, cx: &Cx) -> V {
        match cx.binds.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => self.charged(v.clone()),
            None => match name {
                "each" | "count" | "self" => V::Unknown(format!("{name} outside its block")),
                _ => V::Unknown(format!("{name} is not a value")),
            },
        }
    }

    fn push(tr: &mut Trace, step: String) {
        if let Some(t) = tr.as_deref_mut() {
            t.push(step);
        }
    }

    fn traverse(&self, base: &Expr, ops: &[Op], cx: &Cx, mut tr: Trace) -> V {
        let attr = |i: usize| match ops.get(i) {
            Some(Op::Attr(a)) => Some(a.as_str()),
            _ => None,
        };
        let ExprKind::Var(root) = &base.kind else {
            let v = self.eval(base, cx, None);
            return self.apply(v, ops, cx);
        };
        if cx.binds.iter().any(|(n, _)| n == root) {
            let v = self.variable(root, cx);
            return self.apply(v, ops, cx);
        }
        match root.as_str() {
            "var" => {
                let Some(name) = attr(0) else {
                    return V::Unknown("var without a name".into());
                };
                Self::push(&mut tr, format!("var.{name}"));
                let v = self.once(cx.inst, Named::Var, name, tr, |tr| {
                    self.deeper(|| self.var_value(cx.inst, name, tr))
                        .unwrap_or_else(|| V::Unknown("references nested too deeply".into()))
                });
                self.apply(v, &ops[1..], cx)
            }
            "local" => {
                let Some(name) = attr(0) else {
                    return V::Unknown("local without a name".into());
                };
                Self::push(&mut tr, format!("local.{name}"));
                let def = &self.defs[self.insts[cx.inst].def];
                let v = match def.locals.get(name) {
                    Some((file, a)) => {
                        let v = self.once(cx.inst, Named::Local, name, tr, |tr| {
                            let lcx = Cx {
                                inst: cx.inst,
                                binds: Vec::new(),
                            };
                            self.deeper(|| self.eval(&a.expr, &lcx, tr))
                                .unwrap_or_else(|| {
                                    V::Unknown("references nested too deeply".into())
                                })
                        });
                        self.budget
                            .note(file, a.expr.span, || format!("local.{name}"), false);
                        v
                    }
                    None => V::Unknown(format!("local.{name} is not defined")),
                };
                self.apply(v, &ops[1..], cx)
            }
            "module" => self.module_output(cx, ops, tr),
            "data" => {
                let (Some(ty), Some(name)) = (attr(0), attr(1)) else {
                    return V::Unknown("malformed data reference".into());
                };
                self.resource_ref(cx, &format!("data.{ty}"), name, &ops[2..])
            }
            "path" | "terraform" => V::Unknown(format!("{root}.* is known only when run")),
            "each" | "count" | "self" => V::Unknown(format!("{root} outside its block")),
            ty => match attr(0) {
                Some(name) => self.resource_ref(cx, ty, name, &ops[1..]),
                None => V::Unknown(format!("{ty} is not a value")),
            },
        }
    }

    /// Applies attribute and index operations to a value.
    fn apply(&self, mut v: V, ops: &[Op], cx: &Cx) -> V {
        for (i, op) in ops.iter().enumerate() {
            // One of several values (`var.prod ? {...} : {...}`): the rest applies to each.
            if let V::Choice(options) = v {
                let out: Vec<V> = options
                    .into_iter()
                    .map(|o| self.apply(o, &ops[i..], cx))
                    .collect();
                return one_of(out);
            }
            v = match op {
                Op::Splat => {
                    let items = match v {
                        V::List(items) => items,
                        V::Null => Vec::new(),
                        other => match other.unknown_of() {
                            Some(u) => return u,
                            None => vec![other],
                        },
                    };
                    return V::List(
                        items
                            .into_iter()
                            .map(|x| self.apply(x, &ops[i + 1..], cx))
                            .collect(),
                    );
                }
                Op::Attr(a) => match v {
                    V::Obj(_) => match v.get(a) {
                        Some(x) => x.clone(),
                        None => V::Err(format!("no attribute {a}")),
                    },
                    V::Null => V::Err(format!("attribute {a} of null")),
                    other => other
                        .unknown_of()
                        .unwrap_or(V::Err(format!("attribute {a} of a non-object"))),
                },
                Op::Index(ix) => {
                    let k = self.eval(ix, cx, None);
                    match (&v, &k) {
                        (V::List(items), V::Num(n)) => match items.get(*n as usize) {
                            Some(x) if *n >= 0.0 => x.clone(),
                            _ => V::Err("index out of range".into()),
                        },
                        (V::Obj(_), _) if k.text().is_some() => {
                            match k.text().and_then(|key| v.get(&key).cloned()) {
                                Some(x) => x,
                                None => V::Err("no such key".into()),
                            }
                        }
                        _ => v
                            .unknown_of()
                            .or_else(|| k.unknown_of())
                            .unwrap_or(V::Err("bad index".into())),
                    }
                }
            };
        }
        v
    }

    /// Where the value of `var.<name>` comes from in module instance `inst`: the root's variable
    /// files, the calling module's argument, the declared default, or nowhere.
    fn var_source(&self, inst: usize, name: &str) -> VarSource<'p> {
        match &self.insts[inst].parent {
            None => {
                for (file, body) in self.project.tfvars.iter().rev() {
                    if let Some(a) = body.attr(name) {
                        return VarSource::Tfvars(file, &a.expr);
                    }
                }
            }
            Some((parent, call, binds)) => {
                if let Some(a) = call.block.body.attr(name) {
                    let call_name = call.block.labels.first().map(String::as_str).unwrap_or("");
                    let pcx = Cx {
                        inst: *parent,
                        binds: binds.clone(),
                    };
                    return VarSource::Argument(call_name, &a.expr, pcx);
                }
            }
        }
        match self.defs[self.insts[inst].def].variables.get(name) {
            None => VarSource::Undeclared,
            Some(decl) => match decl.block.body.attr("default") {
                Some(d) => VarSource::Default(&d.expr),
                None => VarSource::Missing,
            },
        }
    }

    /// Whether `var.<name>` is declared `sensitive = true` in module instance `inst`.
    fn var_sensitive(&self, inst: usize, name: &str) -> bool {
        let Some(decl) = self.defs[self.insts[inst].def].variables.get(name) else {
            return false;
        };
        decl.block.body.attr("sensitive").is_some_and(|a| {
            let own = Cx {
                inst,
                binds: Vec::new(),
            };
            self.eval(&a.expr, &own, None) == V::Bool(true)
        })
    }

    fn var_value(&self, inst: usize, name: &str, mut tr: Trace) -> V {
        let own = Cx {
            inst,
            binds: Vec::new(),
        };
        let described = |v: &V, what: &str| match v {
            V::Str(s) => format!("{what} \"{s}\""),
            V::Null => format!("{what} null"),
            _ => what.to_owned(),
        };
        match self.var_source(inst, name) {
            VarSource::Tfvars(file, expr) => {
                let v = self.eval(expr, &own, None);
                let short = file.rsplit('/').next().unwrap_or(file);
                Self::push(&mut tr, described(&v, short));
                v
            }
            VarSource::Argument(call, expr, pcx) => {
                Self::push(&mut tr, format!("argument of module.{call}"));
                self.eval(expr, &pcx, tr)
            }
            VarSource::Default(expr) => {
                let v = self.eval(expr, &own, None);
                Self::push(&mut tr, described(&v, "default"));
                v
            }
            VarSource::Missing => {
                V::Unknown("no default, and no value given (tfvars or --tf-vars)".into())
            }
            VarSource::Undeclared => V::Unknown(format!("var.{name} is not declared")),
        }
    }

    fn module_output(&self, cx: &Cx, ops: &[Op], mut tr: Trace) -> V {
        let Some(Op::Attr(call)) = ops.first() else {
            return V::Unknown("malformed module reference".into());
        };
        let def = self.insts[cx.inst].def;
        if let Some(why) = self.project.not_followed.get(&(def, call.clone())) {
            return V::Unknown(format!("module.{call} is not followed ({why})"));
        }
        let Some(children) = self.insts[cx.inst].children.get(call.as_str()) else {
            return V::Unknown(format!("module.{call} is not declared"));
        };
        let mut rest = &ops[1..];
        let mut chosen: Vec<usize> = children.iter().map(|(_, i)| *i).collect();
        if let Some(Op::Index(ix)) = rest.first() {
            let k = self.eval(ix, cx, None);
            if let Some(c) = children.iter().find(|(key, _)| key.as_ref() == Some(&k)) {
                chosen = vec![c.1];
            }
            rest = &rest[1..];
        }
        let Some(Op::Attr(output)) = rest.first() else {
            return V::Unknown(format!("module.{call} as a whole"));
        };
        Self::push(&mut tr, format!("module.{call}.{output}"));
        let values: Vec<V> = chosen
            .iter()
            .map(|&child| {
                let cdef = &self.defs[self.insts[child].def];
                match cdef
                    .outputs
                    .get(output.as_str())
                    .and_then(|o| o.block.body.attr("value"))
                {
                    Some(a) => {
                        let ccx = Cx {
                            inst: child,
                            binds: Vec::new(),
                        };
                        let t = if chosen.len() == 1 {
                            tr.as_deref_mut()
                        } else {
                            None
                        };
                        self.deeper(|| self.eval(&a.expr, &ccx, t))
                            .unwrap_or_else(|| V::Unknown("references nested too deeply".into()))
                    }
                    None => V::Unknown(format!("module.{call} has no output {output}")),
                }
            })
            .collect();
        let v = if values.len() > 1 {
            V::Choice(values)
        } else {
            values
                .into_iter()
                .next()
                .unwrap_or_else(|| V::Unknown(format!("module.{call} makes no instance")))
        };
        self.apply(v, &rest[1..], cx)
    }

    /// `aws_kms_key.k...` / `data.aws_kms_alias.a...`: an argument written in the block is
    /// evaluated; anything else is known only after apply.
    fn resource_ref(&self, cx: &Cx, ty: &str, name: &str, mut ops: &[Op]) -> V {
        let id = format!("{}{ty}.{name}", self.insts[cx.inst].prefix);
        let Some(&(inst, decl)) = self.decls.get(&id) else {
            return V::Unknown(format!("{ty}.{name} is not declared in this module"));
        };
        // Instance selection: one model object stands for every instance.
        while let Some(Op::Index(_) | Op::Splat) = ops.first() {
            ops = &ops[1..];
        }
        let mut target = Target {
            id,
            ty: ty.to_owned(),
            attr: None,
        };
        let Some(Op::Attr(attr)) = ops.first() else {
            return V::Ref(target);
        };
        target.attr = Some(attr.clone());
        match decl.block.body.attr(attr) {
            // A plan's "known after apply" is the resource's own attribute, as in configuration.
            Some(a)
                if !matches!(attr.as_str(), "count" | "for_each" | "provider")
                    && !matches!(a.expr.kind, ExprKind::Unknown(_)) =>
            {
                let rcx = Cx {
                    inst,
                    binds: Vec::new(),
                };
                let v = self
                    .deeper(|| self.eval(&a.expr, &rcx, None))
                    .unwrap_or_else(|| V::Unknown("references nested too deeply".into()));
                self.apply(v, &ops[1..], cx)
            }
            _ if ops.len() == 1 => V::Ref(target),
            _ => V::Unknown(format!("{} is known only when Terraform runs", target.id)),
        }
    }

    fn binary(&self, op: BinOp, l: &Expr, r: &Expr, cx: &Cx) -> V {
        let a = self.eval(l, cx, None);
        // `&&`/`||` decide on one known side.
        match (op, &a) {
            (BinOp::And, V::Bool(false)) => return V::Bool(false),
            (BinOp::Or, V::Bool(true)) => return V::Bool(true),
            _ => {}
        }
        let b = self.eval(r, cx, None);
        each_option(vec![a, b], &|v| match <[V; 2]>::try_from(v) {
            Ok([a, b]) => Self::binary_values(op, a, b),
            Err(_) => V::Err("an operator needs two operands".into()),
        })
    }

    /// `a op b` on evaluated operands.
    fn binary_values(op: BinOp, a: V, b: V) -> V {
        match op {
            BinOp::Eq | BinOp::NotEq => {
                if let Some(e) = [&a, &b].into_iter().find(|v| matches!(v, V::Err(_))) {
                    return e.clone();
                }
                match equal(&a, &b) {
                    Some(eq) => V::Bool(if op == BinOp::Eq { eq } else { !eq }),
                    None => V::Unknown(format!(
                        "a comparison with a value that is not known ({})",
                        [&a, &b]
                            .into_iter()
                            .find_map(|v| v.first_unknown())
                            .unwrap_or_else(|| "known only when Terraform runs".into())
                    )),
                }
            }
            BinOp::And | BinOp::Or => match (&a, &b) {
                (V::Bool(x), V::Bool(y)) => {
                    V::Bool(if op == BinOp::And { *x && *y } else { *x || *y })
                }
                (_, V::Bool(false)) if op == BinOp::And => V::Bool(false),
                (_, V::Bool(true)) if op == BinOp::Or => V::Bool(true),
                _ => a
                    .unknown_of()
                    .or_else(|| b.unknown_of())
                    .unwrap_or(V::Err("logic on non-booleans".into())),
            },
            _ => {
                let num = |v: &V| match v {
                    V::Num(n) => Some(*n),
                    V::Str(s) => s.parse().ok(),
                    _ => None,
                };
                let (Some(x), Some(y)) = (num(&a), num(&b)) else {
                    return a
                        .unknown_of()
                        .or_else(|| b.unknown_of())
                        .unwrap_or(V::Err("arithmetic on non-numbers".into()));
                };
                match op {
                    BinOp::Plus => V::Num(x + y),
                    BinOp::Minus => V::Num(x - y),
                    BinOp::Mul => V::Num(x * y),
                    BinOp::Div => V::Num(x / y),
                    BinOp::Mod => V::Num(x % y),
                    BinOp::Less => V::Bool(x < y),
                    BinOp::LessEq => V::Bool(x <= y),
                    BinOp::Greater => V::Bool(x > y),
                    BinOp::GreaterEq => V::Bool(x >= y),
                    _ => unreachable!("handled above"),
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[Expr], cx: &Cx, mut tr: Trace) -> V {
        let name = name.strip_prefix("provider::terraform::").unwrap_or(name);
        match name {
            "try" => {
                for (i, a) in args.iter().enumerate() {
                    let last = i + 1 == args.len();
                    let mut steps = Vec::new();
                    let v = self.eval(a, cx, tr.is_some().then_some(&mut steps));
                    match v {
                        V::Err(_) if !last => continue,
                        V::Unknown(_) | V::Choice(_) if !last => {
                            // Whether it fails is not known: so is the result.
                            return V::Unknown("try() of a value that is not known".into());
                        }
                        v => {
                            if let Some(t) = tr.as_deref_mut() {
                                t.extend(steps);
                            }
                            return v;
                        }
                    }
                }
                V::Err("try() with no argument that succeeds".into())
            }
            "can" => match args.first().map(|a| self.eval(a, cx, None)) {
                Some(V::Err(_)) => V::Bool(false),
                Some(v)
                    if v.unknown_of().is_some() && !matches!(v, V::Ref(_) | V::Partial { .. }) =>
                {
                    V::Unknown("can() of a value that is not known".into())
                }
                Some(_) => V::Bool(true),
                None => V::Err("can() needs an argument".into()),
            },
            _ => {
                let vals: Vec<V> = args.iter().map(|a| self.eval(a, cx, None)).collect();
                let v = each_option(vals, &|v| functions::call(name, v));
                if functions::too_large(&v) {
                    self.budget.exhaust();
                }
                self.charged(v)
            }
        }
    }

    // ---- model --------------------------------------------------------------------------

    fn build(&self) -> Inventory {
        let mut inv = Inventory::default();
        let mut policies: Vec<KeyPolicy> = Vec::new();
        let mut by_name: Vec<(String, String)> = Vec::new();
        let mut seen: HashMap<String, (FileId, usize)> = HashMap::new();
        for (i, inst) in self.insts.iter().enumerate() {
            for decl in &self.defs[inst.def].resources {
                let addr = address(decl.block).unwrap_or_default();
                let Some(ty) = decl.block.labels.first().map(String::as_str) else {
                    continue;
                };
                if decl.block.kind != "resource" {
                    continue;
                }
                if !matches!(
                    ty,
                    LAMBDA_FUNCTION
                        | EVENT_SOURCE_MAPPING
                        | KMS_KEY
                        | KMS_REPLICA_KEY
                        | KMS_ALIAS
                        | KMS_KEY_POLICY
                        | LOG_GROUP
                        | XRAY_ENCRYPTION
                ) {
                    continue;
                }
                let logical = format!("{}{addr}", inst.prefix);
                // A second declaration of one address (an error reported above) stays a
                // separate object, named by its file.
                let key = (decl.file.clone(), decl.block.span.start.line as usize);
                let id = match seen.get(&logical) {
                    Some(first) if *first != key && !self.project.instances_listed => {
                        format!(
                            "{logical} ({})",
                            decl.file.rsplit('/').next().unwrap_or(decl.file)
                        )
                    }
                    _ => {
                        seen.insert(logical.clone(), key);
                        logical.clone()
                    }
                };
                let base = Cx {
                    inst: i,
                    binds: Vec::new(),
                };
                let (instances, unknown) = self.instances(decl.block, &base);
                if let Some(why) = unknown.or_else(|| self.insts[i].uncertain.clone()) {
                    inv.uncertain.insert(id.clone(), why);
                }
                for (_, binds) in instances {
                    let cx = Cx { inst: i, binds };
                    let r = Res {
                        ev: self,
                        decl: *decl,
                        cx: &cx,
                        pointer: pointer_of(decl.block),
                    };
                    let origin = r.origin(&id, &logical, ty);
                    match ty {
                        LAMBDA_FUNCTION => inv.functions.push(r.function(origin)),
                        EVENT_SOURCE_MAPPING => {
                            let (m, named) = r.mapping(origin);
                            if let Some(name) = named {
                                by_name.push((m.origin.id.clone(), name));
                            }
                            inv.event_source_mappings.push(m);
                        }
                        KMS_KEY | KMS_REPLICA_KEY => inv.kms_keys.push(r.kms_key(origin, ty)),
                        KMS_ALIAS => inv.kms_aliases.push(r.alias(origin)),
                        LOG_GROUP => inv.log_groups.push(r.log_group(origin)),
                        XRAY_ENCRYPTION => inv.xray_encryption.extend(r.xray(origin)),
                        KMS_KEY_POLICY => {
                            if let Some(p) = r.key_policy() {
                                policies.push(p);
                            }
                        }
                        _ => {}
                    }
                }
                self.budget
                    .note(decl.file, decl.block.span, || logical.clone(), true);
            }
        }
        let mut inv = merge::inventory(inv);
        // Mappings that name their function by a name or ARN (`function_name = "orders"`, or
        // `aws_lambda_function.x.function_name`), linked once every function is known.
        for (mapping, name) in by_name {
            let name = name.rsplit(":function:").next().unwrap_or(&name);
            let name = name.split(':').next().unwrap_or(name);
            let mut named = inv
                .functions
                .iter()
                .filter(|f| f.name.as_deref() == Some(name));
            if let (Some(f), None) = (named.next(), named.next()) {
                let id = f.origin.id.clone();
                if let Some(m) = inv
                    .event_source_mappings
                    .iter_mut()
                    .find(|m| m.origin.id == mapping && m.function.is_none())
                {
                    m.function = Some(id);
                }
            }
        }
        for p in policies {
            if let Some(k) = inv.kms_keys.iter_mut().find(|k| k.origin.id == p.key) {
                k.origin.locations.insert("policy".into(), p.at);
                (k.policy_state, k.policy_statements) = p.statements;
                if p.document.is_some() {
                    k.policy = p.document;
                }
            }
        }
        inv.link();
        inv
    }

    // ---- keys ---------------------------------------------------------------------------

    /// Classifies the key an expression names; `label` starts the chain (`kms_key_arn`).
    fn key_ref(&self, expr: Option<&Expr>, cx: &Cx, label: &str) -> KeyRef {
        let Some(expr) = expr else {
            return KeyRef::absent(vec![label.to_owned()]);
        };
        let mut chain = vec![label.to_owned()];
        let v = self.eval(expr, cx, Some(&mut chain));
        self.key_from(v, chain, 0)
    }

    fn key_from(&self, v: V, mut chain: Vec<String>, depth: usize) -> KeyRef {
        if depth > MAX_DEPTH {
            chain.push("alias chain too long".into());
            return KeyRef::unknown(chain);
        }
        let last_says =
            |chain: &[String], quoted: &str| chain.last().is_some_and(|l| l.ends_with(quoted));
        match v {
            V::Null => {
                if !chain.last().is_some_and(|l| l.ends_with("null")) {
                    chain.push("null".into());
                }
                KeyRef::absent(chain)
            }
            V::Str(text) => {
                let quoted = format!("\"{text}\"");
                if !last_says(&chain, &quoted) {
                    chain.push(quoted);
                }
                if text.is_empty() {
                    return KeyRef::absent(chain);
                }
                self.literal_key(&text, chain, depth)
            }
            V::Partial { text, refs } => {
                if is_aws_managed_alias(&text) {
                    chain.push(format!("\"{text}\""));
                    return KeyRef::from_literal(&text, chain);
                }
                for r in refs {
                    if matches!(r.ty.as_str(), KMS_KEY | KMS_REPLICA_KEY | KMS_ALIAS) {
                        return self.key_from(V::Ref(r), chain, depth + 1);
                    }
                }
                chain.push(format!("\"{text}\" has parts that cannot be resolved"));
                KeyRef::unknown(chain)
            }
            V::Ref(t) => self.key_target(&t, chain, depth),
            V::Choice(options) => KeyRef::one_of(
                chain,
                options
                    .into_iter()
                    .map(|o| self.key_from(o, Vec::new(), depth + 1))
                    .collect(),
            ),
            V::Unknown(why) | V::Err(why) => {
                chain.push(why);
                KeyRef::unknown(chain)
            }
            V::Bool(_) | V::Num(_) | V::List(_) | V::Obj(_) => {
                chain.push("not a key reference".into());
                KeyRef::unknown(chain)
            }
        }
    }

    /// A literal key id, ARN or alias: AWS managed by name, a declared key or alias where one
    /// matches, else customer managed by assumption.
    fn literal_key(&self, text: &str, mut chain: Vec<String>, depth: usize) -> KeyRef {
        if depth > MAX_DEPTH {
            chain.push("alias chain too long".into());
            return KeyRef::unknown(chain);
        }
        if is_aws_managed_alias(text) {
            return KeyRef::from_literal(text, chain);
        }
        if let Some((target, attr)) = self.known_as(text) {
            chain.push(format!("the {attr} of {}", target.id));
            return self.key_target(&target, chain, depth + 1);
        }
        if let Some(alias) = self.alias_named(text) {
            return self.key_target(&alias, chain, depth + 1);
        }
        KeyRef::from_literal(text, chain)
    }

    fn key_target(&self, t: &Target, mut chain: Vec<String>, depth: usize) -> KeyRef {
        match t.ty.as_str() {
            KMS_KEY | KMS_REPLICA_KEY => {
                chain.push(format!("{} (customer managed)", t.id));
                KeyRef {
                    state: KeyState::CustomerManaged,
                    value: None,
                    key: Some(t.id.clone()),
                    assumed: false,
                    chain,
                }
            }
            KMS_EXTERNAL_KEY => {
                chain.push(format!(
                    "{} (customer managed, imported key material)",
                    t.id
                ));
                KeyRef {
                    state: KeyState::CustomerManaged,
                    value: None,
                    key: None,
                    assumed: false,
                    chain,
                }
            }
            KMS_ALIAS => {
                chain.push(t.id.clone());
                let Some(&(inst, decl)) = self.decls.get(&t.id) else {
                    return KeyRef::unknown(chain);
                };
                let cx = Cx {
                    inst,
                    binds: Vec::new(),
                };
                if let Some(V::Str(name)) = decl
                    .block
                    .body
                    .attr("name")
                    .map(|a| self.eval(&a.expr, &cx, None))
                    && is_aws_managed_alias(&name)
                {
                    chain.push(format!("\"{name}\""));
                    return KeyRef::from_literal(&name, chain);
                }
                match decl.block.body.attr("target_key_id") {
                    Some(a) => {
                        let mut sub = Vec::new();
                        let v = self.eval(&a.expr, &cx, Some(&mut sub));
                        chain.extend(sub.into_iter().map(|s| format!("target_key_id {s}")));
                        self.key_from(v, chain, depth + 1)
                    }
                    None => {
                        chain.push("alias has no target_key_id".into());
                        KeyRef::unknown(chain)
                    }
                }
            }
            DATA_KMS_ALIAS | DATA_KMS_KEY => {
                let arg = if t.ty == DATA_KMS_ALIAS {
                    "name"
                } else {
                    "key_id"
                };
                let Some(&(inst, decl)) = self.decls.get(&t.id) else {
                    chain.push(format!("{} is not declared", t.id));
                    return KeyRef::unknown(chain);
                };
                let cx = Cx {
                    inst,
                    binds: Vec::new(),
                };
                let v = decl
                    .block
                    .body
                    .attr(arg)
                    .map(|a| self.eval(&a.expr, &cx, None))
                    .unwrap_or(V::Unknown(format!("{} has no {arg}", t.id)));
                match v {
                    V::Str(name) if !name.is_empty() => {
                        chain.push(format!("{} {arg} \"{name}\"", t.id));
                        self.literal_key(&name, chain, depth + 1)
                    }
                    other => {
                        chain.push(t.id.clone());
                        let why = match other {
                            V::Unknown(w) | V::Err(w) => w,
                            _ => format!("its {arg} cannot be resolved"),
                        };
                        chain.push(why);
                        KeyRef::unknown(chain)
                    }
                }
            }
            other => {
                chain.push(format!("{} is a {other}, not a KMS key", t.id));
                KeyRef::unknown(chain)
            }
        }
    }

    /// The key, alias or KMS data source one of whose known identifiers is `text`. A plan
    /// resolves `data.aws_kms_alias.x.target_key_arn` to a key ARN: this finds the alias again.
    fn known_as(&self, text: &str) -> Option<(Target, &'static str)> {
        // What identifies each kind, not what it is looked up by (a data source's `key_id`,
        // an alias's `target_key_id`): those would lead back to the same text.
        let ids_of = |ty: &str| -> &'static [&'static str] {
            match ty {
                KMS_KEY | KMS_REPLICA_KEY => &["arn", "key_id", "id"],
                KMS_ALIAS => &["arn", "id"],
                DATA_KMS_ALIAS => &["arn", "id", "target_key_arn", "target_key_id"],
                DATA_KMS_KEY => &["arn", "id"],
                _ => &[],
            }
        };
        let mut ids: Vec<(&String, &(usize, Decl))> = self.decls.iter().collect();
        ids.sort_by(|a, b| a.0.cmp(b.0));
        ids.into_iter().find_map(|(id, (inst, decl))| {
            let ty = match decl.block.kind.as_str() {
                "data" => format!("data.{}", decl.block.labels[0]),
                _ => decl.block.labels[0].clone(),
            };
            let names = ids_of(&ty);
            let cx = Cx {
                inst: *inst,
                binds: Vec::new(),
            };
            names.iter().find_map(|attr| {
                let a = decl.block.body.attr(attr)?;
                let hit = matches!(self.eval(&a.expr, &cx, None), V::Str(s) if s == text);
                hit.then(|| {
                    (
                        Target {
                            id: id.clone(),
                            ty: ty.clone(),
                            attr: Some((*attr).to_owned()),
                        },
                        *attr,
                    )
                })
            })
        })
    }

    /// The `aws_kms_alias` whose literal name is `name` (or the alias part of an alias ARN).
    fn alias_named(&self, name: &str) -> Option<Target> {
        let short = name.rsplit_once(":alias/").map(|(_, a)| a);
        let mut ids: Vec<&String> = self
            .decls
            .iter()
            .filter(|(_, (_, d))| d.block.kind == "resource" && d.block.labels[0] == KMS_ALIAS)
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids.into_iter().find_map(|id| {
            let (inst, decl) = self.decls[id];
            let cx = Cx {
                inst,
                binds: Vec::new(),
            };
            let V::Str(alias) = self.eval(&decl.block.body.attr("name")?.expr, &cx, None) else {
                return None;
            };
            let hit =
                alias == name || short.is_some_and(|s| alias.strip_prefix("alias/") == Some(s));
            hit.then(|| Target {
                id: id.clone(),
                ty: KMS_ALIAS.into(),
                attr: None,
            })
        })
    }
}

/// Joins template parts; parts known only later make a partial string.
fn concat(parts: &[V]) -> V {
    let mut text = String::new();
    let mut refs = Vec::new();
    let mut complete = true;
    for p in parts {
        match p {
            V::Err(e) => return V::Err(e.clone()),
            V::Null => return V::Err("null in a string template".into()),
            V::Ref(t) => {
                text.push_str(&format!("${{{}}}", t.id));
                refs.push(t.clone());
                complete = false;
            }
            V::Partial { text: t, refs: r } => {
                text.push_str(t);
                refs.extend(r.iter().cloned());
                complete = false;
            }
            other => match other.text() {
                Some(t) => text.push_str(&t),
                None => {
                    text.push_str("${?}");
                    complete = false;
                }
            },
        }
    }
    if complete {
        V::Str(text)
    } else {
        V::Partial { text, refs }
    }
}

// ---- syntax access: native blocks, JSON objects, dynamic blocks ----------------------------

/// A body to read arguments and nested blocks from.
#[derive(Clone, Copy)]
enum BodyRef<'p> {
    Body(&'p Body),
    Object(&'p [ObjectItem]),
}

impl<'p> BodyRef<'p> {
    /// An argument: its name's span and expression.
    fn attr(&self, name: &str) -> Option<(Span, &'p Expr)> {
        match self {
            BodyRef::Body(b) => b.attr(name).map(|a| (a.name_span, &a.expr)),
            BodyRef::Object(items) => items
                .iter()
                .find(|i| matches!(&i.key, ObjectKey::Name(n) if n == name))
                .map(|i| (i.key_span, &i.value)),
        }
    }

    fn json(&self) -> bool {
        match self {
            BodyRef::Body(b) => b.json,
            BodyRef::Object(_) => true,
        }
    }
}

/// One occurrence of a nested block.
struct Occurrence<'p> {
    header: Span,
    body: BodyRef<'p>,
    cx: Cx,
    /// From a `dynamic` block whose `for_each` is not known: may not exist.
    maybe: bool,
}

/// One resource instance being turned into a model object.
struct Res<'e, 'p> {
    ev: &'e Eval<'p>,
    decl: Decl<'p>,
    cx: &'e Cx,
    pointer: String,
}

impl<'p> Res<'_, 'p> {
    fn root(&self) -> BodyRef<'p> {
        BodyRef::Body(&self.decl.block.body)
    }

    fn loc(&self, path: &str, span: Span) -> Loc {
        Loc {
            file: self.decl.file.clone(),
            pointer: format!("{}{path}", self.pointer),
            span,
        }
    }

    fn origin(&self, id: &str, logical: &str, ty: &str) -> Origin {
        let mut locations = Locations::new();
        locations.insert(String::new(), self.loc("", self.decl.block.span));
        Origin {
            id: id.to_owned(),
            source: self.ev.project.source,
            logical_id: logical.to_owned(),
            resource_type: ty.to_owned(),
            locations,
            via: self.ev.insts[self.cx.inst]
                .called_from
                .as_ref()
                .filter(|_| !self.ev.project.instances_listed)
                .map(|c| format!("module called from {c}")),
        }
    }

    /// Nested blocks named `name` in `body`, including `dynamic "name"` and, in JSON syntax,
    /// object-valued arguments.
    fn nested(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Vec<Occurrence<'p>> {
        let mut out = Vec::new();
        // In JSON syntax a block is an object-valued argument; in native syntax that is an
        // error (see `syntax.rs`), and what it holds is still read.
        if let Some((span, e)) = body.attr(name) {
            match &e.kind {
                ExprKind::Object(items) => out.push(Occurrence {
                    header: span,
                    body: BodyRef::Object(items),
                    cx: cx.clone(),
                    maybe: false,
                }),
                ExprKind::Tuple(list) => {
                    for x in list {
                        if let ExprKind::Object(items) = &x.kind {
                            out.push(Occurrence {
                                header: span,
                                body: BodyRef::Object(items),
                                cx: cx.clone(),
                                maybe: false,
                            });
                        }
                    }
                }
                _ => {}
            }
        }
        if body.json() {
            return out;
        }
        let BodyRef::Body(b) = body else {
            return out;
        };
        for block in &b.blocks {
            if block.kind == name && block.labels.is_empty() {
                out.push(Occurrence {
                    header: block.span,
                    body: BodyRef::Body(&block.body),
                    cx: cx.clone(),
                    maybe: false,
                });
            } else if block.kind == "dynamic"
                && block.labels.first().map(String::as_str) == Some(name)
            {
                let Some(content) = block.body.blocks_of("content").next() else {
                    continue;
                };
                let iterator = match block.body.attr("iterator").map(|a| &a.expr.kind) {
                    Some(ExprKind::Var(n)) => n.clone(),
                    _ => name.to_owned(),
                };
                let for_each = block
                    .body
                    .attr("for_each")
                    .map(|a| self.ev.eval(&a.expr, cx, None))
                    .unwrap_or(V::Unknown("dynamic block without for_each".into()));
                let pairs: Option<Vec<(V, V)>> = match for_each {
                    V::List(items) => Some(
                        items
                            .into_iter()
                            .enumerate()
                            .map(|(i, v)| (V::Num(i as f64), v))
                            .collect(),
                    ),
                    V::Obj(items) => Some(items.into_iter().map(|(k, v)| (V::Str(k), v)).collect()),
                    V::Null => Some(Vec::new()),
                    _ => None,
                };
                match pairs {
                    Some(pairs) if pairs.len() <= MAX_INSTANCES => {
                        for (k, v) in pairs {
                            out.push(Occurrence {
                                header: block.span,
                                body: BodyRef::Body(&content.body),
                                cx: cx.with(
                                    &iterator,
                                    V::Obj(vec![("key".into(), k), ("value".into(), v)]),
                                ),
                                maybe: false,
                            });
                        }
                    }
                    _ => out.push(Occurrence {
                        header: block.span,
                        body: BodyRef::Body(&content.body),
                        cx: cx.with(
                            &iterator,
                            V::Obj(vec![
                                ("key".into(), V::Unknown(format!("{iterator}.key"))),
                                ("value".into(), V::Unknown(format!("{iterator}.value"))),
                            ]),
                        ),
                        maybe: true,
                    }),
                }
            }
        }
        out
    }

    fn value(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Option<V> {
        body.attr(name).map(|(_, e)| self.ev.eval(e, cx, None))
    }

    fn text(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Option<String> {
        match self.value(body, cx, name)? {
            V::Str(s) => Some(s),
            other => other.text(),
        }
    }

    fn tri(&self, name: &str, default: Tri) -> Tri {
        match self.value(self.root(), self.cx, name) {
            None | Some(V::Null) => default,
            Some(V::Bool(b)) => {
                if b {
                    Tri::Yes
                } else {
                    Tri::No
                }
            }
            Some(V::Str(s)) if s == "true" => Tri::Yes,
            Some(V::Str(s)) if s == "false" => Tri::No,
            Some(_) => Tri::Unknown,
        }
    }

    /// Records where `name` is written under model path `path`, and classifies its key.
    fn key(
        &self,
        origin: &mut Origin,
        body: BodyRef<'p>,
        cx: &Cx,
        name: &str,
        path: &str,
    ) -> KeyRef {
        let arg = body.attr(name);
        if let Some((span, _)) = arg {
            origin
                .locations
                .insert(path.into(), self.loc(&format!("/{name}"), span));
        }
        self.ev.key_ref(arg.map(|(_, e)| e), cx, name)
    }

    fn mark(&self, origin: &mut Origin, name: &str, path: &str) {
        if let Some((span, _)) = self.root().attr(name) {
            origin
                .locations
                .insert(path.into(), self.loc(&format!("/{name}"), span));
        }
    }

    fn function(&self, mut origin: Origin) -> Function {
        let root = self.root();
        let cx = self.cx;
        let envs = self.nested(root, cx, "environment");
        let environment = envs.first().map(|first| {
            origin
                .locations
                .insert("environment".into(), self.loc("/environment", first.header));
            let mut env = Environment {
                variables: BTreeMap::new(),
                variables_unknown: false,
            };
            for occ in &envs {
                if occ.maybe {
                    env.variables_unknown = true;
                    continue;
                }
                let Some((_, expr)) = occ.body.attr("variables") else {
                    continue;
                };
                if let ExprKind::Object(items) = &expr.kind {
                    for item in items {
                        if let ObjectKey::Name(n) = &item.key {
                            origin.locations.insert(
                                format!("environment.variables.{n}"),
                                self.loc(&format!("/environment/variables/{n}"), item.key_span),
                            );
                        }
                    }
                }
                match self.ev.eval(expr, &occ.cx, None) {
                    V::Obj(items) => {
                        let place = supplied::Place {
                            file: self.decl.file,
                            pointer: format!("{}/environment/variables", self.pointer),
                        };
                        for (name, var, at) in self.ev.env_vars(expr, &occ.cx, place, items) {
                            // Written elsewhere (a variable's default, a module argument): the
                            // finding points there, where the value is.
                            if let Some(at) = at {
                                origin
                                    .locations
                                    .entry(format!("environment.variables.{name}"))
                                    .or_insert(at);
                            }
                            env.variables.insert(name, var);
                        }
                    }
                    V::Null => {}
                    _ => env.variables_unknown = true,
                }
            }
            env
        });
        let kms_key = self.key(&mut origin, root, cx, "kms_key_arn", "kms_key");
        let code_kms_key = self.key(&mut origin, root, cx, "source_kms_key_arn", "code_kms_key");
        // Where the package comes from: the first source argument that is set.
        let sources = ["filename", "s3_bucket", "s3_key", "image_uri"];
        let set = |n: &&str| !matches!(self.value(root, cx, n), None | Some(V::Null));
        if let Some(n) = sources
            .iter()
            .find(|n| set(n))
            .or_else(|| sources.iter().find(|n| root.attr(n).is_some()))
        {
            self.mark(&mut origin, n, "code");
        }
        let pt = self.value(root, cx, "package_type");
        let package_type = match pt {
            Some(V::Str(s)) if s == "Zip" || s == "Image" => s,
            None | Some(V::Null) if set(&"image_uri") => "Image".into(),
            None | Some(V::Null) => "Zip".into(),
            Some(_) => "unknown".into(),
        };
        let logging = self.nested(root, cx, "logging_config");
        // The log group it names, where it names one (null: the default group).
        let mut named = None;
        let log_group = logging.iter().find_map(|occ| {
            let (span, expr) = occ.body.attr("log_group")?;
            if self.ev.eval(expr, &occ.cx, None) == V::Null {
                return None;
            }
            origin.locations.insert(
                "log_group".into(),
                self.loc("/logging_config/log_group", span),
            );
            named = Some((expr, &occ.cx));
            Some(self.ev.symbolic(expr, &occ.cx))
        });
        let name = self.text(root, cx, "function_name");
        let log_group = match log_group {
            Some(written) => written,
            None => root
                .attr("function_name")
                .and_then(|(_, e)| self.ev.symbolic(e, cx))
                .map(|n| format!("/aws/lambda/{n}")),
        };
        let log_group_resource =
            self.ev
                .log_group_of(named, log_group.as_deref(), &origin.logical_id);
        // The model shows the name only where it is known.
        let log_group = log_group.filter(|n| !n.contains("${"));
        let tracing_mode = self
            .nested(root, cx, "tracing_config")
            .iter()
            .find_map(|occ| {
                let (span, _) = occ.body.attr("mode")?;
                origin.locations.insert(
                    "tracing_mode".into(),
                    self.loc("/tracing_config/mode", span),
                );
                self.text(occ.body, &occ.cx, "mode")
            });
        // The AWS provider's `durable_config` block has `execution_timeout` and
        // `retention_period` and no key argument: a durable function declared in Terraform
        // keeps its execution data under a key AWS controls (ATR-L007 says how to set one).
        let durables = self.nested(root, cx, "durable_config");
        let durable = durables.first().map(|first| {
            origin
                .locations
                .insert("durable".into(), self.loc("/durable_config", first.header));
            let mut chain = vec![
                "durable_config".to_owned(),
                "the AWS provider has no key argument for it".to_owned(),
            ];
            Durable {
                kms_key: if durables.iter().all(|o| o.maybe) {
                    chain.push("a dynamic block that may not exist".to_owned());
                    KeyRef::unknown(chain)
                } else {
                    KeyRef::absent(chain)
                },
            }
        });
        let role = root.attr("role").map(|(span, expr)| {
            origin
                .locations
                .insert("role".into(), self.loc("/role", span));
            role_ref(self.ev.eval(expr, cx, None))
        });
        Function {
            name,
            origin,
            environment,
            kms_key,
            package_type,
            code_kms_key,
            log_group,
            log_group_resource,
            tracing_mode,
            role,
            durable,
            stack_logical_id: None,
        }
    }

    /// The mapping, and the function name or ARN it names where it names none by reference.
    fn mapping(&self, mut origin: Origin) -> (EventSourceMapping, Option<String>) {
        let root = self.root();
        let cx = self.cx;
        let criteria = self.nested(root, cx, "filter_criteria");
        let mut present = false;
        let mut maybe = false;
        let mut patterns = Vec::new();
        if let Some(first) = criteria.first() {
            origin.locations.insert(
                "filter_criteria".into(),
                self.loc("/filter_criteria", first.header),
            );
        }
        for occ in &criteria {
            maybe |= occ.maybe;
            for f in self.nested(occ.body, &occ.cx, "filter") {
                if f.maybe || occ.maybe {
                    maybe = true;
                    continue;
                }
                present = true;
                patterns.push(match self.value(f.body, &f.cx, "pattern") {
                    Some(V::Str(s)) => s,
                    _ => "${?}".into(),
                });
            }
        }
        let filter_criteria = if present {
            FilterCriteria::Present
        } else if maybe {
            FilterCriteria::Unknown
        } else {
            FilterCriteria::Absent
        };
        let kms_key = self.key(&mut origin, root, cx, "kms_key_arn", "kms_key");
        let mut named = None;
        let function = match self.value(root, cx, "function_name") {
            Some(V::Ref(t)) if t.ty == LAMBDA_FUNCTION => Some(t.id),
            Some(V::Partial { refs, .. }) => refs
                .into_iter()
                .find(|t| t.ty == LAMBDA_FUNCTION)
                .map(|t| t.id),
            Some(V::Str(s)) => {
                named = Some(s);
                None
            }
            _ => None,
        };
        let mapping = EventSourceMapping {
            origin,
            function,
            event_source_arn: self.text(root, cx, "event_source_arn"),
            event_source_type: None,
            filter_criteria,
            filter_patterns: patterns,
            kms_key,
            filter_criteria_error: None,
        };
        (mapping, named)
    }

    fn kms_key(&self, mut origin: Origin, ty: &str) -> KmsKey {
        let replica = ty == KMS_REPLICA_KEY;
        let enabled_arg = if replica { "enabled" } else { "is_enabled" };
        for (name, path) in [
            (enabled_arg, "enabled"),
            ("enable_key_rotation", "rotation_enabled"),
            ("policy", "policy"),
            ("deletion_window_in_days", "deletion_window_days"),
        ] {
            self.mark(&mut origin, name, path);
        }
        let root = self.root();
        let policy = self.value(root, self.cx, "policy").and_then(policy_json);
        let (policy_state, policy_statements) = self
            .ev
            .key_policy(root.attr("policy").map(|(_, e)| e), self.cx);
        KmsKey {
            origin,
            manager: "customer",
            enabled: self.tri(enabled_arg, Tri::Yes),
            // A replica's rotation follows its primary key, which it does not show.
            rotation_enabled: if replica {
                Tri::Unknown
            } else {
                self.tri("enable_key_rotation", Tri::No)
            },
            pending_deletion: false,
            key_spec: Some(
                self.text(root, self.cx, "customer_master_key_spec")
                    .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into()),
            ),
            policy,
            policy_state,
            policy_statements,
            deletion_window_days: match self.value(root, self.cx, "deletion_window_in_days") {
                Some(V::Num(n)) if n >= 0.0 => Some(n as u32),
                Some(V::Str(s)) => s.parse().ok(),
                _ => None,
            },
            used_by: Vec::new(),
        }
    }

    fn alias(&self, origin: Origin) -> KmsAlias {
        let root = self.root();
        let target = root.attr("target_key_id").map(|(_, e)| e);
        KmsAlias {
            origin,
            name: self.text(root, self.cx, "name"),
            target_key: self.ev.key_ref(target, self.cx, "target_key_id").key,
        }
    }

    fn log_group(&self, mut origin: Origin) -> LogGroup {
        let root = self.root();
        LogGroup {
            written_by: Vec::new(),
            kms_key: self.key(&mut origin, root, self.cx, "kms_key_id", "kms_key"),
            name: self.text(root, self.cx, "name"),
            origin,
        }
    }

    /// The account's X-Ray encryption (`type` `KMS` or `NONE`); none where the type is not
    /// known (the rules then say the setting is not in the input).
    fn xray(&self, mut origin: Origin) -> Option<XrayEncryption> {
        let root = self.root();
        let encryption_type = match self.text(root, self.cx, "type")?.as_str() {
            "KMS" => "KMS",
            "NONE" => "NONE",
            _ => return None,
        };
        self.mark(&mut origin, "type", "type");
        let kms_key = if encryption_type == "KMS" {
            self.key(&mut origin, root, self.cx, "key_id", "kms_key")
        } else {
            KeyRef::absent(vec!["type \"NONE\"".into()])
        };
        Some(XrayEncryption {
            origin,
            encryption_type: encryption_type.into(),
            kms_key,
        })
    }

    /// An `aws_kms_key_policy`: the key it sets the policy of, where, and the document.
    fn key_policy(&self) -> Option<KeyPolicy> {
        let root = self.root();
        let key = self
            .ev
            .key_ref(root.attr("key_id").map(|(_, e)| e), self.cx, "key_id")
            .key?;
        let (span, expr) = root.attr("policy")?;
        Some(KeyPolicy {
            key,
            at: self.loc("/policy", span),
            document: self.value(root, self.cx, "policy").and_then(policy_json),
            statements: self.ev.key_policy(Some(expr), self.cx),
        })
    }
}

/// An `aws_kms_key_policy`: the key it sets the policy of, where, and the policy.
struct KeyPolicy {
    key: String,
    at: Loc,
    /// The document as written, where it is known.
    document: Option<serde_json::Value>,
    statements: policy::Policy,
}

/// A function's `role`: the ARN where it is known, the role resource where it names one.
fn role_ref(v: V) -> RoleRef {
    let is_role = |t: &Target| matches!(t.ty.as_str(), IAM_ROLE | DATA_IAM_ROLE);
    match v {
        V::Str(text) => RoleRef {
            value: Some(text),
            resource: None,
        },
        V::Ref(t) if is_role(&t) => RoleRef {
            value: None,
            resource: Some(t.id),
        },
        V::Partial { refs, .. } => RoleRef {
            value: None,
            resource: refs.into_iter().find(is_role).map(|t| t.id),
        },
        _ => RoleRef {
            value: None,
            resource: None,
        },
    }
}

/// A policy document: JSON text parsed, or the object written.
fn policy_json(v: V) -> Option<serde_json::Value> {
    match v {
        V::Str(s) => Some(serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))),
        other => other.to_json(),
    }
}

mod budget;
mod functions;
mod logs;
mod merge;
mod policy;
mod supplied;
mod syntax;

#[cfg(test)]
mod tests;
