//! `terraform show -json` plans into the model.
//!
//! A plan is turned into the configuration it describes, then modelled like `.tf` files (see
//! `terraform.rs`), so both give the same objects for the same infrastructure:
//!
//! - every resource instance of `resource_changes` (not being deleted) becomes a block whose
//!   arguments are the planned values (`change.after`). Values "known after apply"
//!   (`after_unknown`) become the expression the `configuration` section records for them: its
//!   single reference (`aws_kms_key.k.arn`), so that a key created in the same plan is known to
//!   be customer managed; an expression of several references is unknown;
//! - data sources come from `prior_state` where the plan read them, else from `configuration`;
//! - `module_calls` become modules, their `expressions` the call's arguments;
//! - the plan's `variables` are the root module's variable values.
//!
//! Every block is located at its resource's `address` in the plan (`planned_values` first).
//! Strings in a plan are values, never templates.

use super::FileId;
use super::terraform::{Module, Problem, Project};
use crate::read::hcl::{self, Attribute, Block, Body, Expr, ExprKind, ObjectItem, ObjectKey};
use crate::read::{Node, Span, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A plan's values as expressions: literal, strings included.
fn literal(node: &Node) -> Expr {
    let kind = match &node.value {
        Value::Null => ExprKind::Null,
        Value::Bool(b) => ExprKind::Bool(*b),
        Value::Number(n) => ExprKind::Number(n.parse().unwrap_or(f64::NAN)),
        Value::String(s) => ExprKind::Str(s.clone()),
        Value::Seq(items) => ExprKind::Tuple(items.iter().map(literal).collect()),
        Value::Map(entries) => ExprKind::Object(
            entries
                .iter()
                .map(|e| ObjectItem {
                    key: ObjectKey::Name(e.key.clone()),
                    key_span: e.key_span,
                    value: literal(&e.value),
                })
                .collect(),
        ),
    };
    Expr::new(kind, node.span)
}

/// A configuration expression (`{"constant_value": ...}` or `{"references": [...]}`).
fn config_expr(node: &Node) -> Expr {
    if let Some(c) = node.get("constant_value") {
        return literal(c);
    }
    let refs: Vec<&str> = node
        .get("references")
        .map(|r| r.items().iter().filter_map(Node::as_str).collect())
        .unwrap_or_default();
    // `["aws_kms_key.k.arn", "aws_kms_key.k"]` names one thing: keep the longest of each prefix.
    let distinct: Vec<&str> = refs
        .iter()
        .copied()
        .filter(|r| {
            !refs.iter().any(|o| {
                o.len() > r.len()
                    && o.starts_with(r)
                    && matches!(o.as_bytes()[r.len()], b'.' | b'[')
            })
        })
        .collect();
    match distinct.as_slice() {
        [one] if !one.starts_with("local.") => hcl::expr_in_json(one, node.span),
        [one] => Expr::new(
            ExprKind::Unknown(format!("{one}: a plan does not record locals")),
            node.span,
        ),
        [] => Expr::new(
            ExprKind::Unknown("not recorded in the plan".into()),
            node.span,
        ),
        _ => Expr::new(
            ExprKind::Unknown(format!("an expression of {}", distinct.join(", "))),
            node.span,
        ),
    }
}

/// The arguments and nested blocks of a configuration `expressions` object.
fn config_body(node: &Node) -> Body {
    let attributes = node
        .entries()
        .iter()
        .map(|e| Attribute {
            name: e.key.clone(),
            name_span: e.key_span,
            expr: config_value(&e.value),
        })
        .collect();
    Body {
        attributes,
        blocks: Vec::new(),
        json: true,
    }
}

/// An expression object, or a list of nested blocks (objects of expressions).
fn config_value(node: &Node) -> Expr {
    match &node.value {
        Value::Seq(items) => Expr::new(
            ExprKind::Tuple(
                items
                    .iter()
                    .map(|b| {
                        let body = config_body(b);
                        Expr::new(
                            ExprKind::Object(
                                body.attributes
                                    .into_iter()
                                    .map(|a| ObjectItem {
                                        key: ObjectKey::Name(a.name),
                                        key_span: a.name_span,
                                        value: a.expr,
                                    })
                                    .collect(),
                            ),
                            b.span,
                        )
                    })
                    .collect(),
            ),
            node.span,
        ),
        _ => config_expr(node),
    }
}

/// The parts of a plan that run alongside one planned value: `after_unknown` (what is known
/// only after apply), `after_sensitive` / `sensitive_values` (what Terraform hides), and the
/// configuration's expression for it.
#[derive(Clone, Copy, Default)]
struct Marks<'a> {
    unknown: Option<&'a Node>,
    sensitive: Option<&'a Node>,
    config: Option<&'a Node>,
    /// The resource is in the plan's configuration section: a value known only after apply
    /// that has no expression there is the provider's to compute, not the configuration's.
    configured: bool,
}

