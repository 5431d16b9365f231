//! CloudTrail Lake query results (`aws cloudtrail get-query-results`): each row of
//! `QueryResultRows` is a list of one-column objects, `[{"eventversion": "1.09"},
//! {"useridentity": "{type=AssumedRole, ...}"}, ...]`, every value a string. A row becomes the
//! event the same record has in a trail's log, so the rules see the same fields.
//!
//! How Lake writes a record (its SQL schema in the CloudTrail user guide):
//! - column names are the record's field names, lowercased (`eventsource`), or as the query
//!   wrote them (`eventSource`): both are read, any case, and given the record's spelling;
//! - struct columns (`userIdentity`, `resources`, `tlsDetails`, ...) are Hive text,
//!   `{type=AssumedRole, principalid=..., sessioncontext={attributes={...}}}` and
//!   `[{accountid=..., type=AWS::KMS::Key, arn=...}]`, with lowercased names (renamed back
//!   from the schema's list) and `null` for absent fields (left out);
//! - map columns (`requestParameters`, `responseElements`, `additionalEventData`,
//!   `serviceEventDetails`) are `{name=value, ...}` with the names as the record has them, and
//!   each value text: a nested object or list is its JSON (`encryptionContext={"aws:lambda:
//!   FunctionArn":"arn:..."}`), read as JSON; any other value stays a string (Lake keeps no
//!   types in a map: `durationSeconds=3600` is `"3600"`), and `null` is null;
//! - timestamps (`eventTime`, `creationDate`) are `2024-06-01 10:00:00.000`, written back as
//!   CloudTrail writes them (`2024-06-01T10:00:00Z`); `readOnly` and `managementEvent` are
//!   booleans again; a column that is null, `null` or empty is left out, as the record has
//!   no such field.
//!
//! The text is ambiguous where a value holds the separators. A plain value ends at the first
//! `, name=` (a name: letters, digits, `_ . : - /`) or at the bracket that closes its
//! container; a value that holds one of those is cut there, and what follows then no longer
//! parses: the column is left out of the event and a note names it (never a silent miss).
//! Values that start with `{` or `[` are taken to their matching bracket (brackets inside
//! JSON strings do not count).

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A row turned into an event, with the columns that could not be read.
pub(super) struct Row {
    /// The event's JSON text, or `None` when the row lacks `eventSource`, `eventName` or
    /// `eventTime` (a query that selected other columns): no event.
    pub event: Option<String>,
    /// (offset of the value in the row's text, problem): columns left out.
    pub problems: Vec<(usize, String)>,
    /// The columns the row has, in the record's spelling (for a note on rows that are no
    /// events).
    pub columns: Vec<String>,
}

/// The record's top-level fields, by their lowercased name.
const TOP: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "resources",
    "eventType",
    "apiVersion",
    "managementEvent",
    "recipientAccountId",
    "sharedEventID",
    "annotation",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "serviceEventDetails",
    "addendum",
    "edgeDeviceDetails",
    "insightDetails",
    "eventCategory",
    "tlsDetails",
    "sessionCredentialFromConsole",
];

/// Map columns: names kept as written, values text or JSON.
const MAPS: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "serviceEventDetails",
];

/// Struct columns: Hive text with lowercased names.
const STRUCTS: &[&str] = &[
    "userIdentity",
    "resources",
    "tlsDetails",
    "addendum",
    "insightDetails",
    "edgeDeviceDetails",
];

/// Names inside struct columns, as the record spells them (`arn` is `ARN` in `resources`).
const STRUCT_FIELDS: &[&str] = &[
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "sessionContext",
    "attributes",
    "creationDate",
    "mfaAuthenticated",
    "sessionIssuer",
    "webIdFederationData",
    "federatedProvider",
    "sourceIdentity",
    "ec2RoleDelivery",
    "ec2IssuedInVPC",
    "onBehalfOf",
    "userId",
    "identityStoreArn",
    "inScopeOf",
    "sourceArn",
    "sourceAccount",
    "issuerType",
    "credentialsIssuedTo",
    "invokedBy",
    "identityProvider",
    "credentialId",
    "tlsVersion",
    "cipherSuite",
    "clientProvidedHostHeader",
    "keyExchange",
    "reason",
    "updatedFields",
    "originalRequestID",
    "originalEventID",
];

