//! What CloudFormation's `AWS::LanguageExtensions` transform does before a template is deployed,
//! done to the parsed tree: `Fn::ForEach` loops are unrolled (nested ones too) in `Resources`,
//! resource properties, `Outputs` and `Conditions`, with `${Id}` and `&{Id}` replaced in every key
//! and string of the body and `Ref: Id` replaced by the item. Every copy keeps the spans of the loop
//! body, so a finding in a resource a loop makes points at the line in the loop body.
//!
//! A loop whose collection cannot be known from the template alone (a parameter without a
//! default) is not guessed: it gives a note naming the loop and the keys it would make. So does
//! a transform or macro atrest does not run (`AWS::Include`, a custom macro), naming the
//! resources it may change. `Fn::Length`, `Fn::ToJsonString` and `Fn::FindInMap`'s
//! `DefaultValue` are evaluated where values are resolved (see the parent module).

use crate::read::{Entry, Node, ReadError, Span, Value};
use std::borrow::Cow;
use std::collections::HashMap;

/// Transforms atrest applies itself: SAM is read natively, the language extensions here.
const UNDERSTOOD: &[&str] = &["AWS::Serverless-2016-10-31", "AWS::LanguageExtensions"];

/// Loops may nest; each level multiplies. CloudFormation allows 500 resources in the result,
/// so more copies of loop bodies than this in one template is a runaway, not a template.
const MAX_EXPANDED: usize = 20_000;

pub(super) const FOR_EACH: &str = "Fn::ForEach::";

/// The template after the language extensions, and what could not be done.
pub struct Expanded<'a> {
    pub root: Cow<'a, Node>,
    /// The template is wrong (CloudFormation would refuse it): the scan reports an input error.
    pub errors: Vec<ReadError>,
    /// Parts atrest cannot see: findings may be missing for them.
    pub notes: Vec<ReadError>,
}

pub fn expand(root: &Node) -> Expanded<'_> {
    let mut x = Expander {
        root,
        produced: 0,
        exhausted: false,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    unexpanded_transforms(root, &mut x.notes);
    let has_loops = ["Resources", "Outputs", "Conditions"]
        .iter()
        .filter_map(|s| root.get(s))
        .any(contains_loop);
    if !has_loops {
        return Expanded {
            root: Cow::Borrowed(root),
            errors: x.errors,
            notes: x.notes,
        };
    }
    if !transforms(root).any(|(t, _)| t == "AWS::LanguageExtensions") {
        let at = first_loop(root).unwrap_or_default();
        x.notes.push(ReadError::at(
            at.start,
            "Fn::ForEach needs `Transform: AWS::LanguageExtensions`; CloudFormation refuses this template without it (the loops are expanded here as if it were declared)",
        ));
    }
    let mut out = root.clone();
    if let Value::Map(entries) = &mut out.value {
        for e in entries.iter_mut() {
            if matches!(e.key.as_str(), "Resources" | "Outputs" | "Conditions") {
                let walked = x.walk(&e.value, &[]);
                e.value = walked;
            }
        }
    }
    Expanded {
        root: Cow::Owned(out),
        errors: x.errors,
        notes: x.notes,
    }
}

/// The names in `Transform` (a string or a list), with where each is written.
fn transforms(root: &Node) -> impl Iterator<Item = (&str, Span)> {
    let t = root.get("Transform");
    let one = t.and_then(|t| t.as_str().map(|s| (s, t.span)));
    let many = t
        .map(Node::items)
        .unwrap_or(&[])
        .iter()
        .filter_map(|n| n.as_str().map(|s| (s, n.span)));
    one.into_iter().chain(many)
}

fn contains_loop(node: &Node) -> bool {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .any(|e| e.key.starts_with(FOR_EACH) || contains_loop(&e.value)),
        Value::Seq(items) => items.iter().any(contains_loop),
        _ => false,
    }
}

fn first_loop(node: &Node) -> Option<Span> {
    match &node.value {
        Value::Map(entries) => entries.iter().find_map(|e| {
            if e.key.starts_with(FOR_EACH) {
                Some(e.key_span)
            } else {
                first_loop(&e.value)
            }
        }),
        Value::Seq(items) => items.iter().find_map(first_loop),
        _ => None,
    }
}

