package atrest.rules.cloudtrail.control_plane_without_cmk

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory. Lambda's
# control-plane events as CloudTrail writes them (fixtures/cloudtrail/ATR-C007): values of
# variables and patterns hidden, `kMSKeyArn` spelled so, `environment: {}` when none are set.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

source_arn := "arn:aws:sqs:eu-west-1:123456789012:sample-source"

uuid := "a1b2c3d4-0000-0000-0000-000000000001"

alice := "arn:aws:iam::123456789012:user/alice"

hidden := "HIDDEN_DUE_TO_SECURITY_REASONS"

facts := {"lambda_keys": {}, "aliases": {}, "aws_managed_keys": []}

event(event_name, request, props) := merge(
	{
		"eventVersion": "1.09",
		"userIdentity": {"type": "IAMUser", "arn": alice, "accountId": "123456789012"},
		"eventTime": "2024-06-01T10:35:00Z",
		"eventSource": "lambda.amazonaws.com",
		"eventName": event_name,
		"awsRegion": "eu-west-1",
		"sourceIPAddress": "203.0.113.7",
		"userAgent": "aws-cli/2.15.0",
		"requestParameters": request,
		"responseElements": null,
		"eventID": "00000000-0000-4000-8000-000000000035",
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012",
	},
	props,
)

# What atrest resolves: the function a call names (`functionName`), if any.
resolved(request, failed) := r if {
	base := {"principal": alice, "lambda_context": false, "failed": failed, "inventory": {"given": false}}
	function := request.functionName
	after := split(function, ":function:")
	r := merge(base, {
		"function": {"arn": function, "name": split(after[count(after) - 1], ":")[0]},
		"inventory": {"given": false, "function_known": false, "functions": []},
	})
}

resolved(request, failed) := r if {
	not request.functionName
	r := {"principal": alice, "lambda_context": false, "failed": failed, "inventory": {"given": false}}
}

# A successful call.
call(event_name, request) := {"event": event(event_name, request, {}), "resolved": resolved(request, false), "facts": facts, "inventory": {}}

create_function(props) := merge(
	{
		"functionName": "orders",
		"runtime": "python3.12",
		"role": "arn:aws:iam::123456789012:role/r",
		"handler": "app.handler",
		"code": {},
		"environment": {"variables": {"TABLE": hidden}},
	},
	props,
)

create_mapping(props) := merge(
	{
		"functionName": "orders",
		"eventSourceArn": source_arn,
		"filterCriteria": {"filters": [{"pattern": hidden}]},
	},
	props,
)

