#!/usr/bin/env python3
"""Writes a generated CloudTrail log set for the trail benchmarks in bench/compare.sh.

    trail_logs.py OUT EVENTS FILES

OUT/logs/AWSLogs/123456789012/CloudTrail/eu-west-1/2024/06/DD/...json.gz: EVENTS of Lambda's
Decrypt calls of one key, split over FILES gzip objects in CloudTrail's delivery layout. Two
templates beside them declare the function: OUT/fire.yaml with another key (ATR-C003 fires on
every event) and OUT/quiet.yaml with that key (nothing fires). The events are those of
tests/it/bounded.rs, with addresses repeating every 150 events.
"""

import gzip
import os
import sys

KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111"
OTHER = "arn:aws:kms:eu-west-1:123456789012:key/22222222-2222-2222-2222-222222222222"


def template(key):
    return ("Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n"
            f"      FunctionName: f\n      KmsKeyArn: {key}\n      Code: {{ZipFile: x}}\n"
            "      Environment:\n        Variables: {A: b}\n")


def decrypt(i):
    time = (f"2024-06-{1 + i // 86_400 % 28:02}T{i // 3600 % 24:02}:{i // 60 % 60:02}:"
            f"{i % 60:02}Z")
    ip = f"10.0.{i % 150 // 100}.{i % 100}"
    return (
        '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","arn":'
        '"arn:aws:sts::123456789012:assumed-role/fn/f","invokedBy":"lambda.amazonaws.com"},'
        f'"eventTime":"{time}","eventSource":"kms.amazonaws.com","eventName":"Decrypt",'
        f'"awsRegion":"eu-west-1","sourceIPAddress":"{ip}","userAgent":"lambda.amazonaws.com",'
        f'"requestParameters":{{"keyId":"{KEY}","encryptionContext":{{"aws:lambda:FunctionArn":'
        '"arn:aws:lambda:eu-west-1:123456789012:function:f"}},'
        f'"eventID":"00000000-0000-4000-8000-{i:012}","resources":[{{"type":"AWS::KMS::Key",'
        f'"ARN":"{KEY}"}}],"recipientAccountId":"123456789012"}}')


def main():
    out, events, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for name, key in (("fire.yaml", OTHER), ("quiet.yaml", KEY)):
        with open(os.path.join(out, name), "w") as f:
            f.write(template(key))
    per = -(-events // files)
    for n in range(files):
        first = n * per
        last = min(events, first + per)
        if first >= last:
            break
        day = 1 + first // 86_400 % 28
        folder = os.path.join(out, f"logs/AWSLogs/123456789012/CloudTrail/eu-west-1/2024/06/{day:02}")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"123456789012_CloudTrail_eu-west-1_202406{day:02}T0000Z_{n:06}.json.gz")
        with gzip.open(path, "wt", compresslevel=1) as f:
            f.write('{"Records":[\n')
            f.write(",\n".join(decrypt(i) for i in range(first, last)))
            f.write("]}\n")


if __name__ == "__main__":
    main()
