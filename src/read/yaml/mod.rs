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

mod anchors;
mod tags;
#[cfg(test)]
mod tests;

use anchors::{Anchors, merge_into};
use tags::{scalar, tagged};

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
