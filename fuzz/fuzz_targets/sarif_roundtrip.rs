//! Any template through the whole pipeline into SARIF: the output is always JSON that parses
//! back, with every region's line and column at least 1. The text, JUnit and SARIF reports of
//! it are inert: no control or bidi character but line breaks, no line a GitHub runner would
//! read as a workflow command.
#![no_main]

use atrest::engine::{PolicyOptions, PolicySet};
use atrest::report::{Report, UnknownMode, junit, sarif, text};
use atrest::scan::{ScanOptions, scan};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn policies() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| {
        PolicySet::load(&PolicyOptions {
            builtin: true,
            ..Default::default()
        })
        .0
    })
}

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("atrest-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("template.yaml");
    if std::fs::write(&file, data).is_err() {
        return;
    }
    let result = scan(
        &ScanOptions::of(vec![file]),
        policies(),
    );
    let report = Report::new(&result, &policies().rules, UnknownMode::Warn);
    let style = text::Style {
        color: false,
        quiet: false,
        show_suppressed: true,
        verbose: true,
    };
    assert_inert(&text::render(&report, style));
    assert_inert(&junit::render(&report));
    let text = sarif::render(&report, &dir);
    assert_inert(&text);
    let doc: serde_json::Value = serde_json::from_str(&text).expect("SARIF is JSON");
    for r in doc["runs"][0]["results"].as_array().expect("results") {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[k].as_u64().unwrap_or(1) >= 1, "{k} below 1");
        }
    }
});

fn assert_inert(out: &str) {
    for line in out.lines() {
        assert!(!line.trim_start().starts_with("::"), "a command: {line:?}");
        assert!(!line.contains("##["), "an old-style command: {line:?}");
        assert!(
            !line.chars().any(atrest::escape::is_unsafe),
            "a control character: {line:?}"
        );
    }
}
