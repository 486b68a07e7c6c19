#!/usr/bin/env python3
"""The invalid corpus: every case is refused with exit 2 and each expected message.

Header lines:  # expect: <path>: <message>   (one or more)
               # where: cel | op | schema | parse | transition | podsecurity
`transition` cases hold an old and a new object, each valid alone; only the
apiserver can refuse the update (DESIGN.md §8.7), so offline both must render.
`podsecurity` cases are rendered workloads with a bad pod template: only PodSecurity
admission can judge them (tests/env/test_invalid.py); offline, render refuses them as
input that is not a custom resource.
"""
import os
import subprocess
import sys

binary, corpus = sys.argv[1], sys.argv[2]
failed = passed = 0
counts = {}
for name in sorted(os.listdir(corpus)):
    if not name.endswith(".yaml"):
        continue
    path = os.path.join(corpus, name)
    expects, where = [], None
    for line in open(path, encoding="utf-8", errors="replace"):
        if line.startswith("# expect:"):
            expects.append(line[len("# expect:"):].strip())
        elif line.startswith("# where:"):
            where = line[len("# where:"):].strip()
    problems = []
    if not expects or where not in ("cel", "op", "schema", "parse", "transition",
                                      "podsecurity"):
        problems.append("missing '# expect:' or a valid '# where:' header")
    counts[where] = counts.get(where, 0) + 1
    p = subprocess.run([binary, "render", "-f", path], capture_output=True, text=True)
    if p.returncode < 0 or p.returncode not in (0, 1, 2):
        problems.append(f"crashed or odd exit {p.returncode}")
    elif where == "transition":
        # A backup pair has no cluster in the file; that one complaint is expected offline.
        other = [l for l in p.stderr.splitlines() if "is not in the input" not in l]
        if other:
            problems.append("old and new objects must each be valid offline:\n" + "\n".join(other))
    elif where == "podsecurity":
        if p.returncode != 2 or p.stdout:
            problems.append(f"render must refuse a workload as not a CR: exit {p.returncode}")
    else:
        if p.returncode != 2:
            problems.append(f"exit {p.returncode}, want 2")
        for e in expects:
            if e not in p.stderr:
                problems.append(f"missing expected message: {e}")
        for line in p.stderr.splitlines():
            if not line.startswith(path + ":"):
                problems.append(f"diagnostic does not start with the file name: {line}")
        if p.stdout:
            problems.append("printed objects although the input is invalid")
    if problems:
        failed += 1
        print(f"FAIL {name}")
        for pr in problems:
            print(f"    {pr}")
        if p.stderr:
            print("    stderr: " + p.stderr.replace("\n", "\n            "))
    else:
        passed += 1
print("by kind: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed < 50 else 0)
