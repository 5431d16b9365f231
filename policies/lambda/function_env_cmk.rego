# METADATA
# title: Lambda environment variables are not encrypted with a customer managed key
# description: |
#   A function with environment variables and no customer managed KMS key (`KmsKeyArn` absent,
#   empty, or an AWS managed key such as `alias/aws/lambda`) has its variables encrypted at rest
#   with the AWS managed key. Anyone the account lets use that key can decrypt them, its key
#   policy cannot be changed, and its use cannot be limited to this function.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#customer-cmk
#     description: Customer managed keys
# custom:
#   id: ATR-L001
#   severity: medium
#   security_severity: "5.5"
#   tags: [security, encryption, lambda, environment-variables]
#   remediation:
#     cloudformation: |
#       Set `KmsKeyArn` on the `AWS::Lambda::Function` to a customer managed key, e.g.
#       `KmsKeyArn: !GetAtt FunctionKey.Arn` with an `AWS::KMS::Key` declared in the template.
#     sam: |
#       Set `KmsKeyArn` on the `AWS::Serverless::Function` (or once in `Globals.Function`) to a
#       customer managed key, e.g. `KmsKeyArn: !GetAtt FunctionKey.Arn`.
#     serverless: |
#       Set `kmsKeyArn` on the function (or once under `provider`) to a customer managed key, e.g.
#       `kmsKeyArn: !GetAtt FunctionKey.Arn` with the `AWS::KMS::Key` declared in `resources`.
#     terraform: |
#       Set `kms_key_arn = aws_kms_key.lambda.arn` on the `aws_lambda_function`.
#     cli: |
#       aws lambda update-function-configuration --function-name NAME --kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
#   equivalents:
#     - {tool: Checkov, id: CKV_AWS_173, note: "passes any KmsKeyArn, also alias/aws/lambda"}
package atrest.rules.lambda.function_env_cmk

import data.atrest.lib.keys
import rego.v1

# Conditions are written inline rather than as helper functions: regorus pays a path lookup for
# every function call, and these run once per function of the input.

deny contains finding if {
	some f in input.functions
	count(f.environment.variables) > 0
	f.kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": f.id,
		"property": "kms_key",
		"trigger": "environment",
		"message": sprintf("Function %s has environment variables but %s.", [f.logical_id, keys.why_not(f.kms_key)]),
	}
}

deny contains finding if {
	some f in input.functions
	count(f.environment.variables) > 0
	f.kms_key.state == "unknown"
	finding := {
		"resource": f.id,
		"property": "kms_key",
		"trigger": "environment",
		"outcome": "unknown",
		"message": sprintf("Function %s has environment variables and %s.", [f.logical_id, keys.why_not(f.kms_key)]),
	}
}

deny contains finding if {
	some f in input.functions
	count(f.environment.variables) == 0
	f.environment.variables_unknown
	not f.kms_key.state == "customer_managed"
	finding := {
		"resource": f.id,
		"property": "environment",
		"outcome": "unknown",
		"message": sprintf("Function %s may have environment variables (computed by an expression) and %s.", [f.logical_id, keys.why_not(f.kms_key)]),
	}
}
