//! Typed, borrowed views of a CloudTrail event: just the fields routing, facts and correlation
//! need, read with serde_json without building a JSON tree. Anything of an unexpected type is
//! treated as absent, never as an error: CloudTrail's schema varies by service and by year.

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A string field, borrowed where the JSON has no escapes; `None` for null, absent or a
/// non-string value.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// The fields every event is routed and deduplicated by.
#[derive(Debug, Default, Deserialize)]
pub struct Head<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    pub source: Text<'a>,
    #[serde(rename = "eventName", borrow, default)]
    pub name: Text<'a>,
    #[serde(rename = "eventID", borrow, default)]
    pub id: Text<'a>,
    #[serde(rename = "eventTime", borrow, default)]
    pub time: Text<'a>,
}

impl Head<'_> {
    /// Identity for deduplication: a redelivered event repeats all four fields. (Sample events
    /// in documentation reuse one placeholder eventID for different calls; the other fields
    /// keep those apart.)
    pub fn identity_hash(&self) -> Option<u128> {
        let id = self.id.get()?;
        let mut a = crate::fnv::Fnv1a::default();
        let mut b: u64 = 0x6c62_272e_07bb_0142;
        for part in [
            id,
            self.source.get().unwrap_or(""),
            self.name.get().unwrap_or(""),
            self.time.get().unwrap_or(""),
        ] {
            for byte in part.bytes().chain([0xffu8]) {
                a.byte(byte);
                b = b.rotate_left(5) ^ u64::from(byte);
                b = b.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        }
        Some((u128::from(a.finish()) << 64) | u128::from(b))
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct Identity<'a> {
    #[serde(rename = "type", borrow, default)]
    pub kind: Text<'a>,
    #[serde(borrow, default)]
    pub arn: Text<'a>,
    #[serde(rename = "principalId", borrow, default)]
    pub principal_id: Text<'a>,
    #[serde(rename = "accountId", borrow, default)]
    pub account: Text<'a>,
    #[serde(rename = "invokedBy", borrow, default)]
    pub invoked_by: Text<'a>,
    #[serde(rename = "accessKeyId", borrow, default)]
    pub access_key: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Request<'a> {
    #[serde(rename = "keyId", borrow, default)]
    pub key_id: Text<'a>,
    #[serde(rename = "aliasName", borrow, default)]
    pub alias_name: Text<'a>,
    #[serde(rename = "targetKeyId", borrow, default)]
    pub target_key_id: Text<'a>,
    #[serde(rename = "functionName", borrow, default)]
    pub function_name: Text<'a>,
    #[serde(rename = "encryptionContext", borrow, default)]
    pub context: Option<BTreeMap<Cow<'a, str>, Text<'a>>>,
    #[serde(rename = "sourceEncryptionContext", borrow, default)]
    pub source_context: Option<BTreeMap<Cow<'a, str>, Text<'a>>>,
    #[serde(rename = "destinationEncryptionContext", borrow, default)]
    pub destination_context: Option<BTreeMap<Cow<'a, str>, Text<'a>>>,
    /// `sts:AssumeRole`: the role and the session's name.
    #[serde(rename = "roleArn", borrow, default)]
    pub role_arn: Text<'a>,
    #[serde(rename = "roleSessionName", borrow, default)]
    pub role_session_name: Text<'a>,
}

/// What `sts:AssumeRole` answered: the credentials it issued.
#[derive(Debug, Default, Deserialize)]
pub struct Response<'a> {
    #[serde(borrow, default)]
    pub credentials: Option<Credentials<'a>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Credentials<'a> {
    #[serde(rename = "accessKeyId", borrow, default)]
    pub access_key: Text<'a>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Resource<'a> {
    /// CloudTrail writes `ARN`; some exports (Panther's tests, log shippers) lower-case it.
    #[serde(rename = "ARN", alias = "arn", borrow, default)]
    pub arn: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Text<'a>,
}

/// What facts and correlation read from a KMS or Lambda event.
#[derive(Debug, Default, Deserialize)]
pub struct Detail<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    pub source: Text<'a>,
    #[serde(rename = "eventName", borrow, default)]
    pub name: Text<'a>,
    #[serde(rename = "userIdentity", borrow, default)]
    pub identity: Option<Identity<'a>>,
    #[serde(rename = "requestParameters", borrow, default)]
    pub request: Option<Request<'a>>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<Resource<'a>>>,
    #[serde(rename = "errorCode", borrow, default)]
    pub error_code: Text<'a>,
    #[serde(rename = "errorMessage", borrow, default)]
    pub error_message: Text<'a>,
    #[serde(rename = "awsRegion", borrow, default)]
    pub region: Text<'a>,
    #[serde(rename = "recipientAccountId", borrow, default)]
    pub account: Text<'a>,
    #[serde(rename = "userAgent", borrow, default)]
    pub user_agent: Text<'a>,
    #[serde(rename = "sourceIPAddress", borrow, default)]
    pub source_ip: Text<'a>,
    #[serde(rename = "responseElements", borrow, default)]
    pub response: Option<Response<'a>>,
    /// `"true"` or `true` when the call was made with console session credentials.
    #[serde(rename = "sessionCredentialFromConsole", borrow, default)]
    pub console_credentials: Option<&'a serde_json::value::RawValue>,
}

pub const LAMBDA_SERVICE: &str = "lambda.amazonaws.com";
pub const KMS_SOURCE: &str = "kms.amazonaws.com";
pub const LAMBDA_SOURCE: &str = "lambda.amazonaws.com";
pub const STS_SOURCE: &str = "sts.amazonaws.com";

/// Error codes that do not mean the call failed: a dry run that would have succeeded (KMS
/// `DryRunOperationException`, which Lambda's checks of a durable function's key return;
/// EC2's `DryRunOperation` spelling too). Such a call did nothing, and nothing failed.
pub fn is_dry_run(error_code: &str) -> bool {
    error_code.ends_with("DryRunOperationException") || error_code.ends_with("DryRunOperation")
}

/// KMS operations that use a key to protect data: the ones Lambda's context appears in.
pub fn is_crypto_call(name: &str) -> bool {
    name == "Decrypt"
        || name == "Encrypt"
        || name.starts_with("GenerateDataKey")
        || name.starts_with("ReEncrypt")
}

impl<'a> Detail<'a> {
    /// Parses the detail of an event; a field of an unexpected shape (a string where CloudTrail
    /// usually writes an object) leaves the whole detail empty rather than failing the event.
    pub fn parse(text: &'a str) -> Detail<'a> {
        serde_json::from_str(text).unwrap_or_default()
    }

    pub fn invoked_by(&self) -> Option<&str> {
        self.identity.as_ref().and_then(|i| i.invoked_by.get())
    }

    /// Who made the call: the principal's ARN, else its id, else the invoking service.
    pub fn principal(&self) -> Option<String> {
        let i = self.identity.as_ref()?;
        i.arn
            .get()
            .or(i.principal_id.get())
            .or(i.invoked_by.get())
            .or(i.kind.get())
            .map(str::to_owned)
    }

    /// Every encryption context of the request (ReEncrypt has two).
    pub fn contexts(&self) -> impl Iterator<Item = &BTreeMap<Cow<'a, str>, Text<'a>>> {
        self.request.iter().flat_map(|r| {
            [&r.context, &r.source_context, &r.destination_context]
                .into_iter()
                .flatten()
        })
    }

    /// A value of the encryption context (matched as a subset: other keys may be present).
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.contexts().find_map(|c| c.get(key).and_then(Text::get))
    }

    pub fn has_lambda_context(&self) -> bool {
        self.contexts()
            .any(|c| c.keys().any(|k| k.starts_with("aws:lambda:")))
    }

    /// The key ARN the call used: `resources[]` first, then `keyId` when it is an ARN, then a
    /// bare key id placed in the event's region and account. Aliases are resolved by facts.
    /// (KMS lists an alias in `resources[]` with the type `AWS::KMS::Key` too: only a
    /// `:key/` ARN is a key.)
    pub fn key_arn(&self) -> Option<String> {
        let from_resources = self.resources.iter().flatten().find_map(|r| {
            let arn = r.arn.get()?;
            (arn.starts_with("arn:") && arn.contains(":key/")).then_some(arn)
        });
        if let Some(arn) = from_resources {
            return Some(arn.to_owned());
        }
        let key_id = self.request.as_ref()?.key_id.get()?;
        self.qualify_key(key_id)
    }

    /// The key a failed call names only in its error (`... is not authorized to perform:
    /// kms:Decrypt on resource: arn:aws:kms:...:key/...`): KMS logs a denied call with
    /// `requestParameters: null` and no `resources[]`.
    pub fn key_in_error(&self) -> Option<String> {
        self.error_code.get()?;
        let message = self.error_message.get()?;
        message
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '"' | '\'' | '(' | ')'))
            .map(|w| w.trim_end_matches('.'))
            .find(|w| w.starts_with("arn:") && w.contains(":kms:") && w.contains(":key/"))
            .map(str::to_owned)
    }

    /// A key id or key ARN as an ARN (not aliases).
    pub fn qualify_key(&self, key_id: &str) -> Option<String> {
        if key_id.starts_with("arn:") {
            return key_id.contains(":key/").then(|| key_id.to_owned());
        }
        if key_id.starts_with("alias/") {
            return None;
        }
        let (region, account) = (self.region.get()?, self.account.get()?);
        Some(format!(
            "arn:{}:kms:{region}:{account}:key/{key_id}",
            self.partition()
        ))
    }

    /// An alias name or alias ARN as an alias ARN, when the event says where it lives.
    pub fn qualify_alias(&self, alias: &str) -> Option<String> {
        if alias.starts_with("arn:") {
            return alias.contains(":alias/").then(|| alias.to_owned());
        }
        let name = alias.strip_prefix("alias/")?;
        let (region, account) = (self.region.get()?, self.account.get()?);
        Some(format!(
            "arn:{}:kms:{region}:{account}:alias/{name}",
            self.partition()
        ))
    }

    /// The alias the request names (as `keyId` or `aliasName`), as an ARN where possible.
    pub fn alias(&self) -> Option<String> {
        let r = self.request.as_ref()?;
        let named = r.alias_name.get().or(r
            .key_id
            .get()
            .filter(|k| k.starts_with("alias/") || k.contains(":alias/")))?;
        Some(
            self.qualify_alias(named)
                .unwrap_or_else(|| named.to_owned()),
        )
    }

    fn partition(&self) -> &str {
        self.identity
            .as_ref()
            .and_then(|i| i.arn.get())
            .and_then(|a| a.split(':').nth(1))
            .filter(|p| !p.is_empty())
            .unwrap_or("aws")
    }

    /// How the call stands to Lambda (see [`Caller`]).
    pub fn caller(&self) -> Caller<'_> {
        if self.invoked_by() == Some(LAMBDA_SERVICE) {
            return Caller::Service;
        }
        let function = self.context_value("aws:lambda:FunctionArn");
        let session = self
            .identity
            .as_ref()
            .and_then(|i| i.arn.get())
            .and_then(assumed_role);
        if let (Some(function), Some((account, role, session))) = (function, session)
            && function_name(function) == session
            && account_of(function).is_none_or(|a| a == account)
        {
            let internal = self.agent_class() == Agent::AwsInternal;
            return Caller::FunctionSession {
                role,
                session,
                internal,
            };
        }
        Caller::Other
    }

    /// Whether Lambda itself made the call, as far as the event alone tells: invoked by the
    /// service, or the function's own session from inside AWS (see [`Caller`]).
    pub fn lambda_own(&self) -> bool {
        matches!(
            self.caller(),
            Caller::Service | Caller::FunctionSession { internal: true, .. }
        )
    }

    /// The access key the call was signed with.
    pub fn access_key(&self) -> Option<&str> {
        self.identity.as_ref().and_then(|i| i.access_key.get())
    }

    /// An `sts:AssumeRole` made by Lambda for a function's execution role: (access key issued,
    /// session name).
    pub fn lambda_assume_role(&self) -> Option<(&str, &str)> {
        if self.name.get() != Some("AssumeRole") || self.source.get() != Some(STS_SOURCE) {
            return None;
        }
        let by_lambda = self.invoked_by() == Some(LAMBDA_SERVICE)
            || self.source_ip.get() == Some(LAMBDA_SERVICE);
        if !by_lambda || self.error_code.get().is_some() {
            return None;
        }
        let key = self
            .response
            .as_ref()?
            .credentials
            .as_ref()?
            .access_key
            .get()?;
        let session = self.request.as_ref()?.role_session_name.get()?;
        Some((key, session))
    }

    /// What kind of client made the call, from `userAgent`: the rules decide on this class and
    /// use the raw agent only in messages.
    pub fn agent_class(&self) -> Agent {
        let Some(ua) = self.user_agent.get() else {
            return Agent::Absent;
        };
        let lower = ua.to_ascii_lowercase();
        if ua.starts_with("aws-internal/") {
            Agent::AwsInternal
        } else if lower.starts_with("mozilla") || ua == "console.amazonaws.com" {
            Agent::Console
        } else if ua == "AWS Internal" || ua.ends_with(".amazonaws.com") {
            Agent::AwsService
        } else if SDK_AGENTS.iter().any(|p| lower.starts_with(p))
            || lower.contains(" aws-sdk-")
            || lower.contains(" aws-cli/")
        {
            Agent::Sdk
        } else {
            Agent::Other
        }
    }

    /// What kind of address the call came from, from `sourceIPAddress`.
    pub fn address_class(&self) -> Address {
        let Some(ip) = self.source_ip.get() else {
            return Address::Absent;
        };
        if ip == "AWS Internal" {
            return Address::AwsInternal;
        }
        if ip.ends_with(".amazonaws.com") {
            return Address::AwsService;
        }
        match ip.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(a))
                if a.is_private() || a.is_loopback() || a.is_link_local() =>
            {
                Address::Private
            }
            Ok(std::net::IpAddr::V6(a))
                if a.is_loopback() || a.is_unique_local() || a.is_unicast_link_local() =>
            {
                Address::Private
            }
            Ok(_) => Address::Public,
            Err(_) => Address::Other,
        }
    }

    /// A person at the console or in a browser: console session credentials
    /// (`sessionCredentialFromConsole`, logged as `"true"` or `true`), or a browser's or the
    /// console's user agent.
    pub fn from_console(&self) -> bool {
        self.console_credentials
            .is_some_and(|v| matches!(v.get(), "true" | "\"true\""))
            || self.agent_class() == Agent::Console
    }

    /// `userIdentity.type`: `AssumedRole`, `IAMUser`, `AWSService`, `Root`, ...
    pub fn identity_type(&self) -> Option<&str> {
        self.identity.as_ref().and_then(|i| i.kind.get())
    }

    /// The function the event is about: the encryption context's `aws:lambda:FunctionArn`, or a
    /// control-plane call's `functionName` (a name or an ARN).
    pub fn function(&self) -> Option<&str> {
        self.context_value("aws:lambda:FunctionArn")
            .or_else(|| self.request.as_ref().and_then(|r| r.function_name.get()))
    }
}

