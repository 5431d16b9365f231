//! What CloudFormation accepts, atrest reads: every YAML file of the fixtures, the examples and
//! `../shared/corpus` is read by atrest's YAML reader and by libyaml (PyYAML's CSafeLoader, with
//! the CloudFormation short-form tags, via tests/yaml_diff.py), and both must give the same tree
//! and the same verdict (read or refused), but for the documented exceptions below.
//!
//! Without PyYAML built with libyaml the test says it is skipped; with `ATREST_REQUIRE_PYYAML=1`
//! (CI) it fails instead. `ATREST_PYTHON` names the interpreter (default `python3`);
//! `ATREST_YAML_DIFF_DIRS` adds folders (`:`-separated) to compare.

use crate::common;
use atrest::read::{Limits, Node, Value, text, yaml};
use serde_json::{Value as Json, json};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Files where atrest and libyaml disagree on purpose: (path suffix, why).
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "tests/data/yaml/complex-key.yaml",
        "a list as a map key: libyaml reads it, but a CloudFormation template is JSON-shaped and \
         its keys are strings, so atrest refuses it with its own error",
    ),
    (
        "tests/data/yaml/tag-then-comma-in-flow.yaml",
        "a tag directly followed by a comma in a flow list (`[!Ref,x]`, an empty tagged value): \
         libyaml reads it; libyaml-safer 0.3 panics there, which atrest turns into an input error \
         for the file. No template we know of has it.",
    ),
];

fn yaml_files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| x == "yaml" || x == "yml")
        {
            out.push(p);
        }
    }
}

/// atrest's tree in the form tests/yaml_diff.py prints.
fn tree(node: &Node) -> Json {
    match &node.value {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b.to_string()),
        Value::Number(s) | Value::String(s) => json!(s),
        Value::Seq(items) => Json::Array(items.iter().map(tree).collect()),
        Value::Map(entries) => Json::Array(
            entries
                .iter()
                .map(|e| json!([e.key, tree(&e.value)]))
                .collect(),
        ),
    }
}

/// Where an error is: (line, column), 1-based.
type At = (Option<u32>, Option<u32>);

/// atrest's tree, or where and why it refuses the file; `None` for a file atrest reads as JSON.
fn atrest_reads(path: &Path) -> Option<Result<Json, (At, String)>> {
    let bytes = std::fs::read(path).unwrap();
    let text = match text::decode(&bytes) {
        Ok(t) => t,
        Err(e) => return Some(Err(((e.line, e.column), e.message))),
    };
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return None;
    }
    Some(match yaml::parse(&text, &Limits::default()) {
        Ok(p) => Ok(tree(&p.root)),
        Err(e) => Err(((e.line, e.column), e.to_string())),
    })
}

const TEST: &str = "yaml_diff::atrest_reads_yaml_as_libyaml_does";

#[test]
fn atrest_reads_yaml_as_libyaml_does() {
    let root = common::manifest_dir();
    let mut files = Vec::new();
    yaml_files(&root.join("fixtures"), &mut files);
    yaml_files(&root.join("examples"), &mut files);
    // The shapes where YAML readers disagree most: see tests/data/yaml/README.md.
    yaml_files(&root.join("tests/data/yaml"), &mut files);
    if let Some(corpus) = common::shared_corpus("") {
        yaml_files(&corpus, &mut files);
    }
    // More folders to compare, separated by `:` (your own templates, say).
    for dir in std::env::var("ATREST_YAML_DIFF_DIRS")
        .unwrap_or_default()
        .split(':')
    {
        if !dir.is_empty() {
            yaml_files(Path::new(dir), &mut files);
        }
    }
    files.sort();
    assert!(files.len() > 20, "{} YAML files", files.len());

    let python = std::env::var("ATREST_PYTHON").unwrap_or_else(|_| "python3".into());
    let list: String = files.iter().map(|f| format!("{}\n", f.display())).collect();
    let run = Command::new(&python)
        .arg(root.join("tests/yaml_diff.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin is piped")
                .write_all(list.as_bytes())?;
            child.wait_with_output()
        });
    let out = match run {
        Ok(out) if out.status.code() == Some(3) || !out.status.success() => {
            let why = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            common::skip(TEST, &format!("{python}: {why}"), "ATREST_REQUIRE_PYYAML");
            return;
        }
        Err(e) => {
            common::skip(
                TEST,
                &format!("cannot run {python}: {e}"),
                "ATREST_REQUIRE_PYYAML",
            );
            return;
        }
        Ok(out) => out,
    };
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut differences = Vec::new();
    let mut compared = 0;
    for line in stdout.lines() {
        let theirs: Json = serde_json::from_str(line).unwrap();
        let file = PathBuf::from(theirs["file"].as_str().unwrap());
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        let Some(ours) = atrest_reads(&file) else {
            continue;
        };
        compared += 1;
        let excepted = EXCEPTIONS.iter().any(|(f, _)| shown.ends_with(f));
        let verdict = match (&ours, theirs.get("tree")) {
            (Ok(a), Some(b)) if a == b => None,
            (Ok(a), Some(b)) => Some(format!("the trees differ at {}", first_difference(a, b))),
            (Err((_, e)), Some(_)) => Some(format!("atrest refuses what libyaml reads: {e}")),
            (Ok(_), None) => Some(format!(
                "atrest reads what libyaml refuses: {}",
                theirs["error"]
            )),
            // Both refuse: at the same place, the one that is wrong.
            (Err((at, e)), None) => {
                let error = &theirs["error"];
                let theirs_at = (
                    error["line"].as_u64().map(|l| l as u32),
                    error["column"].as_u64().map(|c| c as u32),
                );
                (*at != theirs_at)
                    .then(|| format!("both refuse, but atrest says {e}, libyaml {error}"))
            }
        };
        match (verdict, excepted) {
            (Some(v), false) => differences.push(format!("{shown}: {v}")),
            (None, true) => differences.push(format!(
                "{shown}: listed as an exception but atrest and libyaml now agree"
            )),
            _ => {}
        }
    }
    assert_eq!(compared, files.len() - skipped_json(&files));
    assert!(
        differences.is_empty(),
        "{} of {compared} YAML files read differently:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

fn skipped_json(files: &[PathBuf]) -> usize {
    files.iter().filter(|f| atrest_reads(f).is_none()).count()
}

/// Where two trees first differ, with both values there.
fn first_difference(a: &Json, b: &Json) -> String {
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return format!("[{i}]{}", first_difference(p, q));
                }
            }
            format!(": {} items here, {} in libyaml's", x.len(), y.len())
        }
        _ => format!(": atrest {a}, libyaml {b}"),
    }
}
