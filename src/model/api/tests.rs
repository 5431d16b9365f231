use super::*;
use crate::model::{FilterCriteria, Tri};
use crate::read::{Limits, SyntaxKind, json};

fn inv(files: &[(&str, &str)]) -> Inventory {
    let inputs: Vec<(FileId, Input)> = files
        .iter()
        .map(|(name, text)| {
            let root = json::parse(text, &Limits::default()).unwrap().root;
            let shape = aws::detect(&root).expect("an API shape");
            let input = Input {
                kind: InputKind::AwsApi(shape),
                syntax: SyntaxKind::Json,
                root,
                body: None,
                problems: Vec::new(),
            };
            (FileId::from(*name), input)
        })
        .collect();
    let refs: Vec<(FileId, &Input)> = inputs.iter().map(|(f, i)| (f.clone(), i)).collect();
    inventory(&refs)
}

const ARN: &str = "arn:aws:lambda:eu-west-1:111122223333:function:orders";
const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

#[test]
fn the_richest_description_of_a_function_wins() {
    let list =
        format!(r#"{{"Functions": [{{"FunctionName": "orders", "FunctionArn": "{ARN}"}}]}}"#);
    let get = format!(
        r#"{{"Configuration": {{"FunctionName": "orders", "FunctionArn": "{ARN}"}},
"Code": {{"RepositoryType": "S3", "SourceKMSKeyArn": "{KEY}"}}}}"#
    );
    for files in [
        [("a.json", &list), ("b.json", &get)],
        [("a.json", &get), ("b.json", &list)],
    ] {
        let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        let i = inv(&files);
        assert_eq!(i.functions.len(), 1);
        let f = &i.functions[0];
        assert_eq!(f.code_kms_key.state, KeyState::CustomerManaged);
        let code = &f.origin.locations["code_kms_key"];
        assert_eq!(
            (code.pointer.as_str(), code.span.start.line),
            ("/Code/SourceKMSKeyArn", 2)
        );
    }
    let only_list = inv(&[("a.json", &list)]);
    assert_eq!(only_list.functions[0].code_kms_key.state, KeyState::Unknown);
}

#[test]
fn keys_resolve_across_files() {
    let aws_key = "0987dcba-09fe-87dc-65ba-ab0987654321";
    let functions = format!(
        r#"{{"Functions": [
  {{"FunctionName": "a", "FunctionArn": "{ARN}a", "KMSKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/{aws_key}"}},
  {{"FunctionName": "b", "FunctionArn": "{ARN}b", "KMSKeyArn": "{KEY}"}},
  {{"FunctionName": "c", "FunctionArn": "{ARN}c", "KMSKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/other"}},
  {{"FunctionName": "d", "FunctionArn": "{ARN}d", "KMSKeyArn": null}}
]}}"#
    );
    let aliases = format!(
        r#"{{"Aliases": [{{"AliasName": "alias/aws/lambda", "TargetKeyId": "{aws_key}"}}], "Truncated": false}}"#
    );
    let key = format!(
        r#"{{"KeyMetadata": {{"KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab", "Arn": "{KEY}", "KeyManager": "CUSTOMER", "KeyState": "Enabled", "Enabled": true}}}}"#
    );
    let rotation = r#"{"KeyRotationEnabled": false}"#;
    let i = inv(&[
        ("functions.json", &functions),
        ("aliases.json", &aliases),
        ("key.json", &key),
        (
            "rotation-1234abcd-12ab-34cd-56ef-1234567890ab.json",
            rotation,
        ),
    ]);
    let states: Vec<(KeyState, bool)> = i
        .functions
        .iter()
        .map(|f| (f.kms_key.state, f.kms_key.assumed))
        .collect();
    assert_eq!(
        states,
        [
            (KeyState::AwsManaged, false),
            (KeyState::CustomerManaged, false),
            (KeyState::CustomerManaged, true),
            (KeyState::Absent, false),
        ]
    );
    let k = &i.kms_keys[0];
    assert_eq!(k.rotation_enabled, Tri::No);
    assert_eq!(k.used_by, [format!("{ARN}b")]);
    assert_eq!(
        k.origin.locations["rotation_enabled"].file.as_ref(),
        "rotation-1234abcd-12ab-34cd-56ef-1234567890ab.json"
    );
}

