//! The best description of each object into the model's functions, mappings, log groups and
//! X-Ray settings.

use super::{Desc, FunctionNames, KeyIndex, Obj, SOURCE, function_id, region_account, unqualified};
use crate::model::keys::KeyRef;
use crate::model::{
    Durable, EnvVar, Environment, EventSourceMapping, FilterCriteria, Function, Locations,
    LogGroup, Origin, RoleRef, ValueSource, XrayEncryption,
};
use crate::read::{ApiShape, Node};
use std::collections::BTreeMap;

pub(super) fn function(d: &Desc<FunctionNames>, index: &KeyIndex) -> Function {
    let n = d.names;
    let cfg = &d.obj;
    let name = cfg.str(n.name).map(str::to_owned);
    let arn = cfg.str(n.arn);
    // A version or alias is named after its qualifier: `name:3`.
    let logical_id = match (arn, &name) {
        (Some(a), Some(nm)) if unqualified(a) != a && !a.ends_with(":$LATEST") => {
            format!("{nm}:{}", &a[unqualified(a).len() + 1..])
        }
        (_, Some(nm)) => nm.clone(),
        _ => d.id.clone(),
    };
    let mut locations = Locations::new();
    locations.insert(String::new(), cfg.loc(n.name).unwrap_or_else(|| cfg.at()));

    let environment = cfg.child(n.environment).map(|env| {
        cfg.note(&mut locations, "environment", n.environment);
        let mut variables = BTreeMap::new();
        if let Some(vars) = env.child(n.variables) {
            for v in vars.node.entries() {
                vars.note(
                    &mut locations,
                    &format!("environment.variables.{}", v.key),
                    &v.key,
                );
                variables.insert(
                    v.key.clone(),
                    EnvVar {
                        value: v.value.scalar_text(),
                        source: ValueSource::Literal,
                    },
                );
            }
        }
        Environment {
            variables,
            variables_unknown: false,
        }
    });

    cfg.note(&mut locations, "kms_key", n.kms);
    let kms_key = index.key_ref(cfg.str(n.kms), n.kms);

    let package_type = cfg.str(n.package_type).unwrap_or("Zip").to_owned();
    let code = d.code.as_ref().and_then(|root| {
        root.note(&mut locations, "code", "Code");
        root.child("Code")
    });
    let code_kms_key = match (code, d.shape) {
        (Some(code), _) => {
            code.note(&mut locations, "code_kms_key", "SourceKMSKeyArn");
            index.key_ref(code.str("SourceKMSKeyArn"), "Code.SourceKMSKeyArn")
        }
        (None, ApiShape::GetFunction) => KeyRef::unknown(vec![
            "Code.SourceKMSKeyArn".into(),
            "this get-function output has no Code".into(),
        ]),
        (None, shape) => KeyRef::unknown(vec![
            "Code.SourceKMSKeyArn".into(),
            format!(
                "not shown by `{}`; `aws lambda get-function` shows it",
                shape.command()
            ),
        ]),
    };

    let logging = cfg.child(n.logging);
    let configured_group = logging.as_ref().and_then(|l| {
        l.note(&mut locations, "log_group", n.log_group);
        l.str(n.log_group).map(str::to_owned)
    });
    let log_group =
        configured_group.or_else(|| name.as_ref().map(|nm| format!("/aws/lambda/{}", nm)));

    let tracing_mode = cfg.child(n.tracing).and_then(|t| {
        t.note(&mut locations, "tracing_mode", n.mode);
        t.str(n.mode).map(str::to_owned)
    });
    cfg.note(&mut locations, "role", n.role);
    let role = cfg.str(n.role).map(|r| RoleRef {
        value: Some(r.to_owned()),
        resource: None,
    });
    let durable = cfg.child(n.durable).map(|dc| {
        cfg.note(&mut locations, "durable", n.durable);
        dc.note(&mut locations, "durable.kms_key", n.durable_kms);
        Durable {
            kms_key: index.key_ref(dc.str(n.durable_kms), "DurableConfig.KMSKeyArn"),
        }
    });

    Function {
        origin: Origin {
            id: d.id.clone(),
            source: SOURCE,
            logical_id,
            resource_type: "AWS::Lambda::Function".into(),
            locations,
            via: None,
        },
        name,
        environment,
        kms_key,
        package_type,
        code_kms_key,
        log_group,
        log_group_resource: None,
        tracing_mode,
        role,
        durable,
        stack_logical_id: d
            .code
            .as_ref()
            .and_then(|root| root.child("Tags"))
            .and_then(|tags| tags.str("aws:cloudformation:logical-id"))
            .map(str::to_owned),
    }
}

/// The declared log group a function writes to: same name, and same Region and account where
/// both ARNs say.
pub(super) fn find_log_group(f: &Function, groups: &[LogGroup]) -> Option<String> {
    let name = f.log_group.as_deref()?;
    let place = region_account(&f.origin.id);
    groups
        .iter()
        .find(|g| {
            g.name.as_deref() == Some(name)
                && match (place, region_account(&g.origin.id)) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        })
        .map(|g| g.origin.id.clone())
}

