//! Suppressions written in the analysed file: `atrest:ignore` comments (YAML, HCL) and
//! CloudFormation `Metadata` (YAML or JSON).
//!
//! ```yaml
//! Resources:
//!   # atrest:ignore ATR-L001 reason="variables hold no data" until=2027-01-31
//!   Fn:
//!     Type: AWS::Lambda::Function
//!     Metadata:
//!       atrest:
//!         ignore:
//!           - {id: ATR-L003, reason: "built by the platform pipeline"}
//! ```
//!
//! A comment applies to the resource it is in, or, on a line of its own, to what the next line
//! of code declares: a whole resource when that line starts one, otherwise the findings on that
//! line. A comment after code applies to that line. Files are read again only for this, and only
//! those that have findings (or every scanned file with `--report-unused-suppressions`).

use super::comments::{self, Comment};
use super::{Directive, Notice, NoticeKind, Place, Suppression, SuppressionKind, Target, Via};
use crate::read::detect::{NameHint, ReadOutcome, classify};
use crate::read::{Limits, Node, Value};
use std::path::Path;

const MARKER: &str = "atrest:ignore";

/// A resource's name and the lines it spans, inclusive.
struct Extent {
    name: String,
    start: u32,
    end: u32,
}

/// The suppressions written in one file (shown as `file`, read from `root.join(file)`), and
/// notices for the malformed ones.
pub fn directives(file: &str, root: &Path, limits: &Limits) -> (Vec<Directive>, Vec<Notice>) {
    let Ok(bytes) = crate::read::file::read_bounded(&root.join(file), limits.max_template_bytes)
    else {
        return (Vec::new(), Vec::new());
    };
    let Ok(text) = crate::read::text::decode(&bytes) else {
        return (Vec::new(), Vec::new());
    };
    // Both forms name `atrest`; most files need no second parse.
    if !text.contains("atrest") {
        return (Vec::new(), Vec::new());
    }
    let mut out = Vec::new();
    let mut notices = Vec::new();
    let hcl = [".tf", ".hcl", ".tfvars"]
        .iter()
        .any(|ext| file.to_ascii_lowercase().ends_with(ext));
    let (found, extents) = if hcl {
        let (found, blocks) = comments::hcl(&text);
        let extents = blocks
            .into_iter()
            .map(|b| Extent {
                name: b.name,
                start: b.start,
                end: b.end,
            })
            .collect();
        (found, extents)
    } else {
        let tree = match classify(&bytes, NameHint::Template, limits) {
            ReadOutcome::Input(input) => Some(input.root),
            _ => None,
        };
        let mut found = comments::yaml(&text);
        let mut extents = Vec::new();
        if let Some(root_node) = &tree {
            // Lines that continue a multi-line scalar; scalars are leaves, so this costs at most
            // one mark per line.
            let mut ranges = Vec::new();
            multi_line_scalars(root_node, &mut ranges);
            let mut continued = vec![false; text.lines().count() + 2];
            for (start, end) in ranges {
                for l in start + 1..=end {
                    if let Some(slot) = continued.get_mut(l as usize) {
                        *slot = true;
                    }
                }
            }
            found.retain(|c| !continued.get(c.line as usize).copied().unwrap_or(false));
            extents = resource_extents(root_node);
            metadata(file, root_node, &mut out, &mut notices);
        }
        // JSON has no comments; a `#` in a JSON string is not one.
        if text.trim_start().starts_with('{') {
            found.clear();
        }
        (found, extents)
    };
    let lines: Vec<&str> = text.lines().collect();
    for c in found.iter().filter(|c| c.text.starts_with(MARKER)) {
        match parse_comment(c) {
            Ok((rules, reason, until)) => {
                let target = comment_target(file, c, &lines, &extents);
                out.push(Directive {
                    rules,
                    target,
                    suppression: Suppression {
                        kind: SuppressionKind::InSource,
                        via: Via::Comment,
                        justification: reason,
                        until,
                        place: Some(place(file, c.line, c.col)),
                    },
                });
            }
            Err(e) => notices.push(invalid(place(file, c.line, c.col), &e)),
        }
    }
    (out, notices)
}

