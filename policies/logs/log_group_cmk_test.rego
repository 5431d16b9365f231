package atrest.rules.logs.log_group_cmk

import rego.v1

absent := {"state": "absent", "chain": ["KmsKeyId"]}

customer := {"state": "customer_managed", "key": "LogsKey", "chain": ["KmsKeyId", "!GetAtt LogsKey.Arn"]}

writer := {"id": "Fn", "logical_id": "Fn", "log_group_resource": "Logs"}

log_group(key) := {"id": "Logs", "logical_id": "Logs", "kms_key": key, "written_by": ["Fn"]}

test_a_function_log_group_without_a_key_fails if {
	findings := deny with input as {"functions": [writer], "log_groups": [log_group(absent)]}
	count(findings) == 1
	some f in findings
	f.resource == "Logs"
	not f.outcome
	contains(f.message, "written by Fn")
}

test_a_function_log_group_under_a_customer_managed_key_passes if {
	count(deny) == 0 with input as {"functions": [writer], "log_groups": [log_group(customer)]}
}

test_a_log_group_no_function_writes_to_passes if {
	unused := object.union(log_group(absent), {"written_by": []})
	count(deny) == 0 with input as {"functions": [], "log_groups": [unused]}
}

test_an_undeclared_log_group_is_unknown if {
	some f in deny with input as {"functions": [{"id": "Fn", "logical_id": "Fn", "log_group": "/aws/lambda/orders"}], "log_groups": []}
	f.outcome == "unknown"
	f.property == "log_group"
	contains(f.message, "/aws/lambda/orders")
}
