//! The bundled examples find exactly what `examples/README.md` says they find.

use crate::common;

use atrest::engine::Outcome;
use std::collections::BTreeSet;

#[test]
fn examples_readme_table_matches_the_scan() {
    let dir = common::manifest_dir().join("examples");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let section = readme
        .split("## Expected findings")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("an Expected findings section");
    let expected: BTreeSet<(String, String, String, String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| ATR-"))
        .map(|l| {
            let cells: Vec<String> = l
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect();
            (
                cells[1].clone(),
                cells[2].clone(),
                cells[3].clone(),
                cells[4].clone(),
                cells[5].clone(),
            )
        })
        .collect();
    assert!(expected.len() >= 10);

    let result = common::scan_paths(&[dir]);
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    let rules = &common::builtin().rules;
    let actual: BTreeSet<_> = result
        .findings
        .iter()
        .map(|f| {
            let loc = f.finding.location.as_ref().unwrap();
            (
                rules[f.finding.rule].id.clone(),
                f.path.trim_start_matches("examples/").to_owned(),
                format!("{}:{}", loc.span.start.line, loc.span.start.col),
                match f.finding.outcome {
                    Outcome::Fail => "fail".to_owned(),
                    Outcome::Unknown => "unknown".to_owned(),
                },
                f.finding.logical_id.clone(),
            )
        })
        .collect();
    assert_eq!(actual, expected);
}
