//! Decide what a file is from its content, not only its name, and parse it.

use super::aws::{self, ApiShape};
use super::cloudtrail::{self, Sniff, TrailShape};
use super::{Limits, Node, ReadError, hcl, json, text, yaml};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyntaxKind {
    Json,
    Yaml,
    Hcl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A CloudFormation template; `sam` when it uses the Serverless transform.
    CloudFormation { sam: bool },
    /// Deployed state: AWS CLI/API output or an AWS Config file, of one shape.
    AwsApi(ApiShape),
    /// Terraform configuration (`.tf`, `.tf.json`): one file of a module.
    Terraform,
    /// The JSON of `terraform show -json PLANFILE`.
    TerraformPlan,
    /// A Serverless Framework service (`serverless.yml`).
    Serverless,
}

impl InputKind {
    pub fn name(&self) -> &'static str {
        match self {
            InputKind::CloudFormation { sam: true } => "sam",
            InputKind::CloudFormation { sam: false } => "cloudformation",
            InputKind::AwsApi(_) => "aws-api",
            InputKind::Terraform => "terraform",
            InputKind::TerraformPlan => "terraform-plan",
            InputKind::Serverless => "serverless",
        }
    }
}

/// A file that was read and understood.
pub struct Input {
    pub kind: InputKind,
    pub syntax: SyntaxKind,
    /// The tree of a JSON or YAML input (`Null` for native HCL).
    pub root: Node,
    /// Terraform configuration: the body of the file, from either syntax.
    pub body: Option<hcl::Body>,
    /// Defects that did not stop parsing but make the file invalid for its kind.
    pub problems: Vec<ReadError>,
    /// What the reader saw that the file's tool accepts but a reviewer should know (a key
    /// written twice in a template).
    pub notes: Vec<ReadError>,
}

pub enum ReadOutcome {
    Input(Input),
    /// Not an input atrest understands: counted and listed with the reason, never an error.
    Skipped(Skip),
    Failed(ReadError),
}

/// Why a file was not read as an input. Every skipped file is listed with this reason in the
/// JSON report and with `--verbose` in the text report, so that nothing is dropped unseen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// An extension atrest never reads (`.md`, `.py`, ...).
    Extension,
    /// Compressed, and not a `.json.gz`.
    Compressed,
    /// A `.json.gz` that is neither a CloudTrail log nor AWS Config or API output.
    CompressedNotState,
    /// Over the size limit, and nothing in its name says it is a template.
    TooLarge,
    /// NUL bytes: binary content under a JSON or YAML extension.
    Binary,
    /// No extension, and not text.
    NotText,
    /// Empty, or only white space.
    Empty,
    /// No extension, and the text does not mention a template.
    Unnamed,
    /// Not valid JSON or YAML, and nothing says it is meant to be a template.
    Unparsed,
    /// Several YAML documents in one file: not a template.
    Documents,
    /// Valid JSON or YAML, but not a template, plan or AWS API output.
    Unrecognised,
    /// A CloudTrail digest file (hashes of log files, no events).
    CloudTrailDigest,
    /// A file of Panther rule tests (events written as test cases, not a log).
    PantherTests,
}

impl Skip {
    /// The reason, as the reports give it.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::Extension => "not a file type atrest reads (by its extension)",
            Skip::Compressed => "compressed, and not a .json.gz",
            Skip::CompressedNotState => {
                "a .json.gz that is neither a CloudTrail log nor AWS Config or API output"
            }
            Skip::TooLarge => "over the size limit, and not named like a template",
            Skip::Binary => "binary content (NUL bytes)",
            Skip::NotText => "no extension, and not text",
            Skip::Empty => "empty",
            Skip::Unnamed => "no extension, and does not look like a template",
            Skip::Unparsed => "not valid JSON or YAML, and does not look like a template",
            Skip::Documents => "several YAML documents: not a template",
            Skip::Unrecognised => {
                "JSON or YAML that is not a template, Terraform plan or AWS API output"
            }
            Skip::CloudTrailDigest => "a CloudTrail digest file",
            Skip::PantherTests => "Panther rule tests, not a CloudTrail log",
        }
    }
}

