package atrest.rules.lambda.deployed_key_drift

import rego.v1

# Deployments as the model pairs them (see src/model/drift.rs): a template function and the
# deployed function of the same name, with each key both sides set and whether they agree.
key_a := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

key_b := "arn:aws:kms:eu-west-1:111122223333:key/2345bcde-23bc-45de-67fa-234567890abc"

literal(property, arn) := {"state": "customer_managed", "value": arn, "assumed": true, "chain": [property, sprintf("%q", [arn])]}

absent(property) := {"state": "absent", "assumed": false, "chain": [property]}

aws_managed := {"state": "aws_managed", "value": "alias/aws/lambda", "assumed": false, "chain": ["KmsKeyArn", "\"alias/aws/lambda\""]}

declared := {"state": "customer_managed", "key": "template.yaml#FunctionKey", "assumed": false, "chain": ["KmsKeyArn", "!GetAtt FunctionKey.Arn"]}

pair(property, template, deployed, same) := {
	"property": property,
	"template": template,
	"template_at": "template.yaml:16:7",
	"deployed": deployed,
	"same": same,
}

deployment_id := "deployment:arn:aws:lambda:eu-west-1:111122223333:function:orders-api<-template.yaml#OrdersFunction"

deployment(keys) := {
	"id": deployment_id,
	"source": "aws-api",
	"logical_id": "orders-api",
	"resource_type": "AWS::Lambda::Function",
	"function": "arn:aws:lambda:eu-west-1:111122223333:function:orders-api",
	"template": {"source": "cloudformation", "logical_id": "OrdersFunction", "file": "template.yaml"},
	"keys": keys,
}

test_another_customer_managed_key_deployed_fails if {
	d := deployment([pair("kms_key", literal("KmsKeyArn", key_a), literal("KMSKeyArn", key_b), false)])
	findings := deny with input as {"deployments": [d]}
	count(findings) == 1
	some f in findings
	f.resource == deployment_id
	f.property == "kms_key"
	not f.trigger
	not f.outcome
	f.message == sprintf(
		"The deployed key of function orders-api differs from the key in the template: the deployed function has KMSKeyArn <- \"%s\" (customer managed), but OrdersFunction in the cloudformation template (template.yaml:16:7) has KmsKeyArn <- \"%s\" (customer managed).",
		[key_b, key_a],
	)
}

test_a_template_key_missing_from_the_deployed_function_fails if {
	d := deployment([pair("kms_key", literal("KmsKeyArn", key_a), absent("KMSKeyArn"), false)])
	findings := deny with input as {"deployments": [d]}
	count(findings) == 1
	some f in findings
	f.property == "kms_key"
	not f.outcome
	contains(f.message, "the deployed function has no KMSKeyArn (a key AWS controls), but OrdersFunction")
}

test_a_key_set_outside_the_template_fails if {
	d := deployment([pair("kms_key", absent("KmsKeyArn"), literal("KMSKeyArn", key_b), false)])
	findings := deny with input as {"deployments": [d]}
	count(findings) == 1
	some f in findings
	f.property == "kms_key"
	not f.outcome
	endswith(f.message, "(template.yaml:16:7) has no KmsKeyArn (a key AWS controls).")
}

test_an_aws_managed_key_against_a_customer_managed_one_fails if {
	d := deployment([pair("kms_key", aws_managed, literal("KMSKeyArn", key_b), false)])
	findings := deny with input as {"deployments": [d]}
	count(findings) == 1
	some f in findings
	not f.outcome
	endswith(f.message, "has KmsKeyArn <- \"alias/aws/lambda\" (aws managed).")
}

test_the_same_key_on_both_sides_passes if {
	d := deployment([pair("kms_key", literal("KmsKeyArn", key_a), literal("KMSKeyArn", key_a), true)])
	count(deny) == 0 with input as {"deployments": [d]}
}

test_keys_aws_controls_on_both_sides_pass if {
	# Absent and AWS managed keys are all "a key AWS controls": the model says they agree.
	d := deployment([pair("kms_key", aws_managed, absent("KMSKeyArn"), true)])
	count(deny) == 0 with input as {"deployments": [d]}
}

test_a_key_declared_in_the_template_is_not_compared_and_passes if {
	# A key the template declares has no id before deployment: `same` is unknown, and the rule
	# reports nothing (not even an unknown outcome).
	d := deployment([pair("kms_key", declared, literal("KMSKeyArn", key_b), "unknown")])
	count(deny) == 0 with input as {"deployments": [d]}
}

test_each_drifted_key_of_a_function_fails_on_its_own_property if {
	d := deployment([
		pair("kms_key", literal("KmsKeyArn", key_a), literal("KMSKeyArn", key_a), true),
		pair("code_kms_key", literal("Code.SourceKMSKeyArn", key_a), absent("Code.SourceKMSKeyArn"), false),
		pair("durable.kms_key", absent("DurableConfig.KMSKeyArn"), literal("DurableConfig.KMSKeyArn", key_b), false),
	])
	findings := deny with input as {"deployments": [d]}
	count(findings) == 2
	{f.property | some f in findings} == {"code_kms_key", "durable.kms_key"}
	every f in findings {
		f.resource == deployment_id
	}
}

test_functions_without_a_deployed_pair_pass if {
	count(deny) == 0 with input as {"deployments": []}
}
