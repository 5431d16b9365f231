//! Serverless Framework services (`serverless.yml`) into the model.
//!
//! The framework compiles a service into a CloudFormation template and deploys that. This module
//! does the same for the parts that hold Lambda data at rest, the way the framework names and
//! fills them, and reads the result with the CloudFormation model, so one policy sees one model:
//!
//! - each function becomes `<Name>LambdaFunction`, with `kmsKeyArn`, `environment` (the
//!   provider's variables merged under the function's), `tracing` and `logs.logGroup` of the
//!   function, else of `provider`;
//! - each function gets the log group the framework creates, `<Name>LogGroup` named
//!   `/aws/lambda/<function name>` (none with `disableLogs` or a `logs.logGroup` of its own; an
//!   `-ia` one besides with `logGroupClass: INFREQUENT_ACCESS`);
//! - `sqs`, `stream`, `msk`, `kafka`, `activemq` and `rabbitmq` events become event source
//!   mappings, their `filterPatterns` the mapping's filter criteria;
//! - `resources` is merged over all of that as the framework merges it (a deep merge, so
//!   `resources.Resources.HelloLogGroup.Properties.KmsKeyId` adds a key to a generated log
//!   group), and `resources.extensions` is applied.
//!
//! Every node keeps the span it has in `serverless.yml`, so findings point there; locations are
//! given `serverless.yml` pointers (`/functions/hello/kmsKeyArn`) afterwards.

mod vars;

use super::{FileId, Inventory, cfn};
use crate::read::{Entry, Node, Pos, Span, Value};
use std::collections::{HashMap, HashSet};
use vars::{call, concat, text};

/// The pull events the framework turns into an `AWS::Lambda::EventSourceMapping`: the event's
/// key, the part of the mapping's logical id that names its kind, and the model's source type.
const PULL_EVENTS: &[(&str, &str, &str)] = &[
    ("sqs", "SQS", "SQS"),
    ("stream", "", ""),
    ("msk", "MSK", "MSK"),
    ("kafka", "Kafka", "SelfManagedKafka"),
    ("activemq", "ActiveMQ", "MQ"),
    ("rabbitmq", "RabbitMQ", "MQ"),
];

pub use vars::Files;

/// The model of a service; `files` reads what it includes with `${file(...)}`.
pub fn inventory(file: &FileId, root: &Node, files: Files) -> Inventory {
    let resolved = vars::resolve(root, files);
    let mut service = Service::new(&resolved);
    for f in service.functions() {
        service.function(f);
    }
    let template = service.template(&resolved);
    let mut inv = cfn::inventory(file, &template, false);
    relabel(&mut inv, root, &service.mapping_types);
    inv
}

struct Service<'a> {
    root: &'a Node,
    provider: Option<&'a Node>,
    name: Node,
    stage: &'a Node,
    resources: Vec<Entry>,
    /// Mapping logical id -> its event source type.
    mapping_types: HashMap<String, &'static str>,
    mapping_ids: HashSet<String>,
}

fn map(entries: Vec<Entry>, span: Span) -> Node {
    Node::new(Value::Map(entries), span)
}

fn entry(key: &str, key_span: Span, value: Node) -> Entry {
    Entry {
        key: key.to_owned(),
        key_span,
        value,
    }
}

/// A setting that the framework takes as given: JavaScript truthiness (not `null`, `false` or
/// an empty string).
fn set(e: &Entry) -> bool {
    !matches!(&e.value.value, Value::Null | Value::Bool(false)) && e.value.as_str() != Some("")
}

