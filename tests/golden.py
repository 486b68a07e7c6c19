#!/usr/bin/env python3
"""Golden test: render INPUT and compare with INPUT's .out.yaml (UPDATE_GOLDEN=1 rewrites it).

Backup examples are rendered together with the cluster they reference
(examples/cluster-3.yaml), since a backup Job needs its cluster's servers and image.
A line `# golden-args: ARG...` in the input adds those arguments to `render` (e.g. the
--backup-database names the controller would expand a backup's list to).
"""
import difflib
import os
import subprocess
import sys

binary, inp = sys.argv[1], sys.argv[2]
d, name = os.path.split(inp)
files = [inp]
if os.path.basename(d) == "examples":
    expected = os.path.join(d, "..", "tests", "golden", "examples", name[:-5] + ".out.yaml")
    if name.startswith("backup-"):
        files = [os.path.join(d, "cluster-3.yaml"), inp]
else:
    expected = inp[:-5] + ".out.yaml"
expected = os.path.normpath(expected)

args = [binary, "render"]
for f in files:
    args += ["-f", f]
with open(inp) as f:
    for line in f:
        if line.startswith("# golden-args:"):
            args += line.split(":", 1)[1].split()
p = subprocess.run(args, capture_output=True, text=True)
if p.returncode != 0:
    print(f"render failed (exit {p.returncode}):\n{p.stderr}")
    sys.exit(1)
got = p.stdout

if os.environ.get("UPDATE_GOLDEN"):
    os.makedirs(os.path.dirname(expected), exist_ok=True)
    with open(expected, "w") as f:
        f.write(got)
    print(f"updated {expected}")
    sys.exit(0)

if not os.path.exists(expected):
    print(f"missing {expected}; run with UPDATE_GOLDEN=1 and review the result")
    sys.exit(1)
want = open(expected).read()
if got != want:
    sys.stdout.writelines(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                               expected, "rendered"))
    sys.exit(1)
# Determinism: a second render is byte-identical.
p2 = subprocess.run(args, capture_output=True, text=True)
if p2.stdout != got:
    print("render is not deterministic")
    sys.exit(1)
print(f"ok {os.path.relpath(inp)}")
