//! Property: for any document, the line and column reported for a key is where that key is in
//! the text (1-based line, 1-based column in code points), in JSON and in YAML.

use atrest::read::{Limits, Node, Value, json, yaml};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Tree {
    Leaf(String),
    Map(Vec<(String, Tree)>),
}

fn key() -> impl Strategy<Value = String> {
    // Letters, digits, and some multi-byte characters so columns must count code points; and
    // words YAML would otherwise read as null or booleans.
    prop_oneof![
        "[A-Za-z][A-Za-z0-9éß€]{0,8}",
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("No".to_owned()),
    ]
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = "[a-z0-9 ]{0,6}".prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop::collection::vec((key(), inner), 1..5).prop_map(|entries| {
            // Keys must be unique within a map.
            let mut seen = std::collections::HashSet::new();
            Tree::Map(
                entries
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .collect(),
            )
        })
    })
}

fn to_json(t: &Tree, indent: usize, out: &mut String) {
    match t {
        Tree::Leaf(s) => out.push_str(&format!("{s:?}")),
        Tree::Map(entries) => {
            out.push_str("{\n");
            for (i, (k, v)) in entries.iter().enumerate() {
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&format!("{k:?}: "));
                to_json(v, indent + 2, out);
                if i + 1 < entries.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
    }
}

fn to_yaml(t: &Tree, indent: usize, out: &mut String) {
    if let Tree::Map(entries) = t {
        for (k, v) in entries {
            out.push_str(&" ".repeat(indent));
            out.push_str(k);
            out.push(':');
            match v {
                Tree::Leaf(s) => out.push_str(&format!(" '{s}'\n")),
                Tree::Map(_) => {
                    out.push('\n');
                    to_yaml(v, indent + 2, out);
                }
            }
        }
    }
}

/// Checks every key's reported position against the text.
fn check(node: &Node, lines: &[&str], quoted: bool) -> Result<(), TestCaseError> {
    if let Value::Map(entries) = &node.value {
        for e in entries {
            let line = lines[e.key_span.start.line as usize - 1];
            let at: String = line
                .chars()
                .skip(e.key_span.start.col as usize - 1)
                .collect();
            let expected = if quoted {
                format!("\"{}\"", e.key)
            } else {
                e.key.clone()
            };
            prop_assert!(
                at.starts_with(&expected),
                "key {:?} reported at {:?}, text there: {at:?}",
                e.key,
                e.key_span.start
            );
            check(&e.value, lines, quoted)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn json_key_positions_are_exact(t in tree(), indent in 0usize..3) {
        let mut text = String::new();
        to_json(&Tree::Map(vec![("Root".into(), t)]), indent, &mut text);
        let doc = json::parse(&text, &Limits::default()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        check(&doc.root, &lines, true)?;
    }

    #[test]
    fn yaml_key_positions_are_exact(t in tree()) {
        let mut text = String::new();
        to_yaml(&Tree::Map(vec![("Root".into(), t)]), 0, &mut text);
        let doc = yaml::parse(&text, &Limits::default()).unwrap();
        prop_assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        let lines: Vec<&str> = text.lines().collect();
        check(&doc.root, &lines, false)?;
    }
}
