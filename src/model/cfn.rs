//! CloudFormation and SAM templates into the model.
//!
//! Intrinsic functions are resolved as far as the template alone allows: `Ref`/`Fn::GetAtt` to
//! resources and parameter defaults, `Fn::Sub`/`Fn::Join` with known parts, `Fn::FindInMap`,
//! `Fn::Select`, and both branches of `Fn::If`. Pseudo parameters stay symbols (`${AWS::Region}`).
//! Anything else is unknown, never guessed.

use super::keys::{KeyRef, KeyState, is_aws_managed_alias};
use super::policy;
use super::{
    Durable, EnvVar, Environment, EventSourceMapping, FileId, FilterCriteria, Function, Inventory,
    KmsAlias, KmsKey, Loc, Locations, LogGroup, Origin, PolicyStatement, RoleRef, Tri, ValueSource,
};
use crate::read::{Entry, Node, ReadError, Span, Value};
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};

/// Event types SAM turns into an `AWS::Lambda::EventSourceMapping`, with the property that
/// names the event source.
const PULL_EVENTS: &[(&str, &str)] = &[
    ("SQS", "Queue"),
    ("Kinesis", "Stream"),
    ("DynamoDB", "Stream"),
    ("MSK", "Stream"),
    ("SelfManagedKafka", ""),
    ("MQ", "Broker"),
    ("DocumentDB", "Cluster"),
];

const PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Resolution is bounded: templates can be cyclic (alias -> alias) or absurdly nested.
const MAX_RESOLVE_DEPTH: usize = 16;

/// The statically known value of an expression.
#[derive(Debug, Clone)]
enum Resolved {
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
    fn literal(s: &str) -> Self {
        Resolved::Text {
            text: s.to_owned(),
            complete: true,
            refs: Vec::new(),
        }
    }

    fn known_text(&self) -> Option<&str> {
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

mod lang_ext;

/// The model of a template, after the language extensions (`Fn::ForEach`) are applied.
pub fn inventory(file: &FileId, root: &Node, sam: bool) -> Inventory {
    inventory_and_notes(file, root, sam).inventory
}

/// A template's model with what reading it found: `errors` make the template an input that
/// failed (CloudFormation would refuse it), `notes` name parts atrest cannot see (a macro, a
/// loop over a parameter without a default).
pub struct Modelled {
    pub inventory: Inventory,
    pub errors: Vec<ReadError>,
    pub notes: Vec<ReadError>,
}

pub fn inventory_and_notes(file: &FileId, root: &Node, sam: bool) -> Modelled {
    let expanded = lang_ext::expand(root);
    Modelled {
        inventory: inventory_of(file, &expanded.root, sam),
        errors: expanded.errors,
        notes: expanded.notes,
    }
}

fn inventory_of(file: &FileId, root: &Node, sam: bool) -> Inventory {
    let t = Template::new(file, root, sam);
    let mut inv = Inventory::default();
    for entry in t.resources {
        let Some(ty) = entry.value.get("Type").and_then(Node::as_str) else {
            continue;
        };
        match ty {
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                let serverless = ty == "AWS::Serverless::Function";
                inv.functions.push(t.function(entry, serverless));
                if serverless {
                    inv.event_source_mappings.extend(t.sam_pull_events(entry));
                }
            }
            "AWS::Lambda::EventSourceMapping" => inv
                .event_source_mappings
                .push(t.event_source_mapping(entry)),
            "AWS::KMS::Key" | "AWS::KMS::ReplicaKey" => inv.kms_keys.push(t.kms_key(entry, ty)),
            "AWS::KMS::Alias" => inv.kms_aliases.push(t.kms_alias(entry)),
            "AWS::Logs::LogGroup" => inv.log_groups.push(t.log_group(entry)),
            _ => {}
        }
    }
    inv.link();
    inv
}

struct Template<'a> {
    file: &'a FileId,
    root: &'a Node,
    resources: &'a [Entry],
    /// Logical ID -> resource, so references resolve in constant time in large templates.
    by_id: HashMap<&'a str, &'a Entry>,
    /// Each declared log group's name as resolved, computed once (functions look it up).
    log_group_names: OnceCell<Vec<(&'a str, Resolved)>>,
    /// `Globals.Function` of a SAM template.
    globals: Option<&'a Node>,
    source: &'static str,
}

/// A property found on a resource or, for SAM functions, in `Globals.Function`.
struct Prop<'a> {
    entry: &'a Entry,
    pointer: String,
}

