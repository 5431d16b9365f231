//! The real CloudTrail logs in `../shared/corpus/cloudtrail`: they scan without a panic, every
//! error is a real defect of its file, every shape is read, and what the rules find there is
//! pinned. Skips where the corpus is absent.

use crate::common;

use atrest::report::UnknownMode;

/// Every error the scan may report in the corpus, with why it is the file's fault.
const KNOWN_DEFECTS: &[(&str, &str, &str)] = &[(
    "aws-cloudtrail-processing-library/src/test/resources/resources/SerializerTestFileBadJsonFormat.json",
    "invalid JSON in event 1 (which starts at line 3, column 9): key must be a string",
    "invalid on purpose: the first record's userIdentity object is never closed, so at line 37 a \
     '{' stands where a key must; the records after it cannot be told apart",
)];

#[test]
fn cloudtrail_corpus_scans_and_every_error_is_explained() {
    let Some(dir) = common::shared_corpus("cloudtrail") else {
        return;
    };
    let result = common::scan_paths(std::slice::from_ref(&dir));
    let root = common::rel(&dir);
    for e in &result.errors {
        let rel = e.path.strip_prefix(&format!("{root}/")).unwrap_or(&e.path);
        assert!(
            KNOWN_DEFECTS
                .iter()
                .any(|(f, m, _)| *f == rel && e.message.contains(m)),
            "unexplained error in the corpus: {e}"
        );
        assert!(e.line.is_some(), "corpus errors name their line: {e}");
    }
    assert_eq!(
        result.errors.len(),
        KNOWN_DEFECTS.len(),
        "{:?}",
        result.errors
    );

    let trail = result.trail.as_ref().expect("the corpus has logs");
    // 55 invictus-ir log files, 35 Stratus Red Team arrays, 13 processing-library files (one of
    // them .json.gz, one broken), 2 Lambda guide samples. The 139 Panther rule-test files and a
    // README are skipped: Panther's events are fixtures with made-up, colliding event IDs.
    assert_eq!(trail.files.len(), 105);
    assert_eq!(result.skipped.len(), 140);
    let reasons: std::collections::BTreeMap<&str, usize> =
        result
            .skipped
            .iter()
            .fold(std::collections::BTreeMap::new(), |mut m, s| {
                *m.entry(s.reason.as_str()).or_default() += 1;
                m
            });
    assert_eq!(
        reasons,
        [
            ("Panther rule tests, not a CloudTrail log", 139),
            ("not a file type atrest reads (by its extension)", 1),
        ]
        .into_iter()
        .collect()
    );
    let shapes: std::collections::BTreeSet<&str> = trail.files.iter().map(|f| f.1).collect();
    assert!(
        shapes.contains("cloudtrail-log") && shapes.contains("cloudtrail-array"),
        "{shapes:?}"
    );
    assert!(
        trail
            .files
            .iter()
            .any(|f| f.0.ends_with(".json.gz") && f.2 > 0),
        "the .json.gz is read"
    );
    assert!(trail.events > 3200, "{} events", trail.events);

    // The real trail's KMS calls come from SSM and Secrets Manager through their AWS managed
    // keys; the facts learn those aliases.
    assert!(
        trail
            .facts
            .aliases
            .keys()
            .any(|a| a.ends_with(":alias/aws/ssm")),
        "{:?}",
        trail.facts
    );
    assert_eq!(trail.facts.aws_managed_keys.len(), 2);

    // What the rules find: nothing. No log here has a Lambda-invoked KMS call (only Panther's
    // synthetic tests do), the CreateFunction calls set no environment variables
    // (`environment: {}`), and the UpdateFunctionConfiguration calls leave KMSKeyArn alone.
    let rules = &common::builtin().rules;
    let found: Vec<String> = result
        .findings
        .iter()
        .map(|f| format!("{} {}", rules[f.finding.rule].id, f.path))
        .collect();
    assert!(found.is_empty(), "{found:#?}");
    assert!(trail.timelines.is_empty());

    common::assert_valid_sarif(&common::sarif_of(&result, UnknownMode::Warn));
}