/// Notes for every transform and macro atrest does not run, naming what it may change.
fn unexpanded_transforms(root: &Node, notes: &mut Vec<ReadError>) {
    let resources = root.get("Resources").map(Node::entries).unwrap_or(&[]);
    for (name, span) in transforms(root) {
        if UNDERSTOOD.contains(&name) {
            continue;
        }
        let ids: Vec<&str> = resources
            .iter()
            .map(|e| e.key.as_str())
            .filter(|k| !k.starts_with("Fn::"))
            .collect();
        notes.push(ReadError::at(
            span.start,
            format!(
                "transform {name} is not expanded by atrest: it may change or add any resource, so the {} resource(s) here ({}) are checked as written",
                ids.len(),
                preview(&ids)
            ),
        ));
    }
    for e in resources {
        if e.key == "Fn::Transform" {
            notes.push(ReadError::at(
                e.key_span.start,
                format!(
                    "Fn::Transform {} in Resources is not expanded by atrest: the resources it adds are not checked",
                    transform_name(&e.value)
                ),
            ));
            continue;
        }
        let mut found = Vec::new();
        inline_transforms(&e.value, &mut found);
        for (name, span) in found {
            notes.push(ReadError::at(
                span.start,
                format!(
                    "Fn::Transform {name} is not expanded by atrest: resource {} is checked as written, without what it adds",
                    e.key
                ),
            ));
        }
    }
}

fn inline_transforms(node: &Node, found: &mut Vec<(String, Span)>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                if e.key == "Fn::Transform" {
                    found.push((transform_name(&e.value), e.key_span));
                } else {
                    inline_transforms(&e.value, found);
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|n| inline_transforms(n, found)),
        _ => {}
    }
}

fn transform_name(arg: &Node) -> String {
    arg.get("Name")
        .and_then(Node::scalar_text)
        .unwrap_or_else(|| "(unnamed)".into())
}

fn preview(ids: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(", and {} more", ids.len() - SHOWN));
    }
    s
}

/// `&{Id}` stands for the item with every character that is not a letter or digit removed.
fn alphanumeric(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect()
}

/// Replaces `${Id}` and `&{Id}` of every loop identifier in scope.
fn substitute(s: &str, params: &[(String, String)]) -> String {
    let mut out = s.to_owned();
    for (id, value) in params {
        if out.contains(id.as_str()) {
            out = out
                .replace(&format!("${{{id}}}"), value)
                .replace(&format!("&{{{id}}}"), &alphanumeric(value));
        }
    }
    out
}

fn lookup<'p>(params: &'p [(String, String)], id: &str) -> Option<&'p str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == id)
        .map(|(_, v)| v.as_str())
}

struct Expander<'a> {
    root: &'a Node,
    produced: usize,
    /// Set once `MAX_EXPANDED` is passed: no loop is unrolled after that.
    exhausted: bool,
    errors: Vec<ReadError>,
    notes: Vec<ReadError>,
}

impl<'a> Expander<'a> {
    /// The node with every loop in it unrolled and the identifiers in `params` replaced.
    fn walk(&mut self, node: &Node, params: &[(String, String)]) -> Node {
        match &node.value {
            Value::Seq(items) => Node::new(
                Value::Seq(items.iter().map(|n| self.walk(n, params)).collect()),
                node.span,
            ),
            Value::Map(entries) => self.walk_map(node, entries, params),
            Value::String(text) if !params.is_empty() => {
                Node::new(Value::String(substitute(text, params)), node.span)
            }
            _ => node.clone(),
        }
    }

    fn walk_map(&mut self, node: &Node, entries: &[Entry], params: &[(String, String)]) -> Node {
        if let [e] = entries
            && e.key == "Ref"
            && let Some(v) = e.value.as_str().and_then(|id| lookup(params, id))
        {
            return Node::new(Value::String(v.to_owned()), node.span);
        }
        let mut out: Vec<Entry> = Vec::with_capacity(entries.len());
        // Key -> line of its first entry: loops can make thousands of keys in one map.
        let mut seen: HashMap<String, u32> = HashMap::new();
        for e in entries {
            if e.key.starts_with(FOR_EACH) {
                for made in self.unroll(e, params) {
                    self.insert(&mut out, &mut seen, made);
                }
                continue;
            }
            let key = if params.is_empty() {
                e.key.clone()
            } else {
                substitute(&e.key, params)
            };
            let value = self.walk(&e.value, params);
            self.insert(
                &mut out,
                &mut seen,
                Entry {
                    key,
                    key_span: e.key_span,
                    value,
                },
            );
        }
        Node::new(Value::Map(out), node.span)
    }

