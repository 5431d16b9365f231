# METADATA
# title: A change that can break or open a Lambda CMK
# description: |
#   A key that protects Lambda data was disabled, scheduled for deletion, had its rotation turned
#   off or its key policy replaced, was granted to a principal outside its account, or an alias
#   Lambda data depends on was deleted or pointed elsewhere. Disabling or deleting the key makes
#   the functions and filter criteria it protects undecryptable; a new policy or an outside grant
#   can open the data to others. Failed calls (with an `errorCode`) changed nothing and are not
#   reported.
# related_resources:
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-adv-task.html
#     description: Determining past usage of a KMS key
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
#     description: Grants in AWS KMS
# custom:
#   id: ATR-C005
#   severity: high
#   security_severity: "7.5"
#   tags: [security, encryption, kms, lambda, cloudtrail]
#   reads: [eventName, recipientAccountId, requestParameters]
#   routes:
#     - source: kms.amazonaws.com
#       names: [DisableKey, ScheduleKeyDeletion, PutKeyPolicy, CreateGrant, DisableKeyRotation, DeleteAlias, UpdateAlias]
#   remediation:
#     cloudtrail: |
#       Check the change was intended. Undo it where it was not: `aws kms enable-key`,
#       `aws kms cancel-key-deletion`, `aws kms enable-key-rotation`, `aws kms revoke-grant`, or
#       restore the previous key policy or alias target.
package atrest.rules.cloudtrail.lambda_key_change

import data.atrest.lib.cloudtrail as ct
import rego.v1

key_changes := {
	"DisableKey": "disabled",
	"ScheduleKeyDeletion": "scheduled for deletion",
	"PutKeyPolicy": "given a new key policy",
	"DisableKeyRotation": "had its automatic rotation disabled",
}

arn_account := a if {
	a := split(input.resolved.key.arn, ":")[4]
	a != ""
}

key_account := arn_account

key_account := input.event.recipientAccountId if not arn_account

# The account of a grantee: a 12-digit id, or the account field of an ARN. Service principals
# have none.
grantee_account(p) := p if regex.match(`^[0-9]{12}$`, p)

grantee_account(p) := a if {
	startswith(p, "arn:")
	a := split(p, ":")[4]
	a != ""
}

deny contains finding if {
	ct.succeeded(input.resolved)
	change := key_changes[input.event.eventName]
	input.resolved.key.lambda_cmk
	finding := {"message": sprintf(
		"Key %s, which protects Lambda data (%s), was %s by %s.",
		[ct.key(input), input.resolved.key.why, change, ct.principal(input.resolved)],
	)}
}

deny contains finding if {
	ct.succeeded(input.resolved)
	input.event.eventName == "CreateGrant"
	input.resolved.key.lambda_cmk
	grantee := input.event.requestParameters.granteePrincipal
	account := grantee_account(grantee)
	account != key_account
	finding := {"message": sprintf(
		"%s granted key %s, which protects Lambda data (%s), to %s outside account %s.",
		[ct.principal(input.resolved), ct.key(input), input.resolved.key.why, grantee, key_account],
	)}
}

deny contains finding if {
	ct.succeeded(input.resolved)
	input.event.eventName in {"DeleteAlias", "UpdateAlias"}
	input.resolved.alias.lambda_cmk
	verb := {"DeleteAlias": "deleted", "UpdateAlias": "pointed to another key"}[input.event.eventName]
	finding := {"message": sprintf(
		"Alias %s, %s, was %s by %s.",
		[input.resolved.alias.name, alias_why, verb, ct.principal(input.resolved)],
	)}
}

alias_why := sprintf("behind which a Lambda CMK was seen (%s)", [concat(", ", input.resolved.alias.targets)]) if {
	count(input.resolved.alias.targets) > 0
}

# No target seen in the logs: the alias is a Lambda key because the inventory names it.
alias_why := "which the inventory names as a function's or mapping's key" if {
	count(input.resolved.alias.targets) == 0
}