/// Why a planned value is unknown when the configuration does not set it: the provider
/// computes it (a key's default policy, an ARN).
pub const COMPUTED: &str = "computed by the provider when applied (not set in the configuration)";

impl<'a> Marks<'a> {
    fn key(&self, key: &str) -> Marks<'a> {
        Marks {
            unknown: self.unknown.and_then(|u| u.get(key)),
            sensitive: self.sensitive.and_then(|u| u.get(key)),
            config: self.config.and_then(|c| c.get(key)),
            configured: self.configured,
        }
    }

    fn item(&self, i: usize) -> Marks<'a> {
        let at = |n: Option<&'a Node>| n.and_then(|n| n.items().get(i));
        Marks {
            unknown: at(self.unknown),
            sensitive: at(self.sensitive),
            config: at(self.config),
            configured: self.configured,
        }
    }
}

fn is_true(n: Option<&Node>) -> bool {
    n.is_some_and(|n| matches!(n.value, Value::Bool(true)))
}

/// Planned values, where what is known only after apply is filled from the configuration, and
/// what is sensitive is marked as Terraform's `sensitive(...)` would.
fn planned(value: Option<&Node>, marks: Marks, span: Span) -> Expr {
    let expr = planned_value(value, marks, span);
    if is_true(marks.sensitive) {
        let span = expr.span;
        Expr::new(ExprKind::Call("sensitive".into(), vec![expr]), span)
    } else {
        expr
    }
}

fn planned_value(value: Option<&Node>, marks: Marks, span: Span) -> Expr {
    if is_true(marks.unknown) {
        let why = if marks.configured {
            COMPUTED
        } else {
            "known only after apply"
        };
        return match marks.config {
            Some(c) => config_value(c),
            None => Expr::new(ExprKind::Unknown(why.into()), span),
        };
    }
    let Some(value) = value else {
        return match marks.config {
            Some(c) => config_value(c),
            None => Expr::new(ExprKind::Null, span),
        };
    };
    match &value.value {
        Value::Map(entries) => {
            let mut items: Vec<ObjectItem> = entries
                .iter()
                .map(|e| ObjectItem {
                    key: ObjectKey::Name(e.key.clone()),
                    key_span: e.key_span,
                    value: planned(Some(&e.value), marks.key(&e.key), e.key_span),
                })
                .collect();
            for u in marks.unknown.map(Node::entries).unwrap_or_default() {
                if value.get(&u.key).is_none() {
                    items.push(ObjectItem {
                        key: ObjectKey::Name(u.key.clone()),
                        key_span: u.key_span,
                        value: planned(None, marks.key(&u.key), u.key_span),
                    });
                }
            }
            Expr::new(ExprKind::Object(items), value.span)
        }
        Value::Seq(items) => Expr::new(
            ExprKind::Tuple(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| planned(Some(v), marks.item(i), v.span))
                    .collect(),
            ),
            value.span,
        ),
        _ => literal(value),
    }
}

