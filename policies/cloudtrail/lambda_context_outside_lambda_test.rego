package atrest.rules.cloudtrail.lambda_context_outside_lambda

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

alice := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"}

lambda_role := {
	"type": "AssumedRole",
	"arn": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"accountId": "123456789012",
	"invokedBy": "lambda.amazonaws.com",
}

lambda_context := {"aws:lambda:FunctionArn": function_arn}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {}, "aws_managed_keys": []}

event(name, identity, params) := {
	"eventVersion": "1.09",
	"userIdentity": identity,
	"eventTime": "2024-06-01T10:02:00Z",
	"eventSource": "kms.amazonaws.com",
	"eventName": name,
	"awsRegion": "eu-west-1",
	"sourceIPAddress": "203.0.113.7",
	"userAgent": "aws-cli/2.15.0",
	"requestParameters": params,
	"responseElements": null,
	"eventID": "00000000-0000-4000-8000-000000000002",
	"resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
	"eventType": "AwsApiCall",
	"recipientAccountId": "123456789012",
}

# What atrest resolves for a call with Lambda's context on the Lambda CMK.
resolved(props) := merge(
	{
		"key": {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false},
		"principal": "arn:aws:iam::123456789012:user/alice",
		"lambda_context": true,
		"failed": false,
		"function": {"arn": function_arn, "name": "sample-function"},
		"inventory": {"given": false, "function_known": false, "functions": []},
	},
	props,
)

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

test_a_user_decrypting_with_lambdas_context_fails if {
	ev := event("Decrypt", alice, {"keyId": key_arn, "encryptionContext": lambda_context})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"arn:aws:iam::123456789012:user/alice called Decrypt on key %s with Lambda's encryption context for %s, but not through Lambda.",
		[key_arn, function_arn],
	)
}

test_a_re_encrypt_from_lambdas_context_fails if {
	# ReEncrypt carries Lambda's context as its source context.
	ev := event("ReEncrypt", alice, {"sourceKeyId": key_arn, "sourceEncryptionContext": lambda_context})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
	some f in findings
	startswith(f.message, "arn:aws:iam::123456789012:user/alice called ReEncrypt on key ")
	not f.outcome
}

test_another_service_using_lambdas_context_fails if {
	identity := merge(lambda_role, {"invokedBy": "secretsmanager.amazonaws.com"})
	ev := event("Decrypt", identity, {"keyId": key_arn, "encryptionContext": lambda_context})
	r := resolved({"principal": lambda_role.arn, "invoked_by": "secretsmanager.amazonaws.com"})
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	startswith(f.message, "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function called Decrypt on key ")
}

test_an_unknown_caller_and_unresolved_key_are_named_as_logged_fails if {
	# No identity to name the caller, and an alias the logs never resolved: the key is named as
	# the request names it.
	ev := object.remove(
		event("GenerateDataKey", {}, {"keyId": "alias/orders", "encryptionContext": lambda_context}),
		["resources"],
	)
	alias := {"name": "arn:aws:kms:eu-west-1:123456789012:alias/orders", "targets": [], "lambda_cmk": false}
	r := merge(object.remove(resolved({}), ["key", "principal"]), {"alias": alias})
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	f.message == sprintf(
		"an unknown principal called GenerateDataKey on key alias/orders with Lambda's encryption context for %s, but not through Lambda.",
		[function_arn],
	)
}

test_a_re_encrypt_of_a_key_nobody_resolved_names_an_unknown_key_and_fails if {
	# ReEncrypt names its keys `sourceKeyId` and `destinationKeyId`, not `keyId`.
	ev := object.remove(
		event("ReEncrypt", alice, {"sourceKeyId": "alias/orders", "sourceEncryptionContext": lambda_context}),
		["resources"],
	)
	r := object.remove(resolved({}), ["key"])
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	startswith(f.message, "arn:aws:iam::123456789012:user/alice called ReEncrypt on key an unknown key with Lambda's encryption context for ")
}

test_lambda_using_its_own_context_passes if {
	ev := event("Decrypt", lambda_role, {"keyId": key_arn, "encryptionContext": lambda_context})
	r := resolved({"principal": lambda_role.arn, "invoked_by": "lambda.amazonaws.com"})
	count(deny) == 0 with input as call(ev, r)
}

test_a_user_call_without_lambdas_context_passes if {
	ev := event("GenerateDataKey", alice, {"keyId": key_arn, "encryptionContext": {"purpose": "backup"}})
	r := object.remove(resolved({"lambda_context": false}), ["function"])
	count(deny) == 0 with input as call(ev, r)
}

# A function's start: its execution-role session decrypts its variables, with no invokedBy.
init_session := {
	"type": "AssumedRole",
	"arn": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"accountId": "123456789012",
	"accessKeyId": "ASIAIOSFODNN7EXAMPLE",
}

test_a_functions_own_session_decrypting_at_start_passes if {
	ev := event("Decrypt", init_session, {"encryptionContext": lambda_context, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
	own := {"own": true, "caller": "function_session", "role": "fn-role", "session": "sample-function", "internal_agent": true}
	r := resolved({"principal": init_session.arn, "lambda": own})
	count(deny) == 0 with input as call(ev, r)
}

test_a_functions_session_from_outside_lambda_fails_and_says_why if {
	ev := event("Decrypt", init_session, {"encryptionContext": lambda_context})
	why := "from outside Lambda: it is the function's execution-role session, yet its user agent is aws-cli/2.15.0 and its address 203.0.113.7"
	outside := {"own": false, "caller": "function_session", "role": "fn-role", "session": "sample-function", "internal_agent": false, "why": why}
	findings := deny with input as call(ev, resolved({"principal": init_session.arn, "lambda": outside}))
	count(findings) == 1
	some f in findings
	f.message == sprintf(
		"%s called Decrypt on key %s with Lambda's encryption context for %s, but %s.",
		[init_session.arn, key_arn, function_arn, why],
	)
}

test_lambdas_own_call_as_resolved_passes_even_without_invoked_by if {
	ev := event("Decrypt", lambda_role, {"keyId": key_arn, "encryptionContext": lambda_context})
	r := object.remove(resolved({"lambda": {"own": true, "caller": "service"}}), ["invoked_by"])
	count(deny) == 0 with input as call(ev, r)
}
