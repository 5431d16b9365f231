# METADATA
# title: Lambda could not use its customer managed key
# description: |
#   A KMS call Lambda made on behalf of a function or event source mapping failed: the key is
#   disabled, pending deletion, or its policy or grants no longer let Lambda use it. The function
#   cannot start (its environment variables cannot be decrypted) or the mapping's filter
#   criteria cannot be read.
#
#   What counts as Lambda's call: one invoked by `lambda.amazonaws.com`, or a function's own
#   execution-role session at its start (see ATR-C001). KMS logs a denied call with
#   `requestParameters: null` and no `resources[]`, so it carries no encryption context: it is
#   still Lambda's when the logs hold the `sts:AssumeRole` by Lambda that issued its access key
#   to that very session (named after the function), and its agent is `aws-internal/`; the key
#   is then the one its `errorMessage` names. Error codes, decided one by one:
#   `DryRunOperationException` is a dry run that would have succeeded (Lambda checks a durable
#   function's key this way on every create and update): not a failure. `ThrottlingException`,
#   `LimitExceededException`, `KMSInternalException`, `DependencyTimeoutException` are KMS
#   being busy or briefly unreachable: Lambda retries and the key is fine, so they are not
#   reported. Every other code (`AccessDeniedException`, `DisabledException`,
#   `KMSInvalidStateException`, `NotFoundException`, `KeyUnavailableException`,
#   `IncorrectKeyException`, `InvalidCiphertextException`, `InvalidGrantTokenException`, ...)
#   is a failure.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
# custom:
#   id: ATR-C006
#   severity: medium
#   security_severity: "5.0"
#   tags: [security, encryption, kms, lambda, availability, cloudtrail]
#   reads: [errorCode, eventName, requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [Decrypt, Encrypt, GenerateDataKey*, ReEncrypt*, DescribeKey, CreateGrant]
#   remediation:
#     cloudtrail: |
#       Check the key is enabled and not pending deletion (`aws kms describe-key`), and that its
#       policy lets the function's execution role use it through Lambda.
package atrest.rules.cloudtrail.lambda_kms_failure

import data.atrest.lib.cloudtrail as ct
import rego.v1

deny contains finding if {
	ct.failed(input.resolved)
	not ct.transient(input.resolved)
	ct.lambda_own(input.resolved)
	finding := {"message": sprintf(
		"Lambda's %s on key %s for %s failed with %s: the data it protects cannot be decrypted.",
		[input.event.eventName, ct.key(input), ct.function(input.resolved), input.event.errorCode],
	)}
}
