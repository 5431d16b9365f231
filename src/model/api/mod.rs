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
use super::{FileId, Inventory, Loc, Locations};
use crate::read::{ApiShape, Entry, Input, InputKind, Node, aws};
use std::collections::BTreeMap;

mod found;
mod objects;
#[cfg(test)]
mod tests;

use found::Found;

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
