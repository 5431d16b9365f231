# METADATA
# title: A Lambda environment variable holds a plaintext secret
# description: |
#   Environment variables are part of the function's configuration: anyone allowed
#   `lambda:GetFunctionConfiguration` reads them, they show in the console, and a literal in a
#   template is also in source control. A variable whose name says it is a secret (`*PASSWORD*`,
#   `*SECRET*`, `*TOKEN*`, `*API_KEY*`, `*PRIVATE_KEY*`, `*ACCESS_KEY*`) or whose value is shaped
#   like a secret (an AWS access key, a private key, a JWT) and that is written as a literal is
#   reported. Dynamic references (`{{resolve:secretsmanager:...}}`, SSM), `NoEcho` parameters,
#   parameters without a default, and names that only point at a secret (`*_ARN`, `*_NAME`,
#   `*_ID`, `*_PATH`, ...) are not. Nor are values that are obviously placeholders for a secret
#   to be filled in: `<YOUR API KEY>`, `YOUR_API_KEY`, `CHANGEME`, `REPLACE_ME`, `DUMMY...`,
#   `...EXAMPLE...` (as in AWS's own documented example keys), `xxxx`, `****`, `TODO`, `FIXME`,
#   `REDACTED`, and `${...}`/`{{...}}` templates.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
#   - ref: https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_lambda.html
#     description: Use Secrets Manager secrets in Lambda functions
# custom:
#   id: ATR-L009
#   severity: high
#   security_severity: "7.5"
#   tags: [security, secrets, lambda, environment-variables]
#   remediation:
#     cloudformation: |
#       Store the secret in Secrets Manager and pass its ARN (or a `{{resolve:secretsmanager:...}}`
#       reference) instead of the value; have the function read it at run time.
#     sam: |
#       Store the secret in Secrets Manager, pass its ARN in the variable, and read it with the
#       AWS Parameters and Secrets Lambda Extension or the SDK.
#     serverless: |
#       Store the secret in Secrets Manager and pass its ARN in the variable (not `${ssm:...}` of the
#       secret, which the framework writes into the function's configuration); read it at run time.
#     terraform: |
#       Keep the value in `aws_secretsmanager_secret` and pass `aws_secretsmanager_secret.x.arn`;
#       never write it in `environment { variables }`.
#     cli: |
#       aws secretsmanager create-secret --name NAME --secret-string VALUE, then update the
#       function's variable to the secret's ARN with aws lambda update-function-configuration.
#   equivalents:
#     - {tool: Checkov, id: CKV_AWS_45}
package atrest.rules.lambda.env_plaintext_secret

import rego.v1

secret_name(name) if regex.match(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY)`, name)

# Names that only point at a secret, or describe one.
reference_name(name) if {
	regex.match(`(?i)(_|^)(ARN|NAME|ID|PATH|PARAM|PARAMETER|URL|URI|TABLE|BUCKET|QUEUE|TOPIC|REGION|TTL|EXPIRY|EXPIRATION|EXPIRES|LENGTH|HEADER|ENDPOINT|FILE|KEY_ID|TYPE|FORMAT|ENABLED|VERSION|PREFIX)$`, name)
}

reference_value(v) if regex.match(`^(arn:|/)|^\$\{[^}]*\}$`, v)

reference_value(v) if regex.match(`^(true|false|yes|no|\d+)$`, lower(v))

# Placeholders left for a secret to be filled in are not reported: they would only be noise. Words
# that could be part of a real secret (TODO, xxx) count only where they stand on their own.
placeholder_patterns := [
	`^\s*<[^<>]+>\s*$`,
	`^\s*\{\{[^{}]*\}\}\s*$`,
	`\$\{[^}]+\}`,
	`(?i)(CHANGE[_ -]?ME|REPLACE[_ -]?ME|DUMMY|EXAMPLE|PLACEHOLDER|REDACTED|INSERT[_ -]?(YOUR|HERE)|(^|[^A-Za-z])YOUR([_ -][A-Za-z]|(API|SECRET|TOKEN|KEY|PASS)))`,
	`(?i)(^|[^A-Za-z0-9])(TODO|TBD|FIXME|XXX+|SECRET[_ -]?HERE|KEY[_ -]?HERE)([^A-Za-z0-9]|$)`,
	`^[xX*.#_-]{4,}$`,
]

# One pattern made of the ones above: every literal value is tested, and each function body
# costs regorus a path lookup and a call, so one call replaces six. `(?:...)` keeps each
# one's flags and anchors to itself.
placeholder_pattern := concat("|", [sprintf("(?:%s)", [p]) | some p in placeholder_patterns])

placeholder(v) if regex.match(placeholder_pattern, v)

# Each shape tests a cheap condition that its pattern implies (length, prefix, substring) before
# the pattern: every value of every function is tested, and a regex.match is costly per call.
shape(v) := "an AWS access key id" if {
	count(v) == 20
	regex.match(`^(AKIA|ASIA)[A-Z0-9]{16}$`, v)
}

shape(v) := "an AWS secret access key" if {
	count(v) == 40
	regex.match(`^[A-Za-z0-9/+]{40}$`, v)
	regex.match(`[A-Z]`, v)
	regex.match(`[a-z]`, v)
	regex.match(`[0-9]`, v)
}

shape(v) := "a private key" if {
	contains(v, "PRIVATE KEY-----")
	regex.match(`-----BEGIN [A-Z ]*PRIVATE KEY-----`, v)
}

shape(v) := "a JSON Web Token" if {
	startswith(v, "eyJ")
	regex.match(`^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}$`, v)
}

# A value's shape is tested once: `else` takes the name's reason only where no shape matched.
why(name, v) := sprintf("its value looks like %s", [s]) if {
	s := shape(v)
} else := "its name says it is a secret and its value is written in the source" if {
	secret_name(name)
	not reference_name(name)
	not reference_value(v)
}

deny contains finding if {
	some f in input.functions
	some name, var in f.environment.variables
	var.source == "literal"
	var.value != ""
	reason := why(name, var.value)
	not placeholder(var.value)
	finding := {
		"resource": f.id,
		"property": sprintf("environment.variables.%s", [name]),
		"trigger": "environment",
		"message": sprintf("Environment variable %s of function %s looks like a plaintext secret: %s.", [name, f.logical_id, reason]),
	}
}
