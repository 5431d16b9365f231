package atrest.rules.lambda.env_plaintext_secret

import rego.v1

function(variables) := {"id": "Fn", "logical_id": "Fn", "environment": {"variables": variables, "variables_unknown": false}}

literal(v) := {"source": "literal", "value": v}

test_a_password_written_in_the_template_fails if {
	findings := deny with input as {"functions": [function({"DB_PASSWORD": literal("hunter2hunter2")})]}
	count(findings) == 1
	some f in findings
	f.property == "environment.variables.DB_PASSWORD"
	contains(f.message, "its name says it is a secret")
}

test_a_value_shaped_like_an_access_key_fails_whatever_its_name if {
	some f in deny with input as {"functions": [function({"SETTING": literal("AKIAABCDEFGHIJKLMNOP")})]}
	contains(f.message, "an AWS access key id")
}

test_references_to_secrets_pass if {
	count(deny) == 0 with input as {"functions": [function({
		"DB_PASSWORD_ARN": literal("arn:aws:secretsmanager:eu-west-1:111122223333:secret:db"),
		"API_KEY_PARAM": literal("/orders/api-key"),
		"TOKEN_TTL": literal("3600"),
	})]}
}

test_secrets_resolved_at_deploy_time_pass if {
	count(deny) == 0 with input as {"functions": [function({"DB_PASSWORD": {"source": "dynamic_reference"}})]}
}
