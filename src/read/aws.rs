//! Deployed state: the JSON the AWS CLI prints for Lambda, KMS, CloudWatch Logs and X-Ray, and
//! AWS Config snapshot and history files. A file is recognised by its top-level keys, never by
//! its name, and then validated against the JSON Schema of its shape (`schemas/aws-api/`), so a
//! file that looks like `list-functions` output but has `"FunctionName": 42` is an input error
//! that names the JSON path and line.

use super::{Limits, Node, ReadError, Span, Value, json};
use jsonschema::{Retrieve, Uri, Validator};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The output shapes atrest reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiShape {
    ListFunctions,
    GetFunction,
    GetFunctionConfiguration,
    ListEventSourceMappings,
    GetEventSourceMapping,
    DescribeKey,
    GetKeyRotationStatus,
    GetKeyPolicy,
    ListAliases,
    ListKeys,
    DescribeLogGroups,
    GetEncryptionConfig,
    /// `configurationItems[]` of an AWS Config snapshot or history file.
    ConfigItems,
}

const ALL: &[ApiShape] = &[
    ApiShape::ListFunctions,
    ApiShape::GetFunction,
    ApiShape::GetFunctionConfiguration,
    ApiShape::ListEventSourceMappings,
    ApiShape::GetEventSourceMapping,
    ApiShape::DescribeKey,
    ApiShape::GetKeyRotationStatus,
    ApiShape::GetKeyPolicy,
    ApiShape::ListAliases,
    ApiShape::ListKeys,
    ApiShape::DescribeLogGroups,
    ApiShape::GetEncryptionConfig,
    ApiShape::ConfigItems,
];

impl ApiShape {
    /// The command that prints this shape, for messages and `atrest model`.
    pub fn command(self) -> &'static str {
        match self {
            ApiShape::ListFunctions => "aws lambda list-functions",
            ApiShape::GetFunction => "aws lambda get-function",
            ApiShape::GetFunctionConfiguration => "aws lambda get-function-configuration",
            ApiShape::ListEventSourceMappings => "aws lambda list-event-source-mappings",
            ApiShape::GetEventSourceMapping => "aws lambda get-event-source-mapping",
            ApiShape::DescribeKey => "aws kms describe-key",
            ApiShape::GetKeyRotationStatus => "aws kms get-key-rotation-status",
            ApiShape::GetKeyPolicy => "aws kms get-key-policy",
            ApiShape::ListAliases => "aws kms list-aliases",
            ApiShape::ListKeys => "aws kms list-keys",
            ApiShape::DescribeLogGroups => "aws logs describe-log-groups",
            ApiShape::GetEncryptionConfig => "aws xray get-encryption-config",
            ApiShape::ConfigItems => "AWS Config configuration items",
        }
    }

    /// A stable name for the shape (also its schema's file name in `schemas/aws-api/`).
    pub fn name(self) -> &'static str {
        self.schema_name()
    }

    pub fn from_name(name: &str) -> Option<ApiShape> {
        ALL.iter().copied().find(|s| s.name() == name)
    }

    fn schema_name(self) -> &'static str {
        match self {
            ApiShape::ListFunctions => "lambda-list-functions",
            ApiShape::GetFunction => "lambda-get-function",
            ApiShape::GetFunctionConfiguration => "lambda-get-function-configuration",
            ApiShape::ListEventSourceMappings => "lambda-list-event-source-mappings",
            ApiShape::GetEventSourceMapping => "lambda-get-event-source-mapping",
            ApiShape::DescribeKey => "kms-describe-key",
            ApiShape::GetKeyRotationStatus => "kms-get-key-rotation-status",
            ApiShape::GetKeyPolicy => "kms-get-key-policy",
            ApiShape::ListAliases => "kms-list-aliases",
            ApiShape::ListKeys => "kms-list-keys",
            ApiShape::DescribeLogGroups => "logs-describe-log-groups",
            ApiShape::GetEncryptionConfig => "xray-get-encryption-config",
            ApiShape::ConfigItems => "config-configuration-items",
        }
    }

    /// Shapes that do not always name the key they describe: the key then comes from the file
    /// name (see [`subject_key`]).
    pub fn needs_subject(self) -> bool {
        matches!(
            self,
            ApiShape::GetKeyRotationStatus | ApiShape::GetKeyPolicy
        )
    }
}

/// boto3 and some recorders keep the response metadata next to the output.
const RESPONSE_METADATA: &str = "ResponseMetadata";

