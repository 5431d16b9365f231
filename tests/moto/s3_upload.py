"""Uploads to an S3 bucket on a moto server (creating the bucket if need be).

    s3_upload.py ENDPOINT BUCKET dir DIR [PREFIX]   every file under DIR, key = PREFIX + its path
    s3_upload.py ENDPOINT BUCKET many N PREFIX      N one-event CloudTrail logs, PREFIXNNNNN.jsonl

Prints the number of objects uploaded.
"""

import concurrent.futures
import json
import os
import sys

import boto3


def main():
    endpoint, bucket, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    objects = []
    if mode == "dir":
        root = sys.argv[4]
        prefix = sys.argv[5] if len(sys.argv) > 5 else ""
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                path = os.path.join(dirpath, name)
                key = prefix + os.path.relpath(path, root).replace(os.sep, "/")
                with open(path, "rb") as f:
                    objects.append((key, f.read()))
    elif mode == "many":
        n, prefix = int(sys.argv[4]), sys.argv[5]
        for i in range(n):
            event = {
                "eventVersion": "1.09",
                "eventTime": "2024-06-01T10:00:00Z",
                "eventSource": "s3.amazonaws.com",
                "eventName": "GetObject",
                "eventID": "many-%05d" % i,
            }
            objects.append(("%s%05d.jsonl" % (prefix, i), (json.dumps(event) + "\n").encode()))
    else:
        sys.exit("unknown mode " + mode)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects))
    print(len(objects))


if __name__ == "__main__":
    main()