/// How a KMS call stands to Lambda. Lambda makes its calls in two ways:
/// - as the service (`userIdentity.invokedBy: lambda.amazonaws.com`): filter criteria, grants,
///   the pull-mapping cases the Lambda guide documents;
/// - at a function's start, to decrypt its environment variables, with the function's own
///   execution-role session: no `invokedBy`, the session named after the function
///   (`assumed-role/ROLE/FUNCTION`), an `aws-internal/` user agent, the key only in
///   `resources[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller<'a> {
    Service,
    /// The execution-role session of the function the encryption context names. `internal`:
    /// the user agent is Lambda's own (`aws-internal/...`), not an SDK or CLI.
    FunctionSession {
        role: &'a str,
        session: &'a str,
        internal: bool,
    },
    /// Anyone else.
    Other,
}

/// User agents of AWS SDKs, the CLI and the tools built on them (lower case prefixes).
const SDK_AGENTS: &[&str] = &[
    "aws-sdk-",
    "aws-cli/",
    "boto3/",
    "botocore/",
    "apn/",
    "awspowershell",
    "aws-toolkit",
    "terraform",
    "hashicorp",
    "aws-cdk",
    "cloud9",
];

/// The class of a call's user agent (`resolved.agent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// `aws-internal/...`: AWS's own SDK inside a service (Lambda's calls at a function's start).
    AwsInternal,
    /// An AWS service by name (`lambda.amazonaws.com`, `AWS Internal`).
    AwsService,
    /// A browser (`Mozilla/...`) or the console (`console.amazonaws.com`).
    Console,
    /// An AWS SDK, the CLI, or a tool built on them (Terraform, the CDK, PowerShell).
    Sdk,
    Other,
    Absent,
}

