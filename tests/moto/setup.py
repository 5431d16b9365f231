"""Creates the account tests/aws_moto.rs collects from, in a moto server.

Usage: python setup.py ENDPOINT REGION. Prints the created keys as JSON. Resets the server
first, so a rerun starts from nothing. Functions are created with their final configuration:
moto ignores a later update of KMSKeyArn.
"""

import io
import json
import sys
import urllib.request
import zipfile

import boto3

endpoint, region = sys.argv[1], sys.argv[2]
urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"))
kw = dict(
    endpoint_url=endpoint,
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
iam, kms, lam = (boto3.client(s, **kw) for s in ("iam", "kms", "lambda"))
sqs, logs = (boto3.client(s, **kw) for s in ("sqs", "logs"))

trust = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
role = iam.create_role(RoleName="orders-role", AssumeRolePolicyDocument=json.dumps(trust))
role = role["Role"]["Arn"]

rotated = kms.create_key(Description="orders data")["KeyMetadata"]
kms.enable_key_rotation(KeyId=rotated["KeyId"])
kms.create_alias(AliasName="alias/orders", TargetKeyId=rotated["KeyId"])
unrotated = kms.create_key(Description="billing data")["KeyMetadata"]
disabled = kms.create_key(Description="reports data")["KeyMetadata"]
kms.disable_key(KeyId=disabled["KeyId"])

package = io.BytesIO()
with zipfile.ZipFile(package, "w") as z:
    z.writestr("app.py", "def handler(event, context):\n    return event\n")


def function(name, **extra):
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": package.getvalue()},
        **extra,
    )


function(
    "orders-api",
    Environment={"Variables": {"TABLE_NAME": "orders"}},
    TracingConfig={"Mode": "Active"},
)
function(
    "billing-worker",
    Environment={"Variables": {"TABLE_NAME": "billing"}},
    KMSKeyArn=unrotated["Arn"],
)
function(
    "reports-api",
    Environment={"Variables": {"BUCKET": "reports"}},
    KMSKeyArn=disabled["Arn"],
)


def queue(name):
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    return attrs["Attributes"]["QueueArn"]


paid = {"Filters": [{"Pattern": json.dumps({"body": {"status": ["PAID"]}})}]}
lam.create_event_source_mapping(
    FunctionName="orders-api", EventSourceArn=queue("orders"), FilterCriteria=paid
)
lam.create_event_source_mapping(
    FunctionName="billing-worker",
    EventSourceArn=queue("billing"),
    FilterCriteria=paid,
    KMSKeyArn=rotated["Arn"],
)

logs.create_log_group(logGroupName="/aws/lambda/orders-api")
logs.create_log_group(logGroupName="/aws/lambda/billing-worker", kmsKeyId=rotated["Arn"])

print(
    json.dumps(
        {
            "rotated": rotated["KeyId"],
            "unrotated": unrotated["KeyId"],
            "disabled": disabled["KeyId"],
        }
    )
)
