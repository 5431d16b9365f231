# METADATA
# title: A person reads a Lambda CMK from the console or a browser
# description: |
#   A key that protects Lambda data (used by Lambda in the logs, or declared for a function or
#   mapping in the inventory) was read by a person: a call made with console session credentials
#   (`sessionCredentialFromConsole`) or from a browser, not on behalf of an AWS service. Reading
#   key metadata or policy is often legitimate, but a console `Decrypt` of Lambda data is not.
# related_resources:
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
#     description: Logging AWS KMS API calls with CloudTrail
# custom:
#   id: ATR-C004
#   severity: low
#   security_severity: "3.5"
#   tags: [security, encryption, kms, lambda, cloudtrail]
#   reads: [eventName, requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [Decrypt, DescribeKey, GetKeyPolicy, GetKeyRotationStatus, GetPublicKey, ListGrants, ListKeyPolicies, ListResourceTags, ListRetirableGrants]
#   remediation:
#     cloudtrail: |
#       Confirm the person had a reason to read the key. Limit who may use the key from the console
#       with the key policy (e.g. deny kms:Decrypt unless `kms:ViaService` is Lambda's).
package atrest.rules.cloudtrail.console_read_of_lambda_key

import data.atrest.lib.cloudtrail as ct
import rego.v1

# Console credentials or a browser's agent: atrest decides it (`resolved.console`), so events
# from many browsers and hosts share one verdict.
deny contains finding if {
	not ct.service_invoked(input.resolved, input.event)
	input.resolved.console
	input.resolved.key.lambda_cmk
	finding := {"message": sprintf(
		"%s called %s on key %s from the console or a browser; the key protects Lambda data (%s).",
		[ct.principal(input.resolved), input.event.eventName, ct.key(input), input.resolved.key.why],
	)}
}
