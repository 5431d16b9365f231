//! Model: one resource model per AWS concept, whatever the source format. Policies read only
//! this. Every object carries a `locations` table (not shown to policies) from property paths to
//! the place in the source that sets them, so the engine can turn "property `kms_key` of
//! function `Fn`" into a file, line and column.
//!
//! The JSON Schema of what policies see is `schemas/model.schema.json`.

// Values here come from inputs a stranger may have written: a missing element is an error or
// an unknown, never a panic. Where an invariant of our own holds, an `allow` says which.
#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod api;
pub mod cfn;
pub mod drift;
pub mod keys;
pub mod policy;
pub mod serverless;
pub mod terraform;
pub mod tfplan;

use crate::read::Span;
use serde::Serialize;
use std::collections::BTreeMap;

pub use keys::{KeyRef, KeyState};

/// A file as shown to the user (relative to the scan root where possible). Shared, because
/// every location in a file names it.
pub type FileId = std::sync::Arc<str>;

/// Where in its source file a model value was set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loc {
    pub file: FileId,
    /// JSON-pointer-like path in the source document, e.g. `/Resources/Fn/Properties/KmsKeyArn`.
    pub pointer: String,
    pub span: Span,
}

/// Property path (as policies name it) -> source location. The empty path is the object itself.
pub type Locations = BTreeMap<String, Loc>;

/// A value that may not be knowable statically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Serialize for Tri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tri::Yes => s.serialize_bool(true),
            Tri::No => s.serialize_bool(false),
            Tri::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Tri {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Known(bool),
            Other(String),
        }
        match Written::deserialize(d)? {
            Written::Known(b) => Ok(Tri::from(b)),
            Written::Other(s) if s == "unknown" => Ok(Tri::Unknown),
            Written::Other(s) => Err(serde::de::Error::custom(format!(
                "expected true, false or \"unknown\", not {s:?}"
            ))),
        }
    }
}

impl From<bool> for Tri {
    fn from(b: bool) -> Self {
        if b { Tri::Yes } else { Tri::No }
    }
}

/// What every model object shares: who it is and where it came from.
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    /// Unique within one inventory; findings name objects by it.
    pub id: String,
    /// `cloudformation`, `sam`, `serverless`, `terraform`, `terraform-plan` or `aws-api` (deployed
    /// state): for messages only.
    pub source: &'static str,
    /// The resource's name where the source gives one (logical ID, Terraform address, ARN).
    pub logical_id: String,
    pub resource_type: String,
    #[serde(skip)]
    pub locations: Locations,
    /// How the object was reached, where its location alone does not say: a plan whose
    /// resources are located in their `.tf` source ("read from plan.json"), or a module
    /// resource of one caller among several ("module called from main.tf:12").
    #[serde(skip)]
    pub via: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    /// Variable names; values are not handed to policies unless literal.
    pub variables: BTreeMap<String, EnvVar>,
    /// The variables come from an expression that cannot be evaluated (e.g. `Fn::If`).
    pub variables_unknown: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    /// The literal value, if the source gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub source: ValueSource,
}

/// Where a value comes from, so a policy can tell a secret written in the template from one
/// resolved at deploy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueSource {
    /// Written in the source (directly, or as a parameter's or variable's default).
    Literal,
    /// A dynamic reference resolved at deploy time (`{{resolve:secretsmanager:...}}`, SSM).
    DynamicReference,
    /// A parameter or variable with no default: supplied at deploy time.
    Parameter,
    /// A parameter marked `NoEcho` (Terraform: `sensitive`).
    SecretParameter,
    /// An expression that is not evaluated (a resource attribute, `Fn::If`, ...).
    Expression,
}

/// The execution role of a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleRef {
    /// The role ARN as written or resolved, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The id of the role resource in the same input (`AWS::IAM::Role`, `aws_iam_role`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// Durable execution settings (`DurableConfig`).
