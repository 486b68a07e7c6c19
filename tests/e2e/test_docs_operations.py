#!/usr/bin/env python3
"""The commands of docs/operations.md do what the page says, run as a user would type them.

Every command below is taken from the page: `doc()` fails the test unless the command is
in docs/operations.md verbatim (continuation lines joined), then runs it through bash
with the page's namespace `neo4j` replaced by the test's. On a 3-server cluster `graph`
(examples/cluster-3.yaml):

1. watching: `kubectl wait ... --for=condition=Ready`, the conditions' jsonpath and
   `kubectl events --for n4jc/graph` answer (the events name the steps taken);
2. `kubectl scale n4jc/graph --replicas=5`: 5 servers Enabled and Available, Ready;
3. the topology patch: the default database `neo4j` gets 3 primaries + 2 secondaries, so
   the two new servers host it (the page's "give them work");
4. `kubectl rollout restart statefulset/graph`: the operator restarts every server once,
   never two at a time, the system leader last, and the cluster ends Ready;
5. every `kubectl patch n4jc` of the page is accepted by the apiserver (`--dry-run=server`),
   and so is the page's TLS Secret command;
6. `spec.paused` true: phase Paused, Progressing and Reconciling False with reason Paused,
   Ready still True (the servers serve); false: Ready again;
7. the rollout annotation reaches the StatefulSet and restarts nothing by itself;
8. the password copy of "Deleting a cluster" holds the generated password.
"""
import os
import re
import subprocess
import tempfile

from e2elib import (GROUP, ROOT, Roll, Sampler, assert_operators_alive, check, get_cr, kjson, pods, roll_sample, run,
                    say, sts, uids, wait_cond, wait_for, wait_ready)

NAME = "graph"
PAGE = os.path.join(ROOT, "docs", "operations.md")
with open(PAGE, encoding="utf-8") as f:
    TEXT = re.sub(r"\\\n\s*", "", f.read())  # continuation lines joined, as the shell does


def doc(ns, cmd, extra="", timeout=180, cwd=None):
    """Runs `cmd`, which must be on the page, in namespace ns (+ extra arguments)."""
    check(cmd in TEXT, f"docs/operations.md shows the command: {cmd}")
    line = cmd.replace(" -n neo4j", f" -n {ns}") + extra
    p = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=timeout, cwd=cwd)
    say(f"$ {line}\n  -> {p.returncode} {p.stdout.strip()[:300]} {p.stderr.strip()[:300]}")
    return p


def ok(ns, cmd, **kw):
    p = doc(ns, cmd, **kw)
    check(p.returncode == 0, f"`{cmd}` succeeds: {p.stderr.strip()}")
    return p


def servers(cr):
    return {s["pod"]: s for s in (cr.get("status") or {}).get("servers") or [] if s.get("state") != "Dropped"}


