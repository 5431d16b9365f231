#!/usr/bin/env python3
"""Opens atrest's HTML review report in headless Chromium and checks it as a reader sees it.

Run by .ci/run after it installs Debian's `chromium`; installs nothing itself and needs only
the Python standard library: it drives Chromium over the DevTools protocol on a pipe
(`--remote-debugging-pipe`, messages separated by NUL bytes on file descriptors 3 and 4).

For the report of examples/, of a generated scan of 10,000 findings, and of inputs whose names
and CloudTrail fields are markup and script, it asserts that the page renders without console
errors, that the map has one row per function with the cells the JSON report gives, that the
filters work, and that no injected script ran and no injected element exists. It saves a
screenshot of each page to target/ci-artifacts/ and prints the page's load time.

Usage: check_report.py ATREST_BINARY. Chromium is found on PATH (or in $CHROMIUM); when it is
missing the check is skipped, visibly, unless ATREST_REQUIRE_CHROMIUM=1 makes that a failure.
"""

import base64
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARTIFACTS = os.path.join(ROOT, "target", "ci-artifacts")
LABELS = {"pass": "PASS", "fail": "FAIL", "unknown": "UNKNOWN", "suppressed": "SUPPRESSED", "none": "not stored"}
KINDS = ["environment", "package", "filter_criteria", "logs", "traces", "durable"]


