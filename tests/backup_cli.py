#!/usr/bin/env python3
"""`neo4j-operator backup-retention` on a directory target: what it deletes, what it must
never touch (other files, other databases, uninspected artifacts, directories and symlinks
named like artifacts), the report line, dry runs, and the failures that prune nothing.

Expectations are written out by hand from the calendar (November 2026: the 1st, 8th, 15th,
22nd and 29th are Sundays), not computed by a model."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

binary = sys.argv[1]
failures = []
count = 0
# Under valgrind (valgrind.cli.backup_retention): its errors exit 99, not the command's 1.
WRAP = (shlex.split(os.environ["N4J_CHILD_WRAPPER"]) + ["--error-exitcode=99"]
        if os.environ.get("N4J_CHILD_WRAPPER") else [])


def check(cond, what):
    global count
    count += 1
    if not cond:
        failures.append(what)
        print("FAIL", what)


def run(*args):
    p = subprocess.run([*WRAP, binary, "backup-retention", *args], capture_output=True,
                       text=True, timeout=300)
    check(p.returncode != 99, f"valgrind: {p.stderr[-2000:]}")
    return p


def loads(text):
    """The report, or {} (a failed check) when it is not one JSON object."""
    try:
        r = json.loads(text)
    except json.JSONDecodeError:
        r = None
    check(isinstance(r, dict), f"a JSON object: {text[:200]!r}")
    return r if isinstance(r, dict) else {}


def name(db, day, hour, month=11):
    return f"{db}-2026-{month:02d}-{day:02d}T{hour:02d}-00-00.backup"


def make_bed(root):
    """neo4j: Nov 1..30 at 02:00, fulls on Sundays; system: Nov 1..30 at 03:00, all fulls;
    other: one artifact of a database not passed with --database; and things that look
    like artifacts but are not files retention may delete."""
    inspect = []
    for d in range(1, 31):
        n = name("neo4j", d, 2)
        with open(os.path.join(root, n), "wb") as f:
            f.write(b"x" * (1000 + d))
        if d != 2:  # Nov 2: written but not (yet) listed by inspect
            inspect.append({"name": n, "database": "neo4j", "time": "t",
                            "full": d in (1, 8, 15, 22, 29), "lowestTx": d * 10,
                            "highestTx": d * 10 + 9, "compressed": True})
        n = name("system", d, 3)
        with open(os.path.join(root, n), "wb") as f:
            f.write(b"y" * (500 + d))
        inspect.append({"name": n, "database": "system", "full": True, "lowestTx": 1,
                        "highestTx": d})
    n = name("other", 1, 2)
    open(os.path.join(root, n), "w").close()
    inspect.append({"name": n, "database": "other", "full": True})
    for junk in ("README", "neo4j-2026-11-31T02-00-00.backup",  # no Nov 31
                 "neo4j-2026-11-05T02-00-00.backup.tmp", "NEO4J-2026-11-05T02-00-00.backup"):
        open(os.path.join(root, junk), "w").close()
    # a directory and a symlink named like old artifacts, "inspected" as fulls
    os.mkdir(os.path.join(root, name("neo4j", 1, 2, month=10)))
    open(os.path.join(root, name("neo4j", 1, 2, month=10), "keep"), "w").close()
    outside = os.path.join(os.path.dirname(root), "outside-file")
    open(outside, "w").close()
    os.symlink(outside, os.path.join(root, name("neo4j", 2, 2, month=10)))
    for m in (name("neo4j", 1, 2, month=10), name("neo4j", 2, 2, month=10)):
        inspect.append({"name": m, "database": "neo4j", "full": True})
    return inspect


def epoch(day, hour, minute=0):
    import calendar
    return calendar.timegm((2026, 11, day, hour, minute, 0))


work = tempfile.mkdtemp(prefix="n4j-retention-")
try:
    root = os.path.join(work, "backups")
    os.mkdir(root)
    inspect = make_bed(root)
    ipath = os.path.join(work, "inspect.json")
    with open(ipath, "w") as f:
        json.dump(inspect, f)
    started = os.path.join(work, "started")
    with open(started, "w") as f:
        f.write(f"{epoch(30, 1, 59)}\n")
    report = os.path.join(work, "termination-log")
    before = sorted(os.listdir(root))
    base = [f"--target={root}", f"--inspect={ipath}", f"--started={started}",
            "--database=neo4j", "--database=system", f"--report={report}",
            "--now=2026-11-30T12:00:00Z"]

    # ---- dry run: the same plan, nothing deleted ----
    p = run(*base, "--keep-last=3", "--weekly=3", "--dry-run")
    check(p.returncode == 0, f"dry run exits 0 ({p.returncode}: {p.stderr})")
    check(sorted(os.listdir(root)) == before, "dry run deleted nothing")
    r = loads(p.stdout)
    check(r.get("prunedCount") == 46 and r.get("dryRun") is True,
          f"dry run reports 46 to prune: {p.stdout}")

    # ---- keepLast 3 + weekly 3 ----
    # neo4j chains: [1-7] [8-14] [15-21] [22-28] [29-30]. keepLast 3 = 28 29 30; ISO weeks:
    # W49 = Nov 30, W48 (23..29) = Nov 29, W47 (16..22) = Nov 22. 28 is a diff: its chain
    # from 22 stays. Kept 22..30; pruned 1..21 except Nov 2 (not inspected) = 20.
    # system (fulls): 28 29 30 + 22 kept; 26 pruned.
    p = run(*base, "--keep-last=3", "--weekly=3", "--database=neo4j")  # neo4j twice: once
    check(p.returncode == 0, f"exits 0 ({p.returncode}: {p.stderr})")
    left = set(os.listdir(root))
    want_neo = {name("neo4j", d, 2) for d in [2] + list(range(22, 31))}
    want_sys = {name("system", d, 3) for d in (22, 28, 29, 30)}
    untouched = {name("other", 1, 2), "README", "neo4j-2026-11-31T02-00-00.backup",
                 "neo4j-2026-11-05T02-00-00.backup.tmp", "NEO4J-2026-11-05T02-00-00.backup",
                 name("neo4j", 1, 2, month=10), name("neo4j", 2, 2, month=10)}
    check(left == want_neo | want_sys | untouched,
          f"files left: extra {sorted(left - want_neo - want_sys - untouched)}, "
          f"missing {sorted((want_neo | want_sys | untouched) - left)}")
    check(os.path.exists(os.path.join(work, "outside-file")), "the symlink's target is there")
    check(os.path.exists(os.path.join(root, name("neo4j", 1, 2, month=10), "keep")),
          "the directory named like an artifact is untouched")
    with open(report) as f:
        rep_text = f.read()
    check(p.stdout.strip() == rep_text, "stdout carries the report line")
    check("\n" not in rep_text and len(rep_text) <= 4000, "one line, at most 4000 bytes")
    r = loads(rep_text)
    check(r.get("v") == 1, "v 1")
    check(r.get("databases") == ["neo4j", "system"], f"databases {r.get('databases')}")
    arts = r.get("artifacts", [])
    check([a["name"] for a in arts] == [name("neo4j", 30, 2), name("system", 30, 3)],
          f"artifacts written by this run: {arts}")
    check([(a["database"], a["sizeBytes"], a["full"]) for a in arts] ==
          [("neo4j", 1030, False), ("system", 530, True)], f"artifact details {arts}")
    check(r.get("bytes") == 1560, f"bytes {r.get('bytes')}")
    check(r.get("kept") == 14, f"kept 14 (10 neo4j incl. the uninspected, 4 system): {r.get('kept')}")
    check(r.get("prunedCount") == 46, f"prunedCount 46: {r.get('prunedCount')}")
    pruned = r.get("pruned", [])
    want_pruned = sorted([name("neo4j", d, 2) for d in range(1, 22) if d != 2] +
                         [name("system", d, 3) for d in range(1, 28) if d != 22],
                         key=lambda n: n.split("-", 1)[1])
    check(pruned == want_pruned, f"pruned names, oldest first: {pruned[:4]}...")
    check("dryRun" not in r and "truncated" not in r, "no dryRun/truncated flags")
    deleting = [ln.split()[2] for ln in p.stderr.splitlines() if ln.startswith(
        "backup-retention: deleting ")]
    check(deleting == want_pruned, "stderr logs each deletion, oldest first")

    # ---- again, keepLast 1 and maxAge 1d a day later: the newest diff keeps its chain ----
    p = run(*[a for a in base if not a.startswith("--now")], "--keep-last=1",
            "--max-age=1d", "--now=2026-12-01T12:00:00Z")
    check(p.returncode == 0, f"second run exits 0 ({p.stderr})")
    left = set(os.listdir(root))
    check(left == {name("neo4j", d, 2) for d in (2, 29, 30)} | {name("system", 30, 3)} |
          untouched, f"after keepLast 1 maxAge 1d: {sorted(left - untouched)}")
    r = loads(p.stdout)
    check(r.get("prunedCount") == 7 + 3 and r.get("kept") == 4,
          f"second report: {p.stdout}")

    # ---- failures prune nothing ----
    before = sorted(os.listdir(root))
    for what, args in [
        ("missing inspect", [f"--inspect={work}/nope.json"]),
        ("malformed inspect", [f"--inspect={started}"]),  # epoch seconds: JSON, not an array
    ]:
        a = [x for x in base if not x.startswith("--inspect")] + args + ["--keep-last=1"]
        p = run(*a)
        check(p.returncode == 1, f"{what}: exit 1 ({p.returncode})")
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and "nothing pruned" in lines[0],
              f"{what}: one line saying nothing was pruned: {p.stderr!r}")
        check(sorted(os.listdir(root)) == before, f"{what}: nothing deleted")
    with open(os.path.join(work, "bad.json"), "w") as f:
        f.write('[{"name": "neo4j-2026-11-29T02-00-00.backup", "full": "yes"}]')
    p = run(*[x for x in base if not x.startswith("--inspect")],
            f"--inspect={work}/bad.json", "--keep-last=1")
    check(p.returncode == 1 and sorted(os.listdir(root)) == before,
          f"inspect with a non-boolean full: exit 1, nothing deleted ({p.stderr})")

    for what, args in [
        ("no --keep-last", base),
        ("bad --max-age", base + ["--keep-last=1", "--max-age=90m"]),
        ("bad --keep-last", base + ["--keep-last=-1"]),
        ("bad --database", base + ["--keep-last=1", "--database=Neo_4j"]),
        ("unknown flag", base + ["--keep-last=1", "--keep-first=2"]),
        ("no --database", [x for x in base if not x.startswith("--database")] +
         ["--keep-last=1"]),
        ("no --target", [x for x in base if not x.startswith("--target")] + ["--keep-last=1"]),
        ("missing target", [x for x in base if not x.startswith("--target")] +
         [f"--target={work}/nope", "--keep-last=1"]),
        ("unknown scheme", [x for x in base if not x.startswith("--target")] +
         ["--target=ftp://user:hunter2@host/x", "--keep-last=1"]),
        ("bad --now", [x for x in base if not x.startswith("--now")] +
         ["--now=2026-11-31T00:00:00Z", "--keep-last=1"]),
        ("bad --started", [x for x in base if not x.startswith("--started")] +
         [f"--started={ipath}", "--keep-last=1"]),
    ]:
        p = run(*args)
        check(p.returncode == 1, f"{what}: exit 1 ({p.returncode}: {p.stderr})")
        check(len(p.stderr.strip().splitlines()) == 1, f"{what}: one line: {p.stderr!r}")
        check("hunter2" not in p.stderr, f"{what}: no credential in the message")
        check(sorted(os.listdir(root)) == before, f"{what}: nothing deleted")
    p = run("--help")
    check(p.returncode == 0 and "--keep-last" in p.stdout, "--help")

    # ---- the 4000-byte report: pruned names go first, then artifacts ----
    big = os.path.join(work, "big")
    os.mkdir(big)
    db = "d" + "b" * 62  # 63 characters: the longest database name
    ins = []
    for d in range(1, 31):
        for h in range(0, 24, 6):
            n = f"{db}-2026-11-{d:02d}T{h:02d}-00-00.backup"
            open(os.path.join(big, n), "w").close()
            ins.append({"name": n, "full": True})
    with open(os.path.join(work, "big.json"), "w") as f:
        json.dump(ins, f)
    bigargs = [f"--target={big}", f"--inspect={work}/big.json", f"--report={report}",
               f"--database={db}", "--now=2026-12-01T00:00:00Z"]
    with open(started, "w") as f:
        f.write(f"{epoch(30, 0)}\n")  # Nov 30: 4 artifacts written "by this run"
    p = run(*bigargs, f"--started={started}", "--keep-last=4")
    check(p.returncode == 0, f"big: exit 0 ({p.stderr})")
    with open(report) as f:
        rep_text = f.read()
    r = loads(rep_text)
    check(len(rep_text) <= 4000, f"big: {len(rep_text)} bytes")
    check(r.get("prunedCount") == 116 and 0 < len(r.get("pruned", [])) < 116 and
          r.get("truncated") is True, "big: pruned names cut, prunedCount whole")
    check(len(r.get("artifacts", [])) == 4, "big: the artifacts kept while names are cut")
    check(r.get("pruned") == sorted(r.get("pruned", [])), "big: the oldest names kept")
    check(len(os.listdir(big)) == 4, "big: 4 left")
    # now 100 artifacts of this run: even with no pruned names they do not fit
    for d in range(1, 26):
        for h in range(1, 24, 6):
            n = f"{db}-2026-10-{d:02d}T{h:02d}-00-00.backup"
            open(os.path.join(big, n), "w").close()
            ins.append({"name": n, "full": True})
    with open(os.path.join(work, "big.json"), "w") as f:
        json.dump(ins, f)
    with open(started, "w") as f:
        f.write("0\n")
    p = run(*bigargs, f"--started={started}", "--keep-last=1000")
    with open(report) as f:
        rep_text = f.read()
    r = loads(rep_text)
    check(p.returncode == 0 and len(rep_text) <= 4000 and r.get("truncated") is True and
          0 < len(r.get("artifacts", [])) < 104 and r.get("pruned") == [] and
          r.get("kept") == 104,
          f"big artifacts: cut to fit ({len(rep_text)} bytes, {len(r.get('artifacts', []))})")
finally:
    shutil.rmtree(work, ignore_errors=True)

print(f"{count - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
