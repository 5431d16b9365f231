package atrest.rules.xray.tracing_cmk

import rego.v1

active_function := {"id": "Fn", "logical_id": "Fn", "tracing_mode": "Active"}

untraced := {"id": "Fn", "logical_id": "Fn", "tracing_mode": "PassThrough"}

xray(type, key) := {"id": "xray", "logical_id": "xray", "type": type, "kms_key": key}

customer := {"state": "customer_managed", "key": "TraceKey", "chain": ["KeyId"]}

aws_managed := {"state": "aws_managed", "chain": ["KeyId", "alias/aws/xray"]}

test_traces_without_the_account_setting_are_unknown if {
	some f in deny with input as {"functions": [active_function], "xray_encryption": []}
	f.outcome == "unknown"
	f.property == "tracing_mode"
}

test_xray_without_kms_fails if {
	some f in deny with input as {"functions": [active_function], "xray_encryption": [xray("NONE", {"state": "absent", "chain": ["KeyId"]})]}
	f.resource == "xray"
	f.property == "type"
	not f.outcome
}

test_xray_under_an_aws_managed_key_fails if {
	some f in deny with input as {"functions": [active_function], "xray_encryption": [xray("KMS", aws_managed)]}
	f.property == "kms_key"
}

test_xray_under_a_customer_managed_key_passes if {
	count(deny) == 0 with input as {"functions": [active_function], "xray_encryption": [xray("KMS", customer)]}
}

test_untraced_functions_pass if {
	count(deny) == 0 with input as {"functions": [untraced], "xray_encryption": [xray("NONE", customer)]}
}
