//! Which declared `aws_cloudwatch_log_group` a function writes to: the one its
//! `logging_config.log_group` names, else the one named `/aws/lambda/<function name>`, by
//! literal name or written as `"/aws/lambda/${aws_lambda_function.x.function_name}"`.

use super::{Cx, Eval, LAMBDA_FUNCTION, LOG_GROUP, V, VarSource, address, attr_path};
use crate::read::hcl::{Expr, ExprKind, Op, TemplatePart};

/// What a log group's name says, in one instance of the group.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum GroupName {
    /// The name, where parts known only when Terraform runs stand as what gives them (see
    /// [`Eval::symbolic`]): two names of the same text are the same name.
    Name(String),
    /// `/aws/lambda/` and the name of this function (its model id).
    DefaultOf(String),
}

/// A declared log group: its model id and the names its instances have.
pub(super) type Group = (String, Vec<GroupName>);

impl Eval<'_> {
    /// Every declared log group, once per module instance.
    pub(super) fn log_groups(&self) -> &[Group] {
        self.log_groups.get_or_init(|| {
            let mut out = Vec::new();
            for (i, inst) in self.insts.iter().enumerate() {
                for decl in &self.defs[inst.def].resources {
                    if decl.block.kind != "resource"
                        || decl.block.labels.first().map(String::as_str) != Some(LOG_GROUP)
                    {
                        continue;
                    }
                    let base = Cx {
                        inst: i,
                        binds: Vec::new(),
                    };
                    let Some(name) = decl.block.body.attr("name") else {
                        continue;
                    };
                    let names = self
                        .instances(decl.block, &base)
                        .0
                        .into_iter()
                        .flat_map(|(_, binds)| {
                            let cx = Cx { inst: i, binds };
                            let default = self.default_group_of(&name.expr, &cx);
                            let named = self.symbolic(&name.expr, &cx).map(GroupName::Name);
                            default.into_iter().chain(named)
                        })
                        .collect();
                    let id = format!("{}{}", inst.prefix, address(decl.block).unwrap_or_default());
                    out.push((id, names));
                }
            }
            out
        })
    }

    /// A string expression as text where it is known; else with each part that is not known
    /// written as what gives it: `"/aws/lambda/${lower(var.prefix)}-api"`, with `var.prefix`
    /// given no value, is `/aws/lambda/${lower(${var#0.prefix})}-api` (variables named with
    /// their module instance), the same text as the function name `"${lower(var.prefix)}-api"`
    /// gives after `/aws/lambda/`. `None` where a part is neither (a condition not known).
    pub(super) fn symbolic(&self, e: &Expr, cx: &Cx) -> Option<String> {
        self.deeper(|| self.symbolic_in(e, cx)).flatten()
    }

    fn symbolic_in(&self, e: &Expr, cx: &Cx) -> Option<String> {
        let v = self.eval(e, cx, None);
        if let Some(text) = v.text() {
            return Some(text);
        }
        match &e.kind {
            ExprKind::Template(parts) => parts
                .iter()
                .map(|p| match p {
                    TemplatePart::Lit(s) => Some(s.clone()),
                    TemplatePart::Interp(x) => self.symbolic(x, cx),
                    TemplatePart::Directive => None,
                })
                .collect(),
            ExprKind::Call(name, args) if name == "coalesce" => {
                let set = args.iter().find(|a| {
                    !matches!(self.eval(a, cx, None), V::Null)
                        && self.eval(a, cx, None) != V::Str(String::new())
                })?;
                self.symbolic(set, cx)
            }
            ExprKind::Call(name, args) => {
                let args: Option<Vec<String>> = args.iter().map(|a| self.symbolic(a, cx)).collect();
                Some(format!("${{{name}({})}}", args?.join(", ")))
            }
            ExprKind::Traverse(base, ops) => {
                let ExprKind::Var(root) = &base.kind else {
                    return None;
                };
                let attr = |i: usize| match ops.get(i) {
                    Some(Op::Attr(a)) => Some(a.as_str()),
                    _ => None,
                };
                if cx.binds.iter().any(|(n, _)| n == root) {
                    return None;
                }
                match (root.as_str(), attr(0)) {
                    ("var", Some(name)) if ops.len() == 1 => match self.var_source(cx.inst, name) {
                        VarSource::Tfvars(_, x) | VarSource::Default(x) => {
                            let own = Cx {
                                inst: cx.inst,
                                binds: Vec::new(),
                            };
                            self.symbolic(x, &own)
                        }
                        VarSource::Argument(_, x, pcx) => self.symbolic(x, &pcx),
                        VarSource::Missing => Some(format!("${{var#{}.{name}}}", cx.inst)),
                        VarSource::Undeclared => None,
                    },
                    ("local", Some(name)) if ops.len() == 1 => {
                        let (x, lcx, _) = self.local_expr(cx.inst, name)?;
                        self.symbolic(x, &lcx)
                    }
                    // A resource attribute: as written in the resource, else its address.
                    (_, Some(_)) if !matches!(root.as_str(), "var" | "local" | "module") => {
                        let (address, attr) = match (root.as_str(), attr_path(ops).as_slice()) {
                            ("data", [ty, name, attr]) => (format!("data.{ty}.{name}"), *attr),
                            (ty, [name, attr]) => (format!("{ty}.{name}"), *attr),
                            _ => return None,
                        };
                        let id = format!("{}{address}", self.insts[cx.inst].prefix);
                        let written = self.decls.get(&id).and_then(|(inst, decl)| {
                            let a = decl.block.body.attr(attr)?;
                            (!matches!(attr, "count" | "for_each" | "provider")
                                && !matches!(a.expr.kind, ExprKind::Unknown(_)))
                            .then_some((*inst, &a.expr))
                        });
                        match written {
                            Some((inst, x)) => {
                                let rcx = Cx {
                                    inst,
                                    binds: Vec::new(),
                                };
                                self.symbolic(x, &rcx)
                            }
                            None => Some(format!("${{{id}.{attr}}}")),
                        }
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `"/aws/lambda/${aws_lambda_function.x.function_name}"` (or `.id`): that function's
    /// default log group.
    fn default_group_of(&self, name: &Expr, cx: &Cx) -> Option<GroupName> {
        let ExprKind::Template(parts) = &name.kind else {
            return None;
        };
        let [TemplatePart::Lit(prefix), TemplatePart::Interp(x)] = parts.as_slice() else {
            return None;
        };
        if prefix != "/aws/lambda/" {
            return None;
        }
        let function = self.resource_named(x, cx, LAMBDA_FUNCTION, &["function_name", "id"])?;
        Some(GroupName::DefaultOf(function))
    }

    /// The model id of the resource of type `ty` that `expr` names an attribute of
    /// (`aws_cloudwatch_log_group.x.name`), in the module instance of `cx`, where declared.
    pub(super) fn resource_named(
        &self,
        expr: &Expr,
        cx: &Cx,
        ty: &str,
        attrs: &[&str],
    ) -> Option<String> {
        let ExprKind::Traverse(base, ops) = &expr.kind else {
            return None;
        };
        let ExprKind::Var(root) = &base.kind else {
            return None;
        };
        let path = attr_path(ops);
        let [name, attr] = path.as_slice() else {
            return None;
        };
        if root != ty || !attrs.contains(attr) || cx.binds.iter().any(|(n, _)| n == root) {
            return None;
        }
        let id = format!("{}{ty}.{name}", self.insts[cx.inst].prefix);
        self.decls.contains_key(&id).then_some(id)
    }

    /// The declared log group a function writes to. `named` is what its
    /// `logging_config.log_group` says (expression and context), `log_group` the name it
    /// writes to as far as known (symbolic), `function` its model id.
    pub(super) fn log_group_of(
        &self,
        named: Option<(&Expr, &Cx)>,
        log_group: Option<&str>,
        function: &str,
    ) -> Option<String> {
        if let Some((expr, cx)) = named {
            if let Some(id) = self.resource_named(expr, cx, LOG_GROUP, &["name", "id", "arn"]) {
                return Some(id);
            }
            if let V::Ref(t) = self.eval(expr, cx, None)
                && t.ty == LOG_GROUP
            {
                return Some(t.id);
            }
        }
        let matching: Vec<&String> = self
            .log_groups()
            .iter()
            .filter(|(_, names)| {
                names.iter().any(|n| match n {
                    GroupName::DefaultOf(f) => named.is_none() && f == function,
                    GroupName::Name(n) => Some(n.as_str()) == log_group,
                })
            })
            .map(|(id, _)| id)
            .collect();
        // Groups of one name in several module instances (one per region): the function's
        // own module's.
        let module = function.rsplit_once(LAMBDA_FUNCTION).map_or("", |(m, _)| m);
        matching
            .iter()
            .find(|id| {
                id.strip_prefix(module)
                    .is_some_and(|rest| !rest.contains("module."))
            })
            .or(matching.first())
            .map(|id| (*id).clone())
    }
}
