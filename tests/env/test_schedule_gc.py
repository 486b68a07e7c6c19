#!/usr/bin/env python3
"""A rendered cluster for real: kube-scheduler places the StatefulSet's pods on three
different nodes (required anti-affinity), kwok runs them with distinct 127.1.x.y IPs, the
claims bind, the operator's readiness gate makes them Ready, a 4th replica on 3 nodes stays
Pending, and deleting the Neo4jCluster garbage-collects what it owns while the data
volumes are retained."""
import ipaddress
import json

from envlib import check, done, kjson, kubectl, load_env, operator, restricted_namespace, wait_for

load_env()
NS = "env-sched"
kubectl("delete", "ns", NS, "--ignore-not-found", "--wait=true", timeout=180)
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
pvcs = wait_for("3 claims Bound", lambda: (lambda l: l if len(l) == 3 and all(
    c["status"].get("phase") == "Bound" for c in l) else None)(
    kjson("get", "pvc", "-n", NS, "-l", sel)["items"]), timeout=120)
check(len(pvcs) == 3, "claims bound to testenv volumes")

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

# Deleting the CR removes what it owns; the data volumes stay (Retain).
kubectl("delete", "n4jc", "sched", "-n", NS, "--wait=true", check=True)
for kind in ("statefulset", "service", "configmap", "poddisruptionbudget", "networkpolicy",
             "serviceaccount", "secret"):
    wait_for(f"{kind}s garbage-collected", lambda k=kind: not kjson(
        "get", k, "-n", NS, "-l", "app.kubernetes.io/instance=sched")["items"], timeout=120)
wait_for("pods gone", lambda: not pods(), timeout=120)
left = kjson("get", "pvc", "-n", NS, "-l", sel)["items"]
check(len(left) >= 3, f"data volumes retained after the CR is deleted: {len(left)}")
kubectl("delete", "ns", NS, "--wait=false")
done()
