package atrest.rules.kms.key_policy_lambda

import rego.v1

admin_only := {"effect": "Allow", "actions": ["kms:*"], "aws_principals": ["arn:aws:iam::111122223333:user/alice"], "principal_resources": [], "service_principals": [], "condition_keys": []}

to_role(arn) := {"effect": "Allow", "actions": ["kms:Decrypt"], "aws_principals": [arn], "principal_resources": [], "service_principals": [], "condition_keys": []}

to_anyone := {"effect": "Allow", "actions": ["kms:Decrypt"], "any_principal": true, "aws_principals": ["*"], "principal_resources": [], "service_principals": [], "condition_keys": []}

key(statements) := {"id": "Key", "logical_id": "Key", "policy_state": "declared", "policy_statements": statements, "used_by": ["Fn"]}

function(role, variables) := {
	"id": "Fn",
	"logical_id": "Fn",
	"kms_key": {"state": "customer_managed", "key": "Key"},
	"role": role,
	"environment": {"variables": variables},
}

literal_role := {"value": "arn:aws:iam::111122223333:role/orders-fn"}

test_a_policy_without_the_functions_role_fails if {
	findings := deny with input as {"kms_keys": [key([admin_only])], "functions": [function(literal_role, {"A": "b"})]}
	count(findings) == 1
	some f in findings
	f.resource == "Key"
	f.property == "policy"
	f.subject == "Fn"
	not f.outcome
}

test_a_policy_granting_the_functions_role_passes if {
	count(deny) == 0 with input as {"kms_keys": [key([admin_only, to_role(literal_role.value)])], "functions": [function(literal_role, {"A": "b"})]}
}

test_the_account_root_delegates_to_iam_and_passes if {
	count(deny) == 0 with input as {"kms_keys": [key([to_role("arn:aws:iam::111122223333:root")])], "functions": [function(literal_role, {"A": "b"})]}
}

test_a_function_without_environment_variables_passes if {
	count(deny) == 0 with input as {"kms_keys": [key([admin_only])], "functions": [function(literal_role, {})]}
}

test_an_unresolved_role_is_unknown if {
	some f in deny with input as {"kms_keys": [key([to_role(literal_role.value)])], "functions": [function({}, {"A": "b"})]}
	f.outcome == "unknown"
	f.subject == "Fn"
}

test_a_placeholder_account_with_the_same_role_name_is_unknown if {
	placeholder := to_role("arn:aws:iam::${AWS::AccountId}:role/orders-fn")
	some f in deny with input as {"kms_keys": [key([placeholder])], "functions": [function(literal_role, {"A": "b"})]}
	f.outcome == "unknown"
}

test_decrypt_for_anyone_without_a_condition_fails_as_advice if {
	some f in deny with input as {"kms_keys": [key([to_anyone])], "functions": []}
	f.resource == "Key"
	contains(f.message, "advisory")
}
