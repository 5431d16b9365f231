#!/usr/bin/env python3
"""The GitHub Action's scan step (action.yml), here so that tests can run it.

Reads the action's inputs from INPUT_* variables and runs `atrest scan`:

- the SARIF report to `sarif-file` (for code scanning), whose exit code is the step's;
- the text report to the job log, so that a repository without code scanning sees the findings;
- a Markdown summary of the findings to $GITHUB_STEP_SUMMARY, written from the JSON report.

`paths` holds one path per line, taken as written (spaces included). `args` is split as a shell
splits words, quotes included, without running anything (shlex; never eval). Standard library
only: every GitHub-hosted runner has Python 3.
"""

import json
import os
import shlex
import subprocess
import sys
import tempfile
import unicodedata

# Options the action sets itself: the same ones in `args` would be refused by atrest as given
# twice, or would send the report elsewhere.
OWN_OPTIONS = ("--format", "-f", "--output", "-o")
SEVERITIES = ("critical", "high", "medium", "low")
MAX_ROWS = 50


class InputError(Exception):
    pass


def paths_of(text):
    return [line.strip() for line in text.splitlines() if line.strip()]


def args_of(text):
    try:
        args = shlex.split(text, posix=True)
    except ValueError as e:
        raise InputError(f"`args` cannot be split into arguments: {e} in {text!r}") from None
    for arg in args:
        if arg in OWN_OPTIONS or any(arg.startswith(o + "=") for o in OWN_OPTIONS if o.startswith("--")):
            raise InputError(
                f"`args` sets {arg}: the action writes SARIF to `sarif-file`, the text report to "
                "the log and a summary itself"
            )
    return args


def inert(ch):
    """A control, format (bidi) or line-separating character, shown as an escape."""
    if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
        return f"\\u{{{ord(ch):x}}}"
    return ch


def shown(text):
    """Text for the log: no character that moves the cursor, changes colours or starts a line."""
    return "".join(inert(ch) for ch in str(text))


def command(kind, message):
    """A workflow command (::error::, ::warning::), its message escaped as the runner expects."""
    message = shown(message).replace("%", "%25")
    print(f"::{kind} title=atrest::{message}", flush=True)


def md(text):
    """Text for a Markdown table cell: no markup, no HTML, no line breaks or control characters."""
    out = []
    for ch in str(text):
        if ch in "\r\n":
            out.append(" ")
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in "\\`*_{}[]|~@$!":
            out.append("\\" + ch)
        else:
            out.append(inert(ch))
    return "".join(out)


def plural(n, word):
    return f"{n} {word}" + ("" if n == 1 else "s")


