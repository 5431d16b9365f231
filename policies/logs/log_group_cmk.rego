# METADATA
# title: A Lambda function's log group is not encrypted with a customer managed key
# description: |
#   What a function logs (often request payloads, identifiers, error details) is stored in its
#   CloudWatch Logs log group: `LoggingConfig.LogGroup`, else `/aws/lambda/<FunctionName>`.
#   A log group declared without `KmsKeyId` is encrypted with a key the account does not
#   control. Where no log group is declared for a function in the same input, Lambda creates one
#   on the first invocation, without a KMS key: that is reported as unknown, with the hint to
#   declare the log group.
# related_resources:
#   - ref: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
#     description: Encrypt log data in CloudWatch Logs using AWS KMS
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html
#     description: Lambda log groups
# custom:
#   id: ATR-L004
#   severity: low
#   security_severity: "3.0"
#   tags: [security, encryption, lambda, logs]
#   remediation:
#     cloudformation: |
#       Declare the function's `AWS::Logs::LogGroup` (name `/aws/lambda/<FunctionName>`, or point
#       `LoggingConfig.LogGroup` at it) with `KmsKeyId: !GetAtt LogsKey.Arn`; the key policy must
#       allow `logs.<region>.amazonaws.com` to use the key.
#     sam: |
#       Declare an `AWS::Logs::LogGroup` for the function with `KmsKeyId`, and set
#       `LoggingConfig.LogGroup` on the `AWS::Serverless::Function` to it.
#     serverless: |
#       Give the log group the framework creates a key in
#       `resources.Resources.<Function>LogGroup.Properties.KmsKeyId` (the finding names it), or point
#       `logs.logGroup` at a log group declared with one; the key policy must allow
#       `logs.<region>.amazonaws.com` to use the key.
#     terraform: |
#       Declare `aws_cloudwatch_log_group` with `name = "/aws/lambda/${aws_lambda_function.x.function_name}"`
#       and `kms_key_id = aws_kms_key.logs.arn`.
#     cli: |
#       aws logs associate-kms-key --log-group-name /aws/lambda/NAME --kms-key-id arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
#   equivalents:
#     - {tool: Checkov, id: CKV_AWS_158, note: "every log group, not only functions' ones"}
#     - {tool: Trivy, id: AVD-AWS-0017, note: "every log group"}
#     - {tool: KICS, id: 0afbcfe9-d341-4b92-a64c-7e6de0543879, note: "Terraform, every log group"}
package atrest.rules.logs.log_group_cmk

import data.atrest.lib.keys
import rego.v1

deny contains finding if {
	some lg in input.log_groups
	count(lg.written_by) > 0
	lg.kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": lg.id,
		"property": "kms_key",
		"message": sprintf("Log group %s (written by %s) is not encrypted with a customer managed key: %s.", [lg.logical_id, concat(", ", lg.written_by), keys.why_not(lg.kms_key)]),
	}
}

deny contains finding if {
	some lg in input.log_groups
	count(lg.written_by) > 0
	lg.kms_key.state == "unknown"
	finding := {
		"resource": lg.id,
		"property": "kms_key",
		"outcome": "unknown",
		"message": sprintf("Log group %s (written by %s): %s.", [lg.logical_id, concat(", ", lg.written_by), keys.why_not(lg.kms_key)]),
	}
}

log_group_name(f) := f.log_group

log_group_name(f) := "/aws/lambda/<generated name>" if not f.log_group

deny contains finding if {
	some f in input.functions
	not f.log_group_resource
	finding := {
		"resource": f.id,
		"property": "log_group",
		"outcome": "unknown",
		"message": sprintf("No log group is declared for function %s in this input (%s): a log group Lambda creates itself has no KMS key. Declare it with a customer managed key.", [f.logical_id, log_group_name(f)]),
	}
}