#[derive(Debug, Clone, Serialize)]
pub struct Durable {
    /// Key for durable execution data (`DurableConfig.KMSKeyArn`).
    pub kms_key: KeyRef,
}

/// One statement of a key policy, normalised: principals and actions as lists of strings,
/// intrinsic functions resolved where possible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyStatement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `Allow` or `Deny`.
    pub effect: String,
    /// `Principal: "*"` or `{"AWS": "*"}`.
    pub any_principal: bool,
    /// AWS principals (ARNs, account ids) as resolved; unresolvable parts stay `${...}`.
    pub aws_principals: Vec<String>,
    pub service_principals: Vec<String>,
    /// Ids of resources in the same input that the principals refer to (roles).
    pub principal_resources: Vec<String>,
    pub actions: Vec<String>,
    /// Condition keys, lower-cased (`kms:encryptioncontext:aws:lambda:functionarn`).
    pub condition_keys: Vec<String>,
}

/// The account's X-Ray encryption configuration (`aws xray get-encryption-config`).
#[derive(Debug, Clone, Serialize)]
pub struct XrayEncryption {
    #[serde(flatten)]
    pub origin: Origin,
    /// `KMS` or `NONE`.
    #[serde(rename = "type")]
    pub encryption_type: String,
    pub kms_key: KeyRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    #[serde(flatten)]
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `None` when the function declares no environment at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Key for environment variables (`KmsKeyArn`).
    pub kms_key: KeyRef,
    /// `Zip`, `Image`, or `unknown`.
    pub package_type: String,
    /// Key for the .zip package (`Code.SourceKMSKeyArn`).
    pub code_kms_key: KeyRef,
    /// The log group name Lambda writes to (`LoggingConfig.LogGroup`, else
    /// `/aws/lambda/<name>`), where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// The id of that log group in this inventory, where it is declared here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tracing_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub durable: Option<Durable>,
    /// Deployed state: the logical id of the template resource that created the function (its
    /// `aws:cloudformation:logical-id` tag, in `get-function` output), to pair it with a
    /// template that does not name the function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_logical_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterCriteria {
    Absent,
    Present,
    /// Lambda returns `FilterCriteria: null` for criteria encrypted with a CMK.
    Encrypted,
    Unknown,
}

