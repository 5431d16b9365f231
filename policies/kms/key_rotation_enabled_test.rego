package atrest.rules.kms.key_rotation_enabled

import rego.v1

key(props) := object.union(
	{
		"id": "Key",
		"logical_id": "Key",
		"manager": "customer",
		"enabled": true,
		"rotation_enabled": true,
		"pending_deletion": false,
		"used_by": ["Fn"],
	},
	props,
)

test_a_key_without_rotation_fails if {
	findings := deny with input as {"kms_keys": [key({"rotation_enabled": false})]}
	count(findings) == 1
	some f in findings
	f.resource == "Key"
	f.property == "rotation_enabled"
	not f.outcome
	contains(f.message, "(Fn)")
}

test_a_rotated_enabled_key_passes if {
	count(deny) == 0 with input as {"kms_keys": [key({})]}
}

test_a_key_no_lambda_data_uses_passes if {
	count(deny) == 0 with input as {"kms_keys": [key({"rotation_enabled": false, "used_by": []})]}
}

test_an_aws_managed_key_is_not_ours_to_rotate if {
	count(deny) == 0 with input as {"kms_keys": [key({"rotation_enabled": false, "manager": "aws"})]}
}

test_asymmetric_keys_cannot_rotate if {
	count(deny) == 0 with input as {"kms_keys": [key({"rotation_enabled": false, "key_spec": "RSA_2048"})]}
}

test_unresolved_rotation_is_unknown if {
	some f in deny with input as {"kms_keys": [key({"rotation_enabled": "unknown"})]}
	f.outcome == "unknown"
}

test_a_disabled_key_fails if {
	some f in deny with input as {"kms_keys": [key({"enabled": false})]}
	f.property == "enabled"
	not f.outcome
}

test_a_key_pending_deletion_fails if {
	some f in deny with input as {"kms_keys": [key({"pending_deletion": true})]}
	f.property == "pending_deletion"
}
