#!/usr/bin/env python3
"""The invalid corpus against the real apiserver: every case whose rule is CEL is refused
with its message at its path; schema cases are refused; the cases only the operator can
judge (`where: op`) are accepted by the apiserver, as documented; transition cases are
refused as an update of the old object."""
import json
import os
import re

from envlib import ROOT, check, done, kjson, kubectl, load_env, restricted_namespace

load_env()
corpus = os.path.join(ROOT, "tests", "data", "invalid")
NS = "env-invalid"
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
print("cases: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=str)))
done()