/// Every top-level key is one of `allowed`, and the first of them is present.
fn keys_within(root: &Node, allowed: &[&str]) -> bool {
    root.get(allowed[0]).is_some()
        && root
            .entries()
            .iter()
            .all(|e| e.key == RESPONSE_METADATA || allowed.contains(&e.key.as_str()))
}

fn is_list(root: &Node, key: &str) -> bool {
    matches!(root.get(key).map(|n| &n.value), Some(Value::Seq(_)))
}

fn is_map(root: &Node, key: &str) -> bool {
    root.get(key).is_some_and(Node::is_map)
}

/// Which output this is, from its top-level keys alone; `None` for anything else. Keys that
/// only these outputs have (`Functions`, `logGroups`, ...) decide whatever their type, so a
/// wrong type is reported by the shape's schema rather than the file skipped.
pub fn detect(root: &Node) -> Option<ApiShape> {
    if !root.is_map() {
        return None;
    }
    let has = |k: &str| root.get(k).is_some();
    let shape = if has("Functions") && keys_within(root, &["Functions", "NextMarker"]) {
        ApiShape::ListFunctions
    } else if is_map(root, "Configuration")
        && keys_within(
            root,
            &["Configuration", "Code", "Tags", "TagsError", "Concurrency"],
        )
    {
        ApiShape::GetFunction
    } else if has("FunctionName") && has("FunctionArn") {
        ApiShape::GetFunctionConfiguration
    } else if has("EventSourceMappings")
        && keys_within(root, &["EventSourceMappings", "NextMarker"])
    {
        ApiShape::ListEventSourceMappings
    } else if has("UUID") && (has("FunctionArn") || has("EventSourceArn")) {
        ApiShape::GetEventSourceMapping
    } else if has("KeyMetadata") && keys_within(root, &["KeyMetadata"]) {
        ApiShape::DescribeKey
    } else if keys_within(
        root,
        &[
            "KeyRotationEnabled",
            "KeyId",
            "RotationPeriodInDays",
            "NextRotationDate",
            "OnDemandRotationStartDate",
        ],
    ) {
        ApiShape::GetKeyRotationStatus
    } else if keys_within(root, &["Policy", "PolicyName"]) && !grants_lambda_actions(root) {
        ApiShape::GetKeyPolicy
    } else if is_list(root, "Aliases")
        && keys_within(root, &["Aliases", "NextMarker", "Truncated"])
        && is_kms_alias_list(root)
    {
        ApiShape::ListAliases
    } else if is_list(root, "Keys") && keys_within(root, &["Keys", "NextMarker", "Truncated"]) {
        ApiShape::ListKeys
    } else if has("logGroups") && keys_within(root, &["logGroups", "nextToken"]) {
        ApiShape::DescribeLogGroups
    } else if is_map(root, "EncryptionConfig") && keys_within(root, &["EncryptionConfig"]) {
        ApiShape::GetEncryptionConfig
    } else if has("configurationItems")
        && keys_within(
            root,
            &[
                "configurationItems",
                "fileVersion",
                "configSnapshotId",
                "nextToken",
            ],
        )
    {
        ApiShape::ConfigItems
    } else {
        return None;
    };
    Some(shape)
}

/// Lambda's `get-policy` also prints a `Policy` (with a `RevisionId`, except in old versions):
/// a function's resource policy grants `lambda:` actions, a key policy does not.
fn grants_lambda_actions(root: &Node) -> bool {
    let Some(text) = root.get("Policy").and_then(Node::as_str) else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.iter().collect(),
        other => vec![other],
    };
    statements.iter().any(|st| {
        let actions = match &st["Action"] {
            serde_json::Value::Array(list) => list.iter().collect(),
            other => vec![other],
        };
        actions
            .iter()
            .filter_map(|a| a.as_str())
            .any(|a| a.to_ascii_lowercase().starts_with("lambda:"))
    })
}

/// KMS and Lambda both print `Aliases`: KMS aliases have `AliasName`, Lambda's `Name` and
/// `FunctionVersion`; an empty KMS list still has `Truncated`.
fn is_kms_alias_list(root: &Node) -> bool {
    let items = root.get("Aliases").map(Node::items).unwrap_or(&[]);
    if items.is_empty() {
        return root.get("Truncated").is_some();
    }
    items
        .iter()
        .any(|a| a.get("AliasName").is_some() && a.get("FunctionVersion").is_none())
}

