#!/usr/bin/env python3
"""A rendered cluster for real: kube-scheduler places the StatefulSet's pods on three
different nodes (required anti-affinity), kwok runs them with distinct 127.1.x.y IPs, the
claims bind, the operator's readiness gate makes them Ready, a 4th replica on 3 nodes stays
Pending, and deleting the Neo4jCluster garbage-collects what it owns while the data
volumes are retained: the very claims (same UIDs) stay Bound to the very volumes.

The namespace is this run's own; at the end its volumes are wiped and made Available
again, so that repeated runs do not use up the environment's volumes."""
import ipaddress
import json
import os
import shutil
import time

from envlib import (check, done, kjson, kubectl, load_env, operator, restricted_namespace,
                    unique_name, wait_for)

load_env()
NS = unique_name("env-sched")
restricted_namespace(NS)
cr = {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
      "metadata": {"name": "sched", "namespace": NS},
      "spec": {"edition": "enterprise", "version": "5.26.12", "acceptLicenseAgreement": "eval",
               "servers": 3, "scheduling": {"antiAffinity": "required"},
               "storage": {"data": {"size": "1Gi", "storageClassName": "testenv"}},
               "resources": {"requests": {"cpu": "100m", "memory": "2Gi"},
                             "limits": {"memory": "2Gi"}}}}
kubectl("apply", "-f", "-", input=json.dumps(cr), check=True)
live = kjson("get", "n4jc", "sched", "-n", NS)

# Render from the live object, so owner references carry its real UID.
p = operator("render", "-o", "json", "--no-cert-manager", "--no-service-monitor", "-f", "-",
             input=json.dumps(live), check=True)
items = json.loads(p.stdout)["items"]
check(all(o["metadata"]["ownerReferences"][0]["uid"] == live["metadata"]["uid"] for o in items),
      "owner references carry the live UID")
kubectl("apply", "--server-side", "--field-manager=neo4j-operator", "-f", "-",
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}), check=True)
# The controller fills the generated Secret; here the test does.
kubectl("-n", NS, "patch", "secret", "sched-admin", "--type=merge", "-p",
        json.dumps({"stringData": {"password": "not-a-real-password-1"}}), check=True)

sel = "app.kubernetes.io/instance=sched,app.kubernetes.io/component=server"


def pods():
    return kjson("get", "pods", "-n", NS, "-l", sel)["items"]


running = wait_for("3 pods Running", lambda: (lambda ps: ps if len(ps) == 3 and all(
    p["status"].get("phase") == "Running" and p["status"].get("podIP") for p in ps) else None)(pods()),
    timeout=180)
nodes = {p["spec"]["nodeName"] for p in running}
ips = {p["status"]["podIP"] for p in running}
check(len(nodes) == 3, f"pods on 3 different nodes: {nodes}")
check(len(ips) == 3 and all(ipaddress.ip_address(i) in ipaddress.ip_network("127.1.0.0/16")
                            for i in ips), f"distinct pod IPs from 127.1.0.0/16: {ips}")


def claims():
    return kjson("get", "pvc", "-n", NS, "-l", sel)["items"]


def bound(n):
    return lambda: (lambda l: l if len(l) == n and all(
        c["status"].get("phase") == "Bound" for c in l) else None)(claims())


pvcs = wait_for("3 claims Bound", bound(3), timeout=120)
# What the wait does not already say: one claim per ordinal, each bound to its own testenv
# volume that points back at that claim.
check(sorted(c["metadata"]["name"] for c in pvcs) == [f"data-sched-{i}" for i in range(3)],
      f"one claim per ordinal: {[c['metadata']['name'] for c in pvcs]}")
check(len({c["spec"]["volumeName"] for c in pvcs}) == 3, "three distinct volumes")
for c in pvcs:
    pv = kjson("get", "pv", c["spec"]["volumeName"])
    check(pv["spec"].get("storageClassName") == "testenv"
          and pv["spec"]["claimRef"]["uid"] == c["metadata"]["uid"],
          f"{c['metadata']['name']}: volume {pv['metadata']['name']} of class testenv is bound to it")

# Not Ready until the operator's gate says so; then Ready.
ready = lambda p: any(c["type"] == "Ready" and c["status"] == "True"
                      for c in p["status"].get("conditions", []))
check(not any(ready(p) for p in pods()), "pods are not Ready before the readiness gate is set")
for p in running:
    kubectl("-n", NS, "patch", "pod", p["metadata"]["name"], "--subresource=status",
            "--type=strategic", "-p", json.dumps({"status": {"conditions": [
                {"type": "neo4j.graphops.io/server-ready", "status": "True"}]}}), check=True)
