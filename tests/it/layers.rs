//! The layers of the library, and that its `crate::` links run one way: each module uses only
//! modules below it. Today's links that run upward are listed in `UPWARD`, each a step of the
//! redesign still to take; the list may only shrink. A new module must be given its layer.

use crate::common;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The top-level modules of `src/`, lowest first. A module may use the modules before it.
const LAYERS: &[&[&str]] = &[
    // Support that knows nothing of the others.
    &["escape", "fnv", "isolate", "paths", "problem"],
    // Running git: the files it tracks, and those a change touched.
    &["git"],
    // Detect and parse, with positions.
    &["read"],
    // One resource model per AWS concept.
    &["model"],
    // Findings, the scan result and suppressions: what every later stage hands on.
    &["finding"],
    // Rego policies in regorus.
    &["engine"],
    // CloudTrail, streamed.
    &["trail"],
    // The stages wired together.
    &["scan"],
    // What the user already handled.
    &["triage"],
    // `.atrest.yaml`.
    &["config"],
    // Reports, and a scan split across machines.
    &["report"],
    &["shard"],
    // Reading an account's deployed state (the `aws` feature).
    &["collect"],
    // The command line: one module per command.
    &["cli"],
];

/// Links that run upward today: (from, to). Remove an entry when its link is gone; the test
/// fails while an entry names a link that no longer exists, so the list only shrinks.
const UPWARD: &[(&str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// Top-level module -> the top-level modules its files name with `crate::`, outside comments.
fn links(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if top == "main" || top == "lib" {
                continue;
            }
            let text = fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let code = line.split("//").next().unwrap_or_default();
                for (i, _) in code.match_indices("crate::") {
                    let rest = &code[i + "crate::".len()..];
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != top {
                        out.entry(top.clone()).or_default().insert(name);
                    }
                }
            }
            out.entry(top).or_default();
        }
    }
    out
}

#[test]
fn crate_links_run_down_the_layers() {
    let links = links(&common::manifest_dir().join("src"));
    let mut unplaced = Vec::new();
    let mut upward = BTreeSet::new();
    for (from, tos) in &links {
        let Some(lf) = layer_of(from) else {
            unplaced.push(from.clone());
            continue;
        };
        for to in tos {
            match layer_of(to) {
                None => unplaced.push(to.clone()),
                Some(lt) if lt >= lf => {
                    upward.insert((from.clone(), to.clone()));
                }
                Some(_) => {}
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules without a layer: {unplaced:?}; give each its place in LAYERS"
    );
    let allowed: BTreeSet<(String, String)> = UPWARD
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    let new: Vec<_> = upward.difference(&allowed).collect();
    assert!(
        new.is_empty(),
        "links that run upward (or sideways) through the layers: {new:?}. Move the shared type \
         down, or pass the value in, rather than import from a higher layer."
    );
    let gone: Vec<_> = allowed.difference(&upward).collect();
    assert!(
        gone.is_empty(),
        "these upward links are gone: remove them from UPWARD so they cannot come back: {gone:?}"
    );
}
