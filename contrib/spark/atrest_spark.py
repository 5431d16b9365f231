#!/usr/bin/env python3
"""Runs one atrest scan over a large CloudTrail archive on Apache Spark, with the report a single
`atrest scan` over the same files would give.

Map, reduce, map, reduce; no step on the driver grows with the number of partitions:

1. the driver lists the logs with `atrest facts --list` (local directories, or s3:// and s3a://
   prefixes, pruned by --since, --until, --account and --trail-region as `atrest scan` prunes
   them: one implementation of the CloudTrail layout, in atrest) and splits the list into
   partitions;
2. each task runs `atrest facts --files-from <its list>`: what its logs show about the keys
   Lambda uses (small: a few lines per key and alias); S3 objects are read in place, streamed
   by atrest, never written to disk;
3. the facts are joined with treeReduce (`atrest facts --merge` of two at a time, on the
   executors; the depth grows with the partition count) and broadcast;
4. each task runs `atrest scan --files-from <its list> --inventory ... --facts <joined>
   --format jsonl`; one more task scans the inventory itself;
5. the parts are merged in a tree the same way (`atrest merge --format jsonl` of two at a
   time), and the driver renders the one part left as the report (SARIF, JSON, text, JUnit).

Each task calls the atrest binary; Spark only schedules, moves lists, facts and results, and
retries failed tasks (a task is a pure function of its list and the facts, so a retry is safe).

    python atrest_spark.py --atrest target/release/atrest --logs AWSLogs/ --inventory infra/ \\
        --partitions 8 --format sarif --output atrest.sarif [--master local[2]]

With spark-submit on a cluster, give the same arguments after the script. Paths in the report
are shown relative to --root (default: the current directory); the inventory, the binary and the
local logs must exist at the same paths on every executor (a shared file system); ship the
binary with `spark-submit --files atrest` (found with SparkFiles) or put it there.

S3: give --logs s3://bucket/AWSLogs/o-123/ (s3a:// is the same), with --since, --until,
--account and --trail-region to read part of it, and --profile, --region or --endpoint-url as
for `atrest scan` (every executor needs the credentials, from the default chain). The atrest
binary must be built with the `aws` feature. Findings name objects as s3://bucket/key, as a
single `atrest scan s3://...` does. The exit code is atrest merge's: 0, 1 (findings) or 2 (an
input failed).
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pyspark.sql import SparkSession

S3_SCHEMES = ("s3://", "s3a://")


def list_logs(atrest, prefixes, root, selection, work):
    """The logs under the prefixes, sorted, as `atrest scan` names them: listed and pruned by
    atrest itself (`atrest facts --list`); and whether a prefix failed (said on stderr)."""
    out = os.path.join(work, "logs.txt")
    done = run_atrest(atrest, ["facts", "--list", *prefixes, *selection, "-o", out], root)
    sys.stderr.write(done.stderr)
    with open(out) as f:
        return [line for line in f.read().splitlines() if line], done.returncode == 2


def binary(path):
    """The atrest binary: the path given, else a file shipped with --files."""
    if os.path.exists(path):
        return os.path.abspath(path)
    from pyspark import SparkFiles

    return SparkFiles.get(os.path.basename(path))


def run_atrest(atrest, args, cwd):
    """Runs atrest; 0 and 2 (some input failed, reported in the output) are results, anything
    else is a failed task for Spark to retry."""
    done = subprocess.run([atrest] + args, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 2):
        raise RuntimeError(f"atrest {' '.join(args[:2])} exited {done.returncode}: {done.stderr}")
    return done


def task(phase, atrest, root, inventory, facts_text, access):
    """One partition's work in a phase: returns the text atrest wrote."""

    def run(index, paths):
        exe = binary(atrest)
        if phase == "inventory":
            with tempfile.TemporaryDirectory(prefix="atrest-task-") as tmp:
                out = os.path.join(tmp, "out")
                args = ["scan", *[os.path.join(root, p) for p in inventory],
                        "--format", "jsonl", "-o", out]
                run_atrest(exe, args, root)
                with open(out) as f:
                    return [f.read()]
        paths = list(paths)
        if not paths:
            return []
        with tempfile.TemporaryDirectory(prefix="atrest-task-") as tmp:
            listing = os.path.join(tmp, "files.txt")
            with open(listing, "w") as f:
                f.write("\n".join(paths) + "\n")
            out = os.path.join(tmp, "out")
            # How to reach S3, only where the list has S3 objects (atrest refuses it otherwise).
            s3 = access if any(p.startswith(S3_SCHEMES) for p in paths) else []
            if phase == "facts":
                args = ["facts", "--files-from", listing, *s3, "-o", out, "--jobs", "1"]
            else:
                facts = os.path.join(tmp, "facts.json")
                with open(facts, "w") as f:
                    f.write(facts_text)
                inv = [a for p in inventory for a in ("--inventory", os.path.join(root, p))]
                args = ["scan", "--files-from", listing, *inv, "--facts", facts, *s3,
                        "--format", "jsonl", "-o", out, "--jobs", "1"]
            run_atrest(exe, args, root)
            with open(out) as f:
                return [f.read()]

    return run


