//! Modules and instances: the modules a root calls, the instances of each resource (`count`,
//! `for_each`), and what variables and module outputs are in each.

use super::*;

impl<'p> Eval<'p> {
    /// The declarations of every module, and the tree of module instances.
    pub(super) fn new(project: &'p Project) -> (Self, Vec<Problem>) {
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
    pub(super) fn instantiate_modules(&mut self) {
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

    pub(super) fn index_declarations(&mut self) {
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
    pub(super) fn instances(
        &self,
        block: &Block,
        cx: &Cx,
    ) -> (Vec<(Option<V>, Binds)>, Option<String>) {
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

    pub(super) fn listed_instances(&self, block: &Block, cx: &Cx) -> Vec<(Option<V>, Binds)> {
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

    /// Where the value of `var.<name>` comes from in module instance `inst`: the root's variable
    /// files, the calling module's argument, the declared default, or nowhere.
    pub(super) fn var_source(&self, inst: usize, name: &str) -> VarSource<'p> {
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
    pub(super) fn var_sensitive(&self, inst: usize, name: &str) -> bool {
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

    pub(super) fn var_value(&self, inst: usize, name: &str, mut tr: Trace) -> V {
        let own = Cx {
            inst,
            binds: Vec::new(),
        };
        let described = |v: &V, what: &str| match v {
            V::Str(s) => format!("{what} \"{s}\""),
            V::Null => format!("{what} null"),
            _ => what.to_owned(),
        };
        let v = match self.var_source(inst, name) {
            VarSource::Tfvars(file, expr) => {
                let v = self.eval(expr, &own, None);
                let short = file.rsplit('/').next().unwrap_or(file);
                Self::push(&mut tr, described(&v, short));
                v
            }
            VarSource::Argument(call, expr, pcx) => {
                Self::push(&mut tr, format!("argument of module.{call}"));
                self.eval(expr, &pcx, tr.as_deref_mut())
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
        };
        let Some(decl) = self.defs[self.insts[inst].def].variables.get(name) else {
            return v;
        };
        let body = &decl.block.body;
        // `nullable = false`: null given by a caller or a tfvars file means the default.
        let v = match (&v, body.attr("nullable"), body.attr("default")) {
            (V::Null, Some(n), Some(d)) if self.eval(&n.expr, &own, None) == V::Bool(false) => {
                let v = self.eval(&d.expr, &own, None);
                Self::push(
                    &mut tr,
                    described(&v, "null, so (nullable = false) default"),
                );
                v
            }
            _ => v,
        };
        match body.attr("type") {
            Some(ty) => self.typed(v, &ty.expr, &own),
            None => v,
        }
    }

    pub(super) fn module_output(&self, cx: &Cx, ops: &[Op], mut tr: Trace) -> V {
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
}
