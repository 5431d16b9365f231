# Helpers for CloudTrail rules. A CloudTrail rule reads `input.event` (the record as logged),
# `input.resolved` (what atrest resolved for it: key ARN, whether it is a Lambda CMK, the
# function and mapping, their inventory matches), `input.facts` and `input.inventory`.
# See schemas/cloudtrail-input.schema.json.
package atrest.lib.cloudtrail

import rego.v1

lambda_service := "lambda.amazonaws.com"

# Every encryption context of the request (ReEncrypt has a source and a destination one).
contexts(ev) := [c |
	some name in ["encryptionContext", "sourceEncryptionContext", "destinationEncryptionContext"]
	c := ev.requestParameters[name]
	is_object(c)
]

# The request carries an `aws:lambda:*` encryption-context key (other keys may be present).
lambda_context(ev) if {
	some c in contexts(ev)
	some k, _ in c
	startswith(k, "aws:lambda:")
}

invoked_by_lambda(ev) if ev.userIdentity.invokedBy == lambda_service

# An AWS service made the call on someone's behalf.
service_invoked(ev) if endswith(ev.userIdentity.invokedBy, ".amazonaws.com")

service_invoked(ev) if ev.userIdentity.type == "AWSService"

failed(ev) if ev.errorCode

succeeded(ev) if not ev.errorCode

# Who made the call, for messages.
principal := p if {
	p := input.resolved.principal
} else := "an unknown principal"

# The key, for messages: its ARN where atrest resolved one, else as the request names it.
key := k if {
	k := input.resolved.key.arn
} else := k if {
	k := input.event.requestParameters.keyId
} else := "an unknown key"

# The function, for messages.
function := f if {
	f := input.resolved.function.arn
} else := "an unknown function"

# How the inventory object was matched, for messages ("" when by ARN).
how(m) := " (matched by name)" if m.match == "name"

how(m) := " (matched by function; the mapping's event source is not known statically)" if m.match == "function only"

how(m) := "" if m.match == "arn"
