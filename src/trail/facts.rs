//! Facts: what the first phase learns from all the logs before any rule runs. Rules about
//! "a Lambda CMK" need the whole picture (the key may be used by Lambda in a file read after
//! the one where it is disabled), so the scan reads every log once for facts, then evaluates
//! with the merged facts. Facts are small, serializable, and merge by set union:
//! associative, commutative and idempotent, so shards can be merged in any order.

use super::event::{Detail, is_crypto_call, same_place};
pub use crate::finding::Facts;
use std::collections::BTreeSet;

impl Facts {
    /// Adds what one event shows.
    pub fn learn(&mut self, d: &Detail) {
        let Some(name) = d.name.get() else { return };
        if let Some((access_key, session)) = d.lambda_assume_role() {
            self.lambda_sessions
                .entry(access_key.to_owned())
                .or_default()
                .insert(session.to_owned());
            return;
        }
        let key = d.key_arn();
        if is_crypto_call(name)
            && d.has_lambda_context()
            && d.lambda_own()
            && let Some(k) = &key
        {
            let functions = self.lambda_keys.entry(k.clone()).or_default();
            if let Some(f) = d.context_value("aws:lambda:FunctionArn") {
                functions.insert(f.to_owned());
            }
        }
        if let Some(alias) = d.alias() {
            // CreateAlias and UpdateAlias name their target; `resources[]` also lists the
            // key the alias pointed to before, which it no longer does.
            let target = match name {
                "CreateAlias" | "UpdateAlias" => d
                    .request
                    .as_ref()
                    .and_then(|r| r.target_key_id.get())
                    .and_then(|t| d.qualify_key(t)),
                _ => key,
            };
            if let Some(k) = target.filter(|k| same_place(&alias, k)) {
                if alias.contains(":alias/aws/") || alias.starts_with("alias/aws/") {
                    self.aws_managed_keys.insert(k.clone());
                }
                self.aliases.entry(alias.clone()).or_default().insert(k);
            }
        }
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
            "resources":[{"type":"AWS::KMS::Key","ARN":"arn:aws:kms:r:1:alias/app"},{"type":"AWS::KMS::Key","ARN":"arn:aws:kms:r:1:key/k1"}]}"#,
        );
        // UpdateAlias records its target only: `resources[]` also lists the alias itself
        // (typed `AWS::KMS::Key`) and the key it pointed to before.
        let targets = alias.alias_targets("alias/app");
        assert_eq!(
            targets.into_iter().collect::<Vec<_>>(),
            vec!["arn:aws:kms:r:1:key/k2"]
        );
    }

    #[test]
    fn a_functions_own_session_teaches_its_key_and_lambdas_assume_role_its_access_key() {
        let init = |agent: &str| {
            learn(&format!(
                r#"{{"eventSource":"kms.amazonaws.com","eventName":"Decrypt","userAgent":"{agent}",
                "userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/role/fn","accessKeyId":"ASIA1"}},
                "requestParameters":{{"encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:r:1:function:fn"}}}},
                "resources":[{{"type":"AWS::KMS::Key","ARN":"arn:aws:kms:r:1:key/env"}}]}}"#
            ))
        };
        assert!(
            init("aws-internal/3 aws-sdk-java/1.12.720")
                .lambda_keys
                .contains_key("arn:aws:kms:r:1:key/env")
        );
        // The same session from a laptop is not Lambda's use.
        assert!(init("aws-cli/2.15.40").lambda_keys.is_empty());
        let assume = learn(
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},
            "requestParameters":{"roleArn":"arn:aws:iam::1:role/role","roleSessionName":"fn"},
            "responseElements":{"credentials":{"accessKeyId":"ASIA1","sessionToken":"t"}}}"#,
        );
        assert_eq!(
            assume
                .lambda_sessions
                .get("ASIA1")
                .map(|s| s.contains("fn")),
            Some(true)
        );
        // Someone else's AssumeRole teaches nothing.
        let other = learn(
            r#"{"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/u"},
            "sourceIPAddress":"198.51.100.1","requestParameters":{"roleArn":"arn:aws:iam::1:role/role","roleSessionName":"fn"},
            "responseElements":{"credentials":{"accessKeyId":"ASIA2"}}}"#,
        );
        assert!(other.lambda_sessions.is_empty());
    }

    #[test]
    fn an_alias_maps_to_keys_of_its_own_region_and_account_only() {
        // A key ARN of another region behind an alias named in eu-west-1: not its target.
        let f = learn(
            r#"{"eventName":"Decrypt","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
            "requestParameters":{"keyId":"alias/aws/lambda"},
            "resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/m"}]}"#,
        );
        assert!(f.aliases.is_empty() && f.aws_managed_keys.is_empty());
        let f = learn(
            r#"{"eventName":"Decrypt","awsRegion":"eu-west-1","recipientAccountId":"111122223333",
            "requestParameters":{"keyId":"alias/aws/lambda"},
            "resources":[{"ARN":"arn:aws:kms:eu-west-1:111122223333:key/m"}]}"#,
        );
        assert_eq!(
            f.aws_managed_keys.iter().collect::<Vec<_>>(),
            vec!["arn:aws:kms:eu-west-1:111122223333:key/m"]
        );
        // The alias of the same name in another region has no targets from this one.
        assert!(
            f.alias_targets("arn:aws:kms:us-east-1:111122223333:alias/aws/lambda")
                .is_empty()
        );
        assert_eq!(
            f.alias_targets("arn:aws:kms:eu-west-1:111122223333:alias/aws/lambda")
                .len(),
            1
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
