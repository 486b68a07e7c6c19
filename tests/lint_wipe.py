#!/usr/bin/env python3
"""Secrets are wiped with a wipe the compiler cannot remove (src/util/secret.c).

Fails on the two patterns that leave a secret in freed memory:
  - a memset (or hand-written zeroing) of a buffer that is freed right after: a dead store
    the optimiser is allowed to delete;
  - free() of a field or variable whose name says it holds a credential (token, password,
    key_pem, secret) instead of n4j_wipe_free().
"""
import os
import re
import sys

src = sys.argv[1]
SECRET = re.compile(r"\bfree\(\s*([\w.>-]*?(?:token|password|passwd|key_pem|secret))\s*\)")
MEMSET = re.compile(r"\bmemset\(\s*([\w.>-]+)\s*,\s*0\s*,")
problems = []
for top in ("src", "operator"):
    for d, _, files in os.walk(os.path.join(src, top)):
        for f in files:
            if not f.endswith(".c"):
                continue
            path = os.path.join(d, f)
            lines = open(path, encoding="utf-8").read().splitlines()
            for i, line in enumerate(lines):
                rel = os.path.relpath(path, src)
                m = SECRET.search(line)
                if m:
                    problems.append(f"{rel}:{i + 1}: free({m.group(1)}) of a secret: "
                                    "use n4j_wipe_free")
                m = MEMSET.search(line)
                if m:
                    target = m.group(1)
                    after = "\n".join(lines[i + 1:i + 4])
                    base = target.split("->")[0].split(".")[0]
                    if re.search(r"\b(free|n4j_buf_free)\(\s*&?" + re.escape(base), after):
                        problems.append(f"{rel}:{i + 1}: memset({target}) right before it is "
                                        "freed is a dead store: use n4j_wipe")
                if re.search(r"volatile\s+char\s*\*", line):
                    problems.append(f"{rel}:{i + 1}: hand-written wipe loop: use n4j_wipe")
for p in problems:
    print("FAIL", p)
print(f"{len(problems)} problems")
sys.exit(1 if problems else 0)
