//! Evaluation of expressions: references, operators, function calls, within a work budget.

use super::*;

impl<'p> Eval<'p> {
    /// A value made or copied, if the budget pays for it (see `budget.rs`).
    pub(super) fn charged(&self, v: V) -> V {
        if self.budget.charge(&v) {
            v
        } else {
            V::Unknown("the configuration is too large to evaluate".into())
        }
    }

    pub(super) fn tick(&self) -> bool {
        self.budget.spend(1)
    }

    /// Follows a reference one level deeper; `None` when too deep (a cycle).
    pub(super) fn deeper<T>(&self, f: impl FnOnce() -> T) -> Option<T> {
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
    pub(super) fn once(
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

    pub(super) fn eval(&self, e: &Expr, cx: &Cx, mut tr: Trace) -> V {
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

    pub(super) fn object(&self, items: &[ObjectItem], cx: &Cx) -> V {
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

    pub(super) fn variable(&self, name: &str, cx: &Cx) -> V {
        match cx.binds.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => self.charged(v.clone()),
            None => match name {
                "each" | "count" | "self" => V::Unknown(format!("{name} outside its block")),
                _ => V::Unknown(format!("{name} is not a value")),
            },
        }
    }

    pub(super) fn push(tr: &mut Trace, step: String) {
        if let Some(t) = tr.as_deref_mut() {
            t.push(step);
        }
    }

    pub(super) fn traverse(&self, base: &Expr, ops: &[Op], cx: &Cx, mut tr: Trace) -> V {
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
    pub(super) fn apply(&self, mut v: V, ops: &[Op], cx: &Cx) -> V {
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

    /// `aws_kms_key.k...` / `data.aws_kms_alias.a...`: an argument written in the block is
    /// evaluated; anything else is known only after apply.
    pub(super) fn resource_ref(&self, cx: &Cx, ty: &str, name: &str, mut ops: &[Op]) -> V {
        let id = format!("{}{ty}.{name}", self.insts[cx.inst].prefix);
        let Some(&(inst, decl)) = self.decls.get(&id) else {
            return V::Unknown(format!("{ty}.{name} is not declared in this module"));
        };
        // `r[*].arn` (and `r.*.arn`) is a list with one element per instance: `one(...)`,
        // `concat(...)` and `element(...)` over it are how modules pick an optional resource.
        if let Some(Op::Splat) = ops.first() {
            let rcx = Cx {
                inst,
                binds: Vec::new(),
            };
            let (made, unknown) = self.instances(decl.block, &rcx);
            if let Some(why) = unknown {
                return V::Unknown(format!("{id}[*]: {why}"));
            }
            let one = self.resource_ref(cx, ty, name, &ops[1..]);
            return V::List(vec![one; made.len()]);
        }
        // Instance selection: one model object stands for every instance.
        while let Some(Op::Index(_)) = ops.first() {
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

    pub(super) fn binary(&self, op: BinOp, l: &Expr, r: &Expr, cx: &Cx) -> V {
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
    pub(super) fn binary_values(op: BinOp, a: V, b: V) -> V {
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

    pub(super) fn call(&self, name: &str, args: &[Expr], cx: &Cx, mut tr: Trace) -> V {
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
}
