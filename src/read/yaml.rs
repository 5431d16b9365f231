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
//! one), and never expands aliases, so a "billion laughs" file costs nothing. Short-form tags
//! become the long form (`!GetAtt A.B` -> `{"Fn::GetAtt": "A.B"}`), with the tag's span as the
//! key's span. Plain scalars are typed by the YAML 1.2 core schema.

use super::tree::duplicate_key;
use super::{Entry, Limits, MapBuilder, Node, Pos, ReadError, Span, Value};
use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};

pub struct Parsed {
    /// The first document (CloudFormation templates have exactly one); `Null` for an empty file.
    pub root: Node,
    pub documents: usize,
    /// Problems that do not stop parsing (duplicate keys, anchors, unknown tags). They are
    /// reported only if the file turns out to be an input we understand.
    pub problems: Vec<ReadError>,
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
    },
    Map {
        entries: MapBuilder,
        key: Option<(String, Span)>,
        start: Pos,
        tag: Option<String>,
    },
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

pub fn parse(text: &str, limits: &Limits) -> Result<Parsed, ReadError> {
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
            EventData::Alias { .. } => {
                problems.push(ReadError::at(
                    here.start,
                    "YAML alias: CloudFormation does not support anchors and aliases",
                ));
                Node::new(Value::Null, here)
            }
            EventData::Scalar {
                anchor,
                tag,
                value,
                style,
                ..
            } => {
                note_anchor(anchor.is_some(), here.start, &mut problems);
                // A key keeps its text as written: `null: x` has the key "null", not "".
                if let Some(Frame::Map {
                    key: key @ None, ..
                }) = stack.last_mut()
                {
                    *key = Some((value, here));
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
                tagged(Node::new(value, here), tag.as_deref(), &mut problems)
            }
            EventData::SequenceStart { anchor, tag, .. } => {
                note_anchor(anchor.is_some(), here.start, &mut problems);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    start: here.start,
                    tag,
                });
                continue;
            }
            EventData::MappingStart { anchor, tag, .. } => {
                note_anchor(anchor.is_some(), here.start, &mut problems);
                check_depth(&stack, limits, here.start)?;
                stack.push(Frame::Map {
                    entries: MapBuilder::default(),
                    key: None,
                    start: here.start,
                    tag,
                });
                continue;
            }
            EventData::SequenceEnd => match stack.pop() {
                Some(Frame::Seq { items, start, tag }) => {
                    let node = Node::new(
                        Value::Seq(items),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    tagged(node, tag.as_deref(), &mut problems)
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
                    entries,
                    start,
                    tag,
                    ..
                }) => {
                    let node = Node::new(
                        entries.finish(),
                        Span {
                            start,
                            end: here.end,
                        },
                    );
                    tagged(node, tag.as_deref(), &mut problems)
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
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => {
                    let Some(k) = node.scalar_text().or(node.is_null().then(String::new)) else {
                        return Err(ReadError::at(
                            node.span.start,
                            "a map or list used as a key is not supported",
                        ));
                    };
                    *key = Some((k, node.span));
                }
                Some((k, key_span)) => {
                    if let Err(first) = entries.push(Entry {
                        key: k,
                        key_span,
                        value: node,
                    }) {
                        problems.push(duplicate_key(first, key_span));
                    }
                }
            },
        }
    }
    let root = root.unwrap_or_else(|| Node::new(Value::Null, Span::default()));
    Ok(Parsed {
        root,
        documents,
        problems,
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

fn note_anchor(anchor: bool, at: Pos, problems: &mut Vec<ReadError>) {
    if anchor {
        problems.push(ReadError::at(
            at,
            "YAML anchor: CloudFormation does not support anchors and aliases",
        ));
    }
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