test_a_function_created_with_variables_and_no_key_fails if {
	findings := deny with input as call("CreateFunction20150331", create_function({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == "arn:aws:iam::123456789012:user/alice created function orders with environment variables and no KMSKeyArn: Lambda encrypts them with its AWS managed key."
}

test_a_function_created_with_an_empty_key_fails if {
	findings := deny with input as call("CreateFunction20150331", create_function({"kMSKeyArn": ""}))
	count(findings) == 1
}

test_a_function_created_with_variables_and_a_key_passes if {
	count(deny) == 0 with input as call("CreateFunction20150331", create_function({"kMSKeyArn": key_arn}))
}

test_a_key_spelled_kmsKeyArn_counts_and_passes if {
	count(deny) == 0 with input as call("CreateFunction20150331", create_function({"kmsKeyArn": key_arn}))
}

test_a_function_created_without_variables_passes if {
	# CloudTrail logs `environment: {}` for a call that sets none.
	count(deny) == 0 with input as call("CreateFunction20150331", create_function({"environment": {}}))
}

test_a_function_created_with_empty_variables_passes if {
	count(deny) == 0 with input as call("CreateFunction20150331", create_function({"environment": {"variables": {}}}))
}

test_a_denied_creation_passes if {
	request := create_function({})
	ev := event("CreateFunction20150331", request, {"errorCode": "AccessDeniedException", "errorMessage": "denied"})
	count(deny) == 0 with input as {"event": ev, "resolved": resolved(request, true), "facts": facts, "inventory": {}}
}

test_a_mapping_created_with_filters_and_no_key_fails if {
	findings := deny with input as call("CreateEventSourceMapping20150331", create_mapping({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message", "mapping"}
	f.mapping == source_arn
	f.message == "arn:aws:iam::123456789012:user/alice created an event source mapping for orders with filter criteria and no KMSKeyArn: Lambda encrypts them with an AWS owned key."
}

test_a_mapping_without_an_event_source_is_named_so_and_fails if {
	request := object.remove(create_mapping({}), ["eventSourceArn"])
	findings := deny with input as call("CreateEventSourceMapping20150331", request)
	count(findings) == 1
	some f in findings
	f.mapping == "unknown event source"
}

test_a_denied_mapping_creation_passes if {
	request := create_mapping({})
	ev := event("CreateEventSourceMapping20150331", request, {"errorCode": "InvalidParameterValueException"})
	count(deny) == 0 with input as {"event": ev, "resolved": resolved(request, true), "facts": facts, "inventory": {}}
}

test_a_mapping_created_with_filters_and_a_key_passes if {
	count(deny) == 0 with input as call("CreateEventSourceMapping20150331", create_mapping({"kMSKeyArn": key_arn}))
}

test_a_mapping_created_without_filters_passes if {
	request := object.remove(create_mapping({}), ["filterCriteria"])
	count(deny) == 0 with input as call("CreateEventSourceMapping20150331", request)
}

test_a_mapping_created_with_no_filters_in_its_criteria_passes if {
	count(deny) == 0 with input as call("CreateEventSourceMapping20150331", create_mapping({"filterCriteria": {"filters": []}}))
}

test_a_function_update_emptying_the_key_fails if {
	findings := deny with input as call("UpdateFunctionConfiguration20150331v2", {"functionName": "payments", "kMSKeyArn": ""})
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message", "function"}
	f.function == "payments"
	f.message == "arn:aws:iam::123456789012:user/alice set KMSKeyArn of payments to empty: its data is now encrypted with an AWS managed key."
}

test_a_function_update_emptying_kmsKeyArn_fails if {
	findings := deny with input as call("UpdateFunctionConfiguration20150331v2", {"functionName": "payments", "kmsKeyArn": ""})
	count(findings) == 1
}

test_a_mapping_update_emptying_the_key_fails if {
	findings := deny with input as call("UpdateEventSourceMapping20150331", {"uUID": uuid, "kMSKeyArn": ""})
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message", "mapping"}
	f.mapping == uuid
	f.message == "arn:aws:iam::123456789012:user/alice set KMSKeyArn of event source mapping a1b2c3d4-0000-0000-0000-000000000001 to empty: its filter criteria are now encrypted with an AWS owned key."
}

test_a_mapping_update_spelling_uuid_in_lower_case_fails if {
	findings := deny with input as call("UpdateEventSourceMapping20150331", {"uuid": uuid, "kMSKeyArn": ""})
	count(findings) == 1
	some f in findings
	contains(f.message, " set KMSKeyArn of event source mapping a1b2c3d4-0000-0000-0000-000000000001 to empty")
}

test_an_update_naming_nothing_fails_for_an_unknown_resource if {
	findings := deny with input as call("UpdateEventSourceMapping20150331", {"kMSKeyArn": ""})
	count(findings) == 1
	some f in findings
	contains(f.message, " set KMSKeyArn of event source mapping unknown to empty")
}

test_an_update_that_leaves_the_key_alone_passes if {
	request := {
		"environment": {},
		"functionName": "arn:aws:lambda:eu-west-1:123456789012:function:sample-function",
		"layers": ["arn:aws:lambda:eu-west-1:123456789012:layer:x:1"],
	}
	count(deny) == 0 with input as call("UpdateFunctionConfiguration20150331v2", request)
}

test_an_update_that_adds_variables_without_mentioning_the_key_passes if {
	# The key stays what it was: ATR-C007 reports only a key set to empty.
	request := {"functionName": "payments", "environment": {"variables": {"A": hidden}}}
	count(deny) == 0 with input as call("UpdateFunctionConfiguration20150331v2", request)
}

test_an_update_that_adds_filters_without_mentioning_the_key_passes if {
	request := {"uUID": uuid, "filterCriteria": {"filters": [{"pattern": hidden}]}}
	count(deny) == 0 with input as call("UpdateEventSourceMapping20150331", request)
}

test_an_update_setting_a_key_passes if {
	count(deny) == 0 with input as call("UpdateEventSourceMapping20150331", {"uUID": uuid, "kMSKeyArn": key_arn})
}

test_a_denied_update_emptying_the_key_passes if {
	request := {"functionName": "payments", "kMSKeyArn": ""}
	ev := event("UpdateFunctionConfiguration20150331v2", request, {"errorCode": "ResourceConflictException"})
	count(deny) == 0 with input as {"event": ev, "resolved": resolved(request, true), "facts": facts, "inventory": {}}
}

test_a_function_url_config_is_not_a_function_creation_and_passes if {
	# Routed as CreateFunction*, but it carries no variables.
	request := {"functionName": "orders", "authType": "AWS_IAM"}
	count(deny) == 0 with input as call("CreateFunctionUrlConfig20211031", request)
}

test_null_variables_and_user_agents_do_not_stop_the_rules_pass if {
	findings := deny with input as call("CreateFunction20150331", {"functionName": "payments", "environment": {"variables": null}})
	count(findings) == 0
}

test_an_aws_managed_alias_is_no_key_and_fails if {
	findings := deny with input as call("CreateFunction20150331", {"functionName": "payments", "environment": {"variables": {"A": "HIDDEN_DUE_TO_SECURITY_REASONS"}}, "kMSKeyArn": "alias/aws/lambda"})
	count(findings) == 1
}

test_a_null_key_is_no_key_and_fails if {
	findings := deny with input as call("CreateFunction20150331", {"functionName": "payments", "environment": {"variables": {"A": "HIDDEN_DUE_TO_SECURITY_REASONS"}}, "kMSKeyArn": null})
	count(findings) == 1
}
