//! YAML with positions and CloudFormation's short-form tags.
//!
//! Read with `libyaml-safer`, a line-by-line port of libyaml to safe Rust: libyaml is what
//! PyYAML, cfn-lint and the AWS tooling read templates with, so a template they accept is read
//! here, and one they refuse is refused (tests/it/yaml_diff.rs checks this on every YAML file we
//! have). libyaml is more lenient than the YAML 1.2 grammar in ways real templates rely on: a
//! quoted scalar continued at its key's indentation, a flow list continued further left, a tab
//! after `key:`, a block scalar at the end of a file without a final newline.
//!
//! The reader works on the event stream rather than a loaded tree: that keeps a span on every
//! key and value, sees tags as written, sees duplicate keys (a loaded map would silently keep
//! one), and expands aliases only where asked to (see [`Aliases`]), within a budget of copied
//! nodes, so a "billion laughs" file costs what its budget allows. Short-form tags
//! become the long form (`!GetAtt A.B` -> `{"Fn::GetAtt": "A.B"}`), with the tag's span as the
//! key's span. Plain scalars are typed by the YAML 1.2 core schema.

use super::tree::duplicate_key;
use super::{Entry, Limits, MapBuilder, Node, Pos, ReadError, Span, Value};
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

/// What to do with YAML anchors (`&a`), aliases (`*a`) and merge keys (`<<: *a`).
///
/// CloudFormation refuses them: AWS's announcement of YAML templates says it supports "essentially
/// all of YAML, with the exception of hash merges, aliases, and some tags", and a template with
/// an alias fails validation with "YAML aliases are not allowed in CloudFormation templates"
/// (`aws cloudformation package` reads the template with PyYAML and writes it back, so a template
/// packaged first has them expanded; the template as written is what is checked here). The
/// Serverless Framework reads `serverless.yml` with js-yaml, which expands aliases and YAML 1.1
/// merge keys; Terraform never reads YAML, and the AWS CLI writes none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aliases {
    /// Each anchor and alias is a problem, an alias reads as null and `<<` is an ordinary key.
    Refuse,
    /// An alias is a copy of its anchored node, with the anchored node's spans (a finding inside
    /// points at the anchored text). `<<: *a` or `<<: [*a, *b]` adds the keys of those maps that
    /// the map does not write itself, the first map listed winning, as js-yaml does. Copies may
    /// hold at most `max_nodes` nodes in all; past that the file is an error.
    Expand { max_nodes: usize },
}

impl Aliases {
    /// Expansion with a budget far above what real services use (a few hundred nodes) and far
    /// below what a "billion laughs" file asks for.
    pub const EXPAND: Aliases = Aliases::Expand { max_nodes: 100_000 };
}

pub struct Parsed {
    /// The first document (CloudFormation templates have exactly one); `Null` for an empty file.
    pub root: Node,
    pub documents: usize,
    /// Problems that do not stop parsing (duplicate keys, anchors, unknown tags). They are
    /// reported only if the file turns out to be an input we understand.
    pub problems: Vec<ReadError>,
    /// With [`Aliases::Expand`], where anchors and aliases were used: the problems they are for a
    /// file that turns out to be a CloudFormation template rather than a service.
    pub anchors: Vec<ReadError>,
}

/// The short-form intrinsic functions CloudFormation defines.
const CFN_TAGS: &[&str] = &[
    "Ref",
    "Condition",
    "Base64",
    "Cidr",
    "FindInMap",
    "GetAtt",
    "GetAZs",
    "ImportValue",
    "Join",
    "Select",
    "Split",
    "Sub",
    "Transform",
    "And",
    "Equals",
    "If",
    "Not",
    "Or",
    "Contains",
    "EachMemberEquals",
    "EachMemberIn",
    "RefAll",
    "ValueOf",
    "ValueOfAll",
    "ToJsonString",
    "Length",
];

/// The prefix `!!` stands for.
const CORE: &str = "tag:yaml.org,2002:";

