//! Key policies, normalised into [`PolicyStatement`]s, whatever the source: a template's
//! `KeyPolicy` (a map, or a JSON string, with intrinsic functions) or `get-key-policy` output.

use super::PolicyStatement;
use crate::read::{Node, Value};

/// Turns one principal or action into text; where it refers to a resource of the same input
/// (a role), that resource's id is pushed to the list.
pub type Resolve<'a> = &'a dyn Fn(&Node, &mut Vec<String>) -> String;

/// A key policy's statements, normalised; `None` when the policy cannot be read (it is
/// computed, or not a JSON document).
pub fn statements(policy: &Node, resolve: Resolve) -> Option<Vec<PolicyStatement>> {
    let parsed;
    let policy = match &policy.value {
        Value::String(text) => {
            parsed = crate::read::json::parse(text, &crate::read::Limits::default()).ok()?;
            &parsed.root
        }
        _ if policy.intrinsic().is_some() => return None,
        _ => policy,
    };
    let statements = policy.get("Statement")?;
    let list: Vec<&Node> = match &statements.value {
        Value::Seq(items) => items.iter().collect(),
        Value::Map(_) if statements.intrinsic().is_none() => vec![statements],
        _ => return None,
    };
    let strings = |node: Option<&Node>, refs: &mut Vec<String>| -> Vec<String> {
        let items: Vec<&Node> = match node {
            None => Vec::new(),
            Some(n) if matches!(n.value, Value::Seq(_)) => n.items().iter().collect(),
            Some(n) => vec![n],
        };
        items.into_iter().map(|n| resolve(n, refs)).collect()
    };
    let mut out = Vec::new();
    for st in list {
        let mut refs = Vec::new();
        let principal = st.get("Principal");
        let any_principal = principal.is_some_and(|p| {
            p.as_str() == Some("*") || p.get("AWS").and_then(Node::as_str) == Some("*")
        });
        let aws_principals = strings(principal.and_then(|p| p.get("AWS")), &mut refs);
        let service_principals = strings(principal.and_then(|p| p.get("Service")), &mut Vec::new());
        let actions = strings(st.get("Action"), &mut Vec::new());
        let condition_keys = st
            .get("Condition")
            .map(|c| {
                c.entries()
                    .iter()
                    .flat_map(|op| {
                        op.value
                            .entries()
                            .iter()
                            .map(|k| k.key.to_ascii_lowercase())
                    })
                    .collect()
            })
            .unwrap_or_default();
        refs.sort();
        refs.dedup();
        out.push(PolicyStatement {
            sid: st.get("Sid").and_then(Node::scalar_text),
            effect: st
                .get("Effect")
                .and_then(Node::scalar_text)
                .unwrap_or_default(),
            any_principal,
            aws_principals,
            service_principals,
            principal_resources: refs,
            actions,
            condition_keys,
        });
    }
    Some(out)
}

/// For documents without intrinsic functions (API output): every string as written.
pub fn literal(node: &Node, _refs: &mut Vec<String>) -> String {
    node.scalar_text().unwrap_or_else(|| "${?}".to_owned())
}
