//! Correlation: what the inventory (IaC inputs of the same scan, `--inventory` files) says
//! about the function, mapping and key an event names. Templates mostly know names, not ARNs:
//! functions match by ARN where the inventory has one, else by name (the last segment of
//! `aws:lambda:FunctionArn`), and every match says how it was made. Keys compare by ARN, key
//! id, or alias (through the aliases the logs showed); `${AWS::Region}`-style placeholders
//! match any value.

use super::event::function_name;
use super::facts::Facts;
pub use crate::finding::Declared;
use crate::model::Loc;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Match,
    Mismatch,
    /// The inventory's key cannot be compared (a declared key with no ARN, an alias the logs
    /// never resolved, a parameter).
    Unknown,
    /// The inventory declares no customer managed key.
    DeclaresNone,
}

impl Cmp {
    fn name(self) -> &'static str {
        match self {
            Cmp::Match => "match",
            Cmp::Mismatch => "mismatch",
            Cmp::Unknown => "unknown",
            Cmp::DeclaresNone => "none",
        }
    }
}

#[derive(Debug, Clone)]
struct KeyDecl {
    state: String,
    value: Option<String>,
    key: Option<usize>,
    /// Where the property is written.
    at: Option<Loc>,
}

#[derive(Debug, Clone)]
struct KFunction {
    id: String,
    label: String,
    name: Option<String>,
    arn: Option<String>,
    keys: Vec<KeyDecl>,
    /// The execution role's name (the last part of its ARN), where the inventory knows it.
    role: Option<String>,
    decl: Option<Loc>,
}

#[derive(Debug, Clone)]
struct KMapping {
    id: String,
    label: String,
    /// Index of the function in `functions`.
    function: Option<usize>,
    event_source_arn: Option<String>,
    key: KeyDecl,
    decl: Option<Loc>,
}

#[derive(Debug, Clone)]
struct KKey {
    label: String,
    arn: Option<String>,
    aliases: Vec<String>,
    decl: Option<Loc>,
}

/// Everything the inventories say, indexed for events.
#[derive(Debug, Default)]
pub struct Catalog {
    pub given: bool,
    functions: Vec<KFunction>,
    mappings: Vec<KMapping>,
    keys: Vec<KKey>,
    /// `input.inventory` for CloudTrail rules: the merged inventories, ids as `<file>#<id>`.
    pub json: Value,
}

/// Finds the source location of an object (`prop` empty) or of one of its properties.
pub type Locate<'a> = &'a dyn Fn(&str, &str) -> Option<Loc>;

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

impl Catalog {
    pub fn new() -> Self {
        Catalog {
            json: json!({"functions": [], "event_source_mappings": [], "kms_keys": [], "kms_aliases": [], "log_groups": []}),
            ..Default::default()
        }
    }

