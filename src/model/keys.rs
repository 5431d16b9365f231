//! "Is it really a customer managed key?" The answer for one key reference, with the chain of
//! steps that led to it so a reviewer can check it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// No key set, or an empty string: Lambda uses its AWS managed key.
    Absent,
    /// An AWS managed key (`alias/aws/*`).
    AwsManaged,
    /// A customer managed key: declared in the input, or a literal that nothing says otherwise of.
    CustomerManaged,
    /// Cannot be decided statically.
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRef {
    pub state: KeyState,
    /// The key as written or resolved (ARN, key id or alias) where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Id of the `kms_keys` object this resolves to, where it is in the inventory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Customer managed only by assumption: a literal that no input describes.
    pub assumed: bool,
    /// How the reference was resolved, outermost first (`KmsKeyArn`, `!Ref P`, `default "..."`).
    pub chain: Vec<String>,
}

impl KeyRef {
    pub fn absent(chain: Vec<String>) -> Self {
        KeyRef {
            state: KeyState::Absent,
            value: None,
            key: None,
            assumed: false,
            chain,
        }
    }

    pub fn unknown(chain: Vec<String>) -> Self {
        KeyRef {
            state: KeyState::Unknown,
            ..KeyRef::absent(chain)
        }
    }

    /// A reference that is one of `options` (the branches of a condition): decided where they
    /// all agree, else unknown. `chain` leads to the choice.
    pub fn one_of(mut chain: Vec<String>, options: Vec<KeyRef>) -> Self {
        let Some(first) = options.first().cloned() else {
            chain.push("no branch".into());
            return KeyRef::unknown(chain);
        };
        if options
            .iter()
            .all(|r| r.state == first.state && r.key == first.key)
        {
            chain.push(format!("every branch: {}", first.chain.join(" <- ")));
            KeyRef { chain, ..first }
        } else {
            let states: Vec<String> = options.iter().map(|r| format!("{:?}", r.state)).collect();
            let not_customer_managed =
                |r: &KeyRef| matches!(r.state, KeyState::Absent | KeyState::AwsManaged);
            if options.iter().all(not_customer_managed) {
                // No key in one branch, an AWS managed one in another: whichever the condition
                // picks, the data is not under a customer managed key.
                let worst = options
                    .iter()
                    .find(|r| r.state == KeyState::AwsManaged)
                    .unwrap_or(&first)
                    .clone();
                chain.push(format!(
                    "no branch has a customer managed key ({})",
                    states.join(" / ")
                ));
                return KeyRef { chain, ..worst };
            }
            chain.push(format!("branches differ ({})", states.join(" / ")));
            KeyRef::unknown(chain)
        }
    }

    /// Classifies a literal key reference that no declared key or alias matched.
    pub fn from_literal(text: &str, mut chain: Vec<String>) -> Self {
        // `{{resolve:ssm:...}}`: CloudFormation reads the value at deploy time, so the template
        // cannot show which key it is.
        if text.contains("{{resolve:") {
            chain.push("a dynamic reference, read at deploy time".to_owned());
            return KeyRef::unknown(chain);
        }
        let state = if text.is_empty() {
            KeyState::Absent
        } else if is_aws_managed_alias(text) {
            KeyState::AwsManaged
        } else {
            KeyState::CustomerManaged
        };
        KeyRef {
            state,
            value: (!text.is_empty()).then(|| text.to_owned()),
            key: None,
            assumed: state == KeyState::CustomerManaged,
            chain,
        }
    }
}

/// `alias/aws/lambda`, `arn:aws:kms:us-east-1:111122223333:alias/aws/lambda`, and every other
/// `alias/aws/*`: AWS reserves that prefix for its managed keys.
pub fn is_aws_managed_alias(text: &str) -> bool {
    text.starts_with("alias/aws/") || text.contains(":alias/aws/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_managed_aliases_are_recognised_in_every_form() {
        assert!(is_aws_managed_alias("alias/aws/lambda"));
        assert!(is_aws_managed_alias(
            "arn:aws:kms:eu-west-1:111122223333:alias/aws/lambda"
        ));
        assert!(is_aws_managed_alias(
            "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/sqs"
        ));
        assert!(!is_aws_managed_alias("alias/awsome"));
        assert!(!is_aws_managed_alias(
            "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        ));
    }

    #[test]
    fn branches_without_a_customer_managed_key_fail_whichever_is_taken() {
        let lit = |t: &str| KeyRef::from_literal(t, vec![format!("{t:?}")]);
        let k = KeyRef::one_of(
            vec!["KmsKeyArn".into(), "!If C".into()],
            vec![lit("alias/aws/lambda"), lit("")],
        );
        assert_eq!(k.state, KeyState::AwsManaged);
        assert_eq!(k.value.as_deref(), Some("alias/aws/lambda"));
        assert_eq!(
            k.chain.last().unwrap(),
            "no branch has a customer managed key (AwsManaged / Absent)"
        );
        // A customer managed key in one branch, or a branch not known: not decided.
        let cmk = "arn:aws:kms:eu-west-1:1:key/abc";
        let k = KeyRef::one_of(vec![], vec![lit(cmk), lit("")]);
        assert_eq!(k.state, KeyState::Unknown);
        let k = KeyRef::one_of(vec![], vec![lit(""), KeyRef::unknown(vec![])]);
        assert_eq!(k.state, KeyState::Unknown);
    }

    #[test]
    fn dynamic_references_are_unknown() {
        let k = KeyRef::from_literal("{{resolve:ssm:/orders/key-arn}}", vec!["KmsKeyArn".into()]);
        assert_eq!(k.state, KeyState::Unknown);
        assert!(k.chain.last().unwrap().contains("dynamic reference"));
    }

    #[test]
    fn literals_are_customer_managed_by_assumption() {
        let k = KeyRef::from_literal("arn:aws:kms:eu-west-1:1:key/abc", vec![]);
        assert_eq!(k.state, KeyState::CustomerManaged);
        assert!(k.assumed);
        assert_eq!(KeyRef::from_literal("", vec![]).state, KeyState::Absent);
    }
}