fn pos(m: &Mark) -> Pos {
    Pos {
        line: u32::try_from(m.line + 1).unwrap_or(u32::MAX),
        col: u32::try_from(m.column + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        tag: Option<String>,
        anchor: Option<String>,
    },
    Map {
        entries: MapBuilder,
        key: Option<Key>,
        start: Pos,
        tag: Option<String>,
        anchor: Option<String>,
        /// Entries from merge keys, added at the end where the map does not write the key.
        merged: Vec<Entry>,
    },
}

/// A key read, waiting for its value.
struct Key {
    text: String,
    span: Span,
    /// A plain `<<`, the YAML 1.1 merge key (a quoted `"<<"` is an ordinary key).
    merge: bool,
}

/// Anchored nodes, and the budget of nodes their copies may still take.
struct Anchors {
    mode: Aliases,
    nodes: std::collections::HashMap<String, (Node, usize)>,
    copied: usize,
    /// Where anchors and aliases were used (problems under [`Aliases::Refuse`]).
    uses: Vec<ReadError>,
}

impl Anchors {
    fn expand(&self) -> bool {
        matches!(self.mode, Aliases::Expand { .. })
    }

    fn note(&mut self, anchor: Option<&str>, at: Pos) {
        if anchor.is_some() {
            self.uses.push(ReadError::at(
                at,
                "YAML anchor: CloudFormation does not support anchors and aliases",
            ));
        }
    }

    /// Keeps a copy of an anchored node; the copy is charged to the budget, so nested anchors
    /// over a large tree cannot copy it once per level without limit.
    fn define(&mut self, anchor: Option<String>, node: &Node) -> Result<(), ReadError> {
        let (Some(name), Aliases::Expand { max_nodes }) = (anchor, self.mode) else {
            return Ok(());
        };
        let size = count_up_to(
            node,
            max_nodes.saturating_sub(self.copied).saturating_add(1),
        );
        self.charge(size, max_nodes, node.span.start)?;
        self.nodes.insert(name, (node.clone(), size));
        Ok(())
    }

    fn charge(&mut self, size: usize, max_nodes: usize, at: Pos) -> Result<(), ReadError> {
        self.copied = self.copied.saturating_add(size);
        if self.copied > max_nodes {
            return Err(ReadError::at(
                at,
                format!(
                    "YAML anchors and aliases copy more than {max_nodes} nodes (a \"billion laughs\"?); not read"
                ),
            ));
        }
        Ok(())
    }

    /// The copy an alias stands for; null (and a problem) for an unknown anchor.
    fn alias(
        &mut self,
        name: &str,
        here: Span,
        problems: &mut Vec<ReadError>,
    ) -> Result<Node, ReadError> {
        self.uses.push(ReadError::at(
            here.start,
            "YAML alias: CloudFormation does not support anchors and aliases",
        ));
        let Aliases::Expand { max_nodes } = self.mode else {
            return Ok(Node::new(Value::Null, here));
        };
        let Some((node, size)) = self.nodes.get(name) else {
            problems.push(ReadError::at(
                here.start,
                format!("YAML alias *{name} names no anchor written before it"),
            ));
            return Ok(Node::new(Value::Null, here));
        };
        let (node, size) = (node.clone(), *size);
        self.charge(size, max_nodes, here.start)?;
        Ok(node)
    }
}

/// Nodes in a tree, itself and each key included, counted no further than past `limit`.
fn count_up_to(node: &Node, limit: usize) -> usize {
    let mut n = 1;
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                if n > limit {
                    break;
                }
                n += count_up_to(item, limit - n);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                if n > limit {
                    break;
                }
                n += 1 + count_up_to(&e.value, limit.saturating_sub(n + 1));
            }
        }
        _ => {}
    }
    n
}

