use super::*;
use crate::model::{FilterCriteria, KeyState};
use crate::read::{Limits, yaml};

fn inv(text: &str) -> Inventory {
    let doc = yaml::parse(text, &Limits::default()).unwrap();
    inventory(&FileId::from("serverless.yml"), &doc.root, &|_| None)
}

#[test]
fn names_follow_the_framework() {
    assert_eq!(normalized("hello-world_fn"), "HelloDashworldUnderscorefn");
    assert_eq!(alphanumeric("orders-queue.fifo"), "Ordersqueuefifo");
}

#[test]
fn provider_settings_apply_and_functions_override() {
    let i = inv("service: orders
provider:
  name: aws
  stage: ${opt:stage, 'prod'}
  kmsKeyArn: ${self:custom.key}
  tracing:
    lambda: true
  environment:
    TABLE: orders-${sls:stage}
    SHARED: a
custom:
  key: alias/aws/lambda
functions:
  api:
    handler: api.handler
    environment:
      SHARED: b
  worker:
    handler: worker.handler
    kmsKeyArn: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
    tracing: PassThrough
");
    let api = &i.functions[0];
    assert_eq!(api.origin.logical_id, "ApiLambdaFunction");
    assert_eq!(api.origin.source, "serverless");
    assert_eq!(api.name.as_deref(), Some("orders-prod-api"));
    assert_eq!(api.kms_key.state, KeyState::AwsManaged);
    assert_eq!(api.tracing_mode.as_deref(), Some("Active"));
    let env = api.environment.as_ref().unwrap();
    assert_eq!(env.variables["TABLE"].value.as_deref(), Some("orders-prod"));
    assert_eq!(env.variables["SHARED"].value.as_deref(), Some("b"));
    // The function's own `environment:` is where its variables are set.
    let at = &api.origin.locations["environment"];
    assert_eq!((at.span.start.line, at.span.start.col), (16, 5));
    assert_eq!(at.pointer, "/functions/api/environment");
    let key_at = &api.origin.locations["kms_key"];
    assert_eq!(key_at.pointer, "/provider/kmsKeyArn");
    let worker = &i.functions[1];
    assert_eq!(worker.kms_key.state, KeyState::CustomerManaged);
    assert_eq!(worker.tracing_mode.as_deref(), Some("PassThrough"));
    assert_eq!(worker.origin.locations["kms_key"].span.start.line, 20);
    // One generated log group per function, written by it.
    assert_eq!(i.log_groups.len(), 2);
    assert_eq!(i.log_groups[0].origin.logical_id, "ApiLogGroup");
    assert_eq!(
        i.log_groups[0].name.as_deref(),
        Some("/aws/lambda/orders-prod-api")
    );
    assert_eq!(i.log_groups[0].written_by, ["ApiLambdaFunction"]);
}

#[test]
fn pull_events_become_mappings_with_their_filters() {
    let i = inv(r#"service: s
provider:
  name: aws
functions:
  f:
    handler: h.h
    events:
      - http: GET /
      - sqs: arn:aws:sqs:eu-west-1:111122223333:orders
      - sqs:
          arn: !GetAtt Jobs.Arn
          filterPatterns:
            - body:
                status: [PAID]
      - stream:
          type: dynamodb
          arn: !GetAtt Table.StreamArn
          filterPatterns:
            - eventName: [INSERT]
      - stream: arn:aws:kinesis:eu-west-1:111122223333:stream/clicks
      - msk:
          arn: arn:aws:kafka:eu-west-1:111122223333:cluster/c/1
          topic: t
      - kafka:
          topic: t
          bootstrapServers: [a:9092]
          filterPatterns: ${ssm:/patterns}
      - rabbitmq:
          arn: arn:aws:mq:eu-west-1:111122223333:broker:b:1
          queue: q
"#);
    let m = &i.event_source_mappings;
    assert_eq!(m.len(), 7);
    let ids: Vec<&str> = m.iter().map(|m| m.origin.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "FEventSourceMappingSQSOrders",
            "FEventSourceMappingSQSJobs",
            "FEventSourceMappingDynamodbTable",
            "FEventSourceMappingKinesisClicks",
            "FEventSourceMappingMSK1",
            "FEventSourceMappingKafkaT",
            "FEventSourceMappingRabbitMQ1",
        ]
    );
    assert!(
        m.iter()
            .all(|m| m.function.as_deref() == Some("FLambdaFunction"))
    );
    assert_eq!(m[0].filter_criteria, FilterCriteria::Absent);
    assert_eq!(m[1].filter_criteria, FilterCriteria::Present);
    assert_eq!(m[1].filter_patterns, [r#"{"body":{"status":["PAID"]}}"#]);
    assert_eq!(m[1].origin.locations["filter_criteria"].span.start.line, 12);
    assert_eq!(m[1].origin.locations[""].span.start.line, 10);
    assert_eq!(m[2].event_source_type.as_deref(), Some("DynamoDB"));
    assert_eq!(m[3].event_source_type.as_deref(), Some("Kinesis"));
    assert_eq!(m[5].filter_criteria, FilterCriteria::Unknown);
    assert_eq!(m[5].event_source_type.as_deref(), Some("SelfManagedKafka"));
}

#[test]
fn resources_override_generated_resources() {
    let i = inv("service: s
provider:
  name: aws
functions:
  hello:
    handler: h.h
    environment:
      A: '1'
resources:
  Resources:
    LogsKey:
      Type: AWS::KMS::Key
      Properties:
        EnableKeyRotation: true
    HelloLogGroup:
      Properties:
        KmsKeyId: !GetAtt LogsKey.Arn
    HelloLambdaFunction:
      Properties:
        KmsKeyArn: !GetAtt LogsKey.Arn
");
    let lg = &i.log_groups[0];
    assert_eq!(lg.kms_key.state, KeyState::CustomerManaged);
    assert_eq!(lg.kms_key.key.as_deref(), Some("LogsKey"));
    assert_eq!(lg.origin.locations["kms_key"].span.start.line, 17);
    assert_eq!(
        lg.origin.locations["kms_key"].pointer,
        "/resources/Resources/HelloLogGroup/Properties/KmsKeyId"
    );
    assert_eq!(i.functions[0].kms_key.state, KeyState::CustomerManaged);
    assert_eq!(i.kms_keys[0].used_by.len(), 2);
}

#[test]
fn own_log_groups_and_disabled_logs_create_none() {
    let i = inv("service: s
provider:
  name: aws
  logs:
    lambda:
      logGroup: /shared/logs
functions:
  a:
    handler: h.h
  b:
    handler: h.h
    disableLogs: true
    logs:
      logGroup: ${env:GROUP}
");
    assert!(i.log_groups.is_empty());
    assert_eq!(i.functions[0].log_group.as_deref(), Some("/shared/logs"));
    assert_eq!(i.functions[1].log_group_resource, None);
    let i = inv("service: s
provider:
  name: aws
functions:
  a:
    handler: h.h
    logs:
      logGroupClass: infrequent_access
");
    assert_eq!(i.log_groups.len(), 2);
    assert_eq!(
        i.functions[0].log_group.as_deref(),
        Some("/aws/lambda/s-dev-a-ia")
    );
    assert!(i.log_groups[0].written_by.is_empty());
    assert_eq!(i.log_groups[1].written_by, ["ALambdaFunction"]);
}

#[test]
fn version_one_key_names_are_read() {
    let i = inv("service:
  name: s
  awsKmsKeyArn: alias/aws/lambda
provider:
  name: aws
  stage: ${env:STAGE}
functions:
  a:
    handler: h.h
  b:
    handler: h.h
    awsKmsKeyArn: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
");
    assert_eq!(i.functions[0].kms_key.state, KeyState::AwsManaged);
    assert_eq!(i.functions[1].kms_key.state, KeyState::CustomerManaged);
    // The stage is known only at deploy time, so the generated name is too.
    assert_eq!(i.functions[0].name, None);
    assert_eq!(i.log_groups[0].written_by, ["ALambdaFunction"]);
}

#[test]
fn deploy_time_values_are_unknown() {
    let i = inv("service: s
provider:
  name: aws
  kmsKeyArn: ${ssm:/keys/lambda}
  environment: ${file(./env.yml)}
functions:
  a:
    handler: h.h
    environment:
      SECRET: ${env:SECRET}
  b:
    handler: h.h
    kmsKeyArn: ${cf:infra-${sls:stage}.KeyArn}
");
    assert_eq!(i.functions[0].kms_key.state, KeyState::Unknown);
    assert!(
        i.functions[0]
            .environment
            .as_ref()
            .unwrap()
            .variables_unknown
    );
    assert_eq!(i.functions[1].kms_key.state, KeyState::Unknown);
    assert!(
        i.functions[1]
            .kms_key
            .chain
            .iter()
            .any(|c| c.contains("another stack"))
    );
}

#[test]
fn many_functions_events_and_overrides_stay_distinct() {
    let mut doc = String::from("service: s\nprovider:\n  name: aws\nfunctions:\n");
    for i in 0..2000 {
        doc.push_str(&format!(
            "  f{i}:\n    handler: h.h\n    events:\n      - sqs: arn:aws:sqs:us-east-1:1:q\n      - sqs: arn:aws:sqs:us-east-1:1:q\n"
        ));
    }
    doc.push_str("resources:\n  Resources:\n");
    for i in 0..2000 {
        doc.push_str(&format!("    F{i}LogGroup:\n      Properties:\n        KmsKeyId: arn:aws:kms:us-east-1:1:key/k\n"));
    }
    let i = inv(&doc);
    assert_eq!(i.functions.len(), 2000);
    let ids: std::collections::BTreeSet<&str> = i
        .event_source_mappings
        .iter()
        .map(|m| m.origin.id.as_str())
        .collect();
    assert_eq!(ids.len(), 4000);
    assert!(ids.contains("F7EventSourceMappingSQSQ2"));
    assert!(
        i.log_groups
            .iter()
            .all(|l| l.kms_key.state == KeyState::CustomerManaged)
    );
}

#[test]
fn odd_shapes_give_what_they_can_and_never_panic() {
    for doc in [
        "service: s\nprovider:\n  name: aws\nfunctions: 5\n",
        "service: s\nprovider:\n  name: aws\nfunctions:\n  f: x\n  g:\n    events: 3\n  h:\n    events:\n      - http\n      - sqs:\n      - sqs: {}\n      - stream: {type: 7}\n      - kafka: [1]\n",
        "service: [1]\nprovider:\n  name: aws\n  environment: [a]\n  tracing: 3\n  logs: x\nfunctions:\n  f:\n    environment: 7\n    logs: [1]\n    role: 5\n",
        "service: s\nprovider:\n  name: aws\nresources: 5\n",
        "service: s\nprovider:\n  name: aws\nresources:\n  - 1\n  - Resources: 2\n  - extensions: {X: 1, Y: {Properties: 2}}\n",
        "service: ${self:service}\nprovider:\n  name: aws\n  stage: ${sls:stage}\n  kmsKeyArn: ${file()}${file(}${:}${}${self:}${ , }\nfunctions:\n  'f-é':\n    handler: ${self:functions}\n",
    ] {
        let i = inv(doc);
        for f in &i.functions {
            assert!(f.origin.logical_id.ends_with("LambdaFunction"));
        }
    }
    let i = inv(
        "service: s\nprovider:\n  name: aws\nfunctions:\n  f:\n    handler: h\n    events:\n      - sqs: {}\n      - sqs:\n",
    );
    assert_eq!(i.event_source_mappings.len(), 2);
    assert!(
        i.event_source_mappings
            .iter()
            .all(|m| m.event_source_arn.is_none())
    );
}
