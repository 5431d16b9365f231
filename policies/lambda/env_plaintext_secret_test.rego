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

test_placeholders_for_a_secret_pass if {
	count(deny) == 0 with input as {"functions": [function({
		"DD_API_KEY": literal("<YOUR DATADOG API KEY>"),
		"FIXER_API_KEY": literal("<Fixer API key>"),
		"AWS_SECRET_ACCESS_KEY": literal("DUMMYEXAMPLEKEY"),
		"AWS_ACCESS_KEY_ID": literal("AKIAIOSFODNN7EXAMPLE"),
		"DOCS_SECRET": literal("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
		"DB_PASSWORD": literal("CHANGEME"),
		"ADMIN_PASSWORD": literal("change-me"),
		"STRIPE_SECRET_KEY": literal("sk_test_REPLACE_ME"),
		"SLACK_TOKEN": literal("YOUR_SLACK_TOKEN"),
		"GITHUB_TOKEN": literal("xxxxxxxxxxxxxxxx"),
		"OAUTH_TOKEN": literal("****************"),
		"WEBHOOK_SECRET": literal("TODO: set me"),
		"SIGNING_SECRET": literal("{{signing_secret}}"),
		"API_SECRET": literal("${API_SECRET}"),
		"AUTH_TOKEN": literal("Bearer ${TOKEN}"),
		"DB_PASSWORD_2": literal("redacted"),
	})]}
}

# Words that mark a placeholder count only where they stand on their own: a real secret that
# merely contains the letters is still reported.
test_secrets_that_contain_placeholder_letters_still_fail if {
	findings := deny with input as {"functions": [function({
		"DB_PASSWORD": literal("mytodolist42"),
		"API_KEY": literal("Xxx7Hq2pLm9Zr4Tk"),
		"AUTH_TOKEN": literal("yourstrulyhunter2"),
		"ACCESS_KEY": literal("AKIAUJZDE8GXD6NCF10E"),
	})]}
	count(findings) == 4
}

# Each shape is found under a name that says nothing, and a value one character short of it is not.
test_every_shape_is_found_whatever_the_name if {
	values := {
		"A": "AKIAUJZDE8GXD6NCF10E",
		"B": "Zq8v3Lr7Tn2Pw9Ks4Hd6Fb1Jm5Xc0Vg3Ny8Qa2Re",
		"C": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
		"D": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
	}
	findings := deny with input as {"functions": [function({name: literal(v) | some name, v in values})]}
	reasons := {f.property: f.message | some f in findings}
	contains(reasons["environment.variables.A"], "an AWS access key id")
	contains(reasons["environment.variables.B"], "an AWS secret access key")
	contains(reasons["environment.variables.C"], "a private key")
	contains(reasons["environment.variables.D"], "a JSON Web Token")
}

test_values_just_short_of_a_shape_pass if {
	count(deny) == 0 with input as {"functions": [function({
		"A": literal("AKIAUJZDE8GXD6NCF10"),
		"B": literal("Zq8v3Lr7Tn2Pw9Ks4Hd6Fb1Jm5Xc0Vg3Ny8Qa2R"),
		"C": literal("-----BEGIN RSA PUBLIC KEY-----"),
		"D": literal("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
	})]}
}
