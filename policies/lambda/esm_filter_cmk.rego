# METADATA
# title: Event source mapping filter criteria are not encrypted with a customer managed key
# description: |
#   Lambda stores an event source mapping's filter criteria, which often contain field values
#   from the events themselves, encrypted at rest. Without a customer managed key (`KmsKeyArn`
#   absent, empty, or AWS managed), they are encrypted with a key the account does not control.
#   SAM pull events (SQS, Kinesis, DynamoDB, MSK, SelfManagedKafka, MQ, DocumentDB) create such
#   mappings.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filter-criteria-encryption
#     description: Encrypting filter criteria
# custom:
#   id: ATR-L002
#   severity: medium
#   security_severity: "5.5"
#   tags: [security, encryption, lambda, event-source-mapping]
#   remediation:
#     cloudformation: |
#       Set `KmsKeyArn` on the `AWS::Lambda::EventSourceMapping` to a customer managed key, e.g.
#       `KmsKeyArn: !GetAtt FilterKey.Arn`.
#     sam: |
#       Set `KmsKeyArn` in the event's `Properties`, next to `FilterCriteria`.
#     serverless: |
#       The framework has no setting for it: add `KmsKeyArn` to the mapping it generates, in
#       `resources.Resources.<Function>EventSourceMapping<Type><Source>.Properties` (the finding names it).
#     terraform: |
#       Set `kms_key_arn = aws_kms_key.filters.arn` on the `aws_lambda_event_source_mapping`.
#     cli: |
#       aws lambda update-event-source-mapping --uuid UUID --kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
package atrest.rules.lambda.esm_filter_cmk

import data.atrest.lib.keys
import rego.v1

deny contains finding if {
	some m in input.event_source_mappings
	m.filter_criteria in {"present", "encrypted"}
	m.kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": m.id,
		"property": "kms_key",
		"trigger": "filter_criteria",
		"message": sprintf("Event source mapping %s has filter criteria but %s.", [m.logical_id, keys.why_not(m.kms_key)]),
	}
}

deny contains finding if {
	some m in input.event_source_mappings
	m.filter_criteria in {"present", "encrypted"}
	m.kms_key.state == "unknown"
	finding := {
		"resource": m.id,
		"property": "kms_key",
		"trigger": "filter_criteria",
		"outcome": "unknown",
		"message": sprintf("Event source mapping %s has filter criteria and %s.", [m.logical_id, keys.why_not(m.kms_key)]),
	}
}

deny contains finding if {
	some m in input.event_source_mappings
	m.filter_criteria == "unknown"
	not m.kms_key.state == "customer_managed"
	finding := {
		"resource": m.id,
		"property": "filter_criteria",
		"outcome": "unknown",
		"message": sprintf("Event source mapping %s may have filter criteria (computed by an expression) and %s.", [m.logical_id, keys.why_not(m.kms_key)]),
	}
}
