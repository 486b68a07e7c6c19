#!/usr/bin/env python3
"""GitOps health (docs/gitops): what Argo CD's health Lua (docs/gitops/argocd/*.lua, run in
Argo CD's VM by hack/gitops-check) and Flux's kstatus (sigs.k8s.io/cli-utils) say about live
Neo4jCluster and Neo4jBackup objects, read with `kubectl get -o json` as they change.

- A 3-server cluster applied before the operator runs (no status): Lua Progressing; kstatus
  Current (kstatus' known gap for an object without status: docs/gitops/README.md).
- Every snapshot while it forms (status for the current generation, Ready not True): Lua
  Progressing and kstatus InProgress; at least one such snapshot was seen.
- Ready: Lua Healthy, kstatus Current.
- A second cluster whose admin Secret is missing: Stalled → Lua Degraded, kstatus Failed.
- Backups of the cluster: a one-shot PVC backup Progressing until it succeeded, then Healthy
  (kstatus InProgress while its Job runs, then Current); a daily schedule Healthy/Current
  before its first run; the same suspended Suspended/Current; a backup of a missing cluster
  (refused) Degraded/Failed.
- spec.paused: Suspended (kstatus Current).
- The operator stopped, the spec changed: status for an older generation → Lua Progressing,
  kstatus InProgress; the operator back → Healthy/Current for the new generation.
- A server partitioned from its peers: Degraded=True → Lua Degraded (kstatus InProgress:
  Ready is False); healed → Healthy/Current.
- neo4j-operator-next (another render version) takes over: UpdatePending=True with Ready=True
  → Lua Healthy (the message says an update is pending), kstatus Current.
- A one-shot backup of a database that does not exist: its run fails → BackupHealthy False →
  Lua Degraded, kstatus Current.

GITOPS_CAPTURE=DIR writes each judged snapshot to DIR/<state>.json (how tests/data/gitops was
made: see its README).
"""
import json
import os
import sys

from e2elib import (ROOT, Sampler, apply_cr, check, cluster_doc, example_doc, get_backup, get_cr,
                    kubectl_wait_ready, next_bin, patch_cr, run, say, testenv, wait_cond, wait_for)

sys.path.insert(0, os.path.join(ROOT, "tests"))
import gitops_check  # noqa: E402

GROUP = "neo4j.graphops.io"
CAPTURE = os.environ.get("GITOPS_CAPTURE")
EXE = None


def judged(obj):
    return (gitops_check.judge_obj(ROOT, "lua", obj, EXE), gitops_check.judge_obj(ROOT, "kstatus", obj, EXE))


def expect(state, obj, lua, kstatus, capture=True):
    """Judges obj with both; checks the statuses; captures it when asked."""
    check(obj is not None, f"{state}: the object exists")
    if obj is None:
        return
    lr, kr = judged(obj)
    say(f"{state}: lua {lr.get('status')} ({lr.get('message') or lr.get('error')}); "
        f"kstatus {kr.get('status')} ({kr.get('message') or kr.get('error')})")
    check(lr.get("status") == lua, f"{state}: Argo CD health {lr}, expected {lua}")
    check(kr.get("status") == kstatus, f"{state}: kstatus {kr}, expected {kstatus}")
    if CAPTURE and capture:
        os.makedirs(CAPTURE, exist_ok=True)
        obj = json.loads(json.dumps(obj))
        obj["metadata"].pop("managedFields", None)
        with open(os.path.join(CAPTURE, state + ".json"), "w") as f:
            json.dump(obj, f, indent=2, sort_keys=True)
            f.write("\n")


def judge_all(t, objs, kind):
    """[(lua, kstatus)] for many snapshots, in one run of each tool."""
    files = []
    for i, obj in enumerate(objs):
        f = os.path.join(t.tmp, f"{kind}-{obj['metadata']['name']}-{i}.json")
        with open(f, "w") as fh:
            json.dump(obj, fh)
        files.append(f)
    if not files:
        return []
    lua = gitops_check.judge(ROOT, "lua", files, gitops_check.script_path(ROOT, kind), EXE)
    ks = gitops_check.judge(ROOT, "kstatus", files, exe=EXE)
    return [(lua[f], ks[f]) for f in files]


