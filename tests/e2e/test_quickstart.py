#!/usr/bin/env python3
"""docs/quickstart.md works as written on the local test environment: its ```bash
quickstart blocks run in order in one bash session (set -euo pipefail, from the
repository's root, as a newcomer would paste them), and end with the example cluster
Ready (3 servers Enabled and Available) under the operator that hack/run-deployment
started from the Helm-installed Deployment; then its ```bash quickstart-cleanup blocks
remove everything (the operator's process, the release, the namespaces).

The namespaces are the quickstart's variables (OPERATOR_NS, NS), set here to unique names
so that runs never collide. The first block is `hack/test-env up`, a no-op when the
environment is up: the test runs it only after `hack/test-env status` said up (it never
restarts an environment).
"""
import os
import re
import signal
import subprocess
import time

from e2elib import ROOT, check, cond_is, get_cr, kjson, kubectl, run, say, servers_ready, unique_name

DOC = os.path.join(ROOT, "docs", "quickstart.md")


def blocks(tag):
    with open(DOC) as f:
        text = f.read()
    return re.findall(r"^```bash " + re.escape(tag) + r"\n(.*?)^```$", text, re.M | re.S)


def bash(parts, env, log, tail=""):
    """The blocks in one bash session; each block's text is echoed to the log first."""
    script = "set -euo pipefail\n"
    for i, b in enumerate(parts):
        script += f"cat <<'QUICKSTART_BLOCK_{i}'\n--- block {i + 1}:\n{b}QUICKSTART_BLOCK_{i}\n{b}\n"
    with open(log, "ab") as f:
        return subprocess.run(["bash", "-c", script + tail], cwd=ROOT, env=env,
                              stdout=f, stderr=subprocess.STDOUT, timeout=900).returncode


def alive(pid):
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, TypeError):
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


def body(t):
    main, cleanup = blocks("quickstart"), blocks("quickstart-cleanup")
    check(len(main) >= 3 and cleanup, f"docs/quickstart.md has quickstart blocks ({len(main)}) and cleanup ones")
    check(main and main[0].lstrip().startswith("hack/test-env up"),
          "the first quickstart block starts the test environment")
    st = subprocess.run([os.path.join(ROOT, "hack", "test-env"), "status"], capture_output=True, text=True)
    if st.returncode != 0:  # `up` would (re)start an environment: not from a test
        check(False, f"hack/test-env status says up before the quickstart runs `up`:\n{st.stdout}")
        return
    ns, opns = unique_name("qs"), unique_name("qs-op")
    t.namespaces += [ns, opns]  # the teardown deletes them if the cleanup blocks did not
    t.clusters.append((ns, "graph"))
    env = dict(os.environ, NS=ns, OPERATOR_NS=opns)
    state = os.path.join(t.tmp, "state")
    log = os.path.join(t.tmp, "quickstart.log")
    say(f"quickstart: NS={ns} OPERATOR_NS={opns}, log {log}")
    pid = None
    try:
        rc = bash(main, env, log, tail=f'printf "%s\\n" "$OPERATOR_PID" > {state}\n')
        with open(log, errors="replace") as f:
            out = f.read()
        check(rc == 0, f"the quickstart blocks ran (exit {rc}); the end of their output:\n{out[-3000:]}")
        if os.path.exists(state):
            with open(state) as f:
                pid = int(f.read().strip() or 0) or None
        check(pid is not None and alive(pid), f"the operator started by hack/run-deployment runs (pid {pid})")
        cr = get_cr(ns, "graph")
        check(cr is not None and cond_is(cr, "Ready", "True") and servers_ready(cr, 3),
              f"the quickstart ends with {ns}/graph Ready, 3 servers Enabled and Available: "
              f"{(cr or {}).get('status', {}).get('conditions')}")
        holder = kjson("-n", opns, "get", "lease", "neo4j-operator")["spec"].get("holderIdentity", "")
        check(holder.startswith("neo4j-operator-local-"), f"the installed operator's replica leads: {holder}")

        env["OPERATOR_PID"] = str(pid or "")
        rc = bash(cleanup, env, log)
        check(rc == 0, f"the cleanup blocks ran (exit {rc})")
        deadline = time.monotonic() + 30
        while pid and alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        check(not (pid and alive(pid)), "the cleanup stopped the operator")
        check(kubectl("get", "ns", ns).returncode != 0 and kubectl("get", "ns", opns).returncode != 0,
              "the cleanup deleted both namespaces")
        check(subprocess.run(["helm", "status", "neo4j-operator", "-n", opns], capture_output=True).returncode != 0,
              "the cleanup uninstalled the release")
    finally:
        if pid and alive(pid):
            os.kill(pid, signal.SIGTERM)
        subprocess.run(["helm", "uninstall", "neo4j-operator", "-n", opns, "--ignore-not-found"],
                       capture_output=True, timeout=120)


run("quickstart", body)
