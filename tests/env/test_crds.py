#!/usr/bin/env python3
"""The CRDs on a real apiserver: a plain client-side apply works, `kubectl explain` shows
the descriptions, and the apiserver's defaults equal `neo4j-operator defaults` for every
example and golden input (one source of truth)."""
import json
import os

from envlib import (ROOT, check, done, kjson, kubectl, load_env, operator, restricted_namespace,
                    inputs, wait_for)

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

# Defaults: the apiserver's (server dry-run create) equal the operator's, for every input.
namespaces = set()
for files in inputs():
    args = ["defaults", "-o", "json"]
    for f in files:
        args += ["-f", f]
    p = operator(*args)
    if not check(p.returncode == 0, f"neo4j-operator defaults {files[-1]}: {p.stderr}"):
        continue
    for ours in json.loads(p.stdout)["items"]:
        namespaces.add(ours["metadata"].get("namespace", "default"))
for ns in sorted(namespaces):
    restricted_namespace(ns)
for files in inputs():
    args = ["defaults", "-o", "json"]
    for f in files:
        args += ["-f", f]
    for ours in json.loads(operator(*args, check=True).stdout)["items"]:
        raw = dict(ours)
        raw["metadata"] = {k: v for k, v in ours["metadata"].items() if k != "uid"}
        p = kubectl("create", "--dry-run=server", "-o", "json", "-f", "-",
                    input=json.dumps(raw))
        name = f"{os.path.basename(files[-1])}: {ours['kind']}/{ours['metadata']['name']}"
        if not check(p.returncode == 0, f"apiserver accepts {name}: {p.stderr}"):
            continue
        theirs = json.loads(p.stdout)
        same = theirs.get("spec") == ours.get("spec")
        if not same:
            print(f"  ours:   {json.dumps(ours.get('spec'), sort_keys=True)}")
            print(f"  theirs: {json.dumps(theirs.get('spec'), sort_keys=True)}")
        check(same, f"defaults equal for {name}")

# A minimal CR, created for real and read back.
ns = "env-crds"
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
done()
