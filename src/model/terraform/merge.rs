//! One model object per resource: the instances of a resource with `count`/`for_each` (and a
//! plan's instances) merged. Values the instances agree on are kept; where they differ the value
//! is unknown, except lists of data at rest (variables, filters), which are united.

use super::super::keys::{KeyRef, KeyState};
use super::super::{
    Durable, Environment, EventSourceMapping, FilterCriteria, Function, Inventory, KmsAlias,
    KmsKey, LogGroup, Origin, Tri, XrayEncryption,
};

trait Merge: Sized {
    fn origin(&self) -> &Origin;
    fn merge(self, other: Self) -> Self;
}

fn by_id<T: Merge>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for item in items {
        match out.iter().position(|o| o.origin().id == item.origin().id) {
            Some(i) => {
                let first = out.remove(i);
                out.insert(i, first.merge(item));
            }
            None => out.push(item),
        }
    }
    out
}

pub(super) fn inventory(inv: Inventory) -> Inventory {
    Inventory {
        functions: by_id(inv.functions),
        event_source_mappings: by_id(inv.event_source_mappings),
        kms_keys: by_id(inv.kms_keys),
        kms_aliases: by_id(inv.kms_aliases),
        log_groups: by_id(inv.log_groups),
        xray_encryption: by_id(inv.xray_encryption),
        deployments: inv.deployments,
        uncertain: inv.uncertain,
    }
}

fn origin(mut a: Origin, b: Origin) -> Origin {
    for (k, v) in b.locations {
        a.locations.entry(k).or_insert(v);
    }
    a
}

fn same<T: PartialEq>(a: Option<T>, b: Option<T>) -> Option<T> {
    if a == b { a } else { None }
}

/// For the settings the rules want `Yes` (key enabled, rotation on): one instance known to be
/// `No` makes the resource fail, as it would in the account; otherwise any doubt is unknown.
fn tri(a: Tri, b: Tri) -> Tri {
    match (a, b) {
        (Tri::No, _) | (_, Tri::No) => Tri::No,
        (Tri::Yes, Tri::Yes) => Tri::Yes,
        _ => Tri::Unknown,
    }
}

/// The key of a resource whose instances may name different keys. An instance without a
/// customer managed key makes the resource fail (that instance's data is not under a CMK);
/// instances that all use customer managed keys pass, whichever keys they are; any other
/// doubt is unknown.
fn key(a: KeyRef, b: KeyRef) -> KeyRef {
    if a.state == b.state && a.key == b.key && a.value == b.value {
        return a;
    }
    let label = a.chain.first().cloned().unwrap_or_default();
    let both = format!("{} / {}", a.chain.join(" <- "), b.chain.join(" <- "));
    let bad = |k: &KeyRef| matches!(k.state, KeyState::Absent | KeyState::AwsManaged);
    if bad(&a) || bad(&b) {
        let (mut worst, other) = if bad(&a) { (a, b) } else { (b, a) };
        worst.chain.push(format!(
            "in one of its instances (another: {})",
            other.chain.join(" <- ")
        ));
        return worst;
    }
    if a.state == KeyState::CustomerManaged && b.state == KeyState::CustomerManaged {
        return KeyRef {
            state: KeyState::CustomerManaged,
            value: None,
            // One object can name one key; the model keeps the key only where all agree.
            key: same(a.key, b.key),
            assumed: a.assumed || b.assumed,
            chain: vec![
                label,
                format!("instances use different customer managed keys ({both})"),
            ],
        };
    }
    KeyRef::unknown(vec![label, format!("instances differ ({both})")])
}

fn environment(a: Option<Environment>, b: Option<Environment>) -> Option<Environment> {
    match (a, b) {
        (Some(mut x), Some(y)) => {
            x.variables.extend(y.variables);
            x.variables_unknown |= y.variables_unknown;
            Some(x)
        }
        (x, y) => x.or(y),
    }
}

impl Merge for Function {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        Function {
            origin: origin(self.origin, o.origin),
            name: same(self.name, o.name),
            environment: environment(self.environment, o.environment),
            kms_key: key(self.kms_key, o.kms_key),
            package_type: if self.package_type == o.package_type {
                self.package_type
            } else {
                "unknown".into()
            },
            code_kms_key: key(self.code_kms_key, o.code_kms_key),
            log_group: same(self.log_group, o.log_group),
            log_group_resource: same(self.log_group_resource, o.log_group_resource),
            tracing_mode: same(self.tracing_mode, o.tracing_mode),
            role: same(self.role, o.role),
            durable: match (self.durable, o.durable) {
                (Some(a), Some(b)) => Some(Durable {
                    kms_key: key(a.kms_key, b.kms_key),
                }),
                (a, b) => a.or(b),
            },
            stack_logical_id: same(self.stack_logical_id, o.stack_logical_id),
        }
    }
}

impl Merge for EventSourceMapping {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        use FilterCriteria::*;
        let filter_criteria = match (self.filter_criteria, o.filter_criteria) {
            (Present, _) | (_, Present) => Present,
            (Encrypted, _) | (_, Encrypted) => Encrypted,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Absent,
        };
        let mut filter_patterns = self.filter_patterns;
        for p in o.filter_patterns {
            if !filter_patterns.contains(&p) {
                filter_patterns.push(p);
            }
        }
        EventSourceMapping {
            origin: origin(self.origin, o.origin),
            function: same(self.function, o.function),
            event_source_arn: same(self.event_source_arn, o.event_source_arn),
            event_source_type: same(self.event_source_type, o.event_source_type),
            filter_criteria,
            filter_patterns,
            kms_key: key(self.kms_key, o.kms_key),
            filter_criteria_error: self.filter_criteria_error.or(o.filter_criteria_error),
        }
    }
}

impl Merge for KmsKey {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        // Instances with different policies: no one set of statements holds for the key.
        let agree =
            self.policy_state == o.policy_state && self.policy_statements == o.policy_statements;
        KmsKey {
            origin: origin(self.origin, o.origin),
            manager: self.manager,
            enabled: tri(self.enabled, o.enabled),
            rotation_enabled: tri(self.rotation_enabled, o.rotation_enabled),
            pending_deletion: self.pending_deletion || o.pending_deletion,
            key_spec: same(self.key_spec, o.key_spec),
            policy: same(self.policy, o.policy),
            policy_state: if agree { self.policy_state } else { "unknown" },
            policy_statements: if agree {
                self.policy_statements
            } else {
                Vec::new()
            },
            deletion_window_days: same(self.deletion_window_days, o.deletion_window_days),
            used_by: self.used_by,
        }
    }
}

impl Merge for KmsAlias {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        KmsAlias {
            origin: origin(self.origin, o.origin),
            name: same(self.name, o.name),
            target_key: same(self.target_key, o.target_key),
        }
    }
}

impl Merge for LogGroup {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        LogGroup {
            origin: origin(self.origin, o.origin),
            written_by: self.written_by,
            name: same(self.name, o.name),
            kms_key: key(self.kms_key, o.kms_key),
        }
    }
}

impl Merge for XrayEncryption {
    fn origin(&self) -> &Origin {
        &self.origin
    }
    fn merge(self, o: Self) -> Self {
        XrayEncryption {
            origin: origin(self.origin, o.origin),
            // The same setting of one account: instances that differ leave it unknown.
            kms_key: if self.encryption_type == o.encryption_type {
                key(self.kms_key, o.kms_key)
            } else {
                KeyRef::unknown(vec!["instances set different types".into()])
            },
            encryption_type: self.encryption_type,
        }
    }
}
