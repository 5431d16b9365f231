//! Tags and plain scalars: CloudFormation's short forms into the long form, and the YAML 1.2
//! core schema.

use crate::read::{Entry, Node, ReadError, Value};
use libyaml_safer::ScalarStyle;

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

/// A tag written with the `!` handle (`!Ref`), as opposed to `!!str` or a full URI.
fn local(tag: &str) -> Option<&str> {
    tag.strip_prefix('!')
}

/// Plain scalars follow the YAML 1.2 core schema; quoted ones are always strings.
pub(super) fn scalar(text: String, style: ScalarStyle, tag: Option<&str>) -> Value {
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

pub(super) fn tagged(node: Node, tag: Option<&str>, problems: &mut Vec<ReadError>) -> Node {
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
