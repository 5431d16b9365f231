# METADATA
# title: Lambda .zip package is not encrypted with a customer managed key
# description: |
#   Lambda stores a function's .zip deployment package encrypted at rest. Without
#   `SourceKMSKeyArn` it uses an AWS owned key: the account cannot audit or revoke its use, and
#   anyone who may read the function's code can. Container image functions (`PackageType:
#   Image`) are encrypted by ECR instead and are never reported. Sources that cannot show the
#   setting (`list-functions`, `get-function-configuration`) give `unknown`, not a failure.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/encrypt-zip-package.html
#     description: Encrypting Lambda .zip deployment packages
# custom:
#   id: ATR-L003
#   severity: low
#   security_severity: "3.0"
#   tags: [security, encryption, lambda, code]
#   remediation:
#     cloudformation: |
#       Set `Code.SourceKMSKeyArn` on the `AWS::Lambda::Function` to a customer managed key, e.g.
#       `SourceKMSKeyArn: !GetAtt CodeKey.Arn` inside `Code`.
#     sam: |
#       Set `SourceKMSKeyArn` on the `AWS::Serverless::Function` (or in `Globals.Function`).
#     serverless: |
#       The framework has no setting for it: add `Code.SourceKMSKeyArn` to the function it
#       generates, in `resources.Resources.<Function>LambdaFunction.Properties` (the finding names it).
#     terraform: |
#       Set `source_kms_key_arn = aws_kms_key.code.arn` on the `aws_lambda_function`.
#     cli: |
#       aws lambda update-function-code --function-name NAME --zip-file fileb://function.zip --source-kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
package atrest.rules.lambda.code_package_cmk

import data.atrest.lib.keys
import rego.v1

deny contains finding if {
	some f in input.functions
	f.package_type == "Zip"
	f.code_kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": f.id,
		"property": "code_kms_key",
		"trigger": "code",
		"message": sprintf("The .zip package of function %s is not encrypted with a customer managed key: %s.", [f.logical_id, keys.why_not(f.code_kms_key)]),
	}
}

deny contains finding if {
	some f in input.functions
	f.package_type in {"Zip", "unknown"}
	f.code_kms_key.state == "unknown"
	finding := {
		"resource": f.id,
		"property": "code_kms_key",
		"trigger": "code",
		"outcome": "unknown",
		"message": sprintf("Whether the .zip package of function %s uses a customer managed key is unknown: %s.", [f.logical_id, keys.why_not(f.code_kms_key)]),
	}
}

deny contains finding if {
	some f in input.functions
	f.package_type == "unknown"
	f.code_kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": f.id,
		"property": "code_kms_key",
		"trigger": "code",
		"outcome": "unknown",
		"message": sprintf("Function %s may be a .zip package (its PackageType is computed) and %s.", [f.logical_id, keys.why_not(f.code_kms_key)]),
	}
}
