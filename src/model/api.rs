//! Deployed state into the model: AWS CLI/API output (Lambda, KMS, CloudWatch Logs, X-Ray) and
//! AWS Config files, all inputs of a scan together, because they describe one account: a
//! function from `list-functions`, its key from `describe-key` and its log group from
//! `describe-log-groups` are one picture.
//!
//! Objects are identified by ARN (event source mappings by UUID), so ids are unique across
//! files. Where several files describe the same object, the richest description is used
//! (`get-function` over `get-function-configuration` over `list-functions` over AWS Config; of
//! two AWS Config items, the later one), and all its values and locations come from it. Key
//! references resolve across every input: by ARN, key id or alias (`list-aliases`), and a key
//! is AWS managed when `describe-key` says `KeyManager: AWS` or an `alias/aws/*` targets it.
//! A literal key that nothing describes is customer managed by assumption (`assumed`).
//!
//! Locations point at the JSON keys (`KMSKeyArn`, `Environment`, `FilterCriteria`, ...) under the
//! same property paths as the CloudFormation adapter records, so policies and the location
//! logic work unchanged.

use super::keys::{KeyRef, KeyState, is_aws_managed_alias};
use super::{
    Durable, EnvVar, Environment, EventSourceMapping, FileId, FilterCriteria, Function, Inventory,
    KmsAlias, KmsKey, Loc, Locations, LogGroup, Origin, RoleRef, Tri, ValueSource, XrayEncryption,
    policy,
};
use crate::read::{ApiShape, Entry, Input, InputKind, Node, Value, aws};
use std::collections::BTreeMap;

/// The source name of every object read from deployed state.
pub const SOURCE: &str = "aws-api";

/// The model of every AWS API input of one scan, as one inventory.
pub fn inventory(inputs: &[(FileId, &Input)]) -> Inventory {
    inventory_and_keys(inputs).0
}

/// The inventory, and what the deployed state says about keys, for [`DeployedKeys::settle`].
pub fn inventory_and_keys(inputs: &[(FileId, &Input)]) -> (Inventory, DeployedKeys) {
    let mut found = Found::default();
    for (file, input) in inputs {
        if let InputKind::AwsApi(shape) = input.kind {
            let name = file.rsplit('/').next().unwrap_or(file);
            let subject = aws::subject_key(&input.root, name);
            found.read(Obj::root(file, &input.root), shape, subject);
        }
    }
    let (inventory, index) = found.model();
    (inventory, DeployedKeys(index))
}

/// The keys and aliases the deployed state describes (`describe-key`, `list-aliases`,
/// `list-keys`).
pub struct DeployedKeys(KeyIndex);

impl DeployedKeys {
    /// Settles the key references of another input (a template) that are customer managed only
    /// by assumption, where the deployed state describes that key: a literal ARN in a template
    /// that `describe-key` shows as `KeyManager: AWS` is AWS managed. The reference keeps no
    /// `key` (the key object is in the deployed state's inventory, not this one).
    pub fn settle(&self, inventory: &mut Inventory) {
        for r in inventory.key_refs_mut() {
            let Some(text) = r.value.as_deref().filter(|_| r.assumed) else {
                continue;
            };
            let deployed = self.0.key_ref(Some(text), "");
            if deployed.assumed {
                continue;
            }
            // The deployed chain starts with the label and the value, already in `r.chain`.
            r.chain.extend(
                deployed
                    .chain
                    .into_iter()
                    .skip(2)
                    .map(|step| format!("deployed state: {step}")),
            );
            r.state = deployed.state;
            r.assumed = false;
        }
    }
}

/// A JSON object of an input, with its JSON pointer, so any key can be turned into a location.
#[derive(Clone)]
struct Obj<'a> {
    file: &'a FileId,
    node: &'a Node,
    pointer: String,
}

impl<'a> Obj<'a> {
    fn root(file: &'a FileId, node: &'a Node) -> Self {
        Obj {
            file,
            node,
            pointer: String::new(),
        }
    }

