//! Key policies into normalised statements (see [`PolicyStatement`]): `jsonencode({...})`,
//! JSON text (heredocs and literals, with interpolated references), and
//! `data.aws_iam_policy_document` blocks, including their source and override documents.
//!
//! Principals are kept as text: references as `${address.attr}`, an account id from
//! `data.aws_caller_identity` as `${AWS::AccountId}` (what the rules know as the account), parts
//! not known as `${?}`. Roles referred to (`aws_iam_role`, `data.aws_iam_role`) are listed by id.

use super::super::PolicyStatement;
use super::{Cx, DATA_IAM_ROLE, Eval, IAM_ROLE, Res, Target, V, pointer_of};
use crate::model::tfplan::COMPUTED;
use crate::read::hcl::{Expr, ExprKind, Op};

const POLICY_DOCUMENT: &str = "data.aws_iam_policy_document";
const CALLER_IDENTITY: &str = "data.aws_caller_identity";

/// What a key's policy is: `default` (none given), `declared` with its statements, or
/// `unknown`.
pub(super) type Policy = (&'static str, Vec<PolicyStatement>);

/// Statements added to a document: those with a `sid` replace earlier ones of that `sid`.
fn add(more: Vec<PolicyStatement>, out: &mut Vec<PolicyStatement>) {
    for st in more {
        if st.sid.as_deref().is_some_and(|s| !s.is_empty()) {
            out.retain(|o| o.sid != st.sid);
        }
        out.push(st);
    }
}

/// A reference as principal text.
fn ref_text(t: &Target) -> String {
    match (t.ty.as_str(), t.attr.as_deref()) {
        (CALLER_IDENTITY, Some("account_id" | "id")) => "${AWS::AccountId}".into(),
        (_, Some(attr)) => format!("${{{}.{attr}}}", t.id),
        (_, None) => format!("${{{}}}", t.id),
    }
}

fn is_role(t: &Target) -> bool {
    matches!(t.ty.as_str(), IAM_ROLE | DATA_IAM_ROLE)
}

/// The statements of a policy document (an object), `None` where its shape is not known.
/// `refs` are the references a document parsed from text had in it (as `${id}`).
fn statements_of(doc: &V, refs: &[Target]) -> Option<Vec<PolicyStatement>> {
    let list = match doc.get("Statement")? {
        V::List(items) => items.iter().collect(),
        one @ V::Obj(_) => vec![one],
        _ => return None,
    };
    list.into_iter()
        .map(|st| {
            let V::Obj(_) = st else { return None };
            let mut roles = Vec::new();
            let principal = st.get("Principal");
            let aws = principal.and_then(|p| p.get("AWS"));
            let aws_principals = strings(aws, refs, &mut roles);
            let any_principal = matches!(principal, Some(V::Str(s)) if s == "*")
                || aws_principals.iter().any(|p| p == "*");
            let service = principal.and_then(|p| p.get("Service"));
            let condition_keys = match st.get("Condition") {
                Some(V::Obj(tests)) => tests
                    .iter()
                    .flat_map(|(_, keys)| match keys {
                        V::Obj(k) => k.iter().map(|(k, _)| k.to_ascii_lowercase()).collect(),
                        _ => Vec::new(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            roles.sort();
            roles.dedup();
            Some(PolicyStatement {
                sid: st.get("Sid").and_then(V::text),
                effect: st.get("Effect").and_then(V::text).unwrap_or_default(),
                any_principal,
                aws_principals,
                service_principals: strings(service, refs, &mut Vec::new()),
                principal_resources: roles,
                actions: strings(st.get("Action"), refs, &mut Vec::new()),
                condition_keys,
            })
        })
        .collect()
}

/// A string or list of strings as text; roles referred to are added to `roles`.
fn strings(v: Option<&V>, refs: &[Target], roles: &mut Vec<String>) -> Vec<String> {
    let items: Vec<&V> = match v {
        None | Some(V::Null) => Vec::new(),
        Some(V::List(items)) => items.iter().collect(),
        Some(one) => vec![one],
    };
    items
        .into_iter()
        .map(|item| match item {
            V::Ref(t) => {
                if is_role(t) {
                    roles.push(t.id.clone());
                }
                ref_text(t)
            }
            V::Partial { text, refs: inner } => {
                roles.extend(inner.iter().filter(|t| is_role(t)).map(|t| t.id.clone()));
                text.clone()
            }
            V::Str(s) => {
                // Text parsed from a template: its references are `${id}` in it.
                roles.extend(
                    refs.iter()
                        .filter(|t| is_role(t) && s.contains(&format!("${{{}}}", t.id)))
                        .map(|t| t.id.clone()),
                );
                s.clone()
            }
            other => other.text().unwrap_or_else(|| "${?}".into()),
        })
        .collect()
}

impl<'p> Eval<'p> {
    /// The policy an argument gives (`policy` of `aws_kms_key` or `aws_kms_key_policy`).
    pub(super) fn key_policy(&self, expr: Option<&'p Expr>, cx: &Cx) -> Policy {
        let Some(expr) = expr else {
            return ("default", Vec::new());
        };
        // A plan's key whose configuration sets no policy: the provider applies the default.
        if matches!(&expr.kind, ExprKind::Unknown(why) if why == COMPUTED) {
            return ("default", Vec::new());
        }
        match self.deeper(|| self.policy_statements(expr, cx)).flatten() {
            Some(st) => ("declared", st),
            None => ("unknown", Vec::new()),
        }
    }

    fn policy_statements(&self, expr: &'p Expr, cx: &Cx) -> Option<Vec<PolicyStatement>> {
        match &expr.kind {
            // The object before it becomes text: references keep their attribute.
            ExprKind::Call(name, args) if name == "jsonencode" => {
                statements_of(&self.eval(args.first()?, cx, None), &[])
            }
            ExprKind::Traverse(base, ops) if ops.len() == 1 => {
                let (ExprKind::Var(root), Op::Attr(name)) = (&base.kind, &ops[0]) else {
                    return self.statements_of_value(self.eval(expr, cx, None));
                };
                let followed = match root.as_str() {
                    "var" if !cx.binds.iter().any(|(n, _)| n == root) => {
                        self.var_expr(cx.inst, name).map(|(e, c, _)| (e, c))
                    }
                    "local" if !cx.binds.iter().any(|(n, _)| n == root) => {
                        self.local_expr(cx.inst, name).map(|(e, c, _)| (e, c))
                    }
                    _ => None,
                };
                match followed {
                    Some((e, c)) => self.deeper(|| self.policy_statements(e, &c)).flatten(),
                    None => self.statements_of_value(self.eval(expr, cx, None)),
                }
            }
            _ => self.statements_of_value(self.eval(expr, cx, None)),
        }
    }

    /// A policy value: an object, JSON text (known, or with references in it), or a policy
    /// document data source.
    fn statements_of_value(&self, v: V) -> Option<Vec<PolicyStatement>> {
        match v {
            V::Obj(_) => statements_of(&v, &[]),
            V::Str(text) => {
                let json: serde_json::Value = serde_json::from_str(&text).ok()?;
                statements_of(&V::from_json(&json), &[])
            }
            V::Partial { text, refs } => {
                let json: serde_json::Value = serde_json::from_str(&text).ok()?;
                statements_of(&V::from_json(&json), &refs)
            }
            V::Ref(t) if t.ty == POLICY_DOCUMENT => self.document(&t),
            _ => None,
        }
    }

    /// The statements of a `data.aws_iam_policy_document`: those of its
    /// `source_policy_documents`, its own (replacing those of the same `sid`), then those of
    /// its `override_policy_documents` (likewise).
    fn document(&self, t: &Target) -> Option<Vec<PolicyStatement>> {
        let &(inst, decl) = self.decls.get(&t.id)?;
        let cx = Cx {
            inst,
            binds: Vec::new(),
        };
        let r = Res {
            ev: self,
            decl,
            cx: &cx,
            pointer: pointer_of(decl.block),
        };
        let root = r.root();
        let mut out: Vec<PolicyStatement> = Vec::new();
        let documents = |name: &str| -> Option<Vec<Vec<PolicyStatement>>> {
            match r.value(root, &cx, name) {
                None | Some(V::Null) => Some(Vec::new()),
                Some(V::List(items)) => items
                    .into_iter()
                    .map(|d| self.deeper(|| self.statements_of_value(d)).flatten())
                    .collect(),
                Some(_) => None,
            }
        };
        for d in documents("source_policy_documents")? {
            add(d, &mut out);
        }
        let mut own = Vec::new();
        for occ in r.nested(root, &cx, "statement") {
            if occ.maybe {
                return None;
            }
            let list = |name: &str, roles: &mut Vec<String>| -> Vec<String> {
                let v = r.value(occ.body, &occ.cx, name);
                strings(v.as_ref(), &[], roles)
            };
            let mut roles = Vec::new();
            let mut aws_principals = Vec::new();
            let mut service_principals = Vec::new();
            let mut any_principal = false;
            for p in r.nested(occ.body, &occ.cx, "principals") {
                if p.maybe {
                    return None;
                }
                let ty = r.text(p.body, &p.cx, "type");
                let ids = strings(
                    r.value(p.body, &p.cx, "identifiers").as_ref(),
                    &[],
                    &mut roles,
                );
                any_principal |=
                    matches!(ty.as_deref(), Some("*" | "AWS")) && ids.iter().any(|i| i == "*");
                match ty.as_deref() {
                    Some("AWS") => aws_principals.extend(ids),
                    Some("Service") => service_principals.extend(ids),
                    Some(_) => {}
                    None => return None,
                }
            }
            let condition_keys = r
                .nested(occ.body, &occ.cx, "condition")
                .iter()
                .filter_map(|c| r.text(c.body, &c.cx, "variable"))
                .map(|k| k.to_ascii_lowercase())
                .collect();
            roles.sort();
            roles.dedup();
            own.push(PolicyStatement {
                sid: r.text(occ.body, &occ.cx, "sid"),
                effect: r
                    .text(occ.body, &occ.cx, "effect")
                    .unwrap_or_else(|| "Allow".into()),
                any_principal,
                aws_principals,
                service_principals,
                principal_resources: roles,
                actions: list("actions", &mut Vec::new()),
                condition_keys,
            });
        }
        add(own, &mut out);
        for d in documents("override_policy_documents")? {
            add(d, &mut out);
        }
        Some(out)
    }
}
