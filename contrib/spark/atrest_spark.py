#!/usr/bin/env python3
"""Runs one atrest scan over a large CloudTrail archive on Apache Spark, with the report a single
`atrest scan` over the same files would give.

Map, reduce, map, then a merge on the driver:

1. the driver lists the log files (any Hadoop file system: local paths, file://, s3a://, hdfs://)
   and splits the list into partitions;
2. each task runs `atrest facts --files-from <its list>`: what its logs show about the keys
   Lambda uses (small: a few lines per key and alias);
3. the driver joins the facts (`atrest facts --merge`) and broadcasts them;
4. each task runs `atrest scan --files-from <its list> --inventory ... --facts <joined>
   --format jsonl`; one more task scans the inventory itself;
5. the driver runs `atrest merge` on the parts and writes the report (SARIF, JSON, text).

Each task calls the atrest binary; Spark only schedules, moves lists, facts and results, and
retries failed tasks (a task is a pure function of its list and the facts, so a retry is safe).

    python atrest_spark.py --atrest target/release/atrest --logs AWSLogs/ --inventory infra/ \\
        --partitions 8 --format sarif --output atrest.sarif [--master local[2]]

With spark-submit on a cluster, give the same arguments after the script. Paths in the report
are shown relative to --root (default: the current directory); the inventory, the binary and the
local logs must exist at the same paths on every executor (a shared file system), or see
"S3" below. The exit code is atrest merge's: 0, 1 (findings) or 2 (an input failed).

S3: give --logs s3a://bucket/AWSLogs/o-123/ (listing through Hadoop's S3A connector, which
needs hadoop-aws on the classpath, as on EMR, Glue and Databricks). Each task then downloads its
objects with boto3 into a scratch directory, as <bucket>/<key>, and runs atrest there, so
findings name s3 objects as <bucket>/<key>. Ship the binary with `spark-submit --files atrest`
(found with SparkFiles) and the inventory likewise, or put them on a shared file system.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pyspark.sql import SparkSession

S3_SCHEMES = ("s3://", "s3a://", "s3n://")


def list_files(spark, prefix, root):
    """Every file under a prefix, sorted: local paths relative to root, as `atrest scan` shows
    them; other URIs (s3a://, hdfs://) listed through Hadoop's FileSystem, as URIs."""
    if "://" not in prefix or prefix.startswith("file://"):
        top = os.path.join(root, prefix[len("file://"):] if prefix.startswith("file://") else prefix)
        found = []
        for folder, dirs, names in os.walk(top):
            # As `atrest scan` walks a directory: hidden files and folders are not read.
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            found += [os.path.relpath(os.path.join(folder, n), root)
                      for n in names if not n.startswith(".")]
        return sorted(found)
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(prefix)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found = []
    it = fs.listFiles(path, True)
    while it.hasNext():
        found.append(it.next().getPath().toUri().toString())
    return sorted(found)


def binary(path):
    """The atrest binary: the path given, else a file shipped with --files."""
    if os.path.exists(path):
        return os.path.abspath(path)
    from pyspark import SparkFiles

    return SparkFiles.get(os.path.basename(path))


def fetch(paths, scratch):
    """Local paths as they are; S3 objects downloaded to scratch/<bucket>/<key>."""
    local = []
    client = None
    for p in paths:
        if not p.startswith(S3_SCHEMES):
            local.append(p)
            continue
        if client is None:
            import boto3  # only needed, and only imported, for S3

            client = boto3.client("s3")
        bucket, _, key = p.split("://", 1)[1].partition("/")
        to = os.path.join(scratch, bucket, key)
        os.makedirs(os.path.dirname(to), exist_ok=True)
        client.download_file(bucket, key, to)
        local.append(os.path.join(bucket, key))
    return local


def run_atrest(atrest, args, cwd):
    """Runs atrest; 0 and 2 (some input failed, reported in the output) are results, anything
    else is a failed task for Spark to retry."""
    done = subprocess.run([atrest] + args, cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 2):
        raise RuntimeError(f"atrest {' '.join(args[:2])} exited {done.returncode}: {done.stderr}")
    return done


def task(phase, atrest, root, inventory, facts_text):
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
            remote = any(p.startswith(S3_SCHEMES) for p in paths)
            cwd = os.path.join(tmp, "objects") if remote else root
            if remote:
                os.makedirs(cwd)
            listed = fetch(paths, cwd)
            listing = os.path.join(tmp, "files.txt")
            with open(listing, "w") as f:
                f.write("\n".join(listed) + "\n")
            out = os.path.join(tmp, "out")
            inv = [a for p in inventory for a in ("--inventory", os.path.join(root, p))]
            if phase == "facts":
                args = ["facts", "--files-from", listing, "-o", out, "--jobs", "1"]
            else:
                facts = os.path.join(tmp, "facts.json")
                with open(facts, "w") as f:
                    f.write(facts_text)
                args = ["scan", "--files-from", listing, *inv, "--facts", facts,
                        "--format", "jsonl", "-o", out, "--jobs", "1"]
            run_atrest(exe, args, cwd)
            with open(out) as f:
                return [f.read()]

    return run


def save(texts, folder, pattern):
    """Writes what the tasks returned to files; returns their paths."""
    names = []
    for i, text in enumerate(texts):
        names.append(os.path.join(folder, pattern.format(i)))
        with open(names[-1], "w") as f:
            f.write(text)
    return names


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--atrest", required=True, help="the atrest binary")
    ap.add_argument("--logs", action="append", required=True,
                    help="a directory or URI prefix of CloudTrail logs (repeatable)")
    ap.add_argument("--inventory", action="append", default=[],
                    help="templates, Terraform or API output the logs are checked against "
                         "(repeatable); also reported on")
    ap.add_argument("--partitions", type=int, default=None,
                    help="tasks per phase (default: Spark's default parallelism)")
    ap.add_argument("--format", default="sarif", choices=["sarif", "json", "text", "junit"])
    ap.add_argument("--output", required=True, help="the report to write")
    ap.add_argument("--root", default=os.getcwd(), help="paths are shown relative to this")
    ap.add_argument("--master", default=None, help="e.g. local[2] (default: spark-submit's)")
    ap.add_argument("--work", default=None, help="keep facts and parts here (default: temporary)")
    ap.add_argument("merge_args", nargs="*",
                    help="after --: more `atrest merge` options (--fail-on, --config, ...)")
    args = ap.parse_args()
    root = os.path.abspath(args.root)

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
    try:
        t = time.monotonic()
        files = sorted({f for prefix in args.logs for f in list_files(spark, prefix, root)})
        partitions = max(1, min(args.partitions or sc.defaultParallelism, len(files) or 1))
        rdd = sc.parallelize(files, partitions)
        timings["list"] = time.monotonic() - t

        t = time.monotonic()
        facts_parts = rdd.mapPartitionsWithIndex(
            task("facts", args.atrest, root, args.inventory, None)).collect()
        names = save(facts_parts, work, "facts-{}.json")
        joined = os.path.join(work, "facts.json")
        exe = binary(args.atrest)
        run_atrest(exe, ["facts", "--merge", *names, "-o", joined], root)
        with open(joined) as f:
            facts = sc.broadcast(f.read())
        timings["facts"] = time.monotonic() - t

        t = time.monotonic()
        parts = rdd.mapPartitionsWithIndex(
            lambda i, it: task("scan", args.atrest, root, args.inventory, facts.value)(i, it)
        ).collect()
        if args.inventory:
            parts += sc.parallelize([None], 1).mapPartitionsWithIndex(
                task("inventory", args.atrest, root, args.inventory, None)).collect()
        part_names = save(parts, work, "part-{}.jsonl")
        timings["scan"] = time.monotonic() - t

        t = time.monotonic()
        merged = subprocess.run(
            [exe, "merge", *part_names, "--format", args.format,
             "-o", os.path.abspath(args.output), *args.merge_args],
            cwd=root, capture_output=True, text=True)
        timings["merge"] = time.monotonic() - t
        sys.stderr.write(merged.stderr)
        print(f"atrest-spark: {len(files)} log files in {partitions} partitions; "
              + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items()), file=sys.stderr)
        return merged.returncode
    finally:
        spark.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
