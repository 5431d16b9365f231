//! Resources to the model: each resource instance read through its body (native blocks,
//! JSON objects, `dynamic` blocks) into a function, mapping, key, alias, log group or setting.

use super::*;

impl<'p> Eval<'p> {
    pub(super) fn build(&self) -> Inventory {
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
}

/// A body to read arguments and nested blocks from.
#[derive(Clone, Copy)]
pub(super) enum BodyRef<'p> {
    Body(&'p Body),
    Object(&'p [ObjectItem]),
}

impl<'p> BodyRef<'p> {
    /// An argument: its name's span and expression.
    pub(super) fn attr(&self, name: &str) -> Option<(Span, &'p Expr)> {
        match self {
            BodyRef::Body(b) => b.attr(name).map(|a| (a.name_span, &a.expr)),
            BodyRef::Object(items) => items
                .iter()
                .find(|i| matches!(&i.key, ObjectKey::Name(n) if n == name))
                .map(|i| (i.key_span, &i.value)),
        }
    }

    pub(super) fn json(&self) -> bool {
        match self {
            BodyRef::Body(b) => b.json,
            BodyRef::Object(_) => true,
        }
    }
}

/// One occurrence of a nested block.
pub(super) struct Occurrence<'p> {
    pub(super) header: Span,
    pub(super) body: BodyRef<'p>,
    pub(super) cx: Cx,
    /// From a `dynamic` block whose `for_each` is not known: may not exist.
    pub(super) maybe: bool,
}

/// One resource instance being turned into a model object.
pub(super) struct Res<'e, 'p> {
    pub(super) ev: &'e Eval<'p>,
    pub(super) decl: Decl<'p>,
    pub(super) cx: &'e Cx,
    pub(super) pointer: String,
}

impl<'p> Res<'_, 'p> {
    pub(super) fn root(&self) -> BodyRef<'p> {
        BodyRef::Body(&self.decl.block.body)
    }

    pub(super) fn loc(&self, path: &str, span: Span) -> Loc {
        Loc {
            file: self.decl.file.clone(),
            pointer: format!("{}{path}", self.pointer),
            span,
        }
    }

    pub(super) fn origin(&self, id: &str, logical: &str, ty: &str) -> Origin {
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
    pub(super) fn nested(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Vec<Occurrence<'p>> {
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
            // `"dynamic": {"<name>": {"for_each": ..., "content": {...}}}`: each level an
            // object, or a list of objects.
            for dynamic in body
                .attr("dynamic")
                .map(|(_, e)| objects(e))
                .unwrap_or_default()
            {
                for item in dynamic
                    .iter()
                    .filter(|i| matches!(&i.key, ObjectKey::Name(n) if n == name))
                {
                    for spec in objects(&item.value) {
                        let spec = BodyRef::Object(spec);
                        let Some((_, content)) = spec.attr("content") else {
                            continue;
                        };
                        let iterator = spec
                            .attr("iterator")
                            .and_then(|(_, e)| self.ev.eval(e, cx, None).text())
                            .unwrap_or_else(|| name.to_owned());
                        for body in objects(content) {
                            self.dynamic(
                                item.key_span,
                                spec.attr("for_each").map(|(_, e)| e),
                                &iterator,
                                BodyRef::Object(body),
                                cx,
                                &mut out,
                            );
                        }
                    }
                }
            }
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
                self.dynamic(
                    block.span,
                    block.body.attr("for_each").map(|a| &a.expr),
                    &iterator,
                    BodyRef::Body(&content.body),
                    cx,
                    &mut out,
                );
            }
        }
        out
    }

    /// The occurrences a `dynamic` block makes: one per element of `for_each`, with the
    /// iterator bound, or one that may not exist where `for_each` is not known.
    fn dynamic(
        &self,
        header: Span,
        for_each: Option<&Expr>,
        iterator: &str,
        content: BodyRef<'p>,
        cx: &Cx,
        out: &mut Vec<Occurrence<'p>>,
    ) {
        let for_each = for_each
            .map(|e| self.ev.eval(e, cx, None))
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
                        header,
                        body: content,
                        cx: cx.with(
                            iterator,
                            V::Obj(vec![("key".into(), k), ("value".into(), v)]),
                        ),
                        maybe: false,
                    });
                }
            }
            _ => out.push(Occurrence {
                header,
                body: content,
                cx: cx.with(
                    iterator,
                    V::Obj(vec![
                        ("key".into(), V::Unknown(format!("{iterator}.key"))),
                        ("value".into(), V::Unknown(format!("{iterator}.value"))),
                    ]),
                ),
                maybe: true,
            }),
        }
    }

    pub(super) fn value(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Option<V> {
        body.attr(name).map(|(_, e)| self.ev.eval(e, cx, None))
    }

    pub(super) fn text(&self, body: BodyRef<'p>, cx: &Cx, name: &str) -> Option<String> {
        match self.value(body, cx, name)? {
            V::Str(s) => Some(s),
            other => other.text(),
        }
    }

    pub(super) fn tri(&self, name: &str, default: Tri) -> Tri {
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
    pub(super) fn key(
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

    pub(super) fn mark(&self, origin: &mut Origin, name: &str, path: &str) {
        if let Some((span, _)) = self.root().attr(name) {
            origin
                .locations
                .insert(path.into(), self.loc(&format!("/{name}"), span));
        }
    }

    pub(super) fn function(&self, mut origin: Origin) -> Function {
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
    pub(super) fn mapping(&self, mut origin: Origin) -> (EventSourceMapping, Option<String>) {
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

    pub(super) fn kms_key(&self, mut origin: Origin, ty: &str) -> KmsKey {
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

    pub(super) fn alias(&self, origin: Origin) -> KmsAlias {
        let root = self.root();
        let target = root.attr("target_key_id").map(|(_, e)| e);
        KmsAlias {
            origin,
            name: self.text(root, self.cx, "name"),
            target_key: self.ev.key_ref(target, self.cx, "target_key_id").key,
        }
    }

    pub(super) fn log_group(&self, mut origin: Origin) -> LogGroup {
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
    pub(super) fn xray(&self, mut origin: Origin) -> Option<XrayEncryption> {
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
    pub(super) fn key_policy(&self) -> Option<KeyPolicy> {
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
pub(super) struct KeyPolicy {
    pub(super) key: String,
    pub(super) at: Loc,
    /// The document as written, where it is known.
    pub(super) document: Option<serde_json::Value>,
    pub(super) statements: policy::Policy,
}

/// A function's `role`: the ARN where it is known, the role resource where it names one.
pub(super) fn role_ref(v: V) -> RoleRef {
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
pub(super) fn policy_json(v: V) -> Option<serde_json::Value> {
    match v {
        V::Str(s) => Some(serde_json::from_str(&s).unwrap_or(serde_json::Value::String(s))),
        other => other.to_json(),
    }
}

/// The objects a JSON-syntax block level holds: an object, or each object of a list.
fn objects(e: &Expr) -> Vec<&[ObjectItem]> {
    match &e.kind {
        ExprKind::Object(items) => vec![items.as_slice()],
        ExprKind::Tuple(list) => list
            .iter()
            .filter_map(|x| match &x.kind {
                ExprKind::Object(items) => Some(items.as_slice()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
