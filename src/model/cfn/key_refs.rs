//! Key references followed through parameters, aliases and keys to a key kind, and the plain
//! values around them (text, flags, environment variables, log group names, key policies).

use super::*;

impl<'a> Template<'a> {
    /// Classifies the key a property names. `label` starts the chain (`KmsKeyArn`).
    pub(super) fn key_ref(&self, prop: Option<&Prop>, label: &str) -> KeyRef {
        let Some(prop) = prop else {
            return KeyRef::absent(vec![label.to_owned()]);
        };
        let mut chain = vec![label.to_owned()];
        let resolved = self.resolve(&prop.entry.value, &mut chain, 0);
        self.key_from(resolved, chain, 0)
    }

    pub(super) fn key_from(
        &self,
        resolved: Resolved,
        mut chain: Vec<String>,
        depth: usize,
    ) -> KeyRef {
        if depth > MAX_RESOLVE_DEPTH {
            chain.push("alias chain too long".into());
            return KeyRef::unknown(chain);
        }
        match resolved {
            Resolved::Absent => {
                chain.push("AWS::NoValue".into());
                KeyRef::absent(chain)
            }
            Resolved::Text {
                text,
                complete,
                refs,
            } => {
                if complete && text.is_empty() {
                    chain.push("empty".into());
                    return KeyRef::absent(chain);
                }
                if is_aws_managed_alias(&text) {
                    let quoted = format!("\"{text}\"");
                    if !chain.last().is_some_and(|l| l.ends_with(&quoted)) {
                        chain.push(quoted);
                    }
                    return KeyRef::from_literal(&text, chain);
                }
                for r in &refs {
                    match self.resource_type(r) {
                        Some("AWS::KMS::Key" | "AWS::KMS::ReplicaKey") => {
                            return self.declared_key(r, chain);
                        }
                        Some("AWS::KMS::Alias") => return self.through_alias(r, chain, depth),
                        _ => {}
                    }
                }
                let quoted = format!("\"{text}\"");
                if complete && !chain.last().is_some_and(|l| l.ends_with(&quoted)) {
                    chain.push(quoted);
                }
                if complete {
                    if let Some(alias) = self.alias_named(&text) {
                        return self.through_alias(alias, chain, depth);
                    }
                    return KeyRef::from_literal(&text, chain);
                }
                chain.push(format!("\"{text}\" has parts that cannot be resolved"));
                KeyRef::unknown(chain)
            }
            Resolved::Resource { logical_id } => match self.resource_type(&logical_id) {
                Some("AWS::KMS::Key" | "AWS::KMS::ReplicaKey") => {
                    self.declared_key(&logical_id, chain)
                }
                Some("AWS::KMS::Alias") => self.through_alias(&logical_id, chain, depth),
                Some(other) => {
                    chain.push(format!("{logical_id} is a {other}, not a KMS key"));
                    KeyRef::unknown(chain)
                }
                None => KeyRef::unknown(chain),
            },
            Resolved::Unknown(why) => {
                chain.push(why);
                KeyRef::unknown(chain)
            }
            Resolved::Choice(options) => KeyRef::one_of(
                chain,
                options
                    .into_iter()
                    .map(|o| self.key_from(o, Vec::new(), depth + 1))
                    .collect(),
            ),
        }
    }

    pub(super) fn declared_key(&self, logical_id: &str, mut chain: Vec<String>) -> KeyRef {
        chain.push(format!("AWS::KMS::Key {logical_id} (customer managed)"));
        KeyRef {
            state: KeyState::CustomerManaged,
            value: None,
            key: Some(logical_id.to_owned()),
            assumed: false,
            chain,
        }
    }

    pub(super) fn through_alias(
        &self,
        alias_id: &str,
        mut chain: Vec<String>,
        depth: usize,
    ) -> KeyRef {
        let alias = self.resource(alias_id);
        let name = alias
            .and_then(|a| a.value.get("Properties"))
            .and_then(|p| p.get("AliasName"))
            .and_then(Node::as_str);
        if let Some(name) = name.filter(|n| is_aws_managed_alias(n)) {
            return KeyRef::from_literal(name, chain);
        }
        chain.push(format!("alias {alias_id}"));
        let target = alias
            .and_then(|a| a.value.get("Properties"))
            .and_then(|p| p.get("TargetKeyId"));
        match target {
            Some(t) => {
                let r = self.resolve(t, &mut chain, depth + 1);
                self.key_from(r, chain, depth + 1)
            }
            None => {
                chain.push("alias has no TargetKeyId".into());
                KeyRef::unknown(chain)
            }
        }
    }