    fn entry(&self, key: &str) -> Option<&'a Entry> {
        self.node.entry(key)
    }

    /// The value of `key`, unless it is absent or null.
    fn value(&self, key: &str) -> Option<&'a Node> {
        self.node.get(key).filter(|n| !n.is_null())
    }

    fn str(&self, key: &str) -> Option<&'a str> {
        self.value(key).and_then(Node::as_str)
    }

    fn child(&self, key: &str) -> Option<Obj<'a>> {
        let node = self.value(key).filter(|n| n.is_map())?;
        Some(Obj {
            file: self.file,
            node,
            pointer: format!("{}/{}", self.pointer, escape(key)),
        })
    }

    fn items(&self, key: &str) -> Vec<Obj<'a>> {
        let Some(list) = self.value(key) else {
            return Vec::new();
        };
        list.items()
            .iter()
            .enumerate()
            .filter(|(_, n)| n.is_map())
            .map(|(i, node)| Obj {
                file: self.file,
                node,
                pointer: format!("{}/{}/{i}", self.pointer, escape(key)),
            })
            .collect()
    }

    /// Where `key` is written in this object (also when its value is null: that is the line to
    /// change).
    fn loc(&self, key: &str) -> Option<Loc> {
        let e = self.entry(key)?;
        Some(Loc {
            file: self.file.clone(),
            pointer: format!("{}/{}", self.pointer, escape(key)),
            span: e.key_span,
        })
    }

    /// Where the object itself starts, for objects without a naming key.
    fn at(&self) -> Loc {
        Loc {
            file: self.file.clone(),
            pointer: self.pointer.clone(),
            span: self.node.span,
        }
    }

    fn note(&self, locations: &mut Locations, path: &str, key: &str) {
        if let Some(loc) = self.loc(key) {
            locations.insert(path.to_owned(), loc);
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// How a shape names a function's members: the Lambda API (PascalCase) or AWS Config
/// (camelCase).
struct FunctionNames {
    name: &'static str,
    arn: &'static str,
    kms: &'static str,
    environment: &'static str,
    variables: &'static str,
    tracing: &'static str,
    mode: &'static str,
    logging: &'static str,
    log_group: &'static str,
    role: &'static str,
    package_type: &'static str,
    durable: &'static str,
    durable_kms: &'static str,
}

const API_FUNCTION: FunctionNames = FunctionNames {
    name: "FunctionName",
    arn: "FunctionArn",
    kms: "KMSKeyArn",
    environment: "Environment",
    variables: "Variables",
    tracing: "TracingConfig",
    mode: "Mode",
    logging: "LoggingConfig",
    log_group: "LogGroup",
    role: "Role",
    package_type: "PackageType",
    durable: "DurableConfig",
    durable_kms: "KMSKeyArn",
};

const CONFIG_FUNCTION: FunctionNames = FunctionNames {
    name: "functionName",
    arn: "functionArn",
    kms: "kmsKeyArn",
    environment: "environment",
    variables: "variables",
    tracing: "tracingConfig",
    mode: "mode",
    logging: "loggingConfig",
    log_group: "logGroup",
    role: "role",
    package_type: "packageType",
    durable: "durableConfig",
    durable_kms: "kmsKeyArn",
};

/// How a shape names a key's metadata: `describe-key` (PascalCase) or AWS Config (camelCase).
struct KeyNames {
    id: &'static str,
    arn: &'static str,
    manager: &'static str,
    state: &'static str,
    enabled: &'static str,
    deletion: &'static str,
    spec: &'static str,
    old_spec: &'static str,
}

const API_KEY: KeyNames = KeyNames {
    id: "KeyId",
    arn: "Arn",
    manager: "KeyManager",
    state: "KeyState",
    enabled: "Enabled",
    deletion: "DeletionDate",
    spec: "KeySpec",
    old_spec: "CustomerMasterKeySpec",
};

const CONFIG_KEY: KeyNames = KeyNames {
    id: "keyId",
    arn: "arn",
    manager: "keyManager",
    state: "keyState",
    enabled: "enabled",
    deletion: "deletionDate",
    spec: "keySpec",
    old_spec: "customerMasterKeySpec",
};

/// Which of several descriptions of one object wins: the higher rank, then the later AWS
/// Config capture time, then the first read.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    shape: u8,
    time: Option<String>,
}

/// One description of an object.
struct Desc<'a, N: 'static> {
    id: String,
    obj: Obj<'a>,
    names: &'static N,
    shape: ApiShape,
    rank: Rank,
    /// An AWS Config item saying the resource was deleted.
    deleted: bool,
    /// For functions: the `get-function` output, whose `Code` has the package key.
    code: Option<Obj<'a>>,
}

impl<'a, N: 'static> Desc<'a, N> {
    fn new(id: String, obj: Obj<'a>, names: &'static N, shape: ApiShape, rank: Rank) -> Self {
        Desc {
            id,
            obj,
            names,
            shape,
            rank,
            deleted: false,
            code: None,
        }
    }
}

