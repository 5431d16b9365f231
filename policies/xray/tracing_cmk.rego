# METADATA
# title: Traced functions send data to X-Ray without a customer managed key
# description: |
#   With active tracing, Lambda sends trace segments (request metadata, annotations, error
#   details) to AWS X-Ray. X-Ray encrypts them with an AWS owned key unless the account's
#   encryption configuration (`aws xray get-encryption-config`) is `KMS` with a customer
#   managed key. CloudFormation templates cannot show that account setting; Terraform shows it
#   where the configuration declares `aws_xray_encryption_config`. Without it in the input the
#   result is unknown.
# related_resources:
#   - ref: https://docs.aws.amazon.com/xray/latest/devguide/xray-console-encryption.html
#     description: Configuring encryption settings in X-Ray
# custom:
#   id: ATR-L008
#   severity: low
#   security_severity: "3.0"
#   tags: [security, encryption, lambda, xray]
#   remediation:
#     cloudformation: |
#       The X-Ray encryption setting is per account and Region; set it once with the CLI (below).
#     sam: |
#       The X-Ray encryption setting is per account and Region; set it once with the CLI (below).
#     serverless: |
#       The X-Ray encryption setting is per account and Region; set it once with the CLI (below).
#     terraform: |
#       Declare `aws_xray_encryption_config` with `type = "KMS"` and `key_id = aws_kms_key.xray.arn`.
#     cli: |
#       aws xray put-encryption-config --type KMS --key-id arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
package atrest.rules.xray.tracing_cmk

import data.atrest.lib.keys
import rego.v1

traced := [f.logical_id | some f in input.functions; f.tracing_mode == "Active"]

deny contains finding if {
	some f in input.functions
	f.tracing_mode == "Active"
	count(input.xray_encryption) == 0
	finding := {
		"resource": f.id,
		"property": "tracing_mode",
		"outcome": "unknown",
		"message": sprintf("Function %s sends traces to X-Ray; whether the account encrypts them with a customer managed key is not in this input (declare `aws_xray_encryption_config` in Terraform, or add `aws xray get-encryption-config` output).", [f.logical_id]),
	}
}

deny contains finding if {
	count(traced) > 0
	some x in input.xray_encryption
	not x.type == "KMS"
	finding := {
		"resource": x.id,
		"property": "type",
		"message": sprintf("X-Ray encryption is %s, not KMS with a customer managed key, and functions send traces to it (%s).", [x.type, concat(", ", traced)]),
	}
}

deny contains finding if {
	count(traced) > 0
	some x in input.xray_encryption
	x.type == "KMS"
	x.kms_key.state in {"absent", "aws_managed"}
	finding := {
		"resource": x.id,
		"property": "kms_key",
		"message": sprintf("X-Ray encrypts the traces of %s without a customer managed key: %s.", [concat(", ", traced), keys.why_not(x.kms_key)]),
	}
}
