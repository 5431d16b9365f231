# Helpers for reading the model's key references. Resolving references is the model's job;
# these only name its answers.
package atrest.lib.keys

import rego.v1

# Lambda would fall back to its AWS managed key: nothing set, empty, or alias/aws/*.
not_customer_managed(ref) if ref.state in {"absent", "aws_managed"}

undecided(ref) if ref.state == "unknown"

# "KmsKeyArn <- !Ref KeyParam <- default "alias/aws/lambda"".
chain(ref) := concat(" <- ", ref.chain)

# Why a reference is not a customer managed key, for messages.
why_not(ref) := sprintf("%s is not set, so a key AWS controls is used", [ref.chain[0]]) if {
	ref.state == "absent"
	count(ref.chain) == 1
}

why_not(ref) := sprintf("no key is set (%s), so a key AWS controls is used", [chain(ref)]) if {
	ref.state == "absent"
	count(ref.chain) > 1
}

why_not(ref) := sprintf("the key is AWS managed (%s)", [chain(ref)]) if {
	ref.state == "aws_managed"
}

why_not(ref) := sprintf("the key cannot be resolved statically (%s)", [chain(ref)]) if {
	ref.state == "unknown"
}
