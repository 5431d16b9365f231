# METADATA
# title: Lambda decrypts filter criteria of an event source mapping the inventory does not have
# description: |
#   When Lambda decrypts or encrypts an event source mapping's filter criteria, the encryption
#   context names the function and the event source. A pair that matches no mapping of that
#   function in the inventory means the deployed account has a mapping the inventory (templates,
#   or the inventory given with `--inventory`) does not know: drift, or a mapping created by
#   hand. Only functions the inventory knows are checked.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html#filter-criteria-encryption
#     description: Filter criteria encryption
# custom:
#   id: ATR-C002
#   severity: medium
#   security_severity: "5.0"
#   tags: [security, encryption, lambda, event-source-mapping, drift, cloudtrail]
#   needs_inventory: true
#   reads: [requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*]
#   remediation:
#     cloudtrail: |
#       Add the mapping to the templates (with `KmsKeyArn` set to a customer managed key), or
#       delete it: `aws lambda list-event-source-mappings --function-name NAME` shows it.
package atrest.rules.cloudtrail.unknown_mapping

import data.atrest.lib.cloudtrail as ct
import rego.v1

deny contains finding if {
	esa := input.resolved.event_source_arn
	input.resolved.inventory.given
	ct.lambda_own(input.resolved)
	input.resolved.inventory.function_known
	count(input.resolved.inventory.mappings) == 0
	some f in input.resolved.inventory.functions
	finding := {
		"message": sprintf(
			"Lambda used key %s for function %s and event source %s, but the inventory has no mapping from that event source to function %s%s.",
			[ct.key(input), ct.function(input.resolved), esa, f.logical_id, ct.how(f)],
		),
		"mapping": esa,
	}
}