fn place(file: &str, line: u32, column: u32) -> Place {
    Place {
        file: file.to_owned(),
        line,
        column,
    }
}

fn invalid(place: Place, why: &str) -> Notice {
    Notice {
        kind: NoticeKind::Invalid,
        place: Some(place),
        message: format!("suppression ignored: {why}"),
    }
}

/// `atrest:ignore ATR-L001[,ATR-L002] reason="..." [until=YYYY-MM-DD]`.
fn parse_comment(c: &Comment) -> Result<(Vec<String>, String, Option<super::Date>), String> {
    let rest = c.text[MARKER.len()..].trim_start();
    let mut rules = Vec::new();
    let mut reason = None;
    let mut until = None;
    let mut chars = rest.char_indices().peekable();
    while let Some(&(start, ch)) = chars.peek() {
        if ch.is_whitespace() || ch == ',' {
            chars.next();
            continue;
        }
        // A word: up to whitespace, a comma, or `=`.
        let mut end = rest.len();
        while let Some(&(i, ch)) = chars.peek() {
            if ch.is_whitespace() || ch == ',' || ch == '=' {
                end = i;
                break;
            }
            chars.next();
        }
        let word = &rest[start..end];
        if chars.peek().map(|&(_, ch)| ch) != Some('=') {
            rules.push(word.to_owned());
            continue;
        }
        chars.next();
        let value = match chars.peek() {
            Some(&(i, q @ ('"' | '\''))) => {
                chars.next();
                let close = rest[i + 1..]
                    .find(q)
                    .ok_or_else(|| format!("{word}= has no closing {q}"))?;
                let value = rest[i + 1..i + 1 + close].to_owned();
                while chars.peek().is_some_and(|&(j, _)| j <= i + 1 + close) {
                    chars.next();
                }
                value
            }
            Some(&(i, _)) => {
                let len = rest[i..]
                    .find(char::is_whitespace)
                    .unwrap_or(rest.len() - i);
                while chars.peek().is_some_and(|&(j, _)| j < i + len) {
                    chars.next();
                }
                rest[i..i + len].to_owned()
            }
            None => String::new(),
        };
        match word {
            "reason" => reason = Some(value),
            "until" => until = Some(value),
            other => return Err(format!("unknown field {other}= (use reason= and until=)")),
        }
    }
    if rules.is_empty() {
        return Err(format!("name the rule: {MARKER} ATR-L001 reason=\"...\""));
    }
    let until = super::check_fields(reason.as_deref(), until.as_deref())?;
    Ok((rules, reason.unwrap_or_default(), until))
}

/// What a comment applies to; see the module documentation.
fn comment_target(file: &str, c: &Comment, lines: &[&str], extents: &[Extent]) -> Target {
    let line = if c.standalone {
        next_code_line(lines, c.line).unwrap_or(c.line)
    } else {
        c.line
    };
    let resource = |e: &Extent| Target::Resource {
        file: file.to_owned(),
        name: e.name.clone(),
        lines: (e.start, e.end),
    };
    if let Some(e) = extents.iter().find(|e| e.start == line) {
        return resource(e);
    }
    if let Some(e) = extents.iter().find(|e| (e.start..=e.end).contains(&c.line)) {
        return resource(e);
    }
    Target::Line {
        file: file.to_owned(),
        line,
    }
}

/// The first line after `after` (1-based) that holds code, not blank and not only a comment.
fn next_code_line(lines: &[&str], after: u32) -> Option<u32> {
    lines
        .iter()
        .enumerate()
        .skip(after as usize)
        .find(|(_, l)| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with("//")
        })
        .map(|(i, _)| i as u32 + 1)
}

/// Line ranges of scalars that span lines (block scalars, multi-line quoted strings): a `#` in
/// them is content, not a comment.
fn multi_line_scalars(node: &Node, out: &mut Vec<(u32, u32)>) {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .for_each(|e| multi_line_scalars(&e.value, out)),
        Value::Seq(items) => items.iter().for_each(|n| multi_line_scalars(n, out)),
        _ if node.span.end.line > node.span.start.line => {
            out.push((node.span.start.line, node.span.end.line))
        }
        _ => {}
    }
}

