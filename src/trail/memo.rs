//! Verdicts reused across events that look the same to the rules.
//!
//! Lambda decrypts the same variables with the same key under the same role thousands of times
//! a day, and its events differ only in fields no rule reads (`eventID`, `eventTime`,
//! `requestID`, the access key, the host's address, the SDK's version). A rule that declares the
//! top-level event fields it reads (`custom.reads`) sees only those in `input.event`; the rest
//! of its input is `input.resolved`, which atrest derives from the event, and `facts` and
//! `inventory`, which are the same for every event of phase two. So the key is the rules, the
//! text of the fields they read, and `resolved` as JSON: two events with the same key have the
//! same input, and get the same verdicts, exactly.
//!
//! `resolved` holds classes of the caller (`agent`: aws-internal, AWS service, console, SDK or
//! CLI, other; `address`: AWS service, AWS internal, private, public), which is what rules decide
//! on, not the raw `userAgent` and `sourceIPAddress`: those vary per host and SDK version and
//! would make every key new. The raw values reach a finding after the memo, through its
//! evidence (principal, address and agent of each event). Only where a message must quote them
//! (ATR-C001's "the function's credentials are used outside Lambda", `resolved.lambda.why`) do
//! they enter `resolved`, and with it the key: a rare event, and a message that must not be
//! another event's.
//!
//! Measured on the bench corpus (`ATREST_BENCH_EVENTS=100000 cargo bench --bench cloudtrail`:
//! 3,115 candidates, 145 findings, two workers), old and new bench binaries alternately, three
//! runs each, on 2026-12-08 (debug builds: the release builds could not finish on the shared
//! machine in time; CPU seconds):
//! - verdicts reused: 3 of 3,115 with the key on the raw fields `resolved` is derived from,
//!   1,439-1,440 (46 %) with this key; the same findings;
//! - phase two: 1.47, 1.51, 1.37 s before, 1.36, 1.12, 1.11 s after (~470 -> ~360 us a
//!   candidate in a debug build);
//! - whole CloudTrail pipeline against the floor (inflate and split): 2.90x, 2.45x, 2.68x
//!   before, 2.89x, 2.81x, 2.70x after: phase one dominates a debug build and its noise hides
//!   the difference; a release comparison is still to be made.

use super::rego_value::Converter;
use crate::engine::{EventVerdict, Rule};
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Verdict lists kept per worker; when full, the table starts over, so it follows what the
/// logs repeat now.
const MAX_ENTRIES: usize = 4096;
/// Keys longer than this (large policies in `requestParameters`) are not kept.
const MAX_KEY_LEN: usize = 64 * 1024;

/// How the rules routed to an event are evaluated, worked out once per routed set.
pub struct Plan {
    /// Rules that declare `reads`: they see only those fields, and their verdicts are reused.
    pub declared: Vec<usize>,
    /// Rules that see the whole event, evaluated on every event.
    pub whole: Vec<usize>,
    /// The fields the declared rules read, sorted: what they see as `input.event`, and part of
    /// the key.
    pub key_fields: Vec<String>,
}

impl Plan {
    pub fn new(routed: &[usize], rules: &[Rule]) -> Plan {
        let (declared, whole): (Vec<usize>, Vec<usize>) =
            routed.iter().partition(|&&r| rules[r].reads.is_some());
        let mut key_fields: Vec<String> = declared
            .iter()
            .flat_map(|&r| rules[r].reads.iter().flatten().cloned())
            .collect();
        key_fields.sort_unstable();
        key_fields.dedup();
        Plan {
            declared,
            whole,
            key_fields,
        }
    }

    /// What the declared rules see as `input.event`: the fields they read, from their text.
    pub fn event(
        &self,
        fields: &[Option<&str>],
        converter: &mut Converter,
    ) -> Result<regorus::Value, serde_json::Error> {
        let mut event = std::collections::BTreeMap::new();
        for (name, raw) in self.key_fields.iter().zip(fields) {
            if let Some(raw) = raw {
                event.insert(converter.string(name), converter.convert(raw)?);
            }
        }
        Ok(regorus::Value::from(event))
    }
}

/// The raw text of each of `plan.key_fields` in `text` (`None` where absent; the last of
/// duplicate keys wins, as in the event's Rego value).
pub fn fields<'t>(text: &'t str, plan: &Plan) -> Result<Vec<Option<&'t str>>, serde_json::Error> {
    let mut out = vec![None; plan.key_fields.len()];
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(Fields {
        plan,
        out: &mut out,
    })?;
    de.end()?;
    Ok(out)
}

struct Fields<'p, 'o, 't> {
    plan: &'p Plan,
    out: &'o mut Vec<Option<&'t str>>,
}

impl<'de: 't, 't> Visitor<'de> for Fields<'_, '_, 't> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an event object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(slot) = map.next_key_seed(FieldName(self.plan))? {
            match slot {
                Some(i) => {
                    let raw: &'de serde_json::value::RawValue = map.next_value()?;
                    self.out[i] = Some(raw.get());
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// A key's position in the plan's fields, without allocating.
struct FieldName<'p>(&'p Plan);

impl<'de> DeserializeSeed<'de> for FieldName<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for FieldName<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.key_fields.iter().position(|f| *f == v))
    }
}

