# METADATA
# title: The deployed key differs from the key in the template
# description: |
#   A function declared in a template (with a literal function name) and found under that name
#   in the deployed state (AWS CLI/API output) is encrypted with a different key than the
#   template says: one side uses a customer managed key and the other a key AWS controls, or
#   they name different customer managed keys. Someone changed the function outside the
#   template, or the template was not deployed: a review of the template does not describe
#   what protects the data. Reported only where both keys can be resolved to a key id; a key
#   declared in the template (whose id exists only once deployed) is not compared.
# related_resources:
#   - ref: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-drift.html
#     description: Detect unmanaged configuration changes to stacks and resources with drift detection
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
# custom:
#   id: ATR-L011
#   severity: medium
#   security_severity: "5.0"
#   tags: [security, encryption, lambda, drift]
#   remediation:
#     cloudformation: |
#       Redeploy the stack so the function gets the template's key, or change the template to the
#       key that is deployed; run drift detection to find other changes.
#     sam: |
#       Redeploy (`sam deploy`) so the function gets the template's key, or change the template to
#       the key that is deployed.
#     serverless: |
#       Redeploy (`serverless deploy`) so the function gets the service's key, or change
#       `kmsKeyArn` to the key that is deployed.
#     terraform: |
#       Run `terraform plan` to see the drift and `terraform apply` to restore the configured key,
#       or change `kms_key_arn` to the key that is deployed.
#     cli: |
#       Redeploy from the template, or set the template's key:
#       aws lambda update-function-configuration --function-name NAME --kms-key-arn arn:aws:kms:REGION:ACCOUNT:key/KEY_ID
package atrest.rules.lambda.deployed_key_drift

import rego.v1

describe(ref) := sprintf("no %s (a key AWS controls)", [ref.chain[0]]) if ref.state == "absent"

describe(ref) := sprintf("%s (%s)", [concat(" <- ", ref.chain), replace(ref.state, "_", " ")]) if {
	ref.state != "absent"
}

deny contains finding if {
	some d in input.deployments
	some k in d.keys
	k.same == false
	finding := {
		"resource": d.id,
		"property": k.property,
		"related": [{"property": sprintf("template.%s", [k.property]), "message": sprintf("the key in the %s template", [d.template.source])}],
		"message": sprintf("The deployed key of function %s differs from the key in the template: the deployed function has %s, but %s in the %s template (%s) has %s.", [d.logical_id, describe(k.deployed), d.template.logical_id, d.template.source, k.template_at, describe(k.template)]),
	}
}
