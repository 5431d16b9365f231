# METADATA
# title: A function's customer managed key policy does not fit how Lambda uses the key
# description: |
#   Lambda decrypts a function's environment variables with the function's execution role at
#   start-up. If the key policy of the function's customer managed key lets neither that role,
#   nor the account (which delegates to IAM policies), nor `lambda.amazonaws.com` use
#   `kms:Decrypt`, the function fails with `KMSAccessDeniedException`. Conversely (advisory), a
#   statement that lets any principal (`*`) decrypt without a
#   `kms:EncryptionContext:aws:lambda:FunctionArn` condition, or a condition limiting callers to
#   an account or organisation, lets anyone who can reach the key decrypt Lambda's data.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars-encryption.html
#     description: Securing Lambda environment variables
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
#     description: Key policies in AWS KMS
# custom:
#   id: ATR-L010
#   severity: low
#   security_severity: "3.0"
#   tags: [security, encryption, kms, key-policy]
#   remediation:
#     cloudformation: |
#       In the `AWS::KMS::Key` `KeyPolicy`, allow `kms:Decrypt` to the function's role
#       (`Principal: {AWS: !GetAtt FunctionRole.Arn}`) with the condition
#       `StringEquals: {kms:EncryptionContext:aws:lambda:FunctionArn: <function ARN>}`, and do not
#       allow `*` without such a condition.
#     sam: |
#       In the `AWS::KMS::Key` `KeyPolicy`, allow `kms:Decrypt` to the function's role, limited by
#       `kms:EncryptionContext:aws:lambda:FunctionArn`.
#     serverless: |
#       In the `KeyPolicy` of the `AWS::KMS::Key` in `resources.Resources`, allow `kms:Decrypt` to
#       the functions' role, limited by `kms:EncryptionContext:aws:lambda:FunctionArn`.
#     terraform: |
#       In `aws_kms_key.policy` (or `aws_kms_key_policy`), allow `kms:Decrypt` to
#       `aws_iam_role.lambda.arn` with a `kms:EncryptionContext:aws:lambda:FunctionArn` condition.
#     cli: |
#       aws kms put-key-policy --key-id KEY_ID --policy-name default --policy file://policy.json
package atrest.rules.kms.key_policy_lambda

import rego.v1

decrypts(st) if {
	st.effect == "Allow"
	some a in st.actions
	glob.match(lower(a), [], "kms:decrypt")
}

# An account principal, also when written with pseudo parameters
# (`arn:${AWS::Partition}:iam::${AWS::AccountId}:root`).
account_root(p) if regex.match(`^(arn:([^:$]+|\$\{[^}]+\}):iam::([0-9]{12}|\$\{[^}]+\}):root|[0-9]{12}|\$\{AWS::AccountId\})$`, p)

usable_by(st, f) if st.any_principal

usable_by(st, f) if {
	some p in st.aws_principals
	account_root(p)
}

usable_by(st, f) if f.role.resource in st.principal_resources

usable_by(st, f) if f.role.value in st.aws_principals

usable_by(st, f) if "lambda.amazonaws.com" in st.service_principals

# Indexed once per evaluation: a lookup per function, not a scan of every key.
keys_by_id := {k.id: k | some k in input.kms_keys}

key_of(f) := keys_by_id[f.kms_key.key]

# Lambda uses the function's key only for its environment variables: without any, the key
# policy cannot make the function fail.
has_environment(f) if count(f.environment.variables) > 0

has_environment(f) if f.environment.variables_unknown

# The role's ARN or resource is known, and written without placeholders to compare.
role_known(f) if f.role.resource

role_known(f) if {
	f.role.value
	not contains(f.role.value, "${")
}

role_name(arn) := name if {
	some m in regex.find_all_string_submatch_n(`:role/(.+)$`, arn, 1)
	name := m[1]
}

# A statement names a role of the same name as the function's, with an account written as a
# placeholder on either side (`${AWS::AccountId}`): it may well be the function's role.
maybe_usable(k, f) if {
	some st in k.policy_statements
	decrypts(st)
	some p in st.aws_principals
	role_name(p) == role_name(f.role.value)
	contains(concat("", [p, f.role.value]), "${")
}

candidate(f) := k if {
	f.kms_key.state == "customer_managed"
	has_environment(f)
	k := key_of(f)
	k.policy_state == "declared"
	not any_usable(k, f)
}

deny contains finding if {
	some f in input.functions
	k := candidate(f)
	role_known(f)
	not maybe_usable(k, f)
	finding := {
		"resource": k.id,
		"property": "policy",
		"subject": f.id,
		"message": sprintf("The key policy of %s allows kms:Decrypt neither to the role of function %s, nor to the account (IAM), nor to lambda.amazonaws.com: the function cannot decrypt its environment variables.", [k.logical_id, f.logical_id]),
	}
}

deny contains finding if {
	some f in input.functions
	k := candidate(f)
	not role_known(f)
	finding := {
		"resource": k.id,
		"property": "policy",
		"subject": f.id,
		"outcome": "unknown",
		"message": sprintf("The key policy of %s allows kms:Decrypt neither to the account (IAM) nor to lambda.amazonaws.com, and the role of function %s cannot be resolved to compare it with the policy's principals.", [k.logical_id, f.logical_id]),
	}
}

deny contains finding if {
	some f in input.functions
	k := candidate(f)
	role_known(f)
	maybe_usable(k, f)
	finding := {
		"resource": k.id,
		"property": "policy",
		"subject": f.id,
		"outcome": "unknown",
		"message": sprintf("The key policy of %s allows kms:Decrypt to a role named like the role of function %s, but with an account that cannot be compared (a placeholder on one side).", [k.logical_id, f.logical_id]),
	}
}

any_usable(k, f) if {
	some st in k.policy_statements
	decrypts(st)
	usable_by(st, f)
}

restricting_condition(st) if {
	some c in st.condition_keys
	c in {
		"kms:encryptioncontext:aws:lambda:functionarn",
		"kms:calleraccount",
		"aws:principalaccount",
		"aws:principalorgid",
		"aws:sourceaccount",
	}
}

deny contains finding if {
	some k in input.kms_keys
	count(k.used_by) > 0
	some st in k.policy_statements
	decrypts(st)
	st.any_principal
	not restricting_condition(st)
	finding := {
		"resource": k.id,
		"property": "policy",
		"message": sprintf("The key policy of %s lets any principal (*) use kms:Decrypt with no kms:EncryptionContext:aws:lambda:FunctionArn or account condition (advisory).", [k.logical_id]),
	}
}
