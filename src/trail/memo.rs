//! Verdicts reused across events that look the same to the rules.
//!
//! Lambda decrypts the same variables with the same key under the same role thousands of times
//! a day, and its events differ only in fields no rule reads (`eventID`, `eventTime`,
//! `requestID`, ...). A rule that declares the top-level event fields it reads
//! (`custom.reads`) sees only those in `input.event`; everything else it reads is constant in
//! phase two (`facts`, `inventory`) or resolved from the fields [`Detail`] reads. So two events
//! that agree on both sets of fields get the same verdicts from the same rules, exactly: the
//! first is evaluated, the next ones reuse its verdicts.

use super::event::Detail;
use super::rego_value::Converter;
use crate::engine::{EventVerdict, Rule};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Verdict lists kept per worker; when full, the table starts over, so it follows what the
/// logs repeat now.
const MAX_ENTRIES: usize = 4096;
/// Keys longer than this (large policies in `requestParameters`) are not kept.
const MAX_KEY_LEN: usize = 64 * 1024;

/// The top-level fields [`Detail`] reads, and so everything atrest resolves for an event,
/// as serde's derive declares them: a field added to `Detail` is part of the key at once.
pub static DETAIL_FIELDS: LazyLock<&'static [&'static str]> =
    LazyLock::new(struct_fields::<Detail<'static>>);

/// The fields a derived `Deserialize` asks for, from its call to `deserialize_struct`.
fn struct_fields<'de, T: serde::Deserialize<'de>>() -> &'static [&'static str] {
    struct Recorder(Option<&'static [&'static str]>);
    #[derive(Debug)]
    struct Stop;
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("fields recorded")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<M: fmt::Display>(_: M) -> Self {
            Stop
        }
    }
    impl<'de> Deserializer<'de> for &mut Recorder {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut r = Recorder(None);
    let _ = T::deserialize(&mut r);
    r.0.expect("a struct with named fields")
}

/// How the rules routed to an event are evaluated, worked out once per routed set.
pub struct Plan {
    /// Rules that declare `reads`: they see only those fields, and their verdicts are reused.
    pub declared: Vec<usize>,
    /// Rules that see the whole event, evaluated on every event.
    pub whole: Vec<usize>,
    /// Fields of the key, sorted: the declared rules' `reads` and [`DETAIL_FIELDS`].
    pub key_fields: Vec<String>,
    /// Which of `key_fields` the declared rules see in `input.event`.
    pub visible: Vec<bool>,
}

impl Plan {
    pub fn new(routed: &[usize], rules: &[Rule]) -> Plan {
        let (declared, whole): (Vec<usize>, Vec<usize>) =
            routed.iter().partition(|&&r| rules[r].reads.is_some());
        let reads: Vec<&str> = declared
            .iter()
            .flat_map(|&r| rules[r].reads.iter().flatten().map(String::as_str))
            .collect();
        let mut key_fields: Vec<String> = DETAIL_FIELDS.iter().map(|f| f.to_string()).collect();
        key_fields.extend(reads.iter().map(|r| r.to_string()));
        key_fields.sort_unstable();
        key_fields.dedup();
        let visible = key_fields
            .iter()
            .map(|f| reads.contains(&f.as_str()))
            .collect();
        Plan {
            declared,
            whole,
            key_fields,
            visible,
        }
    }

    /// What the declared rules see as `input.event`: the fields they read, from their text.
    pub fn event(
        &self,
        fields: &[Option<&str>],
        converter: &mut Converter,
    ) -> Result<regorus::Value, serde_json::Error> {
        let mut event = std::collections::BTreeMap::new();
        for ((name, raw), visible) in self.key_fields.iter().zip(fields).zip(&self.visible) {
            if let (Some(raw), true) = (raw, visible) {
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

/// The key of an event for a rule set: the rules, then each key field's text.
pub fn key(rules: &[usize], fields: &[Option<&str>]) -> Vec<u8> {
    let mut k =
        Vec::with_capacity(64 + fields.iter().flatten().map(|f| f.len() + 1).sum::<usize>());
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
    k
}

/// Verdicts by key, per worker.
#[derive(Default)]
pub struct Memo {
    verdicts: FastMap<Vec<u8>, Vec<(usize, EventVerdict)>>,
    plans: FastMap<Vec<usize>, std::sync::Arc<Plan>>,
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

    pub fn get(&self, key: &[u8]) -> Option<&Vec<(usize, EventVerdict)>> {
        self.verdicts.get(key)
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
    fn the_detail_fields_are_the_ones_serde_reads() {
        let mut got = DETAIL_FIELDS.to_vec();
        got.sort_unstable();
        assert_eq!(
            got,
            [
                "awsRegion",
                "errorCode",
                "eventName",
                "eventSource",
                "recipientAccountId",
                "requestParameters",
                "resources",
                "responseElements",
                "sourceIPAddress",
                "userAgent",
                "userIdentity"
            ]
        );
    }

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
        assert!(plan.key_fields.iter().any(|f| f == "userAgent"));
        assert_eq!(
            plan.key_fields
                .iter()
                .zip(&plan.visible)
                .filter(|(_, v)| **v)
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>(),
            ["eventName", "userAgent"]
        );
        let a = r#"{"eventID": "1", "eventTime": "t1", "eventName": "Decrypt", "userAgent": "x", "requestParameters": {"keyId": "k"}}"#;
        let b = r#"{"eventName": "Decrypt", "eventID": "2", "eventTime": "t2", "userAgent": "x", "requestParameters": {"keyId": "k"}}"#;
        let c = r#"{"eventName": "Decrypt", "eventID": "2", "userAgent": "y", "requestParameters": {"keyId": "k"}}"#;
        let d = r#"{"eventName": "Decrypt", "userAgent": "x", "requestParameters": {"keyId": "k"}, "errorCode": "E"}"#;
        let k = |t: &str, rules: &[usize]| key(rules, &fields(t, &plan).unwrap());
        assert_eq!(k(a, &[1]), k(b, &[1]));
        assert_ne!(k(a, &[1]), k(c, &[1]), "a field the rules read");
        assert_ne!(k(a, &[1]), k(d, &[1]), "a field atrest resolves from");
        assert_ne!(k(a, &[1]), k(a, &[2]), "another rule set");
        // The last of duplicate keys wins, as in the Rego value.
        let dup = r#"{"userAgent": "y", "eventName": "Decrypt", "userAgent": "x", "requestParameters": {"keyId": "k"}}"#;
        assert_eq!(k(dup, &[1]), k(b, &[1]));
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