#[test]
fn null_filter_criteria_in_list_output_are_encrypted() {
    let list = format!(
        r#"{{"EventSourceMappings": [
  {{"UUID": "u1", "FunctionArn": "{ARN}", "EventSourceArn": "arn:aws:sqs:eu-west-1:1:q", "FilterCriteria": null, "KMSKeyArn": "{KEY}"}},
  {{"UUID": "u2", "FunctionArn": "{ARN}:live", "FilterCriteria": null}}
]}}"#
    );
    let get = r#"{"UUID": "u3", "FunctionArn": "x", "FilterCriteria": null, "KMSKeyArn": "k",
"FilterCriteriaError": {"ErrorCode": "KMSAccessDeniedException", "Message": "denied"}}"#;
    let functions =
        format!(r#"{{"Functions": [{{"FunctionName": "orders", "FunctionArn": "{ARN}"}}]}}"#);
    let i = inv(&[("l.json", &list), ("g.json", get), ("f.json", &functions)]);
    let m: Vec<_> = i.event_source_mappings.iter().collect();
    assert_eq!(m[0].filter_criteria, FilterCriteria::Encrypted);
    assert_eq!(m[0].event_source_type.as_deref(), Some("SQS"));
    assert_eq!(m[1].filter_criteria, FilterCriteria::Absent);
    assert_eq!(
        m[1].function.as_deref(),
        Some(ARN),
        "an alias ARN names its function"
    );
    assert_eq!(m[2].filter_criteria, FilterCriteria::Encrypted);
    assert_eq!(
        m[2].filter_criteria_error.as_deref(),
        Some("KMSAccessDeniedException: denied")
    );
}

#[test]
fn config_history_keeps_the_latest_item_and_drops_deleted_resources() {
    let item = |time: &str, status: &str, kms: &str| {
        format!(
            r#"{{"resourceType": "AWS::Lambda::Function", "ARN": "{ARN}", "configurationItemCaptureTime": "{time}", "configurationItemStatus": "{status}",
 "configuration": {{"functionName": "orders", "functionArn": "{ARN}", "kmsKeyArn": {kms}}}}}"#
        )
    };
    let history = format!(
        r#"{{"configurationItems": [{}, {}]}}"#,
        item("2025-01-02T00:00:00Z", "OK", &format!("\"{KEY}\"")),
        item("2025-01-01T00:00:00Z", "OK", "null")
    );
    let i = inv(&[("h.json", &history)]);
    assert_eq!(i.functions[0].kms_key.state, KeyState::CustomerManaged);
    let deleted = format!(
        r#"{{"configurationItems": [{}, {{"resourceType": "AWS::Lambda::Function", "ARN": "{ARN}", "configurationItemCaptureTime": "2025-02-01T00:00:00Z", "configurationItemStatus": "ResourceDeleted"}}]}}"#,
        item("2025-01-02T00:00:00Z", "OK", "null")
    );
    assert!(inv(&[("h.json", &deleted)]).functions.is_empty());
}

#[test]
fn versions_are_named_by_their_qualifier() {
    let cfg = format!(r#"{{"FunctionName": "orders", "FunctionArn": "{ARN}:7", "Version": "7"}}"#);
    let latest = format!(r#"{{"FunctionName": "orders", "FunctionArn": "{ARN}:$LATEST"}}"#);
    let i = inv(&[("v.json", &cfg), ("l.json", &latest)]);
    let names: Vec<&str> = i
        .functions
        .iter()
        .map(|f| f.origin.logical_id.as_str())
        .collect();
    assert_eq!(names, ["orders:7", "orders"]);
    assert_eq!(i.functions[1].origin.id, ARN);
}