pub(super) fn mapping(
    d: &Desc<()>,
    index: &KeyIndex,
    functions: &[Function],
) -> EventSourceMapping {
    let m = &d.obj;
    let mut locations = Locations::new();
    locations.insert(String::new(), m.loc("UUID").unwrap_or_else(|| m.at()));
    m.note(&mut locations, "filter_criteria", "FilterCriteria");
    m.note(&mut locations, "kms_key", "KMSKeyArn");
    m.note(
        &mut locations,
        "filter_criteria_error",
        "FilterCriteriaError",
    );
    let key = m.str("KMSKeyArn");
    let error = m.child("FilterCriteriaError").map(|e| {
        let code = e.str("ErrorCode").unwrap_or("error");
        match e.str("Message") {
            Some(msg) => format!("{code}: {msg}"),
            None => code.to_owned(),
        }
    });
    let (filter_criteria, filter_patterns) = match m.entry("FilterCriteria") {
        None => (FilterCriteria::Absent, Vec::new()),
        // List output shows criteria encrypted with a customer managed key as null; any output
        // does when Lambda could not decrypt them.
        Some(e) if e.value.is_null() => {
            let encrypted =
                (d.shape == ApiShape::ListEventSourceMappings && key.is_some()) || error.is_some();
            if encrypted {
                (FilterCriteria::Encrypted, Vec::new())
            } else {
                (FilterCriteria::Absent, Vec::new())
            }
        }
        Some(e) => {
            FilterCriteria::of_filters(e.value.get("Filters").map(Node::items).unwrap_or(&[]))
        }
    };
    let function = m.str("FunctionArn").and_then(|arn| {
        functions
            .iter()
            .find(|f| f.origin.id == function_id(arn))
            .or_else(|| functions.iter().find(|f| f.origin.id == unqualified(arn)))
            .map(|f| f.origin.id.clone())
    });
    let event_source_arn = m.str("EventSourceArn").map(str::to_owned);
    let event_source_type = if m.value("SelfManagedEventSource").is_some() {
        Some("SelfManagedKafka".to_owned())
    } else {
        event_source_arn
            .as_deref()
            .and_then(|a| a.split(':').nth(2))
            .and_then(|service| match service {
                "sqs" => Some("SQS"),
                "kinesis" => Some("Kinesis"),
                "dynamodb" => Some("DynamoDB"),
                "kafka" => Some("MSK"),
                "mq" => Some("MQ"),
                "rds" | "docdb" => Some("DocumentDB"),
                _ => None,
            })
            .map(str::to_owned)
    };
    let uuid = d.id.clone();
    EventSourceMapping {
        origin: Origin {
            id: uuid.clone(),
            source: SOURCE,
            logical_id: uuid,
            resource_type: "AWS::Lambda::EventSourceMapping".into(),
            locations,
            via: None,
        },
        function,
        event_source_arn,
        event_source_type,
        filter_criteria,
        filter_patterns,
        kms_key: index.key_ref(key, "KMSKeyArn"),
        filter_criteria_error: error,
    }
}

pub(super) fn log_group(d: &Desc<()>, index: &KeyIndex) -> LogGroup {
    let g = &d.obj;
    let name = g.str("logGroupName").map(str::to_owned);
    let mut locations = Locations::new();
    locations.insert(
        String::new(),
        g.loc("logGroupName").unwrap_or_else(|| g.at()),
    );
    g.note(&mut locations, "kms_key", "kmsKeyId");
    LogGroup {
        origin: Origin {
            id: d.id.clone(),
            source: SOURCE,
            logical_id: name.clone().unwrap_or_else(|| d.id.clone()),
            resource_type: "AWS::Logs::LogGroup".into(),
            locations,
            via: None,
        },
        written_by: Vec::new(),
        name,
        kms_key: index.key_ref(g.str("kmsKeyId"), "kmsKeyId"),
    }
}

pub(super) fn xray(x: &Obj, index: &KeyIndex) -> XrayEncryption {
    let mut locations = Locations::new();
    locations.insert(String::new(), x.at());
    x.note(&mut locations, "type", "Type");
    x.note(&mut locations, "kms_key", "KeyId");
    let encryption_type = x.str("Type").unwrap_or("NONE").to_owned();
    let kms_key = if encryption_type == "KMS" {
        index.key_ref(x.str("KeyId"), "KeyId")
    } else {
        KeyRef::absent(vec![format!("Type {encryption_type}")])
    };
    XrayEncryption {
        origin: Origin {
            id: format!("xray-encryption:{}", x.file),
            source: SOURCE,
            logical_id: "EncryptionConfig".into(),
            resource_type: "AWS::XRay::EncryptionConfig".into(),
            locations,
            via: None,
        },
        encryption_type,
        kms_key,
    }
}