    fn insert(&mut self, out: &mut Vec<Entry>, seen: &mut HashMap<String, u32>, entry: Entry) {
        if let Some(first) = seen.get(&entry.key) {
            self.errors.push(ReadError::at(
                entry.key_span.start,
                format!(
                    "Fn::ForEach makes the key \"{}\" twice (also at line {first}); CloudFormation refuses the template",
                    entry.key
                ),
            ));
            return;
        }
        seen.insert(entry.key.clone(), entry.key_span.start.line);
        out.push(entry);
    }

    /// The entries one `Fn::ForEach::Name: [Id, Collection, {OutputKey: OutputValue}]` makes.
    fn unroll(&mut self, e: &Entry, params: &[(String, String)]) -> Vec<Entry> {
        let at = e.key_span.start;
        let [id, collection, body] = e.value.items() else {
            self.errors.push(ReadError::at(
                at,
                format!(
                    "{} must be a list of three: an identifier, a collection and a map of output keys",
                    e.key
                ),
            ));
            return Vec::new();
        };
        let Some(id) = id.as_str() else {
            self.errors.push(ReadError::at(
                id.span.start,
                format!("{}: the identifier must be a string", e.key),
            ));
            return Vec::new();
        };
        if !body.is_map() {
            self.errors.push(ReadError::at(
                body.span.start,
                format!(
                    "{}: the third item must be a map of output keys to values",
                    e.key
                ),
            ));
            return Vec::new();
        }
        let items = match self.collection(collection, params) {
            Ok(items) => items,
            Err(why) => {
                let keys: Vec<&str> = body.entries().iter().map(|b| b.key.as_str()).collect();
                self.notes.push(ReadError::at(
                    at,
                    format!(
                        "{}: the collection cannot be evaluated ({why}), so what it makes ({}) is not checked",
                        e.key,
                        keys.join(", ")
                    ),
                ));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for item in items {
            if self.exhausted {
                break;
            }
            if self.produced > MAX_EXPANDED {
                self.exhausted = true;
                self.errors.push(ReadError::at(
                    at,
                    format!(
                        "{}: the loops make more than {MAX_EXPANDED} copies; the rest are not expanded",
                        e.key
                    ),
                ));
                break;
            }
            let mut scope = params.to_vec();
            scope.push((id.to_owned(), item));
            self.produced += 1;
            let made = self.walk(body, &scope);
            if let Value::Map(entries) = made.value {
                out.extend(entries);
            }
        }
        out
    }

    /// The items a loop runs over: a literal list (whose items may be `Ref`s), or a `Ref` to a
    /// `CommaDelimitedList`/`List<...>` parameter with a default, or `Fn::FindInMap` of a list.
    fn collection(
        &mut self,
        node: &Node,
        params: &[(String, String)],
    ) -> Result<Vec<String>, String> {
        match &node.value {
            Value::Seq(items) => items.iter().map(|n| self.item(n, params)).collect(),
            Value::Map(_) => match node.intrinsic() {
                Some(("Ref", target)) => {
                    let target = target.as_str().ok_or("a Ref to a non-string")?;
                    let (ty, default) = self.parameter(target)?;
                    if !(ty == "CommaDelimitedList" || ty.starts_with("List<")) {
                        return Err(format!("parameter {target} is a {ty}, not a list"));
                    }
                    match &default.value {
                        Value::Seq(items) => items.iter().map(|n| self.item(n, params)).collect(),
                        _ => Ok(split_list(&default.scalar_text().unwrap_or_default())),
                    }
                }
                Some(("Fn::FindInMap", arg)) => {
                    let items = arg.items();
                    let keys = items
                        .iter()
                        .take(3)
                        .map(|n| self.item(n, params))
                        .collect::<Result<Vec<_>, _>>()?;
                    let default = items.get(3).and_then(|d| d.get("DefaultValue"));
                    let found = find_in_map(self.root, &keys, default)?;
                    self.collection(found, params)
                }
                Some((f, _)) => Err(format!("{f} is not evaluated statically")),
                None => Err("a map, not a list".into()),
            },
            _ => Err("not a list".into()),
        }
    }

    fn item(&self, node: &Node, params: &[(String, String)]) -> Result<String, String> {
        if let Some(text) = node.scalar_text() {
            return Ok(text);
        }
        match node.intrinsic() {
            Some(("Ref", target)) => {
                let target = target.as_str().ok_or("a Ref to a non-string")?;
                if let Some(v) = lookup(params, target) {
                    return Ok(v.to_owned());
                }
                let (_, default) = self.parameter(target)?;
                default
                    .scalar_text()
                    .ok_or_else(|| format!("parameter {target}'s default is not a string"))
            }
            Some((f, _)) => Err(format!("an item is {f}, not evaluated statically")),
            None => Err("an item is not a string".into()),
        }
    }

    fn parameter(&self, name: &str) -> Result<(&'a str, &'a Node), String> {
        let root: &'a Node = self.root;
        let p = root
            .get("Parameters")
            .and_then(|p| p.get(name))
            .ok_or_else(|| format!("{name} is not a parameter of this template"))?;
        let ty = p.get("Type").and_then(Node::as_str).unwrap_or("String");
        let default = p
            .get("Default")
            .ok_or_else(|| format!("parameter {name} has no default"))?;
        Ok((ty, default))
    }
}

/// A `CommaDelimitedList` value: split on commas, each member trimmed of spaces.
pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(|p| p.trim().to_owned()).collect()
}

/// `Fn::FindInMap [Map, Key1, Key2]` with its keys known, or its `DefaultValue` when absent.
fn find_in_map<'n>(
    root: &'n Node,
    keys: &[String],
    default: Option<&'n Node>,
) -> Result<&'n Node, String> {
    let [m, k1, k2] = keys else {
        return Err("a malformed Fn::FindInMap".into());
    };
    root.get("Mappings")
        .and_then(|x| x.get(m))
        .and_then(|x| x.get(k1))
        .and_then(|x| x.get(k2))
        .or(default)
        .ok_or_else(|| format!("no mapping {m}.{k1}.{k2}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Limits, yaml};

    fn expanded(text: &str) -> (Node, Vec<String>, Vec<String>) {
        let doc = yaml::parse(text, &Limits::default()).unwrap();
        let x = expand(&doc.root);
        let msgs = |v: Vec<ReadError>| v.into_iter().map(|e| e.to_string()).collect();
        (x.root.into_owned(), msgs(x.errors), msgs(x.notes))
    }

    fn keys(node: &Node) -> Vec<&str> {
        node.entries().iter().map(|e| e.key.as_str()).collect()
    }

    #[test]
    fn nested_loops_with_both_placeholders() {
        let (root, errors, notes) = expanded(
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::Envs:\n    - Env\n    - [dev, prod-eu]\n    - Fn::ForEach::Apps:\n        - App\n        - [a, b]\n        - '${App}&{Env}':\n            Type: AWS::SNS::Topic\n            Properties:\n              TopicName: !Sub '${App}-${Env}-${AWS::Region}'\n              DisplayName: !Ref Env\n",
        );
        assert!(
            errors.is_empty() && notes.is_empty(),
            "{errors:?} {notes:?}"
        );
        let res = root.get("Resources").unwrap();
        assert_eq!(keys(res), ["adev", "bdev", "aprodeu", "bprodeu"]);
        let t = res.get("bprodeu").unwrap().get("Properties").unwrap();
        let sub = t.get("TopicName").unwrap().intrinsic().unwrap().1;
        assert_eq!(sub.as_str(), Some("b-prod-eu-${AWS::Region}"));
        assert_eq!(t.get("DisplayName").unwrap().as_str(), Some("prod-eu"));
        // Every copy keeps the body's positions.
        assert_eq!(res.entries()[3].key_span.start.line, 9);
        assert_eq!(t.entry("DisplayName").unwrap().key_span.start.line, 13);
    }

    #[test]
    fn collections_from_parameters_and_mappings() {
        let (root, errors, notes) = expanded(
            "Transform: AWS::LanguageExtensions\nParameters:\n  Names:\n    Type: CommaDelimitedList\n    Default: 'x, y'\n  Open:\n    Type: CommaDelimitedList\nMappings:\n  M:\n    K:\n      L: [p, q]\nResources:\n  Fn::ForEach::A:\n    - N\n    - !Ref Names\n    - Q${N}: {Type: AWS::SQS::Queue}\n  Fn::ForEach::B:\n    - N\n    - !FindInMap [M, K, L]\n    - R${N}: {Type: AWS::SQS::Queue}\n  Fn::ForEach::C:\n    - N\n    - !Ref Open\n    - S${N}: {Type: AWS::SQS::Queue}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            keys(root.get("Resources").unwrap()),
            ["Qx", "Qy", "Rp", "Rq"]
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("Fn::ForEach::C") && notes[0].contains("S${N}"),
            "{notes:?}"
        );
        assert!(notes[0].starts_with("line 21, column 3:"), "{notes:?}");
    }

    #[test]
    fn loops_inside_properties_and_collisions() {
        let (root, errors, _) = expanded(
            "Transform: AWS::LanguageExtensions\nResources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n          Fn::ForEach::V:\n            - K\n            - [A, B]\n            - 'VAR_${K}': !Sub '${K}-value'\n              'PLAIN_&{K}': 'plain ${K}'\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let vars = root
            .get("Resources")
            .and_then(|r| r.get("F"))
            .and_then(|f| f.get("Properties"))
            .and_then(|p| p.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .unwrap();
        assert_eq!(keys(vars), ["VAR_A", "PLAIN_A", "VAR_B", "PLAIN_B"]);
        assert_eq!(vars.get("PLAIN_B").unwrap().as_str(), Some("plain B"));
        let (_, errors, _) = expanded(
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::X:\n    - K\n    - [a-b, ab]\n    - 'T&{K}': {Type: AWS::SNS::Topic}\n",
        );
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("\"Tab\" twice"), "{errors:?}");
    }

    /// Nested loops multiply: three of 100 items would make a million copies. Expansion stops
    /// at the limit with one error, not one per outer item.
    #[test]
    fn runaway_loops_stop_with_one_error() {
        let items = (0..100)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let text = format!(
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::A:\n    - A\n    - [{items}]\n    - Fn::ForEach::B:\n        - B\n        - [{items}]\n        - Fn::ForEach::C:\n            - C\n            - [{items}]\n            - 'T${{A}}x${{B}}x${{C}}': {{Type: AWS::SNS::Topic}}\n"
        );
        let (root, errors, _) = expanded(&text);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("more than 20000 copies"), "{errors:?}");
        let made = root.get("Resources").unwrap().entries().len();
        assert!((19_000..=20_001).contains(&made), "{made}");
    }

    #[test]
    fn malformed_loops_are_errors_with_a_line() {
        let (_, errors, _) = expanded(
            "Transform: AWS::LanguageExtensions\nResources:\n  Fn::ForEach::X:\n    - K\n    - [a]\n",
        );
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("line 3, column 3:"), "{errors:?}");
    }

    #[test]
    fn transforms_not_run_are_named() {
        let (_, _, notes) = expanded(
            "Transform: [AWS::Serverless-2016-10-31, MyMacro]\nResources:\n  F:\n    Type: AWS::Lambda::Function\n    Properties:\n      Fn::Transform:\n        Name: AWS::Include\n        Parameters: {Location: s3://b/k}\n  Fn::Transform:\n    Name: AWS::Include\n",
        );
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("transform MyMacro") && notes[0].contains("(F)"));
        assert!(notes[1].contains("resource F") && notes[1].starts_with("line 6,"));
        assert!(notes[2].contains("AWS::Include in Resources"), "{notes:?}");
    }

    #[test]
    fn loops_without_the_transform_are_noted() {
        let (root, _, notes) = expanded(
            "Resources:\n  Fn::ForEach::X:\n    - K\n    - [a]\n    - 'T${K}': {Type: AWS::SNS::Topic}\n",
        );
        assert_eq!(keys(root.get("Resources").unwrap()), ["Ta"]);
        assert!(notes[0].contains("AWS::LanguageExtensions"), "{notes:?}");
    }
}
