//! Type constraints of variables. Terraform converts every value given to a variable (a tfvars
//! value, a module argument or the default) to the variable's `type`: an attribute an object
//! type declares `optional(type, default)` that the value leaves out, or sets to null, gets
//! the default (null without one), attributes the type does not declare are dropped, and
//! numbers and bools given for a string become text. Public modules take most settings as
//! objects with optional attributes, so a key written only as such a default is still found.

use super::*;

impl<'p> Eval<'p> {
    /// `v` converted to the type constraint `ty`, as far as both are known. A type that is
    /// not understood leaves the value as it is.
    pub(super) fn typed(&self, v: V, ty: &Expr, cx: &Cx) -> V {
        if let ExprKind::Str(text) = &ty.kind {
            // JSON syntax writes the type as a string.
            let parsed = crate::read::hcl::expr_in_json(text, ty.span);
            if matches!(parsed.kind, ExprKind::Str(_)) {
                return v;
            }
            return self.typed(v, &parsed, cx);
        }
        if let V::Choice(options) = v {
            return V::Choice(options.into_iter().map(|o| self.typed(o, ty, cx)).collect());
        }
        match (&ty.kind, v) {
            (ExprKind::Var(name), v) => primitive(name, v),
            (ExprKind::Call(f, args), v) => match (f.as_str(), args.as_slice(), v) {
                ("list" | "set", [elem], V::List(items)) => {
                    V::List(items.into_iter().map(|i| self.typed(i, elem, cx)).collect())
                }
                ("map", [elem], V::Obj(items)) => V::Obj(
                    items
                        .into_iter()
                        .map(|(k, i)| (k, self.typed(i, elem, cx)))
                        .collect(),
                ),
                ("tuple", [types], V::List(items)) => match &types.kind {
                    ExprKind::Tuple(types) if types.len() == items.len() => V::List(
                        items
                            .into_iter()
                            .zip(types)
                            .map(|(i, t)| self.typed(i, t, cx))
                            .collect(),
                    ),
                    _ => V::List(items),
                },
                ("object", [attrs], V::Obj(items)) => match &attrs.kind {
                    ExprKind::Object(attrs) => self.object_typed(items, attrs, cx),
                    _ => V::Obj(items),
                },
                (_, _, v) => v,
            },
            (_, v) => v,
        }
    }

    fn object_typed(&self, items: Vec<(String, V)>, attrs: &[ObjectItem], cx: &Cx) -> V {
        let mut declared = Vec::with_capacity(attrs.len());
        for a in attrs {
            let ObjectKey::Name(name) = &a.key else {
                // A type that is not written as Terraform writes types: leave the value be.
                return V::Obj(items);
            };
            declared.push((name, &a.value));
        }
        let mut out = Vec::with_capacity(declared.len());
        for (name, ty) in declared {
            let given = items
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone());
            let (ty, optional, default) = match &ty.kind {
                ExprKind::Call(f, args) if f == "optional" => match args.as_slice() {
                    [t] => (t, true, None),
                    [t, d] => (t, true, Some(d)),
                    _ => return V::Obj(items),
                },
                _ => (ty, false, None),
            };
            let v = match (given, default) {
                (Some(V::Null) | None, Some(d)) => self.eval(d, cx, None),
                (Some(v), _) => v,
                (None, None) if optional => V::Null,
                // Terraform refuses a value without a required attribute: leave it missing.
                (None, None) => continue,
            };
            out.push((name.clone(), self.typed(v, ty, cx)));
        }
        V::Obj(out)
    }
}

/// A primitive type's conversion: numbers and bools become text for `string`, and text that
/// reads as one becomes a number or bool.
fn primitive(name: &str, v: V) -> V {
    match (name, v) {
        ("string", V::Num(n)) => V::Str(num_text(n)),
        ("string", V::Bool(b)) => V::Str(b.to_string()),
        ("bool", V::Str(s)) if s == "true" || s == "false" => V::Bool(s == "true"),
        ("number", V::Str(s)) => match s.parse::<f64>() {
            Ok(n) if n.is_finite() => V::Num(n),
            _ => V::Str(s),
        },
        (_, v) => v,
    }
}
