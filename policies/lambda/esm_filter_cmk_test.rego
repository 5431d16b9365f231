package atrest.rules.lambda.esm_filter_cmk

import rego.v1

absent := {"state": "absent", "chain": ["KmsKeyArn"]}

customer := {"state": "customer_managed", "key": "FilterKey", "chain": ["KmsKeyArn", "!GetAtt FilterKey.Arn"]}

unresolved := {"state": "unknown", "chain": ["KmsKeyArn", "!ImportValue shared-key"]}

mapping(filters, key) := {
	"id": "Fn.Events.Queue",
	"logical_id": "Fn.Events.Queue",
	"filter_criteria": filters,
	"filter_patterns": ["{\"body\": {\"type\": [\"order\"]}}"],
	"kms_key": key,
}

test_filters_without_a_key_fail if {
	findings := deny with input as {"event_source_mappings": [mapping("present", absent)]}
	count(findings) == 1
	some f in findings
	f.resource == "Fn.Events.Queue"
	f.property == "kms_key"
	f.trigger == "filter_criteria"
	not f.outcome
}

test_filters_under_a_customer_managed_key_pass if {
	count(deny) == 0 with input as {"event_source_mappings": [mapping("present", customer)]}
}

test_a_mapping_without_filters_passes if {
	count(deny) == 0 with input as {"event_source_mappings": [mapping("absent", absent)]}
}

test_an_unresolved_key_is_unknown if {
	some f in deny with input as {"event_source_mappings": [mapping("present", unresolved)]}
	f.outcome == "unknown"
}

test_computed_filters_are_unknown if {
	some f in deny with input as {"event_source_mappings": [mapping("unknown", absent)]}
	f.outcome == "unknown"
	f.property == "filter_criteria"
}