def joiner(atrest, root, command):
    """Joins two texts atrest wrote into one, with `atrest <command> a b -o out`: facts with
    `facts --merge`, parts of a scan with `merge --format jsonl` (a branch of a tree of
    merges). Runs on an executor, or on the driver for the last level of the tree."""

    def join(a, b):
        with tempfile.TemporaryDirectory(prefix="atrest-join-") as tmp:
            names = []
            for i, text in enumerate((a, b)):
                names.append(os.path.join(tmp, f"in-{i}"))
                with open(names[-1], "w") as f:
                    f.write(text)
            out = os.path.join(tmp, "out")
            run_atrest(binary(atrest), command(names, out), root)
            with open(out) as f:
                return f.read()

    return join


def tree_depth(partitions):
    """treeReduce's depth for this many partitions: at most about 4 values joined at a time,
    so neither an executor nor the driver joins a number of values that grows with them."""
    return max(2, math.ceil(math.log2(max(partitions, 2)) / 2))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--atrest", required=True, help="the atrest binary")
    ap.add_argument("--logs", action="append", required=True,
                    help="a directory or s3:// prefix of CloudTrail logs (repeatable)")
    ap.add_argument("--inventory", action="append", default=[],
                    help="templates, Terraform or API output the logs are checked against "
                         "(repeatable); also reported on")
    ap.add_argument("--partitions", type=int, default=None,
                    help="tasks per phase (default: Spark's default parallelism)")
    ap.add_argument("--format", default="sarif", choices=["sarif", "json", "text", "junit"])
    ap.add_argument("--output", required=True, help="the report to write")
    ap.add_argument("--root", default=os.getcwd(), help="paths are shown relative to this")
    ap.add_argument("--master", default=None, help="e.g. local[2] (default: spark-submit's)")
    ap.add_argument("--work", default=None, help="keep the list, facts and merged part here "
                                                 "(default: temporary)")
    for name in ("--since", "--until"):
        ap.add_argument(name, default=None, help="as for atrest scan: logs by delivery day")
    ap.add_argument("--account", action="append", default=[], help="as for atrest scan")
    ap.add_argument("--trail-region", action="append", default=[], help="as for atrest scan")
    for name in ("--profile", "--region", "--endpoint-url"):
        ap.add_argument(name, default=None, help="as for atrest scan: how to reach S3")
    ap.add_argument("merge_args", nargs="*",
                    help="after --: more `atrest merge` options (--fail-on, --config, ...)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    access = [a for name in ("profile", "region", "endpoint_url") if getattr(args, name)
              for a in ("--" + name.replace("_", "-"), getattr(args, name))]
    selection = [a for name in ("since", "until") if getattr(args, name)
                 for a in ("--" + name, getattr(args, name))]
    selection += [a for acc in args.account for a in ("--account", acc)]
    selection += [a for r in args.trail_region for a in ("--trail-region", r)]
    if any(p.startswith(S3_SCHEMES) for p in args.logs):
        selection += access

    builder = SparkSession.builder.appName("atrest").config(
        "spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
        if args.master.startswith("local"):
            # One machine: stay on loopback, open no web UI.
            builder = (builder.config("spark.driver.host", "127.0.0.1")
                       .config("spark.driver.bindAddress", "127.0.0.1")
                       .config("spark.ui.enabled", "false"))
    spark = builder.getOrCreate()
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    work = args.work or tempfile.mkdtemp(prefix="atrest-spark-")
    os.makedirs(work, exist_ok=True)
    timings = {}
    exe = binary(args.atrest)
    try:
        t = time.monotonic()
        files, list_failed = list_logs(exe, args.logs, root, selection, work)
        if not files and not args.inventory:
            print("atrest-spark: no CloudTrail log to read", file=sys.stderr)
            return 2
        partitions = max(1, min(args.partitions or sc.defaultParallelism, len(files) or 1))
        depth = tree_depth(partitions)
        rdd = sc.parallelize(files, partitions)
        timings["list"] = time.monotonic() - t

        t = time.monotonic()
        facts_text = None
        if files:
            facts_text = rdd.mapPartitionsWithIndex(
                task("facts", args.atrest, root, args.inventory, None, access)
            ).treeReduce(joiner(args.atrest, root,
                                lambda names, out: ["facts", "--merge", *names, "-o", out]),
                         depth)
        facts = sc.broadcast(facts_text)
        timings["facts"] = time.monotonic() - t

        t = time.monotonic()
        parts = rdd.mapPartitionsWithIndex(
            lambda i, it: task("scan", args.atrest, root, args.inventory, facts.value,
                               access)(i, it))
        if args.inventory:
            parts = parts.union(sc.parallelize([None], 1).mapPartitionsWithIndex(
                task("inventory", args.atrest, root, args.inventory, None, access)))
        merge_jsonl = lambda names, out: ["merge", *names, "--format", "jsonl", "-o", out,
                                          *args.merge_args]
        part = parts.treeReduce(joiner(args.atrest, root, merge_jsonl), depth)
        whole = os.path.join(work, "merged.jsonl")
        with open(whole, "w") as f:
            f.write(part)
        timings["scan and merge"] = time.monotonic() - t

        t = time.monotonic()
        merged = subprocess.run(
            [exe, "merge", whole, "--format", args.format,
             "-o", os.path.abspath(args.output), *args.merge_args],
            cwd=root, capture_output=True, text=True)
        timings["report"] = time.monotonic() - t
        sys.stderr.write(merged.stderr)
        print(f"atrest-spark: {len(files)} log files in {partitions} partitions "
              f"(tree depth {depth}); "
              + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()), file=sys.stderr)
        # A prefix that could not be listed is said on stderr; the exit code says it too.
        return 2 if list_failed and merged.returncode in (0, 1) else merged.returncode
    finally:
        spark.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
