//! Serverless Framework variables (`${source:address, fallback}`), resolved as far as the file
//! alone allows.
//!
//! `self:`, `sls:stage`, `opt:` (no options are given, so its fallback) and `aws:region` resolve
//! from the service itself. What is only known when the service is deployed becomes what
//! CloudFormation would have in its place, so the template model reads it the way it reads a
//! template: `${ssm:...}` a dynamic reference (`{{resolve:ssm:...}}`), `${cf:stack.output}` an
//! `Fn::ImportValue`, and `${env:...}` or any other source a parameter (with the fallback as its
//! default where there is one). A string that mixes text and such values becomes an `Fn::Sub`.
//!
//! `${file(path):address}` is read where the caller can read that file (see
//! [`crate::read::include`]); what it gives is placed at the variable, so findings in it point at
//! the line that includes it.

use crate::read::{Entry, Node, Span, Value};
use std::collections::HashMap;

/// Reads a file a service includes, by the path written in `${file(...)}`: `None` where it
/// cannot or may not be read.
pub type Files<'f> = &'f dyn Fn(&str) -> Option<Node>;

/// Nested `self:` references (and cycles) are followed this deep.
const MAX_DEPTH: usize = 16;
/// At most this many nodes, and this much text, are produced: `self:` references can fan out
/// exponentially, and a long value repeated in one string multiplies its length.
const MAX_NODES: usize = 200_000;
const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// The service with its variables resolved, and the parameters that stand for the values
/// known only at deploy time.
pub(super) struct Resolved {
    pub root: Node,
    /// `(name, default)` of each parameter, in first-use order.
    pub parameters: Vec<(String, Option<String>)>,
    /// The stage the service is modelled for (`provider.stage`, else `dev`).
    pub stage: Node,
}

pub(super) fn resolve(root: &Node, files: Files) -> Resolved {
    let mut v = Vars {
        root,
        stage: None,
        parameters: Vec::new(),
        produced: 0,
        produced_bytes: 0,
        files,
        loaded: HashMap::new(),
    };
    let stage = v
        .provider_setting("stage")
        .unwrap_or_else(|| text("dev", Span::default()));
    v.stage = Some(stage.clone());
    let resolved = v.node(root, 0);
    Resolved {
        root: resolved,
        parameters: v.parameters,
        stage,
    }
}

struct Vars<'a> {
    root: &'a Node,
    /// `None` while the stage itself is being resolved (`${sls:stage}` there is the default).
    stage: Option<Node>,
    parameters: Vec<(String, Option<String>)>,
    produced: usize,
    produced_bytes: usize,
    files: Files<'a>,
    /// Files read so far, by the path as written.
    loaded: HashMap<String, Option<Node>>,
}

pub(super) fn text(s: &str, span: Span) -> Node {
    Node::new(Value::String(s.to_owned()), span)
}

/// A one-key map `{key: value}`, as intrinsic functions are written.
pub(super) fn call(key: &str, value: Node, span: Span) -> Node {
    Node::new(
        Value::Map(vec![Entry {
            key: key.to_owned(),
            key_span: span,
            value,
        }]),
        span,
    )
}

/// Parts joined into one value: text where every part is a scalar, else an `Fn::Sub` whose
/// variables are the parts that are not.
pub(super) fn concat(parts: Vec<Node>, span: Span) -> Node {
    if parts.len() == 1
        && let Some(only) = parts.first()
    {
        return only.clone();
    }
    if parts.iter().all(|p| p.scalar_text().is_some()) {
        let joined: String = parts.iter().filter_map(Node::scalar_text).collect();
        return text(&joined, span);
    }
    let mut template = String::new();
    let mut vars = Vec::new();
    for part in parts {
        match part.scalar_text() {
            Some(t) => template.push_str(&t.replace("${", "${!")),
            None => {
                let name = format!("Part{}", vars.len());
                template.push_str(&format!("${{{name}}}"));
                vars.push(Entry {
                    key: name,
                    key_span: part.span,
                    value: part,
                });
            }
        }
    }
    call(
        "Fn::Sub",
        Node::new(
            Value::Seq(vec![
                text(&template, span),
                Node::new(Value::Map(vars), span),
            ]),
            span,
        ),
        span,
    )
}