/// The framework's normalised name: first letter upper-cased, `-` and `_` spelled out.
fn normalized(name: &str) -> String {
    let name = name.replace('-', "Dash").replace('_', "Underscore");
    let mut chars = name.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn alphanumeric(name: &str) -> String {
    normalized(&name.replace(|c: char| !c.is_ascii_alphanumeric(), ""))
}

impl<'a> Service<'a> {
    fn new(resolved: &'a vars::Resolved) -> Self {
        let root = &resolved.root;
        let name = root
            .get("service")
            .map(|s| s.get("name").unwrap_or(s).clone())
            .unwrap_or_else(|| text("service", Span::default()));
        Service {
            root,
            provider: root.get("provider"),
            name,
            stage: &resolved.stage,
            resources: Vec::new(),
            mapping_types: HashMap::new(),
            mapping_ids: HashSet::new(),
        }
    }

    fn functions(&self) -> Vec<&'a Entry> {
        let Some(functions) = self.root.get("functions") else {
            return Vec::new();
        };
        match &functions.value {
            // Older services list maps of functions.
            Value::Seq(items) => items.iter().flat_map(Node::entries).collect(),
            _ => functions.entries().iter().collect(),
        }
    }

    fn provider_entry(&self, name: &str) -> Option<&'a Entry> {
        self.provider?.entry(name).filter(|e| set(e))
    }

    /// The provider's `logs.lambda` setting `name`.
    fn provider_logs(&self, name: &str) -> Option<&'a Entry> {
        self.provider?
            .get("logs")?
            .get("lambda")?
            .entry(name)
            .filter(|e| set(e))
    }

    fn function(&mut self, f: &'a Entry) {
        let obj = &f.value;
        let own = |name: &str| obj.entry(name).filter(|e| set(e));
        let norm = normalized(&f.key);
        let logical_id = format!("{norm}LambdaFunction");
        let span = f.key_span;
        let mut props = Vec::new();

        let name = match own("name") {
            Some(n) => {
                props.push(entry("FunctionName", n.key_span, n.value.clone()));
                n.value.clone()
            }
            None => {
                let name = concat(
                    vec![
                        self.name.clone(),
                        text("-", span),
                        self.stage.clone(),
                        text(&format!("-{}", f.key), span),
                    ],
                    span,
                );
                props.push(entry("FunctionName", span, name.clone()));
                name
            }
        };

        // The .zip package (or image) is built from the function's handler; no setting of the
        // framework gives it a key, so findings about it point at the function's code.
        let code_at = ["package", "image", "handler"]
            .iter()
            .find_map(|k| own(k))
            .map_or(span, |e| e.key_span);
        let mut code = Vec::new();
        if let Some(image) = own("image") {
            props.push(entry("PackageType", image.key_span, text("Image", span)));
            code.push(entry("ImageUri", image.key_span, image.value.clone()));
        }
        props.push(entry("Code", code_at, map(code, span)));

        // `awsKmsKeyArn` (on the function, or on `service`) is how version 1 of the framework
        // named it.
        let key = own("kmsKeyArn")
            .or_else(|| own("awsKmsKeyArn"))
            .or_else(|| self.provider_entry("kmsKeyArn"))
            .or_else(|| {
                self.root
                    .get("service")?
                    .entry("awsKmsKeyArn")
                    .filter(|e| set(e))
            });
        if let Some(k) = key {
            props.push(entry("KmsKeyArn", k.key_span, k.value.clone()));
        }

        let fe = obj.entry("environment").filter(|e| !e.value.is_null());
        let pe = self
            .provider
            .and_then(|p| p.entry("environment"))
            .filter(|e| !e.value.is_null());
        if let Some(trigger) = fe.or(pe) {
            let variables = merged_environment([pe, fe], trigger.value.span);
            props.push(entry(
                "Environment",
                trigger.key_span,
                map(
                    vec![entry("Variables", trigger.key_span, variables)],
                    trigger.value.span,
                ),
            ));
        }

        let tracing = own("tracing").or_else(|| {
            self.provider?
                .get("tracing")?
                .entry("lambda")
                .filter(|e| set(e))
        });
        if let Some(t) = tracing {
            let mode = match t.value.value {
                Value::Bool(true) => text("Active", t.value.span),
                _ => t.value.clone(),
            };
            props.push(entry(
                "TracingConfig",
                t.key_span,
                map(vec![entry("Mode", t.key_span, mode)], t.value.span),
            ));
        }

        let logs = obj.get("logs");
        let log_setting = |name: &str| {
            logs.and_then(|l| l.entry(name))
                .filter(|e| set(e))
                .or_else(|| self.provider_logs(name))
        };
        let infrequent = log_setting("logGroupClass")
            .and_then(|e| e.value.scalar_text())
            .is_some_and(|c| c.eq_ignore_ascii_case("INFREQUENT_ACCESS"));
        let log_group = match log_setting("logGroup") {
            Some(lg) => Some(entry("LogGroup", lg.key_span, lg.value.clone())),
            None if obj
                .get("disableLogs")
                .is_some_and(|d| d.value == Value::Bool(true)) =>
            {
                None
            }
            None => {
                let at = obj.entry("logs").map_or(span, |l| l.key_span);
                let mut target = String::new();
                for suffix in if infrequent {
                    &["", "-ia"][..]
                } else {
                    &[""][..]
                } {
                    let id = format!(
                        "{norm}LogGroup{}",
                        if suffix.is_empty() { "" } else { "IA" }
                    );
                    let group_name = concat(
                        vec![text("/aws/lambda/", span), name.clone(), text(suffix, span)],
                        span,
                    );
                    self.resource(
                        &id,
                        span,
                        "AWS::Logs::LogGroup",
                        vec![entry("LogGroupName", span, group_name)],
                    );
                    target = id;
                }
                Some(entry(
                    "LogGroup",
                    at,
                    call("Ref", text(&target, span), span),
                ))
            }
        };
        if let Some(lg) = log_group {
            let at = lg.key_span;
            props.push(entry("LoggingConfig", at, map(vec![lg], at)));
        }

        let role = own("role")
            .or_else(|| {
                self.provider?
                    .get("iam")?
                    .entry("role")
                    .filter(|e| !e.value.is_map() || e.value.intrinsic().is_some())
            })
            .or_else(|| self.provider_entry("role"));
        if let Some(r) = role {
            // A name that is not an ARN is the logical id of a role in `resources`.
            let value = match r.value.as_str() {
                Some(id) if !id.starts_with("arn:") => call(
                    "Fn::GetAtt",
                    Node::new(
                        Value::Seq(vec![text(id, r.value.span), text("Arn", r.value.span)]),
                        r.value.span,
                    ),
                    r.value.span,
                ),
                _ => r.value.clone(),
            };
            props.push(entry("Role", r.key_span, value));
        }

        // The framework gives durable execution no key of its own.
        if let Some(d) = own("durableConfig") {
            props.push(entry(
                "DurableConfig",
                d.key_span,
                map(Vec::new(), d.value.span),
            ));
        }

        self.resource(&logical_id, span, "AWS::Lambda::Function", props);
        self.events(&norm, &logical_id, obj);
    }

    fn resource(&mut self, id: &str, span: Span, ty: &str, props: Vec<Entry>) {
        self.resources.push(entry(
            id,
            span,
            map(
                vec![
                    entry("Type", span, text(ty, span)),
                    entry("Properties", span, map(props, span)),
                ],
                span,
            ),
        ));
    }

    fn events(&mut self, norm: &str, function_id: &str, obj: &Node) {
        let events = obj.get("events").map(Node::items).unwrap_or_default();
        for (i, item) in events.iter().enumerate() {
            let Some(ev) = item.entries().first() else {
                continue;
            };
            let Some(&(_, kind, ty)) = PULL_EVENTS.iter().find(|(k, _, _)| *k == ev.key) else {
                continue;
            };
            let cfg = &ev.value;
            let detailed = cfg.is_map() && cfg.intrinsic().is_none();
            let arn = if detailed {
                cfg.entry("arn").cloned()
            } else {
                Some(entry("arn", ev.key_span, cfg.clone()))
            };
            let arn_text = arn.as_ref().and_then(|a| a.value.as_str()).unwrap_or("");
            let (kind, ty) = if ev.key == "stream" {
                let declared = cfg.get("type").and_then(Node::as_str).unwrap_or("");
                if declared.eq_ignore_ascii_case("dynamodb") || arn_text.contains(":dynamodb:") {
                    ("Dynamodb", "DynamoDB")
                } else if declared.eq_ignore_ascii_case("kinesis") || arn_text.contains(":kinesis:")
                {
                    ("Kinesis", "Kinesis")
                } else {
                    ("Stream", "")
                }
            } else {
                (kind, ty)
            };
            let source_name = arn
                .as_ref()
                .and_then(|a| match a.value.intrinsic() {
                    Some(("Fn::GetAtt", at)) => at
                        .items()
                        .first()
                        .and_then(Node::as_str)
                        .or_else(|| at.as_str().and_then(|s| s.split('.').next()))
                        .map(str::to_owned),
                    _ => None,
                })
                .or_else(|| {
                    let last = arn_text.rsplit([':', '/']).find(|s| !s.is_empty())?;
                    Some(last.to_owned())
                })
                .or_else(|| {
                    ["topic", "queue"]
                        .iter()
                        .find_map(|k| cfg.get(k).and_then(Node::scalar_text))
                })
                .unwrap_or_else(|| i.to_string());
            let base = format!(
                "{norm}EventSourceMapping{kind}{}",
                alphanumeric(&source_name)
            );
            let mut id = base.clone();
            let mut n = 1;
            while self.mapping_ids.contains(&id) {
                n += 1;
                id = format!("{base}{n}");
            }
            self.mapping_ids.insert(id.clone());
            let span = ev.key_span;
            let mut props = vec![entry(
                "FunctionName",
                span,
                call("Ref", text(function_id, span), span),
            )];
            if let Some(a) = arn {
                props.push(entry("EventSourceArn", a.key_span, a.value));
            }
            if let Some(fp) = cfg.entry("filterPatterns").filter(|_| detailed) {
                // The framework writes each pattern as JSON text.
                let criteria = match &fp.value.value {
                    Value::Seq(patterns) => {
                        let filters = patterns
                            .iter()
                            .map(|p| {
                                map(
                                    vec![entry(
                                        "Pattern",
                                        p.span,
                                        text(&p.to_json().to_string(), p.span),
                                    )],
                                    p.span,
                                )
                            })
                            .collect();
                        map(
                            vec![entry(
                                "Filters",
                                fp.key_span,
                                Node::new(Value::Seq(filters), fp.value.span),
                            )],
                            fp.value.span,
                        )
                    }
                    // Known at deploy time only: an expression the model cannot read.
                    _ if fp.value.intrinsic().is_some() => fp.value.clone(),
                    _ => call("Fn::Sub", fp.value.clone(), fp.value.span),
                };
                props.push(entry("FilterCriteria", fp.key_span, criteria));
            }
            if !ty.is_empty() {
                self.mapping_types.insert(id.clone(), ty);
            }
            self.resource(&id, span, "AWS::Lambda::EventSourceMapping", props);
        }
    }

    /// The compiled template: the generated resources, the parameters that stand for values
    /// known at deploy time, and `resources` merged over them.
    fn template(&mut self, resolved: &vars::Resolved) -> Node {
        let none = Span::default();
        let parameters = resolved
            .parameters
            .iter()
            .map(|(name, default)| {
                let mut p = vec![entry("Type", none, text("String", none))];
                if let Some(d) = default {
                    p.push(entry("Default", none, text(d, none)));
                }
                entry(name, none, map(p, none))
            })
            .collect();
        let mut root = vec![
            entry("Parameters", none, map(parameters, none)),
            entry(
                "Resources",
                none,
                map(std::mem::take(&mut self.resources), none),
            ),
        ];
        let fragments = match self.root.get("resources") {
            Some(r) if matches!(r.value, Value::Seq(_)) => r.items().iter().collect(),
            Some(r) => vec![r],
            None => Vec::new(),
        };
        // A fragment known only at deploy time (a file that cannot be read) adds nothing known.
        for fragment in fragments.into_iter().filter(|f| f.intrinsic().is_none()) {
            for e in fragment.entries() {
                if e.key == "extensions" {
                    extend(&mut root, &e.value);
                } else {
                    merge_into(&mut root, std::slice::from_ref(e));
                }
            }
        }
        map(root, none)
    }
}