const TEMPLATE_EXTENSIONS: &[&str] = &["json", "yaml", "yml", "template", "tmpl", "cfn"];

/// What a file's name says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameHint {
    /// Named like a template (`template.yaml`, `*.template`, `*.cfn.json`, `stack.cfn`): an empty
    /// or unreadable file is an error, not something to skip.
    Template,
    /// A JSON/YAML extension: read it, skip it if it is not an input we understand (a template
    /// or a Terraform plan, decided by content).
    Candidate,
    /// No extension: read it only if the content looks like a template.
    Unnamed,
    /// `.tf`: Terraform native syntax, always ours.
    TerraformHcl,
    /// `.tf.json`: Terraform JSON syntax, always ours.
    TerraformJson,
    /// `serverless.yml`, `.yaml` or `.json`: a Serverless Framework service when it has
    /// `service` and `provider`, so a syntax error in it is an error.
    Serverless,
}

pub fn name_hint(path: &Path) -> Option<NameHint> {
    // A name that is not UTF-8 is judged by what it says in UTF-8: `t\xff.yaml` is a `.yaml`.
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.ends_with(".tf.json") {
        return Some(NameHint::TerraformJson);
    }
    // Terragrunt's configuration is native syntax too (read as the module call it stands for).
    if ext == "tf" || name == "terragrunt.hcl" {
        return Some(NameHint::TerraformHcl);
    }
    if ext.is_empty() {
        return Some(NameHint::Unnamed);
    }
    if !TEMPLATE_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    if ["serverless.yml", "serverless.yaml", "serverless.json"].contains(&name.as_str()) {
        return Some(NameHint::Serverless);
    }
    let templateish = ["template", "tmpl", "cfn"].contains(&ext.as_str())
        || name.starts_with("template.")
        || name.contains(".template.")
        || name.contains(".cfn.")
        || name.contains("cloudformation");
    Some(if templateish {
        NameHint::Template
    } else {
        NameHint::Candidate
    })
}

pub fn read_input(path: &Path, limits: &Limits) -> ReadOutcome {
    let Some(hint) = name_hint(path) else {
        return read_gzipped(path, limits);
    };
    let by_name = hint != NameHint::Unnamed;
    match std::fs::metadata(path) {
        Ok(m) if m.len() > limits.max_template_bytes => {
            return if by_name {
                ReadOutcome::Failed(ReadError::whole_file(format!(
                    "file is {} bytes, over the {}-byte limit for templates",
                    m.len(),
                    limits.max_template_bytes
                )))
            } else {
                ReadOutcome::Skipped(Skip::TooLarge)
            };
        }
        Ok(_) => {}
        Err(e) => return ReadOutcome::Failed(ReadError::whole_file(format!("cannot read: {e}"))),
    }
    let bytes = match super::file::read_bounded(path, limits.max_template_bytes) {
        Ok(b) => b,
        Err(e) => return ReadOutcome::Failed(ReadError::whole_file(e)),
    };
    match classify(&bytes, hint, limits) {
        ReadOutcome::Input(input) => with_subject(input, path),
        other => other,
    }
}