/// Prepares a recognised file for validation: AWS Config's API prints each item's
/// `configuration` as a JSON string, which is parsed here (its values then point at the string).
pub fn normalise(shape: ApiShape, root: &mut Node, limits: &Limits) -> Result<(), ReadError> {
    if shape != ApiShape::ConfigItems {
        return Ok(());
    }
    let Value::Map(entries) = &mut root.value else {
        return Ok(());
    };
    let Some(items) = entries.iter_mut().find(|e| e.key == "configurationItems") else {
        return Ok(());
    };
    let Value::Seq(items) = &mut items.value.value else {
        return Ok(());
    };
    for (i, item) in items.iter_mut().enumerate() {
        let Value::Map(fields) = &mut item.value else {
            continue;
        };
        for field in fields
            .iter_mut()
            .filter(|f| f.key == "configuration" || f.key == "supplementaryConfiguration")
        {
            let Value::String(text) = &field.value.value else {
                continue;
            };
            // The string sits three levels deep (root, list, item): the file's depth limit
            // counts from the file's root.
            let inner = Limits {
                max_depth: limits.max_depth.saturating_sub(3),
                ..*limits
            };
            let parsed = json::parse(text, &inner).map_err(|e| {
                ReadError::at(
                    field.value.span.start,
                    format!(
                        "$.configurationItems[{i}].{}: not a JSON document ({})",
                        field.key, e.message
                    ),
                )
            })?;
            let span = field.value.span;
            field.value = parsed.root.respanned(span);
        }
    }
    Ok(())
}

const SCHEMA_BASE: &str = "https://github.com/atrest-dev/atrest/schemas/aws-api/";

/// The schemas, embedded: `(name, text)`.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "lambda-list-functions",
        include_str!("../../schemas/aws-api/lambda-list-functions.schema.json"),
    ),
    (
        "lambda-get-function",
        include_str!("../../schemas/aws-api/lambda-get-function.schema.json"),
    ),
    (
        "lambda-get-function-configuration",
        include_str!("../../schemas/aws-api/lambda-get-function-configuration.schema.json"),
    ),
    (
        "lambda-list-event-source-mappings",
        include_str!("../../schemas/aws-api/lambda-list-event-source-mappings.schema.json"),
    ),
    (
        "lambda-get-event-source-mapping",
        include_str!("../../schemas/aws-api/lambda-get-event-source-mapping.schema.json"),
    ),
    (
        "kms-describe-key",
        include_str!("../../schemas/aws-api/kms-describe-key.schema.json"),
    ),
    (
        "kms-get-key-rotation-status",
        include_str!("../../schemas/aws-api/kms-get-key-rotation-status.schema.json"),
    ),
    (
        "kms-get-key-policy",
        include_str!("../../schemas/aws-api/kms-get-key-policy.schema.json"),
    ),
    (
        "kms-list-aliases",
        include_str!("../../schemas/aws-api/kms-list-aliases.schema.json"),
    ),
    (
        "kms-list-keys",
        include_str!("../../schemas/aws-api/kms-list-keys.schema.json"),
    ),
    (
        "logs-describe-log-groups",
        include_str!("../../schemas/aws-api/logs-describe-log-groups.schema.json"),
    ),
    (
        "xray-get-encryption-config",
        include_str!("../../schemas/aws-api/xray-get-encryption-config.schema.json"),
    ),
    (
        "config-configuration-items",
        include_str!("../../schemas/aws-api/config-configuration-items.schema.json"),
    ),
];

fn schema_json(name: &str) -> Option<serde_json::Value> {
    let (_, text) = SCHEMAS.iter().find(|(n, _)| *n == name)?;
    serde_json::from_str(text).ok()
}

/// Serves `$ref`s between the embedded schemas; nothing is fetched from anywhere.
struct Embedded;

impl Retrieve for Embedded {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix(SCHEMA_BASE)
            .and_then(|f| f.strip_suffix(".schema.json"));
        name.and_then(schema_json)
            .ok_or_else(|| format!("no embedded schema {}", uri.as_str()).into())
    }
}

fn validators() -> &'static HashMap<ApiShape, Validator> {
    static V: OnceLock<HashMap<ApiShape, Validator>> = OnceLock::new();
    V.get_or_init(|| {
        ALL.iter()
            .map(|&shape| {
                #[allow(
                    clippy::expect_used,
                    reason = "the schemas are compiled into the binary and tested"
                )]
                let schema = schema_json(shape.schema_name()).expect("embedded schema is JSON");
                #[allow(
                    clippy::expect_used,
                    reason = "the schemas are compiled into the binary and tested"
                )]
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .with_retriever(Embedded)
                    .build(&schema)
                    .expect("embedded schema compiles");
                (shape, validator)
            })
            .collect()
    })
}

