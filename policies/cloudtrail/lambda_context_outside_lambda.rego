# METADATA
# title: Lambda's encryption context is used by someone other than Lambda
# description: |
#   Lambda encrypts environment variables and filter criteria under an encryption context that
#   names the function (`aws:lambda:FunctionArn`) and the event source
#   (`aws:lambda:EventSourceArn`). A KMS call that carries such a context but was not made by
#   Lambda means a principal is decrypting, or forging, Lambda's data outside Lambda: key
#   policies that trust the context alone are being exercised by someone else.
#
#   Lambda makes these calls in two ways, and neither is reported:
#   - as the service: `userIdentity.invokedBy` is `lambda.amazonaws.com` (filter criteria,
#     grants, the documented pull-mapping cases);
#   - at a function's start, decrypting its environment variables with the function's own
#     execution-role session: no `invokedBy`, `userIdentity.arn` is
#     `arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION` (the session is named after the
#     function in the context, in the same account), the user agent starts with
#     `aws-internal/`, and the key is only in `resources[]`.
#
#   Decision table (first matching row wins):
#
#   | caller | user agent | role / access key | verdict |
#   | --- | --- | --- | --- |
#   | invokedBy lambda.amazonaws.com | any | any | Lambda's own: no finding |
#   | session named after the function | any | the inventory gives the function another role | fires: not the function's role |
#   | session named after the function | any | the logs' sts:AssumeRole by Lambda issued its access key for another session | fires |
#   | session named after the function | aws-internal/... | role matches or unknown; key issued by Lambda's AssumeRole or not in the logs | Lambda's own: no finding |
#   | session named after the function | SDK, CLI, browser or absent | any | fires: the function's credentials used outside Lambda (the message gives agent and address) |
#   | any other principal | any | any | fires: not through Lambda |
#
#   A failed call or a dry run is still reported: the attempt is what matters.
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
	ct.lambda_call(input.resolved)
	not ct.lambda_own(input.resolved)
	finding := {"message": sprintf(
		"%s called %s on key %s with Lambda's encryption context for %s, but %s.",
		[ct.principal(input.resolved), input.event.eventName, ct.key(input), ct.function(input.resolved), why],
	)}
}

why := input.resolved.lambda.why

why := "not through Lambda" if not input.resolved.lambda.why
