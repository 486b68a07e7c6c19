#!/usr/bin/env python3
"""`helm install`, `helm upgrade` and `helm uninstall` of charts/neo4j-operator on the test
apiserver (cluster-wide, the default values; kwok runs the Deployment's pods as fakes, so
`--wait` sees them Available):

- install: the release deployed, its Deployment Available with 2 replicas, the
  ServiceAccount, the ClusterRole/ClusterRoleBinding, the Lease Role, the Service, the PDB;
- upgrade with another value (logLevel debug): revision 2, the Deployment's args carry
  --log-level=debug and no longer info, no other object lost;
- uninstall: every object of the release gone, cluster-scoped ones too; the CRDs stay (Helm
  never deletes crds/), and so does a Neo4jCluster created meanwhile (uninstalling the
  operator keeps the clusters and their data).
"""
import json
import os

from envlib import (ROOT, check, done, kjson, kubectl, load_env, restricted_namespace, run,
                    unique_name, wait_for)

load_env()
CHART = os.path.join(ROOT, "charts", "neo4j-operator")
ns = unique_name("install-helm")
release = unique_name("install-h")  # unique cluster-scoped names too
full = f"{release}-neo4j-operator"
crns = unique_name("install-helm-cr")


def helm(*args, timeout=300):
    p = run(["helm", *args], timeout=timeout)
    check(p.returncode == 0, f"helm {' '.join(args[:2])}: exit {p.returncode} {p.stderr.strip()[:2000]}")
    return p


def exists(*what):
    return kubectl("get", *what, "-o", "name").returncode == 0


def args():
    return kjson("-n", ns, "get", "deployment", full)["spec"]["template"]["spec"]["containers"][0]["args"]


OBJECTS = [("-n", ns, "deployment", full), ("-n", ns, "serviceaccount", full),
           ("-n", ns, "service", f"{full}-metrics"), ("-n", ns, "pdb", full),
           ("-n", ns, "role", f"{full}-leader-election"), ("-n", ns, "rolebinding", f"{full}-leader-election"),
           ("clusterrole", f"{full}-manager"), ("clusterrolebinding", f"{full}-manager")]

restricted_namespace(ns)
restricted_namespace(crns)
try:
    helm("install", release, CHART, "-n", ns, "--wait", "--timeout", "180s")
    st = json.loads(helm("status", release, "-n", ns, "-o", "json").stdout or "{}")
    check(st.get("info", {}).get("status") == "deployed" and st.get("version") == 1,
          f"release deployed, revision 1: {st.get('info', {}).get('status')} {st.get('version')}")
    for o in OBJECTS:
        check(exists(*o), f"installed: {' '.join(o[-2:])}")
    d = kjson("-n", ns, "get", "deployment", full)
    check(d["status"].get("availableReplicas") == 2, f"the Deployment is Available with 2 replicas: {d['status']}")
    check("--log-level=info" in args(), f"installed with --log-level=info: {args()}")

    helm("upgrade", release, CHART, "-n", ns, "--reuse-values", "--set", "logLevel=debug", "--wait", "--timeout", "180s")
    st = json.loads(helm("status", release, "-n", ns, "-o", "json").stdout or "{}")
    check(st.get("version") == 2 and st.get("info", {}).get("status") == "deployed",
          f"upgraded: revision 2 deployed ({st.get('version')})")
    a = args()
    check("--log-level=debug" in a and "--log-level=info" not in a, f"the upgrade changed the flag: {a}")
    for o in OBJECTS:
        check(exists(*o), f"still there after the upgrade: {' '.join(o[-2:])}")

    # A cluster created while the operator is installed: uninstalling must leave it.
    cr = {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
          "metadata": {"name": "keep", "namespace": crns},
          "spec": {"edition": "community", "version": "5.26.12", "servers": 1,
                   "storage": {"data": {"size": "1Gi", "storageClassName": "testenv"}}}}
    kubectl("apply", "-f", "-", input=json.dumps(cr), check=True)
    helm("uninstall", release, "-n", ns, "--wait", "--timeout", "180s")
    wait_for("the release's objects deleted", lambda: not any(exists(*o) for o in OBJECTS), timeout=120)
    for o in OBJECTS:
        check(not exists(*o), f"uninstalled: {' '.join(o[-2:])}")
    for crd in ("neo4jclusters.neo4j.graphops.io", "neo4jbackups.neo4j.graphops.io"):
        check(exists("crd", crd), f"the CRD {crd} stays after helm uninstall")
    check(exists("-n", crns, "neo4jclusters.neo4j.graphops.io", "keep"), "the Neo4jCluster stays after helm uninstall")
    check(run(["helm", "status", release, "-n", ns]).returncode != 0, "the release is gone")
finally:
    run(["helm", "uninstall", release, "-n", ns, "--ignore-not-found"], timeout=120)
    kubectl("delete", "ns", ns, crns, "--wait=false")
done()
