package atrest.rules.cloudtrail.console_read_of_lambda_key

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Whether a call is a person's at the console (`resolved.console`: console credentials, a
# browser's or the console's agent) is decided by atrest and tested in src/trail/event.rs; the
# events here keep the fields it is decided from.
# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory. The events
# follow the samples of the Lambda Developer Guide (fixtures/cloudtrail/ATR-C004).
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

browser := "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36"

person := {
	"type": "AssumedRole",
	"principalId": "AROA123456789EXAMPLE:example",
	"arn": "arn:aws:sts::123456789012:assumed-role/role-name/example",
	"accountId": "123456789012",
}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {}, "aws_managed_keys": []}

event(name, identity, props) := merge(
	{
		"eventVersion": "1.09",
		"userIdentity": identity,
		"eventTime": "2024-05-30T01:09:40Z",
		"eventSource": "kms.amazonaws.com",
		"eventName": name,
		"awsRegion": "eu-west-1",
		"sourceIPAddress": "54.240.197.238",
		"userAgent": browser,
		"requestParameters": {"keyId": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"},
		"responseElements": null,
		"eventID": "a1b2c3d4-5678-90ab-cdef-EXAMPLEbbbbb",
		"readOnly": true,
		"resources": [{"accountId": "AWS Internal", "type": "AWS::KMS::Key", "ARN": key_arn}],
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012",
		"sessionCredentialFromConsole": "true",
	},
	props,
)

lambda_cmk := {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false}

resolved(props) := merge(
	{
		"key": lambda_cmk,
		"principal": person.arn,
		"identity_type": "AssumedRole",
		"agent": "console",
		"address": "public",
		"console": true,
		"lambda_context": false,
		"failed": false,
		"inventory": {"given": false},
	},
	props,
)

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

test_a_console_describe_of_a_lambda_cmk_fails if {
	findings := deny with input as call(event("DescribeKey", person, {}), resolved({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"arn:aws:sts::123456789012:assumed-role/role-name/example called DescribeKey on key %s from the console or a browser; the key protects Lambda data (Lambda used it in the logs).",
		[key_arn],
	)
}

test_console_credentials_from_any_client_fail if {
	ev := event("GetKeyPolicy", person, {"userAgent": "aws-cli/2.15.0", "requestParameters": {"keyId": key_arn, "policyName": "default"}})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
	some f in findings
	contains(f.message, " called GetKeyPolicy on key ")
}

test_console_credentials_logged_as_a_boolean_fail if {
	ev := event("GetKeyPolicy", person, {"userAgent": "aws-cli/2.15.0", "sessionCredentialFromConsole": true})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
}

test_a_browser_without_console_credentials_fails if {
	ev := object.remove(event("GetKeyRotationStatus", person, {"userAgent": "mozilla/5.0 (X11; Linux x86_64)"}), ["sessionCredentialFromConsole"])
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
}

test_the_console_user_agent_fails if {
	ev := object.remove(event("ListGrants", person, {"userAgent": "console.amazonaws.com"}), ["sessionCredentialFromConsole"])
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
}

test_a_console_decrypt_of_a_key_the_inventory_declares_fails if {
	why := "the inventory declares it for function SampleFunction (template.yaml)"
	ev := event("Decrypt", person, {"requestParameters": {"keyId": key_arn}})
	r := resolved({"key": merge(lambda_cmk, {"why": why})})
	findings := deny with input as call(ev, r)
	count(findings) == 1
	some f in findings
	endswith(f.message, "the key protects Lambda data (the inventory declares it for function SampleFunction (template.yaml)).")
}

test_a_cli_read_passes if {
	ev := event("DescribeKey", person, {"userAgent": "aws-cli/2.15.0", "sessionCredentialFromConsole": "false"})
	count(deny) == 0 with input as call(ev, resolved({"agent": "sdk", "console": false}))
}

test_lambda_decrypting_for_a_console_session_passes if {
	# The Decrypt sample of the Lambda Developer Guide: console credentials, but Lambda calls.
	identity := merge(person, {"invokedBy": "lambda.amazonaws.com"})
	context := {"aws:lambda:FunctionArn": function_arn}
	ev := event("Decrypt", identity, {
		"userAgent": "lambda.amazonaws.com",
		"requestParameters": {"keyId": key_arn, "encryptionContext": context},
	})
	r := resolved({
		"invoked_by": "lambda.amazonaws.com",
		"lambda_context": true,
		"function": {"arn": function_arn, "name": "sample-function"},
	})
	count(deny) == 0 with input as call(ev, r)
}

test_an_aws_service_identity_passes if {
	# `invokedBy` is not always a service domain ("AWS Internal"); the identity type tells.
	identity := {"type": "AWSService", "invokedBy": "AWS Internal"}
	r := resolved({"principal": "AWS Internal", "invoked_by": "AWS Internal", "identity_type": "AWSService"})
	count(deny) == 0 with input as call(event("DescribeKey", identity, {}), r)
}

test_a_key_that_protects_no_lambda_data_passes if {
	r := resolved({"key": {"arn": key_arn, "lambda_cmk": false, "aws_managed": false}})
	count(deny) == 0 with input as call(event("DescribeKey", person, {}), r)
}

test_a_key_atrest_could_not_resolve_passes if {
	ev := object.remove(event("DescribeKey", person, {"requestParameters": {"keyId": "alias/unknown"}}), ["resources"])
	alias := {"name": "arn:aws:kms:eu-west-1:123456789012:alias/unknown", "targets": [], "lambda_cmk": false}
	r := merge(object.remove(resolved({}), ["key"]), {"alias": alias})
	count(deny) == 0 with input as call(ev, r)
}

# A null userAgent must not stop the evaluation (an error would drop every rule's verdict on
# the event): console credentials still decide.
test_a_null_user_agent_with_console_credentials_fails if {
	ev := event("DescribeKey", person, {"userAgent": null, "sessionCredentialFromConsole": "true", "requestParameters": {"keyId": key_arn}})
	findings := deny with input as call(ev, resolved({}))
	count(findings) == 1
}

test_a_null_user_agent_without_console_credentials_passes if {
	ev := event("DescribeKey", person, {"userAgent": null, "sessionCredentialFromConsole": "false", "requestParameters": {"keyId": key_arn}})
	findings := deny with input as call(ev, resolved({"agent": "absent", "console": false}))
	count(findings) == 0
}
