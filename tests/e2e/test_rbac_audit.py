#!/usr/bin/env python3
"""The operator's RBAC is exactly what it uses (DESIGN §8.15, §8.16): a small scenario that
touches every feature the controller has today (formation of a 3-server cluster, a scale
3 -> 4 -> 3, an image roll, switching the NetworkPolicy off, a Community standalone, a
scheduled Neo4jBackup to a new PVC), then
the apiserver's audit log of the operator's identity is compared with
manifests/base/rbac.yaml (ClusterRole + leader-election Role; every (apiGroup, resource,
verb) triple):

- any request refused with 403 fails the test (a missing rule);
- any granted triple never used fails the test, unless ALLOWED_UNUSED says why it is
  granted anyway (one reason per entry);
- Secrets are never listed nor watched (the operator gets the few it needs by name).

The harness applies the repository's rbac.yaml first (as `hack/test-env up` does), so the
test judges the file in this tree. It prints the unused and the denied triples.
"""
import os

from e2elib import (GROUP, ROOT, apply_cr, audit_mark, audit_since, check, kjson, kubectl, patch_cr, plain, run,
                    scoped, wait_for, wait_ready)
from rbaclib import granted_triples, judge, load_yaml_docs

# Granted but not exercised by this scenario, each with its reason. Keys are
# (apiGroup, resource, verb); "" is the core group.
SIX = ("get", "list", "watch", "create", "patch", "delete")
ALLOWED_UNUSED = {
    ("neo4j.graphops.io", "neo4jbackups/finalizers", "update"):
        "never a request: the OwnerReferencesPermissionEnforcement admission plugin checks it "
        "when the operator sets blockOwnerDeletion on a backup CronJob's ownerReference",
    **{("batch", "jobs", v): "a one-shot Neo4jBackup (no schedule) is applied as a Job; the "
       "scenario's backup is scheduled (its Jobs are the CronJob controller's)"
       for v in ("get", "create", "patch")},
    **{("cert-manager.io", "certificates", v): "spec.tls.issuerRef with cert-manager's CRD installed; "
       "the test bed has no cert-manager" for v in SIX},
    **{("monitoring.coreos.com", "servicemonitors", v): "spec.monitoring.serviceMonitor with the "
       "Prometheus operator's CRD installed; not in the test bed" for v in SIX},
    ("neo4j.graphops.io", "neo4jclusters/finalizers", "update"):
        "never a request: the OwnerReferencesPermissionEnforcement admission plugin checks it "
        "when the operator sets blockOwnerDeletion on its children's ownerReferences",
    ("", "secrets", "patch"): "the admin Secret is created once and never rewritten "
        "(test_delete_and_secrets); patch is for a generated Secret that lost its key",
    ("policy", "poddisruptionbudgets", "delete"): "pruning when servers drop below 3 (no PDB for "
        "a single server): a scale this scenario does not do",
}


def body(test):
    rbac = os.path.join(ROOT, "manifests", "base", "rbac.yaml")
    granted = granted_triples(load_yaml_docs(rbac))
    check(len(granted) > 20, f"rbac.yaml parsed into triples ({len(granted)})")
    stale = sorted(k for k in ALLOWED_UNUSED if k not in granted)
    check(not stale, f"every allow-list entry is still granted (else drop it): {stale}")

    ns = test.namespace("e2e-rbac")
    op = test.operator([ns])
    mark = audit_mark()
    op.start()
    name = "graph"
    test.cluster("cluster-3.yaml", ns, name, edits=plain(servers=3, networkPolicy={"enabled": True}))
    wait_ready(ns, name, 3, timeout=300)
    patch_cr(ns, name, {"spec": {"servers": 4}})
    wait_ready(ns, name, 4, timeout=180)
    patch_cr(ns, name, {"spec": {"servers": 3}})
    wait_ready(ns, name, 3, timeout=180)
    patch_cr(ns, name, {"spec": {"version": "5.26.13"}})
    wait_for("the roll done: every pod on 5.26.13 and Ready", lambda: all(
        p["spec"]["containers"][0]["image"].endswith(":5.26.13-enterprise")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
        for p in kjson("-n", ns, "get", "pods", "-l", f"app.kubernetes.io/instance={name}")["items"]),
        timeout=300)
    wait_ready(ns, name, 3, timeout=300)
    patch_cr(ns, name, {"spec": {"networkPolicy": {"enabled": False}}})
    try:  # a feature check of its own: the scenario goes on either way
        wait_for("the NetworkPolicy deleted once switched off",
                 lambda: not kjson("-n", ns, "get", "networkpolicy")["items"], timeout=60)
        check(True, "the NetworkPolicy is deleted once spec.networkPolicy.enabled is false")
    except RuntimeError as e:
        check(False, f"the NetworkPolicy is deleted once spec.networkPolicy.enabled is false: {e}")
    # A scheduled backup of graph: its CronJob and backup PVC are applied (a get on the cache
    # miss, then a server-side apply that creates them) and its status written. 02:00 once
    # a year: no Job runs during the test.
    backup = {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Neo4jBackup",
              "metadata": {"name": "nightly", "namespace": ns},
              "spec": {"clusterRef": {"name": name}, "databases": ["*"], "schedule": "0 2 1 1 *",
                       "target": {"pvc": {"size": "1Gi", "storageClassName": "testenv"}}}}
    apply_cr(backup)
    wait_for("the backup's CronJob, PVC and status", lambda: (
        kubectl("-n", ns, "get", "cronjob/nightly-backup").returncode == 0
        and kubectl("-n", ns, "get", "pvc/nightly-backup").returncode == 0
        and ((kjson("-n", ns, "get", f"neo4jbackups.{GROUP}", "nightly").get("status") or {})
             .get("nextScheduleTime"))), timeout=60)
    test.cluster("standalone-community.yaml", ns, "solo", edits=plain(servers=1))
    wait_ready(ns, "solo", 1, timeout=300)
    op.restart()  # a second process: start-up paths (Lease takeover, initial lists)
    wait_ready(ns, name, 3, timeout=60)
    # Cluster-scoped requests and discovery count too: RBAC grants them.
    events = scoped(audit_since(mark), (ns,), (op.lease_id,), cluster=True)
    check(len(events) > 50, f"the audit log has the operator's requests ({len(events)})")
    judge(events, granted, ALLOWED_UNUSED)
    check(not any(t[1] == "secrets" and t[2] in ("list", "watch") for t in granted),
          "rbac.yaml grants no list/watch on Secrets")


if __name__ == "__main__":  # e2e.install imports ALLOWED_UNUSED
    run("rbac_audit", body)