def body(t):
    ns = t.namespace("docs-ops")
    op = t.operator([ns])
    op.start()
    t.cluster("cluster-3.yaml", ns, NAME)
    wait_ready(ns, NAME, 3, timeout=300)

    # 1. Watching.
    ok(ns, "kubectl wait n4jc/graph -n neo4j --for=condition=Ready --timeout=15m")
    p = ok(ns, "kubectl get n4jc graph -n neo4j -o jsonpath='{range .status.conditions[*]}"
               "{.type}={.status} {.reason}: {.message}{\"\\n\"}{end}'")
    check("Ready=True ServersReady" in p.stdout, f"the conditions' jsonpath shows Ready=True: {p.stdout!r}")
    p = ok(ns, "kubectl events -n neo4j --for n4jc/graph")
    check("EnableServer" in p.stdout or "SetReplicas" in p.stdout,
          f"kubectl events --for n4jc/graph lists the operator's steps: {p.stdout[-500:]!r}")

    # 2. Scale out with the scale subresource.
    ok(ns, "kubectl scale n4jc/graph -n neo4j --replicas=5")
    cr = wait_ready(ns, NAME, 5, timeout=300)
    check(cr["spec"]["servers"] == 5, f"kubectl scale set spec.servers: {cr['spec']['servers']}")

    # 3. The new servers get work from a larger topology.
    ok(ns, "kubectl patch n4jc graph -n neo4j --type merge -p "
           "'{\"spec\":{\"topology\":{\"primaries\":3,\"secondaries\":2}}}'")

    def everywhere():
        assert_operators_alive()
        c = get_cr(ns, NAME)
        st = c.get("status") or {}
        if st.get("observedGeneration") != c["metadata"]["generation"]:
            return None
        hosts = {pn: "neo4j" in (s.get("hosting") or []) for pn, s in servers(c).items()}
        return hosts if len(hosts) == 5 and all(hosts.values()) else None
    hosts = wait_for("every server hosts the default database neo4j", everywhere, timeout=240)
    check(bool(hosts), f"graph-3 and graph-4 host neo4j after the topology patch: {hosts}")
    wait_cond(ns, NAME, "Ready", timeout=240)

    # 4. A restart of the StatefulSet's template is rolled by the operator, in its order.
    before = uids(ns, NAME)
    with Sampler(lambda: roll_sample(ns, NAME)) as s:
        ok(ns, "kubectl rollout restart statefulset/graph -n neo4j")

        def rolled():
            assert_operators_alive()
            ps = pods(ns, NAME)
            return len(ps) == 5 and all(
                p["metadata"]["uid"] != before.get(pn) and not p["metadata"].get("deletionTimestamp")
                and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
                for pn, p in ps.items())
        wait_for("every server pod restarted and Ready", rolled, timeout=420, interval=1)
        wait_ready(ns, NAME, 5, timeout=180)
    roll = Roll(s.samples, before)
    dels = roll.deletions()
    say(f"rollout restart: deletions {[(pn, ld) for _, pn, ld in dels]}")
    check(sorted(pn for _, pn, _ in dels) == sorted(before), f"every pod was restarted: {dels}")
    seen = roll.uids_seen()
    check(all(n == 2 for n in seen.values()), f"each pod restarted exactly once: {seen}")
    n, down = roll.worst()
    check(n <= 1, f"never two pods down at once during the restart (saw {n}: {down})")
    if len(dels) == 5:
        check(all(ld is not None and ld != pn for _, pn, ld in dels[:-1]) and dels[-1][2] == dels[-1][1],
              f"the system leader's pod went last: {dels}")

    # 5. Every Neo4jCluster patch of the page is accepted as written.
    patches = sorted(set(re.findall(r"kubectl patch n4jc graph -n neo4j --type merge[^\n`]*?-p '[^']*'", TEXT)))
    check(len(patches) >= 8, f"the page's patches were found: {len(patches)}")
    for cmd in patches:
        ok(ns, cmd, extra=" --dry-run=server")
    with tempfile.TemporaryDirectory() as d:
        for fn in ("server.crt", "server.key", "ca.crt"):
            with open(os.path.join(d, fn), "w") as f:
                f.write("placeholder\n")
        ok(ns, "kubectl create secret generic graph-tls -n neo4j --type=kubernetes.io/tls "
               "--from-file=tls.crt=server.crt --from-file=tls.key=server.key --from-file=ca.crt=ca.crt",
           extra=" --dry-run=server", cwd=d)

    # 6. Pause and resume.
    ok(ns, "kubectl patch n4jc graph -n neo4j --type merge -p '{\"spec\":{\"paused\":true}}'")
    cr = wait_cond(ns, NAME, "Progressing", "False", timeout=120,
                   extra=lambda c: (c.get("status") or {}).get("phase") == "Paused")
    conds = {c["type"]: (c["status"], c.get("reason")) for c in cr["status"]["conditions"]}
    check(conds.get("Progressing") == ("False", "Paused") and conds.get("Reconciling") == ("False", "Paused"),
          f"paused: Progressing and Reconciling False with reason Paused: {conds}")
    check(conds.get("Ready") == ("True", "ServersReady"), f"paused: Ready still tells the servers serve: {conds}")
    ok(ns, "kubectl patch n4jc graph -n neo4j --type merge -p '{\"spec\":{\"paused\":false}}'")
    wait_ready(ns, NAME, 5, timeout=180)

    # 7. The rollout annotation reaches the StatefulSet; alone it restarts nothing.
    before = uids(ns, NAME)
    ok(ns, "kubectl annotate n4jc/graph -n neo4j neo4j.graphops.io/rollout=\"$(date +%s)\" --overwrite")
    value = (get_cr(ns, NAME)["metadata"].get("annotations") or {}).get(f"{GROUP}/rollout")
    wait_for("the StatefulSet carries the rollout annotation",
             lambda: (sts(ns, NAME)["metadata"].get("annotations") or {}).get(f"{GROUP}/rollout") == value,
             timeout=120)
    wait_ready(ns, NAME, 5, timeout=120)
    check(uids(ns, NAME) == before, "the rollout annotation restarted no pod when nothing was pending")

    # 8. Keeping the generated password before deleting a cluster.
    ok(ns, "kubectl create secret generic graph-password -n neo4j --from-literal=password=\"$(kubectl get "
           "secret graph-admin -n neo4j -o jsonpath='{.data.password}' | base64 -d)\"")
    admin = kjson("-n", ns, "get", "secret", f"{NAME}-admin")["data"]["password"]
    copy = kjson("-n", ns, "get", "secret", "graph-password")["data"]["password"]
    check(admin == copy, "graph-password holds the generated password (compared, never printed)")


run("docs_operations", body)
