# METADATA
# title: A customer managed key that Lambda data depends on is not rotated, or is disabled
# description: |
#   A key that encrypts a function's environment variables, code package or an event source
#   mapping's filter criteria must be usable and rotated. With rotation off, one key version
#   protects the data for as long as the key lives; a disabled key (or one pending deletion)
#   makes Lambda fail to decrypt the data, and the function or mapping stops working.
# related_resources:
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
#     description: Rotating AWS KMS keys
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/enabling-keys.html
#     description: Enabling and disabling keys
# custom:
#   id: ATR-L005
#   severity: medium
#   security_severity: "4.0"
#   tags: [security, encryption, kms, key-rotation]
#   remediation:
#     cloudformation: |
#       On the `AWS::KMS::Key`, set `EnableKeyRotation: true` and keep `Enabled` true (the default).
#     sam: |
#       On the `AWS::KMS::Key`, set `EnableKeyRotation: true` and keep `Enabled` true (the default).
#     serverless: |
#       On the `AWS::KMS::Key` in `resources.Resources`, set `EnableKeyRotation: true` and keep
#       `Enabled` true (the default).
#     terraform: |
#       On the `aws_kms_key`, set `enable_key_rotation = true` and keep `is_enabled = true`.
#     cli: |
#       aws kms enable-key-rotation --key-id KEY_ID
#       aws kms enable-key --key-id KEY_ID
#       aws kms cancel-key-deletion --key-id KEY_ID   # if deletion is pending
#   equivalents:
#     - {tool: Checkov, id: CKV_AWS_7, note: "every key; not whether it is enabled"}
package atrest.rules.kms.key_rotation_enabled

import rego.v1

# Rotation applies to symmetric encryption keys only, the only kind Lambda can use.
symmetric(k) if not k.key_spec

symmetric(k) if k.key_spec == "SYMMETRIC_DEFAULT"

# The names of the functions, mappings and function log groups a key protects (ids are ARNs
# in deployed state), indexed once; an id with no named object is shown as it is.
names := object.union(
	object.union(
		{f.id: f.logical_id | some f in input.functions},
		{m.id: m.logical_id | some m in input.event_source_mappings},
	),
	{l.id: l.logical_id | some l in input.log_groups},
)

users(k) := concat(", ", [object.get(names, u, u) | some u in k.used_by])

deny contains finding if {
	some k in input.kms_keys
	k.manager == "customer"
	count(k.used_by) > 0
	symmetric(k)
	k.rotation_enabled == false
	finding := {
		"resource": k.id,
		"property": "rotation_enabled",
		"message": sprintf("KMS key %s protects Lambda data (%s) but automatic key rotation is not enabled.", [k.logical_id, users(k)]),
	}
}

deny contains finding if {
	some k in input.kms_keys
	k.manager == "customer"
	count(k.used_by) > 0
	symmetric(k)
	k.rotation_enabled == "unknown"
	finding := {
		"resource": k.id,
		"property": "rotation_enabled",
		"outcome": "unknown",
		"message": sprintf("KMS key %s protects Lambda data (%s) and whether its rotation is enabled is not known from the input.", [k.logical_id, users(k)]),
	}
}

deny contains finding if {
	some k in input.kms_keys
	k.manager == "customer"
	count(k.used_by) > 0
	k.enabled == false
	finding := {
		"resource": k.id,
		"property": "enabled",
		"message": sprintf("KMS key %s protects Lambda data (%s) but is disabled: Lambda cannot decrypt it.", [k.logical_id, users(k)]),
	}
}

deny contains finding if {
	some k in input.kms_keys
	k.manager == "customer"
	count(k.used_by) > 0
	k.pending_deletion == true
	finding := {
		"resource": k.id,
		"property": "pending_deletion",
		"message": sprintf("KMS key %s protects Lambda data (%s) but is pending deletion.", [k.logical_id, users(k)]),
	}
}
