package atrest.rules.cloudtrail.unknown_mapping

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

source_arn := "arn:aws:sqs:eu-west-1:123456789012:sample-source"

lambda_role := {
	"type": "AssumedRole",
	"arn": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"accountId": "123456789012",
	"invokedBy": "lambda.amazonaws.com",
}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {}, "aws_managed_keys": []}

# Lambda decrypting the filter criteria of a mapping from `source_arn` to the function.
event(identity, context) := {
	"eventVersion": "1.09",
	"userIdentity": identity,
	"eventTime": "2024-06-01T10:09:00Z",
	"eventSource": "kms.amazonaws.com",
	"eventName": "Decrypt",
	"awsRegion": "eu-west-1",
	"sourceIPAddress": "lambda.amazonaws.com",
	"userAgent": "lambda.amazonaws.com",
	"requestParameters": {"keyId": key_arn, "encryptionContext": context},
	"responseElements": null,
	"eventID": "00000000-0000-4000-8000-000000000009",
	"resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
	"eventType": "AwsApiCall",
	"recipientAccountId": "123456789012",
}

filter_context := {"aws:lambda:FunctionArn": function_arn, "aws:lambda:EventSourceArn": source_arn}

sample_function(how) := {"id": "template.yaml#SampleFunction", "logical_id": "SampleFunction", "match": how, "key": "match"}

# The function is in the inventory; none of its mappings reads from `source_arn`.
known_function := {"given": true, "function_known": true, "functions": [sample_function("arn")], "mappings": []}

resolved(props) := merge(
	{
		"key": {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false},
		"principal": lambda_role.arn,
		"invoked_by": "lambda.amazonaws.com",
		"lambda_context": true,
		"failed": false,
		"function": {"arn": function_arn, "name": "sample-function"},
		"event_source_arn": source_arn,
		"inventory": known_function,
	},
	props,
)

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

test_a_mapping_the_inventory_does_not_have_fails if {
	findings := deny with input as call(event(lambda_role, filter_context), resolved({}))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message", "mapping"}
	f.mapping == source_arn
	f.message == sprintf(
		"Lambda used key %s for function %s and event source %s, but the inventory has no mapping from that event source to function SampleFunction.",
		[key_arn, function_arn, source_arn],
	)
}

test_a_function_matched_by_name_says_so_and_fails if {
	r := resolved({"inventory": merge(known_function, {"functions": [sample_function("name")]})})
	findings := deny with input as call(event(lambda_role, filter_context), r)
	count(findings) == 1
	some f in findings
	endswith(f.message, "to function SampleFunction (matched by name).")
}

test_each_inventory_function_of_the_name_fails if {
	# Two templates declare the function: each is missing the mapping.
	other := {"id": "other.yaml#Sample", "logical_id": "Sample", "match": "name", "key": "none"}
	r := resolved({"inventory": merge(known_function, {"functions": [sample_function("arn"), other]})})
	findings := deny with input as call(event(lambda_role, filter_context), r)
	count(findings) == 2
	every f in findings {
		f.mapping == "arn:aws:sqs:eu-west-1:123456789012:sample-source"
	}
}

test_a_mapping_the_inventory_has_passes if {
	known := {"id": "template.yaml#SampleFunctionQueue", "logical_id": "SampleFunctionQueue", "match": "arn", "key": "match"}
	r := resolved({"inventory": merge(known_function, {"mappings": [known]})})
	count(deny) == 0 with input as call(event(lambda_role, filter_context), r)
}

test_a_mapping_whose_event_source_is_not_known_statically_passes if {
	# A mapping of the function with a computed event source may be this one.
	maybe := {"id": "template.yaml#SampleFunctionQueue", "logical_id": "SampleFunctionQueue", "match": "function only", "key": "unknown"}
	r := resolved({"inventory": merge(known_function, {"mappings": [maybe]})})
	count(deny) == 0 with input as call(event(lambda_role, filter_context), r)
}

test_a_scan_without_inventory_passes if {
	r := resolved({"inventory": {"given": false, "function_known": false, "functions": [], "mappings": []}})
	count(deny) == 0 with input as call(event(lambda_role, filter_context), r)
}

test_a_function_the_inventory_does_not_know_passes if {
	r := resolved({"inventory": {"given": true, "function_known": false, "functions": [], "mappings": []}})
	count(deny) == 0 with input as call(event(lambda_role, filter_context), r)
}

test_an_environment_variable_decrypt_without_an_event_source_passes if {
	r := merge(
		object.remove(resolved({}), ["event_source_arn"]),
		{"inventory": object.remove(known_function, ["mappings"])},
	)
	count(deny) == 0 with input as call(event(lambda_role, {"aws:lambda:FunctionArn": function_arn}), r)
}

test_a_call_not_made_through_lambda_passes if {
	# ATR-C001 reports someone else using Lambda's context.
	alice := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"}
	r := object.remove(resolved({"principal": alice.arn}), ["invoked_by"])
	count(deny) == 0 with input as call(event(alice, filter_context), r)
}
