//! Key references: what a key argument names, followed through aliases, data sources and
//! literals to a customer managed key, an AWS managed key, or unknown.

use super::*;

impl<'p> Eval<'p> {
    /// Classifies the key an expression names; `label` starts the chain (`kms_key_arn`).
    pub(super) fn key_ref(&self, expr: Option<&Expr>, cx: &Cx, label: &str) -> KeyRef {
        let Some(expr) = expr else {
            return KeyRef::absent(vec![label.to_owned()]);
        };
        let mut chain = vec![label.to_owned()];
        let v = self.eval(expr, cx, Some(&mut chain));
        self.key_from(v, chain, 0)
    }

    pub(super) fn key_from(&self, v: V, mut chain: Vec<String>, depth: usize) -> KeyRef {
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
    pub(super) fn literal_key(&self, text: &str, mut chain: Vec<String>, depth: usize) -> KeyRef {
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

    pub(super) fn key_target(&self, t: &Target, mut chain: Vec<String>, depth: usize) -> KeyRef {
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
    pub(super) fn known_as(&self, text: &str) -> Option<(Target, &'static str)> {
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
    pub(super) fn alias_named(&self, name: &str) -> Option<Target> {
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
