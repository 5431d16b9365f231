# METADATA
# title: Durable function execution data is not encrypted with a customer managed key
# description: |
#   A durable function (`DurableConfig`) persists invocation payloads, checkpoints, results and
#   callback data for up to a year. Without `DurableConfig.KMSKeyArn` they are encrypted with a
#   key the account does not control. The function-level `KmsKeyArn` does not cover this data.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/durable-encryption.html
#     description: Encrypting AWS Lambda durable execution data
# custom:
#   id: ATR-L007
#   severity: low
#   security_severity: "3.0"
#   tags: [security, encryption, lambda, durable-functions]
#   remediation:
#     cloudformation: |
#       Set `DurableConfig.KMSKeyArn` on the `AWS::Lambda::Function` to a customer managed key.
#     sam: |
#       Set `DurableConfig.KMSKeyArn` on the `AWS::Serverless::Function`.
#     serverless: |
#       The framework's `durableConfig` has no key: add `DurableConfig.KMSKeyArn` to the generated
#       function in `resources.Resources.<Function>LambdaFunction.Properties`.
#     terraform: |
#       The AWS provider's `durable_config` block has no key argument (only `execution_timeout`
#       and `retention_period`), so a durable function declared in Terraform always fails this
#       rule. Set the key with the CLI (below) after `terraform apply`, and suppress the finding
#       with its reason (`# atrest:ignore ATR-L007 reason="key set by the CLI"`) until the
#       provider supports it.
#     cli: |
#       aws lambda update-function-configuration --function-name NAME --durable-config '{"ExecutionTimeout": 3600, "KMSKeyArn": "arn:aws:kms:REGION:ACCOUNT:key/KEY_ID"}'
package atrest.rules.lambda.durable_cmk

import data.atrest.lib.keys
import rego.v1

deny contains finding if {
	some f in input.functions
	f.durable.kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": f.id,
		"property": "durable.kms_key",
		"trigger": "durable",
		"message": sprintf("Durable function %s stores execution data without a customer managed key: %s.", [f.logical_id, keys.why_not(f.durable.kms_key)]),
	}
}

deny contains finding if {
	some f in input.functions
	f.durable.kms_key.state == "unknown"
	finding := {
		"resource": f.id,
		"property": "durable.kms_key",
		"trigger": "durable",
		"outcome": "unknown",
		"message": sprintf("Durable function %s: %s.", [f.logical_id, keys.why_not(f.durable.kms_key)]),
	}
}
