package atrest.rules.lambda.durable_cmk

import rego.v1

absent := {"state": "absent", "chain": ["DurableConfig.KMSKeyArn"]}

customer := {"state": "customer_managed", "key": "Key", "chain": ["DurableConfig.KMSKeyArn", "!GetAtt Key.Arn"]}

unresolved := {"state": "unknown", "chain": ["DurableConfig.KMSKeyArn", "!ImportValue shared-key"]}

durable(key) := {"id": "Fn", "logical_id": "Fn", "durable": {"kms_key": key}}

test_durable_data_without_a_key_fails if {
	findings := deny with input as {"functions": [durable(absent)]}
	count(findings) == 1
	some f in findings
	f.property == "durable.kms_key"
	not f.outcome
}

test_durable_data_under_a_customer_managed_key_passes if {
	count(deny) == 0 with input as {"functions": [durable(customer)]}
}

test_a_function_that_is_not_durable_passes if {
	count(deny) == 0 with input as {"functions": [{"id": "Fn", "logical_id": "Fn"}]}
}

test_an_unresolved_key_is_unknown if {
	some f in deny with input as {"functions": [durable(unresolved)]}
	f.outcome == "unknown"
}