/// The last line that holds content of a node (a block mapping's end marker may sit on the
/// next key's line).
fn last_line(node: &Node) -> u32 {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .map(|e| e.key_span.end.line.max(last_line(&e.value)))
            .max()
            .unwrap_or(node.span.start.line),
        Value::Seq(items) => items
            .iter()
            .map(last_line)
            .max()
            .unwrap_or(node.span.start.line),
        _ => node.span.end.line.max(node.span.start.line),
    }
}

fn resource_extents(root: &Node) -> Vec<Extent> {
    root.get("Resources")
        .map(|r| r.entries())
        .unwrap_or_default()
        .iter()
        .map(|e| Extent {
            name: e.key.clone(),
            start: e.key_span.start.line,
            end: e.key_span.start.line.max(last_line(&e.value)),
        })
        .collect()
}

/// `Metadata: {atrest: {ignore: [{id, reason, until}]}}` on each resource. `id` may also be a
/// list of rule IDs.
fn metadata(file: &str, root: &Node, out: &mut Vec<Directive>, notices: &mut Vec<Notice>) {
    let Some(resources) = root.get("Resources") else {
        return;
    };
    for res in resources.entries() {
        let Some(list) = res
            .value
            .get("Metadata")
            .and_then(|m| m.get("atrest"))
            .and_then(|a| a.get("ignore"))
        else {
            continue;
        };
        for item in list.items() {
            let at = place(file, item.span.start.line, item.span.start.col);
            let text = |k: &str| item.get(k).and_then(Node::scalar_text);
            let rules: Vec<String> = match item.get("id") {
                Some(n) if !n.items().is_empty() => {
                    n.items().iter().filter_map(Node::scalar_text).collect()
                }
                Some(n) => n.scalar_text().into_iter().collect(),
                None => Vec::new(),
            };
            if rules.is_empty() {
                notices.push(invalid(at, "needs an id (the rule to ignore)"));
                continue;
            }
            match super::check_fields(text("reason").as_deref(), text("until").as_deref()) {
                Ok(until) => out.push(Directive {
                    rules,
                    target: Target::Resource {
                        file: file.to_owned(),
                        name: res.key.clone(),
                        lines: (
                            res.key_span.start.line,
                            res.key_span.start.line.max(last_line(&res.value)),
                        ),
                    },
                    suppression: Suppression {
                        kind: SuppressionKind::InSource,
                        via: Via::Metadata,
                        justification: text("reason").unwrap_or_default(),
                        until,
                        place: Some(at),
                    },
                }),
                Err(e) => notices.push(invalid(at, &e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(text: &str) -> Comment {
        Comment {
            line: 1,
            col: 1,
            text: text.into(),
            standalone: true,
        }
    }

    #[test]
    fn comments_name_rules_a_reason_and_an_expiry() {
        let (rules, reason, until) = parse_comment(&comment(
            "atrest:ignore ATR-L001,ATR-L004 reason=\"env holds no data\" until=2027-01-31",
        ))
        .unwrap();
        assert_eq!(rules, ["ATR-L001", "ATR-L004"]);
        assert_eq!(reason, "env holds no data");
        assert_eq!(until.unwrap().to_string(), "2027-01-31");
        let (_, reason, until) =
            parse_comment(&comment("atrest:ignore ATR-L001 reason='single'")).unwrap();
        assert_eq!((reason.as_str(), until), ("single", None));
        for bad in [
            "atrest:ignore ATR-L001",
            "atrest:ignore reason=\"x\"",
            "atrest:ignore ATR-L001 reason=\"x\" until=tomorrow",
            "atrest:ignore ATR-L001 reason=\"unclosed",
            "atrest:ignore ATR-L001 because=\"x\"",
        ] {
            assert!(parse_comment(&comment(bad)).is_err(), "{bad}");
        }
    }
}
