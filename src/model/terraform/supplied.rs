//! How a value is supplied: written in the configuration, a variable given at plan time, a
//! secret read by a data source, or computed. Environment variables are classified this way
//! (see [`ValueSource`]); the value itself comes from the evaluator.
//!
//! Variables, locals and module arguments are followed to the expression that gives their
//! value, so `A = var.a` is a literal when `var.a` has a default (or a value in a variable
//! file, or a literal argument from the calling module), a parameter when nothing gives it a
//! value, and a secret parameter when a variable on the way is `sensitive`.

use super::super::{EnvVar, FileId, Loc, ValueSource};
use super::{Cx, Eval, V, VarSource, attr_path, pointer_of};
use crate::read::hcl::{Expr, ExprKind, ObjectKey, Op, TemplatePart};

/// Data sources whose value attributes hold a secret read at plan or apply time.
const SECRET_DATA: &[(&str, &[&str])] = &[
    (
        "aws_secretsmanager_secret_version",
        &["secret_string", "secret_binary", "secret_string_wo"],
    ),
    ("aws_ssm_parameter", &["value", "insecure_value"]),
];

/// What the parts of an expression are supplied by.
#[derive(Debug, Default, Clone, Copy)]
struct Supplied {
    /// A `sensitive` variable or value.
    secret: bool,
    /// A secret read by a data source.
    dynamic: bool,
    /// A variable nothing gives a value.
    parameter: bool,
    /// A resource attribute, a module output, an iterator, a function of unknown input...
    computed: bool,
}

/// The variable: literal only where every part is and the value is a known string.
fn env_var(s: Supplied, value: &V) -> EnvVar {
    match (s.source(), value.text()) {
        (ValueSource::Literal, Some(text)) => EnvVar {
            value: Some(text),
            source: ValueSource::Literal,
        },
        // Literal parts that do not make a string (an object, a failed function).
        (ValueSource::Literal, None) => EnvVar {
            value: None,
            source: ValueSource::Expression,
        },
        (source, _) => EnvVar {
            value: None,
            source,
        },
    }
}

impl Supplied {
    fn source(self) -> ValueSource {
        if self.secret {
            ValueSource::SecretParameter
        } else if self.dynamic {
            ValueSource::DynamicReference
        } else if self.parameter {
            ValueSource::Parameter
        } else if self.computed {
            ValueSource::Expression
        } else {
            ValueSource::Literal
        }
    }
}

/// One entry of a map written as an object: its value's expression and where to evaluate it.
struct Entry<'p> {
    key: String,
    expr: &'p Expr,
    cx: Cx,
    /// What the way to the object contributed (a sensitive variable holding the map).
    inherited: Supplied,
    /// Where the entry is written.
    at: Loc,
}

/// Where an expression is written: its file and a pointer to it.
#[derive(Clone)]
pub(super) struct Place<'p> {
    pub file: &'p FileId,
    pub pointer: String,
}

impl Place<'_> {
    fn under(&self, name: &str) -> Self {
        Place {
            file: self.file,
            pointer: format!(
                "{}/{}",
                self.pointer,
                name.replace('~', "~0").replace('/', "~1")
            ),
        }
    }
}

impl<'p> Eval<'p> {
    /// The environment variables of the map `expr` (written at `place`) evaluated to `items`:
    /// each one's source from its own expression where the map is written as an object, else
    /// from the whole, and where the entry is written when it is. The value is kept only where
    /// it is literal.
    pub(super) fn env_vars(
        &self,
        expr: &'p Expr,
        cx: &Cx,
        place: Place<'p>,
        items: Vec<(String, V)>,
    ) -> Vec<(String, EnvVar, Option<Loc>)> {
        let entries = self.map_entries(expr, cx, place, Supplied::default());
        let mut whole = None;
        items
            .into_iter()
            .map(|(key, value)| {
                let entry = entries
                    .as_ref()
                    .and_then(|es| es.iter().find(|e| e.key == key));
                let s = match entry {
                    Some(e) => {
                        let mut s = e.inherited;
                        self.supplied(e.expr, &e.cx, &mut s);
                        s
                    }
                    None => *whole.get_or_insert_with(|| {
                        let mut s = Supplied::default();
                        self.supplied(expr, cx, &mut s);
                        s
                    }),
                };
                let at = entry.map(|e| e.at.clone());
                (key, env_var(s, &value), at)
            })
            .collect()
    }