/// A `.json.gz` file that is not a CloudTrail log (those are read as logs before this): AWS
/// Config delivers its snapshots and history to S3 gzipped. Read as deployed state when it is
/// one; anything else compressed is not an input atrest reads.
fn read_gzipped(path: &Path, limits: &Limits) -> ReadOutcome {
    use std::io::Read;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !name.ends_with(".json.gz") {
        return ReadOutcome::Skipped(if name.ends_with(".gz") {
            Skip::Compressed
        } else {
            Skip::Extension
        });
    }
    let file = match super::file::open_regular(path) {
        Ok((f, _)) => f,
        Err(e) => return ReadOutcome::Failed(ReadError::whole_file(e)),
    };
    let mut bytes = Vec::new();
    // One byte over the limit tells an oversized file from one that fits exactly.
    let inflated = flate2::read::MultiGzDecoder::new(std::io::BufReader::new(file))
        .take(limits.max_template_bytes + 1)
        .read_to_end(&mut bytes);
    if let Err(e) = inflated {
        return ReadOutcome::Failed(ReadError::whole_file(format!(
            "cannot decompress: {e} (a truncated or corrupt .gz)"
        )));
    }
    if bytes.len() as u64 > limits.max_template_bytes {
        return ReadOutcome::Failed(ReadError::whole_file(format!(
            "decompresses to over the {}-byte limit for inputs",
            limits.max_template_bytes
        )));
    }
    match classify(&bytes, NameHint::Candidate, limits) {
        ReadOutcome::Input(input) if matches!(input.kind, InputKind::AwsApi(_)) => {
            with_subject(input, path)
        }
        // Named JSON and not valid JSON: as for a plain `.json` file, that is an error.
        ReadOutcome::Failed(e) => ReadOutcome::Failed(e),
        // A template or plan is not delivered gzipped.
        _ => ReadOutcome::Skipped(Skip::CompressedNotState),
    }
}

