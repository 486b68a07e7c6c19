#!/usr/bin/env python3
"""The `neo4j-operator` command line: arguments, exit codes, formats, hostile input."""
import json
import os
import subprocess
import sys
import tempfile

binary, src = sys.argv[1], sys.argv[2]
ex = lambda n: os.path.join(src, "examples", n)
failures = []
count = 0


def run(args, stdin=None):
    return subprocess.run([binary] + args, input=stdin, capture_output=True, text=True)


def check(cond, what):
    global count
    count += 1
    if not cond:
        failures.append(what)
        print("FAIL", what)


p = run(["version"])
check(p.returncode == 0 and p.stdout.startswith("neo4j-operator "), "version")
p = run(["--help"])
check(p.returncode == 0 and "render -f FILE" in p.stdout, "--help")
check(run([]).returncode == 2, "no command exits 2")
check(run(["frobnicate"]).returncode == 2, "unknown command exits 2")
check(run(["render"]).returncode == 2, "render without -f exits 2")
check(run(["render", "-f", ex("cluster-3.yaml"), "-o", "xml"]).returncode == 2, "bad -o")
p = run(["render", "-f", "/nonexistent.yaml"])
check(p.returncode == 2 and "/nonexistent.yaml" in p.stderr, "missing file is named")

# cluster-3 renders exactly the objects the foundation issue names.
p = run(["render", "-f", ex("cluster-3.yaml"), "-o", "json"])
check(p.returncode == 0, f"cluster-3 renders: {p.stderr}")
if p.returncode == 0:
    lst = json.loads(p.stdout)
    check(lst["kind"] == "List" and lst["apiVersion"] == "v1", "JSON output is a v1 List")
    kinds = sorted(i["kind"] for i in lst["items"])
    want = sorted(["ConfigMap", "Secret", "ServiceAccount", "Service", "Service", "StatefulSet",
                   "PodDisruptionBudget", "NetworkPolicy"])
    check(kinds == want, f"cluster-3 kinds {kinds}")
    for o in lst["items"]:
        m = o["metadata"]
        check(m["labels"]["app.kubernetes.io/managed-by"] == "neo4j-operator", "managed-by label")
        check("neo4j.graphops.io/spec-hash" in m["annotations"], f"spec hash on {o['kind']}")
        check(m["ownerReferences"][0]["kind"] == "Neo4jCluster", "owner reference")

# The same input through stdin and as YAML.
text = open(ex("cluster-3.yaml")).read()
p1 = run(["render", "-f", "-"], stdin=text)
p2 = run(["render", "-f", ex("cluster-3.yaml")])
check(p1.returncode == 0 and p1.stdout == p2.stdout, "stdin equals file")
check(p2.stdout.startswith("---\n"), "YAML output is multi-document")

# `defaults` prints the CR as the apiserver stores it, and needs no cluster for a backup.
p = run(["defaults", "-f", ex("backup-once-pvc.yaml"), "-o", "json"])
check(p.returncode == 0, f"defaults: {p.stderr}")
if p.returncode == 0:
    b = json.loads(p.stdout)["items"][0]
    check(list(b)[:3] == ["apiVersion", "kind", "metadata"], "defaults keeps key order")
    check(b["spec"]["retention"] == {"keepLast": 7} and b["spec"]["verify"] is False,
          "defaults fills nested defaults")

# A backup alone cannot render: its cluster is needed, and the message says how.
p = run(["render", "-f", ex("backup-nightly-s3.yaml")])
check(p.returncode == 2 and "add -f CLUSTER.yaml" in p.stderr, "backup without its cluster")

# Documents that are not ours are refused by name.
p = run(["render", "-f", "-"], stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
check(p.returncode == 2 and "is not neo4j.graphops.io/v1alpha1" in p.stderr, "foreign kind")

# Hostile input: every case is an error value with exit 2, never a crash.
base = text
hostile = {
    "truncated": base[: len(base) // 2] + "\n  servers: [",
    "wrong types": base.replace("servers: 3", "servers: three"),
    "huge number": base.replace("servers: 3", "servers: 1" + "0" * 400),
    "deep nesting": "apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\n"
                    "metadata: {name: g}\nspec: " + "[" * 5000 + "]" * 5000 + "\n",
    "10 MB string": base.replace("name: graph", "name: \"" + "x" * (10 << 20) + "\"", 1),
    "binary garbage": "\x00\x01\x02\xff\xfe" * 100,
    "not a mapping": "- 1\n- 2\n",
    "null spec": "apiVersion: neo4j.graphops.io/v1alpha1\nkind: Neo4jCluster\nmetadata: {name: g}\nspec: null\n",
}
for what, data in hostile.items():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False, errors="surrogateescape") as f:
        f.write(data)
    p = subprocess.run([binary, "render", "-f", f.name], capture_output=True)
    os.unlink(f.name)
    check(p.returncode == 2, f"hostile input '{what}': exit {p.returncode}")
    check(len(p.stderr) > 0 and len(p.stderr) < 100000, f"hostile input '{what}' explains itself briefly")

# Inputs the fuzzer once crashed on stay here as regressions.
seeds = os.path.join(src, "tests", "fuzz", "seeds", "cr")
for name in sorted(os.listdir(seeds)) if os.path.isdir(seeds) else []:
    p = subprocess.run([binary, "render", "-f", os.path.join(seeds, name)], capture_output=True)
    check(p.returncode in (0, 2), f"fuzz regression {name}: exit {p.returncode}")

print(f"{count - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
