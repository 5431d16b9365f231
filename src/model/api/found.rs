//! Everything read from the inputs, grouped by object, before it becomes the model.

use super::objects::{find_log_group, function, log_group, mapping, xray};
use super::{
    API_FUNCTION, API_KEY, CONFIG_FUNCTION, CONFIG_KEY, Desc, FunctionNames, KeyFacts, KeyIndex,
    KeyNames, Obj, Rank, SOURCE, best, function_id, log_group_id, same_key,
};
use crate::model::{Inventory, KmsAlias, KmsKey, Locations, Origin, Tri, policy};
use crate::read::{ApiShape, Node, Value};

/// Everything read from the inputs, before it becomes the model.
#[derive(Default)]
pub(super) struct Found<'a> {
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
    pub(super) fn read(&mut self, root: Obj<'a>, shape: ApiShape, subject: Option<String>) {
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

    pub(super) fn model(&self) -> (Inventory, KeyIndex) {
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
