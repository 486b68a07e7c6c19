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
import json
import os

from e2elib import (GROUP, ROOT, apply_cr, audit_mark, audit_since, brief, check, kjson, kubectl, patch_cr, plain,
                    run, scoped, triple, wait_for, wait_ready)

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


def load_yaml_docs(path):
    """rbac.yaml as JSON through kubectl (the tests need no YAML library)."""
    text = kubectl("create", "--dry-run=client", "-o", "json", "-f", path, check=True).stdout
    docs, dec, i = [], json.JSONDecoder(), 0
    while True:  # one JSON object per YAML document, concatenated
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            break
        d, i = dec.raw_decode(text, i)
        docs += d["items"] if d.get("kind") == "List" else [d]
    return docs


def granted_triples(docs):
    out = {}
    for d in docs:
        if d["kind"] not in ("ClusterRole", "Role"):
            continue
        for rule in d.get("rules") or []:
            for g in rule.get("apiGroups") or []:
                for r in rule.get("resources") or []:
                    for v in rule.get("verbs") or []:
                        out[(g, r, v)] = f"{d['kind']}/{d['metadata']['name']}"
    return out


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
    used, denied, nonres = {}, {}, {}
    for e in events:
        if not (e.get("objectRef") or {}).get("resource"):
            # Discovery and other non-resource URLs (system:discovery grants them to all).
            u = f"{e.get('verb')} {e.get('requestURI', '').split('?')[0]}"
            nonres[u] = (e.get("responseStatus") or {}).get("code")
            if nonres[u] == 403:
                denied.setdefault(("non-resource", u, e.get("verb")), brief(e))
            continue
        t = triple(e)
        code = (e.get("responseStatus") or {}).get("code", 0)
        if code == 403:
            denied.setdefault(t, brief(e))
        else:
            used[t] = used.get(t, 0) + 1
        if t[2] == "patch" and code == 201:
            # A server-side apply that created the object: the apiserver authorized
            # `create` too (the PATCH handler's create check), without a request of its own.
            c = (t[0], t[1], "create")
            used[c] = used.get(c, 0) + 1
    print(f"{len(events)} requests by the operator; {len(used)} triples used:")
    for t in sorted(used):
        print(f"  used    {t[0] or 'core'} {t[1]} {t[2]} x{used[t]}{'' if t in granted else '  (NOT GRANTED?)'}")
    for t, d in sorted(denied.items()):
        print(f"  DENIED  {t[0] or 'core'} {t[1]} {t[2]}: {d}")
    for u, code in sorted(nonres.items()):
        print(f"  non-resource {u} -> {code}")
    unused = sorted(t for t in granted if t not in used and t not in ALLOWED_UNUSED)
    for t in unused:
        print(f"  UNUSED  {t[0] or 'core'} {t[1]} {t[2]} ({granted[t]})")
    for t in sorted(t for t in ALLOWED_UNUSED if t not in used):
        print(f"  allowed unused {t[0] or 'core'} {t[1]} {t[2]}: {ALLOWED_UNUSED[t]}")
    now_used = sorted(t for t in ALLOWED_UNUSED if t in used)
    for t in now_used:
        print(f"  allow-listed but used (drop the entry): {t}")
    check(len(events) > 50, f"the audit log has the operator's requests ({len(events)})")
    check(not denied, f"no request refused with 403: {sorted(denied)}")
    check(not unused, f"every granted rule is used or allow-listed with a reason: unused {unused}")
    check(not now_used, f"no allow-listed rule is actually used: {now_used}")
    sec = [brief(e) for e in events
           if (e.get("objectRef") or {}).get("resource") == "secrets" and e.get("verb") in ("list", "watch")]
    check(not sec, f"no list/watch of Secrets: {sec}")
    check(not any(t[1] == "secrets" and t[2] in ("list", "watch") for t in granted),
          "rbac.yaml grants no list/watch on Secrets")


run("rbac_audit", body)