/// The entries a merge key's value adds: a map's, or those of each map in a list, an earlier map
/// winning over a later one. A value that is not one is a problem at the merge key `at`.
fn merge_into(merged: &mut Vec<Entry>, at: Pos, value: Node, problems: &mut Vec<ReadError>) {
    let maps = match value.value {
        Value::Map(_) => vec![value],
        Value::Seq(items) => items,
        _ => {
            problems.push(ReadError::at(
                at,
                "a merge key (<<) takes a map or a list of maps",
            ));
            return;
        }
    };
    for map in maps {
        let Value::Map(entries) = map.value else {
            problems.push(ReadError::at(
                map.span.start,
                "a merge key (<<) takes a map or a list of maps",
            ));
            continue;
        };
        for e in entries {
            if !merged.iter().any(|m| m.key == e.key) {
                merged.push(e);
            }
        }
    }
}

/// libyaml's error, at the place that is wrong, with what it was reading.
fn syntax_error(e: &libyaml_safer::Error, text: &str) -> ReadError {
    let mark = e.problem_mark().or(e.context_mark());
    let mut message = format!("invalid YAML: {}", e.problem());
    if let (Some(context), Some(at)) = (e.context(), e.context_mark())
        && Some(at) != e.problem_mark()
    {
        message.push_str(&format!(
            " ({context} that starts at line {}, column {})",
            at.line + 1,
            at.column + 1
        ));
    }
    let Some(mark) = mark else {
        return ReadError::whole_file(message);
    };
    let tab = text
        .lines()
        .nth(usize::try_from(mark.line).unwrap_or(usize::MAX))
        .and_then(|l| {
            l.chars()
                .nth(usize::try_from(mark.column).unwrap_or(usize::MAX))
        })
        == Some('\t');
    if tab {
        message.push_str(": a tab; YAML indents with spaces only");
    }
    ReadError::at(pos(&mark), message)
}

/// A CloudFormation template's YAML: anchors and aliases are problems (see [`Aliases`]).
pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, ReadError> {
    parse_with(text, limits, Aliases::Refuse)
}

