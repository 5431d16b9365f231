package atrest.rules.cloudtrail.key_differs_from_inventory

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/b2c3d4e5-6789-01bc-def0-EXAMPLE22222"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

source_arn := "arn:aws:sqs:eu-west-1:123456789012:sample-source"

lambda_role := {
	"type": "AssumedRole",
	"arn": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"accountId": "123456789012",
	"invokedBy": "lambda.amazonaws.com",
}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {}, "aws_managed_keys": []}

event(identity, context) := {
	"eventVersion": "1.09",
	"userIdentity": identity,
	"eventTime": "2024-06-01T10:11:00Z",
	"eventSource": "kms.amazonaws.com",
	"eventName": "Decrypt",
	"awsRegion": "eu-west-1",
	"sourceIPAddress": "lambda.amazonaws.com",
	"userAgent": "lambda.amazonaws.com",
	"requestParameters": {"keyId": key_arn, "encryptionContext": context},
	"responseElements": null,
	"eventID": "00000000-0000-4000-8000-000000000011",
	"resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
	"eventType": "AwsApiCall",
	"recipientAccountId": "123456789012",
}

# Lambda decrypting a function's environment variables, and a mapping's filter criteria.
env_context := {"aws:lambda:FunctionArn": function_arn}

filter_context := {"aws:lambda:FunctionArn": function_arn, "aws:lambda:EventSourceArn": source_arn}

function(how, key) := {"id": "template.yaml#SampleFunction", "logical_id": "SampleFunction", "match": how, "key": key}

mapping(how, key) := {"id": "template.yaml#SampleFunctionQueue", "logical_id": "SampleFunctionQueue", "match": how, "key": key}

base := {
	"key": {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false},
	"principal": "arn:aws:sts::123456789012:assumed-role/fn-role/sample-function",
	"invoked_by": "lambda.amazonaws.com",
	"lambda_context": true,
	"failed": false,
	"function": {"arn": function_arn, "name": "sample-function"},
}

# What atrest resolves for an environment variable call: no event source, no mappings.
for_function(functions) := merge(base, {"inventory": {"given": true, "function_known": true, "functions": functions}})

# ... and for a filter criteria call.
for_mapping(mappings) := merge(base, {
	"event_source_arn": source_arn,
	"inventory": {"given": true, "function_known": true, "functions": [function("arn", "match")], "mappings": mappings},
})

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

test_a_function_using_another_key_fails if {
	findings := deny with input as call(event(lambda_role, env_context), for_function([function("arn", "mismatch")]))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"Lambda used key %s for function SampleFunction, but the inventory declares another key for it.",
		[key_arn],
	)
}

test_a_function_declared_without_a_customer_managed_key_fails if {
	findings := deny with input as call(event(lambda_role, env_context), for_function([function("arn", "none")]))
	count(findings) == 1
	some f in findings
	endswith(f.message, "for function SampleFunction, but the inventory declares no customer managed key for it.")
}

test_a_function_matched_by_name_says_so_and_fails if {
	findings := deny with input as call(event(lambda_role, env_context), for_function([function("name", "mismatch")]))
	count(findings) == 1
	some f in findings
	contains(f.message, "for function SampleFunction (matched by name), but")
}

test_a_function_using_its_declared_key_passes if {
	count(deny) == 0 with input as call(event(lambda_role, env_context), for_function([function("arn", "match")]))
}

test_a_function_any_of_whose_declarations_matches_passes if {
	# The same function in two templates: one of them declares this key.
	other := {"id": "other.yaml#Sample", "logical_id": "Sample", "match": "name", "key": "mismatch"}
	count(deny) == 0 with input as call(event(lambda_role, env_context), for_function([other, function("arn", "match")]))
}

test_a_key_that_cannot_be_compared_passes if {
	# E.g. the template names the key through a parameter: no verdict, and no unknown outcome.
	count(deny) == 0 with input as call(event(lambda_role, env_context), for_function([function("arn", "unknown")]))
}

test_a_mapping_using_another_key_fails if {
	findings := deny with input as call(event(lambda_role, filter_context), for_mapping([mapping("arn", "mismatch")]))
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message", "mapping"}
	f.mapping == source_arn
	f.message == sprintf(
		"Lambda used key %s for the filter criteria of mapping SampleFunctionQueue (event source %s), but the inventory declares another key for it.",
		[key_arn, source_arn],
	)
}

test_a_mapping_declared_without_a_customer_managed_key_fails if {
	findings := deny with input as call(event(lambda_role, filter_context), for_mapping([mapping("arn", "none")]))
	count(findings) == 1
	some f in findings
	endswith(f.message, "but the inventory declares no customer managed key for it.")
}

test_a_mapping_matched_by_function_only_says_so_and_fails if {
	findings := deny with input as call(event(lambda_role, filter_context), for_mapping([mapping("function only", "mismatch")]))
	count(findings) == 1
	some f in findings
	contains(f.message, "mapping SampleFunctionQueue (matched by function; the mapping's event source is not known statically) (event source ")
}

test_a_mapping_using_its_declared_key_passes if {
	count(deny) == 0 with input as call(event(lambda_role, filter_context), for_mapping([mapping("arn", "match")]))
}

test_a_mapping_any_of_whose_candidates_matches_passes if {
	maybe := {"id": "template.yaml#SampleFunctionStream", "logical_id": "SampleFunctionStream", "match": "function only", "key": "mismatch"}
	count(deny) == 0 with input as call(event(lambda_role, filter_context), for_mapping([maybe, mapping("arn", "match")]))
}

test_a_filter_criteria_call_does_not_compare_the_functions_key_and_passes if {
	# With an event source, only mappings are compared; one the inventory lacks is ATR-C002's.
	r := merge(for_mapping([]), {"inventory": merge(for_mapping([]).inventory, {"functions": [function("arn", "mismatch")]})})
	count(deny) == 0 with input as call(event(lambda_role, filter_context), r)
}

test_a_call_not_made_through_lambda_passes if {
	# ATR-C001 reports someone else using Lambda's context.
	alice := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"}
	r := merge(object.remove(for_function([function("arn", "mismatch")]), ["invoked_by"]), {"principal": alice.arn})
	count(deny) == 0 with input as call(event(alice, env_context), r)
}

test_a_lambda_call_without_lambdas_context_passes if {
	# atrest finds the function only in Lambda's context, so this input is built by hand: the
	# rule's own guard must hold without it.
	r := merge(for_function([function("arn", "mismatch")]), {"lambda_context": false})
	count(deny) == 0 with input as call(event(lambda_role, {"purpose": "other"}), r)
}

test_a_filter_criteria_call_not_made_through_lambda_passes if {
	alice := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice", "accountId": "123456789012"}
	r := merge(object.remove(for_mapping([mapping("arn", "mismatch")]), ["invoked_by"]), {"principal": alice.arn})
	count(deny) == 0 with input as call(event(alice, filter_context), r)
}

test_a_lambda_call_for_a_mapping_without_lambdas_context_passes if {
	# Built by hand, as above: the event source comes only from Lambda's context.
	r := merge(for_mapping([mapping("arn", "mismatch")]), {"lambda_context": false})
	count(deny) == 0 with input as call(event(lambda_role, {"purpose": "other"}), r)
}