def cond(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


def backup_doc(ns, name, cluster="graph", edits=None):
    def edit(cr):
        cr["spec"]["clusterRef"] = {"name": cluster}
        cr["spec"]["databases"] = ["neo4j"]
        cr["spec"]["target"]["pvc"]["size"] = "1Gi"  # the test bed's PVs are 10Gi
        if edits:
            edits(cr)
    return example_doc("backup-once-pvc.yaml", ns, name, edit)


def wait_backup(ns, name, fn, what, timeout=180):
    def ok():
        b = get_backup(ns, name)
        st = (b or {}).get("status") or {}
        if b and st.get("observedGeneration") == b["metadata"]["generation"] and fn(b):
            return b
        return None
    return wait_for(f"{ns}/{name}: {what}", ok, timeout=timeout, interval=0.5)


def body(t):
    global EXE
    EXE = gitops_check.binary(ROOT)
    ns = t.namespace("gitops-e2e")

    # Before any operator: the object as Argo CD and Flux first see it.
    cr = cluster_doc("cluster-3.yaml", ns, edits=lambda c: c["spec"].pop("aliases", None))
    apply_cr(cr)
    t.clusters.append((ns, "graph"))
    expect("cluster-no-status", get_cr(ns, "graph"), "Progressing", "Current")

    op = t.operator([ns])
    op.start()
    with Sampler(lambda: get_cr(ns, "graph"), interval=0.5) as s:
        p = kubectl_wait_ready(ns, "graph", timeout=300)
        check(p.returncode == 0, f"kubectl wait --for=condition=Ready: {p.stdout} {p.stderr}")
    forming = {}
    for _, obj in s.samples:
        st = (obj or {}).get("status") or {}
        if (st.get("observedGeneration") == obj["metadata"]["generation"] and st.get("conditions")
                and cond(obj, "Ready").get("status") != "True"):
            forming[obj["metadata"]["resourceVersion"]] = obj
    say(f"{len(s.samples)} snapshots, {len(forming)} distinct while forming")
    check(forming, "snapshots of the cluster forming (status written, not Ready) were taken")
    if forming:
        res = judge_all(t, list(forming.values()), "Neo4jCluster")
        bad = [(rv, lr, kr) for rv, (lr, kr) in zip(forming, res)
               if lr.get("status") != "Progressing" or kr.get("status") != "InProgress"]
        check(not bad, f"every forming snapshot is Progressing (Argo CD) and InProgress (kstatus): {bad[:3]}")
        phases = sorted({(o["status"].get("phase"), cond(o, "Reconciling").get("reason")) for o in forming.values()})
        say(f"forming snapshots: (phase, Reconciling reason) {phases}")
        # The one shown in the fixtures: the last forming snapshot (the most conditions set).
        expect("cluster-forming", list(forming.values())[-1], "Progressing", "InProgress")

    ready = wait_cond(ns, "graph", "Ready", "True", timeout=60)
    expect("cluster-ready", ready, "Healthy", "Current")

    # A refusal: the admin Secret the spec names does not exist.
    bad = cluster_doc("cluster-3.yaml", ns, name="stalled",
                      edits=lambda c: c["spec"].update(auth={"adminSecretRef": {"name": "gitops-missing"}}))
    apply_cr(bad)
    t.clusters.append((ns, "stalled"))
    expect("cluster-stalled", wait_cond(ns, "stalled", "Stalled", "True", timeout=60), "Degraded", "Failed")

    # Backups of the Ready cluster. A one-shot run: every snapshot before it succeeded is
    # Progressing; while its Job runs (Reconciling True) kstatus says InProgress.
    with Sampler(lambda: get_backup(ns, "once"), interval=0.3) as s:
        apply_cr(backup_doc(ns, "once"))
        done_ = wait_backup(ns, "once", lambda b: cond(b, "BackupHealthy").get("status") == "True",
                            "BackupHealthy True", timeout=300)
    before = {o["metadata"]["resourceVersion"]: o for _, o in s.samples
              if o and (o.get("status") or {}).get("observedGeneration") == o["metadata"]["generation"]
              and cond(o, "BackupHealthy").get("status") != "True"}
    res = judge_all(t, list(before.values()), "Neo4jBackup")
    bad = [(rv, lr) for rv, (lr, _) in zip(before, res) if lr.get("status") != "Progressing"]
    check(not bad, f"every snapshot of the one-shot backup before its success is Progressing: {bad[:3]}")
    running = [o for o in before.values() if cond(o, "Reconciling").get("status") == "True"]
    say(f"one-shot backup: {len(before)} distinct snapshots before success, {len(running)} while running")
    check(running, "a snapshot of the one-shot backup while its Job ran was taken")
    if running:
        expect("backup-oneshot-running", running[-1], "Progressing", "InProgress")
    expect("backup-oneshot-succeeded", done_, "Healthy", "Current")

    # A run that fails (the database does not exist): BackupHealthy False, lastFailure.
    apply_cr(backup_doc(ns, "broken", edits=lambda b: b["spec"].update(databases=["missing"])))
    expect("backup-failed", wait_backup(ns, "broken", lambda b: cond(b, "BackupHealthy").get("status") == "False",
                                        "BackupHealthy False", timeout=300), "Degraded", "Current")

    apply_cr(backup_doc(ns, "daily", edits=lambda b: b["spec"].update(schedule="0 3 * * *")))
    expect("backup-scheduled", wait_backup(ns, "daily", lambda b: cond(b, "Scheduled").get("status") == "True",
                                           "Scheduled True"), "Healthy", "Current")
    apply_cr(backup_doc(ns, "paused", edits=lambda b: b["spec"].update(schedule="0 3 * * *", suspend=True)))
    expect("backup-suspended", wait_backup(ns, "paused", lambda b: cond(b, "Scheduled").get("reason") == "Suspended",
                                           "Scheduled False Suspended"), "Suspended", "Current")
    apply_cr(backup_doc(ns, "orphan", cluster="gitops-no-such-cluster"))
    expect("backup-refused", wait_backup(ns, "orphan", lambda b: cond(b, "Stalled").get("status") == "True",
                                         "Stalled True"), "Degraded", "Failed")

    # Paused: the operator changes nothing; Argo CD shows it as Suspended.
    patch_cr(ns, "graph", {"spec": {"paused": True}})
    paused = wait_cond(ns, "graph", "Progressing", "False", timeout=60,
                       extra=lambda c: cond(c, "Progressing").get("reason") == "Paused")
    expect("cluster-paused", paused, "Suspended", "Current")

    # A generation the operator has not seen: stop it, change the spec.
    op.stop()
    gen = patch_cr(ns, "graph", {"spec": {"paused": False}})
    old = get_cr(ns, "graph")
    check(old["status"]["observedGeneration"] < gen, f"the status is for an older generation than {gen}")
    expect("cluster-old-generation", old, "Progressing", "InProgress")
    op.start()
    expect("cluster-ready-again", wait_cond(ns, "graph", "Ready", "True", timeout=120, generation=gen),
           "Healthy", "Current", capture=False)

    # Degraded: a server cut off from its peers (not the system leader: the operator talks to it).
    cr = get_cr(ns, "graph")
    victim = next(s["pod"] for s in reversed(cr["status"]["servers"]) if s["pod"] != cr["status"].get("systemLeader"))
    testenv("pod", "partition", f"{ns}/{victim}")
    try:
        expect("cluster-degraded", wait_cond(ns, "graph", "Degraded", "True", timeout=120), "Degraded", "InProgress")
    finally:
        testenv("pod", "heal", f"{ns}/{victim}")
    expect("cluster-healed", wait_cond(ns, "graph", "Ready", "True", timeout=180), "Healthy", "Current",
           capture=False)

    # UpdatePending: a newer operator (a build claiming another render version) holds the roll.
    nb = next_bin()
    check(nb is not None, "neo4j-operator-next was built (N4J_OPERATOR_NEXT_BIN)")
    if nb:
        op.stop()
        op.start(binary=nb)
        expect("cluster-ready-updatepending", wait_cond(ns, "graph", "UpdatePending", "True", timeout=120,
                                                        extra=lambda c: cond(c, "Ready").get("status") == "True"),
               "Healthy", "Current")


run("gitops", body)
