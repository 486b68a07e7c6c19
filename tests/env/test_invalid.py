#!/usr/bin/env python3
"""The invalid corpus against the real apiserver: every case whose rule is CEL is refused
with its message at its path; schema cases are refused; the cases only the operator can
judge (`where: op`) are accepted by the apiserver, as documented; transition cases are
refused as an update of the old object; podsecurity cases (a rendered workload with a bad
pod template) are accepted as workloads with a PodSecurity warning, and a Pod built from
their template is refused by PodSecurity `enforce` with the expected message: this is the
proof that test_render_dryrun.py's pod check can fail."""
import json
import os
import re

from envlib import (ROOT, check, done, kjson, kubectl, load_env, pods_admitted,
                    restricted_namespace, unique_name, wait_for)

load_env()
corpus = os.path.join(ROOT, "tests", "data", "invalid")
# Transition cases create real objects: a namespace of this run only.
NS = unique_name("env-invalid")
restricted_namespace(NS)

# The messages the CRDs' CEL rules carry: only those can come from the apiserver. A rule
# with a messageExpression (it names the offending value) matches by its first and last
# string literals, the fixed text around the value.
cel = set()
cel_templates = []
for crd in ("neo4jclusters.neo4j.graphops.io", "neo4jbackups.neo4j.graphops.io"):
    def walk(node):
        if isinstance(node, dict):
            for r in node.get("x-kubernetes-validations", []):
                cel.add(r["message"])
                lits = re.findall(r"'((?:[^'\\]|\\.)*)'", r.get("messageExpression", ""))
                if len(lits) >= 2:
                    cel_templates.append((lits[0], lits[-1]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(kjson("get", "crd", crd)["spec"]["versions"])


def split_docs(text):
    docs, cur = [], []
    for line in text.splitlines(True):
        if line.startswith("---"):
            if "".join(cur).strip():
                docs.append("".join(cur))
            cur = []
        else:
            cur.append(line)
    if "".join(cur).strip():
        docs.append("".join(cur))
    return docs


def in_ns(doc):
    # Every case runs in our namespace; the corpus's own namespace is irrelevant here.
    out = []
    for line in doc.splitlines(True):
        if line.startswith("  namespace:"):
            continue
        out.append(line)
        if line.rstrip() == "metadata:":
            out.append(f"  namespace: {NS}\n")
    return "".join(out)


counts = {}
for name in sorted(os.listdir(corpus)):
    if not name.endswith(".yaml"):
        continue
    text = open(os.path.join(corpus, name), encoding="utf-8", errors="replace").read()
    expects = [l[len("# expect:"):].strip() for l in text.splitlines() if l.startswith("# expect:")]
    where = next((l[len("# where:"):].strip() for l in text.splitlines()
                  if l.startswith("# where:")), None)
    counts[where] = counts.get(where, 0) + 1
    if where == "parse":
        continue  # kubectl refuses these before any request; render's own test covers them
    docs = [in_ns(d) for d in split_docs(text)]
    if where == "transition":
        old, new = docs[0], docs[1]
        kubectl("delete", "-f", "-", "--ignore-not-found", "--wait=true", input=old)
        p = kubectl("create", "-f", "-", input=old)
        if not check(p.returncode == 0, f"{name}: old object is accepted: {p.stderr}"):
            continue
        p = kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=new)
        kubectl("delete", "-f", "-", "--ignore-not-found", "--wait=false", input=old)
        check(p.returncode != 0, f"{name}: update refused")
        for e in expects:
            path, _, msg = e.partition(": ")
            check(path in p.stderr and msg in p.stderr, f"{name}: apiserver says {e!r}: {p.stderr.strip()}")
        continue
    if where == "podsecurity":
        p = kubectl("apply", "--dry-run=server", "-f", "-", input="---\n".join(docs))
        check(p.returncode == 0 and "would violate PodSecurity" in p.stderr,
              f"{name}: the workload is accepted, with a PodSecurity warning only: {p.stderr}")
        objs = kjson("create", "--dry-run=client", "-f", "-", input="---\n".join(docs))
        objs = objs["items"] if objs.get("kind") == "List" else [objs]
        for sa in {(o["spec"].get("template") or o["spec"]["jobTemplate"]["spec"]["template"])[
                "spec"].get("serviceAccountName", "default") for o in objs}:
            if sa != "default":
                kubectl("create", "serviceaccount", sa, "-n", NS)
            # The pod must be refused by PodSecurity, not for a missing account.
            wait_for(f"serviceaccount {sa}", lambda sa=sa: kjson("get", "sa", sa, "-n", NS))
        results = pods_admitted(name, objs)
        check(len(results) == 1, f"{name}: one pod template: {len(results)}")
        for what, p in results:
            check(p.returncode != 0, f"{what}: refused")
            for e in expects:
                path, _, msg = e.partition(": ")
                check(what.endswith(" " + path) and msg in p.stderr,
                      f"{what}: apiserver says {e!r}: {p.stderr.strip()}")
        continue
    p = kubectl("apply", "--dry-run=server", "-f", "-", input="---\n".join(docs))
    if where == "op":
        check(p.returncode == 0, f"{name}: only the operator judges this, the apiserver accepts: {p.stderr}")
    elif where == "schema":
        check(p.returncode != 0, f"{name}: refused by the schema")
    elif where == "cel":
        check(p.returncode != 0, f"{name}: refused by CEL")
        cel_expects = [e for e in expects if e.partition(": ")[2] in cel or any(
            e.partition(": ")[2].startswith(a) and e.partition(": ")[2].endswith(b)
            for a, b in cel_templates)]
        check(cel_expects, f"{name}: has at least one CEL message")
        for e in cel_expects:
            path, _, msg = e.partition(": ")
            check(path in p.stderr and msg in p.stderr, f"{name}: apiserver says {e!r}: {p.stderr.strip()}")
check(counts.get("podsecurity", 0) >= 1, "the corpus has a podsecurity case")
kubectl("delete", "ns", NS, "--wait=false")
print("cases: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)))
done()
