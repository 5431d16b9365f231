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
pub use crate::problem::Problem;

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
                        problems.push(Problem::at(file, Some(block.span), format!(
                                "duplicate {} \"{}\" \"{}\": already declared in {} line {}; Terraform rejects the module",
                                block.kind,
                                block.labels[0],
                                block.labels[1],
                                first.file,
                                first.block.span.start.line
                            )));
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
        problems.push(Problem::at(&x.file, Some(x.span), format!(
                "{} is too large to evaluate (over {} steps and values; a list or string that grows with each reference?): what depends on it is unknown",
                x.what,
                budget::MAX_WORK
            )));
    }
    (inv, problems)
}

mod budget;
mod eval;
mod functions;
mod instances;
mod key_refs;
mod logs;
mod merge;
mod policy;
mod resources;
mod supplied;
mod syntax;
mod types;
mod value;

use resources::*;
use value::*;

#[cfg(test)]
mod tests;
