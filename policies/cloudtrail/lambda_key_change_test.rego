package atrest.rules.cloudtrail.lambda_key_change

import rego.v1

# Each member of `props` replaces the member of `base` it names (object.union would merge
# nested objects instead).
merge(base, props) := object.union(object.remove(base, {k | some k, _ in props}), props)

# Inputs as src/trail/mod.rs `evaluate` builds them: the record as logged, what atrest resolved
# for it (src/trail/correlate.rs `resolve`), the facts of the scan and the inventory.
key_arn := "arn:aws:kms:eu-west-1:123456789012:key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"

new_key_arn := "arn:aws:kms:eu-west-1:123456789012:key/c3d4e5f6-7890-12cd-ef01-EXAMPLE33333"

function_arn := "arn:aws:lambda:eu-west-1:123456789012:function:sample-function"

alias_arn := "arn:aws:kms:eu-west-1:123456789012:alias/orders"

bob := {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/bob", "accountId": "123456789012"}

facts := {"lambda_keys": {key_arn: [function_arn]}, "aliases": {"alias/orders": [key_arn]}, "aws_managed_keys": []}

event(name, params, props) := merge(
	{
		"eventVersion": "1.09",
		"userIdentity": bob,
		"eventTime": "2024-06-01T10:28:00Z",
		"eventSource": "kms.amazonaws.com",
		"eventName": name,
		"awsRegion": "eu-west-1",
		"sourceIPAddress": "203.0.113.7",
		"userAgent": "aws-cli/2.15.0",
		"requestParameters": params,
		"responseElements": null,
		"eventID": "00000000-0000-4000-8000-000000000028",
		"resources": [{"accountId": "123456789012", "type": "AWS::KMS::Key", "ARN": key_arn}],
		"eventType": "AwsApiCall",
		"recipientAccountId": "123456789012",
	},
	props,
)

lambda_cmk := {"arn": key_arn, "lambda_cmk": true, "why": "Lambda used it in the logs", "aws_managed": false}

resolved(props) := merge(
	{
		"key": lambda_cmk,
		"principal": bob.arn,
		"lambda_context": false,
		"failed": false,
		"inventory": {"given": false},
	},
	props,
)

call(ev, r) := {"event": ev, "resolved": r, "facts": facts, "inventory": {}}

# One key change, logged and resolved as atrest would.
change(name, params) := call(event(name, params, {}), resolved({}))

denied(name, params) := call(
	event(name, params, {"errorCode": "AccessDeniedException", "errorMessage": "denied"}),
	resolved({"failed": true}),
)

grant(grantee) := change("CreateGrant", {"keyId": key_arn, "granteePrincipal": grantee, "operations": ["Decrypt"]})

test_disabling_a_lambda_cmk_fails if {
	findings := deny with input as change("DisableKey", {"keyId": key_arn})
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"Key %s, which protects Lambda data (Lambda used it in the logs), was disabled by arn:aws:iam::123456789012:user/bob.",
		[key_arn],
	)
}

test_scheduling_the_deletion_of_a_lambda_cmk_fails if {
	findings := deny with input as change("ScheduleKeyDeletion", {"keyId": key_arn, "pendingWindowInDays": 7})
	count(findings) == 1
	some f in findings
	contains(f.message, "was scheduled for deletion by arn:aws:iam::123456789012:user/bob.")
}

test_a_new_key_policy_on_a_lambda_cmk_fails if {
	findings := deny with input as change("PutKeyPolicy", {"keyId": key_arn, "policyName": "default", "policy": "{}"})
	count(findings) == 1
	some f in findings
	contains(f.message, "was given a new key policy by ")
}

test_disabling_rotation_of_a_lambda_cmk_fails if {
	findings := deny with input as change("DisableKeyRotation", {"keyId": key_arn})
	count(findings) == 1
	some f in findings
	contains(f.message, "had its automatic rotation disabled by ")
}

test_enabling_rotation_passes if {
	count(deny) == 0 with input as change("EnableKeyRotation", {"keyId": key_arn})
}

test_disabling_a_key_that_protects_no_lambda_data_passes if {
	other := {"arn": key_arn, "lambda_cmk": false, "aws_managed": false}
	count(deny) == 0 with input as call(event("DisableKey", {"keyId": key_arn}, {}), resolved({"key": other}))
}

test_a_denied_disable_changed_nothing_and_passes if {
	count(deny) == 0 with input as denied("DisableKey", {"keyId": key_arn})
}

test_a_dry_run_disable_changed_nothing_and_passes if {
	dry := {"errorCode": "DryRunOperationException", "errorMessage": "The request would have succeeded, but the DryRun option is set."}
	inp := call(event("DisableKey", {"keyId": key_arn, "dryRun": true}, dry), resolved({"dry_run": true, "error_kind": "dry_run"}))
	count(deny) == 0 with input as inp
}

test_a_grant_to_another_account_fails if {
	findings := deny with input as grant("arn:aws:iam::999988887777:root")
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"arn:aws:iam::123456789012:user/bob granted key %s, which protects Lambda data (Lambda used it in the logs), to arn:aws:iam::999988887777:root outside account 123456789012.",
		[key_arn],
	)
}