impl<'a> Prop<'a> {
    /// A key inside this property's map value (`Code` -> `Code.SourceKMSKeyArn`).
    fn child(&self, name: &str) -> Option<Prop<'a>> {
        self.entry.value.entry(name).map(|e| Prop {
            entry: e,
            pointer: format!("{}/{}", self.pointer, pointer_escape(name)),
        })
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl<'a> Template<'a> {
    fn new(file: &'a FileId, root: &'a Node, sam: bool) -> Self {
        let resources = root.get("Resources").map(Node::entries).unwrap_or(&[]);
        Template {
            file,
            root,
            resources,
            by_id: resources.iter().map(|e| (e.key.as_str(), e)).collect(),
            log_group_names: OnceCell::new(),
            globals: if sam {
                root.get("Globals").and_then(|g| g.get("Function"))
            } else {
                None
            },
            source: if sam { "sam" } else { "cloudformation" },
        }
    }

    fn loc(&self, pointer: &str, span: Span) -> Loc {
        Loc {
            file: self.file.clone(),
            pointer: pointer.to_owned(),
            span,
        }
    }

    /// Records where a property is written, if it is.
    fn note(&self, locations: &mut Locations, path: &str, prop: Option<&Prop>) {
        if let Some(p) = prop {
            locations.insert(path.to_owned(), self.loc(&p.pointer, p.entry.key_span));
        }
    }

    fn resource(&self, logical_id: &str) -> Option<&'a Entry> {
        self.by_id.get(logical_id).copied()
    }

