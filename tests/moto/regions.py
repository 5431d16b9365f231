"""Log groups in several regions of a moto server: more than one page of DescribeLogGroups
(atrest asks for 50 a page) in each.

    regions.py ENDPOINT TAG N REGION...

Creates /atrest/TAG/REGION/0 .. N-1 in each region. Prints nothing.
"""

import sys

import boto3

endpoint, tag, n, regions = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
for region in regions:
    logs = boto3.client(
        "logs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    for i in range(n):
        logs.create_log_group(logGroupName="/atrest/%s/%s/%d" % (tag, region, i))