impl FilterCriteria {
    /// The criteria of a list of `{"Pattern": "..."}` filters, with each pattern as text.
    pub fn of_filters(filters: &[crate::read::Node]) -> (FilterCriteria, Vec<String>) {
        let patterns: Vec<String> = filters
            .iter()
            .map(|item| match item.get("Pattern") {
                Some(p) => p
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| p.to_json().to_string()),
                None => item.to_json().to_string(),
            })
            .collect();
        if patterns.is_empty() {
            (FilterCriteria::Absent, patterns)
        } else {
            (FilterCriteria::Present, patterns)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct EventSourceMapping {
    #[serde(flatten)]
    pub origin: Origin,
    /// Id of the function in this inventory, where it resolves to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_arn: Option<String>,
    /// `SQS`, `Kinesis`, `DynamoDB`, `MSK`, `SelfManagedKafka`, `MQ`, `DocumentDB` where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_source_type: Option<String>,
    pub filter_criteria: FilterCriteria,
    pub filter_patterns: Vec<String>,
    pub kms_key: KeyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_criteria_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsKey {
    #[serde(flatten)]
    pub origin: Origin,
    /// `customer` or `aws`.
    pub manager: &'static str,
    pub enabled: Tri,
    pub rotation_enabled: Tri,
    pub pending_deletion: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
    /// Days between scheduling the key's deletion and deleting it (`PendingWindowInDays`,
    /// `deletion_window_in_days`), where set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_window_days: Option<u32>,
    /// `default` (no policy given: the account root may use the key, so IAM decides),
    /// `declared`, or `unknown` (not statically resolvable).
    pub policy_state: &'static str,
    /// The declared policy's statements, normalised.
    pub policy_statements: Vec<PolicyStatement>,
    /// Ids of the functions and mappings whose data this key protects.
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KmsAlias {
    #[serde(flatten)]
    pub origin: Origin,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Id of the target key in this inventory, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_key: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogGroup {
    #[serde(flatten)]
    pub origin: Origin,
    /// Logical ids of the functions that write to this log group.
    pub written_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kms_key: KeyRef,
}

/// A function that a template declares and the deployed state (AWS API input) also shows: for
/// each of its keys, what each side says. Made by [`drift::correlate`]; ATR-L011 reads it.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    /// `source` is `aws-api`; locations are the deployed function's.
    #[serde(flatten)]
    pub origin: Origin,
    /// Id of the deployed function in `functions`.
    pub function: String,
    pub template: TemplateFunction,
    pub keys: Vec<KeyPair>,
}

/// The template side of a [`Deployment`].
#[derive(Debug, Clone, Serialize)]
pub struct TemplateFunction {
    /// `cloudformation`, `sam`, `terraform`.
    pub source: &'static str,
    pub logical_id: String,
    pub file: String,
}

/// One key of a function, as the template and the deployed state give it.
#[derive(Debug, Clone, Serialize)]
pub struct KeyPair {
    /// The function's property: `kms_key`, `code_kms_key` or `durable.kms_key`.
    pub property: String,
    pub template: KeyRef,
    /// `file:line:column` of the template's setting, or of the function where it is not written.
    pub template_at: String,
    pub deployed: KeyRef,
    /// Whether both are the same key: `false` when one side is a customer managed key and the
    /// other is not, or when they name different customer managed keys; `unknown` where either
    /// side cannot be resolved to a key id.
    pub same: Tri,
}

/// Everything one input describes, in the shape policies read as `input`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Inventory {
    pub functions: Vec<Function>,
    pub event_source_mappings: Vec<EventSourceMapping>,
    pub kms_keys: Vec<KmsKey>,
    pub kms_aliases: Vec<KmsAlias>,
    pub log_groups: Vec<LogGroup>,
    /// Account-level X-Ray encryption settings; empty where the input cannot show them.
    pub xray_encryption: Vec<XrayEncryption>,
    /// Functions both a template and the deployed state describe (only in the inventory of the
    /// deployed state).
    pub deployments: Vec<Deployment>,
    /// Objects that may not exist, by id, with why (a Terraform `count` or `for_each` that
    /// cannot be evaluated): a failure on one of them is only unknown.
    #[serde(skip)]
    pub uncertain: BTreeMap<String, String>,
}

impl Inventory {
    /// Every object's origin, for turning findings into locations.
    pub fn origins(&self) -> impl Iterator<Item = &Origin> {
        let f = self.functions.iter().map(|x| &x.origin);
        let e = self.event_source_mappings.iter().map(|x| &x.origin);
        let k = self.kms_keys.iter().map(|x| &x.origin);
        let a = self.kms_aliases.iter().map(|x| &x.origin);
        let l = self.log_groups.iter().map(|x| &x.origin);
        let x = self.xray_encryption.iter().map(|x| &x.origin);
        let d = self.deployments.iter().map(|x| &x.origin);
        f.chain(e).chain(k).chain(a).chain(l).chain(x).chain(d)
    }

    /// The ids of the objects rules judge: all but aliases, which only name keys.
    pub fn judged_ids(&self) -> impl Iterator<Item = &str> {
        let f = self.functions.iter().map(|x| &x.origin);
        let e = self.event_source_mappings.iter().map(|x| &x.origin);
        let k = self.kms_keys.iter().map(|x| &x.origin);
        let l = self.log_groups.iter().map(|x| &x.origin);
        let x = self.xray_encryption.iter().map(|x| &x.origin);
        let d = self.deployments.iter().map(|x| &x.origin);
        f.chain(e)
            .chain(k)
            .chain(l)
            .chain(x)
            .chain(d)
            .map(|o| o.id.as_str())
    }

    /// Every object's origin, for adjusting locations.
    pub fn origins_mut(&mut self) -> Vec<&mut Origin> {
        let f = self.functions.iter_mut().map(|x| &mut x.origin);
        let e = self.event_source_mappings.iter_mut().map(|x| &mut x.origin);
        let k = self.kms_keys.iter_mut().map(|x| &mut x.origin);
        let a = self.kms_aliases.iter_mut().map(|x| &mut x.origin);
        let l = self.log_groups.iter_mut().map(|x| &mut x.origin);
        let x = self.xray_encryption.iter_mut().map(|x| &mut x.origin);
        f.chain(e).chain(k).chain(a).chain(l).chain(x).collect()
    }

    /// Records the relations policies read from both ends: on each key, which functions and
    /// mappings depend on it; on each log group, which functions write to it.
    pub fn link(&mut self) {
        // Grouped in one pass over the functions, like the key users below: a join by nested
        // loops is quadratic on large inputs.
        let mut writers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for f in &self.functions {
            if let Some(lg) = f.log_group_resource.as_deref() {
                writers
                    .entry(lg)
                    .or_default()
                    .push(f.origin.logical_id.clone());
            }
        }
        for lg in &mut self.log_groups {
            lg.written_by = writers.remove(lg.origin.id.as_str()).unwrap_or_default();
        }
        let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let refs = self
            .functions
            .iter()
            .flat_map(|f| {
                let durable = f.durable.as_ref().map(|d| (&d.kms_key, &f.origin.id));
                [(&f.kms_key, &f.origin.id), (&f.code_kms_key, &f.origin.id)]
                    .into_iter()
                    .chain(durable)
            })
            .chain(
                self.event_source_mappings
                    .iter()
                    .map(|m| (&m.kms_key, &m.origin.id)),
            )
            // A function's logs are Lambda data too: their key is one Lambda data depends on.
            .chain(
                self.log_groups
                    .iter()
                    .filter(|l| !l.written_by.is_empty())
                    .map(|l| (&l.kms_key, &l.origin.id)),
            );
        // Each user once, in order; repeats found through a set (a key that 10,000 functions
        // use made a search of its list quadratic).
        let mut seen: std::collections::BTreeSet<(&str, &str)> = Default::default();
        for (key_ref, user) in refs {
            if let Some(k) = &key_ref.key
                && seen.insert((k.as_str(), user.as_str()))
            {
                users.entry(k.clone()).or_default().push(user.clone());
            }
        }
        for key in &mut self.kms_keys {
            key.used_by = users.remove(&key.origin.id).unwrap_or_default();
        }
    }

    /// Every key reference of the inventory, for passes that settle them afterwards.
    pub fn key_refs_mut(&mut self) -> Vec<&mut KeyRef> {
        let mut out: Vec<&mut KeyRef> = Vec::new();
        for f in &mut self.functions {
            out.push(&mut f.kms_key);
            out.push(&mut f.code_kms_key);
            if let Some(d) = &mut f.durable {
                out.push(&mut d.kms_key);
            }
        }
        out.extend(
            self.event_source_mappings
                .iter_mut()
                .map(|m| &mut m.kms_key),
        );
        out.extend(self.log_groups.iter_mut().map(|l| &mut l.kms_key));
        out.extend(self.xray_encryption.iter_mut().map(|x| &mut x.kms_key));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.functions.is_empty()
            && self.event_source_mappings.is_empty()
            && self.kms_keys.is_empty()
            && self.kms_aliases.is_empty()
            && self.log_groups.is_empty()
            && self.xray_encryption.is_empty()
            && self.deployments.is_empty()
    }
}

/// One object of an inventory, of whichever kind.
#[derive(Debug, Clone, Copy)]
pub enum Object<'a> {
    Function(&'a Function),
    Mapping(&'a EventSourceMapping),
    Key(&'a KmsKey),
    Alias(&'a KmsAlias),
    LogGroup(&'a LogGroup),
    Xray(&'a XrayEncryption),
    Deployment(&'a Deployment),
}

impl Inventory {
    /// Every object by id, in the order of [`Inventory::origins`].
    pub fn objects(&self) -> impl Iterator<Item = (&str, Object<'_>)> {
        let f = self.functions.iter().map(Object::Function);
        let e = self.event_source_mappings.iter().map(Object::Mapping);
        let k = self.kms_keys.iter().map(Object::Key);
        let a = self.kms_aliases.iter().map(Object::Alias);
        let l = self.log_groups.iter().map(Object::LogGroup);
        let x = self.xray_encryption.iter().map(Object::Xray);
        let d = self.deployments.iter().map(Object::Deployment);
        f.chain(e)
            .chain(k)
            .chain(a)
            .chain(l)
            .chain(x)
            .chain(d)
            .map(|o| (o.origin().id.as_str(), o))
    }
}

impl<'a> Object<'a> {
    pub fn origin(self) -> &'a Origin {
        match self {
            Object::Function(x) => &x.origin,
            Object::Mapping(x) => &x.origin,
            Object::Key(x) => &x.origin,
            Object::Alias(x) => &x.origin,
            Object::LogGroup(x) => &x.origin,
            Object::Xray(x) => &x.origin,
            Object::Deployment(x) => &x.origin,
        }
    }

    /// The resolution chain of the key reference at `property` (a dotted path, as policies
    /// name properties): what the object's JSON, as policies read it, holds at
    /// `<property>.chain`. Empty where that is not a list.
    pub fn chain(self, property: &str) -> Vec<String> {
        let steps: Vec<&str> = property.split('.').collect();
        let key = match (self, steps.as_slice()) {
            (Object::Function(f), ["kms_key"]) => Some(&f.kms_key),
            (Object::Function(f), ["code_kms_key"]) => Some(&f.code_kms_key),
            (Object::Function(f), ["durable", "kms_key"]) => f.durable.as_ref().map(|d| &d.kms_key),
            (Object::Mapping(m), ["kms_key"]) => Some(&m.kms_key),
            (Object::LogGroup(l), ["kms_key"]) => Some(&l.kms_key),
            (Object::Xray(x), ["kms_key"]) => Some(&x.kms_key),
            // A key policy is JSON as the source wrote it, so it may hold a `chain` of its own.
            (Object::Key(k), ["policy", rest @ ..]) => {
                let mut value = k.policy.as_ref();
                for step in rest {
                    value = value.and_then(|v| v.get(step));
                }
                return value
                    .and_then(|v| v.get("chain"))
                    .and_then(serde_json::Value::as_array)
                    .map(|steps| {
                        steps
                            .iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            _ => None,
        };
        key.map(|k| k.chain.clone()).unwrap_or_default()
    }
}

impl Origin {
    /// The source location for a property path: the most specific recorded prefix of `path`
    /// (`environment.variables.X` falls back to `environment`), not the object itself.
    pub fn locate(&self, path: &str) -> Option<&Loc> {
        let mut p = path;
        while !p.is_empty() {
            if let Some(loc) = self.locations.get(p) {
                return Some(loc);
            }
            p = p.rfind('.').map_or("", |i| &p[..i]);
        }
        None
    }

    /// Where the object itself is declared (its logical ID, address or ARN).
    pub fn declared_at(&self) -> Option<&Loc> {
        self.locations.get("")
    }
}

/// One entry of `atrest model`'s output: an evaluation unit (a template, a Terraform root module
/// or plan, or all deployed-state inputs together) and the model policies see for it. The one
/// definition of the format, written by `atrest model` (with `M` the [`Inventory`]) and read
/// back by `scan --inventory` (with `M` a JSON value).
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct ModelEntry<M> {
    /// The unit's first file.
    #[serde(default)]
    pub file: Option<String>,
    #[serde(default)]
    pub files: Vec<String>,
    /// `cloudformation`, `sam`, `terraform`, `terraform-plan`, `serverless`, `aws-api`.
    #[serde(default)]
    pub kind: String,
    pub model: M,
}
