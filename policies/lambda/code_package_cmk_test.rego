package atrest.rules.lambda.code_package_cmk

import rego.v1

absent := {"state": "absent", "chain": ["Code.SourceKMSKeyArn"]}

customer := {"state": "customer_managed", "key": "CodeKey", "chain": ["Code.SourceKMSKeyArn", "!GetAtt CodeKey.Arn"]}

unresolved := {"state": "unknown", "chain": ["Code.SourceKMSKeyArn", "!Ref CodeKeyArn", "parameter CodeKeyArn has no default"]}

function(package_type, key) := {"id": "Fn", "logical_id": "Fn", "package_type": package_type, "code_kms_key": key}

test_a_zip_package_without_a_key_fails if {
	findings := deny with input as {"functions": [function("Zip", absent)]}
	count(findings) == 1
	some f in findings
	f.property == "code_kms_key"
	not f.outcome
}

test_a_zip_package_under_a_customer_managed_key_passes if {
	count(deny) == 0 with input as {"functions": [function("Zip", customer)]}
}

test_an_image_package_passes if {
	count(deny) == 0 with input as {"functions": [function("Image", absent)]}
}

test_a_computed_package_type_is_unknown if {
	some f in deny with input as {"functions": [function("unknown", absent)]}
	f.outcome == "unknown"
}

test_an_unresolved_key_is_unknown if {
	some f in deny with input as {"functions": [function("Zip", unresolved)]}
	f.outcome == "unknown"
}