/// Checks a recognised file against its shape's schema. The error names the JSON path
/// (`$.Functions[3].FunctionName`) and the line of the first problem in the file.
pub fn validate(shape: ApiShape, root: &Node) -> Result<(), ReadError> {
    let doc = root.to_json();
    let validator = &validators()[&shape];
    let mut problems: Vec<(Span, String)> = validator
        .iter_errors(&doc)
        .map(|e| {
            let (path, node) = json_path(root, e.instance_path());
            (node.span, format!("{path}: {e}"))
        })
        .collect();
    problems.sort_by(|a, b| a.0.start.cmp(&b.0.start).then_with(|| a.1.cmp(&b.1)));
    problems.dedup();
    let Some((span, first)) = problems.first() else {
        return Ok(());
    };
    let more = match problems.len() - 1 {
        0 => String::new(),
        1 => " (and 1 more problem)".into(),
        n => format!(" (and {n} more problems)"),
    };
    Err(ReadError::at(
        span.start,
        format!("{first}{more} (read as `{}` output)", shape.command()),
    ))
}

/// `$.Functions[3].FunctionName` and the node there, from a schema error's location.
fn json_path<'a>(root: &'a Node, location: &jsonschema::paths::Location) -> (String, &'a Node) {
    let mut path = String::from("$");
    let mut node = root;
    for segment in location.iter() {
        let key = segment.to_string();
        match &node.value {
            Value::Seq(items) => {
                path.push_str(&format!("[{key}]"));
                match key.parse::<usize>().ok().and_then(|i| items.get(i)) {
                    Some(n) => node = n,
                    None => break,
                }
            }
            _ => {
                let plain = !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if plain {
                    path.push('.');
                    path.push_str(&key);
                } else {
                    path.push_str(&format!("[{}]", serde_json::Value::String(key.clone())));
                }
                match node.get(&key) {
                    Some(n) => node = n,
                    None => break,
                }
            }
        }
    }
    (path, node)
}

