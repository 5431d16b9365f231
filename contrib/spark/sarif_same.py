#!/usr/bin/env python3
"""Whether a report of logs read from S3 says what the report of the same logs on disk says.

    sarif_same.py s3://BUCKET/ LOCAL.sarif S3.sarif

The objects' keys are the local paths, so the S3 report names corpus/AWSLogs/... as
s3://BUCKET/corpus/AWSLogs/...: with that prefix taken out of every string, and the
`uriBaseId` a local path has (an s3:// URI is absolute and has none) put back, the two runs
must be the same, result for result. Only the order of the results may differ: a report lists
them by file, and s3:// sorts after the local inventory's paths. Exit code 1 on a difference,
with the first one.
"""

import json
import sys


def as_local(value, prefix):
    if isinstance(value, dict):
        out = {k: as_local(v, prefix) for k, v in value.items()}
        uri = value.get("uri")
        if isinstance(uri, str) and uri.startswith(prefix) and "uriBaseId" not in value:
            out["uriBaseId"] = "%SRCROOT%"
        return out
    if isinstance(value, list):
        return [as_local(v, prefix) for v in value]
    if isinstance(value, str):
        return value.replace(prefix, "")
    return value


def main():
    prefix, local_path, s3_path = sys.argv[1:4]
    local = json.load(open(local_path))
    s3 = as_local(json.load(open(s3_path)), prefix)
    key = lambda r: json.dumps(r, sort_keys=True)
    local_results = sorted(map(key, local["runs"][0].pop("results")))
    s3_results = sorted(map(key, s3["runs"][0].pop("results")))
    if local != s3:
        print("the reports differ beyond their results", file=sys.stderr)
        return 1
    only_local = [r for r in local_results if r not in set(s3_results)]
    only_s3 = [r for r in s3_results if r not in set(local_results)]
    if only_local or only_s3 or len(local_results) != len(s3_results):
        print(f"{len(only_local)} results only in the local scan, {len(only_s3)} only in the "
              f"scan of S3; the first: {(only_local or only_s3 or ['(duplicates)'])[0][:2000]}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