fn spelled(names: &[&'static str], lower: &str) -> Option<&'static str> {
    names
        .iter()
        .copied()
        .find(|n| n.eq_ignore_ascii_case(lower))
}

/// Turns one row (its JSON text) into an event, or says why it is none.
pub(super) fn row(text: &str) -> Result<Row, String> {
    let cells: Vec<&RawValue> = serde_json::from_str(text)
        .map_err(|_| "is not a list of {\"column\": \"value\"} objects".to_owned())?;
    let mut event = Map::new();
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for cell in cells {
        let one: Map<String, Value> = serde_json::from_str(cell.get())
            .map_err(|_| "has a cell that is not a {\"column\": \"value\"} object".to_owned())?;
        // A cell names one column; the raw text finds where its value is.
        let raws: std::collections::BTreeMap<String, &RawValue> =
            serde_json::from_str(cell.get()).unwrap_or_default();
        for (column, value) in one {
            let at = raws
                .get(&column)
                .map_or(offset(text, cell.get()), |r| offset(text, r.get()));
            let name = spelled(TOP, &column).map_or(column.clone(), str::to_owned);
            columns.push(name.clone());
            let Value::String(s) = value else {
                if !value.is_null() {
                    event.insert(name, value);
                }
                continue;
            };
            match convert(&name, &s) {
                Ok(Some(v)) => {
                    event.insert(name, v);
                }
                Ok(None) => {}
                Err(why) => problems.push((
                    at,
                    format!(
                        "its `{column}` value is not Lake's {why}; the event was read without it"
                    ),
                )),
            }
        }
    }
    let is_event = ["eventSource", "eventName", "eventTime"]
        .iter()
        .all(|f| event.get(*f).is_some_and(Value::is_string));
    Ok(Row {
        event: is_event.then(|| Value::Object(event).to_string()),
        problems,
        columns,
    })
}

fn offset(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// One column's value as the record has it; `None` for null.
fn convert(name: &str, s: &str) -> Result<Option<Value>, String> {
    if s == "null" || s.is_empty() {
        return Ok(None);
    }
    // Some exports (and Athena's CloudTrail table) write these columns as JSON: Lake's own
    // text never quotes a name, so `{"` or `[{"` is JSON.
    if (MAPS.contains(&name) || STRUCTS.contains(&name))
        && (s.starts_with("{\"") || s.starts_with("[{\""))
        && let Ok(v) = serde_json::from_str::<Value>(s)
    {
        return Ok(Some(v));
    }
    if MAPS.contains(&name) {
        return Parser::new(s, false)
            .whole()
            .map(Some)
            .map_err(|e| format!("`{{name=value, ...}}` text ({e})"));
    }
    if STRUCTS.contains(&name) {
        return Parser::new(s, true)
            .whole()
            .map(|v| (!v.is_null()).then_some(v))
            .map_err(|e| format!("`{{name=value, ...}}` text ({e})"));
    }
    Ok(Some(match name {
        "eventTime" => Value::String(timestamp(s)),
        "readOnly" | "managementEvent" if s == "true" || s == "false" => Value::Bool(s == "true"),
        _ => Value::String(s.to_owned()),
    }))
}

/// `2024-06-01 10:00:00.000` as CloudTrail writes it, `2024-06-01T10:00:00Z`; anything else
/// as it is.
fn timestamp(s: &str) -> String {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (b.len() == 19 || (b[19] == b'.' && b.len() > 20 && digits(20..b.len())))
    {
        format!("{}T{}Z", &s[..10], &s[11..19])
    } else {
        s.to_owned()
    }
}

/// How deep Lake text may nest (serde_json's own limit for JSON).
const MAX_DEPTH: usize = 128;

/// Lake's `{name=value, ...}` / `[value, ...]` text. `structs`: names are the schema's,
/// lowercased (spelled back), and null fields are left out; else names are kept and values
/// are text or JSON.
struct Parser<'a> {
    s: &'a str,
    at: usize,
    structs: bool,
}

impl<'a> Parser<'a> {
    fn new(s: &'a str, structs: bool) -> Self {
        Parser { s, at: 0, structs }
    }

    /// The whole text as one value: a container, then nothing.
    fn whole(mut self) -> Result<Value, String> {
        let v = match self.s.as_bytes().first() {
            Some(b'{') => self.object(0)?,
            Some(b'[') => self.list(0)?,
            _ => return Err("no `{` or `[` at the start".to_owned()),
        };
        if self.at != self.s.len() {
            return Err(format!(
                "unexpected text at character {}",
                self.s[..self.at].chars().count() + 1
            ));
        }
        Ok(v)
    }

    fn rest(&self) -> &'a str {
        &self.s[self.at..]
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.at += 1; // `{`
        let mut map = Map::new();
        if self.rest().starts_with('}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            let eq = self
                .rest()
                .find('=')
                .ok_or_else(|| "a name without `=`".to_owned())?;
            let raw_name = &self.rest()[..eq];
            if raw_name.is_empty() || !raw_name.bytes().all(name_byte) {
                return Err(format!("`{raw_name}` is not a name"));
            }
            let name = if self.structs {
                spelled(STRUCT_FIELDS, raw_name).map_or(raw_name.to_owned(), |n| {
                    // `resources[].ARN`: the one name the record spells upper case.
                    if n == "arn" && depth == 1 && self.s.starts_with('[') {
                        "ARN".to_owned()
                    } else {
                        n.to_owned()
                    }
                })
            } else {
                raw_name.to_owned()
            };
            self.at += eq + 1;
            let value = self.value(depth + 1, b'}')?;
            let keep = !(self.structs && value.is_null());
            if keep {
                map.insert(name, value);
            }
            if self.rest().starts_with(", ") {
                self.at += 2;
            } else if self.rest().starts_with('}') {
                self.at += 1;
                return Ok(Value::Object(map));
            } else {
                return Err("a value not followed by `, ` or `}`".to_owned());
            }
        }
    }

    fn list(&mut self, depth: usize) -> Result<Value, String> {
        self.at += 1; // `[`
        let mut items = Vec::new();
        if self.rest().starts_with(']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth + 1, b']')?);
            if self.rest().starts_with(", ") {
                self.at += 2;
            } else if self.rest().starts_with(']') {
                self.at += 1;
                return Ok(Value::Array(items));
            } else {
                return Err("an item not followed by `, ` or `]`".to_owned());
            }
        }
    }

    /// A value inside a container that `close` ends.
    fn value(&mut self, depth: usize, close: u8) -> Result<Value, String> {
        // As deep as serde_json goes: hostile nesting is an error, not a stack overflow.
        if depth > MAX_DEPTH {
            return Err(format!("nested deeper than {MAX_DEPTH} levels"));
        }
        let rest = self.rest();
        if let Some(open @ (b'{' | b'[')) = rest.bytes().next() {
            // JSON text (a map's nested value), or Lake's own nesting (a struct's).
            if let Some(len) = super::sniff::bracketed(rest.as_bytes()) {
                let candidate = &rest[..len];
                let follows = &rest[len..];
                if follows.is_empty() || follows.starts_with(", ") || follows.as_bytes()[0] == close
                {
                    if !self.structs
                        && let Ok(v) = serde_json::from_str::<Value>(candidate)
                    {
                        self.at += len;
                        return Ok(v);
                    }
                    return if open == b'{' {
                        self.object(depth)
                    } else {
                        self.list(depth)
                    };
                }
            }
        }
        // A plain value: up to `, name=` (inside an object) or `, ` (inside a list), or the
        // closing bracket.
        let bytes = rest.as_bytes();
        let mut end = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            if b == close {
                end = i;
                break;
            }
            if b == b',' && bytes.get(i + 1) == Some(&b' ') {
                let after = &bytes[i + 2..];
                let name_len = after.iter().take_while(|&&c| name_byte(c)).count();
                if close == b']' || (name_len > 0 && after.get(name_len) == Some(&b'=')) {
                    end = i;
                    break;
                }
            }
        }
        let text = &rest[..end];
        self.at += end;
        Ok(if text == "null" {
            Value::Null
        } else if self.structs {
            // Struct timestamps (`creationDate`) are written like `eventTime`.
            Value::String(timestamp(text))
        } else {
            Value::String(text.to_owned())
        })
    }
}

fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-' | b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(text: &str) -> Value {
        let r = row(text).unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        serde_json::from_str(&r.event.unwrap()).unwrap()
    }

    #[test]
    fn a_row_becomes_the_record() {
        let text = r#"[{"eventversion": "1.09"}, {"useridentity": "{type=AssumedRole, principalid=AROA1:fn, arn=arn:aws:sts::1:assumed-role/r/fn, accountid=1, accesskeyid=ASIA1, username=null, sessioncontext={attributes={creationdate=2024-06-01 10:00:01.000, mfaauthenticated=false}, sessionissuer={type=Role, principalid=AROA1, arn=arn:aws:iam::1:role/r, accountid=1, username=r}, webidfederationdata=null}, invokedby=null}"}, {"eventTime": "2024-06-01 10:00:01.000"}, {"eventsource": "kms.amazonaws.com"}, {"eventname": "Decrypt"}, {"requestparameters": "{encryptionContext={\"aws:lambda:FunctionArn\":\"arn:aws:lambda:eu-west-1:1:function:fn\"}, encryptionAlgorithm=SYMMETRIC_DEFAULT, durationSeconds=3600, grantTokens=null}"}, {"responseelements": null}, {"readonly": "true"}, {"resources": "[{accountid=1, type=AWS::KMS::Key, arn=arn:aws:kms:eu-west-1:1:key/k}]"}]"#;
        let ev = event(text);
        assert_eq!(
            ev,
            serde_json::json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "AssumedRole", "principalId": "AROA1:fn",
                    "arn": "arn:aws:sts::1:assumed-role/r/fn", "accountId": "1", "accessKeyId": "ASIA1",
                    "sessionContext": {"attributes": {"creationDate": "2024-06-01T10:00:01Z", "mfaAuthenticated": "false"},
                        "sessionIssuer": {"type": "Role", "principalId": "AROA1", "arn": "arn:aws:iam::1:role/r", "accountId": "1", "userName": "r"}}},
                "eventTime": "2024-06-01T10:00:01Z",
                "eventSource": "kms.amazonaws.com",
                "eventName": "Decrypt",
                "requestParameters": {"encryptionContext": {"aws:lambda:FunctionArn": "arn:aws:lambda:eu-west-1:1:function:fn"},
                    "encryptionAlgorithm": "SYMMETRIC_DEFAULT", "durationSeconds": "3600", "grantTokens": null},
                "readOnly": true,
                "resources": [{"accountId": "1", "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:eu-west-1:1:key/k"}],
            })
        );
    }

    #[test]
    fn separators_inside_values() {
        // A comma not followed by a name, `=` and brackets in JSON strings: read as written.
        let ev = event(
            r#"[{"eventsource": "s3.amazonaws.com"}, {"eventname": "PutObject"}, {"eventtime": "2024-06-01T10:00:00Z"}, {"useragent": "[aws-cli/2.1, botocore=1]"}, {"requestparameters": "{key=a, b.txt, policy={\"x\":\"}, y=[\"}, tag=k=v}"}]"#,
        );
        assert_eq!(ev["userAgent"], "[aws-cli/2.1, botocore=1]");
        assert_eq!(
            ev["requestParameters"],
            serde_json::json!({"key": "a, b.txt", "policy": {"x": "}, y=["}, "tag": "k=v"})
        );
        assert_eq!(ev["eventTime"], "2024-06-01T10:00:00Z");
        // Maps written as JSON, struct fields in another order, ISO timestamps: as Athena's
        // CloudTrail table gives them.
        let ev = event(
            r#"[{"eventsource": "ec2.amazonaws.com"}, {"eventname": "RunInstances"}, {"eventtime": "2024-06-01T10:00:00Z"}, {"useridentity": "{type=AssumedRole, principalid=AROA1:run-01, invokedby=null, accesskeyid=ASIA1, sessioncontext={attributes={mfaauthenticated=false, creationdate=2024-06-01T09:00:00Z}}}"}, {"requestparameters": "{\"instancesSet\":{\"items\":[{\"imageId\":\"ami-1\"}]}}"}]"#,
        );
        assert_eq!(
            ev["requestParameters"]["instancesSet"]["items"][0]["imageId"],
            "ami-1"
        );
        assert_eq!(
            ev["userIdentity"]["sessionContext"]["attributes"]["creationDate"],
            "2024-06-01T09:00:00Z"
        );
        assert!(ev["userIdentity"].get("invokedBy").is_none());
    }

    #[test]
    fn what_cannot_be_read_is_named_and_rows_without_the_three_columns_are_no_events() {
        let text = r#"[{"eventsource": "kms.amazonaws.com"}, {"eventname": "Decrypt"}, {"eventtime": "2024-06-01 10:00:00.000"}, {"useridentity": "{type=IAMUser, arn=x} trailing"}]"#;
        let r = row(text).unwrap();
        assert!(r.event.is_some());
        assert_eq!(r.problems.len(), 1);
        let (at, why) = &r.problems[0];
        assert!(
            text[*at..].starts_with("\"{type=IAMUser"),
            "{}",
            &text[*at..]
        );
        assert!(why.contains("`useridentity`"), "{why}");
        let deep = format!(
            r#"[{{"eventsource": "s3.amazonaws.com"}}, {{"eventname": "GetObject"}}, {{"eventtime": "t"}}, {{"useridentity": "{}{}"}}]"#,
            "{a=".repeat(2_000),
            "}".repeat(2_000)
        );
        let r = row(&deep).unwrap();
        assert!(
            r.problems[0].1.contains("nested deeper than 128"),
            "{:?}",
            r.problems
        );
        let r = row(r#"[{"eventname": "Decrypt"}, {"count": "3"}]"#).unwrap();
        assert!(r.event.is_none());
        assert_eq!(r.columns, ["eventName", "count"]);
        assert!(row(r#"[1, 2]"#).is_err());
        assert!(row(r#"{"a": 1}"#).is_err());
    }
}