    /// The entries of a map expression that is written as an object, directly or behind
    /// variables, locals, `merge`, `sensitive` and known conditions. `None` where it is not.
    fn map_entries(
        &self,
        expr: &'p Expr,
        cx: &Cx,
        place: Place<'p>,
        inherited: Supplied,
    ) -> Option<Vec<Entry<'p>>> {
        self.deeper(|| self.map_entries_in(expr, cx, place, inherited))
            .flatten()
    }

    fn map_entries_in(
        &self,
        expr: &'p Expr,
        cx: &Cx,
        place: Place<'p>,
        mut inherited: Supplied,
    ) -> Option<Vec<Entry<'p>>> {
        match &expr.kind {
            ExprKind::Object(items) => items
                .iter()
                .map(|item| {
                    let key = match &item.key {
                        ObjectKey::Name(n) => n.clone(),
                        ObjectKey::Expr(k) => self.eval(k, cx, None).text()?,
                    };
                    let at = place.under(&key);
                    Some(Entry {
                        key,
                        expr: &item.value,
                        cx: cx.clone(),
                        inherited,
                        at: Loc {
                            file: at.file.clone(),
                            pointer: at.pointer,
                            span: item.key_span,
                        },
                    })
                })
                .collect(),
            ExprKind::Template(parts) => match parts.as_slice() {
                [TemplatePart::Interp(inner)] => self.map_entries(inner, cx, place, inherited),
                _ => None,
            },
            ExprKind::Cond(c, a, b) => match self.eval(c, cx, None) {
                V::Bool(true) => self.map_entries(a, cx, place, inherited),
                V::Bool(false) => self.map_entries(b, cx, place, inherited),
                _ => None,
            },
            ExprKind::Call(name, args) if name == "merge" => {
                let mut out: Vec<Entry> = Vec::new();
                for a in args {
                    for e in self.map_entries(a, cx, place.clone(), inherited)? {
                        out.retain(|o| o.key != e.key);
                        out.push(e);
                    }
                }
                Some(out)
            }
            ExprKind::Call(name, args) if name == "sensitive" || name == "tomap" => {
                inherited.secret |= name == "sensitive";
                self.map_entries(args.first()?, cx, place, inherited)
            }
            ExprKind::Traverse(base, ops) if ops.len() == 1 => {
                let (ExprKind::Var(root), Op::Attr(name)) = (&base.kind, &ops[0]) else {
                    return None;
                };
                if cx.binds.iter().any(|(n, _)| n == root) {
                    return None;
                }
                match root.as_str() {
                    "var" => {
                        inherited.secret |= self.var_sensitive(cx.inst, name);
                        let (e, vcx, place) = self.var_expr(cx.inst, name)?;
                        self.map_entries(e, &vcx, place, inherited)
                    }
                    "local" => {
                        let (e, lcx, place) = self.local_expr(cx.inst, name)?;
                        self.map_entries(e, &lcx, place, inherited)
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The expression giving `var.<name>` a value, where to evaluate it, and where it is
    /// written.
    pub(super) fn var_expr(&self, inst: usize, name: &str) -> Option<(&'p Expr, Cx, Place<'p>)> {
        let own = Cx {
            inst,
            binds: Vec::new(),
        };
        match self.var_source(inst, name) {
            VarSource::Tfvars(file, e) => Some((
                e,
                own,
                Place {
                    file,
                    pointer: String::new(),
                }
                .under(name),
            )),
            VarSource::Default(e) => {
                let decl = self.defs[self.insts[inst].def].variables.get(name)?;
                let place = Place {
                    file: decl.file,
                    pointer: pointer_of(decl.block),
                };
                Some((e, own, place.under("default")))
            }
            VarSource::Argument(_, e, pcx) => {
                let (_, call, _) = self.insts[inst].parent.as_ref()?;
                let place = Place {
                    file: call.file,
                    pointer: pointer_of(call.block),
                };
                Some((e, pcx, place.under(name)))
            }
            VarSource::Missing | VarSource::Undeclared => None,
        }
    }

    pub(super) fn local_expr(&self, inst: usize, name: &str) -> Option<(&'p Expr, Cx, Place<'p>)> {
        let (file, a) = self.defs[self.insts[inst].def].locals.get(name)?;
        let place = Place {
            file,
            pointer: "/locals".into(),
        };
        Some((
            &a.expr,
            Cx {
                inst,
                binds: Vec::new(),
            },
            place.under(name),
        ))
    }

    /// Adds what the parts of `expr` are supplied by to `s`.
    fn supplied(&self, expr: &Expr, cx: &Cx, s: &mut Supplied) {
        if self.deeper(|| self.supplied_in(expr, cx, s)).is_none() {
            s.computed = true;
        }
    }

    fn supplied_in(&self, expr: &Expr, cx: &Cx, s: &mut Supplied) {
        match &expr.kind {
            ExprKind::Null | ExprKind::Bool(_) | ExprKind::Number(_) | ExprKind::Str(_) => {}
            ExprKind::Template(parts) => {
                for p in parts {
                    match p {
                        TemplatePart::Lit(_) => {}
                        TemplatePart::Interp(x) => self.supplied(x, cx, s),
                        TemplatePart::Directive => s.computed = true,
                    }
                }
            }
            ExprKind::Tuple(items) => items.iter().for_each(|x| self.supplied(x, cx, s)),
            ExprKind::Object(items) => {
                for item in items {
                    if let ObjectKey::Expr(k) = &item.key {
                        self.supplied(k, cx, s);
                    }
                    self.supplied(&item.value, cx, s);
                }
            }
            ExprKind::Call(name, args) => {
                s.secret |= name == "sensitive";
                args.iter().for_each(|x| self.supplied(x, cx, s));
            }
            ExprKind::Cond(c, a, b) => match self.eval(c, cx, None) {
                V::Bool(true) => self.supplied(a, cx, s),
                V::Bool(false) => self.supplied(b, cx, s),
                _ => {
                    self.supplied(c, cx, s);
                    self.supplied(a, cx, s);
                    self.supplied(b, cx, s);
                }
            },
            ExprKind::Binary(_, l, r) => {
                self.supplied(l, cx, s);
                self.supplied(r, cx, s);
            }
            ExprKind::Unary(_, x) => self.supplied(x, cx, s),
            ExprKind::Traverse(base, ops) => self.supplied_reference(base, ops, cx, s),
            ExprKind::Var(_) | ExprKind::For(_) | ExprKind::Unknown(_) => s.computed = true,
        }
    }

    fn supplied_reference(&self, base: &Expr, ops: &[Op], cx: &Cx, s: &mut Supplied) {
        let attr = |i: usize| match ops.get(i) {
            Some(Op::Attr(a)) => Some(a.as_str()),
            _ => None,
        };
        let ExprKind::Var(root) = &base.kind else {
            return self.supplied(base, cx, s);
        };
        if cx.binds.iter().any(|(n, _)| n == root) {
            s.computed = true;
            return;
        }
        match (root.as_str(), attr(0)) {
            ("var", Some(name)) => {
                s.secret |= self.var_sensitive(cx.inst, name);
                match self.var_expr(cx.inst, name) {
                    Some((e, vcx, _)) => self.supplied(e, &vcx, s),
                    None => match self.var_source(cx.inst, name) {
                        VarSource::Missing => s.parameter = true,
                        _ => s.computed = true,
                    },
                }
            }
            ("local", Some(name)) => match self.local_expr(cx.inst, name) {
                Some((e, lcx, _)) => self.supplied(e, &lcx, s),
                None => s.computed = true,
            },
            ("data", Some(ty)) => {
                let secret = SECRET_DATA.iter().any(|(t, attrs)| {
                    *t == ty && attr_path(ops).get(2).is_some_and(|a| attrs.contains(a))
                });
                if secret {
                    s.dynamic = true;
                } else {
                    s.computed = true;
                }
            }
            _ => s.computed = true,
        }
    }
}