impl Vars<'_> {
    fn provider_setting(&mut self, name: &str) -> Option<Node> {
        let node = self.root.get("provider")?.get(name)?;
        Some(self.node(node, 1)).filter(|n| !n.is_null())
    }

    fn node(&mut self, node: &Node, depth: usize) -> Node {
        self.produced += 1;
        if self.produced > MAX_NODES {
            return self.parameter("variables that expand to too many values", None, node.span);
        }
        let value = match &node.value {
            Value::String(s) if s.contains("${") => return self.string(s, node.span, depth),
            Value::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|e| Entry {
                        key: e.key.clone(),
                        key_span: e.key_span,
                        value: self.node(&e.value, depth),
                    })
                    .collect(),
            ),
            Value::Seq(items) => Value::Seq(items.iter().map(|i| self.node(i, depth)).collect()),
            other => other.clone(),
        };
        Node::new(value, node.span)
    }

    /// A string with variables in it.
    fn string(&mut self, s: &str, span: Span, depth: usize) -> Node {
        let mut parts = Vec::new();
        let mut rest = s;
        // Text up to here that is kept as written: the framework leaves `${...}` that is not
        // one of its variables (`${AWS::Region}`, `${Bucket.Arn}` in an `Fn::Sub`) alone.
        let mut literal = String::new();
        while let Some(start) = rest.find("${") {
            let Some(end) = closing(rest, start + 2) else {
                break;
            };
            let expr = &rest[start + 2..end];
            if !is_variable(expr) {
                literal.push_str(&rest[..=end]);
                rest = &rest[end + 1..];
                continue;
            }
            literal.push_str(&rest[..start]);
            if !literal.is_empty() {
                parts.push(text(&std::mem::take(&mut literal), span));
            }
            parts.push(self.expression(expr, span, depth));
            rest = &rest[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() || parts.is_empty() {
            parts.push(text(&literal, span));
        }
        let joined = concat(parts, span);
        self.produced_bytes += joined.as_str().map_or(0, str::len);
        if self.produced_bytes > MAX_TEXT_BYTES {
            return self.parameter("variables that expand to too much text", None, span);
        }
        joined
    }

    /// `source:address, fallback, ...`: the first that has a value.
    fn expression(&mut self, expr: &str, span: Span, depth: usize) -> Node {
        let items = split_top(expr, ',');
        let mut items = items.iter().map(|i| i.trim());
        let first = items.next().unwrap_or_default();
        let fallbacks: Vec<&str> = items.collect();
        if depth > MAX_DEPTH {
            return self.parameter(&format!("{first} (nested too deeply)"), None, span);
        }
        let source = self.source(first, span, depth);
        let mut fallback = || {
            fallbacks
                .iter()
                .find_map(|f| self.fallback(f, span, depth))
                .map(|n| (n.scalar_text(), n))
        };
        match source {
            Source::Value(n) => n,
            Source::Absent => match fallback() {
                Some((_, n)) => n,
                None => self.parameter(first, None, span),
            },
            // Named by the whole expression: the same variable may have different fallbacks.
            Source::Parameter => {
                let default = fallback().and_then(|(t, _)| t);
                self.parameter(expr.trim(), default, span)
            }
        }
    }

    fn fallback(&mut self, item: &str, span: Span, depth: usize) -> Option<Node> {
        let quoted = |q: char| {
            item.strip_prefix(q)
                .and_then(|i| i.strip_suffix(q))
                .map(str::to_owned)
        };
        if let Some(lit) = quoted('\'').or_else(|| quoted('"')) {
            return Some(text(&lit, span));
        }
        if item.starts_with("${") && closing(item, 2) == Some(item.len() - 1) {
            return Some(self.string(item, span, depth + 1));
        }
        if item == "true" || item == "false" {
            return Some(Node::new(Value::Bool(item == "true"), span));
        }
        if item.parse::<f64>().is_ok() {
            return Some(Node::new(Value::Number(item.to_owned()), span));
        }
        if item == "null" || item.is_empty() {
            return None;
        }
        match self.source(item, span, depth) {
            Source::Value(n) => Some(n),
            Source::Absent => None,
            Source::Parameter => Some(self.parameter(item, None, span)),
        }
    }

    /// One variable, without its fallbacks.
    fn source(&mut self, var: &str, span: Span, depth: usize) -> Source {
        // Variables inside the address (`${self:custom.${sls:stage}.key}`) first.
        let var = if var.contains("${") {
            match self.string(var, span, depth + 1).as_str() {
                Some(t) => t.to_owned(),
                None => return Source::Parameter,
            }
        } else {
            var.to_owned()
        };
        let (name, address) = var.split_once(':').unwrap_or((var.as_str(), ""));
        let address = address.trim();
        match name.trim() {
            "self" => match at_path(self.root, address) {
                Some(node) => Source::Value(self.node(node, depth + 1)),
                None => Source::Absent,
            },
            n if n.starts_with("file(") && n.ends_with(')') => {
                let path = n["file(".len()..n.len() - 1]
                    .trim()
                    .trim_matches(['\'', '"'])
                    .to_owned();
                if !self.loaded.contains_key(&path) {
                    let doc = (self.files)(&path);
                    self.loaded.insert(path.clone(), doc);
                }
                let Some(Some(doc)) = self.loaded.get(&path).cloned() else {
                    return Source::Parameter;
                };
                match at_path(&doc, address) {
                    Some(node) => Source::Value(self.node(node, depth + 1).respanned(span)),
                    None => Source::Absent,
                }
            }
            "sls" if address == "stage" => match &self.stage {
                Some(stage) => Source::Value(stage.clone()),
                None => Source::Value(text("dev", span)),
            },
            // No command-line options: `--stage` and the like are absent, so the fallback holds.
            "opt" => Source::Absent,
            "aws" if address == "region" => {
                let region = self.root.get("provider").and_then(|p| p.get("region"));
                match region {
                    Some(r) if depth < MAX_DEPTH => {
                        let r = self.node(r, depth + 1);
                        match r.scalar_text() {
                            Some(_) => Source::Value(r),
                            None => Source::Value(text("${AWS::Region}", span)),
                        }
                    }
                    _ => Source::Value(text("${AWS::Region}", span)),
                }
            }
            "aws" if address == "accountId" => Source::Value(text("${AWS::AccountId}", span)),
            // Stage parameters: `stages.<stage>.params` (version 4) or `params.<stage>` (version
            // 3), else those of the `default` stage. Others (the Dashboard's, `--param`) are
            // known at deploy time.
            "param" => {
                let stage = self.stage.as_ref().and_then(Node::scalar_text);
                let found = [stage.as_deref(), Some("default")]
                    .into_iter()
                    .flatten()
                    .find_map(|s| {
                        at_path(self.root, &format!("stages.{s}.params.{address}"))
                            .or_else(|| at_path(self.root, &format!("params.{s}.{address}")))
                    });
                match found {
                    Some(node) => Source::Value(self.node(node, depth + 1)),
                    None => Source::Parameter,
                }
            }
            "ssm" => {
                let path = address.trim_start_matches('(').to_owned();
                Source::Value(text(&format!("{{{{resolve:ssm:{path}}}}}"), span))
            }
            n if n == "cf" || n.starts_with("cf(") => {
                Source::Value(call("Fn::ImportValue", text(address, span), span))
            }
            _ => Source::Parameter,
        }
    }

    /// A value supplied at deploy time, as a CloudFormation parameter named after the variable.
    fn parameter(&mut self, name: &str, default: Option<String>, span: Span) -> Node {
        let name = format!("${{{name}}}");
        if !self.parameters.iter().any(|(n, _)| *n == name) {
            self.parameters.push((name.clone(), default));
        }
        call("Ref", text(&name, span), span)
    }
}

/// Whether the text inside `${...}` is a variable of the framework: a source name followed by
/// `:` (`self:`, `opt:`, `ssm:`) or by parameters (`file(...)`, `ssm(raw):`, `strToBool(...)`).
/// CloudFormation's own placeholders in an `Fn::Sub` are not: `AWS::Region` (`::`), `Bucket`
/// and `Bucket.Arn` (no source).
fn is_variable(expr: &str) -> bool {
    let expr = expr.trim_start();
    let name_len = expr
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(expr.len());
    let after = &expr[name_len..];
    name_len > 0 && ((after.starts_with(':') && !after.starts_with("::")) || after.starts_with('('))
}

/// The node at a dotted path (`custom.keys.0`); `None` where it leads nowhere or to `null`.
fn at_path<'n>(root: &'n Node, address: &str) -> Option<&'n Node> {
    let mut node = root;
    for seg in address.split('.').filter(|s| !s.is_empty()) {
        node = match &node.value {
            Value::Map(_) => node.get(seg)?,
            Value::Seq(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!node.is_null()).then_some(node)
}

enum Source {
    Value(Node),
    /// Not set (an option not given, a `self:` path that leads nowhere): the fallback applies.
    Absent,
    /// Known only at deploy time.
    Parameter,
}

/// The index of the `}` that closes a `${` whose content starts at `from`.
fn closing(s: &str, from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.get(from..)?.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(from + i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits at `sep` outside quotes, parentheses and `${...}`.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0);
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{' | '(') => depth += 1,
            (None, '}' | ')') => depth = depth.saturating_sub(1),
            (None, c) if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{Limits, yaml};

    fn resolved(text: &str) -> Resolved {
        resolve(
            &yaml::parse(text, &Limits::default()).unwrap().root,
            &|_| None,
        )
    }

    fn at<'a>(n: &'a Node, path: &str) -> &'a Node {
        path.split('.').fold(n, |n, k| n.get(k).unwrap())
    }

    #[test]
    fn self_opt_and_sls_resolve_with_defaults() {
        let r = resolved(
            "service: orders\nprovider:\n  name: aws\n  stage: ${opt:stage, 'prod'}\ncustom:\n  table: ${self:service}-${sls:stage}\n  key: ${self:custom.keys.${sls:stage}}\n  keys:\n    prod: alias/orders\nx:\n  a: ${self:custom.table}\n  b: ${self:custom.key}\n  c: ${opt:region, self:custom.missing, \"eu-west-1\"}\n  d: ${aws:region}\n",
        );
        assert_eq!(at(&r.root, "x.a").as_str(), Some("orders-prod"));
        assert_eq!(at(&r.root, "x.b").as_str(), Some("alias/orders"));
        assert_eq!(at(&r.root, "x.c").as_str(), Some("eu-west-1"));
        assert_eq!(at(&r.root, "x.d").as_str(), Some("${AWS::Region}"));
        assert_eq!(r.stage.as_str(), Some("prod"));
    }

    #[test]
    fn deploy_time_sources_stay_unknown() {
        let r = resolved(
            "service: s\nprovider:\n  name: aws\nx:\n  ssm: ${ssm:/app/key}\n  cf: ${cf:infra.KeyArn}\n  env: ${env:KEY}\n  envd: ${env:KEY, 'fallback'}\n  mixed: arn:aws:kms:${aws:region}:${env:ACCOUNT}:key/1\n  file: ${file(./x.yml):key}\n",
        );
        assert_eq!(
            at(&r.root, "x.ssm").as_str(),
            Some("{{resolve:ssm:/app/key}}")
        );
        assert_eq!(
            at(&r.root, "x.cf").intrinsic().unwrap().0,
            "Fn::ImportValue"
        );
        assert_eq!(at(&r.root, "x.env").intrinsic().unwrap().0, "Ref");
        assert_eq!(at(&r.root, "x.mixed").intrinsic().unwrap().0, "Fn::Sub");
        assert_eq!(at(&r.root, "x.file").intrinsic().unwrap().0, "Ref");
        assert!(
            r.parameters
                .contains(&("${env:KEY, 'fallback'}".into(), Some("fallback".into())))
        );
        assert!(r.parameters.contains(&("${env:ACCOUNT}".into(), None)));
    }

    #[test]
    fn cloudformation_placeholders_are_left_as_written() {
        let r = resolved(concat!(
            "service: s\nprovider:\n  name: aws\ncustom:\n  acct: '111122223333'\nx:\n",
            "  pseudo: arn:aws:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/lambda\n",
            "  attr: ${Key.Arn}\n",
            "  mixed: arn:aws:kms:${AWS::Region}:${self:custom.acct}:alias/${ Alias }\n",
        ));
        assert_eq!(
            at(&r.root, "x.pseudo").as_str(),
            Some("arn:aws:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/lambda")
        );
        assert_eq!(at(&r.root, "x.attr").as_str(), Some("${Key.Arn}"));
        assert_eq!(
            at(&r.root, "x.mixed").as_str(),
            Some("arn:aws:kms:${AWS::Region}:111122223333:alias/${ Alias }")
        );
        assert!(r.parameters.is_empty(), "{:?}", r.parameters);
        for (expr, variable) in [
            ("self:a", true),
            (" opt:stage, 'dev'", true),
            ("file(./x.yml):k", true),
            ("ssm(raw):/p", true),
            ("strToBool(true)", true),
            ("AWS::Region", false),
            ("Key.Arn", false),
            ("Key", false),
            (":x", false),
        ] {
            assert_eq!(is_variable(expr), variable, "{expr}");
        }
    }

    #[test]
    fn included_files_are_read_and_placed_at_the_variable() {
        let files = |path: &str| {
            (path == "./config.yml").then(|| {
                yaml::parse(
                    "dev:\n  key: alias/aws/lambda\n  stage: ${sls:stage}\n",
                    &Limits::default(),
                )
                .unwrap()
                .root
            })
        };
        let doc = "service: s\nprovider:\n  name: aws\nx:\n  a: ${file(./config.yml):${sls:stage}}\n  b: ${file(./other.yml)}\n  c: ${file(./config.yml):prod, 'none'}\n";
        let r = resolve(&yaml::parse(doc, &Limits::default()).unwrap().root, &files);
        let a = at(&r.root, "x.a");
        assert_eq!(
            a.get("key").and_then(Node::as_str),
            Some("alias/aws/lambda")
        );
        assert_eq!(a.get("stage").and_then(Node::as_str), Some("dev"));
        assert_eq!(a.entries()[0].key_span.start.line, 5);
        assert_eq!(at(&r.root, "x.b").intrinsic().unwrap().0, "Ref");
        assert_eq!(at(&r.root, "x.c").as_str(), Some("none"));
    }

    #[test]
    fn stage_parameters_resolve_for_the_stage_else_default() {
        let r = resolved(
            "service: s\nprovider:\n  name: aws\n  stage: prod\nstages:\n  prod:\n    params:\n      key: alias/prod\n  default:\n    params:\n      table: t\nparams:\n  default:\n    old: o\nx:\n  a: ${param:key}\n  b: ${param:table}\n  c: ${param:old}\n  d: ${param:missing}\n",
        );
        assert_eq!(at(&r.root, "x.a").as_str(), Some("alias/prod"));
        assert_eq!(at(&r.root, "x.b").as_str(), Some("t"));
        assert_eq!(at(&r.root, "x.c").as_str(), Some("o"));
        assert_eq!(at(&r.root, "x.d").intrinsic().unwrap().0, "Ref");
    }

    #[test]
    fn cycles_and_fan_out_are_bounded() {
        let r = resolved("service: s\nprovider:\n  name: aws\na: ${self:b}\nb: ${self:a}\n");
        assert!(r.root.get("a").unwrap().intrinsic().is_some());
        let mut doc = String::from("service: s\nprovider:\n  name: aws\nl0: x\n");
        for i in 1..40 {
            doc.push_str(&format!(
                "l{i}:\n  - ${{self:l{}}}\n  - ${{self:l{}}}\n",
                i - 1,
                i - 1
            ));
        }
        let r = resolved(&doc);
        assert!(r.root.get("l39").is_some());
    }

    #[test]
    fn long_values_repeated_are_bounded() {
        let long = "x".repeat(1 << 20);
        let refs = "${self:a}".repeat(40);
        let doc = format!("service: s\nprovider:\n  name: aws\na: {long}\nb: {refs}\nc: {refs}\n");
        let r = resolved(&doc);
        assert!(
            r.root
                .get("b")
                .unwrap()
                .as_str()
                .is_some_and(|b| b.len() == 40 << 20)
        );
        assert!(r.root.get("c").unwrap().intrinsic().is_some());
        let nested = format!(
            "service: s\nprovider:\n  name: aws\nx: {}a{}\n",
            "${self:".repeat(5000),
            "}".repeat(5000)
        );
        assert!(
            resolved(&nested)
                .root
                .get("x")
                .unwrap()
                .intrinsic()
                .is_some()
        );
    }

    #[test]
    fn splitting_respects_quotes_and_nesting() {
        assert_eq!(
            split_top("opt:stage, 'a,b', ${self:x, 'c'}", ','),
            ["opt:stage", " 'a,b'", " ${self:x, 'c'}"]
        );
        assert_eq!(closing("${a${b}c}", 2), Some(8));
    }
}
