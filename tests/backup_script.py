#!/usr/bin/env python3
"""The backup Job's `backup` script, run for real with a stub neo4j-admin.

Renders tests/golden/38-backup-expanded-databases.yaml (verify on, concrete databases),
takes the init container's script, points /scratch at a temporary directory (the only
change to its text) and runs it under bash with the container's own env values. The stub
records every neo4j-admin call and fails on demand (STUB_FAIL), so each promise of
docs/rendering.md "The backup Job" is checked: started file before the backup, one check
per database, inspect.json for retention, the failure line, inspect failure not failing
the backup, patterns not checked, database names never run as shell code.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

binary, src = sys.argv[1], sys.argv[2]
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL {what}")


STUB = r"""#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["STUB_LOG"], "a") as f:
    f.write(json.dumps(args) + "\n")
fail = os.environ.get("STUB_FAIL", "")
if args[:2] == ["database", "backup"]:
    if fail == "backup":
        print("picocli: connection refused", file=sys.stderr)
        sys.exit(3)
    started = os.path.join(os.environ["STUB_SCRATCH"], "report", "started")
    open(os.environ["STUB_LOG"] + ".started", "w").write(str(os.path.exists(started)))
elif args[:2] == ["database", "check"]:
    if fail == "check:" + args[-1]:
        sys.exit(1)
elif args[:2] == ["backup", "inspect"]:
    if fail == "inspect":
        print("inspect: cannot read", file=sys.stderr)
        sys.exit(1)
    print(json.dumps([{"name": "neo4j-2026-12-02T14-00-00.backup", "database": "neo4j",
                       "time": "2026-12-02T14:00:00Z", "full": True, "lowestTx": 1,
                       "highestTx": 9}]))