/// `get-key-rotation-status` and `get-key-policy` output need to say which key they are about:
/// in the output or, where the output does not name it, in the file name.
fn with_subject(input: Input, path: &Path) -> ReadOutcome {
    let InputKind::AwsApi(shape) = input.kind else {
        return ReadOutcome::Input(input);
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if shape.needs_subject() && aws::subject_key(&input.root, name).is_none() {
        return ReadOutcome::Failed(ReadError::whole_file(format!(
            "`{}` output that does not say which key it is about: put the key id in the file name (e.g. kms-get-key-policy-1234abcd-12ab-34cd-56ef-1234567890ab.json, as `atrest collect` names it)",
            shape.command()
        )));
    }
    ReadOutcome::Input(input)
}

/// A Terraform configuration file: always ours, so every defect is an error.
fn terraform(bytes: &[u8], json_syntax: bool, limits: &Limits) -> ReadOutcome {
    let text = match text::decode(bytes) {
        Ok(t) => t,
        Err(e) => return ReadOutcome::Failed(e),
    };
    let parsed = if json_syntax {
        json::parse(&text, limits).and_then(|p| {
            let problems = duplicates_mean(p.duplicates, DUPLICATE_TERRAFORM);
            hcl::from_json(&p.root).map(|b| (b, problems, SyntaxKind::Json))
        })
    } else {
        hcl::parse(&text, limits).map(|b| (b, Vec::new(), SyntaxKind::Hcl))
    };
    match parsed {
        Ok((body, problems, syntax)) => ReadOutcome::Input(Input {
            kind: InputKind::Terraform,
            syntax,
            root: Node::new(super::Value::Null, super::Span::default()),
            body: Some(body),
            problems,
            notes: Vec::new(),
        }),
        Err(e) => ReadOutcome::Failed(e),
    }
}

/// Parses bytes and decides whether they are an input we understand. The name hint decides
/// whether undecodable or empty content is an error or a skip.
pub fn classify(bytes: &[u8], hint: NameHint, limits: &Limits) -> ReadOutcome {
    match hint {
        NameHint::TerraformHcl => return terraform(bytes, false, limits),
        NameHint::TerraformJson => return terraform(bytes, true, limits),
        _ => {}
    }
    let by_name = hint != NameHint::Unnamed;
    let text = match text::decode(bytes) {
        Ok(t) => t,
        // A template with a NUL byte in it is a broken template, not a binary file.
        Err(_) if bytes.contains(&0) && mentions_template(&String::from_utf8_lossy(bytes)) => {
            let at = bytes.iter().position(|b| *b == 0).unwrap_or(0);
            let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
            return ReadOutcome::Failed(ReadError {
                line: Some(line as u32),
                column: None,
                message: "a NUL byte in a template: binary content, not text".into(),
            });
        }
        // Binary content (NUL bytes) in a file only a generic extension makes a candidate
        // (`blob.yaml`) is not a template: skipped. Text in a broken encoding still is an error.
        Err(_)
            if hint == NameHint::Candidate
                && !bytes.starts_with(&[0xFF, 0xFE])
                && !bytes.starts_with(&[0xFE, 0xFF])
                && bytes.contains(&0) =>
        {
            return ReadOutcome::Skipped(Skip::Binary);
        }
        Err(e) if by_name => return ReadOutcome::Failed(e),
        Err(_) => return ReadOutcome::Skipped(Skip::NotText),
    };
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return if hint == NameHint::Template {
            ReadOutcome::Failed(ReadError::whole_file(
                "empty file: named like a template, but has no content",
            ))
        } else {
            ReadOutcome::Skipped(Skip::Empty)
        };
    }
    if !by_name && !mentions_template(&text) {
        return ReadOutcome::Skipped(Skip::Unnamed);
    }
    let (syntax, parsed) = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        (
            SyntaxKind::Json,
            json::parse(&text, limits).map(|p| (p.root, [Vec::new(), p.duplicates, Vec::new()], 1)),
        )
    } else {
        (
            SyntaxKind::Yaml,
            // A `serverless.yml` is read as js-yaml reads it, aliases expanded; should it be a
            // template after all, its anchors are CloudFormation's problems again (below).
            yaml::parse_with(&text, limits, aliases(hint))
                .map(|p| (p.root, [p.problems, p.duplicates, p.anchors], p.documents)),
        )
    };
    let (mut root, [mut problems, duplicates, anchors], documents) = match parsed {
        Ok(p) => p,
        // A syntax error is ours to report only when the file looks like something we read.
        Err(e)
            if matches!(hint, NameHint::Template | NameHint::Serverless)
                || mentions_template(&text) =>
        {
            return ReadOutcome::Failed(e);
        }
        // Nesting past `--max-depth` is refused before anything can tell what the file is (API
        // output does not name itself in text): named, never skipped.
        Err(e) if by_name && e.message.starts_with(NESTING) => return ReadOutcome::Failed(e),
        Err(_) => return ReadOutcome::Skipped(Skip::Unparsed),
    };
    if documents > 1 {
        // A Kubernetes manifest or an Ansible file is several documents; a template is one.
        return if hint == NameHint::Template || mentions_template(&text) {
            ReadOutcome::Failed(ReadError::whole_file(format!(
                "{documents} YAML documents in one file: a template is one document; split them into files to have them read"
            )))
        } else {
            ReadOutcome::Skipped(Skip::Documents)
        };
    }
    // `{"Records": ...}` is how CloudTrail delivers logs; one whose `Records` is not a list is a
    // broken log, not some other JSON.
    if syntax == SyntaxKind::Json
        && root.get("Resources").is_none()
        && root
            .get("Records")
            .is_some_and(|r| !matches!(r.value, crate::read::Value::Seq(_)))
    {
        let at = root
            .entry("Records")
            .map(|e| e.key_span.start)
            .unwrap_or_default();
        return ReadOutcome::Failed(ReadError::at(
            at,
            "\"Records\" must be a list of CloudTrail events",
        ));
    }
    let kind = match template_kind(&root) {
        Some(kind) => kind,
        None if hint == NameHint::Serverless && is_serverless(&root) => InputKind::Serverless,
        None if syntax == SyntaxKind::Json && is_plan(&root) => InputKind::TerraformPlan,
        None => match aws::detect(&root) {
            Some(shape) => {
                let checked = aws::normalise(shape, &mut root, limits)
                    .and_then(|()| aws::validate(shape, &root));
                if let Err(e) = checked {
                    return ReadOutcome::Failed(e);
                }
                InputKind::AwsApi(shape)
            }
            None => return ReadOutcome::Skipped(Skip::Unrecognised),
        },
    };
    if kind != InputKind::Serverless && !anchors.is_empty() {
        problems.extend(anchors);
    }
    // A key written twice: CloudFormation's parsers take the last value and deploy, as SAM CLI
    // does (PyYAML); the Serverless Framework's js-yaml refuses the file. The reader has taken
    // the last value either way.
    let mut notes = Vec::new();
    match kind {
        InputKind::CloudFormation { .. } => notes = duplicates_mean(duplicates, DUPLICATE_CFN),
        InputKind::Serverless => problems.extend(duplicates_mean(duplicates, DUPLICATE_SLS)),
        _ => problems.extend(duplicates_mean(duplicates, "")),
    }
    problems.sort_by_key(|p| (p.line, p.column));
    ReadOutcome::Input(Input {
        kind,
        syntax,
        root,
        body: None,
        problems,
        notes,
    })
}