/// The key a `get-key-rotation-status` or `get-key-policy` output is about: its `KeyId` where
/// it has one, else a key id in the file name (`kms-get-key-policy-1234abcd-....json`, as
/// `atrest collect` names them).
pub fn subject_key(root: &Node, file_name: &str) -> Option<String> {
    if let Some(id) = root
        .get("KeyId")
        .and_then(Node::as_str)
        .filter(|s| !s.is_empty())
    {
        return Some(id.to_owned());
    }
    static ID: OnceLock<regex::Regex> = OnceLock::new();
    #[allow(clippy::expect_used, reason = "a constant pattern, tested")]
    let re = ID.get_or_init(|| {
        regex::Regex::new(
            r"(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
        )
        .expect("valid regex")
    });
    re.find(&file_name.to_ascii_lowercase())
        .map(|m| m.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::Limits;

    fn doc(text: &str) -> Node {
        json::parse(text, &Limits::default()).unwrap().root
    }

    #[test]
    fn shapes_are_told_apart_by_their_top_level_keys() {
        let cases = [
            (
                r#"{"Functions": [], "NextMarker": null}"#,
                Some(ApiShape::ListFunctions),
            ),
            (
                r#"{"Configuration": {}, "Code": {}}"#,
                Some(ApiShape::GetFunction),
            ),
            (
                r#"{"FunctionName": "f", "FunctionArn": "a", "Runtime": "x"}"#,
                Some(ApiShape::GetFunctionConfiguration),
            ),
            (
                r#"{"EventSourceMappings": []}"#,
                Some(ApiShape::ListEventSourceMappings),
            ),
            (
                r#"{"UUID": "u", "FunctionArn": "a"}"#,
                Some(ApiShape::GetEventSourceMapping),
            ),
            (
                r#"{"KeyMetadata": {"KeyId": "k"}}"#,
                Some(ApiShape::DescribeKey),
            ),
            (
                r#"{"KeyRotationEnabled": true}"#,
                Some(ApiShape::GetKeyRotationStatus),
            ),
            (
                r#"{"Policy": "{}", "PolicyName": "default"}"#,
                Some(ApiShape::GetKeyPolicy),
            ),
            (
                r#"{"Aliases": [], "Truncated": false}"#,
                Some(ApiShape::ListAliases),
            ),
            (r#"{"Keys": [{"KeyId": "k"}]}"#, Some(ApiShape::ListKeys)),
            (r#"{"logGroups": []}"#, Some(ApiShape::DescribeLogGroups)),
            (
                r#"{"EncryptionConfig": {"Type": "NONE"}}"#,
                Some(ApiShape::GetEncryptionConfig),
            ),
            (
                r#"{"fileVersion": "1.0", "configurationItems": []}"#,
                Some(ApiShape::ConfigItems),
            ),
            // Lambda's own get-policy and list-aliases, and things that are not API output.
            (r#"{"Policy": "{}", "RevisionId": "r"}"#, None),
            (
                r#"{"Policy": "{\"Statement\": [{\"Action\": \"lambda:InvokeFunction\"}]}"}"#,
                None,
            ),
            (
                r#"{"Aliases": [{"Name": "live", "FunctionVersion": "1"}]}"#,
                None,
            ),
            (r#"{"Functions": [], "Other": 1}"#, None),
            (r#"{"Keys": "not a list"}"#, None),
            ("[1, 2]", None),
        ];
        for (text, want) in cases {
            assert_eq!(detect(&doc(text)), want, "{text}");
        }
    }

    #[test]
    fn wrong_types_name_the_json_path_and_line() {
        let text = "{\"Functions\": [\n  {\"FunctionName\": \"a\", \"FunctionArn\": \"x\"},\n  {\"FunctionName\": 42, \"FunctionArn\": \"y\"}\n]}";
        let root = doc(text);
        let e = validate(ApiShape::ListFunctions, &root).unwrap_err();
        assert_eq!(
            e.message,
            "$.Functions[1].FunctionName: 42 is not of type \"string\" (read as `aws lambda list-functions` output)"
        );
        assert_eq!((e.line, e.column), (Some(3), Some(20)));
        let ok =
            doc(r#"{"Functions": [{"FunctionName": "a", "FunctionArn": "x", "KMSKeyArn": null}]}"#);
        assert!(validate(ApiShape::ListFunctions, &ok).is_ok());
        // A container of the wrong type is still that output, reported rather than skipped.
        for (text, shape, message) in [
            (
                r#"{"Functions": {"FunctionName": "a"}}"#,
                ApiShape::ListFunctions,
                "$.Functions: {\"FunctionName\":\"a\"} is not of type \"array\"",
            ),
            (
                r#"{"logGroups": "none"}"#,
                ApiShape::DescribeLogGroups,
                "$.logGroups: \"none\" is not of type \"array\"",
            ),
            (
                r#"{"configurationItems": 3}"#,
                ApiShape::ConfigItems,
                "$.configurationItems: 3 is not of type \"array\"",
            ),
        ] {
            let root = doc(text);
            assert_eq!(detect(&root), Some(shape), "{text}");
            let e = validate(shape, &root).unwrap_err();
            assert!(e.message.starts_with(message), "{e}");
        }
    }

    #[test]
    fn config_items_with_string_configuration_are_parsed() {
        let mut root = doc(
            r#"{"configurationItems": [{"resourceType": "AWS::Lambda::Function", "configuration": "{\"functionName\": 7}"}]}"#,
        );
        normalise(ApiShape::ConfigItems, &mut root, &Limits::default()).unwrap();
        let e = validate(ApiShape::ConfigItems, &root).unwrap_err();
        assert!(
            e.message
                .contains("$.configurationItems[0].configuration.functionName: 7 is not of type"),
            "{e}"
        );
    }

    #[test]
    fn the_depth_limit_counts_inside_string_configurations() {
        let nested = format!("{}1{}", "[".repeat(6), "]".repeat(6));
        let text = format!(
            r#"{{"configurationItems": [{{"resourceType": "AWS::Lambda::Function", "configuration": "{{\"a\": {nested}}}"}}]}}"#
        );
        let limits = Limits {
            max_depth: 8,
            ..Limits::default()
        };
        let mut root = doc(&text);
        assert!(normalise(ApiShape::ConfigItems, &mut root, &limits).is_err());
        let mut root = doc(&text);
        assert!(normalise(ApiShape::ConfigItems, &mut root, &Limits::default()).is_ok());
    }

    #[test]
    fn the_subject_key_comes_from_the_output_or_the_file_name() {
        let named =
            doc(r#"{"KeyRotationEnabled": true, "KeyId": "arn:aws:kms:us-east-1:1:key/k"}"#);
        assert_eq!(
            subject_key(&named, "x.json").as_deref(),
            Some("arn:aws:kms:us-east-1:1:key/k")
        );
        let bare = doc(r#"{"Policy": "{}"}"#);
        assert_eq!(
            subject_key(
                &bare,
                "kms-get-key-policy-1234ABCD-12ab-34cd-56ef-1234567890ab.json"
            )
            .as_deref(),
            Some("1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(subject_key(&bare, "policy.json"), None);
    }
}
