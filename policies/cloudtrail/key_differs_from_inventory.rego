# METADATA
# title: Lambda uses a different key than the inventory declares
# description: |
#   Lambda's own KMS call (invoked by Lambda, or a function's own session at its start, see
#   ATR-C001) for a function or event source mapping of the inventory used a key
#   other than the one the inventory declares for it, or the inventory declares no customer
#   managed key at all. The deployed configuration has drifted from the templates: the data is
#   protected by a key the templates (and their review) do not cover.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
# custom:
#   id: ATR-C003
#   severity: medium
#   security_severity: "5.0"
#   tags: [security, encryption, lambda, drift, cloudtrail]
#   needs_inventory: true
#   reads: [requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*]
#   remediation:
#     cloudtrail: |
#       Make the templates and the account agree: set `KmsKeyArn` in the template to the key the
#       function should use and redeploy, or find out who changed the deployed key.
#     cloudformation: |
#       Set `KmsKeyArn` on the function or mapping to the intended customer managed key and
#       redeploy the stack.
#     sam: |
#       Set `KmsKeyArn` on the function or mapping to the intended customer managed key and
#       redeploy the stack.
package atrest.rules.cloudtrail.key_differs_from_inventory

import data.atrest.lib.cloudtrail as ct
import rego.v1

differs(m) if m.key in {"mismatch", "none"}

what(m) := "another key" if m.key == "mismatch"

what(m) := "no customer managed key" if m.key == "none"

mapping_matches if {
	some m in input.resolved.inventory.mappings
	m.key == "match"
}

function_matches if {
	some f in input.resolved.inventory.functions
	f.key == "match"
}

deny contains finding if {
	esa := input.resolved.event_source_arn
	some m in input.resolved.inventory.mappings
	ct.lambda_own(input.resolved)
	ct.lambda_call(input.resolved)
	not mapping_matches
	differs(m)
	finding := {
		"message": sprintf(
			"Lambda used key %s for the filter criteria of mapping %s%s (event source %s), but the inventory declares %s for it.",
			[ct.key(input), m.logical_id, ct.how(m), esa, what(m)],
		),
		"mapping": esa,
	}
}

deny contains finding if {
	some f in input.resolved.inventory.functions
	not input.resolved.event_source_arn
	ct.lambda_own(input.resolved)
	ct.lambda_call(input.resolved)
	not function_matches
	differs(f)
	finding := {"message": sprintf(
		"Lambda used key %s for function %s%s, but the inventory declares %s for it.",
		[ct.key(input), f.logical_id, ct.how(f), what(f)],
	)}
}
