#!/usr/bin/env python3
"""The test environment's credentials never appear on a command line.

A token in argv is readable by every local user (/proc/<pid>/cmdline, ps) and lands in
shell histories and process accounting. This test proves hack/test-env keeps the static
tokens of tokens.csv (admin, controller-manager, scheduler, operator) off argv:
  1. every execve of `hack/test-env status` and `hack/test-env env` (which call the
     apiserver with curl) is recorded with strace and searched for each token; the check
     also asserts that curl was run, so it cannot pass by not exercising the call;
  2. the command lines of every process running now (the environment's components) are
     searched;
  3. the apiserver's audit log (it records user agents and request URIs) is searched.
"""
import os
import subprocess
import tempfile

from envlib import ROOT, check, done, load_env

load_env()
run_dir = os.environ["TESTENV_RUN"]
tokens = []
with open(os.path.join(run_dir, "tokens.csv"), encoding="utf-8") as f:
    for line in f:
        t = line.split(",", 1)[0].strip()
        if len(t) >= 16:
            tokens.append(t)
check(len(tokens) >= 4, f"tokens.csv holds the static tokens ({len(tokens)} found)")


def leaked(text):
    return [f"token #{i}" for i, t in enumerate(tokens) if t in text]


script = os.path.join(ROOT, "hack", "test-env")
for cmd in ("status", "env"):
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as log:
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-s", "65536",
                            "-o", log.name, script, cmd], capture_output=True, text=True,
                           timeout=120)
        check(p.returncode == 0, f"hack/test-env {cmd} under strace: {p.stderr[-500:]}")
        trace = log.read()
    execs = [l for l in trace.splitlines() if "execve(" in l]
    check(any('"curl"' in l or "/curl\"" in l for l in execs),
          f"hack/test-env {cmd} ran curl against the apiserver ({len(execs)} execs)")
    bad = leaked(trace)
    check(not bad, f"hack/test-env {cmd}: no token in any recorded argv (found {bad})")

found = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        continue
    bad = leaked(cmdline)
    if bad:
        found.append(f"PID {pid}: {bad}")
check(not found, f"no running process has a token on its command line: {found}")

audit = os.environ.get("TESTENV_AUDIT_LOG", "")
check(os.path.isfile(audit), f"audit log {audit} exists")
if os.path.isfile(audit):
    entries, bad = 0, set()
    with open(audit, encoding="utf-8", errors="replace") as f:
        for line in f:
            entries += 1
            bad.update(leaked(line))
    check(entries > 0, "audit log has entries")
    check(not bad, f"no token in the apiserver's audit log (found {sorted(bad)})")
done()