/// The best description of each id, in the order ids were first seen.
fn best<'a, 'd, N: 'static>(descs: &'d [Desc<'a, N>]) -> Vec<&'d Desc<'a, N>> {
    let mut order: Vec<&str> = Vec::new();
    let mut chosen: BTreeMap<&str, &Desc<'a, N>> = BTreeMap::new();
    for d in descs {
        match chosen.get(d.id.as_str()) {
            Some(current) if current.rank >= d.rank => {}
            Some(_) => {
                chosen.insert(&d.id, d);
            }
            None => {
                order.push(&d.id);
                chosen.insert(&d.id, d);
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| chosen.get(id).copied())
        .filter(|d| !d.deleted)
        .collect()
}

/// Everything read from the inputs, before it becomes the model.
#[derive(Default)]
struct Found<'a> {
    functions: Vec<Desc<'a, FunctionNames>>,
    mappings: Vec<Desc<'a, ()>>,
    keys: Vec<Desc<'a, KeyNames>>,
    /// (key as the output or file name gives it, `get-key-rotation-status` output).
    rotations: Vec<(String, Obj<'a>)>,
    /// (key, `get-key-policy` output).
    policies: Vec<(String, Obj<'a>)>,
    aliases: Vec<Obj<'a>>,
    listed_keys: Vec<Obj<'a>>,
    log_groups: Vec<Desc<'a, ()>>,
    xray: Vec<Obj<'a>>,
}

impl<'a> Found<'a> {
    fn read(&mut self, root: Obj<'a>, shape: ApiShape, subject: Option<String>) {
        let rank = |shape: u8| Rank { shape, time: None };
        match shape {
            ApiShape::ListFunctions => {
                for f in root.items("Functions") {
                    self.function(f, &API_FUNCTION, shape, rank(1), None);
                }
            }
            ApiShape::GetFunctionConfiguration => {
                self.function(root, &API_FUNCTION, shape, rank(2), None);
            }
            ApiShape::GetFunction => {
                if let Some(cfg) = root.child("Configuration") {
                    self.function(cfg, &API_FUNCTION, shape, rank(3), Some(root));
                }
            }
            ApiShape::ListEventSourceMappings => {
                for m in root.items("EventSourceMappings") {
                    self.mapping(m, shape, rank(1));
                }
            }
            ApiShape::GetEventSourceMapping => self.mapping(root, shape, rank(2)),
            ApiShape::DescribeKey => {
                if let Some(meta) = root.child("KeyMetadata") {
                    self.key(meta, shape, rank(2));
                }
            }
            ApiShape::GetKeyRotationStatus => {
                self.rotations.extend(subject.map(|s| (s, root)));
            }
            ApiShape::GetKeyPolicy => self.policies.extend(subject.map(|s| (s, root))),
            ApiShape::ListAliases => self.aliases.extend(root.items("Aliases")),
            ApiShape::ListKeys => self.listed_keys.extend(root.items("Keys")),
            ApiShape::DescribeLogGroups => {
                for lg in root.items("logGroups") {
                    self.log_group(lg, shape, rank(2));
                }
            }
            ApiShape::GetEncryptionConfig => self.xray.extend(root.child("EncryptionConfig")),
            ApiShape::ConfigItems => {
                for item in root.items("configurationItems") {
                    self.config_item(&item, shape);
                }
            }
        }
    }

    fn config_item(&mut self, item: &Obj<'a>, shape: ApiShape) {
        let status = item.str("configurationItemStatus").unwrap_or("OK");
        let deleted = status.starts_with("ResourceDeleted") || status == "ResourceNotRecorded";
        let time = item
            .value("configurationItemCaptureTime")
            .and_then(Node::scalar_text);
        let rank = Rank { shape: 0, time };
        // A deleted resource has no configuration: the item's own ARN identifies it.
        let Some(cfg) = item
            .child("configuration")
            .or_else(|| deleted.then(|| item.clone()))
        else {
            return;
        };
        let arn = item.str("ARN").or_else(|| item.str("arn"));
        let name = item.str("resourceName");
        match item.str("resourceType") {
            Some("AWS::Lambda::Function") => {
                let id = cfg.str(CONFIG_FUNCTION.arn).or(arn).map(function_id);
                if let Some(id) = id.or_else(|| name.map(str::to_owned)) {
                    let d = Desc::new(id, cfg, &CONFIG_FUNCTION, shape, rank);
                    self.functions.push(Desc { deleted, ..d });
                }
            }
            Some("AWS::KMS::Key") => {
                let id = cfg.str(CONFIG_KEY.arn).or(arn).or(cfg.str(CONFIG_KEY.id));
                if let Some(id) = id {
                    let d = Desc::new(id.to_owned(), cfg, &CONFIG_KEY, shape, rank);
                    self.keys.push(Desc { deleted, ..d });
                }
            }
            Some("AWS::Logs::LogGroup") => {
                let id = cfg.str("arn").or(arn).map(log_group_id);
                let named = || {
                    cfg.str("logGroupName")
                        .or(name)
                        .map(|n| format!("log-group:{n}"))
                };
                if let Some(id) = id.or_else(named) {
                    let d = Desc::new(id, cfg, &(), shape, rank);
                    self.log_groups.push(Desc { deleted, ..d });
                }
            }
            _ => {}
        }
    }

    fn function(
        &mut self,
        cfg: Obj<'a>,
        names: &'static FunctionNames,
        shape: ApiShape,
        rank: Rank,
        code: Option<Obj<'a>>,
    ) {
        let id = cfg.str(names.arn).map(function_id);
        if let Some(id) = id.or_else(|| cfg.str(names.name).map(str::to_owned)) {
            let d = Desc::new(id, cfg, names, shape, rank);
            self.functions.push(Desc { code, ..d });
        }
    }

    fn mapping(&mut self, obj: Obj<'a>, shape: ApiShape, rank: Rank) {
        if let Some(uuid) = obj.str("UUID") {
            self.mappings
                .push(Desc::new(uuid.to_owned(), obj, &(), shape, rank));
        }
    }

    fn key(&mut self, meta: Obj<'a>, shape: ApiShape, rank: Rank) {
        if let Some(id) = meta.str(API_KEY.arn).or_else(|| meta.str(API_KEY.id)) {
            self.keys
                .push(Desc::new(id.to_owned(), meta, &API_KEY, shape, rank));
        }
    }

    fn log_group(&mut self, obj: Obj<'a>, shape: ApiShape, rank: Rank) {
        let id = obj.str("arn").or_else(|| obj.str("logGroupArn"));
        let id = id
            .map(log_group_id)
            .or_else(|| obj.str("logGroupName").map(|n| format!("log-group:{n}")));
        if let Some(id) = id {
            self.log_groups.push(Desc::new(id, obj, &(), shape, rank));
        }
    }

    fn model(&self) -> (Inventory, KeyIndex) {
        let (kms_keys, facts): (Vec<KmsKey>, Vec<KeyFacts>) = self.keys_model().into_iter().unzip();
        let index = KeyIndex::new(facts, &self.aliases, &self.listed_keys);
        let mut inv = Inventory {
            kms_keys,
            ..Inventory::default()
        };
        inv.kms_aliases = self.aliases_model(&index);
        inv.log_groups = best(&self.log_groups)
            .into_iter()
            .map(|d| log_group(d, &index))
            .collect();
        inv.functions = best(&self.functions)
            .into_iter()
            .map(|d| function(d, &index))
            .collect();
        for f in &mut inv.functions {
            f.log_group_resource = find_log_group(f, &inv.log_groups);
        }
        inv.event_source_mappings = best(&self.mappings)
            .into_iter()
            .map(|d| mapping(d, &index, &inv.functions))
            .collect();
        inv.xray_encryption = self.xray.iter().map(|x| xray(x, &index)).collect();
        inv.link();
        (inv, index)
    }

    /// The keys, with their rotation status and policy from the other files, and whether each
    /// is AWS managed.
    fn keys_model(&self) -> Vec<(KmsKey, KeyFacts)> {
        best(&self.keys)
            .into_iter()
            .map(|d| {
                let n = d.names;
                let meta = &d.obj;
                let key_id = meta.str(n.id).unwrap_or(&d.id).to_owned();
                let mut locations = Locations::new();
                locations.insert(String::new(), meta.loc(n.id).unwrap_or_else(|| meta.at()));
                let state = meta.str(n.state);
                let enabled = match (meta.value(n.enabled).map(|v| &v.value), state) {
                    (Some(Value::Bool(b)), _) => Tri::from(*b),
                    (_, Some("Disabled")) => Tri::No,
                    (_, Some("Enabled")) => Tri::Yes,
                    _ => Tri::Unknown,
                };
                meta.note(&mut locations, "enabled", n.enabled);
                if !locations.contains_key("enabled") {
                    meta.note(&mut locations, "enabled", n.state);
                }
                let pending_deletion =
                    matches!(state, Some("PendingDeletion" | "PendingReplicaDeletion"))
                        || meta.value(n.deletion).is_some();
                meta.note(&mut locations, "pending_deletion", n.state);
                let about = |subject: &str| same_key(subject, &d.id, &key_id);
                let rotation = self.rotations.iter().rev().find(|(s, _)| about(s));
                let rotation_enabled = match rotation {
                    Some((_, r)) => {
                        r.note(&mut locations, "rotation_enabled", "KeyRotationEnabled");
                        match r.value("KeyRotationEnabled").map(|v| &v.value) {
                            Some(Value::Bool(b)) => Tri::from(*b),
                            _ => Tri::Unknown,
                        }
                    }
                    None => Tri::Unknown,
                };
                let policy_doc = self.policies.iter().rev().find(|(s, _)| about(s));
                let (policy, policy_state, policy_statements) = match policy_doc {
                    Some((_, p)) => {
                        p.note(&mut locations, "policy", "Policy");
                        let node = p.value("Policy");
                        let statements = node.and_then(|n| policy::statements(n, &policy::literal));
                        let doc = node
                            .and_then(Node::as_str)
                            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok());
                        match statements {
                            Some(st) => (doc, "declared", st),
                            None => (doc, "unknown", Vec::new()),
                        }
                    }
                    None => (None, "unknown", Vec::new()),
                };
                let aws_managed = meta.str(n.manager) == Some("AWS");
                let key = KmsKey {
                    origin: Origin {
                        id: d.id.clone(),
                        source: SOURCE,
                        logical_id: key_id.clone(),
                        resource_type: "AWS::KMS::Key".into(),
                        locations,
                        via: None,
                    },
                    manager: if aws_managed { "aws" } else { "customer" },
                    deletion_window_days: None,
                    enabled,
                    rotation_enabled,
                    pending_deletion,
                    key_spec: meta
                        .str(n.spec)
                        .or_else(|| meta.str(n.old_spec))
                        .map(str::to_owned),
                    policy,
                    policy_state,
                    policy_statements,
                    used_by: Vec::new(),
                };
                let facts = KeyFacts {
                    id: d.id.clone(),
                    key_id,
                    how: format!("{}: KeyManager {}", d.shape.command(), {
                        meta.str(n.manager).unwrap_or("not given")
                    }),
                    aws_managed,
                };
                (key, facts)
            })
            .collect()
    }

    fn aliases_model(&self, index: &KeyIndex) -> Vec<KmsAlias> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        for a in &self.aliases {
            let Some(name) = a.str("AliasName") else {
                continue;
            };
            let id = a
                .str("AliasArn")
                .map(str::to_owned)
                .unwrap_or_else(|| format!("alias:{name}"));
            if !seen.insert(id.clone()) {
                continue;
            }
            let mut locations = Locations::new();
            locations.insert(String::new(), a.loc("AliasName").unwrap_or_else(|| a.at()));
            let target_key = a
                .str("TargetKeyId")
                .and_then(|t| index.described(t))
                .map(|k| k.id.clone());
            out.push(KmsAlias {
                origin: Origin {
                    id,
                    source: SOURCE,
                    logical_id: name.to_owned(),
                    resource_type: "AWS::KMS::Alias".into(),
                    locations,
                    via: None,
                },
                name: Some(name.to_owned()),
                target_key,
            });
        }
        out
    }
}

/// A function's id: its ARN, without the `$LATEST` qualifier (the same function).
fn function_id(arn: &str) -> String {
    arn.strip_suffix(":$LATEST").unwrap_or(arn).to_owned()
}

/// The unqualified ARN of a function (`...:function:name`), from a version or alias ARN.
fn unqualified(arn: &str) -> &str {
    match arn.find(":function:") {
        Some(i) => {
            let rest = &arn[i + ":function:".len()..];
            match rest.find(':') {
                Some(j) => &arn[..i + ":function:".len() + j],
                None => arn,
            }
        }
        None => arn,
    }
}

/// A log group's id: its ARN without the `:*` that `arn` (not `logGroupArn`) ends with.
fn log_group_id(arn: &str) -> String {
    arn.strip_suffix(":*").unwrap_or(arn).to_owned()
}

/// Region and account of an ARN (`arn:aws:SERVICE:REGION:ACCOUNT:...`).
fn region_account(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    if parts.next()? != "arn" {
        return None;
    }
    let _partition = parts.next()?;
    let _service = parts.next()?;
    Some((parts.next()?, parts.next()?))
}

/// The key id in a key ARN (`...:key/ID`), or the text itself.
fn key_id_of(text: &str) -> &str {
    text.rsplit_once(":key/").map_or(text, |(_, id)| id)
}

fn is_alias(text: &str) -> bool {
    text.starts_with("alias/") || text.contains(":alias/")
}

/// Whether `subject` (a key id or ARN) names the key with this ARN and id.
fn same_key(subject: &str, arn: &str, key_id: &str) -> bool {
    subject == arn || key_id_of(subject) == key_id
}

/// What the key index knows about a described key.
struct KeyFacts {
    /// The `kms_keys` object's id.
    id: String,
    key_id: String,
    /// `aws kms describe-key: KeyManager CUSTOMER`, for the chain.
    how: String,
    aws_managed: bool,
}

/// Every key and alias of the inputs, to resolve key references.
struct KeyIndex {
    described: Vec<KeyFacts>,
    /// key id -> ARN, from `list-keys`.
    listed: BTreeMap<String, String>,
    /// (alias name, alias ARN, target key id).
    aliases: Vec<(String, Option<String>, String)>,
}

impl KeyIndex {
    fn new(described: Vec<KeyFacts>, aliases: &[Obj], listed: &[Obj]) -> Self {
        KeyIndex {
            described,
            listed: listed
                .iter()
                .filter_map(|k| Some((k.str("KeyId")?.to_owned(), k.str("KeyArn")?.to_owned())))
                .collect(),
            aliases: aliases
                .iter()
                .filter_map(|a| {
                    Some((
                        a.str("AliasName")?.to_owned(),
                        a.str("AliasArn").map(str::to_owned),
                        a.str("TargetKeyId")?.to_owned(),
                    ))
                })
                .collect(),
        }
    }

    /// The described key a reference (ARN or key id) names; a bare key id only when one key has
    /// it (multi-Region keys share their id across Regions).
    fn described(&self, text: &str) -> Option<&KeyFacts> {
        if let Some(k) = self.described.iter().find(|k| k.id == text) {
            return Some(k);
        }
        let text = self.listed.get(text).map_or(text, String::as_str);
        if let Some(k) = self.described.iter().find(|k| k.id == text) {
            return Some(k);
        }
        let id = key_id_of(text);
        let mut same = self.described.iter().filter(|k| k.key_id == id);
        match (same.next(), same.next()) {
            (Some(k), None) => Some(k),
            _ => None,
        }
    }

    /// The key id an alias (name or ARN) targets, where one alias of that name is known.
    fn alias_target(&self, text: &str) -> Option<&str> {
        if let Some((_, _, t)) = self
            .aliases
            .iter()
            .find(|(_, arn, _)| arn.as_deref() == Some(text))
        {
            return Some(t);
        }
        let name = text.rsplit_once(':').map_or(text, |(_, n)| n);
        let mut targets = self.aliases.iter().filter(|(n, _, _)| n == name);
        match (targets.next(), targets.next()) {
            (Some((_, _, t)), None) => Some(t),
            _ => None,
        }
    }

    /// An `alias/aws/*` that targets this key id: AWS created the key for a service.
    fn aws_alias_for(&self, key_id: &str) -> Option<&str> {
        self.aliases
            .iter()
            .find(|(n, _, t)| is_aws_managed_alias(n) && key_id_of(t) == key_id)
            .map(|(n, _, _)| n.as_str())
    }

    /// Resolves a key reference of the deployed state. `label` starts the chain (`KMSKeyArn`).
    fn key_ref(&self, value: Option<&str>, label: &str) -> KeyRef {
        let mut chain = vec![label.to_owned()];
        let text = match value {
            None => return KeyRef::absent(chain),
            Some("") => {
                chain.push("empty".into());
                return KeyRef::absent(chain);
            }
            Some(t) => t,
        };
        chain.push(format!("\"{text}\""));
        if is_aws_managed_alias(text) {
            return KeyRef::from_literal(text, chain);
        }
        let target = if is_alias(text) {
            match self.alias_target(text) {
                Some(t) => {
                    chain.push(format!("list-aliases: targets key {t}"));
                    t
                }
                None => return KeyRef::from_literal(text, chain),
            }
        } else {
            text
        };
        let described = self.described(target);
        if let Some(alias) = self.aws_alias_for(key_id_of(target)) {
            chain.push(format!("list-aliases: {alias} targets it (AWS managed)"));
            return KeyRef {
                state: KeyState::AwsManaged,
                value: Some(text.to_owned()),
                key: described.map(|k| k.id.clone()),
                assumed: false,
                chain,
            };
        }
        match described {
            Some(k) => {
                chain.push(k.how.clone());
                KeyRef {
                    state: if k.aws_managed {
                        KeyState::AwsManaged
                    } else {
                        KeyState::CustomerManaged
                    },
                    value: Some(text.to_owned()),
                    key: Some(k.id.clone()),
                    assumed: false,
                    chain,
                }
            }
            None => KeyRef::from_literal(text, chain),
        }
    }
}

fn function(d: &Desc<FunctionNames>, index: &KeyIndex) -> Function {
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
fn find_log_group(f: &Function, groups: &[LogGroup]) -> Option<String> {
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

fn mapping(d: &Desc<()>, index: &KeyIndex, functions: &[Function]) -> EventSourceMapping {
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

fn log_group(d: &Desc<()>, index: &KeyIndex) -> LogGroup {
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

fn xray(x: &Obj, index: &KeyIndex) -> XrayEncryption {
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

#[cfg(test)]
mod tests {
    use super::*;
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
        let cfg =
            format!(r#"{{"FunctionName": "orders", "FunctionArn": "{ARN}:7", "Version": "7"}}"#);
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
}