test_a_grant_to_another_account_id_fails if {
	findings := deny with input as grant("999988887777")
	count(findings) == 1
	some f in findings
	contains(f.message, "to 999988887777 outside account 123456789012.")
}

test_a_grant_to_a_role_of_the_keys_account_passes if {
	count(deny) == 0 with input as grant("arn:aws:iam::123456789012:role/fn-role")
}

test_a_grant_to_the_keys_account_id_passes if {
	count(deny) == 0 with input as grant("123456789012")
}

test_a_grant_to_a_service_principal_passes if {
	count(deny) == 0 with input as grant("rds.eu-west-1.amazonaws.com")
}

test_a_grant_inside_the_account_of_a_key_shared_from_another_account_passes if {
	# The key lives in 999988887777 and is used across accounts: a grant to its own account is
	# inside it, though the event is logged in 123456789012.
	shared := "arn:aws:kms:eu-west-1:999988887777:key/d4e5f6a7-8901-23de-f012-EXAMPLE44444"
	ev := event("CreateGrant", {"keyId": shared, "granteePrincipal": "arn:aws:iam::999988887777:role/r"}, {})
	count(deny) == 0 with input as call(ev, resolved({"key": merge(lambda_cmk, {"arn": shared})}))
}

test_the_events_account_stands_in_for_a_key_arn_without_one_and_fails_outside_it if {
	# Not an ARN atrest builds (it places bare ids in the event's account); the fallback is the
	# rule's own.
	odd := "arn:aws:kms:eu-west-1::key/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
	r := resolved({"key": merge(lambda_cmk, {"arn": odd})})
	findings := deny with input as call(event("CreateGrant", {"keyId": odd, "granteePrincipal": "999988887777"}, {}), r)
	count(findings) == 1
	some f in findings
	endswith(f.message, "outside account 123456789012.")
	count(deny) == 0 with input as call(event("CreateGrant", {"keyId": odd, "granteePrincipal": "123456789012"}, {}), r)
}

test_an_outside_grant_of_a_key_that_protects_no_lambda_data_passes if {
	other := {"arn": key_arn, "lambda_cmk": false, "aws_managed": false}
	ev := event("CreateGrant", {"keyId": key_arn, "granteePrincipal": "arn:aws:iam::999988887777:root"}, {})
	count(deny) == 0 with input as call(ev, resolved({"key": other}))
}

test_a_denied_outside_grant_passes if {
	count(deny) == 0 with input as denied("CreateGrant", {"keyId": key_arn, "granteePrincipal": "arn:aws:iam::999988887777:root"})
}

# Alias changes: the request names the alias; `resources` the key it pointed to.
alias_change(name, params, alias) := call(
	event(name, params, {"userIdentity": merge(bob, {"arn": "arn:aws:iam::123456789012:user/carol"})}),
	resolved({"principal": "arn:aws:iam::123456789012:user/carol", "alias": alias}),
)

orders := {"name": alias_arn, "targets": [key_arn, new_key_arn], "lambda_cmk": true}

test_pointing_a_lambda_alias_elsewhere_fails if {
	params := {"aliasName": "alias/orders", "targetKeyId": "c3d4e5f6-7890-12cd-ef01-EXAMPLE33333"}
	findings := deny with input as alias_change("UpdateAlias", params, orders)
	count(findings) == 1
	some f in findings
	{k | some k, _ in f} == {"message"}
	f.message == sprintf(
		"Alias %s, behind which a Lambda CMK was seen (%s, %s), was pointed to another key by arn:aws:iam::123456789012:user/carol.",
		[alias_arn, key_arn, new_key_arn],
	)
}

test_deleting_a_lambda_alias_fails if {
	findings := deny with input as alias_change("DeleteAlias", {"aliasName": "alias/orders"}, merge(orders, {"targets": [key_arn]}))
	count(findings) == 1
	some f in findings
	endswith(f.message, "was deleted by arn:aws:iam::123456789012:user/carol.")
}

test_deleting_an_alias_lambda_data_does_not_use_passes if {
	alias := {"name": "arn:aws:kms:eu-west-1:123456789012:alias/reports", "targets": [new_key_arn], "lambda_cmk": false}
	count(deny) == 0 with input as alias_change("DeleteAlias", {"aliasName": "alias/reports"}, alias)
}

test_a_rejected_alias_deletion_passes if {
	ev := event("DeleteAlias", {"aliasName": "alias/orders"}, {"errorCode": "NotFoundException", "errorMessage": "missing"})
	count(deny) == 0 with input as call(ev, resolved({"failed": true, "alias": orders}))
}

test_deleting_an_alias_the_inventory_names_fails_with_why if {
	declared := {"name": alias_arn, "targets": [], "lambda_cmk": true}
	findings := deny with input as alias_change("DeleteAlias", {"aliasName": "alias/orders"}, declared)
	count(findings) == 1
	some f in findings
	contains(f.message, "which the inventory names as a function's or mapping's key, was deleted")
}
