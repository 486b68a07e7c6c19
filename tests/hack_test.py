#!/usr/bin/env python3
"""hack/test itself, run in a scratch tree against stubs (hack/test-env, install-deps,
cmake, ninja, ctest): it stops only an environment it started, exports TESTENV_REQUIRED=1
to the suites by default, counts an unavailable environment as a failure unless
TESTENV_REQUIRED=0, and fails when a tests/fuzz/fuzz_*.c target has no binary instead of
running fewer fuzzers. Usage: hack_test.py <source dir>"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "env"))
from envlib import check, done  # noqa: E402  (the counters only: no environment needed)

src = sys.argv[1]

STUBS = {
    "hack/install-deps": "#!/bin/sh\nexit 0\n",
    # Records its calls; `up` starts (touches is_up) unless already up, or fails with the
    # code in up_rc; `status` answers from is_up.
    "hack/test-env": """#!/bin/bash
echo "test-env $*" >>"$STUB/calls"
case $1 in
status) [ -f "$STUB/is_up" ] && [ ! -f "$STUB/status_down" ] ;;
up) [ -f "$STUB/up_rc" ] && exit "$(cat "$STUB/up_rc")"
    if [ -f "$STUB/is_up" ]; then echo "[test-env] already up (1 apiserver PID)" >&2
    else touch "$STUB/is_up"; fi ;;
down) rm -f "$STUB/is_up" ;;
esac
""",
    "bin/cmake": "#!/bin/sh\nexit 0\n",
    # Builds one fuzzer only: fuzz_b's binary is missing.
    "bin/ninja": """#!/bin/bash
if [ "$2" = build/fuzz ]; then
  mkdir -p build/fuzz/tests/fuzz
  printf '#!/bin/sh\\necho stat::number_of_executed_units: 5\\n' >build/fuzz/tests/fuzz/fuzz_a
  chmod +x build/fuzz/tests/fuzz/fuzz_a
fi
""",
    "bin/ctest": """#!/bin/sh
echo "ctest TESTENV_REQUIRED=${TESTENV_REQUIRED:-unset}" >>"$STUB/calls"
echo "100% tests passed, 0 tests failed out of 3"
""",
}


def scenario(name, up_before=False, up_rc=None, env=None, status_down=False):
    with tempfile.TemporaryDirectory(prefix="hack-test-") as tmp:
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "hack"))
        os.makedirs(os.path.join(root, "tests", "fuzz"))
        shutil.copy(os.path.join(src, "hack", "test"), os.path.join(root, "hack", "test"))
        for f in ("fuzz_a.c", "fuzz_b.c"):
            open(os.path.join(root, "tests", "fuzz", f), "w").close()
        for path, text in STUBS.items():
            full = os.path.join(root if path.startswith("hack/") else tmp, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
            os.chmod(full, 0o755)
        if up_before:
            open(os.path.join(tmp, "is_up"), "w").close()
        if status_down:  # someone starts it between hack/test's `status` and its `up`
            open(os.path.join(tmp, "status_down"), "w").close()
        if up_rc is not None:
            with open(os.path.join(tmp, "up_rc"), "w") as f:
                f.write(str(up_rc))
        e = dict(os.environ, STUB=tmp, FUZZ_SECONDS="1",
                 PATH=os.path.join(tmp, "bin") + os.pathsep + os.environ["PATH"])
        e.pop("TESTENV_REQUIRED", None)
        e.pop("TESTENV_RUN", None)
        e.update(env or {})
        p = subprocess.run(["hack/test"], cwd=root, env=e, capture_output=True, text=True,
                           timeout=120)
        calls = open(os.path.join(tmp, "calls")).read().splitlines()
        print(f"--- {name}: exit {p.returncode}, calls {calls}")
        return p, calls, os.path.exists(os.path.join(tmp, "is_up"))


p, calls, up = scenario("not up before")
check("test-env up" in calls and "test-env down" in calls and not up,
      "an environment hack/test started is stopped again")
check("ctest TESTENV_REQUIRED=1" in calls, "the suites run with TESTENV_REQUIRED=1 by default")
check(p.returncode != 0 and "fuzz fuzz_b: FAILED (no binary" in p.stdout,
      "a fuzz target without a binary fails the run")
check("fuzz fuzz_a: ok" in p.stdout, "the built fuzz target runs")

p, calls, up = scenario("already up before", up_before=True)
check("test-env down" not in calls and up, "an environment that was up before is left running")
check("already up before this run" in p.stdout, "the summary says it was left running")

p, calls, up = scenario("started by someone else meanwhile", up_before=True, status_down=True)
check("test-env down" not in calls and up, "`up` saying it was already up keeps it running")

p, calls, up = scenario("unavailable, required", up_rc=3)
check("test-env: required (TESTENV_REQUIRED=1)" in p.stdout,
      "an unavailable environment is a failure with TESTENV_REQUIRED=1")
p, calls, up = scenario("unavailable, not required", up_rc=3, env={"TESTENV_REQUIRED": "0"})
check("test-env: required" not in p.stdout and "ctest TESTENV_REQUIRED=0" in calls,
      "TESTENV_REQUIRED=0 lets an unavailable environment pass to the suites")

done()
