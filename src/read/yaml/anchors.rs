//! YAML anchors, aliases and merge keys: what an alias copies, within a budget of nodes.

use super::Aliases;
use crate::read::{Entry, Node, Pos, ReadError, Span, Value};

/// Anchored nodes, and the budget of nodes their copies may still take.
pub(super) struct Anchors {
    pub(super) mode: Aliases,
    pub(super) nodes: std::collections::HashMap<String, (Node, usize)>,
    pub(super) copied: usize,
    /// Where anchors and aliases were used (problems under [`Aliases::Refuse`]).
    pub(super) uses: Vec<ReadError>,
}

impl Anchors {
    pub(super) fn expand(&self) -> bool {
        matches!(self.mode, Aliases::Expand { .. })
    }

    pub(super) fn note(&mut self, anchor: Option<&str>, at: Pos) {
        if anchor.is_some() {
            self.uses.push(ReadError::at(
                at,
                "YAML anchor: CloudFormation does not support anchors and aliases",
            ));
        }
    }

    /// Keeps a copy of an anchored node; the copy is charged to the budget, so nested anchors
    /// over a large tree cannot copy it once per level without limit.
    pub(super) fn define(&mut self, anchor: Option<String>, node: &Node) -> Result<(), ReadError> {
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

    pub(super) fn charge(
        &mut self,
        size: usize,
        max_nodes: usize,
        at: Pos,
    ) -> Result<(), ReadError> {
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
    pub(super) fn alias(
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
pub(super) fn merge_into(
    merged: &mut Vec<Entry>,
    at: Pos,
    value: Node,
    problems: &mut Vec<ReadError>,
) {
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