/// An object expression as a JSON-syntax body.
fn body_of(e: Expr) -> Body {
    let attributes = match e.kind {
        ExprKind::Object(items) => items
            .into_iter()
            .filter_map(|i| match i.key {
                ObjectKey::Name(name) => Some(Attribute {
                    name,
                    name_span: i.key_span,
                    expr: i.value,
                }),
                ObjectKey::Expr(_) => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Body {
        attributes,
        blocks: Vec::new(),
        json: true,
    }
}

/// `module.a["x"].aws_kms_key.k[0]` -> `module.a.aws_kms_key.k`.
fn strip_keys(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// One planned instance: the span of its address, its values, what of them is unknown and
/// what is sensitive.
type Instance<'a> = (Span, Option<&'a Node>, Option<&'a Node>, Option<&'a Node>);

/// Instances by address without keys.
type Instances<'a> = HashMap<String, Vec<Instance<'a>>>;

fn collect_module_values<'a>(
    module: &'a Node,
    spans: &mut HashMap<String, Span>,
    values: &mut Instances<'a>,
) {
    for r in module.get("resources").map(Node::items).unwrap_or_default() {
        if let Some(e) = r.entry("address")
            && let Some(a) = e.value.as_str()
        {
            spans.entry(a.to_owned()).or_insert(e.key_span);
            values.entry(strip_keys(a)).or_default().push((
                e.key_span,
                r.get("values"),
                None,
                r.get("sensitive_values"),
            ));
        }
    }
    for child in module
        .get("child_modules")
        .map(Node::items)
        .unwrap_or_default()
    {
        collect_module_values(child, spans, values);
    }
}

struct Builder<'a> {
    file: &'a FileId,
    project: Project,
    /// Planned instances by address without keys.
    changes: Instances<'a>,
    /// Data sources the plan read, by address without keys.
    read_data: Instances<'a>,
}

pub fn project(file: &FileId, root: &Node) -> (Project, Vec<Problem>) {
    let mut spans = HashMap::new();
    let mut planned_values = Instances::new();
    if let Some(m) = root
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    {
        collect_module_values(m, &mut spans, &mut planned_values);
    }
    let mut changes = Instances::new();
    for rc in root
        .get("resource_changes")
        .map(Node::items)
        .unwrap_or_default()
    {
        let Some(addr) = rc.get("address").and_then(Node::as_str) else {
            continue;
        };
        let change = rc.get("change");
        let actions: Vec<&str> = change
            .and_then(|c| c.get("actions"))
            .map(|a| a.items().iter().filter_map(Node::as_str).collect())
            .unwrap_or_default();
        if actions == ["delete"] {
            continue;
        }
        let span = spans
            .get(addr)
            .copied()
            .or_else(|| rc.entry("address").map(|e| e.key_span))
            .unwrap_or_default();
        changes.entry(strip_keys(addr)).or_default().push((
            span,
            change.and_then(|c| c.get("after")),
            change.and_then(|c| c.get("after_unknown")),
            change.and_then(|c| c.get("after_sensitive")),
        ));
    }
    if changes.is_empty() {
        changes = planned_values;
    }
    let mut read_data = Instances::new();
    let mut state_spans = HashMap::new();
    if let Some(m) = root
        .get("prior_state")
        .and_then(|p| p.get("values"))
        .and_then(|v| v.get("root_module"))
    {
        collect_module_values(m, &mut state_spans, &mut read_data);
    }
    let mut tfvars = Body {
        json: true,
        ..Body::default()
    };
    for v in root.get("variables").map(Node::entries).unwrap_or_default() {
        if let Some(value) = v.value.get("value") {
            tfvars.attributes.push(Attribute {
                name: v.key.clone(),
                name_span: v.key_span,
                expr: literal(value),
            });
        }
    }
    let mut b = Builder {
        file,
        project: Project {
            source: "terraform-plan",
            modules: Vec::new(),
            calls: HashMap::new(),
            not_followed: HashMap::new(),
            tfvars: vec![(file.clone(), Arc::new(tfvars))],
            instances_listed: true,
        },
        changes,
        read_data,
    };
    let config = root.get("configuration").and_then(|c| c.get("root_module"));
    b.module(config, "");
    // Resources planned but absent from the configuration section (a hand-cut plan): still
    // modelled from their values, in the root module.
    let known: Vec<String> = config_addresses(config, "");
    let mut extra: Vec<(&String, &Vec<Instance>)> = b
        .changes
        .iter()
        .filter(|(a, _)| !known.contains(a) && !a.starts_with("module."))
        .collect();
    extra.sort_by(|x, y| x.0.cmp(y.0));
    let blocks: Vec<Block> = extra
        .into_iter()
        .flat_map(|(addr, inst)| instance_blocks(addr, inst, None))
        .collect();
    if let Some(body) = b.body_mut(0) {
        Arc::make_mut(body).blocks.extend(blocks);
    }
    (b.project, Vec::new())
}

fn config_addresses(module: Option<&Node>, prefix: &str) -> Vec<String> {
    let Some(m) = module else { return Vec::new() };
    let mut out: Vec<String> = m
        .get("resources")
        .map(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            r.get("address")
                .and_then(Node::as_str)
                .map(|a| format!("{prefix}{a}"))
        })
        .collect();
    for call in m.get("module_calls").map(Node::entries).unwrap_or_default() {
        out.extend(config_addresses(
            call.value.get("module"),
            &format!("{prefix}module.{}.", call.key),
        ));
    }
    out
}