/// `Object.assign({}, provider.environment, function.environment)`; a side that is not a map
/// (a variable known at deploy time) makes the whole unknown.
fn merged_environment(sides: [Option<&Entry>; 2], span: Span) -> Node {
    let mut out: Vec<Entry> = Vec::new();
    for side in sides.into_iter().flatten() {
        match &side.value.value {
            Value::Map(entries) if side.value.intrinsic().is_none() => assign(&mut out, entries),
            _ => return side.value.clone(),
        }
    }
    map(out, span)
}

/// `Object.assign`: each key of `src` replaces the same key of `dest`, or is added.
fn assign(dest: &mut Vec<Entry>, src: &[Entry]) {
    let mut at = key_index(dest);
    for e in src {
        match at.get(e.key.as_str()) {
            Some(&i) => dest[i] = e.clone(),
            None => {
                at.insert(e.key.clone(), dest.len());
                dest.push(e.clone());
            }
        }
    }
}

/// Where each key of a map is (the first, where a key repeats), so merging many keys into a
/// large map stays linear.
fn key_index(entries: &[Entry]) -> HashMap<String, usize> {
    let mut at = HashMap::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        at.entry(e.key.clone()).or_insert(i);
    }
    at
}

/// lodash `_.merge` of keys into a map: maps and lists merge, anything else replaces (and is
/// then located where the override writes it).
fn merge_into(dest: &mut Vec<Entry>, src: &[Entry]) {
    let mut at = key_index(dest);
    for e in src {
        match at.get(e.key.as_str()) {
            Some(&i) => {
                let d = &mut dest[i];
                if !merge_node(&mut d.value, &e.value) {
                    d.key_span = e.key_span;
                }
            }
            None => {
                at.insert(e.key.clone(), dest.len());
                dest.push(e.clone());
            }
        }
    }
}

