//! CloudTrail event text to a Rego value, for the rules.
//!
//! `regorus::Value::from_json_str` interns object keys for one document only and copies every
//! string twice (`String`, then `Arc<str>`). Events repeat the same keys and many of the same
//! values (`kms.amazonaws.com`, `AwsApiCall`, a handful of ARNs) across millions of records,
//! so one converter per worker keeps them: a repeated string costs a reference count, not an
//! allocation. The value built is the one regorus builds (same objects, arrays, numbers).

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::{BTreeMap, HashMap};
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use std::fmt;
use std::sync::Arc;

/// Strings longer than this are not kept: long values (policies, encoded contexts) rarely
/// repeat, and keeping them would only grow the table.
const MAX_KEPT_LEN: usize = 96;
/// The most strings kept; past it, new strings are converted without being kept.
const MAX_KEPT: usize = 16 * 1024;

/// A converter that remembers the strings it has seen. One per worker thread.
#[derive(Default)]
pub struct Converter {
    kept: FastMap<Box<str>, Arc<str>>,
}

impl Converter {
    /// The Rego value of JSON text (an event, or one of its fields); an error where the text is not JSON, or holds a number Rego
    /// cannot represent (not finite).
    pub fn convert(&mut self, text: &str) -> Result<regorus::Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let value = Seed(self).deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// A JSON tree (what atrest resolved for an event) as a Rego value, without a round trip
    /// through text or serde.
    pub fn from_json(&mut self, v: &serde_json::Value) -> regorus::Value {
        use serde_json::Value as J;
        match v {
            J::Null => regorus::Value::Null,
            J::Bool(b) => regorus::Value::from(*b),
            J::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                (Some(u), _, _) => regorus::Value::from(u),
                (None, Some(i), _) => regorus::Value::from(i),
                (None, None, Some(f)) if f.is_finite() => regorus::Value::from(f),
                _ => regorus::Value::Undefined,
            },
            J::String(s) => self.string(s),
            J::Array(items) => {
                regorus::Value::from(items.iter().map(|i| self.from_json(i)).collect::<Vec<_>>())
            }
            J::Object(map) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    let key = self.string(k);
                    out.insert(key, self.from_json(v));
                }
                regorus::Value::from(out)
            }
        }
    }

    /// A string value, shared with earlier ones of the same text.
    pub fn string(&mut self, s: &str) -> regorus::Value {
        if s.len() > MAX_KEPT_LEN {
            return regorus::Value::String(Arc::from(s));
        }
        if let Some(kept) = self.kept.get(s) {
            return regorus::Value::String(kept.clone());
        }
        let shared: Arc<str> = Arc::from(s);
        if self.kept.len() < MAX_KEPT {
            self.kept.insert(s.into(), shared.clone());
        }
        regorus::Value::String(shared)
    }
}

struct Seed<'c>(&'c mut Converter);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = regorus::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = regorus::Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(regorus::Value::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(regorus::Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(regorus::Value::from(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(regorus::Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // As regorus: a non-finite number has no Rego value.
        if !v.is_finite() {
            return Err(E::custom(format!(
                "invalid non-finite number in input: {v}"
            )));
        }
        Ok(regorus::Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.string(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(Seed(&mut *self.0))? {
            items.push(v);
        }
        Ok(regorus::Value::from(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key_seed(KeySeed(&mut *self.0))? {
            let value = map.next_value_seed(Seed(&mut *self.0))?;
            out.insert(key, value);
        }
        Ok(regorus::Value::from(out))
    }
}

/// Object keys: always strings in JSON.
struct KeySeed<'c>(&'c mut Converter);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = regorus::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = regorus::Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.string(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_is_the_one_regorus_builds() {
        let mut c = Converter::default();
        for text in [
            r#"{"eventSource": "kms.amazonaws.com", "n": [1, -2, 3.5, 1e300, 18446744073709551615], "t": true, "z": null, "o": {"a\"b": "\u00e9\n", "": {}}, "arr": []}"#,
            r#"[{"eventSource": "kms.amazonaws.com"}, "kms.amazonaws.com", 0]"#,
            r#""just a string""#,
            "12345678901234567890123",
        ] {
            let ours = c.convert(text).unwrap();
            let theirs = regorus::Value::from_json_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_json_str().unwrap(), theirs.to_json_str().unwrap());
        }
    }

    #[test]
    fn repeated_strings_share_one_allocation() {
        let mut c = Converter::default();
        let a = c
            .convert(r#"{"eventSource": "kms.amazonaws.com"}"#)
            .unwrap();
        let b = c
            .convert(r#"{"eventSource": "kms.amazonaws.com"}"#)
            .unwrap();
        let source = |v: &regorus::Value| match &v[&regorus::Value::from("eventSource")] {
            regorus::Value::String(s) => s.clone(),
            other => panic!("{other:?}"),
        };
        assert!(Arc::ptr_eq(&source(&a), &source(&b)));
    }

    #[test]
    fn json_trees_convert_as_their_text_does() {
        let mut c = Converter::default();
        let text = r#"{"key": {"arn": "arn:aws:kms:eu-west-1:1:key/k", "lambda_cmk": true}, "n": [1, -2, 2.5], "z": null}"#;
        let tree: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            c.from_json(&tree),
            regorus::Value::from_json_str(text).unwrap()
        );
    }

    #[test]
    fn broken_text_is_an_error() {
        let mut c = Converter::default();
        assert!(c.convert(r#"{"a": "#).is_err());
        assert!(c.convert(r#"{"a": 1} x"#).is_err());
    }
}
