# METADATA
# title: Lambda cannot use the key of an event source mapping's filter criteria
# description: |
#   An event source mapping whose filter criteria are encrypted with a customer managed key
#   reports `FilterCriteriaError` when Lambda cannot use that key (it is disabled, pending
#   deletion, or its key policy no longer lets Lambda use it). Lambda then cannot read the
#   criteria, so filtering is broken: the mapping stops, or its events are not filtered as
#   intended. Only deployed state (`aws lambda get-event-source-mapping` or
#   `list-event-source-mappings` output) can show this.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filter-criteria-encryption
#     description: Encrypting filter criteria
#   - ref: https://docs.aws.amazon.com/lambda/latest/api/API_FilterCriteriaError.html
#     description: FilterCriteriaError
# custom:
#   id: ATR-L006
#   severity: high
#   security_severity: "7.0"
#   tags: [security, encryption, lambda, event-source-mapping, availability]
#   remediation:
#     cloudformation: |
#       Make the `KmsKeyArn` of the `AWS::Lambda::EventSourceMapping` a key that is enabled and whose
#       key policy allows `lambda.amazonaws.com` (or the caller) `kms:Decrypt`, then redeploy.
#     sam: |
#       Make the event's `KmsKeyArn` a key that is enabled and whose key policy allows Lambda
#       `kms:Decrypt`, then redeploy.
#     serverless: |
#       Make the `KmsKeyArn` given to the generated mapping in `resources` a key that is enabled and
#       whose key policy allows Lambda `kms:Decrypt`, then redeploy.
#     terraform: |
#       Make `kms_key_arn` of the `aws_lambda_event_source_mapping` a key that is enabled and whose
#       policy allows Lambda `kms:Decrypt`, then apply.
#     cli: |
#       aws kms enable-key --key-id KEY_ID   # or cancel-key-deletion, or fix the key policy
#       aws lambda update-event-source-mapping --uuid UUID --kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
package atrest.rules.lambda.esm_filter_error

import rego.v1

deny contains finding if {
	some m in input.event_source_mappings
	m.filter_criteria_error
	finding := {
		"resource": m.id,
		"property": "filter_criteria_error",
		"trigger": "kms_key",
		"message": sprintf("Event source mapping %s reports FilterCriteriaError (%s): Lambda cannot use the key of its filter criteria, so filtering is broken.", [m.logical_id, m.filter_criteria_error]),
	}
}
