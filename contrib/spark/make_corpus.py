#!/usr/bin/env python3
"""Writes a deterministic multi-account CloudTrail corpus for testing and measuring sharded scans.

The events are the CloudTrail rule fixtures (fixtures/cloudtrail), replayed in several accounts
and on several days, in the S3 delivery layout
(AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_..._.json.gz),
with ordinary API calls mixed in and some log files delivered twice. The fixtures' templates
are copied to infra/ as the inventory. Every rule fires, and the facts that make a key a
"Lambda CMK" are often learned in another file than the event they decide, so a sharded scan
is only exact if its facts phase works.

    make_corpus.py --fixtures fixtures/cloudtrail --out corpus [--accounts 4] [--days 3]
                   [--noise 50]
"""

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import uuid

# The fixtures' account: kept as the first account, so the inventory (written for it) matches.
FIXTURE_ACCOUNT = "123456789012"
REGIONS = ["eu-west-1", "us-east-1"]


def fixture_events(path):
    """The events of one fixture log, whatever its shape."""
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    stripped = text.lstrip()
    if path.endswith(".jsonl"):
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    doc = json.loads(stripped)
    if isinstance(doc, list):
        return doc
    if "Records" in doc:
        return doc["Records"]
    if "Events" in doc:
        return [json.loads(e["CloudTrailEvent"]) for e in doc["Events"]]
    raise ValueError(f"{path}: not a CloudTrail log")


def replay(value, account, region, shift, ids):
    """The event in another account, region and day; event IDs map one to one, so duplicate
    deliveries stay duplicates."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k == "eventID" and isinstance(v, str):
                out[k] = ids.setdefault(v, str(uuid.UUID(bytes=hashlib.sha256(
                    f"{account}/{region}/{shift}/{v}".encode()).digest()[:16])))
            elif k == "eventTime" and isinstance(v, str):
                t = dt.datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ") + dt.timedelta(days=shift)
                out[k] = t.strftime("%Y-%m-%dT%H:%M:%SZ")
            else:
                out[k] = replay(v, account, region, shift, ids)
        return out
    if isinstance(value, list):
        return [replay(v, account, region, shift, ids) for v in value]
    if isinstance(value, str):
        return value.replace(FIXTURE_ACCOUNT, account).replace("eu-west-1", region)
    return value


def noise_event(rng, account, region, day):
    """An ordinary call no rule reads: most of a real trail."""
    source, name = rng.choice([
        ("s3.amazonaws.com", "GetObject"),
        ("sts.amazonaws.com", "AssumeRole"),
        ("ec2.amazonaws.com", "DescribeInstances"),
        ("lambda.amazonaws.com", "Invoke"),
        ("dynamodb.amazonaws.com", "Query"),
        ("kms.amazonaws.com", "Decrypt"),
    ])
    t = day + dt.timedelta(seconds=rng.randrange(86400))
    event = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": account,
                         "arn": f"arn:aws:sts::{account}:assumed-role/app/{rng.randrange(100)}"},
        "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"203.0.113.{rng.randrange(256)}",
        "userAgent": "aws-sdk-go-v2/1.30.0",
        "requestParameters": {"bucketName": "data", "key": f"k/{rng.randrange(10**6)}"},
        "responseElements": None,
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
    }
    if source == "kms.amazonaws.com":
        # S3 decrypting with its own key: a KMS event, but no Lambda in it.
        event["userIdentity"]["invokedBy"] = "s3.amazonaws.com"
        event["requestParameters"] = {"encryptionContext": {
            "aws:s3:arn": f"arn:aws:s3:::data/k/{rng.randrange(10**6)}"}}
        event["resources"] = [{"type": "AWS::KMS::Key", "accountId": account,
                               "ARN": f"arn:aws:kms:{region}:{account}:key/s3-{account}"}]
    return event


def write_gz(path, records):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    # mtime=0: the same corpus, byte for byte, on every run.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz:
        gz.write(json.dumps({"Records": records}, separators=(",", ":")).encode())
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", required=True, help="fixtures/cloudtrail of the repository")
    ap.add_argument("--out", required=True, help="directory to write (replaced)")
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--noise", type=int, default=50, help="ordinary events per log file")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    rng = random.Random(args.seed)
    accounts = [FIXTURE_ACCOUNT] + [f"{i}" * 12 for i in range(1, args.accounts)]
    logs = []
    rules = sorted(d for d in os.listdir(args.fixtures)
                   if os.path.isdir(os.path.join(args.fixtures, d)))
    for rule in rules:
        for name in sorted(os.listdir(os.path.join(args.fixtures, rule))):
            path = os.path.join(args.fixtures, rule, name)
            if name.endswith((".json", ".jsonl", ".json.gz")):
                logs.append((f"{rule}-{name.split('.')[0]}", fixture_events(path)))
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    os.makedirs(os.path.join(args.out, "infra"))
    for rule in rules:
        template = os.path.join(args.fixtures, rule, "pass_template.yaml")
        if os.path.exists(template):
            shutil.copy(template, os.path.join(args.out, "infra", f"{rule.lower()}.yaml"))

    files = events = 0
    start = dt.datetime(2024, 6, 1)
    for account in accounts:
        for region in REGIONS:
            for shift in range(args.days):
                day = start + dt.timedelta(days=shift)
                ids = {}
                folder = os.path.join(args.out, "AWSLogs", account, "CloudTrail", region,
                                      day.strftime("%Y/%m/%d"))
                for n, (label, fixture) in enumerate(logs):
                    records = [replay(e, account, region, shift, ids) for e in fixture]
                    records += [noise_event(rng, account, region, day) for _ in range(args.noise)]
                    rng.shuffle(records)
                    stamp = (day + dt.timedelta(minutes=5 * n)).strftime("%Y%m%dT%H%MZ")
                    name = f"{account}_CloudTrail_{region}_{stamp}_{label}.json.gz"
                    write_gz(os.path.join(folder, name), records)
                    files += 1
                    events += len(records)
                    # Now and then CloudTrail delivers a file twice.
                    if rng.random() < 0.1:
                        again = name.replace(".json.gz", "_redelivered.json.gz")
                        write_gz(os.path.join(folder, again), records)
                        files += 1
                        events += len(records)
    print(f"wrote {files} log files, {events} events, {len(accounts)} accounts into {args.out}")


if __name__ == "__main__":
    main()
