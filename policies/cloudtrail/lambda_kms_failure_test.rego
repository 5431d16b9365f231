package atrest.rules.cloudtrail.lambda_kms_failure

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

lambda_role := {
	"type": "AssumedRole",
	"arn": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"accountId": "123456789012",
	"invokedBy": "lambda.amazonaws.com",
}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {}, "aws_managed_keys": []}

event(name, identity, params, props) := merge(
	{
		"eventVersion": "1.09",
		"userIdentity": identity,
		"eventTime": "2024-06-01T10:33:00Z",
		"eventSource": "kms.amazonaws.com",
		"eventName": name,
		"awsRegion": "eu-west-1",
		"sourceIPAddress": "lambda.amazonaws.com",
		"userAgent": "lambda.amazonaws.com",
		"requestParameters": params,
		"responseElements": null,
		"eventID": "00000000-0000-4000-8000-000000000033",
		"resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012",
	},
	props,
)

denied := {"errorCode": "AccessDeniedException", "errorMessage": "denied"}

env_params := {"keyId": key_arn, "encryptionContext": {"aws:lambda:FunctionArn": function_arn}}

resolved(props) := merge(
	{
		"key": {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false},
		"principal": lambda_role.arn,
		"invoked_by": "lambda.amazonaws.com",
		"lambda_context": true,
		"failed": true,
		"function": {"arn": function_arn, "name": "sample-function"},
		"inventory": {"given": false, "function_known": false, "functions": []},
	},
	props,
)

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

test_lambda_denied_decrypting_a_functions_variables_fails if {
	findings := deny with input as call(event("Decrypt", lambda_role, env_params, denied), resolved({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"Lambda's Decrypt on key %s for %s failed with AccessDeniedException: the data it protects cannot be decrypted.",
		[key_arn, function_arn],
	)
}

test_lambda_failing_on_a_disabled_key_fails if {
	ev := event("GenerateDataKey", lambda_role, env_params, {"errorCode": "DisabledException", "errorMessage": "disabled"})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
	some f in findings
	startswith(f.message, "Lambda's GenerateDataKey on key ")
	contains(f.message, " failed with DisabledException: ")
}

test_a_failed_lambda_call_without_a_function_names_none_and_fails if {
	# Lambda's CreateGrant for a function carries no encryption context.
	ev := event("CreateGrant", lambda_role, {"keyId": key_arn, "granteePrincipal": lambda_role.arn}, {"errorCode": "KMSInvalidStateException"})
	r := object.remove(resolved({"lambda_context": false, "inventory": {"given": false}}), ["function"])
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	f.message == sprintf(
		"Lambda's CreateGrant on key %s for an unknown function failed with KMSInvalidStateException: the data it protects cannot be decrypted.",
		[key_arn],
	)
}

test_a_failed_lambda_call_on_an_unresolved_key_names_the_request_key_and_fails if {
	ev := object.remove(event("Decrypt", lambda_role, merge(env_params, {"keyId": "alias/orders"}), denied), ["resources"])
	alias := {"name": "arn:aws:kms:eu-west-1:123456789012:alias/orders", "targets": [], "lambda_cmk": false}
	r := merge(object.remove(resolved({}), ["key"]), {"alias": alias})
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	startswith(f.message, "Lambda's Decrypt on key alias/orders for ")
}

test_a_successful_lambda_call_passes if {
	count(deny) == 0 with input as call(event("Decrypt", lambda_role, env_params, {}), resolved({"failed": false}))
}

test_a_denied_call_not_made_by_lambda_passes if {
	# A person's failed Decrypt is not Lambda failing to start a function.
	alice := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"}
	ev := event("Decrypt", alice, env_params, merge(denied, {"userAgent": "aws-cli/2.15.0"}))
	r := object.remove(resolved({"principal": alice.arn}), ["invoked_by"])
	count(deny) == 0 with input as call(ev, r)
}

test_a_denied_call_by_another_service_passes if {
	identity := merge(lambda_role, {"invokedBy": "secretsmanager.amazonaws.com"})
	ev := event("Decrypt", identity, {"keyId": key_arn}, denied)
	r := object.remove(resolved({"invoked_by": "secretsmanager.amazonaws.com", "lambda_context": false}), ["function"])
	count(deny) == 0 with input as call(ev, r)
}

test_a_dry_run_that_would_have_succeeded_passes if {
	# Lambda checks a durable function's key with DryRun on every create and update.
	dry := {"errorCode": "DryRunOperationException", "errorMessage": "The request would have succeeded, but the DryRun option is set."}
	ev := event("GenerateDataKey", lambda_role, env_params, dry)
	r := resolved({"failed": false, "dry_run": true, "error_kind": "dry_run"})
	count(deny) == 0 with input as call(ev, r)
}

test_throttling_is_not_a_key_failure_and_passes if {
	ev := event("Decrypt", lambda_role, env_params, {"errorCode": "ThrottlingException"})
	r := resolved({"error_kind": "transient"})
	count(deny) == 0 with input as call(ev, r)
}

test_a_functions_own_session_failing_at_start_fails if {
	# The execution-role session at the function's start: no invokedBy, resolved as Lambda's own.
	session := object.remove(lambda_role, ["invokedBy"])
	ev := event("Decrypt", session, {"encryptionContext": env_params.encryptionContext}, {"errorCode": "KMSInvalidStateException", "userAgent": "aws-internal/3 aws-sdk-java/1.12.0"})
	r := object.remove(resolved({"lambda": {"own": true, "caller": "function_session"}, "error_kind": "failure"}), ["invoked_by"])
	count(deny) == 1 with input as call(ev, r)
}