/// Blocks for the planned instances of one resource (`address` relative to its module).
fn instance_blocks(address: &str, instances: &[Instance], config: Option<&Node>) -> Vec<Block> {
    let (kind, rest) = match address.strip_prefix("data.") {
        Some(r) => ("data", r),
        None => ("resource", address),
    };
    let Some((ty, name)) = rest.split_once('.') else {
        return Vec::new();
    };
    instances
        .iter()
        .map(|(span, after, unknown, sensitive)| Block {
            kind: kind.into(),
            labels: vec![ty.to_owned(), name.to_owned()],
            span: *span,
            body: body_of(planned(
                *after,
                Marks {
                    unknown: *unknown,
                    sensitive: *sensitive,
                    config,
                    configured: config.is_some(),
                },
                *span,
            )),
        })
        .collect()
}

/// `variable "x" { default = ... }` or `output "x" { value = ... }`, labelled by `entry`.
fn one_argument_block(
    kind: &str,
    entry: &crate::read::Entry,
    name: &str,
    arg: Option<(Span, Expr)>,
) -> Block {
    let mut body = Body {
        json: true,
        ..Body::default()
    };
    if let Some((name_span, expr)) = arg {
        body.attributes.push(Attribute {
            name: name.into(),
            name_span,
            expr,
        });
    }
    Block {
        kind: kind.into(),
        labels: vec![entry.key.clone()],
        span: entry.key_span,
        body,
    }
}

impl<'a> Builder<'a> {
    /// The one body of module `index` (see `module`).
    fn body_mut(&mut self, index: usize) -> Option<&mut Arc<Body>> {
        self.project
            .modules
            .get_mut(index)
            .and_then(|m| m.files.first_mut())
            .map(|(_, body)| body)
    }

    /// Adds the module whose configuration is `config` at address prefix `prefix`; its index.
    fn module(&mut self, config: Option<&'a Node>, prefix: &str) -> usize {
        let index = self.project.modules.len();
        self.project.modules.push(Module {
            files: vec![(self.file.clone(), Arc::new(Body::default()))],
        });
        let mut body = Body {
            json: true,
            ..Body::default()
        };
        let Some(config) = config else {
            if let Some(b) = self.body_mut(index) {
                *b = Arc::new(body);
            }
            return index;
        };
        for r in config.get("resources").map(Node::items).unwrap_or_default() {
            let Some(addr) = r.get("address").and_then(Node::as_str) else {
                continue;
            };
            let full = format!("{prefix}{addr}");
            let exprs = r.get("expressions");
            let data = r.get("mode").and_then(Node::as_str) == Some("data");
            let planned = self.changes.get(&full).or_else(|| {
                if data {
                    self.read_data.get(&full)
                } else {
                    None
                }
            });
            match planned {
                Some(inst) => body.blocks.extend(instance_blocks(addr, inst, exprs)),
                None if data => {
                    let span = r.entry("address").map(|e| e.key_span).unwrap_or_default();
                    body.blocks
                        .extend(instance_blocks(addr, &[(span, None, None, None)], exprs));
                }
                // Planned to have no instance (count = 0), or not planned at all.
                None => {}
            }
        }
        for v in config
            .get("variables")
            .map(Node::entries)
            .unwrap_or_default()
        {
            let default = v
                .value
                .entry("default")
                .map(|d| (d.key_span, literal(&d.value)));
            let mut block = one_argument_block("variable", v, "default", default);
            if let Some(sensitive) = v.value.entry("sensitive") {
                block.body.attributes.push(Attribute {
                    name: "sensitive".into(),
                    name_span: sensitive.key_span,
                    expr: literal(&sensitive.value),
                });
            }
            body.blocks.push(block);
        }
        for o in config.get("outputs").map(Node::entries).unwrap_or_default() {
            let value = o
                .value
                .entry("expression")
                .map(|e| (e.key_span, config_expr(&e.value)));
            body.blocks
                .push(one_argument_block("output", o, "value", value));
        }
        for call in config
            .get("module_calls")
            .map(Node::entries)
            .unwrap_or_default()
        {
            let mut cb = call
                .value
                .get("expressions")
                .map(config_body)
                .unwrap_or_default();
            cb.json = true;
            body.blocks.push(Block {
                kind: "module".into(),
                labels: vec![call.key.clone()],
                span: call.key_span,
                body: cb,
            });
            let child = self.module(
                call.value.get("module"),
                &format!("{prefix}module.{}.", call.key),
            );
            self.project.calls.insert((index, call.key.clone()), child);
        }
        if let Some(b) = self.body_mut(index) {
            *b = Arc::new(body);
        }
        index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_are_stripped() {
        assert_eq!(
            strip_keys("module.a[\"x\"].aws_kms_key.k[0]"),
            "module.a.aws_kms_key.k"
        );
        assert_eq!(strip_keys("aws_s3_bucket.b[\"a[1]\"]"), "aws_s3_bucket.b");
    }
}
