#!/usr/bin/env python3
"""hack/demo itself, run in a scratch tree against stubs (install-deps, test-env, cmake,
ninja, kubectl and the operator binary): it starts the operator under the operator
identity's kubeconfig (never the admin's KUBECONFIG), waits with `kubectl wait
--for=condition=Ready` on both examples, and tears down in every case (--once, failure):
the operator stopped by its PID, the namespace deleted, the volumes recycled, and the test
environment stopped only when the demo started it. Usage: demo_test.py <source dir>"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "env"))
from envlib import check, done  # noqa: E402  (the counters only: no environment needed)

src = sys.argv[1]

STUBS = {
    "hack/install-deps": "#!/bin/sh\nexit 0\n",
    "hack/test-env": """#!/bin/bash
echo "test-env $*" >>"$STUB/calls"
case $1 in
status) [ -f "$STUB/is_up" ] ;;
up) touch "$STUB/is_up" ;;
down) rm -f "$STUB/is_up" ;;
env) echo "export TESTENV_RUN=$STUB/run"
     echo "export KUBECONFIG=$STUB/admin.kubeconfig"
     echo "export TESTENV_OPERATOR_KUBECONFIG=$STUB/operator.kubeconfig"
     echo "export TESTENV_HOSTS=$STUB/hosts" ;;
esac
""",
    "bin/cmake": "#!/bin/sh\nexit 0\n",
    "bin/ninja": "#!/bin/sh\nexit 0\n",
    # The operator: records its argv and whether KUBECONFIG reached it, then runs until
    # killed (exec: the PID the demo holds is this process).
    "build/default/neo4j-operator": """#!/bin/bash
echo "operator $* KUBECONFIG=${KUBECONFIG:-unset}" >>"$STUB/calls"
[ "$1" = run ] || exit 0
echo $$ >"$STUB/operator.pid"
exec sleep 300
""",
    "bin/kubectl": """#!/bin/bash
echo "kubectl $*" >>"$STUB/calls"
case "$*" in
*"get ns"*) exit 1 ;;
*"wait --for=condition=Ready"*) [ -f "$STUB/ready" ] ;;
*"patch --local"*"jsonpath"*) case "$*" in *community*) echo graph-ce ;; *) echo graph ;; esac ;;
*"patch --local"*) echo '{}' ;;
*"apply --server-side"*) cat >/dev/null ;;
*"jsonpath={.spec.containers[0].image}"*) echo neo4j:5.26.12-community ;;
*) exit 0 ;;
esac
""",
}


def scenario(name, args=("--once",), up_before=True, ready=True, env_extra=None):
    with tempfile.TemporaryDirectory(prefix="demo-test-") as tmp:
        root = os.path.join(tmp, "root")
        stub = os.path.join(tmp, "stub")
        os.makedirs(os.path.join(root, "hack"))
        os.makedirs(os.path.join(stub, "run"))
        shutil.copy(os.path.join(src, "hack", "demo"), os.path.join(root, "hack", "demo"))
        for path, text in STUBS.items():
            full = os.path.join(root if not path.startswith("bin/") else tmp, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)
            os.chmod(full, 0o755)
        if up_before:
            open(os.path.join(stub, "is_up"), "w").close()
        if ready:
            open(os.path.join(stub, "ready"), "w").close()
        env = dict(os.environ, STUB=stub, PATH=os.path.join(tmp, "bin") + ":" + os.environ["PATH"],
                   KUBECONFIG=os.path.join(stub, "admin.kubeconfig"), DEMO_TIMEOUT="2")
        env.pop("TESTENV_RUN", None)
        env.update(env_extra or {})
        t0 = time.monotonic()
        p = subprocess.run([os.path.join(root, "hack", "demo"), *args], cwd=root, env=env,
                           capture_output=True, text=True, timeout=120)
        calls = open(os.path.join(stub, "calls")).read().splitlines()
        pid = int(open(os.path.join(stub, "operator.pid")).read()) if os.path.exists(
            os.path.join(stub, "operator.pid")) else None
        alive = False
        if pid:
            try:
                os.kill(pid, 0)
                alive = open(f"/proc/{pid}/cmdline", "rb").read().startswith(b"sleep")
            except OSError:
                alive = False
            if alive:
                os.kill(pid, 9)
        print(f"--- {name}: exit {p.returncode} in {time.monotonic() - t0:.1f} s")
        if p.returncode not in (0, 1):
            print(p.stdout[-2000:], p.stderr[-2000:])
        return p, calls, alive


# --once with the environment up: show, then tear down; the environment stays up.
p, calls, alive = scenario("once, environment up")
ops = [c for c in calls if c.startswith("operator run")]
check(p.returncode == 0, f"--once exits 0 ({p.returncode}): {p.stderr[-500:]}")
check(len(ops) == 1 and "--kubeconfig " in ops[0] and "operator.kubeconfig" in ops[0]
      and "--namespaces demo" in ops[0] and "--leader-election-namespace neo4j-system" in ops[0],
      f"the operator runs under the operator identity's kubeconfig, namespace demo: {ops}")
check(ops and ops[0].endswith("KUBECONFIG=unset"), f"the admin KUBECONFIG is not in its environment: {ops}")
waits = [c for c in calls if "wait --for=condition=Ready" in c]
check(waits and "n4jc/graph-ce" in waits[-1] and "n4jc/graph" in waits[-1].replace("n4jc/graph-ce", ""),
      f"kubectl wait --for=condition=Ready on both examples: {waits[-1:]}")
check(any("get n4jc -o wide" in c for c in calls), "prints kubectl get n4jc -o wide")
check(not alive, "the operator was stopped (its PID is gone)")
check(any(c.startswith("kubectl delete ns demo") for c in calls), "the namespace is deleted")
check("test-env pv-recycle" in calls, "the volumes are recycled")
check("test-env down" not in calls and "test-env up" not in calls,
      "an environment that was up is neither restarted nor stopped")

# --once with the environment down: the demo starts it, so it stops it.
p, calls, alive = scenario("once, environment down", up_before=False)
check(p.returncode == 0 and "test-env up" in calls and calls[-1] == "test-env down",
      f"the environment the demo started is stopped last: {calls[-3:]}")
check(not alive, "the operator was stopped")

# Never Ready: a failure, and still the whole teardown.
p, calls, alive = scenario("never Ready", ready=False)
check(p.returncode != 0 and "not Ready after 2 s" in p.stdout, f"fails when not Ready in time ({p.returncode})")
check(not alive and any(c.startswith("kubectl delete ns demo") for c in calls) and "test-env pv-recycle" in calls,
      "the teardown runs on failure too")

# --render: only the render, no environment.
p, calls, alive = scenario("render", args=("--render",))
check(p.returncode == 0 and not any(c.startswith("test-env up") for c in calls)
      and any(c.startswith("operator render -f examples/cluster-3.yaml") for c in calls),
      f"--render only renders: {calls}")
done()