    /// The `AWS::KMS::Alias` of this template with a literal `AliasName` equal to `name`.
    pub(super) fn alias_named(&self, name: &str) -> Option<&'a str> {
        let short = name.rsplit_once(":alias/").map(|(_, a)| a);
        self.resources.iter().find_map(|e| {
            (e.value.get("Type")?.as_str()? == "AWS::KMS::Alias").then_some(())?;
            let alias = e.value.get("Properties")?.get("AliasName")?.as_str()?;
            let matches =
                alias == name || short.is_some_and(|s| alias.strip_prefix("alias/") == Some(s));
            matches.then_some(e.key.as_str())
        })
    }

    pub(super) fn text_of(&self, prop: Option<&Prop>) -> Option<String> {
        let p = prop?;
        self.resolve(&p.entry.value, &mut Vec::new(), 0)
            .known_text()
            .map(str::to_owned)
    }

    pub(super) fn tri_of(&self, prop: Option<&Prop>, default: Tri) -> Tri {
        let Some(p) = prop else { return default };
        match self.resolve(&p.entry.value, &mut Vec::new(), 0) {
            Resolved::Absent => default,
            r => match r.known_text().map(str::to_ascii_lowercase).as_deref() {
                Some("true") => Tri::Yes,
                Some("false") => Tri::No,
                _ => Tri::Unknown,
            },
        }
    }

    /// How an environment variable's value is given: literal, dynamic reference, parameter...
    pub(super) fn env_var(&self, node: &Node) -> EnvVar {
        let literal = |value: String| {
            if value.contains("{{resolve:") {
                EnvVar {
                    value: None,
                    source: ValueSource::DynamicReference,
                }
            } else {
                EnvVar {
                    value: Some(value),
                    source: ValueSource::Literal,
                }
            }
        };
        if let Some(text) = node.scalar_text() {
            return literal(text);
        }
        if let Some(("Ref", target)) = node.intrinsic()
            && let Some(param) = target
                .as_str()
                .and_then(|t| self.root.get("Parameters").and_then(|p| p.get(t)))
        {
            let no_echo = param
                .get("NoEcho")
                .and_then(Node::scalar_text)
                .is_some_and(|v| v.eq_ignore_ascii_case("true"));
            let ty = param.get("Type").and_then(Node::as_str).unwrap_or("");
            let source = if no_echo {
                ValueSource::SecretParameter
            } else if ty.starts_with("AWS::SSM::Parameter::Value") {
                ValueSource::DynamicReference
            } else {
                match param.get("Default").and_then(Node::scalar_text) {
                    Some(default) => return literal(default),
                    None => ValueSource::Parameter,
                }
            };
            return EnvVar {
                value: None,
                source,
            };
        }
        match self.resolve(node, &mut Vec::new(), 0) {
            Resolved::Text { text, .. } if text.contains("{{resolve:") => literal(text),
            Resolved::Text {
                text,
                complete: true,
                refs,
            } if refs.is_empty() => literal(text),
            _ => EnvVar {
                value: None,
                source: ValueSource::Expression,
            },
        }
    }

    pub(super) fn log_group_name(&self, logical_id: &str) -> Option<String> {
        let props = self.resource(logical_id)?.value.get("Properties")?;
        self.resolve(props.get("LogGroupName")?, &mut Vec::new(), 0)
            .known_text()
            .map(str::to_owned)
    }

    /// The declared `AWS::Logs::LogGroup` a function writes to: by literal name, or named
    /// `/aws/lambda/${Function}` after the function's generated name.
    pub(super) fn log_group_for(&self, function: &str, name: Option<&str>) -> Option<String> {
        let generated = format!("/aws/lambda/${{{function}}}");
        let names = self.log_group_names.get_or_init(|| {
            self.resources
                .iter()
                .filter(|e| {
                    e.value.get("Type").and_then(Node::as_str) == Some("AWS::Logs::LogGroup")
                })
                .filter_map(|e| {
                    let node = e.value.get("Properties")?.get("LogGroupName")?;
                    Some((e.key.as_str(), self.resolve(node, &mut Vec::new(), 0)))
                })
                .collect()
        });
        names.iter().find_map(|(id, resolved)| {
            let matches = match resolved {
                Resolved::Text {
                    text,
                    complete: true,
                    ..
                } => Some(text.as_str()) == name,
                Resolved::Text { text, refs, .. } => {
                    *text == generated && refs.iter().any(|r| r == function)
                }
                _ => false,
            };
            matches.then(|| id.to_string())
        })
    }

    /// A key policy's statements, normalised; `None` when the policy cannot be read statically.
    pub(super) fn policy_statements(&self, policy: &Node) -> Option<Vec<PolicyStatement>> {
        policy::statements(
            policy,
            &|n: &Node, refs: &mut Vec<String>| match self.resolve(n, &mut Vec::new(), 0) {
                Resolved::Text { text, refs: r, .. } => {
                    refs.extend(r);
                    text
                }
                Resolved::Resource { logical_id } => {
                    let text = format!("${{{logical_id}.Arn}}");
                    refs.push(logical_id);
                    text
                }
                _ => "${?}".to_owned(),
            },
        )
    }
}