/// Merges `src` into `dest`; false when `src` replaced it.
fn merge_node(dest: &mut Node, src: &Node) -> bool {
    match (&mut dest.value, &src.value) {
        (Value::Map(d), Value::Map(s)) => {
            merge_into(d, s);
            true
        }
        (Value::Seq(d), Value::Seq(s)) => {
            for (i, item) in s.iter().enumerate() {
                match d.get_mut(i) {
                    Some(di) => {
                        merge_node(di, item);
                    }
                    None => d.push(item.clone()),
                }
            }
            true
        }
        _ => {
            *dest = src.clone();
            false
        }
    }
}

/// `resources.extensions`: `Properties` assigned over a generated resource's, key by key.
fn extend(root: &mut [Entry], extensions: &Node) {
    let Some(resources) = root.iter_mut().find(|e| e.key == "Resources") else {
        return;
    };
    let Value::Map(resources) = &mut resources.value.value else {
        return;
    };
    let at = key_index(resources);
    for ext in extensions.entries() {
        let Some(&i) = at.get(ext.key.as_str()) else {
            continue;
        };
        let Value::Map(attrs) = &mut resources[i].value.value else {
            continue;
        };
        for attr in ext.value.entries() {
            if attr.key != "Properties" {
                continue;
            }
            match attrs.iter_mut().find(|a| a.key == "Properties") {
                Some(Entry {
                    value:
                        Node {
                            value: Value::Map(props),
                            ..
                        },
                    ..
                }) => assign(props, attr.value.entries()),
                _ => attrs.push(attr.clone()),
            }
        }
    }
}

/// Marks every object as the service's, with `serverless.yml` pointers for its locations, and
/// gives the generated mappings their event source type.
fn relabel(inv: &mut Inventory, root: &Node, mapping_types: &HashMap<String, &'static str>) {
    let mut pointers = HashMap::new();
    index(root, "", &mut pointers);
    for origin in inv.origins_mut() {
        origin.source = "serverless";
        for loc in origin.locations.values_mut() {
            if let Some(p) = pointers.get(&loc.span.start) {
                loc.pointer.clone_from(p);
            }
        }
    }
    for m in &mut inv.event_source_mappings {
        if let Some(ty) = mapping_types.get(&m.origin.id) {
            m.event_source_type = Some((*ty).to_owned());
        }
    }
}

/// Where each key and list item of the service starts -> its JSON pointer.
fn index(node: &Node, pointer: &str, out: &mut HashMap<Pos, String>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                let p = format!("{pointer}/{}", e.key.replace('~', "~0").replace('/', "~1"));
                out.entry(e.key_span.start).or_insert_with(|| p.clone());
                index(&e.value, &p, out);
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let p = format!("{pointer}/{i}");
                out.entry(item.span.start).or_insert_with(|| p.clone());
                index(item, &p, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