    /// Adds one inventory in the model's JSON shape (`atrest model` prints it).
    pub fn add(&mut self, label: &str, model: &Value, locate: Locate) {
        self.given = true;
        let prefixed = |id: &str| format!("{label}#{id}");
        let key_base = self.keys.len();
        let list = |k: &str| {
            model
                .get(k)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let keys = list("kms_keys");
        let aliases = list("kms_aliases");
        for k in &keys {
            let id = s(k, "id").unwrap_or_default();
            let logical = s(k, "logical_id").unwrap_or_else(|| id.clone());
            let arn = [&logical, &id]
                .into_iter()
                .find(|x| x.starts_with("arn:") && x.contains(":key/"))
                .cloned();
            let key_aliases = aliases
                .iter()
                .filter(|a| s(a, "target_key").as_deref() == Some(id.as_str()))
                .filter_map(|a| s(a, "name"))
                .collect();
            self.keys.push(KKey {
                label: logical,
                arn,
                aliases: key_aliases,
                decl: locate(&id, ""),
            });
        }
        let key_index = |decl: &Value| -> Option<usize> {
            let key_id = s(decl, "key")?;
            keys.iter()
                .position(|k| s(k, "id").as_deref() == Some(key_id.as_str()))
                .map(|i| key_base + i)
        };
        let key_decl = |obj: &Value, prop: &str, id: &str| -> Option<KeyDecl> {
            let d = obj.get(prop)?;
            Some(KeyDecl {
                state: s(d, "state").unwrap_or_else(|| "unknown".into()),
                value: s(d, "value"),
                key: key_index(d),
                at: locate(id, prop),
            })
        };
        let function_base = self.functions.len();
        let functions = list("functions");
        for f in &functions {
            let id = s(f, "id").unwrap_or_default();
            let logical = s(f, "logical_id").unwrap_or_else(|| id.clone());
            let arn = [s(f, "name"), Some(logical.clone())]
                .into_iter()
                .flatten()
                .find(|x| x.contains(":function:"));
            let name = s(f, "name").map(|n| function_name(&n).to_owned());
            let keys = ["kms_key", "code_kms_key"]
                .iter()
                .filter_map(|p| key_decl(f, p, &id))
                .collect();
            let role = f
                .get("role")
                .and_then(|r| s(r, "value"))
                .filter(|r| r.starts_with("arn:") && !r.contains("${"))
                .and_then(|r| r.rsplit('/').next().map(str::to_owned));
            self.functions.push(KFunction {
                id: prefixed(&id),
                label: logical,
                name,
                arn,
                keys,
                role,
                decl: locate(&id, ""),
            });
        }
        for m in list("event_source_mappings") {
            let id = s(&m, "id").unwrap_or_default();
            let function = s(&m, "function").and_then(|fid| {
                functions
                    .iter()
                    .position(|f| s(f, "id").as_deref() == Some(fid.as_str()))
                    .map(|i| function_base + i)
            });
            self.mappings.push(KMapping {
                id: prefixed(&id),
                label: s(&m, "logical_id").unwrap_or_else(|| id.clone()),
                function,
                event_source_arn: s(&m, "event_source_arn"),
                key: key_decl(&m, "kms_key", &id).unwrap_or(KeyDecl {
                    state: "absent".into(),
                    value: None,
                    key: None,
                    at: None,
                }),
                decl: locate(&id, ""),
            });
        }
        // The merged inventory policies read.
        for section in [
            "functions",
            "event_source_mappings",
            "kms_keys",
            "kms_aliases",
            "log_groups",
        ] {
            let items = list(section).into_iter().map(|mut item| {
                for field in ["id", "function", "target_key"] {
                    if let Some(v) = item.get(field).and_then(Value::as_str).map(prefixed) {
                        item[field] = json!(v);
                    }
                }
                for field in ["kms_key", "code_kms_key"] {
                    if let Some(k) = item
                        .get(field)
                        .and_then(|k| k.get("key"))
                        .and_then(Value::as_str)
                        .map(prefixed)
                    {
                        item[field]["key"] = json!(k);
                    }
                }
                item
            });
            if let Some(arr) = self.json[section].as_array_mut() {
                arr.extend(items);
            }
        }
    }

    fn functions_for(&self, function: &str) -> Vec<(usize, &'static str)> {
        let name = function_name(function);
        let arn = function
            .contains(":function:")
            .then(|| unqualified(function));
        self.functions
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                if let (Some(a), Some(fa)) = (&arn, &f.arn)
                    && unqualified(fa) == *a
                {
                    return Some((i, "arn"));
                }
                (f.name.as_deref() == Some(name)).then_some((i, "name"))
            })
            .collect()
    }

    fn mappings_for(
        &self,
        functions: &[(usize, &str)],
        source: &str,
    ) -> Vec<(usize, &'static str)> {
        self.mappings
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let (_, how) = functions.iter().find(|(f, _)| Some(*f) == m.function)?;
                match &m.event_source_arn {
                    Some(esa) if placeholder_match(esa, source) => {
                        Some((i, if *how == "arn" { "arn" } else { "name" }))
                    }
                    Some(_) => None,
                    None => Some((i, "function only")),
                }
            })
            .collect()
    }

    fn compare(&self, decl: &KeyDecl, arn: &str, facts: &Facts) -> Cmp {
        match decl.state.as_str() {
            "absent" | "aws_managed" => {
                return if facts.aws_managed_keys.contains(arn) {
                    Cmp::Match
                } else {
                    Cmp::DeclaresNone
                };
            }
            "unknown" => return Cmp::Unknown,
            _ => {}
        }
        let mut texts: Vec<&str> = decl.value.iter().map(String::as_str).collect();
        if let Some(k) = decl.key.map(|k| &self.keys[k]) {
            texts.extend(k.arn.as_deref());
            texts.extend(k.aliases.iter().map(String::as_str));
        }
        let mut verdict = if texts.is_empty() {
            Cmp::Unknown
        } else {
            Cmp::Mismatch
        };
        for t in texts {
            let one = if t.starts_with("alias/") || t.contains(":alias/") {
                let targets = facts.alias_targets(t);
                if targets.contains(arn) {
                    Cmp::Match
                } else if targets.is_empty() {
                    Cmp::Unknown
                } else {
                    Cmp::Mismatch
                }
            } else if t.contains(":key/") {
                if placeholder_match(t, arn) {
                    Cmp::Match
                } else {
                    Cmp::Mismatch
                }
            } else if !t.contains(':') && !t.contains("${") {
                if arn.ends_with(&format!(":key/{t}")) {
                    Cmp::Match
                } else {
                    Cmp::Mismatch
                }
            } else {
                Cmp::Unknown
            };
            match one {
                Cmp::Match => return Cmp::Match,
                Cmp::Unknown => verdict = Cmp::Unknown,
                _ => {}
            }
        }
        verdict
    }

    /// Which inventory object, if any, declares this key for Lambda data.
    pub fn declares(&self, arn: &str, facts: &Facts) -> Option<String> {
        let f = self.functions.iter().find_map(|f| {
            f.keys
                .iter()
                .any(|k| k.state == "customer_managed" && self.compare(k, arn, facts) == Cmp::Match)
                .then(|| format!("function {}", f.label))
        });
        f.or_else(|| {
            self.mappings.iter().find_map(|m| {
                (m.key.state == "customer_managed"
                    && self.compare(&m.key, arn, facts) == Cmp::Match)
                    .then(|| format!("event source mapping {}", m.label))
            })
        })
    }

    /// Whether the alias is one the inventory uses for Lambda data.
    fn declares_alias(&self, alias: &str) -> bool {
        let short = alias
            .rsplit_once(":alias/")
            .map(|(_, n)| format!("alias/{n}"));
        let same = |t: &str| {
            t == alias
                || Some(t) == short.as_deref()
                || t.ends_with(&format!(":{}", short.as_deref().unwrap_or(alias)))
        };
        let decls = self
            .functions
            .iter()
            .flat_map(|f| f.keys.iter())
            .chain(self.mappings.iter().map(|m| &m.key));
        decls.filter(|d| d.state == "customer_managed").any(|d| {
            d.value.as_deref().is_some_and(same)
                || d.key
                    .is_some_and(|k| self.keys[k].aliases.iter().any(|a| same(a)))
        })
    }

    /// `input.resolved` for one event.
    pub fn resolve(&self, d: &super::event::Detail, facts: &Facts) -> Value {
        let mut r = serde_json::Map::new();
        let key = d
            .key_arn()
            .or_else(|| {
                let alias = d.alias()?;
                let t = facts.alias_targets(&alias);
                (t.len() == 1).then(|| t.into_iter().next().unwrap().to_owned())
            })
            .or_else(|| d.key_in_error());
        if let Some(arn) = &key {
            let why = if facts.lambda_keys.contains_key(arn) {
                Some("Lambda used it in the logs".to_owned())
            } else {
                self.declares(arn, facts)
                    .map(|w| format!("the inventory declares it for {w}"))
            };
            let mut k = json!({"arn": arn, "lambda_cmk": why.is_some(), "aws_managed": facts.aws_managed_keys.contains(arn)});
            if let Some(w) = why {
                k["why"] = json!(w);
            }
            r.insert("key".into(), k);
        }
        if let Some(alias) = d.alias() {
            let mut targets: Vec<&str> = facts.alias_targets(&alias).into_iter().collect();
            targets.extend(key.as_deref());
            targets.sort_unstable();
            targets.dedup();
            let lambda = targets
                .iter()
                .any(|t| facts.lambda_keys.contains_key(*t) || self.declares(t, facts).is_some())
                || self.declares_alias(&alias);
            r.insert(
                "alias".into(),
                json!({"name": alias, "targets": targets, "lambda_cmk": lambda}),
            );
        }
        if let Some(p) = d.principal() {
            r.insert("principal".into(), json!(p));
        }
        if let Some(service) = d.invoked_by() {
            r.insert("invoked_by".into(), json!(service));
        }
        // Classes of the caller, for decisions; the raw values are only for messages, so
        // events from many hosts and agent versions share memoised verdicts.
        if let Some(kind) = d.identity_type() {
            r.insert("identity_type".into(), json!(kind));
        }
        r.insert("agent".into(), json!(d.agent_class().name()));
        r.insert("address".into(), json!(d.address_class().name()));
        r.insert("console".into(), json!(d.from_console()));
        r.insert("lambda_context".into(), json!(d.has_lambda_context()));
        let lambda = self.lambda_use(d, facts);
        // A call Lambda made with a function's session named no function (a denied call is
        // logged without its request): the session is named after the function.
        let function = d.function().or_else(|| {
            (lambda["own"] == json!(true))
                .then(|| lambda["session"].as_str())
                .flatten()
        });
        r.insert("lambda".into(), lambda.clone());
        let error = d.error_code.get().map(error_kind);
        r.insert(
            "failed".into(),
            json!(error.is_some_and(|k| k != ErrorKind::DryRun)),
        );
        r.insert("dry_run".into(), json!(error == Some(ErrorKind::DryRun)));
        if let Some(kind) = error {
            r.insert("error_kind".into(), json!(kind.name()));
        }
        if let Some(function) = function {
            r.insert(
                "function".into(),
                json!({"arn": function, "name": function_name(function)}),
            );
        }
        let source = d.context_value("aws:lambda:EventSourceArn");
        if let Some(esa) = source {
            r.insert("event_source_arn".into(), json!(esa));
        }
        let mut inv = json!({"given": self.given});
        if let Some(function) = function {
            let fs = self.functions_for(function);
            inv["function_known"] = json!(!fs.is_empty());
            let cmp = |decls: &[&KeyDecl]| -> &'static str {
                let Some(arn) = &key else { return "unknown" };
                let all: Vec<Cmp> = decls.iter().map(|k| self.compare(k, arn, facts)).collect();
                if all.contains(&Cmp::Match) {
                    "match"
                } else if all.contains(&Cmp::Unknown) || all.is_empty() {
                    "unknown"
                } else if all.iter().all(|c| *c == Cmp::DeclaresNone) {
                    Cmp::DeclaresNone.name()
                } else {
                    "mismatch"
                }
            };
            let functions: Vec<Value> = fs
                .iter()
                .map(|(i, how)| {
                    let f = &self.functions[*i];
                    let decls: Vec<&KeyDecl> = f.keys.iter().collect();
                    json!({"id": f.id, "logical_id": f.label, "match": how, "key": cmp(&decls)})
                })
                .collect();
            inv["functions"] = json!(functions);
            if let Some(esa) = source {
                let ms: Vec<Value> = self
                    .mappings_for(&fs, esa)
                    .iter()
                    .map(|(i, how)| {
                        let m = &self.mappings[*i];
                        json!({"id": m.id, "logical_id": m.label, "match": how, "key": cmp(&[&m.key])})
                    })
                    .collect();
                inv["mappings"] = json!(ms);
            }
        }
        r.insert("inventory".into(), inv);
        Value::Object(r)
    }

    /// `resolved.lambda`: whether Lambda itself made the call, and why not. The decision
    /// table is in `docs/cloudtrail.md` and ATR-C001's description.
    fn lambda_use(&self, d: &super::event::Detail, facts: &Facts) -> Value {
        use super::event::Caller;
        match d.caller() {
            Caller::Service => json!({"own": true, "caller": "service"}),
            Caller::FunctionSession {
                role,
                session,
                internal,
            } => {
                // The access key, where the logs hold the AssumeRole that issued it.
                let issued = d
                    .access_key()
                    .and_then(|k| facts.lambda_sessions.get(k))
                    .map(|sessions| sessions.contains(session));
                let function = d.function().unwrap_or(session);
                let roles: Vec<&str> = self
                    .functions_for(function)
                    .iter()
                    .filter_map(|(i, _)| self.functions[*i].role.as_deref())
                    .collect();
                let role_known = !roles.is_empty();
                let role_ok = !role_known || roles.contains(&role);
                let by_lambda = match issued {
                    Some(true) => "; sts:AssumeRole by lambda.amazonaws.com issued its credentials",
                    Some(false) => "; its access key was issued by Lambda for another session",
                    None => "",
                };
                let own = internal && role_ok && issued != Some(false);
                let mut v = json!({
                    "own": own,
                    "caller": "function_session",
                    "role": role,
                    "session": session,
                    "internal_agent": internal,
                });
                if let Some(i) = issued {
                    v["issued_by_lambda"] = json!(i);
                }
                if !own {
                    let why = if !role_ok {
                        format!(
                            "the session is named after the function, yet its role {role} is not the function's execution role ({})",
                            roles.join(", ")
                        )
                    } else if issued == Some(false) {
                        "the session is named after the function, yet its access key was issued by Lambda for another session".to_owned()
                    } else {
                        format!(
                            "from outside Lambda: it is the function's execution-role session{by_lambda}, yet its user agent is {} and its address {} (Lambda's own calls carry an aws-internal/ user agent), so the function's credentials are used elsewhere",
                            d.user_agent.get().unwrap_or("absent"),
                            d.source_ip.get().unwrap_or("absent"),
                        )
                    };
                    v["why"] = json!(why);
                }
                v
            }
            Caller::Other => {
                // No encryption context (a denied call is logged with `requestParameters:
                // null`), but the access key is one Lambda's sts:AssumeRole issued to this
                // session, and the agent is Lambda's own: the function's start.
                let session = d
                    .identity
                    .as_ref()
                    .and_then(|i| i.arn.get())
                    .and_then(super::event::assumed_role);
                let issued = |session: &str| {
                    d.access_key()
                        .and_then(|k| facts.lambda_sessions.get(k))
                        .is_some_and(|s| s.contains(session))
                };
                match session {
                    Some((_, role, session))
                        if !d.has_lambda_context()
                            && d.agent_class() == super::event::Agent::AwsInternal
                            && issued(session) =>
                    {
                        json!({
                            "own": true,
                            "caller": "function_session",
                            "role": role,
                            "session": session,
                            "internal_agent": true,
                            "issued_by_lambda": true,
                        })
                    }
                    _ => json!({"own": false, "caller": "other", "why": "not through Lambda"}),
                }
            }
        }
    }

    /// The declarations a finding leads back to: the function, the mapping, and the key (or the
    /// property that names it).
    pub fn declarations(&self, subject: &super::Subject, facts: &Facts) -> Vec<Declared> {
        let (key, function, mapping) = (
            subject.key.as_deref(),
            subject.function.as_deref(),
            subject.mapping.as_deref(),
        );
        let mut out = Vec::new();
        let fs = function.map(|f| self.functions_for(f)).unwrap_or_default();
        for (i, how) in &fs {
            let f = &self.functions[*i];
            if let Some(loc) = &f.decl {
                let by = if *how == "name" {
                    " (matched by name)"
                } else {
                    ""
                };
                out.push(Declared {
                    what: format!("function {}{by}", f.label),
                    loc: loc.clone(),
                });
            }
        }
        if let Some(esa) = mapping {
            for (i, _) in self.mappings_for(&fs, esa) {
                let m = &self.mappings[i];
                if let Some(loc) = &m.decl {
                    out.push(Declared {
                        what: format!("mapping {}", m.label),
                        loc: loc.clone(),
                    });
                }
            }
        }
        if let Some(arn) = key {
            for k in &self.keys {
                let decl = KeyDecl {
                    state: "customer_managed".into(),
                    value: k.arn.clone(),
                    key: None,
                    at: None,
                };
                let by_alias = k
                    .aliases
                    .iter()
                    .any(|a| facts.alias_targets(a).contains(arn));
                if (self.compare(&decl, arn, facts) == Cmp::Match || by_alias)
                    && let Some(loc) = &k.decl
                {
                    out.push(Declared {
                        what: format!("key {}", k.label),
                        loc: loc.clone(),
                    });
                }
            }
            // The key the matched function declares, or the property that names it: the line
            // to change.
            for (i, _) in &fs {
                for d in &self.functions[*i].keys {
                    let (what, loc) = match (
                        d.key
                            .and_then(|k| self.keys[k].decl.as_ref().map(|l| (k, l))),
                        &d.at,
                    ) {
                        (Some((k, loc)), _) => (format!("key {}", self.keys[k].label), loc),
                        (None, Some(at)) => (
                            format!("key property of function {}", self.functions[*i].label),
                            at,
                        ),
                        _ => continue,
                    };
                    if !out.iter().any(|o| &o.loc == loc) {
                        out.push(Declared {
                            what,
                            loc: loc.clone(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// What an `errorCode` means for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A dry run that would have succeeded: nothing failed, nothing changed.
    DryRun,
    /// KMS was busy or briefly unreachable; the caller retries, the key is fine.
    Transient,
    /// Anything else: the call failed (denied, key disabled or pending deletion, ...).
    Failure,
}

impl ErrorKind {
    fn name(self) -> &'static str {
        match self {
            ErrorKind::DryRun => "dry_run",
            ErrorKind::Transient => "transient",
            ErrorKind::Failure => "failure",
        }
    }
}

pub fn error_kind(code: &str) -> ErrorKind {
    if super::event::is_dry_run(code) {
        ErrorKind::DryRun
    } else if matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "LimitExceededException"
            | "KMSInternalException"
            | "DependencyTimeoutException"
            | "ServiceUnavailableException"
            | "InternalFailure"
    ) {
        ErrorKind::Transient
    } else {
        ErrorKind::Failure
    }
}

fn unqualified(arn: &str) -> String {
    match arn.split_once(":function:") {
        Some((head, rest)) => format!("{head}:function:{}", rest.split(':').next().unwrap_or(rest)),
        None => arn.to_owned(),
    }
}

/// Whether `value` matches `template`, where each `${...}` in the template stands for any text
/// without a colon.
pub fn placeholder_match(template: &str, value: &str) -> bool {
    match template.find("${") {
        None => template == value,
        Some(start) => {
            let Some(end) = template[start..].find('}').map(|e| start + e + 1) else {
                return template == value;
            };
            let (prefix, rest) = (&template[..start], &template[end..]);
            let Some(tail) = value.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len())
                .take_while(|&i| i == 0 || !tail[..i].contains(':'))
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| placeholder_match(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lambda_of(agent: &str, access_key: &str, facts: &Facts) -> Value {
        let text = format!(
            r#"{{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","userAgent":"{agent}","sourceIPAddress":"198.51.100.23",
            "userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/role/fn","accessKeyId":"{access_key}"}},
            "requestParameters":{{"encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:r:1:function:fn"}}}},
            "resources":[{{"ARN":"arn:aws:kms:r:1:key/k"}}]}}"#
        );
        Catalog::new().resolve(&super::super::event::Detail::parse(&text), facts)["lambda"].clone()
    }

    #[test]
    fn a_functions_session_is_lambdas_own_from_inside_aws_and_says_why_not_otherwise() {
        let mut facts = Facts::default();
        facts
            .lambda_sessions
            .insert("ASIA1".into(), ["fn".to_owned()].into());
        facts
            .lambda_sessions
            .insert("ASIA2".into(), ["other-fn".to_owned()].into());
        let internal = "aws-internal/3 aws-sdk-java/1.12.720";
        // Inside AWS: Lambda's own, whether or not the logs hold the AssumeRole.
        for key in ["ASIA1", "ASIA9"] {
            let l = lambda_of(internal, key, &facts);
            assert_eq!(l["own"], json!(true), "{l}");
            assert_eq!(l["caller"], json!("function_session"));
        }
        assert_eq!(
            lambda_of(internal, "ASIA1", &facts)["issued_by_lambda"],
            json!(true)
        );
        // Lambda issued the key to another function's session: not this function's.
        let l = lambda_of(internal, "ASIA2", &facts);
        assert_eq!(l["own"], json!(false), "{l}");
        assert!(
            l["why"].as_str().unwrap().contains("for another session"),
            "{l}"
        );
        // The function's credentials from a laptop: the message says so, agent and address.
        let l = lambda_of("aws-cli/2.15.40 Python/3.11.8", "ASIA1", &facts);
        assert_eq!(l["own"], json!(false), "{l}");
        let why = l["why"].as_str().unwrap();
        assert!(
            why.contains("sts:AssumeRole by lambda.amazonaws.com issued its credentials")
                && why.contains("aws-cli/2.15.40")
                && why.contains("198.51.100.23"),
            "{why}"
        );
    }

    #[test]
    fn a_denied_call_logged_without_its_request_is_lambdas_when_lambda_issued_the_session() {
        let text = |key: &str| {
            format!(
                r#"{{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","userAgent":"aws-internal/3 aws-sdk-java/1.12.64",
                "userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/role/fn","accessKeyId":"{key}"}},
                "errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::1:assumed-role/role/fn is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:r:1:key/k because no identity-based policy allows the kms:Decrypt action",
                "requestParameters":null}}"#
            )
        };
        let mut facts = Facts::default();
        facts
            .lambda_sessions
            .insert("ASIA1".into(), ["fn".to_owned()].into());
        let resolve = |key: &str| {
            let t = text(key);
            Catalog::new().resolve(&super::super::event::Detail::parse(&t), &facts)
        };
        let r = resolve("ASIA1");
        assert_eq!(r["lambda"]["own"], json!(true), "{r}");
        assert_eq!(r["function"]["name"], json!("fn"), "{r}");
        assert_eq!(r["key"]["arn"], json!("arn:aws:kms:r:1:key/k"), "{r}");
        // A key Lambda did not issue to this session: nothing ties the call to Lambda.
        let r = resolve("ASIA9");
        assert_eq!(r["lambda"]["own"], json!(false), "{r}");
        assert!(r.get("function").is_none(), "{r}");
    }

    #[test]
    fn error_codes_are_told_apart() {
        assert_eq!(error_kind("DryRunOperationException"), ErrorKind::DryRun);
        assert_eq!(error_kind("Client.DryRunOperation"), ErrorKind::DryRun);
        assert_eq!(error_kind("ThrottlingException"), ErrorKind::Transient);
        assert_eq!(error_kind("AccessDeniedException"), ErrorKind::Failure);
        assert_eq!(error_kind("KMSInvalidStateException"), ErrorKind::Failure);
    }

    #[test]
    fn placeholders_match_one_arn_segment() {
        let t = "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/abc";
        assert!(placeholder_match(
            t,
            "arn:aws:kms:eu-west-1:123456789012:key/abc"
        ));
        assert!(!placeholder_match(
            t,
            "arn:aws:kms:eu-west-1:123456789012:key/abd"
        ));
        assert!(!placeholder_match("arn:${X}:b", "arn:a:c:b"));
    }
}