pub fn parse_with(text: &str, limits: &Limits, aliases: Aliases) -> Result<Parsed, ReadError> {
    // libyaml-safer 0.3 panics where the last line of a block scalar (`|`, `>`) ends the file
    // without a line break, which libyaml reads. It is given the text with a break added; the
    // break is taken back off such a scalar below, so the value is libyaml's.
    let added_break = !text.is_empty() && !text.ends_with(['\n', '\r']);
    let with_break;
    let source = if added_break {
        with_break = format!("{text}\n");
        with_break.as_str()
    } else {
        text
    };
    let mut input = source.as_bytes();
    let mut parser = Parser::new();
    parser.set_input_string(&mut input);
    let mut stack: Vec<Frame> = Vec::new();
    let mut problems = Vec::new();
    let mut anchors = Anchors {
        mode: aliases,
        nodes: std::collections::HashMap::new(),
        copied: 0,
        uses: Vec::new(),
    };
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut last = Pos { line: 1, col: 1 };

    loop {
        // A panic in the parser is a defect there: this file is an input error, and the scan
        // goes on with the others.
        let parsed = crate::isolate::isolate("parsing YAML", || parser.parse());
        let Ok(parsed) = parsed else {
            return Err(ReadError::at(
                last,
                "the YAML parser (libyaml-safer) failed after this point; this is a bug to report",
            ));
        };
        let event = parsed.map_err(|e| syntax_error(&e, text))?;
        let here = Span {
            start: pos(&event.start_mark),
            end: pos(&event.end_mark),
        };
        last = here.end;
        let at_end = usize::try_from(event.end_mark.index).unwrap_or(usize::MAX) >= text.len();
        let node = match event.data {
            EventData::DocumentStart { .. } => {
                documents += 1;
                continue;
            }
            EventData::Alias { anchor } => anchors.alias(&anchor, here, &mut problems)?,
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                anchors.note(anchor.as_deref(), here.start);
                // A key keeps its text as written: `null: x` has the key "null", not "".
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    if anchors.expand() {
                        let node = Node::new(Value::String(value.clone()), here);
                        anchors.define(anchor, &node)?;
                    }
                    let merge = value == "<<" && style == ScalarStyle::Plain && tag.is_none();
                    *key = Some(Key {
                        text: value,
                        span: here,
                        merge: merge && anchors.expand(),
                    });
                    continue;
                }
                let mut value = value;
                if added_break
                    && at_end
                    && matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && value.ends_with('\n')
                {
                    value.pop();
                }
                let value = scalar(value, style, tag.as_deref());
                let node = tagged(Node::new(value, here), tag.as_deref(), &mut problems);
                anchors.define(anchor, &node)?;
                node
            }
            EventData::SequenceStart { anchor, tag, .. } => {
                anchors.note(anchor.as_deref(), here.start);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: here.start,
                    tag,
                    anchor,
                });
                continue;
            }
            EventData::MappingStart { anchor, tag, .. } => {
                anchors.note(anchor.as_deref(), here.start);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Map {
                    entries: MapBuilder::default(),
                    key: None,
                    start: here.start,
                    tag,
                    anchor,
                    merged: Vec::new(),
                });
                continue;
            }
            EventData::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    start,
                    tag,
                    anchor,
                }) => {
                    let node = Node::new(
                        Value::Seq(items),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    let node = tagged(node, tag.as_deref(), &mut problems);
                    anchors.define(anchor, &node)?;
                    node
                }
                _ => {
                    return Err(ReadError::at(
                        here.start,
                        "invalid YAML: unbalanced sequence",
                    ));
                }
            },
            EventData::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    mut entries,
                    start,
                    tag,
                    anchor,
                    merged,
                    ..
                }) => {
                    // Keys the map writes itself win over merged ones, wherever they stand.
                    for e in merged {
                        let _written = entries.push(e);
                    }
                    let node = Node::new(
                        entries.finish(),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    let node = tagged(node, tag.as_deref(), &mut problems);
                    anchors.define(anchor, &node)?;
                    node
                }
                _ => {
                    return Err(ReadError::at(
                        here.start,
                        "invalid YAML: unbalanced mapping",
                    ));
                }
            },
            EventData::StreamEnd => break,
            EventData::StreamStart { .. } | EventData::DocumentEnd { .. } => continue,
        };
        // Attach the finished node to its parent.
        match stack.last_mut() {
            None => {
                if root.is_none() {
                    root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                key,
                merged,
                ..
            }) => match key.take() {
                None => {
                    let Some(k) = node.scalar_text().or(node.is_null().then(String::new)) else {
                        return Err(ReadError::at(
                            node.span.start,
                            "a map or list used as a key is not supported",
                        ));
                    };
                    *key = Some(Key {
                        text: k,
                        span: node.span,
                        merge: false,
                    });
                }
                Some(Key {
                    merge: true, span, ..
                }) => merge_into(merged, span.start, node, &mut problems),
                Some(Key { text, span, .. }) => {
                    if let Err(first) = entries.push(Entry {
                        key: text,
                        key_span: span,
                        value: node,
                    }) {
                        problems.push(duplicate_key(first, span));
                    }
                }
            },
        }
    }
    let root = root.unwrap_or_else(|| Node::new(Value::Null, Span::default()));
    let anchors = if anchors.expand() {
        anchors.uses
    } else {
        if !anchors.uses.is_empty() {
            problems.extend(anchors.uses);
            problems.sort_by_key(|p| (p.line, p.column));
        }
        Vec::new()
    };
    Ok(Parsed {
        root,
        documents,
        problems,
        anchors,
    })
}

fn check_depth(stack: &[Frame], limits: &Limits, at: Pos) -> Result<(), ReadError> {
    if stack.len() >= limits.max_depth {
        return Err(ReadError::at(
            at,
            format!("nesting deeper than {} levels", limits.max_depth),
        ));
    }
    Ok(())
}

/// A tag written with the `!` handle (`!Ref`), as opposed to `!!str` or a full URI.
fn local(tag: &str) -> Option<&str> {
    tag.strip_prefix('!')
}