impl Agent {
    pub fn name(self) -> &'static str {
        match self {
            Agent::AwsInternal => "aws-internal",
            Agent::AwsService => "aws-service",
            Agent::Console => "console",
            Agent::Sdk => "sdk",
            Agent::Other => "other",
            Agent::Absent => "absent",
        }
    }
}

/// The class of a call's source address (`resolved.address`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// `AWS Internal`.
    AwsInternal,
    /// An AWS service by name (`lambda.amazonaws.com`): the service called on someone's behalf.
    AwsService,
    /// A private, loopback or link-local IP address (a VPC, through an endpoint).
    Private,
    /// Any other IP address: AWS's own public ranges included, which change and are not known
    /// here.
    Public,
    /// Neither a name nor an IP address.
    Other,
    Absent,
}

impl Address {
    pub fn name(self) -> &'static str {
        match self {
            Address::AwsInternal => "aws-internal",
            Address::AwsService => "aws-service",
            Address::Private => "private",
            Address::Public => "public",
            Address::Other => "other",
            Address::Absent => "absent",
        }
    }
}

/// Whether a key can be behind an alias: an alias ARN points only to keys in its own partition,
/// region and account. An alias written without an ARN (no place known) can be any key's.
pub fn same_place(alias: &str, key_arn: &str) -> bool {
    fn place(arn: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
        let mut parts = arn.splitn(6, ':');
        parts.next();
        let partition = parts.next();
        parts.next();
        (partition, parts.next(), parts.next())
    }
    !alias.starts_with("arn:") || place(alias) == place(key_arn)
}

/// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` -> (account, role, session).
pub fn assumed_role(arn: &str) -> Option<(&str, &str, &str)> {
    let account = account_of(arn)?;
    let rest = arn.split_once(":assumed-role/")?.1;
    let (role, session) = rest.split_once('/')?;
    (!role.is_empty() && !session.is_empty()).then_some((account, role, session))
}

/// `arn:aws:lambda:eu-west-1:1:function:name[:qualifier]` -> `name`; a plain name stays.
pub fn function_name(function: &str) -> &str {
    match function.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => function,
    }
}

/// The account an ARN or account id names; `None` for service principals and `*`.
pub fn account_of(principal: &str) -> Option<&str> {
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return Some(principal);
    }
    principal
        .strip_prefix("arn:")
        .and_then(|rest| rest.split(':').nth(3))
        .filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_needs_and_tolerates_odd_shapes() {
        let text = r#"{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"eu-west-1","recipientAccountId":"123456789012",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::123456789012:assumed-role/r/s","invokedBy":"lambda.amazonaws.com"},
            "requestParameters":{"keyId":"1234abcd","encryptionContext":{"aws-crypto-public-key":"x","aws:lambda:FunctionArn":"arn:aws:lambda:eu-west-1:123456789012:function:fn"}},
            "eventID":"e\u0031","extra":{"deep":[1,2,{"x":null}]}}"#;
        let head: Head = serde_json::from_str(text).unwrap();
        assert_eq!(head.id.get(), Some("e1"));
        let d = Detail::parse(text);
        assert_eq!(d.invoked_by(), Some(LAMBDA_SERVICE));
        assert!(d.has_lambda_context());
        assert_eq!(
            d.key_arn().as_deref(),
            Some("arn:aws:kms:eu-west-1:123456789012:key/1234abcd")
        );
        assert_eq!(d.function().map(function_name), Some("fn"));
        let lower = Detail::parse(r#"{"resources":[{"arn":"arn:aws:kms:r:1:key/k"}]}"#);
        assert_eq!(lower.key_arn().as_deref(), Some("arn:aws:kms:r:1:key/k"));
        let odd: Head = serde_json::from_str(r#"{"eventName": 5, "eventSource": null}"#).unwrap();
        assert_eq!(odd.name.get(), None);
        assert!(
            Detail::parse(r#"{"requestParameters": "x"}"#)
                .request
                .is_none()
        );
    }

    #[test]
    fn callers_are_classed_by_agent_address_and_console_credentials() {
        let text = |fields: &str| format!("{{{fields}}}");
        let agent = |ua: &str| Detail::parse(&text(&format!(r#""userAgent": {ua}"#))).agent_class();
        for (ua, class) in [
            (
                r#""aws-internal/3 aws-sdk-java/1.12.720""#,
                Agent::AwsInternal,
            ),
            (r#""lambda.amazonaws.com""#, Agent::AwsService),
            (r#""AWS Internal""#, Agent::AwsService),
            (r#""console.amazonaws.com""#, Agent::Console),
            (r#""Mozilla/5.0 (X11; Linux x86_64)""#, Agent::Console),
            (r#""mozilla/5.0""#, Agent::Console),
            (r#""aws-cli/2.15.40 Python/3.11.8""#, Agent::Sdk),
            (r#""Boto3/1.34.0 md/Botocore#1.34.0""#, Agent::Sdk),
            (r#""APN/1.0 HashiCorp/1.0 Terraform/1.8.0""#, Agent::Sdk),
            (r#""[S3Console/0.4]""#, Agent::Other),
            (r#""""#, Agent::Absent),
            ("null", Agent::Absent),
            ("7", Agent::Absent),
        ] {
            assert_eq!(agent(ua), class, "{ua}");
        }
        let address = |ip: &str| {
            Detail::parse(&text(&format!(r#""sourceIPAddress": "{ip}""#))).address_class()
        };
        for (ip, class) in [
            ("AWS Internal", Address::AwsInternal),
            ("lambda.amazonaws.com", Address::AwsService),
            ("10.0.3.4", Address::Private),
            ("172.31.0.9", Address::Private),
            ("192.168.1.1", Address::Private),
            ("169.254.76.1", Address::Private),
            ("fd00:ec2::254", Address::Private),
            ("198.51.100.23", Address::Public),
            ("2001:db8::1", Address::Public),
            ("not an address", Address::Other),
            ("", Address::Absent),
        ] {
            assert_eq!(address(ip), class, "{ip}");
        }
        // Console credentials decide whatever the client; logged as a string or a boolean.
        for fields in [
            r#""sessionCredentialFromConsole": "true", "userAgent": "aws-cli/2.15.0""#,
            r#""sessionCredentialFromConsole": true, "userAgent": null"#,
            r#""userAgent": "Mozilla/5.0""#,
            r#""userAgent": "console.amazonaws.com""#,
        ] {
            assert!(Detail::parse(&text(fields)).from_console(), "{fields}");
        }
        for fields in [
            r#""sessionCredentialFromConsole": "false", "userAgent": "aws-cli/2.15.0""#,
            r#""sessionCredentialFromConsole": false"#,
            r#""sessionCredentialFromConsole": null, "userAgent": null"#,
            r#""userAgent": "lambda.amazonaws.com""#,
        ] {
            assert!(!Detail::parse(&text(fields)).from_console(), "{fields}");
        }
    }

    #[test]
    fn accounts_of_principals() {
        assert_eq!(
            account_of("arn:aws:iam::111122223333:root"),
            Some("111122223333")
        );
        assert_eq!(account_of("444455556666"), Some("444455556666"));
        assert_eq!(account_of("lambda.amazonaws.com"), None);
        assert_eq!(function_name("arn:aws:lambda:r:1:function:f:PROD"), "f");
    }
}