    fn resource_type(&self, logical_id: &str) -> Option<&'a str> {
        self.resource(logical_id)?.value.get("Type")?.as_str()
    }

    fn origin(&self, entry: &Entry, ty: &str) -> Origin {
        let mut locations = Locations::new();
        locations.insert(
            String::new(),
            Loc {
                file: self.file.clone(),
                pointer: format!("/Resources/{}", pointer_escape(&entry.key)),
                span: entry.key_span,
            },
        );
        Origin {
            id: entry.key.clone(),
            source: if ty.starts_with("AWS::Serverless::") {
                "sam"
            } else {
                "cloudformation"
            },
            logical_id: entry.key.clone(),
            resource_type: ty.to_owned(),
            locations,
            via: None,
        }
    }

    /// A property of the resource, else (for SAM functions, `with_globals`) of `Globals.Function`.
    fn prop(&self, entry: &'a Entry, name: &str, with_globals: bool) -> Option<Prop<'a>> {
        let own = entry.value.get("Properties").and_then(|p| p.entry(name));
        if let Some(e) = own {
            return Some(Prop {
                entry: e,
                pointer: format!(
                    "/Resources/{}/Properties/{}",
                    pointer_escape(&entry.key),
                    pointer_escape(name)
                ),
            });
        }
        if with_globals {
            let g = self.globals?.entry(name)?;
            return Some(Prop {
                entry: g,
                pointer: format!("/Globals/Function/{}", pointer_escape(name)),
            });
        }
        None
    }

    // ---- intrinsic resolution -------------------------------------------------------------

    fn resolve(&self, node: &Node, chain: &mut Vec<String>, depth: usize) -> Resolved {
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

    fn resolve_intrinsic(
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
    fn find_in_map<'n>(
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
    fn resolve_list(&self, node: &Node, depth: usize) -> Result<Vec<Resolved>, String> {
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

    fn resolve_ref(&self, target: &str, chain: &mut Vec<String>, depth: usize) -> Resolved {
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

    fn resolve_sub(&self, arg: &Node, chain: &mut [String], depth: usize) -> Resolved {
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

    // ---- keys -----------------------------------------------------------------------------

    /// Classifies the key a property names. `label` starts the chain (`KmsKeyArn`).
    fn key_ref(&self, prop: Option<&Prop>, label: &str) -> KeyRef {
        let Some(prop) = prop else {
            return KeyRef::absent(vec![label.to_owned()]);
        };
        let mut chain = vec![label.to_owned()];
        let resolved = self.resolve(&prop.entry.value, &mut chain, 0);
        self.key_from(resolved, chain, 0)
    }

    fn key_from(&self, resolved: Resolved, mut chain: Vec<String>, depth: usize) -> KeyRef {
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

    fn declared_key(&self, logical_id: &str, mut chain: Vec<String>) -> KeyRef {
        chain.push(format!("AWS::KMS::Key {logical_id} (customer managed)"));
        KeyRef {
            state: KeyState::CustomerManaged,
            value: None,
            key: Some(logical_id.to_owned()),
            assumed: false,
            chain,
        }
    }

    fn through_alias(&self, alias_id: &str, mut chain: Vec<String>, depth: usize) -> KeyRef {
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
    fn alias_named(&self, name: &str) -> Option<&'a str> {
        let short = name.rsplit_once(":alias/").map(|(_, a)| a);
        self.resources.iter().find_map(|e| {
            (e.value.get("Type")?.as_str()? == "AWS::KMS::Alias").then_some(())?;
            let alias = e.value.get("Properties")?.get("AliasName")?.as_str()?;
            let matches =
                alias == name || short.is_some_and(|s| alias.strip_prefix("alias/") == Some(s));
            matches.then_some(e.key.as_str())
        })
    }

    fn text_of(&self, prop: Option<&Prop>) -> Option<String> {
        let p = prop?;
        self.resolve(&p.entry.value, &mut Vec::new(), 0)
            .known_text()
            .map(str::to_owned)
    }

    fn tri_of(&self, prop: Option<&Prop>, default: Tri) -> Tri {
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
    fn env_var(&self, node: &Node) -> EnvVar {
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

    fn log_group_name(&self, logical_id: &str) -> Option<String> {
        let props = self.resource(logical_id)?.value.get("Properties")?;
        self.resolve(props.get("LogGroupName")?, &mut Vec::new(), 0)
            .known_text()
            .map(str::to_owned)
    }

    /// The declared `AWS::Logs::LogGroup` a function writes to: by literal name, or named
    /// `/aws/lambda/${Function}` after the function's generated name.
    fn log_group_for(&self, function: &str, name: Option<&str>) -> Option<String> {
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
    fn policy_statements(&self, policy: &Node) -> Option<Vec<PolicyStatement>> {
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

    // ---- resources ------------------------------------------------------------------------

    fn function(&self, entry: &'a Entry, serverless: bool) -> Function {
        let ty = if serverless {
            "AWS::Serverless::Function"
        } else {
            "AWS::Lambda::Function"
        };
        let mut origin = self.origin(entry, ty);
        let g = serverless;

        let environment = self.environment(entry, g, &mut origin.locations);

        let kms = self.prop(entry, "KmsKeyArn", g);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        let kms_key = self.key_ref(kms.as_ref(), "KmsKeyArn");

        let (package_type, code_kms_key) = if serverless {
            let image = self.prop(entry, "ImageUri", g).is_some();
            let pt = self.prop(entry, "PackageType", g);
            let package_type = match self.text_of(pt.as_ref()) {
                Some(t) => t,
                None if pt.is_some() => "unknown".into(),
                None if image => "Image".into(),
                None => "Zip".into(),
            };
            for code in ["CodeUri", "InlineCode", "ImageUri"] {
                if let Some(p) = self.prop(entry, code, g) {
                    origin
                        .locations
                        .insert("code".into(), self.loc(&p.pointer, p.entry.key_span));
                    break;
                }
            }
            let src = self.prop(entry, "SourceKMSKeyArn", g);
            self.note(&mut origin.locations, "code_kms_key", src.as_ref());
            (package_type, self.key_ref(src.as_ref(), "SourceKMSKeyArn"))
        } else {
            let code = self.prop(entry, "Code", false);
            if let Some(p) = &code {
                origin
                    .locations
                    .insert("code".into(), self.loc(&p.pointer, p.entry.key_span));
            }
            let image = code
                .as_ref()
                .is_some_and(|c| c.entry.value.get("ImageUri").is_some());
            let pt = self.prop(entry, "PackageType", false);
            let package_type = match self.text_of(pt.as_ref()) {
                Some(t) => t,
                None if pt.is_some() => "unknown".into(),
                None if image => "Image".into(),
                None => "Zip".into(),
            };
            let src = code.as_ref().and_then(|c| c.child("SourceKMSKeyArn"));
            self.note(&mut origin.locations, "code_kms_key", src.as_ref());
            (
                package_type,
                self.key_ref(src.as_ref(), "Code.SourceKMSKeyArn"),
            )
        };

        let mut log_group_resource = None;
        let log_group = self.prop(entry, "LoggingConfig", g).and_then(|lc| {
            let e = lc.entry.value.entry("LogGroup")?;
            origin.locations.insert(
                "log_group".into(),
                self.loc(&format!("{}/LogGroup", lc.pointer), e.key_span),
            );
            match self.resolve(&e.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => {
                    let name = self.log_group_name(&logical_id);
                    log_group_resource = Some(logical_id);
                    name
                }
                r => r.known_text().map(str::to_owned),
            }
        });
        let role = self.prop(entry, "Role", g).map(|p| {
            origin
                .locations
                .insert("role".into(), self.loc(&p.pointer, p.entry.key_span));
            match self.resolve(&p.entry.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => RoleRef {
                    value: None,
                    resource: Some(logical_id),
                },
                Resolved::Text {
                    text,
                    complete,
                    refs,
                } => RoleRef {
                    value: complete.then_some(text),
                    resource: refs.into_iter().next(),
                },
                _ => RoleRef {
                    value: None,
                    resource: None,
                },
            }
        });
        let durable = self.prop(entry, "DurableConfig", g).map(|p| {
            origin
                .locations
                .insert("durable".into(), self.loc(&p.pointer, p.entry.key_span));
            let key = p.child("KMSKeyArn");
            self.note(&mut origin.locations, "durable.kms_key", key.as_ref());
            Durable {
                kms_key: self.key_ref(key.as_ref(), "DurableConfig.KMSKeyArn"),
            }
        });
        let tracing = if serverless {
            self.prop(entry, "Tracing", g)
        } else {
            self.prop(entry, "TracingConfig", false)
                .and_then(|t| t.child("Mode"))
        };
        self.note(&mut origin.locations, "tracing_mode", tracing.as_ref());
        let tracing_mode = self.text_of(tracing.as_ref());
        let name = self.text_of(self.prop(entry, "FunctionName", g).as_ref());
        let log_group = log_group.or_else(|| name.as_ref().map(|n| format!("/aws/lambda/{n}")));
        if log_group_resource.is_none() {
            log_group_resource = self.log_group_for(&entry.key, log_group.as_deref());
        }

        Function {
            origin,
            name,
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

    /// The function's environment: its own `Environment.Variables` merged over those of SAM
    /// `Globals.Function` (SAM merges maps, the function's entries winning).
    fn environment(
        &self,
        entry: &'a Entry,
        with_globals: bool,
        locations: &mut Locations,
    ) -> Option<Environment> {
        let own = self.prop(entry, "Environment", false);
        let global = if with_globals {
            self.globals
                .and_then(|g| g.entry("Environment"))
                .map(|e| Prop {
                    entry: e,
                    pointer: "/Globals/Function/Environment".into(),
                })
        } else {
            None
        };
        let trigger = own.as_ref().or(global.as_ref())?;
        locations.insert(
            "environment".into(),
            self.loc(&trigger.pointer, trigger.entry.key_span),
        );
        let mut env = Environment {
            variables: BTreeMap::new(),
            variables_unknown: false,
        };
        for source in [global.as_ref(), own.as_ref()].into_iter().flatten() {
            let value = &source.entry.value;
            if value.intrinsic().is_some() {
                env.variables_unknown = true;
                continue;
            }
            let Some(vars) = value.entry("Variables") else {
                continue;
            };
            match &vars.value.value {
                Value::Map(_) if vars.value.intrinsic().is_none() => {
                    for v in vars.value.entries() {
                        locations.insert(
                            format!("environment.variables.{}", v.key),
                            Loc {
                                file: self.file.clone(),
                                pointer: format!(
                                    "{}/Variables/{}",
                                    source.pointer,
                                    pointer_escape(&v.key)
                                ),
                                span: v.key_span,
                            },
                        );
                        env.variables.insert(v.key.clone(), self.env_var(&v.value));
                    }
                }
                Value::Null => {}
                _ => env.variables_unknown = true,
            }
        }
        Some(env)
    }

    fn filter_criteria(&self, prop: Option<&Prop>) -> (FilterCriteria, Vec<String>) {
        let Some(p) = prop else {
            return (FilterCriteria::Absent, Vec::new());
        };
        let node = &p.entry.value;
        if node.is_null() {
            return (FilterCriteria::Absent, Vec::new());
        }
        if node.intrinsic().is_some() {
            return (FilterCriteria::Unknown, Vec::new());
        }
        match node.get("Filters") {
            None => (FilterCriteria::Absent, Vec::new()),
            Some(f) if f.intrinsic().is_some() => (FilterCriteria::Unknown, Vec::new()),
            Some(f) => FilterCriteria::of_filters(f.items()),
        }
    }

    fn event_source_mapping(&self, entry: &'a Entry) -> EventSourceMapping {
        let mut origin = self.origin(entry, "AWS::Lambda::EventSourceMapping");
        let fc = self.prop(entry, "FilterCriteria", false);
        self.note(&mut origin.locations, "filter_criteria", fc.as_ref());
        let (filter_criteria, filter_patterns) = self.filter_criteria(fc.as_ref());
        let kms = self.prop(entry, "KmsKeyArn", false);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        let function = self.prop(entry, "FunctionName", false).and_then(|p| {
            match self.resolve(&p.entry.value, &mut Vec::new(), 0) {
                Resolved::Resource { logical_id } => Some(logical_id),
                Resolved::Text { refs, .. } => refs.into_iter().find(|r| {
                    matches!(
                        self.resource_type(r),
                        Some("AWS::Lambda::Function" | "AWS::Serverless::Function")
                    )
                }),
                _ => None,
            }
        });
        EventSourceMapping {
            origin,
            function,
            event_source_arn: self.text_of(self.prop(entry, "EventSourceArn", false).as_ref()),
            event_source_type: None,
            filter_criteria,
            filter_patterns,
            kms_key: self.key_ref(kms.as_ref(), "KmsKeyArn"),
            filter_criteria_error: None,
        }
    }

    /// SAM pull events (`SQS`, `Kinesis`, ...) become the mappings SAM would create, keeping the
    /// event's own lines.
    fn sam_pull_events(&self, entry: &'a Entry) -> Vec<EventSourceMapping> {
        let Some(events) = entry.value.get("Properties").and_then(|p| p.get("Events")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for ev in events.entries() {
            let Some(ty) = ev.value.get("Type").and_then(Node::as_str) else {
                continue;
            };
            let Some((_, source_prop)) = PULL_EVENTS.iter().find(|(t, _)| *t == ty) else {
                continue;
            };
            let base = format!(
                "/Resources/{}/Properties/Events/{}",
                pointer_escape(&entry.key),
                pointer_escape(&ev.key)
            );
            let id = format!("{}.Events.{}", entry.key, ev.key);
            let mut locations = Locations::new();
            locations.insert(
                String::new(),
                Loc {
                    file: self.file.clone(),
                    pointer: base.clone(),
                    span: ev.key_span,
                },
            );
            let props = ev.value.get("Properties");
            let prop = |name: &str| {
                props.and_then(|p| p.entry(name)).map(|e| Prop {
                    entry: e,
                    pointer: format!("{base}/Properties/{}", pointer_escape(name)),
                })
            };
            let fc = prop("FilterCriteria");
            self.note(&mut locations, "filter_criteria", fc.as_ref());
            let kms = prop("KmsKeyArn");
            self.note(&mut locations, "kms_key", kms.as_ref());
            let (filter_criteria, filter_patterns) = self.filter_criteria(fc.as_ref());
            let event_source_arn = if source_prop.is_empty() {
                None
            } else {
                self.text_of(prop(source_prop).as_ref())
            };
            out.push(EventSourceMapping {
                origin: Origin {
                    id: id.clone(),
                    source: self.source,
                    logical_id: id,
                    resource_type: "AWS::Lambda::EventSourceMapping".into(),
                    locations,
                    via: None,
                },
                function: Some(entry.key.clone()),
                event_source_arn,
                event_source_type: Some(ty.to_owned()),
                filter_criteria,
                filter_patterns,
                kms_key: self.key_ref(kms.as_ref(), "KmsKeyArn"),
                filter_criteria_error: None,
            });
        }
        out
    }

    fn kms_key(&self, entry: &'a Entry, ty: &str) -> KmsKey {
        let mut origin = self.origin(entry, ty);
        let enabled = self.prop(entry, "Enabled", false);
        let rotation = self.prop(entry, "EnableKeyRotation", false);
        let policy = self.prop(entry, "KeyPolicy", false);
        let window = self.prop(entry, "PendingWindowInDays", false);
        for (path, p) in [
            ("enabled", &enabled),
            ("rotation_enabled", &rotation),
            ("policy", &policy),
            ("deletion_window_days", &window),
        ] {
            if let Some(p) = p {
                origin
                    .locations
                    .insert(path.into(), self.loc(&p.pointer, p.entry.key_span));
            }
        }
        let key_spec = self
            .text_of(self.prop(entry, "KeySpec", false).as_ref())
            .or_else(|| Some("SYMMETRIC_DEFAULT".into()));
        // A replica key's rotation follows its primary, which this template does not show.
        let rotation_default = if ty == "AWS::KMS::ReplicaKey" {
            Tri::Unknown
        } else {
            Tri::No
        };
        let (policy_state, policy_statements) = match &policy {
            None => ("default", Vec::new()),
            Some(p) => match self.policy_statements(&p.entry.value) {
                Some(st) => ("declared", st),
                None => ("unknown", Vec::new()),
            },
        };
        KmsKey {
            origin,
            manager: "customer",
            enabled: self.tri_of(enabled.as_ref(), Tri::Yes),
            rotation_enabled: self.tri_of(rotation.as_ref(), rotation_default),
            pending_deletion: false,
            key_spec,
            policy_state,
            policy_statements,
            policy: policy.map(|p| p.entry.value.to_json()),
            deletion_window_days: self.text_of(window.as_ref()).and_then(|t| t.parse().ok()),
            used_by: Vec::new(),
        }
    }

    fn kms_alias(&self, entry: &'a Entry) -> KmsAlias {
        let origin = self.origin(entry, "AWS::KMS::Alias");
        let name = self.text_of(self.prop(entry, "AliasName", false).as_ref());
        let target = self.prop(entry, "TargetKeyId", false);
        let target_key = self.key_ref(target.as_ref(), "TargetKeyId").key;
        KmsAlias {
            origin,
            name,
            target_key,
        }
    }

    fn log_group(&self, entry: &'a Entry) -> LogGroup {
        let mut origin = self.origin(entry, "AWS::Logs::LogGroup");
        let kms = self.prop(entry, "KmsKeyId", false);
        if let Some(p) = &kms {
            origin
                .locations
                .insert("kms_key".into(), self.loc(&p.pointer, p.entry.key_span));
        }
        LogGroup {
            origin,
            written_by: Vec::new(),
            name: self.text_of(self.prop(entry, "LogGroupName", false).as_ref()),
            kms_key: self.key_ref(kms.as_ref(), "KmsKeyId"),
        }
    }
}

/// Whether any map in the value is an intrinsic function (a value known only at deploy time).
fn contains_intrinsic(node: &Node) -> bool {
    node.intrinsic().is_some()
        || match &node.value {
            Value::Map(entries) => entries.iter().any(|e| contains_intrinsic(&e.value)),
            Value::Seq(items) => items.iter().any(contains_intrinsic),
            _ => false,
        }
}

/// Joins resolved parts into one string; unresolvable parts make it incomplete.
fn concat_with(parts: &[Resolved], delim: &str) -> Resolved {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Limits, yaml};

    fn inv(text: &str) -> Inventory {
        let doc = yaml::parse(text, &Limits::default()).unwrap();
        let sam = text.contains("Serverless");
        inventory(&FileId::from("t.yaml"), &doc.root, sam)
    }

    #[test]
    fn ref_through_parameter_default_to_aws_managed_alias() {
        let i = inv(
            "Parameters:\n  KeyParam:\n    Type: String\n    Default: alias/aws/lambda\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Ref KeyParam\n",
        );
        let k = &i.functions[0].kms_key;
        assert_eq!(k.state, KeyState::AwsManaged);
        assert_eq!(
            k.chain.join(" <- "),
            "KmsKeyArn <- !Ref KeyParam <- default \"alias/aws/lambda\""
        );
    }

    #[test]
    fn getatt_of_a_declared_key_is_customer_managed_and_linked() {
        let i = inv(
            "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !GetAtt Key.Arn\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::CustomerManaged);
        assert_eq!(i.functions[0].kms_key.key.as_deref(), Some("Key"));
        assert_eq!(i.kms_keys[0].used_by, vec!["Fn".to_string()]);
        assert_eq!(i.kms_keys[0].rotation_enabled, Tri::No);
    }

    #[test]
    fn sub_with_pseudo_parameters_and_aws_alias() {
        let i = inv(
            "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/lambda'\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
    }

    #[test]
    fn alias_resources_are_followed() {
        let i = inv(
            "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Alias:\n    Type: AWS::KMS::Alias\n    Properties:\n      AliasName: alias/app\n      TargetKeyId: !Ref Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Sub 'arn:aws:kms:${AWS::Region}:${AWS::AccountId}:alias/app'\n",
        );
        assert_eq!(i.functions[0].kms_key.key.as_deref(), Some("Key"));
    }

    #[test]
    fn unknowns_stay_unknown() {
        let i = inv(
            "Parameters:\n  P:\n    Type: String\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Ref P\n  G:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !ImportValue shared-key\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
        assert_eq!(i.functions[1].kms_key.state, KeyState::Unknown);
    }

    #[test]
    fn if_with_agreeing_branches_is_decided() {
        let i = inv(
            "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, !GetAtt Key.Arn, !Ref AWS::NoValue]\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
        let i = inv(
            "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, alias/aws/lambda, '']\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
        let i = inv(
            "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, alias/aws/lambda, arn:aws:kms:us-east-1:1:alias/aws/lambda]\n",
        );
        assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
    }

    fn env_values(text: &str) -> Vec<Option<String>> {
        let i = inv(text);
        let env = i.functions[0].environment.as_ref().unwrap();
        env.variables.values().map(|v| v.value.clone()).collect()
    }

    #[test]
    fn list_functions_over_literals_are_evaluated() {
        let vals = env_values(concat!(
            "Parameters:\n  Subnets:\n    Type: CommaDelimitedList\n    Default: 'a, b ,c'\n  Open:\n    Type: CommaDelimitedList\n",
            "  I:\n    Type: Number\n    Default: 2\n",
            "Mappings:\n  M:\n    K:\n      L: [x, y]\n",
            "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n",
            "          A: !Select [1, !Split ['/', 'p/q/r']]\n",
            "          B: !Join ['+', !Ref Subnets]\n",
            "          C: !Select [!Ref I, !Ref Subnets]\n",
            "          D: !Length [1, 2, 3]\n",
            "          E: !ToJsonString {k: [1, true]}\n",
            "          F: !FindInMap [M, K, Z, {DefaultValue: dflt}]\n",
            "          G: !Join [',', !FindInMap [M, K, L]]\n",
            "          H: !Select [0, !Ref Open]\n",
            "          J: !Select [5, [a]]\n",
            "          K: {Fn::Length: !Split [',', !Ref AWS::Region]}\n",
        ));
        let want = [
            Some("q"),
            Some("a+b+c"),
            Some("c"),
            Some("3"),
            Some("{\"k\":[1,true]}"),
            Some("dflt"),
            Some("x,y"),
            None,
            None,
            None,
        ];
        assert_eq!(vals, want.map(|v| v.map(str::to_owned)));
    }

    #[test]
    fn resources_made_by_loops_are_modelled_at_the_loop_body() {
        let i = inv(concat!(
            "Transform: AWS::LanguageExtensions\n",
            "Resources:\n",
            "  Fn::ForEach::Functions:\n",
            "    - Name\n",
            "    - [Orders, Billing]\n",
            "    - '${Name}Function':\n",
            "        Type: AWS::Lambda::Function\n",
            "        Properties:\n",
            "          KmsKeyArn: alias/aws/lambda\n",
            "          Environment:\n",
            "            Variables:\n",
            "              TABLE: !Sub '${Name}-table'\n",
        ));
        let ids: Vec<_> = i.functions.iter().map(|f| f.origin.id.as_str()).collect();
        assert_eq!(ids, ["OrdersFunction", "BillingFunction"]);
        let f = &i.functions[1];
        assert_eq!(f.kms_key.state, KeyState::AwsManaged);
        let env = f.environment.as_ref().unwrap();
        assert_eq!(
            env.variables["TABLE"].value.as_deref(),
            Some("Billing-table")
        );
        assert_eq!(f.origin.locations[""].span.start.line, 6);
        assert_eq!(f.origin.locations["environment"].span.start.line, 10);
    }

    #[test]
    fn sam_globals_and_pull_events() {
        let i = inv(
            "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Environment:\n      Variables:\n        A: '1'\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          B: '2'\n      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: arn:aws:sqs:us-east-1:1:q\n            FilterCriteria:\n              Filters:\n                - Pattern: '{\"body\": [1]}'\n",
        );
        let f = &i.functions[0];
        let env = f.environment.as_ref().unwrap();
        assert_eq!(env.variables.keys().collect::<Vec<_>>(), ["A", "B"]);
        assert_eq!(f.origin.locations["environment"].span.start.line, 11);
        let m = &i.event_source_mappings[0];
        assert_eq!(m.origin.id, "Fn.Events.Q");
        assert_eq!(m.filter_criteria, FilterCriteria::Present);
        assert_eq!(m.origin.locations["filter_criteria"].span.start.line, 19);
        assert_eq!(m.origin.locations[""].span.start.line, 15);
    }
}