const DUPLICATE_CFN: &str =
    "; CloudFormation deploys the last value, this one, and ignores the earlier";
const DUPLICATE_SLS: &str = "; the Serverless Framework refuses duplicate keys";
const DUPLICATE_TERRAFORM: &str = "; Terraform refuses duplicate properties in JSON syntax";

/// Duplicate-key messages completed with what they mean to the tool that reads the file.
fn duplicates_mean(duplicates: Vec<ReadError>, meaning: &str) -> Vec<ReadError> {
    duplicates
        .into_iter()
        .map(|mut d| {
            d.message.push_str(meaning);
            d
        })
        .collect()
}

/// How a file's YAML aliases are read: expanded where the tool that reads the file expands them.
fn aliases(hint: NameHint) -> yaml::Aliases {
    match hint {
        NameHint::Serverless => yaml::Aliases::EXPAND,
        _ => yaml::Aliases::Refuse,
    }
}

/// How the JSON and YAML readers begin the message for input nested past `--max-depth`.
const NESTING: &str = "nesting deeper than";

/// Cheap textual sniff: could this text be a CloudFormation template or a Terraform plan?
fn mentions_template(text: &str) -> bool {
    text.contains("AWSTemplateFormatVersion")
        || (text.contains("Resources") && text.contains("AWS::"))
        || (text.contains("\"format_version\"") && text.contains("\"terraform_version\""))
}

/// A Serverless Framework service for AWS: `service` and `provider` (`provider: aws`, or a map
/// whose `name` is `aws`; the framework's other providers are not AWS Lambda). Version 4 of the
/// framework takes a service without `provider` as an AWS one: then `functions` must be there.
fn is_serverless(root: &Node) -> bool {
    let aws = match root.get("provider") {
        Some(p) => match p.as_str() {
            Some(name) => name == "aws",
            None => {
                p.is_map()
                    && p.get("name")
                        .and_then(Node::as_str)
                        .is_none_or(|n| n == "aws")
            }
        },
        None => root.get("functions").is_some(),
    };
    root.get("service").is_some() && aws
}

/// A SAM resource, or an `Fn::ForEach` loop (`[Id, Collection, {Key: Resource}]`, maybe nested)
/// that makes one.
fn makes_serverless(e: &crate::read::Entry) -> bool {
    if e.key.starts_with("Fn::ForEach::") {
        return e
            .value
            .items()
            .get(2)
            .is_some_and(|body| body.entries().iter().any(makes_serverless));
    }
    e.value
        .get("Type")
        .and_then(Node::as_str)
        .is_some_and(|t| t.starts_with("AWS::Serverless::"))
}

/// `terraform show -json` of a plan: a format version and planned values or changes.
fn is_plan(root: &Node) -> bool {
    root.get("format_version").is_some()
        && root.get("terraform_version").is_some()
        && (root.get("planned_values").is_some() || root.get("resource_changes").is_some())
}

