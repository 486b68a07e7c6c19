#!/usr/bin/env python3
"""valgrind over `render` on every example and golden input: no leaks, no errors.

The valgrind command and its flags come from $N4J_CHILD_WRAPPER (cmake/valgrind.cmake)."""
import glob
import os
import shlex
import subprocess
import sys

binary, src = sys.argv[1:3]
# Our own error exit code (the last flag wins) tells valgrind's verdict from render's
# refusals of the invalid inputs, which exit non-zero by design.
vg = shlex.split(os.environ["N4J_CHILD_WRAPPER"]) + ["--error-exitcode=99"]
cases = [[f] for f in sorted(glob.glob(os.path.join(src, "examples", "*.yaml")))
         if not os.path.basename(f).startswith("backup-")]
cases += [[os.path.join(src, "examples", "cluster-3.yaml"), f]
          for f in sorted(glob.glob(os.path.join(src, "examples", "backup-*.yaml")))]
cases += [[f] for f in sorted(glob.glob(os.path.join(src, "tests", "golden", "*.yaml")))
          if not f.endswith(".out.yaml")][:8]
# Invalid input exercises the error paths, which must not leak either.
cases += [[f] for f in sorted(glob.glob(os.path.join(src, "tests", "data", "invalid", "*.yaml")))][:12]
failed = 0
for files in cases:
    args = vg + [binary, "render", "-o", "json"]
    for f in files:
        args += ["-f", f]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode == 99 or "ERROR SUMMARY" in p.stderr and "0 errors" not in p.stderr:
        failed += 1
        print(f"FAIL {' '.join(os.path.relpath(f, src) for f in files)}\n{p.stderr[-4000:]}")
print(f"{len(cases) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
