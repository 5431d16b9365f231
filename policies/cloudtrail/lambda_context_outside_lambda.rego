# METADATA
# title: Lambda's encryption context is used by someone other than Lambda
# description: |
#   Lambda encrypts environment variables and filter criteria under an encryption context that
#   names the function (`aws:lambda:FunctionArn`) and the event source
#   (`aws:lambda:EventSourceArn`). A KMS call that carries such a context but was not made by
#   Lambda (`userIdentity.invokedBy` is not `lambda.amazonaws.com`) means a principal is
#   decrypting, or forging, Lambda's data outside Lambda: key policies that trust the context
#   alone are being exercised by someone else.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/security-encryption-at-rest.html
#     description: Data encryption at rest for AWS Lambda
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
#     description: kms:ViaService condition key
# custom:
#   id: ATR-C001
#   severity: high
#   security_severity: "8.0"
#   tags: [security, encryption, kms, lambda, cloudtrail]
#   reads: [eventName, requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*]
#   remediation:
#     cloudtrail: |
#       Find out who the principal is and why it holds Lambda's ciphertext. Restrict the key policy
#       so that grants for the `aws:lambda:*` context apply only through Lambda: add a condition
#       `"kms:ViaService": "lambda.REGION.amazonaws.com"` to the statements that allow Decrypt.
package atrest.rules.cloudtrail.lambda_context_outside_lambda

import data.atrest.lib.cloudtrail as ct
import rego.v1

deny contains finding if {
	not ct.invoked_by_lambda(input.resolved)
	ct.lambda_call(input.resolved)
	finding := {"message": sprintf(
		"%s called %s on key %s with Lambda's encryption context for %s, but not through Lambda.",
		[ct.principal(input.resolved), input.event.eventName, ct.key(input), ct.function(input.resolved)],
	)}
}