/// The key of an event for a rule set: the rules, each read field's text, then what atrest
/// resolved for the event (`input.resolved`).
pub fn key(rules: &[usize], fields: &[Option<&str>], resolved: &serde_json::Value) -> Vec<u8> {
    let mut k =
        Vec::with_capacity(512 + fields.iter().flatten().map(|f| f.len() + 1).sum::<usize>());
    for r in rules {
        k.extend_from_slice(&(*r as u32).to_le_bytes());
    }
    // JSON text never holds a raw 0x00 or 0x01: they separate fields and mark an absent one.
    for f in fields {
        k.push(0);
        match f {
            Some(text) => k.extend_from_slice(text.as_bytes()),
            None => k.push(1),
        }
    }
    k.push(0);
    serde_json::to_writer(&mut k, resolved).expect("a JSON value serializes");
    k
}

/// Verdicts by key, per worker (hit rates: see the module's note).
#[derive(Default)]
pub struct Memo {
    verdicts: FastMap<Vec<u8>, Vec<(usize, EventVerdict)>>,
    plans: FastMap<Vec<usize>, std::sync::Arc<Plan>>,
    /// Lookups that found verdicts.
    pub hits: u64,
}

impl Memo {
    /// The plan of a routed rule set, made the first time the set is seen.
    pub fn plan(&mut self, routed: &[usize], rules: &[Rule]) -> std::sync::Arc<Plan> {
        if let Some(p) = self.plans.get(routed) {
            return p.clone();
        }
        let plan = std::sync::Arc::new(Plan::new(routed, rules));
        self.plans.insert(routed.to_vec(), plan.clone());
        plan
    }

    pub fn get(&mut self, key: &[u8]) -> Option<&Vec<(usize, EventVerdict)>> {
        let found = self.verdicts.get(key);
        self.hits += u64::from(found.is_some());
        found
    }

    pub fn keep(&mut self, key: Vec<u8>, verdicts: Vec<(usize, EventVerdict)>) {
        if key.len() > MAX_KEY_LEN {
            return;
        }
        if self.verdicts.len() >= MAX_ENTRIES {
            self.verdicts.clear();
        }
        self.verdicts.insert(key, verdicts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_that_differ_only_elsewhere_share_a_key() {
        let rule = |reads: Option<&[&str]>| {
            let mut r = crate::engine::metadata::parse(
                "r.rego",
                "# METADATA\n# title: T\n# custom:\n#   id: C-1\n#   severity: low\n#   routes:\n#     - source: kms.amazonaws.com\n#       names: [Decrypt]\npackage r\n",
            )
            .unwrap()
            .unwrap();
            r.reads = reads.map(|f| f.iter().map(|s| s.to_string()).collect());
            r
        };
        let rules = [rule(Some(&["userAgent", "eventName"])), rule(None)];
        let plan = Plan::new(&[0, 1], &rules);
        assert_eq!(
            (plan.declared.as_slice(), plan.whole.as_slice()),
            (&[0][..], &[1][..])
        );
        assert_eq!(plan.key_fields, ["eventName", "userAgent"]);
        let a = r#"{"eventID": "1", "eventTime": "t1", "eventName": "Decrypt", "userAgent": "x", "sourceIPAddress": "203.0.113.1"}"#;
        let b = r#"{"eventName": "Decrypt", "eventID": "2", "eventTime": "t2", "userAgent": "x", "sourceIPAddress": "198.51.100.7"}"#;
        let c = r#"{"eventName": "Decrypt", "eventID": "2", "userAgent": "y"}"#;
        let resolved = serde_json::json!({"agent": "sdk", "address": "public"});
        let k = |t: &str, rules: &[usize], r: &serde_json::Value| {
            key(rules, &fields(t, &plan).unwrap(), r)
        };
        let private = serde_json::json!({"agent": "sdk", "address": "private"});
        let base = k(a, &[1], &resolved);
        let others = [
            (k(b, &[1], &resolved), true, "a field no rule reads"),
            (k(c, &[1], &resolved), false, "a field the rules read"),
            (k(a, &[1], &private), false, "what atrest resolved"),
            (k(a, &[2], &resolved), false, "another rule set"),
        ];
        for (other, same, why) in others {
            assert_eq!(other == base, same, "{why}");
        }
        // The last of duplicate keys wins, as in the Rego value.
        let dup = r#"{"userAgent": "y", "eventName": "Decrypt", "userAgent": "x"}"#;
        assert_eq!(k(dup, &[1], &resolved), k(b, &[1], &resolved));
        assert!(fields(r#"{"a": "#, &plan).is_err());
    }

    #[test]
    fn the_table_starts_over_when_full() {
        let mut m = Memo::default();
        for i in 0..MAX_ENTRIES + 10 {
            m.keep(i.to_le_bytes().to_vec(), Vec::new());
        }
        assert!(m.verdicts.len() <= MAX_ENTRIES);
        assert!(m.get(&(MAX_ENTRIES + 9).to_le_bytes()).is_some());
        m.keep(vec![0; MAX_KEY_LEN + 1], Vec::new());
        assert!(m.get(&[0; MAX_KEY_LEN + 1]).is_none());
    }
}