class Browser:
    """One headless Chromium, one page, driven over the DevTools pipe."""

    def __init__(self, exe, profile):
        to_child = os.pipe()
        from_child = os.pipe()
        # Moved above 9 first, so that placing them at 3 and 4 cannot overwrite one another.
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_child[0], from_child[1])]

        def place():
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-dev-shm-usage", "--remote-debugging-pipe", "--user-data-dir=" + profile,
             "--window-size=1600,1000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=place, pass_fds=(3, 4) + tuple(high))
        for fd in (to_child[0], from_child[1], *high):
            os.close(fd)
        self.out = os.fdopen(to_child[1], "wb", buffering=0)
        self.inp = os.fdopen(from_child[0], "rb", buffering=0)
        self.buf = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable", session=True)

    def _read(self):
        while b"\0" not in self.buf:
            chunk = self.inp.read(1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def eval(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expression}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, path):
        """Loads a file:// page; returns the wall time until its script has drawn it, in ms."""
        self.events.clear()
        start = time.monotonic()
        self.call("Page.navigate", {"url": "file://" + os.path.abspath(path)}, session=True)
        deadline = start + 120
        while time.monotonic() < deadline:
            if self.eval("document.readyState === 'complete' && document.body && document.body.dataset.rendered === '1'"):
                return (time.monotonic() - start) * 1000
            time.sleep(0.05)
        raise AssertionError(f"{path}: the page was not drawn within 120 s")

    def errors(self):
        """Console errors, uncaught exceptions and log errors since the page was opened."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(json.dumps(p["exceptionDetails"])[:500])
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args"))[:500])
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def screenshot(self, name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        path = os.path.join(ARTIFACTS, name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def atrest(binary, cwd, *args):
    done = subprocess.run([binary, *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise AssertionError(f"atrest {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def report(binary, cwd, out, *paths):
    atrest(binary, cwd, "scan", *paths, "--format", "html", "--output", out)
    return json.loads(atrest(binary, cwd, "scan", *paths, "--format", "json"))


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def check_map(b, doc, name):
    """Every function is one row, and each kind's cells carry the JSON report's verdicts."""
    fns = doc["map"]["functions"]
    shown = b.eval("Array.from(document.querySelectorAll('#map tr.fn')).map(r => r.dataset.function)")
    check(shown == [f["name"] for f in fns][:100], f"{name}: map rows {shown[:5]}... vs the JSON report")
    rows = b.eval("""Array.from(document.querySelectorAll('#map tr.fn')).map(r => {
        const o = {verdict: r.lastElementChild.querySelector('.badge').textContent};
        for (const td of r.querySelectorAll('td[data-kind]'))
          o[td.dataset.kind] = Array.from(td.querySelectorAll('.cellblock')).map(b => [b.dataset.verdict, b.querySelector('.badge').textContent, (b.querySelector('.key') || {}).textContent || null]);
        return o; })""")
    for f, row in zip(fns, rows):
        check(row["verdict"] == LABELS["pass" if f["verdict"] == "none" else f["verdict"]], f"{name}: {f['name']} verdict {row['verdict']}")
        for kind in KINDS:
            want = [c for c in f["cells"] if c["kind"] == kind]
            got = row[kind]
            check(len(got) == len(want), f"{name}: {f['name']} {kind}: {len(got)} cells, want {len(want)}")
            for c, (verdict, label, key) in zip(want, got):
                check(verdict == c["verdict"] and label == LABELS[c["verdict"]], f"{name}: {f['name']} {kind}: {verdict}/{label}, want {c['verdict']}")
                if c["stored"] is not False and c["key"] and c["key"].get("value"):
                    check(key == c["key"]["value"], f"{name}: {f['name']} {kind}: key {key!r}")


def select(b, section, field, value):
    """Picks `value` in a filter and returns the findings the page then counts and shows."""
    b.eval(f"""(() => {{ const s = document.querySelector('#{section} select[data-filter="{field}"]');
        s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); }})()""")
    count = b.eval(f"document.querySelector('#{section} .count').textContent")
    shown = b.eval(f"Array.from(document.querySelectorAll('#{section} .finding')).map(d => [d.dataset.rule, d.dataset.outcome])")
    return int(count.split()[0]), shown


def check_filters(b, doc, name):
    plain = [f for f in doc["findings"] if "cloudtrail" not in f]
    rule = plain[0]["rule_id"]
    n, shown = select(b, "findings", "rule", rule)
    want = sum(1 for f in plain if f["rule_id"] == rule)
    check(n == want, f"{name}: filter rule={rule}: {n} counted, want {want}")
    check(len(shown) == min(want, 50) and all(r == rule for r, _ in shown), f"{name}: filter rule={rule} shows {shown[:3]}")
    select(b, "findings", "rule", "")
    n, shown = select(b, "findings", "outcome", "unknown")
    want = sum(1 for f in plain if f["outcome"] == "unknown")
    check(n == want and all(o == "unknown" for _, o in shown), f"{name}: filter outcome=unknown: {n}, want {want}")
    select(b, "findings", "outcome", "")


def no_answer(_signum, _frame):
    raise AssertionError("no answer from chromium within 10 minutes")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = os.path.abspath(sys.argv[1])
    exe = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        if os.environ.get("ATREST_REQUIRE_CHROMIUM") == "1":
            sys.exit("FAILED: chromium is not installed, and ATREST_REQUIRE_CHROMIUM=1")
        print("SKIPPED: the browser check of the HTML report (chromium is not installed)")
        return
    # A browser that stops answering fails the check instead of holding CI until its limit.
    signal.signal(signal.SIGALRM, no_answer)
    signal.alarm(600)
    passed = 0
    with tempfile.TemporaryDirectory() as tmp:
        b = Browser(exe, os.path.join(tmp, "profile"))
        try:
            # examples/
            page = os.path.join(tmp, "examples.html")
            doc = report(binary, ROOT, page, "examples")
            ms = b.open(page)
            check(not b.errors(), f"examples: console errors {b.errors()}")
            check_map(b, doc, "examples")
            check_filters(b, doc, "examples")
            shot = b.screenshot("report-examples.png")
            print(f"examples report: {os.path.getsize(page)} bytes, drawn in {ms:.0f} ms "
                  f"(script {b.eval('window.atrestRenderMs'):.0f} ms); screenshot {os.path.relpath(shot, ROOT)}")
            passed += 1

            # 10,000 findings: 3,334 functions, each failing three rules.
            big = os.path.join(tmp, "big")
            os.makedirs(big)
            resources = {}
            for i in range(3334):
                resources[f"Function{i:05d}"] = {"Type": "AWS::Lambda::Function", "Properties": {
                    "Code": {"ZipFile": "x"}, "Environment": {"Variables": {"A": "b"}}}}
            with open(os.path.join(big, "template.json"), "w") as f:
                json.dump({"Resources": resources}, f, indent=1)
            page = os.path.join(tmp, "big.html")
            doc = report(binary, big, page, ".")
            total = len(doc["findings"])
            check(total >= 10000, f"10k: only {total} findings")
            ms = b.open(page)
            check(not b.errors(), f"10k: console errors {b.errors()}")
            check_map(b, doc, "10k")
            check_filters(b, doc, "10k")
            nodes = b.eval("document.getElementsByTagName('*').length")
            check(nodes < 20000, f"10k: {nodes} elements in the DOM")
            b.screenshot("report-10k.png")
            print(f"10k report: {total} findings, {os.path.getsize(page)} bytes, drawn in {ms:.0f} ms "
                  f"(script {b.eval('window.atrestRenderMs'):.0f} ms), {nodes} DOM elements")
            passed += 1

            # Markup and script in names, variables, key values and CloudTrail fields.
            evil = os.path.join(tmp, "evil")
            os.makedirs(evil)
            hostile = ["<script>window.__pwned=1</script>", "\"><img src=x onerror=window.__pwned=2>",
                       "javascript:window.__pwned=3"]
            template = {"Resources": {hostile[0]: {"Type": "AWS::Lambda::Function", "Properties": {
                "Code": {"ZipFile": "x"}, "KmsKeyArn": hostile[2],
                "Environment": {"Variables": {hostile[1]: "v", hostile[0]: "w"}}}}}}
            with open(os.path.join(evil, "evil.json"), "w") as f:
                json.dump(template, f)
            with open(os.path.join(ROOT, "fixtures/cloudtrail/ATR-C001/fail_context_outside_lambda.jsonl")) as f:
                log = f.read()
            log = log.replace("user/alice", json.dumps(hostile[0])[1:-1]).replace(
                "00000000-0000-4000-8000-000000000002", json.dumps(hostile[1])[1:-1])
            with open(os.path.join(evil, "trail.jsonl"), "w") as f:
                f.write(log)
            page = os.path.join(tmp, "evil.html")
            doc = report(binary, evil, page, ".")
            b.open(page)
            check(not b.errors(), f"injection: console errors {b.errors()}")
            check(b.eval("typeof window.__pwned") == "undefined", "injection: injected script ran")
            check(b.eval("document.querySelectorAll('img, iframe, object, embed, svg').length") == 0, "injection: an injected element exists")
            check(b.eval("document.scripts.length") == 2, "injection: a script element was added")
            text = b.eval("document.body.textContent")
            check(hostile[0] in text and hostile[2] in text, "injection: the values are shown as text")
            check(b.eval("document.querySelectorAll('#cloudtrail .finding').length") >= 1, "injection: the CloudTrail finding is shown")
            check(hostile[1] in b.eval("document.querySelector('#cloudtrail').textContent"), "injection: the event id is shown as text")
            check_map(b, doc, "injection")
            b.screenshot("report-injection.png")
            print("injection report: no injected script ran, no injected element exists")
            passed += 1
        finally:
            b.close()
    print(f"browser check: all {passed} pages as expected")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}")
        sys.exit(1)
