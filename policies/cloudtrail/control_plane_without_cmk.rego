# METADATA
# title: A Lambda API call leaves data at rest without a customer managed key
# description: |
#   Seen in the logs: a function created with environment variables and no `KMSKeyArn`, an event
#   source mapping created with filter criteria and no `KMSKeyArn`, or an update that sets
#   `KMSKeyArn` to empty (back to the AWS managed key). An update that does not mention
#   `KMSKeyArn` leaves the key as it was and is not reported. CloudTrail hides environment
#   variable values, and logs `environment: {}` for calls that set none (or, on updates, that
#   leave them alone): only a present `variables` member counts as variables. Failed calls are
#   not reported.
# related_resources:
#   - ref: https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
#     description: Logging Lambda API calls using CloudTrail
# custom:
#   id: ATR-C007
#   severity: medium
#   security_severity: "5.0"
#   tags: [security, encryption, lambda, cloudtrail]
#   reads: [eventName, requestParameters]
#   routes:
#     - source: lambda.amazonaws.com
#       names: [CreateFunction*, CreateEventSourceMapping*, UpdateFunctionConfiguration*, UpdateEventSourceMapping*]
#   remediation:
#     cloudtrail: |
#       aws lambda update-function-configuration --function-name NAME --kms-key-arn KEY_ARN
#       aws lambda update-event-source-mapping --uuid UUID --kms-key-arn KEY_ARN
package atrest.rules.cloudtrail.control_plane_without_cmk

import data.atrest.lib.cloudtrail as ct
import rego.v1

params := input.event.requestParameters

# CloudTrail writes the property as `kMSKeyArn`. A null or an AWS managed alias
# (`alias/aws/lambda`) is no customer managed key either. Types are tested before `count` and
# `startswith`, which would stop the evaluation of every rule on the event with an error.
key_set if customer_key(params.kMSKeyArn)

key_set if customer_key(params.kmsKeyArn)

customer_key(k) if {
	is_string(k)
	k != ""
	not startswith(k, "alias/aws/")
	not contains(k, ":alias/aws/")
}

key_emptied if params.kMSKeyArn == ""

key_emptied if params.kmsKeyArn == ""

has_variables if {
	is_object(params.environment.variables)
	count(params.environment.variables) > 0
}

has_filters if {
	is_array(params.filterCriteria.filters)
	count(params.filterCriteria.filters) > 0
}

name := params.functionName

name := params.uUID if not params.functionName

name := params.uuid if {
	not params.functionName
	not params.uUID
}

name := "unknown" if {
	not params.functionName
	not params.uUID
	not params.uuid
}

deny contains finding if {
	ct.succeeded(input.resolved)
	startswith(input.event.eventName, "CreateFunction")
	has_variables
	not key_set
	finding := {"message": sprintf(
		"%s created function %s with environment variables and no KMSKeyArn: Lambda encrypts them with its AWS managed key.",
		[ct.principal(input.resolved), name],
	)}
}

deny contains finding if {
	ct.succeeded(input.resolved)
	startswith(input.event.eventName, "CreateEventSourceMapping")
	has_filters
	not key_set
	finding := {
		"message": sprintf(
			"%s created an event source mapping for %s with filter criteria and no KMSKeyArn: Lambda encrypts them with an AWS owned key.",
			[ct.principal(input.resolved), name],
		),
		"mapping": object.get(params, "eventSourceArn", "unknown event source"),
	}
}

deny contains finding if {
	ct.succeeded(input.resolved)
	startswith(input.event.eventName, "UpdateFunctionConfiguration")
	key_emptied
	finding := {
		"message": sprintf(
			"%s set KMSKeyArn of %s to empty: its data is now encrypted with an AWS managed key.",
			[ct.principal(input.resolved), name],
		),
		"function": name,
	}
}

# A mapping update names the mapping by its UUID, not a function.
deny contains finding if {
	ct.succeeded(input.resolved)
	startswith(input.event.eventName, "UpdateEventSourceMapping")
	key_emptied
	finding := {
		"message": sprintf(
			"%s set KMSKeyArn of event source mapping %s to empty: its filter criteria are now encrypted with an AWS owned key.",
			[ct.principal(input.resolved), name],
		),
		"mapping": name,
	}
}