def summary_of(report, exit_code, fail_on, sarif_file):
    s = report.get("summary", {})
    # Open findings by severity, then those that cannot be decided statically.
    rank = {k: i for i, k in enumerate(SEVERITIES)}
    findings = sorted(
        report.get("findings", []),
        key=lambda f: (f.get("outcome") != "fail", rank.get(f.get("severity"), len(rank))),
    )
    open_count = sum(1 for f in findings if f.get("outcome") == "fail")
    errors = report.get("errors", [])
    by = s.get("by_severity", {})
    lines = ["## atrest", ""]
    counts = ", ".join(f"{by[k]} {k}" for k in SEVERITIES if by.get(k))
    lines.append(
        f"**{plural(open_count, 'open finding')}**"
        + (f" ({counts})" if counts else "")
        + f", {s.get('unknown', 0)} that cannot be decided statically, {s.get('suppressed', 0)} suppressed;"
        + f" {s.get('resources_passed', 0)} of {plural(s.get('resources_checked', 0), 'resource')}"
        + f" passed every rule in {plural(s.get('files_scanned', 0), 'file')}."
    )
    verdict = {
        0: "passed" if fail_on == "none" else f"passed (fails on {md(fail_on)} and above)",
        1: f"failed: findings at or above {md(fail_on)}",
        2: "failed: an input or policy could not be read",
    }.get(exit_code, f"failed (exit code {exit_code})")
    lines += ["", f"The step {verdict}. SARIF report: {md(sarif_file)}.", ""]
    if findings:
        lines += ["| Severity | Rule | Where | Resource | Finding |", "| --- | --- | --- | --- | --- |"]
        for f in findings[:MAX_ROWS]:
            where = f.get("file", "")
            if f.get("line"):
                where += f":{f['line']}"
            resource = (f.get("resource") or {}).get("id", "")
            severity = f.get("severity", "")
            if f.get("outcome") != "fail":
                severity += f" ({f.get('outcome', '')})"
            lines.append(
                f"| {md(severity)} | {md(f.get('rule_id', ''))} | {md(where)} "
                f"| {md(resource)} | {md(f.get('message', ''))} |"
            )
        if len(findings) > MAX_ROWS:
            lines += ["", f"{len(findings) - MAX_ROWS} more in the job log and the SARIF report."]
        lines.append("")
    if errors:
        lines += [f"### {plural(len(errors), 'input')} not read", ""]
        for e in errors[:MAX_ROWS]:
            where = e.get("file") or ""
            if e.get("line"):
                where += f":{e['line']}"
            lines.append(f"- {md(where)}: {md(e.get('message', ''))}")
        lines.append("")
    return "\n".join(lines) + "\n"


def write_output(name, value):
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{name}={value}\n")


def main():
    env = os.environ
    atrest = env.get("ATREST", "atrest")
    sarif_file = env.get("INPUT_SARIF_FILE") or "atrest.sarif"
    fail_on = env.get("INPUT_FAIL_ON") or "none"
    try:
        extra = args_of(env.get("INPUT_ARGS", ""))
        paths = paths_of(env.get("INPUT_PATHS", "."))
    except InputError as e:
        command("error", e)
        write_output("exit-code", 2)
        return 2
    common = []
    if env.get("INPUT_CONFIG"):
        common += ["--config", env["INPUT_CONFIG"]]
    common += extra
    tail = ["--", *paths] if paths else []

    sarif_dir = os.path.dirname(sarif_file)
    if sarif_dir:
        os.makedirs(sarif_dir, exist_ok=True)
    # One scan writes every report: SARIF for code scanning, the text report to the log, and
    # JSON for the summary on the run's page.
    color = ["--color", "always"] if env.get("GITHUB_ACTIONS") == "true" else []
    with tempfile.TemporaryDirectory(dir=env.get("RUNNER_TEMP")) as tmp:
        json_path = os.path.join(tmp, "atrest.json")
        cmd = [atrest, "scan", "--format", f"sarif={sarif_file}", "--format", f"json={json_path}",
               "--format", "text", "--fail-on", fail_on, *color]
        if env.get("INPUT_CATEGORY"):
            cmd += ["--sarif-category", env["INPUT_CATEGORY"]]
        print("atrest:", shown(shlex.join(cmd + common + tail)), flush=True)
        try:
            code = subprocess.run(cmd + common + tail).returncode
        except OSError as e:
            command("error", f"cannot run {atrest}: {e}")
            write_output("exit-code", 2)
            return 2
        sys.stdout.flush()
        write_output("exit-code", code)
        if not os.path.isfile(sarif_file):
            # The command line itself was refused (atrest said why above): nothing more to show.
            return code
        write_output("sarif-file", sarif_file)
        summary_path = env.get("GITHUB_STEP_SUMMARY")
        if not summary_path:
            return code
        try:
            with open(json_path, encoding="utf-8") as f:
                report = json.load(f)
        except (OSError, ValueError) as e:
            command("warning", f"no summary: the JSON report could not be read: {e}")
            return code
    with open(summary_path, "a", encoding="utf-8") as f:
        f.write(summary_of(report, code, fail_on, sarif_file))
    return code


if __name__ == "__main__":
    sys.exit(main())
