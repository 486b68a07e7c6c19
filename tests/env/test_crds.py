#!/usr/bin/env python3
"""The CRDs on a real apiserver: a plain client-side apply works, `kubectl explain` shows
the descriptions, and the apiserver's defaults of every raw example and golden input equal
`neo4j-operator defaults` of the same file (one source of truth)."""
import json
import os

from envlib import (ROOT, check, done, inputs, kjson, kubectl, load_env, operator,
                    restricted_namespace, unique_name, wait_for)

load_env()

# Client-side apply keeps the whole CRD in an annotation (256 KiB cap): small CRDs matter.
p = kubectl("apply", "-f", os.path.join(ROOT, "crds"))
check(p.returncode == 0, f"kubectl apply -f crds/ (client-side): {p.stderr}")
for crd in ("neo4jclusters.neo4j.graphops.io", "neo4jbackups.neo4j.graphops.io"):
    p = kubectl("wait", "--for=condition=Established", f"crd/{crd}", "--timeout=60s")
    check(p.returncode == 0, f"{crd} Established: {p.stderr}")

# kubectl explain prints each field's description from the schema.
crd = kjson("get", "crd", "neo4jclusters.neo4j.graphops.io")
spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
for field in ("servers", "version", "topology", "storage"):
    want = spec_schema["properties"][field]["description"].split()[:6]
    p = kubectl("explain", f"neo4jcluster.spec.{field}")
    got = " ".join(p.stdout.split())
    check(p.returncode == 0 and " ".join(want) in got,
          f"kubectl explain neo4jcluster.spec.{field} shows its description")
p = kubectl("explain", "n4jb.spec.target.s3.uri")
check(p.returncode == 0 and "s3://" in p.stdout, "short name and nested explain for backups")

# Defaults: each RAW input file (every example, every golden input) goes to the apiserver
# as written (`kubectl create --dry-run=server`), and what the CRDs' defaults make of it is
# compared with `neo4j-operator defaults` of the same file. Sending our own defaulted output
# instead would compare our defaults with themselves.
SERVER_SET = {"uid", "creationTimestamp", "managedFields", "generation", "resourceVersion"}
GROUP = "neo4j.graphops.io/"


def key(o):
    return (o["kind"], o["metadata"].get("namespace", "default"), o["metadata"]["name"])


files = sorted({f for group in inputs() for f in group})
# Beyond the corpus: what YAML users write that the corpus does not hold. A key with no
# value is null: the apiserver drops nulls that are not nullable, in properties and in map
# values alike (then defaults), so `requests: {cpu: }` is accepted, not refused.
EDGE = [{"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
         "metadata": {"name": "nulls", "namespace": "neo4j"},
         "spec": {"edition": "enterprise", "version": "5.26.12", "acceptLicenseAgreement": "yes",
                  "servers": 3, "config": {"db.transaction.timeout": None},
                  "resources": {"requests": {"cpu": None, "memory": "4Gi"},
                                "limits": {"memory": "4Gi"}},
                  "storage": None, "topology": {}, "scheduling": {}}},
        {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jBackup",
         "metadata": {"name": "nulls", "namespace": "neo4j"},
         "spec": {"clusterRef": {"name": "graph"}, "target": {"s3": {"uri": "s3://b/p", "region": None}},
                  "retention": None}}]
cases = [(os.path.relpath(f, ROOT), ["-f", f], None) for f in files]
cases += [(f"edge case {d['kind']}/{d['metadata']['name']}", ["-f", "-"], json.dumps(d))
          for d in EDGE]
namespaces = {"neo4j"}
for f in files:
    for o in json.loads(operator("defaults", "-o", "json", "-f", f, check=True).stdout)["items"]:
        namespaces.add(o["metadata"].get("namespace", "default"))
for ns in sorted(namespaces):
    restricted_namespace(ns)
compared = 0
for name, src, text in cases:
    p = operator("defaults", "-o", "json", *src, input=text)
    if not check(p.returncode == 0, f"neo4j-operator defaults {name}: {p.stderr}"):
        continue
    ours = {key(o): o for o in json.loads(p.stdout)["items"] if o["apiVersion"].startswith(GROUP)}
    p = kubectl("create", "--dry-run=server", "-o", "json", *src, input=text)
    if not check(p.returncode == 0, f"apiserver accepts the raw {name}: {p.stderr}"):
        continue
    # One JSON document per object created, one after the other.
    got, pos, dec = [], 0, json.JSONDecoder()
    while p.stdout[pos:].strip():
        obj, end = dec.raw_decode(p.stdout[pos:].lstrip())
        pos += len(p.stdout[pos:]) - len(p.stdout[pos:].lstrip()) + end
        got += obj["items"] if obj.get("kind") == "List" else [obj]
    theirs = {key(o): o for o in got if o["apiVersion"].startswith(GROUP)}
    check(sorted(ours) == sorted(theirs), f"{name}: the same custom resources: {sorted(ours)} "
          f"against {sorted(theirs)}")
    for k in sorted(set(ours) & set(theirs)):
        a, b = json.loads(json.dumps(ours[k])), json.loads(json.dumps(theirs[k]))
        for o in (a, b):
            for field in SERVER_SET:
                o["metadata"].pop(field, None)
            o["metadata"].setdefault("namespace", "default")
        same = a == b
        if not same:
            print(f"  ours:   {json.dumps(a, sort_keys=True)}")
            print(f"  theirs: {json.dumps(b, sort_keys=True)}")
        check(same, f"{name} {k[0]}/{k[2]}: the apiserver's defaults equal ours")
        compared += 1
print(f"{compared} custom resources from {len(cases)} raw inputs compared")
check(compared >= 40 + len(EDGE), f"every example, golden and edge CR was compared ({compared})")

# A minimal CR, created for real and read back.
ns = unique_name("env-crds")
restricted_namespace(ns)
minimal = {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
           "metadata": {"name": "minimal", "namespace": ns},
           "spec": {"edition": "community", "version": "5.26.12"}}
kubectl("delete", "n4jc", "minimal", "-n", ns, "--ignore-not-found", "--wait=true")
p = kubectl("create", "-f", "-", input=json.dumps(minimal))
check(p.returncode == 0, f"create minimal CR: {p.stderr}")
stored = wait_for("minimal CR", lambda: kjson("get", "n4jc", "minimal", "-n", ns))
ours = json.loads(operator("defaults", "-o", "json", "-f", "-", input=json.dumps(minimal),
                           check=True).stdout)["items"][0]
check(stored["spec"] == ours["spec"], f"read-back spec equals ours: {stored['spec']}")
p = kubectl("get", "n4jc", "-n", ns)
check(p.returncode == 0 and "PHASE" in p.stdout and "VERSION" in p.stdout, "printer columns")
p = kubectl("get", "neo4j", "-n", ns)
check(p.returncode == 0 and "minimal" in p.stdout, "category neo4j lists the CR")
kubectl("delete", "n4jc", "minimal", "-n", ns, "--wait=true")
kubectl("delete", "ns", ns, "--wait=false")
done()