/// Plain scalars follow the YAML 1.2 core schema; quoted ones are always strings.
fn scalar(text: String, style: ScalarStyle, tag: Option<&str>) -> Value {
    if let Some(t) = tag {
        // `!!str`, and a CloudFormation tag's argument (`!Ref X`, `!Sub "..."`), are strings.
        if t == "tag:yaml.org,2002:str" || local(t).is_some() {
            return Value::String(text);
        }
    }
    if style != ScalarStyle::Plain {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ if looks_numeric(&text) => Value::Number(text),
        _ => Value::String(text),
    }
}

fn looks_numeric(s: &str) -> bool {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() {
        return false;
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    digits.parse::<f64>().is_ok() && digits.bytes().any(|b| b.is_ascii_digit())
}

fn tagged(node: Node, tag: Option<&str>, problems: &mut Vec<ReadError>) -> Node {
    let Some(tag) = tag else { return node };
    if tag.starts_with(CORE) {
        return node;
    }
    // `!Rain::Embed` and friends are directives of the `rain` CLI, which rewrites the template
    // before deploying it: kept as an opaque function, like an intrinsic we do not evaluate.
    if let Some(name) = local(tag)
        && (CFN_TAGS.contains(&name) || name.starts_with("Rain::"))
    {
        let key = match name {
            "Ref" | "Condition" => name.to_owned(),
            other if other.starts_with("Rain::") => other.to_owned(),
            other => format!("Fn::{other}"),
        };
        let span = node.span;
        return Node::new(
            Value::Map(vec![Entry {
                key,
                key_span: span,
                value: node,
            }]),
            span,
        );
    }
    problems.push(ReadError::at(node.span.start, format!("unknown tag {tag}")));
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Parsed {
        parse(text, &Limits::default()).unwrap()
    }

    #[test]
    fn short_form_tags_become_intrinsics() {
        let doc = parse_ok("A: !Ref Key\nB: !GetAtt [Key, Arn]\nC: !Sub 'x-${Y}'\n");
        let a = doc.root.get("A").unwrap();
        assert_eq!(a.intrinsic().unwrap().0, "Ref");
        assert_eq!(a.intrinsic().unwrap().1.as_str(), Some("Key"));
        let b = doc.root.get("B").unwrap().intrinsic().unwrap();
        assert_eq!(b.0, "Fn::GetAtt");
        assert_eq!(b.1.items().len(), 2);
        assert_eq!(doc.root.get("C").unwrap().intrinsic().unwrap().0, "Fn::Sub");
        assert!(doc.problems.is_empty());
    }

    #[test]
    fn key_positions_are_one_based() {
        let doc = parse_ok("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n");
        let fns = doc.root.get("Resources").unwrap().entry("Fn").unwrap();
        assert_eq!(fns.key_span.start, Pos { line: 2, col: 3 });
    }

    #[test]
    fn scalars_resolve_like_yaml_core() {
        let doc = parse_ok("a: true\nb: '1'\nc: 012\nd: ~\ne: text\n");
        assert_eq!(doc.root.get("a").unwrap().value, Value::Bool(true));
        assert_eq!(doc.root.get("b").unwrap().value, Value::String("1".into()));
        assert_eq!(
            doc.root.get("c").unwrap().value,
            Value::Number("012".into())
        );
        assert_eq!(doc.root.get("d").unwrap().value, Value::Null);
        assert_eq!(
            doc.root.get("e").unwrap().value,
            Value::String("text".into())
        );
    }

    #[test]
    fn duplicates_anchors_and_unknown_tags_are_problems() {
        let doc = parse_ok("a: 1\na: 2\nb: &x {k: v}\nc: *x\nd: !Bogus 1\ne: !Rain::Embed f.txt\n");
        assert_eq!(
            doc.root.get("e").unwrap().intrinsic().unwrap().0,
            "Rain::Embed"
        );
        let msgs: Vec<_> = doc.problems.iter().map(|p| p.message.clone()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("duplicate key \"a\"")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("anchor")));
        assert!(msgs.iter().any(|m| m.contains("alias")));
        assert!(msgs.iter().any(|m| m.contains("unknown tag !Bogus")));
        assert_eq!(msgs.len(), 4, "{msgs:?}");
    }

    #[test]
    fn billion_laughs_is_not_expanded() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
        }
        let doc = parse_ok(&text);
        assert!(!doc.problems.is_empty());
    }

    fn expanded(text: &str) -> Parsed {
        parse_with(text, &Limits::default(), Aliases::EXPAND).unwrap()
    }

    #[test]
    fn an_alias_is_a_copy_with_the_anchored_spans() {
        let doc = expanded("a: &k\n  x: 1\nb: *k\nc: &s text\nd: [*s, *s]\n");
        let (a, b) = (doc.root.get("a").unwrap(), doc.root.get("b").unwrap());
        assert_eq!(a, b);
        assert_eq!(
            b.entry("x").unwrap().key_span.start,
            Pos { line: 2, col: 3 }
        );
        let d = doc.root.get("d").unwrap().items();
        assert_eq!(d[1].as_str(), Some("text"));
        assert_eq!(d[1].span.start, Pos { line: 4, col: 4 });
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        // Where they were used, for a file that turns out to be a template.
        assert_eq!(doc.anchors.len(), 5, "{:?}", doc.anchors);
    }

    #[test]
    fn merge_keys_add_what_the_map_does_not_write() {
        let text = "\
base: &base {a: 1, b: 1}
more: &more {b: 2, c: 2}
one:
  a: 0
  <<: *base
  z: 0
list:
  <<: [*more, *base]
  c: 3
quoted:
  \"<<\": *base
";
        let doc = expanded(text);
        let get = |m: &str, k: &str| {
            let map = doc.root.get(m).unwrap();
            map.get(k).and_then(Node::scalar_text)
        };
        // Explicit keys win, before or after the merge key.
        assert_eq!(get("one", "a").as_deref(), Some("0"));
        assert_eq!(get("one", "b").as_deref(), Some("1"));
        assert_eq!(get("one", "z").as_deref(), Some("0"));
        assert!(doc.root.get("one").unwrap().get("<<").is_none());
        // In a list, the first map listed wins.
        assert_eq!(get("list", "b").as_deref(), Some("2"));
        assert_eq!(get("list", "a").as_deref(), Some("1"));
        assert_eq!(get("list", "c").as_deref(), Some("3"));
        // A merged key points at the anchored text.
        let b = doc.root.get("one").unwrap().entry("b").unwrap();
        assert_eq!(b.key_span.start, Pos { line: 1, col: 20 });
        // A quoted "<<" is an ordinary key.
        assert!(doc.root.get("quoted").unwrap().get("<<").is_some());
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    }

    #[test]
    fn refused_aliases_leave_merge_keys_alone() {
        let doc = parse_ok("b: &b {a: 1}\nm:\n  <<: *b\n");
        let m = doc.root.get("m").unwrap();
        assert!(m.get("<<").unwrap().is_null());
        assert!(m.get("a").is_none());
        assert_eq!(doc.problems.len(), 2, "{:?}", doc.problems);
        assert!(doc.anchors.is_empty());
    }

    #[test]
    fn bad_aliases_and_merges_are_problems() {
        let doc = expanded("a: *nowhere\nb: &s text\nm:\n  <<: *s\nn:\n  <<: [{x: 1}, 2]\n");
        assert!(doc.root.get("a").unwrap().is_null());
        assert_eq!(doc.root.get("n").unwrap().get("x").unwrap().as_str(), None);
        let at: Vec<_> = doc.problems.iter().map(|p| (p.line, p.column)).collect();
        assert_eq!(
            at,
            [(Some(1), Some(4)), (Some(4), Some(3)), (Some(6), Some(16))],
            "{:?}",
            doc.problems
        );
        assert!(doc.problems[0].message.contains("*nowhere"));
        assert!(doc.problems[1].message.contains("merge key"));
    }

    #[test]
    fn billion_laughs_stops_at_the_budget() {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..30 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(", ")));
        }
        let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
            .err()
            .unwrap();
        assert!(e.message.contains("more than 100000 nodes"), "{e}");
        // Copies of a0..a3 and the nine aliases in a4 take about 82,000 nodes; keeping a4 (about
        // 73,000) passes the budget, at the anchor &a4.
        assert_eq!((e.line, e.column), (Some(5), Some(5)), "{e}");
        // Merge keys copy too.
        let mut text = String::from("m0: &m0 {a: 1, b: 2, c: 3, d: 4}\n");
        for i in 1..30 {
            let refs: Vec<_> = (0..9).map(|_| format!("*m{}", i - 1)).collect();
            text.push_str(&format!(
                "m{i}: &m{i} {{<<: [{}], k{i}: [{}]}}\n",
                refs[0],
                refs.join(", ")
            ));
        }
        let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
            .err()
            .unwrap();
        assert!(e.message.contains("billion laughs"), "{e}");
        // Anchors nested over one large list, none of them aliased, copy it once per level.
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("{}k{i}: &n{i}\n", " ".repeat(i)));
        }
        text.push_str(&format!(
            "{}big: [{}]\n",
            " ".repeat(200),
            vec!["x"; 1000].join(", ")
        ));
        let e = parse_with(&text, &Limits::default(), Aliases::EXPAND)
            .err()
            .unwrap();
        assert!(e.message.contains("more than 100000 nodes"), "{e}");
        assert!(parse(&text, &Limits::default()).is_ok());
    }

    #[test]
    fn what_libyaml_reads_is_read() {
        // A quoted scalar continued at, or left of, its key's indentation.
        let doc = parse_ok("R:\n  D: \"a\n  b\"\n  E: 'c\n d'\n");
        let r = doc.root.get("R").unwrap();
        assert_eq!(r.get("D").unwrap().as_str(), Some("a b"));
        assert_eq!(r.get("E").unwrap().as_str(), Some("c d"));
        // A flow list continued further left, and a tab after the colon.
        let doc = parse_ok("R:\n  L: [a,\n b]\n  T:\tx\n");
        let r = doc.root.get("R").unwrap();
        assert_eq!(r.get("L").unwrap().items().len(), 2);
        assert_eq!(r.get("T").unwrap().as_str(), Some("x"));
        // A block scalar that ends the file without a line break has none (clip or keep).
        for (text, want) in [
            ("a: |\n  x\n  y", "x\ny"),
            ("a: >\n  x\n  y", "x y"),
            ("a: |+\n  x", "x"),
            ("a: |\n  x\n", "x\n"),
            ("a: |\n  x\nb: |-\n  y", "x\n"),
        ] {
            let doc = parse_ok(text);
            assert_eq!(doc.root.get("a").unwrap().as_str(), Some(want), "{text:?}");
        }
    }

    #[test]
    fn errors_point_at_what_is_wrong() {
        let e = parse("a:\n  b: \"x \\q\"\n", &Limits::default())
            .err()
            .unwrap();
        assert_eq!((e.line, e.column), (Some(2), Some(9)), "{e}");
        assert!(e.message.contains("unknown escape"), "{e}");
        assert!(e.message.contains("starts at line 2, column 6"), "{e}");
        let e = parse("a: \"open\nb: 1\n", &Limits::default())
            .err()
            .unwrap();
        assert_eq!(e.line, Some(3), "{e}");
    }

    /// libyaml-safer 0.3 panics on a tag followed by a comma in a flow list (libyaml reads an
    /// empty value there): an error for this file, not a crash of the scan.
    #[test]
    fn a_parser_panic_is_an_error() {
        let e = parse("a: [!Ref,x]\n", &Limits::default()).err().unwrap();
        assert!(e.message.contains("bug to report"), "{e}");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn syntax_errors_carry_a_line() {
        let e = parse("a:\n  b: [1, 2\nc: 3\n", &Limits::default())
            .err()
            .unwrap();
        assert!(e.line.is_some());
        let e = parse("a:\n  b: 1\n\tc: 2\n", &Limits::default())
            .err()
            .unwrap();
        assert!(e.message.contains("tab"), "{e}");
        assert!(e.line.is_some_and(|l| l >= 2), "{e}");
    }
}
