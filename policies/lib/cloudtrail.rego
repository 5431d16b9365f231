# Helpers for CloudTrail rules. A CloudTrail rule reads `input.event` (the record as logged),
# `input.resolved` (what atrest resolved for it: key ARN, whether it is a Lambda CMK, the
# function and mapping, their inventory matches), `input.facts` and `input.inventory`.
# See schemas/cloudtrail-input.schema.json.
package atrest.lib.cloudtrail

import rego.v1

# Every helper here is a function, not a rule: regorus evaluates all the rules of a package as
# soon as one is referenced, which every event would pay for; functions run only when called.
# Most take `input.resolved`, what atrest resolved for the event.

# Every encryption context of the request (ReEncrypt has a source and a destination one).
contexts(ev) := [c |
	some name in ["encryptionContext", "sourceEncryptionContext", "destinationEncryptionContext"]
	c := ev.requestParameters[name]
	is_object(c)
]

# The request carries an `aws:lambda:*` encryption-context key (other keys may be present).
# atrest resolves this for every event (`resolved.lambda_context`); this is for events built
# by hand.
lambda_context(ev) if {
	some c in contexts(ev)
	some k, _ in c
	startswith(k, "aws:lambda:")
}

lambda_call(r) if r.lambda_context

invoked_by_lambda(r) if r.invoked_by == "lambda.amazonaws.com"

# Lambda itself made the call: invoked by the service, or, at a function's start, the
# function's own execution-role session from inside AWS (`resolved.lambda`, decided by atrest;
# the table is in ATR-C001's description). The second clause serves inputs built by hand
# without `lambda`.
lambda_own(r) if r.lambda.own

lambda_own(r) if {
	not r.lambda
	invoked_by_lambda(r)
}

# An AWS service made the call on someone's behalf: `invokedBy` names it (`s3.amazonaws.com`,
# or `AWS Internal`, as S3 logs its KMS calls for a console user's download).
service_invoked(r, _) if r.invoked_by != ""

service_invoked(r, _) if r.identity_type == "AWSService"

# Inputs built by hand without `identity_type`.
service_invoked(r, ev) if {
	not r.identity_type
	ev.userIdentity.type == "AWSService"
}

# The call failed: an `errorCode` that is not a dry run's "would have succeeded"
# (`DryRunOperationException`).
failed(r) if r.failed

# KMS was busy or briefly unreachable (throttling, an internal error, a dependency timeout):
# the caller retries, and nothing is wrong with the key.
transient(r) if r.error_kind == "transient"

# The call took effect: no `errorCode` at all (a dry run changed nothing either).
succeeded(r) if {
	not r.failed
	not r.dry_run
}

# Who made the call, for messages. (Fallbacks here are written with `not`, not `else`: the
# bytecode VM that evaluates built-in CloudTrail rules does not take `else` branches.)
principal(r) := r.principal

principal(r) := "an unknown principal" if not r.principal

# The key, for messages: its ARN where atrest resolved one, else as the request names it.
key(inp) := inp.resolved.key.arn

key(inp) := inp.event.requestParameters.keyId if not inp.resolved.key.arn

key(inp) := "an unknown key" if {
	not inp.resolved.key.arn
	not inp.event.requestParameters.keyId
}

# The function, for messages.
function(r) := r.function.arn

function(r) := "an unknown function" if not r.function.arn

# How the inventory object was matched, for messages ("" when by ARN).
how(m) := " (matched by name)" if m.match == "name"

how(m) := " (matched by function; the mapping's event source is not known statically)" if m.match == "function only"

how(m) := "" if m.match == "arn"
