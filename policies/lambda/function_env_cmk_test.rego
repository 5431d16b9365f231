package atrest.rules.lambda.function_env_cmk

import rego.v1

variables := {"variables": {"DB_HOST": {"source": "literal", "value": "db.internal"}}, "variables_unknown": false}

computed := {"variables": {}, "variables_unknown": true}

absent := {"state": "absent", "chain": ["KmsKeyArn"]}

aws_managed := {"state": "aws_managed", "chain": ["KmsKeyArn", "!Ref KeyArn", "default \"alias/aws/lambda\""]}

customer := {"state": "customer_managed", "key": "Key", "chain": ["KmsKeyArn", "!GetAtt Key.Arn"]}

unresolved := {"state": "unknown", "chain": ["KmsKeyArn", "!Ref KeyArn", "parameter KeyArn has no default"]}

function(env, key) := {"id": "Fn", "logical_id": "Fn", "environment": env, "kms_key": key}

test_variables_without_a_key_fail if {
	findings := deny with input as {"functions": [function(variables, absent)]}
	count(findings) == 1
	some f in findings
	f.resource == "Fn"
	f.property == "kms_key"
	f.trigger == "environment"
	not f.outcome
	contains(f.message, "KmsKeyArn is not set")
}

test_variables_under_an_aws_managed_key_fail if {
	some f in deny with input as {"functions": [function(variables, aws_managed)]}
	not f.outcome
	contains(f.message, "AWS managed (KmsKeyArn <- !Ref KeyArn <- default \"alias/aws/lambda\")")
}

test_variables_under_a_customer_managed_key_pass if {
	count(deny) == 0 with input as {"functions": [function(variables, customer)]}
}

test_a_function_without_variables_passes if {
	count(deny) == 0 with input as {"functions": [
		{"id": "Fn", "logical_id": "Fn", "kms_key": absent},
		function({"variables": {}, "variables_unknown": false}, absent),
	]}
}

test_an_unresolved_key_is_unknown if {
	some f in deny with input as {"functions": [function(variables, unresolved)]}
	f.outcome == "unknown"
	contains(f.message, "parameter KeyArn has no default")
}

test_computed_variables_are_unknown_unless_the_key_is_customer_managed if {
	some f in deny with input as {"functions": [function(computed, absent)]}
	f.outcome == "unknown"
	f.property == "environment"
	count(deny) == 0 with input as {"functions": [function(computed, customer)]}
}
