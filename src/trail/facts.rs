//! Facts: what the first phase learns from all the logs before any rule runs. Rules about
//! "a Lambda CMK" need the whole picture (the key may be used by Lambda in a file read after
//! the one where it is disabled), so the scan reads every log once for facts, then evaluates
//! with the merged facts. Facts are small, serializable, and merge by set union:
//! associative, commutative and idempotent, so shards can be merged in any order.

use super::event::{Detail, LAMBDA_SERVICE, is_crypto_call};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Key ARN -> the functions (ARNs from the encryption context) Lambda used it for: keys
    /// seen in a Lambda-invoked KMS call that carries an `aws:lambda:` context.
    pub lambda_keys: BTreeMap<String, BTreeSet<String>>,
    /// Alias (ARN where the event says where it lives, else as written) -> key ARNs it was seen
    /// pointing to. An alias can move, so it can have several.
    pub aliases: BTreeMap<String, BTreeSet<String>>,
    /// Key ARNs seen behind an `alias/aws/*` alias: AWS managed keys.
    pub aws_managed_keys: BTreeSet<String>,
}

impl Facts {
    /// Adds what one event shows.
    pub fn learn(&mut self, d: &Detail) {
        let Some(name) = d.name.get() else { return };
        let key = d.key_arn();
        if is_crypto_call(name)
            && d.invoked_by() == Some(LAMBDA_SERVICE)
            && d.has_lambda_context()
            && let Some(k) = &key
        {
            let functions = self.lambda_keys.entry(k.clone()).or_default();
            if let Some(f) = d.context_value("aws:lambda:FunctionArn") {
                functions.insert(f.to_owned());
            }
        }
        if let Some(alias) = d.alias() {
            let target = match name {
                "CreateAlias" | "UpdateAlias" => d
                    .request
                    .as_ref()
                    .and_then(|r| r.target_key_id.get())
                    .and_then(|t| d.qualify_key(t)),
                _ => None,
            };
            for k in target.into_iter().chain(key) {
                if alias.contains(":alias/aws/") || alias.starts_with("alias/aws/") {
                    self.aws_managed_keys.insert(k.clone());
                }
                self.aliases.entry(alias.clone()).or_default().insert(k);
            }
        }
    }

    /// Set union. `a.merge(b)` then `merge(c)` equals any other order or grouping.
    pub fn merge(&mut self, other: Facts) {
        for (k, v) in other.lambda_keys {
            self.lambda_keys.entry(k).or_default().extend(v);
        }
        for (k, v) in other.aliases {
            self.aliases.entry(k).or_default().extend(v);
        }
        self.aws_managed_keys.extend(other.aws_managed_keys);
    }

    /// The keys an alias (name or ARN) was seen pointing to.
    pub fn alias_targets(&self, alias: &str) -> BTreeSet<&str> {
        let short = alias
            .rsplit_once(":alias/")
            .map(|(_, n)| format!("alias/{n}"));
        self.aliases
            .iter()
            .filter(|(a, _)| {
                *a == alias
                    || a.rsplit_once(":alias/")
                        .map(|(_, n)| format!("alias/{n}"))
                        .as_deref()
                        == Some(alias)
                    || short.as_deref() == Some(a.as_str())
            })
            .flat_map(|(_, keys)| keys.iter().map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learn(json: &str) -> Facts {
        let mut f = Facts::default();
        f.learn(&Detail::parse(json));
        f
    }

    #[test]
    fn lambda_keys_and_aliases_are_learned() {
        let lambda = learn(
            r#"{"eventName":"Decrypt","userIdentity":{"invokedBy":"lambda.amazonaws.com"},
            "requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"arn:aws:lambda:r:1:function:f"}},
            "resources":[{"type":"AWS::KMS::Key","ARN":"arn:aws:kms:r:1:key/k"}]}"#,
        );
        assert!(lambda.lambda_keys.contains_key("arn:aws:kms:r:1:key/k"));
        let not_lambda = learn(
            r#"{"eventName":"Decrypt","userIdentity":{"arn":"arn:aws:iam::1:user/u"},
            "requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"x"}},
            "resources":[{"ARN":"arn:aws:kms:r:1:key/k"}]}"#,
        );
        assert!(not_lambda.lambda_keys.is_empty());
        let alias = learn(
            r#"{"eventName":"UpdateAlias","awsRegion":"r","recipientAccountId":"1",
            "requestParameters":{"aliasName":"alias/app","targetKeyId":"k2"},
            "resources":[{"ARN":"arn:aws:kms:r:1:alias/app"},{"ARN":"arn:aws:kms:r:1:key/k1"}]}"#,
        );
        let targets = alias.alias_targets("alias/app");
        assert!(
            targets.contains("arn:aws:kms:r:1:key/k1")
                && targets.contains("arn:aws:kms:r:1:key/k2")
        );
    }

    #[test]
    fn merge_is_order_free() {
        let a = learn(
            r#"{"eventName":"Decrypt","userIdentity":{"invokedBy":"lambda.amazonaws.com"},"requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"f1"}},"resources":[{"ARN":"arn:aws:kms:r:1:key/a"}]}"#,
        );
        let b = learn(
            r#"{"eventName":"Decrypt","userIdentity":{"invokedBy":"lambda.amazonaws.com"},"requestParameters":{"encryptionContext":{"aws:lambda:FunctionArn":"f2"}},"resources":[{"ARN":"arn:aws:kms:r:1:key/a"}]}"#,
        );
        let c = learn(
            r#"{"eventName":"DescribeKey","awsRegion":"r","recipientAccountId":"1","requestParameters":{"keyId":"alias/aws/lambda"},"resources":[{"ARN":"arn:aws:kms:r:1:key/m"}]}"#,
        );
        let mut x = a.clone();
        x.merge(b.clone());
        x.merge(c.clone());
        let mut y = c.clone();
        y.merge(a.clone());
        y.merge(b);
        y.merge(a);
        assert_eq!(x, y);
        assert!(x.aws_managed_keys.contains("arn:aws:kms:r:1:key/m"));
        let json = serde_json::to_string(&x).unwrap();
        assert_eq!(serde_json::from_str::<Facts>(&json).unwrap(), x);
    }
}
