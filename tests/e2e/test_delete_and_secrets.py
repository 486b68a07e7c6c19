#!/usr/bin/env python3
"""The generated admin password never leaves the process (DESIGN §3, §8.16), the admin
Secret is generated once and never rewritten, and deleting the CR garbage-collects what
the operator created but keeps the data volumes (spec.storage.retainOnDelete defaults true).

- The Secret <name>-admin holds a 24-character password (no `/`, no newline).
- Neither the password nor its base64 form appears in any operator log line, any Event of
  the namespace, the CR (status included), or the operator's /proc/PID/cmdline and environ.
- Its resourceVersion stays the same across a graceful restart and a kill -9 of the
  operator (a regenerated or re-applied Secret would lock Neo4j out: it keeps the first
  password it saw on its volume).
- `kubectl delete n4jc` removes the StatefulSet, Services, ConfigMap, ServiceAccount, PDB and
  NetworkPolicy (ownerReferences + the garbage collector), and the PVCs data-<name>-k stay
  Bound to the same volumes.
"""
import base64
import json
import time

from e2elib import (audit_mark, check, get_cr, kjson, kubectl, lease_taken_after, plain, run, wait_for,
                    wait_ready)

NAME = "graph"
N = 3


def body(t):
    ns = t.namespace("e2e-del")
    op = t.operator([ns])

    def leads_again():
        m = audit_mark()
        return lambda: lease_taken_after(m, op.lease_id)

    op.start()
    t.cluster("cluster-3.yaml", ns, NAME, edits=plain(servers=N, networkPolicy={"enabled": True}))
    wait_ready(ns, NAME, N, timeout=300)

    sec = kjson("-n", ns, "get", "secret", f"{NAME}-admin")
    pw = base64.b64decode(sec["data"]["password"]).decode()
    rv0 = sec["metadata"]["resourceVersion"]
    check(len(pw) == 24 and "/" not in pw and "\n" not in pw,
          f"the generated password has 24 characters, no '/' nor newline (length {len(pw)})")
    needles = {pw, base64.b64encode(pw.encode()).decode()}

    def leaks(text):
        return any(n in text for n in needles)

    def proc_clean(pid):
        out = {}
        for f in ("cmdline", "environ"):
            with open(f"/proc/{pid}/{f}", "rb") as fh:
                out[f] = leaks(fh.read().decode(errors="replace"))
        return out

    pc = proc_clean(op.pid)
    check(not pc["cmdline"] and not pc["environ"], f"the password is not in /proc/PID/cmdline nor environ: {pc}")

    # A graceful restart and a kill -9: the Secret is read, never regenerated nor re-applied.
    lead = leads_again()
    op.restart()
    wait_for("the restarted operator leads", lead, timeout=60)
    wait_ready(ns, NAME, N, timeout=120)
    time.sleep(8)
    lead = leads_again()
    op.kill9()
    op.start()
    wait_for("the operator started after kill -9 leads", lead, timeout=60)
    time.sleep(8)
    wait_ready(ns, NAME, N, timeout=120)
    pc = proc_clean(op.pid)
    check(not pc["cmdline"] and not pc["environ"], f"nor in the new process's cmdline/environ: {pc}")
    sec2 = kjson("-n", ns, "get", "secret", f"{NAME}-admin")
    check(sec2["metadata"]["resourceVersion"] == rv0,
          f"the admin Secret was never rewritten (resourceVersion {rv0} -> {sec2['metadata']['resourceVersion']})")
    check(base64.b64decode(sec2["data"]["password"]).decode() == pw, "the password is the same")

    cr = get_cr(ns, NAME)
    check(not leaks(json.dumps(cr)), "the password is not in the CR (spec, annotations, status)")
    events = kjson("-n", ns, "get", "events")["items"]
    check(not any(leaks(json.dumps(e)) for e in events), f"the password is in none of the {len(events)} Events")
    ev2 = kubectl("-n", ns, "get", "events.events.k8s.io", "-o", "json")
    if ev2.returncode == 0:
        check(not leaks(ev2.stdout), "nor in events.k8s.io Events")
    log = op.log_text()
    check(len(log.splitlines()) > 3, f"the operator logged something ({len(log.splitlines())} lines)")
    bad = [ln for ln in log.splitlines() if leaks(ln)]
    check(not bad, f"the password is in no operator log line ({len(bad)} lines have it)")

    # Deletion: the garbage collector takes the children, the claims stay.
    pvcs = {p["metadata"]["name"]: p["spec"]["volumeName"] for p in kjson("-n", ns, "get", "pvc")["items"]}
    want = {f"data-{NAME}-{k}" for k in range(N)}
    check(set(pvcs) == want, f"one claim per server before the deletion: {sorted(pvcs)}")
    kubectl("-n", ns, "delete", "neo4jcluster", NAME, "--wait=true", "--timeout=120s", check=True, timeout=150)
    kinds = ["statefulset", "service", "configmap", "serviceaccount", "poddisruptionbudget", "networkpolicy"]

    def gone():
        left = []
        for k in kinds:
            for o in kjson("-n", ns, "get", k, "-l", f"app.kubernetes.io/instance={NAME}")["items"]:
                left.append(f"{k}/{o['metadata']['name']}")
        return True if not left else None
    try:
        wait_for("the CR's objects garbage-collected", gone, timeout=120)
        check(True, "StatefulSet, Services, ConfigMap, ServiceAccount, PDB, NetworkPolicy garbage-collected")
    except RuntimeError as e:
        check(False, str(e))
    wait_for("the pods gone", lambda: not kjson("-n", ns, "get", "pods")["items"], timeout=120)
    after = {p["metadata"]["name"]: (p["spec"]["volumeName"], p["status"].get("phase"))
             for p in kjson("-n", ns, "get", "pvc")["items"]}
    check(set(after) >= want and all(after[c] == (pvcs[c], "Bound") for c in want),
          f"the claims data-{NAME}-k stay Bound to the same volumes after the CR is gone: {after}")
    s = kubectl("-n", ns, "get", "secret", f"{NAME}-admin", "-o", "name")
    print(f"admin Secret after the deletion: {'kept' if s.returncode == 0 else 'deleted'}")
    log = op.log_text()
    check(not any(leaks(ln) for ln in log.splitlines()), "no log line has the password, to the end")


run("delete_and_secrets", body)
