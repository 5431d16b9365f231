//! Intrinsic functions resolved as far as the template alone allows (see the parent module).

use super::*;

/// The statically known value of an expression.
#[derive(Debug, Clone)]
pub(super) enum Resolved {
    /// `AWS::NoValue`, or nothing written.
    Absent,
    /// A string. `complete` is false where some part could not be resolved; `refs` are the
    /// logical IDs of resources whose runtime values appear in it.
    Text {
        text: String,
        complete: bool,
        refs: Vec<String>,
    },
    /// `Ref`/`Fn::GetAtt` of a resource in this template.
    Resource {
        logical_id: String,
    },
    Unknown(String),
    /// Either of several values (`Fn::If`).
    Choice(Vec<Resolved>),
}

impl Resolved {
    pub(super) fn literal(s: &str) -> Self {
        Resolved::Text {
            text: s.to_owned(),
            complete: true,
            refs: Vec::new(),
        }
    }

    pub(super) fn known_text(&self) -> Option<&str> {
        match self {
            Resolved::Text {
                text,
                complete: true,
                ..
            } => Some(text),
            _ => None,
        }
    }
}

impl<'a> Template<'a> {
    pub(super) fn resolve(&self, node: &Node, chain: &mut Vec<String>, depth: usize) -> Resolved {
        if depth > MAX_RESOLVE_DEPTH {
            return Resolved::Unknown("expression nested too deeply".into());
        }
        match &node.value {
            Value::Null => Resolved::Absent,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                Resolved::literal(&node.scalar_text().unwrap_or_default())
            }
            Value::Seq(_) => Resolved::Unknown("a list, not a string".into()),
            Value::Map(_) => match node.intrinsic() {
                Some((name, arg)) => self.resolve_intrinsic(name, arg, chain, depth),
                None => Resolved::Unknown("a map, not a string".into()),
            },
        }
    }

    pub(super) fn resolve_intrinsic(
        &self,
        name: &str,
        arg: &Node,
        chain: &mut Vec<String>,
        depth: usize,
    ) -> Resolved {
        match name {
            "Ref" => {
                let Some(target) = arg.as_str() else {
                    return Resolved::Unknown("Ref to a non-string".into());
                };
                chain.push(format!("!Ref {target}"));
                self.resolve_ref(target, chain, depth)
            }
            "Fn::GetAtt" => {
                let (res, attr) = match (&arg.value, arg.items()) {
                    (Value::String(s), _) => match s.split_once('.') {
                        Some((r, a)) => (r.to_owned(), a.to_owned()),
                        None => (s.clone(), String::new()),
                    },
                    (_, [r, a]) => (
                        r.as_str().unwrap_or_default().to_owned(),
                        a.scalar_text().unwrap_or_default(),
                    ),
                    _ => return Resolved::Unknown("malformed Fn::GetAtt".into()),
                };
                chain.push(format!("!GetAtt {res}.{attr}"));
                if self.resource(&res).is_some() {
                    Resolved::Resource { logical_id: res }
                } else {
                    Resolved::Unknown(format!("{res} is not a resource of this template"))
                }
            }
            "Fn::Sub" => {
                chain.push("!Sub".into());
                self.resolve_sub(arg, chain, depth)
            }
            "Fn::Join" => {
                let [delim, list] = arg.items() else {
                    return Resolved::Unknown("malformed Fn::Join".into());
                };
                let Some(delim) = delim.scalar_text() else {
                    return Resolved::Unknown("Fn::Join with a computed delimiter".into());
                };
                let parts = match self.resolve_list(list, depth + 1) {
                    Ok(parts) => parts,
                    Err(why) => return Resolved::Unknown(format!("Fn::Join of {why}")),
                };
                chain.push("!Join".into());
                concat_with(&parts, &delim)
            }
            "Fn::If" => {
                let [cond, a, b] = arg.items() else {
                    return Resolved::Unknown("malformed Fn::If".into());
                };
                let cond = cond.as_str().unwrap_or("?");
                chain.push(format!("!If {cond}"));
                Resolved::Choice(vec![
                    self.resolve(a, &mut Vec::new(), depth + 1),
                    self.resolve(b, &mut Vec::new(), depth + 1),
                ])
            }
            "Fn::FindInMap" => {
                let items = arg.items();
                if items.len() < 3 {
                    return Resolved::Unknown("malformed Fn::FindInMap".into());
                }
                let keys: Vec<Option<String>> = items[..3]
                    .iter()
                    .map(|n| {
                        self.resolve(n, &mut Vec::new(), depth + 1)
                            .known_text()
                            .map(str::to_owned)
                    })
                    .collect();
                let (Some(m), Some(k1), Some(k2)) = (&keys[0], &keys[1], &keys[2]) else {
                    return Resolved::Unknown("Fn::FindInMap with computed keys".into());
                };
                chain.push(format!("!FindInMap [{m}, {k1}, {k2}]"));
                match self.find_in_map(items, m, k1, k2) {
                    Some(v) => self.resolve(v, chain, depth + 1),
                    None => Resolved::Unknown(format!("no mapping {m}.{k1}.{k2}")),
                }
            }
            "Fn::Select" => {
                let [idx, list] = arg.items() else {
                    return Resolved::Unknown("malformed Fn::Select".into());
                };
                let index = self
                    .resolve(idx, &mut Vec::new(), depth + 1)
                    .known_text()
                    .and_then(|s| s.parse::<usize>().ok());
                let Some(i) = index else {
                    return Resolved::Unknown("Fn::Select with a computed index".into());
                };
                match self.resolve_list(list, depth + 1) {
                    Ok(mut items) if i < items.len() => {
                        chain.push(format!("!Select {i}"));
                        items.swap_remove(i)
                    }
                    Ok(items) => Resolved::Unknown(format!(
                        "Fn::Select index {i} is past the end of a list of {}",
                        items.len()
                    )),
                    Err(why) => Resolved::Unknown(format!("Fn::Select of {why}")),
                }
            }
            "Fn::Split" => Resolved::Unknown("a list, not a string".into()),
            "Fn::Length" => match self.resolve_list(arg, depth + 1) {
                Ok(items) => Resolved::literal(&items.len().to_string()),
                Err(why) => Resolved::Unknown(format!("Fn::Length of {why}")),
            },
            "Fn::ToJsonString" => {
                if contains_intrinsic(arg) {
                    Resolved::Unknown("Fn::ToJsonString of values known only at deploy time".into())
                } else {
                    chain.push("!ToJsonString".into());
                    Resolved::literal(&arg.to_json().to_string())
                }
            }
            "Fn::ImportValue" => Resolved::Unknown("imported from another stack".into()),
            other => Resolved::Unknown(format!("{other} is not evaluated statically")),
        }
    }

    /// `Fn::FindInMap`'s value, or its `DefaultValue` (language extensions) when the map has
    /// no such keys.
    pub(super) fn find_in_map<'n>(
        &'n self,
        items: &'n [Node],
        m: &str,
        k1: &str,
        k2: &str,
    ) -> Option<&'n Node> {
        let found = self
            .root
            .get("Mappings")
            .and_then(|x| x.get(m))
            .and_then(|x| x.get(k1))
            .and_then(|x| x.get(k2));
        found.or_else(|| items.get(3)?.get("DefaultValue"))
    }

    /// The items of an expression that stands for a list: a literal list, `Fn::Split` of a
    /// known string, a `CommaDelimitedList`/`List<...>` parameter's default, or a list in
    /// `Mappings`. `Err` says why it cannot be known.
    pub(super) fn resolve_list(&self, node: &Node, depth: usize) -> Result<Vec<Resolved>, String> {
        if depth > MAX_RESOLVE_DEPTH {
            return Err("an expression nested too deeply".into());
        }
        let resolve = |n: &Node| self.resolve(n, &mut Vec::new(), depth + 1);
        let Some((name, arg)) = node.intrinsic() else {
            return match &node.value {
                Value::Seq(items) => Ok(items.iter().map(resolve).collect()),
                _ => Err("a value that is not a list".into()),
            };
        };
        match name {
            "Fn::Split" => {
                let [delim, source] = arg.items() else {
                    return Err("a malformed Fn::Split".into());
                };
                let Some(delim) = delim.scalar_text().filter(|d| !d.is_empty()) else {
                    return Err("Fn::Split with a computed delimiter".into());
                };
                let text = resolve(source);
                // Pseudo parameters stay symbols (`${AWS::StackName}`): their values may hold
                // the delimiter, so a string with one is not split.
                let Some(text) = text.known_text().filter(|t| !t.contains("${")) else {
                    return Err("Fn::Split of a string known only at deploy time".into());
                };
                Ok(text.split(delim.as_str()).map(Resolved::literal).collect())
            }
            "Ref" => {
                let target = arg.as_str().unwrap_or_default();
                let param = self.root.get("Parameters").and_then(|p| p.get(target));
                let Some(param) = param else {
                    return Err(format!("{target}, not a list parameter"));
                };
                let ty = param.get("Type").and_then(Node::as_str).unwrap_or("");
                if !(ty == "CommaDelimitedList" || ty.starts_with("List<")) {
                    return Err(format!("parameter {target}, a {ty}, not a list"));
                }
                match param.get("Default") {
                    Some(d) => match d.scalar_text() {
                        Some(text) => Ok(lang_ext::split_list(&text)
                            .iter()
                            .map(|s| Resolved::literal(s))
                            .collect()),
                        None => self.resolve_list(d, depth + 1),
                    },
                    None => Err(format!("parameter {target}, which has no default")),
                }
            }
            "Fn::FindInMap" => {
                let items = arg.items();
                let keys: Option<Vec<String>> = items
                    .iter()
                    .take(3)
                    .map(|n| resolve(n).known_text().map(str::to_owned))
                    .collect();
                match keys.as_deref() {
                    Some([m, k1, k2]) => match self.find_in_map(items, m, k1, k2) {
                        Some(v) => self.resolve_list(v, depth + 1),
                        None => Err(format!("no mapping {m}.{k1}.{k2}")),
                    },
                    _ => Err("Fn::FindInMap with computed keys".into()),
                }
            }
            "Fn::GetAZs" => Err("availability zones, known only at deploy time".into()),
            other => Err(format!("{other}, not evaluated statically")),
        }
    }

    pub(super) fn resolve_ref(
        &self,
        target: &str,
        chain: &mut Vec<String>,
        depth: usize,
    ) -> Resolved {
        if target == "AWS::NoValue" {
            return Resolved::Absent;
        }
        if PSEUDO_PARAMETERS.contains(&target) {
            return Resolved::Text {
                text: format!("${{{target}}}"),
                complete: true,
                refs: Vec::new(),
            };
        }
        if let Some(param) = self.root.get("Parameters").and_then(|p| p.get(target)) {
            let ty = param.get("Type").and_then(Node::as_str).unwrap_or("");
            if ty.starts_with("AWS::SSM::Parameter::Value") {
                return Resolved::Unknown(format!(
                    "parameter {target} is read from SSM at deploy time"
                ));
            }
            return match param.get("Default") {
                Some(default) => {
                    match default.scalar_text() {
                        Some(text) => chain.push(format!("default \"{text}\"")),
                        None => chain.push("default".into()),
                    }
                    self.resolve(default, chain, depth + 1)
                }
                None => Resolved::Unknown(format!("parameter {target} has no default")),
            };
        }
        if self.resource(target).is_some() {
            return Resolved::Resource {
                logical_id: target.to_owned(),
            };
        }
        Resolved::Unknown(format!("{target} is not defined in this template"))
    }

    pub(super) fn resolve_sub(&self, arg: &Node, chain: &mut [String], depth: usize) -> Resolved {
        let _ = chain;
        let (template, vars) = match (&arg.value, arg.items()) {
            (Value::String(s), _) => (s.as_str(), None),
            (_, [s, vars]) => match s.as_str() {
                Some(s) => (s, Some(vars)),
                None => return Resolved::Unknown("Fn::Sub with a computed string".into()),
            },
            _ => return Resolved::Unknown("malformed Fn::Sub".into()),
        };
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            parts.push(Resolved::literal(&rest[..start]));
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                parts.push(Resolved::literal(&rest[start..]));
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(lit) = name.strip_prefix('!') {
                parts.push(Resolved::literal(&format!("${{{lit}}}")));
                continue;
            }
            let var = vars.and_then(|v| v.get(name));
            let value = match var {
                Some(v) => self.resolve(v, &mut Vec::new(), depth + 1),
                None => match name.split_once('.') {
                    Some((res, _)) if self.resource(res).is_some() => Resolved::Resource {
                        logical_id: res.to_owned(),
                    },
                    _ => self.resolve_ref(name, &mut Vec::new(), depth + 1),
                },
            };
            parts.push(value);
        }
        parts.push(Resolved::literal(rest));
        concat_with(&parts, "")
    }
}

/// Whether any map in the value is an intrinsic function (a value known only at deploy time).
pub(super) fn contains_intrinsic(node: &Node) -> bool {
    node.intrinsic().is_some()
        || match &node.value {
            Value::Map(entries) => entries.iter().any(|e| contains_intrinsic(&e.value)),
            Value::Seq(items) => items.iter().any(contains_intrinsic),
            _ => false,
        }
}

/// Joins resolved parts into one string; unresolvable parts make it incomplete.
pub(super) fn concat_with(parts: &[Resolved], delim: &str) -> Resolved {
    let mut text = String::new();
    let mut complete = true;
    let mut refs = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            text.push_str(delim);
        }
        match part {
            Resolved::Absent => {}
            Resolved::Text {
                text: t,
                complete: c,
                refs: r,
            } => {
                text.push_str(t);
                complete &= c;
                refs.extend(r.iter().cloned());
            }
            Resolved::Resource { logical_id } => {
                text.push_str(&format!("${{{logical_id}}}"));
                complete = false;
                refs.push(logical_id.clone());
            }
            Resolved::Unknown(_) | Resolved::Choice(_) => {
                text.push_str("${?}");
                complete = false;
            }
        }
    }
    Resolved::Text {
        text,
        complete,
        refs,
    }
}
