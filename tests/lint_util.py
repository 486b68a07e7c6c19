#!/usr/bin/env python3
"""Library code uses util's one clock, sleep, random source and logger (DESIGN 9):
no stderr printing, no clock_gettime/nanosleep, no rand() outside src/util. A copy
that creeps back in fails here with its file and line."""
import os
import re
import sys

src = os.path.join(sys.argv[1], "src")
rules = [
    (re.compile(r"\bf?printf\s*\(\s*stderr|\bfputs\s*\([^;]*\bstderr\b|\bperror\s*\(|"
                r"\bdprintf\s*\(\s*2\b|\bputs\s*\("),
     "print through util.h's logger (n4j_log_*), not to stderr", None),
    (re.compile(r"\bclock_gettime\s*\("), "use n4j_now_ms/n4j_now_ns/n4j_wall_ns", "util"),
    (re.compile(r"\b(nanosleep|usleep)\s*\("), "use n4j_sleep_ms", "util"),
    (re.compile(r"\b(rand|rand_r|random|drand48|srand)\s*\("),
     "use a seeded struct n4j_rng", "util"),
]
failures = 0
n_files = bad_files = 0
for root, _, files in os.walk(src):
    for f in sorted(files):
        if not f.endswith((".c", ".h")):
            continue
        path = os.path.join(root, f)
        layer = os.path.relpath(path, src).split(os.sep)[0]
        n_files += 1
        before = failures
        with open(path, encoding="utf-8", errors="replace") as fh:
            for no, line in enumerate(fh, 1):
                code = line.split("//")[0]
                if code.lstrip().startswith(("*", "/*")):
                    continue
                for rx, why, allowed in rules:
                    if rx.search(code) and layer != allowed:
                        failures += 1
                        print(f"{os.path.relpath(path, sys.argv[1])}:{no}: {why}: {line.strip()}")
        bad_files += failures > before
print(f"{n_files - bad_files} passed, {bad_files} failed ({failures} lines)")
sys.exit(1 if failures else 0)