wait_for("3 pods Ready", lambda: len([p for p in pods() if ready(p)]) == 3, timeout=120)
wait_for("StatefulSet readyReplicas 3",
         lambda: kjson("get", "sts", "sched", "-n", NS)["status"].get("readyReplicas") == 3)
pdb = wait_for("PDB status", lambda: (lambda s: s if s.get("currentHealthy") == 3 else None)(
    kjson("get", "pdb", "sched", "-n", NS)["status"]))
check(pdb.get("disruptionsAllowed") == 1, f"PDB allows exactly one disruption: {pdb}")

# A 4th server on 3 nodes cannot be placed under required anti-affinity.
kubectl("-n", NS, "scale", "sts", "sched", "--replicas=4", check=True)
fourth = wait_for("pod sched-3 to exist", lambda: kjson("get", "pod", "sched-3", "-n", NS))
wait_for("sched-3 unschedulable", lambda: any(
    c["type"] == "PodScheduled" and c["status"] == "False"
    for c in kjson("get", "pod", "sched-3", "-n", NS)["status"].get("conditions", [])), timeout=60)
check(not kjson("get", "pod", "sched-3", "-n", NS)["spec"].get("nodeName"), "4th pod stays Pending")

# Deleting the CR removes what it owns; the data claims stay (retainOnDelete: true renders
# persistentVolumeClaimRetentionPolicy.whenDeleted Retain). With Delete, the StatefulSet
# controller would make each claim owned by the StatefulSet and the garbage collector would
# delete the claims with it: the checks below would fail (seen with retainOnDelete: false).
before = {c["metadata"]["name"]: (c["metadata"]["uid"], c["spec"]["volumeName"])
          for c in wait_for("4 claims Bound", bound(4), timeout=120)}
check(all(not c["metadata"].get("ownerReferences") for c in claims()),
      "no claim is owned by the StatefulSet (Retain)")
kubectl("delete", "n4jc", "sched", "-n", NS, "--wait=true", check=True)
# The garbage collector has demonstrably run: the owned objects and the pods are gone.
for kind in ("statefulset", "service", "configmap", "poddisruptionbudget", "networkpolicy",
             "serviceaccount", "secret"):
    wait_for(f"{kind}s garbage-collected", lambda k=kind: not kjson(
        "get", k, "-n", NS, "-l", "app.kubernetes.io/instance=sched")["items"], timeout=120)
wait_for("pods gone", lambda: not pods(), timeout=120)
# Then, for a few seconds (the collector deletes dependents one by one), the same claims,
# not new ones of the same name, are still there, not being deleted, Bound to the same
# volumes, and those volumes are still bound to them.
for _ in range(5):
    now = {c["metadata"]["name"]: c for c in claims()}
    for name, (uid, vol) in sorted(before.items()):
        c = now.get(name)
        check(c is not None and c["metadata"]["uid"] == uid
              and not c["metadata"].get("deletionTimestamp")
              and c["status"].get("phase") == "Bound" and c["spec"].get("volumeName") == vol,
              f"claim {name} (uid {uid}) retained and Bound to {vol}: "
              f"{c and (c['metadata']['uid'], c['metadata'].get('deletionTimestamp'), c['status'], c['spec'].get('volumeName'))}")
    time.sleep(1)
for name, (uid, vol) in sorted(before.items()):
    pv = kjson("get", "pv", vol)
    check(pv["status"].get("phase") == "Bound" and pv["spec"]["claimRef"]["uid"] == uid,
          f"volume {vol} still Bound to claim {name}: {pv['status']}")

# Clean-up: delete the namespace (and with it the claims), then make this run's volumes
# Available again, wiped: a Retain volume stays Released, unusable, until recycled.
kubectl("delete", "ns", NS, "--wait=true", timeout=180)
run_pv = os.path.join(os.environ["TESTENV_RUN"], "pv") + os.sep
for vol in sorted(v for _, v in before.values()):
    pv = wait_for(f"volume {vol} Released", lambda v=vol: (lambda pv: pv if pv["status"].get(
        "phase") == "Released" else None)(kjson("get", "pv", v)), timeout=60)
    path = pv["spec"].get("hostPath", {}).get("path", "")
    if path.startswith(run_pv) and os.path.isdir(path):
        for entry in os.listdir(path):
            full = os.path.join(path, entry)
            shutil.rmtree(full) if os.path.isdir(full) and not os.path.islink(full) else os.remove(full)
    kubectl("patch", "pv", vol, "--type=json", "-p",
            json.dumps([{"op": "remove", "path": "/spec/claimRef"}]), check=True)
done()