"""


def render(extra):
    inp = os.path.join(src, "tests", "golden", "38-backup-expanded-databases.yaml")
    args = [binary, "render", "-o", "json", "-f", inp] + extra
    p = subprocess.run(args, capture_output=True, text=True, check=True)
    for o in json.loads(p.stdout)["items"]:
        if o["kind"] == "CronJob":
            return o["spec"]["jobTemplate"]["spec"]["template"]["spec"]["initContainers"][0]
    raise SystemExit("no CronJob rendered")


def run(container, dbs, fail="", verify=None):
    with tempfile.TemporaryDirectory() as tmp:
        scratch = os.path.join(tmp, "scratch")
        bindir = os.path.join(tmp, "bin")
        os.makedirs(scratch)
        os.makedirs(bindir)
        stub = os.path.join(bindir, "neo4j-admin")
        with open(stub, "w") as f:
            f.write(STUB)
        os.chmod(stub, 0o755)
        cmd = container["command"]
        check(cmd[:2] == ["/bin/bash", "-c"] and cmd[3] == "neo4j-backup", "bash -c SCRIPT $0")
        script = cmd[2]
        check("/scratch" in script, "the script uses /scratch")
        script = script.replace("/scratch", scratch)
        env = {"PATH": bindir + ":" + os.environ["PATH"], "STUB_LOG": os.path.join(tmp, "log"),
               "STUB_SCRATCH": scratch, "STUB_FAIL": fail}
        for e in container["env"]:
            if "value" in e:
                env[e["name"]] = e["value"]
        if verify is not None:
            env["N4J_VERIFY"] = verify
        t0 = int(time.time())
        p = subprocess.run(["bash", "-c", script, "neo4j-backup"] + dbs, env=env, cwd=tmp,
                           capture_output=True, text=True)
        calls = []
        if os.path.exists(env["STUB_LOG"]):
            calls = [json.loads(line) for line in open(env["STUB_LOG"])]
        report = os.path.join(scratch, "report")
        out = {
            "rc": p.returncode,
            "stderr": p.stderr,
            "calls": calls,
            "started": open(os.path.join(report, "started")).read()
            if os.path.exists(os.path.join(report, "started")) else None,
            "started_before_backup": open(env["STUB_LOG"] + ".started").read() == "True"
            if os.path.exists(env["STUB_LOG"] + ".started") else False,
            "inspect": open(os.path.join(report, "inspect.json")).read()
            if os.path.exists(os.path.join(report, "inspect.json")) else None,
            "leftover": sorted(os.listdir(report)) if os.path.isdir(report) else [],
            "pwned": os.path.exists(os.path.join(tmp, "pwned")),
            "t0": t0,
        }
        return out


def last_line(s):
    lines = [ln for ln in s.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


c = render(["--backup-database", "neo4j", "--backup-database", "sales", "--backup-database",
            "system"])
dbs = c["command"][4:]
check(dbs == ["neo4j", "sales", "system"], f"the concrete databases are the arguments: {dbs}")

# 1. Success: started (epoch seconds, written before the backup), one check per database,
#    inspect.json as neo4j-admin printed it.
r = run(c, dbs)
check(r["rc"] == 0, f"success exits 0: {r['rc']} {r['stderr']}")
check(r["started"] is not None and re.fullmatch(r"\d+\n", r["started"] or "") and
      abs(int(r["started"]) - r["t0"]) < 60, f"started holds epoch seconds: {r['started']!r}")
check(r["started_before_backup"], "started exists when neo4j-admin database backup runs")
backup = [a for a in r["calls"] if a[:2] == ["database", "backup"]]
check(len(backup) == 1 and backup[0][-3:] == dbs and "--type=AUTO" in backup[0] and
      "--to-path=/backups" in backup[0], f"one backup call naming the databases: {backup}")
checks = [a[-1] for a in r["calls"] if a[:2] == ["database", "check"]]
check(checks == dbs, f"one check per database: {checks}")
inspect = [a for a in r["calls"] if a[:2] == ["backup", "inspect"]]
check(inspect == [["backup", "inspect", "/backups", "--format=json", "--show-metadata", "--empty"]], f"inspect: {inspect}")
check(r["inspect"] and json.loads(r["inspect"])[0]["database"] == "neo4j",
      "inspect.json holds inspect's output")
check(r["calls"][-1][:2] == ["backup", "inspect"], "inspect runs last, after verification")

# 2. A failed backup: its exit code, the failure line last, no check, no inspect.json.
r = run(c, dbs, fail="backup")
check(r["rc"] == 3, f"a failed backup exits with neo4j-admin's code: {r['rc']}")
check(last_line(r["stderr"]) == "neo4j-backup: BackupFailed: neo4j-admin database backup "
      "exited 3", f"failure line: {last_line(r['stderr'])!r}")
check("connection refused" in r["stderr"], "neo4j-admin's own error stays in the log")
check(not any(a[:2] != ["database", "backup"] for a in r["calls"]), "nothing after a failure")
check(r["inspect"] is None, "no inspect.json after a failed backup")

# 3. A failed check: every database is still checked, exit 1, the failed one named.
r = run(c, dbs, fail="check:sales")
check(r["rc"] == 1, f"a failed check exits 1: {r['rc']}")
check(last_line(r["stderr"]) == "neo4j-backup: VerifyFailed: the consistency check failed "
      "for sales", f"verify line: {last_line(r['stderr'])!r}")
check(len([a for a in r["calls"] if a[:2] == ["database", "check"]]) == 3, "all checked")
check(r["inspect"] is None, "no inspect.json (so no pruning) after a failed check")

# 4. inspect fails: the backup still succeeds; retention will find no inspect.json.
r = run(c, dbs, fail="inspect")
check(r["rc"] == 0, f"a failed inspect does not fail the backup: {r['rc']}")
check(r["inspect"] is None and r["leftover"] == ["started"],
      f"no inspect.json, no partial file: {r['leftover']}")
check("inspect failed: retention will prune nothing" in r["stderr"], "says so")

# 5. verify off: no check.
r = run(c, dbs, verify="false")
check(r["rc"] == 0 and not [a for a in r["calls"] if a[:2] == ["database", "check"]],
      "verify off: no check")

# 6. Offline render of a glob: the pattern goes to the backup, is not checked, is named.
r = run(c, ["*"])
check(r["rc"] == 0, f"pattern: exit 0: {r['stderr']}")
check(not [a for a in r["calls"] if a[:2] == ["database", "check"]], "a pattern is not checked")
check("verify: * is a pattern, not a database; not checked" in r["stderr"], "and is named")

# 7. Hostile names are arguments, never shell code.
evil = ["$(touch pwned)", "a; touch pwned", "`touch pwned`"]
r = run(c, evil)
check(not r["pwned"], "a database name is never executed")
checks = [a[-1] for a in r["calls"] if a[:2] == ["database", "check"]]
check(checks == evil, f"hostile names reach neo4j-admin verbatim: {checks}")

if failures:
    print(f"{failures} failed")
    sys.exit(1)
print("ok backup script")
