//! Unit tests of the CloudFormation model.

use super::*;
use crate::read::{Limits, yaml};

fn inv(text: &str) -> Inventory {
    let doc = yaml::parse(text, &Limits::default()).unwrap();
    let sam = text.contains("Serverless");
    inventory(&FileId::from("t.yaml"), &doc.root, sam)
}

#[test]
fn ref_through_parameter_default_to_aws_managed_alias() {
    let i = inv(
        "Parameters:\n  KeyParam:\n    Type: String\n    Default: alias/aws/lambda\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Ref KeyParam\n",
    );
    let k = &i.functions[0].kms_key;
    assert_eq!(k.state, KeyState::AwsManaged);
    assert_eq!(
        k.chain.join(" <- "),
        "KmsKeyArn <- !Ref KeyParam <- default \"alias/aws/lambda\""
    );
}

#[test]
fn getatt_of_a_declared_key_is_customer_managed_and_linked() {
    let i = inv(
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !GetAtt Key.Arn\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::CustomerManaged);
    assert_eq!(i.functions[0].kms_key.key.as_deref(), Some("Key"));
    assert_eq!(i.kms_keys[0].used_by, vec!["Fn".to_string()]);
    assert_eq!(i.kms_keys[0].rotation_enabled, Tri::No);
}

#[test]
fn sub_with_pseudo_parameters_and_aws_alias() {
    let i = inv(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/aws/lambda'\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
}

#[test]
fn alias_resources_are_followed() {
    let i = inv(
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Alias:\n    Type: AWS::KMS::Alias\n    Properties:\n      AliasName: alias/app\n      TargetKeyId: !Ref Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Sub 'arn:aws:kms:${AWS::Region}:${AWS::AccountId}:alias/app'\n",
    );
    assert_eq!(i.functions[0].kms_key.key.as_deref(), Some("Key"));
}

#[test]
fn unknowns_stay_unknown() {
    let i = inv(
        "Parameters:\n  P:\n    Type: String\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !Ref P\n  G:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !ImportValue shared-key\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
    assert_eq!(i.functions[1].kms_key.state, KeyState::Unknown);
}

#[test]
fn if_with_agreeing_branches_is_decided() {
    let i = inv(
        "Resources:\n  Key:\n    Type: AWS::KMS::Key\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, !GetAtt Key.Arn, !Ref AWS::NoValue]\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
    let i = inv(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, alias/aws/lambda, '']\n",
    );
    // The AWS managed key or none: not a customer managed key whichever branch is taken.
    assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
    let i = inv(
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      KmsKeyArn: !If [C, alias/aws/lambda, arn:aws:kms:us-east-1:1:alias/aws/lambda]\n",
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
}

fn env_values(text: &str) -> Vec<Option<String>> {
    let i = inv(text);
    let env = i.functions[0].environment.as_ref().unwrap();
    env.variables.values().map(|v| v.value.clone()).collect()
}

#[test]
fn list_functions_over_literals_are_evaluated() {
    let vals = env_values(concat!(
        "Parameters:\n  Subnets:\n    Type: CommaDelimitedList\n    Default: 'a, b ,c'\n  Open:\n    Type: CommaDelimitedList\n",
        "  I:\n    Type: Number\n    Default: 2\n",
        "Mappings:\n  M:\n    K:\n      L: [x, y]\n",
        "Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Environment:\n        Variables:\n",
        "          A: !Select [1, !Split ['/', 'p/q/r']]\n",
        "          B: !Join ['+', !Ref Subnets]\n",
        "          C: !Select [!Ref I, !Ref Subnets]\n",
        "          D: !Length [1, 2, 3]\n",
        "          E: !ToJsonString {k: [1, true]}\n",
        "          F: !FindInMap [M, K, Z, {DefaultValue: dflt}]\n",
        "          G: !Join [',', !FindInMap [M, K, L]]\n",
        "          H: !Select [0, !Ref Open]\n",
        "          J: !Select [5, [a]]\n",
        "          K: {Fn::Length: !Split [',', !Ref AWS::Region]}\n",
    ));
    let want = [
        Some("q"),
        Some("a+b+c"),
        Some("c"),
        Some("3"),
        Some("{\"k\":[1,true]}"),
        Some("dflt"),
        Some("x,y"),
        None,
        None,
        None,
    ];
    assert_eq!(vals, want.map(|v| v.map(str::to_owned)));
}

#[test]
fn resources_made_by_loops_are_modelled_at_the_loop_body() {
    let i = inv(concat!(
        "Transform: AWS::LanguageExtensions\n",
        "Resources:\n",
        "  Fn::ForEach::Functions:\n",
        "    - Name\n",
        "    - [Orders, Billing]\n",
        "    - '${Name}Function':\n",
        "        Type: AWS::Lambda::Function\n",
        "        Properties:\n",
        "          KmsKeyArn: alias/aws/lambda\n",
        "          Environment:\n",
        "            Variables:\n",
        "              TABLE: !Sub '${Name}-table'\n",
    ));
    let ids: Vec<_> = i.functions.iter().map(|f| f.origin.id.as_str()).collect();
    assert_eq!(ids, ["OrdersFunction", "BillingFunction"]);
    let f = &i.functions[1];
    assert_eq!(f.kms_key.state, KeyState::AwsManaged);
    let env = f.environment.as_ref().unwrap();
    assert_eq!(
        env.variables["TABLE"].value.as_deref(),
        Some("Billing-table")
    );
    assert_eq!(f.origin.locations[""].span.start.line, 6);
    assert_eq!(f.origin.locations["environment"].span.start.line, 10);
}

#[test]
fn sam_globals_and_pull_events() {
    let i = inv(
        "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Environment:\n      Variables:\n        A: '1'\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Environment:\n        Variables:\n          B: '2'\n      Events:\n        Q:\n          Type: SQS\n          Properties:\n            Queue: arn:aws:sqs:us-east-1:1:q\n            FilterCriteria:\n              Filters:\n                - Pattern: '{\"body\": [1]}'\n",
    );
    let f = &i.functions[0];
    let env = f.environment.as_ref().unwrap();
    assert_eq!(env.variables.keys().collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(f.origin.locations["environment"].span.start.line, 11);
    let m = &i.event_source_mappings[0];
    assert_eq!(m.origin.id, "Fn.Events.Q");
    assert_eq!(m.filter_criteria, FilterCriteria::Present);
    assert_eq!(m.origin.locations["filter_criteria"].span.start.line, 19);
    assert_eq!(m.origin.locations[""].span.start.line, 15);
}
