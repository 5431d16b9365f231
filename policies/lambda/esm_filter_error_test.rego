package atrest.rules.lambda.esm_filter_error

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Mappings as the deployed state (`aws lambda get-event-source-mapping` output) models them:
# filter criteria encrypted with a customer managed key show as null (`encrypted`).
key := {
	"state": "customer_managed",
	"value": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
	"assumed": true,
	"chain": ["KMSKeyArn", "\"arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\""],
}

disabled := "KMSDisabledException: Lambda couldn't decrypt the filter criteria because the KMS key used is disabled. Check the KMS key's settings."

mapping(uuid, props) := merge(
	{
		"id": uuid,
		"source": "aws-api",
		"logical_id": uuid,
		"resource_type": "AWS::Lambda::EventSourceMapping",
		"event_source_arn": "arn:aws:sqs:eu-west-1:111122223333:orders",
		"event_source_type": "SQS",
		"filter_criteria": "encrypted",
		"filter_patterns": [],
		"kms_key": key,
	},
	props,
)

test_a_mapping_reporting_filter_criteria_error_fails if {
	findings := deny with input as {"event_source_mappings": [mapping("6f1c2a9e", {"filter_criteria_error": disabled})]}
	count(findings) == 1
	some f in findings
	f.resource == "6f1c2a9e"
	f.property == "filter_criteria_error"
	f.trigger == "kms_key"
	not f.outcome
	f.message == sprintf("Event source mapping 6f1c2a9e reports FilterCriteriaError (%s): Lambda cannot use the key of its filter criteria, so filtering is broken.", [disabled])
}

test_an_error_code_without_a_message_fails if {
	# The model keeps the bare `ErrorCode` when the API gives no `Message`.
	findings := deny with input as {"event_source_mappings": [mapping("6f1c2a9e", {"filter_criteria_error": "KMSAccessDeniedException"})]}
	count(findings) == 1
	some f in findings
	f.resource == "6f1c2a9e"
	contains(f.message, "(KMSAccessDeniedException)")
	not f.outcome
}

test_a_mapping_whose_key_lambda_can_use_passes if {
	count(deny) == 0 with input as {"event_source_mappings": [mapping("7a2d3b0f", {})]}
}

test_a_mapping_without_filters_or_key_passes if {
	m := mapping("8b3e4c1a", {"filter_criteria": "absent", "kms_key": {"state": "absent", "assumed": false, "chain": ["KMSKeyArn"]}})
	count(deny) == 0 with input as {"event_source_mappings": [m]}
}

test_a_template_mapping_without_deployed_state_passes if {
	# Templates never carry FilterCriteriaError, whatever their key.
	m := {
		"id": "Fn.Events.Queue",
		"logical_id": "Fn.Events.Queue",
		"filter_criteria": "present",
		"filter_patterns": ["{\"body\": {\"type\": [\"order\"]}}"],
		"kms_key": {"state": "unknown", "assumed": false, "chain": ["KmsKeyArn", "!ImportValue shared-key"]},
	}
	count(deny) == 0 with input as {"event_source_mappings": [m]}
}

test_only_the_mapping_with_the_error_fails if {
	findings := deny with input as {"event_source_mappings": [
		mapping("7a2d3b0f", {}),
		mapping("6f1c2a9e", {"filter_criteria_error": disabled}),
	]}
	count(findings) == 1
	some f in findings
	f.resource == "6f1c2a9e"
}

test_no_mappings_pass if {
	count(deny) == 0 with input as {"event_source_mappings": []}
}
