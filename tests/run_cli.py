#!/usr/bin/env python3
"""`neo4j-operator run`: its flags, their env variables, and what a bad one does (exit 2,
one clear line, nothing started). Needs no cluster: every run here stops before or at
loading the kubeconfig."""
import json
import os
import subprocess
import sys

binary = sys.argv[1]
failures = []
count = 0
# A clean environment: no stray KUBECONFIG/WATCH_NAMESPACES/LOG_LEVEL from the caller.
BASE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("KUBECONFIG", "WATCH_NAMESPACES", "LOG_LEVEL", "LOG_FORMAT",
                         "POD_NAMESPACE", "POD_NAME", "KUBERNETES_SERVICE_HOST")}
BASE_ENV["HOME"] = "/nonexistent-home"  # no ~/.kube/config either


def run(args, env=None):
    e = dict(BASE_ENV)
    e.update(env or {})
    return subprocess.run([binary, "run", *args], capture_output=True, text=True, env=e,
                          timeout=30)


def check(cond, what):
    global count
    count += 1
    if not cond:
        failures.append(what)
        print("FAIL", what)


def json_lines(text):
    out = []
    for line in text.splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            out.append(None)
    return out


# --help documents every flag with its env variable.
p = run(["--help"])
check(p.returncode == 0, f"run --help exits 0 ({p.returncode})")
for flag in ("--kubeconfig", "--context", "--namespaces", "--workers", "--leader-elect",
             "--leader-election-namespace", "--leader-election-id", "--metrics-bind-address",
             "--health-probe-bind-address", "--log-level", "--log-format", "--cluster-domain",
             "--resync", "--backup-image"):
    check(flag in p.stdout, f"run --help lists {flag}")
for env in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "WATCH_NAMESPACES", "POD_NAMESPACE",
            "LOG_LEVEL", "LOG_FORMAT", "POD_NAME", "N4J_BACKUP_IMAGE"):
    check(env in p.stdout, f"run --help names the env variable {env}")
top = subprocess.run([binary, "--help"], capture_output=True, text=True)
check("run [flags]" in top.stdout, "neo4j-operator --help lists the run command")

# Bad flags and values: exit 2, one line naming the culprit, no log record (nothing started).
BAD = [
    (["--bogus"], {}, "unknown flag '--bogus'"),
    (["--bogus=1"], {}, "unknown flag '--bogus'"),
    (["stray"], {}, "unexpected argument 'stray'"),
    (["--workers"], {}, "flag --workers needs a value"),
    (["--workers", "0"], {}, "--workers: '0' is not a number from 1 to 256"),
    (["--workers=4x"], {}, "--workers: '4x'"),
    (["--workers", "257"], {}, "--workers: '257'"),
    (["--leader-elect=maybe"], {}, "--leader-elect: 'maybe' is not true or false"),
    (["--log-level", "loud"], {}, "--log-level: 'loud' is not debug, info, warn or error"),
    ([], {"LOG_LEVEL": "loud"}, "LOG_LEVEL: 'loud'"),
    (["--log-format=xml"], {}, "--log-format: 'xml' is not json or text"),
    (["--namespaces", "a,Bad_Name"], {}, "--namespaces: 'Bad_Name' is not a namespace name"),
    ([], {"WATCH_NAMESPACES": "ok,-no"}, "WATCH_NAMESPACES: '-no' is not a namespace name"),
    (["--namespaces", "a,*"], {}, "'*' (all namespaces) cannot be combined with names"),
    (["--resync", "5x"], {}, "--resync: '5x' is not a duration"),
    (["--resync=-1s"], {}, "--resync: '-1s'"),
    (["--leader-election-namespace", "Not/A/Namespace"], {},
     "--leader-election-namespace: 'Not/A/Namespace'"),
    (["--leader-election-id="], {}, "--leader-election-id: ''"),
    (["--cluster-domain="], {}, "--cluster-domain: empty"),
    (["--backup-image="], {}, "--backup-image: '' is not an image"),
    (["--backup-image", "ghcr.io/x y"], {}, "--backup-image: 'ghcr.io/x y'"),
]
for args, env, msg in BAD:
    p = run(args, env)
    what = f"run {' '.join(args)} {env or ''}".strip()
    check(p.returncode == 2, f"{what}: exit 2 (got {p.returncode}: {p.stderr.strip()!r})")
    check(msg in p.stderr, f"{what}: says {msg!r} (got {p.stderr.strip()!r})")
    check(p.stderr.startswith("neo4j-operator run: ") and len(p.stderr.splitlines()) == 1,
          f"{what}: one line, before any log record (got {p.stderr!r})")

# Good flags get past parsing: the run then fails on the missing kubeconfig (exit 1, a
# JSON log record), which shows the flags were accepted and the logger configured.
p = run(["--kubeconfig", "/nonexistent/kubeconfig", "--namespaces", " b, a ,b",
         "--workers=8", "--leader-elect=false", "--resync", "90s", "--log-level", "debug"])
recs = json_lines(p.stderr)
check(p.returncode == 1, f"missing kubeconfig: exit 1 (got {p.returncode}: {p.stderr!r})")
check(recs and all(r is not None for r in recs), f"the log is JSON lines by default: {p.stderr!r}")
start = next((r for r in recs if r and r.get("msg") == "starting"), None)
check(start is not None, "a 'starting' record")
if start:
    check(start.get("namespaces") == "b,a", f"namespaces trimmed, deduplicated: {start}")
    check(start.get("workers") == 8 and start.get("leader_elect") is False and
          start.get("resync_ms") == 90000, f"flag values taken: {start}")
failed = next((r for r in recs if r and r.get("msg") == "start-up failed"), None)
check(failed is not None and "/nonexistent/kubeconfig" in failed.get("error", ""),
      f"the start-up failure names the kubeconfig: {recs}")

# The flag wins over the env variable; env variables are read when no flag is given.
p = run(["--kubeconfig", "/nonexistent/kc", "--log-level=info", "--namespaces=x"],
        {"LOG_LEVEL": "loud", "WATCH_NAMESPACES": "Not_Valid"})
check(p.returncode == 1, f"flags win over bad LOG_LEVEL/WATCH_NAMESPACES (got {p.returncode}: "
      f"{p.stderr!r})")
p = run([], {"KUBECONFIG": "/nonexistent/from-env", "WATCH_NAMESPACES": "*",
             "LOG_FORMAT": "text"})
check(p.returncode == 1 and "/nonexistent/from-env" in p.stderr,
      f"KUBECONFIG is read: {p.stderr!r}")
check("INFO" in p.stderr and not p.stderr.lstrip().startswith("{"),
      f"LOG_FORMAT=text gives text records: {p.stderr!r}")
check('namespaces="(all)"' in p.stderr, f"WATCH_NAMESPACES='*' means all: {p.stderr!r}")
p = run(["--log-level=error", "--kubeconfig", "/nonexistent/kc"])
check(p.returncode == 1 and "starting" not in p.stderr and "start-up failed" in p.stderr,
      f"--log-level=error drops info records: {p.stderr!r}")

print(f"{count - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