fn template_kind(root: &Node) -> Option<InputKind> {
    let resources = root.get("Resources");
    // A resource, or an `Fn::ForEach` loop that makes resources (`AWS::LanguageExtensions`).
    let typed = resources.is_some_and(|r| {
        r.is_map()
            && r.entries().iter().any(|e| {
                e.key.starts_with("Fn::ForEach::")
                    || e.value.get("Type").and_then(Node::as_str).is_some()
            })
    });
    if !typed && root.get("AWSTemplateFormatVersion").is_none() {
        return None;
    }
    let transform_is_sam = root.get("Transform").is_some_and(|t| {
        let is_sam = |n: &Node| n.as_str() == Some("AWS::Serverless-2016-10-31");
        is_sam(t) || t.items().iter().any(is_sam)
    });
    let has_serverless = resources.is_some_and(|r| r.entries().iter().any(makes_serverless));
    Some(InputKind::CloudFormation {
        sam: transform_is_sam || has_serverless,
    })
}

/// Extensions a CloudTrail log can have (`.json.gz` ends in `gz`); templates are sniffed too,
/// since both are `.json`.
pub const LOG_EXTENSIONS: &[&str] = &["json", "gz", "jsonl", "ndjson", "log", ""];

/// What a file is as a CloudTrail log.
pub enum LogSniff {
    /// A log to read, of this shape.
    Trail { shape: TrailShape, gzip: bool },
    /// Recognised and deliberately not read (CloudTrail digests, Panther rule tests).
    Skipped(Skip),
    /// A broken log delivery.
    Broken(ReadError),
}

/// What a file is as a CloudTrail log, by its extension and content; `None` when it is not
/// one (it may still be another input, for [`read_input`]).
pub fn log(file: &Path) -> Option<LogSniff> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !LOG_EXTENSIONS.contains(&ext.as_str()) {
        return None;
    }
    match cloudtrail::sniff_file(file) {
        Ok(Sniff::Trail { shape, gzip }) => Some(LogSniff::Trail { shape, gzip }),
        Ok(Sniff::Digest) => Some(LogSniff::Skipped(Skip::CloudTrailDigest)),
        Ok(Sniff::PantherTests) => Some(LogSniff::Skipped(Skip::PantherTests)),
        // A file named `.gz` that is not gzip is a broken log delivery, not something else.
        Ok(Sniff::NotTrail) if ext == "gz" && !cloudtrail::is_gzip(file) => Some(LogSniff::Broken(
            ReadError::whole_file("named .gz but not gzip-compressed (no gzip header)"),
        )),
        Err(e) if ext == "gz" => Some(LogSniff::Broken(ReadError::whole_file(format!(
            "cannot read the compressed log: {e}"
        )))),
        Ok(Sniff::NotTrail) | Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str) -> Input {
        match classify(text.as_bytes(), NameHint::Serverless, &Limits::default()) {
            ReadOutcome::Input(i) => i,
            _ => panic!("not an input: {text}"),
        }
    }

    /// A `serverless.yml` has its aliases expanded; one that is a CloudFormation template after
    /// all has its anchors and aliases reported, as in any other template.
    #[test]
    fn aliases_are_problems_only_in_templates() {
        let service = input("service: s\nprovider: &p\n  name: aws\nother: *p\n");
        assert_eq!(service.kind, InputKind::Serverless);
        assert!(service.problems.is_empty(), "{:?}", service.problems);
        assert_eq!(
            service
                .root
                .get("other")
                .unwrap()
                .get("name")
                .unwrap()
                .as_str(),
            Some("aws")
        );
        let template = input(
            "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: &a\n    Type: AWS::SQS::Queue\n  B: *a\n",
        );
        assert!(matches!(template.kind, InputKind::CloudFormation { .. }));
        let lines: Vec<_> = template.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [Some(3), Some(5)], "{:?}", template.problems);
    }
}
