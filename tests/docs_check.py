#!/usr/bin/env python3
"""The user docs name only what exists (docs/operations.md, security.md, troubleshooting.md).

    docs_check.py NEO4J_OPERATOR_BIN SOURCE_DIR

- every `spec.*` / `status.*` field path they mention is a field of a CRD (crds/*.yaml);
- every `kubectl patch ... -p '<json>'` parses, and each of its leaves is a field of the
  Neo4jCluster CRD;
- every `neo4j.graphops.io/<name>` annotation, label or condition they name is spelled in
  src/ (as a string literal or an N4J_GROUP "/<name>" define);
- every backticked CamelCase word (a condition type or reason, an Event reason, a phase)
  is a string literal in src/ or a CRD enum value, unless it is a Kubernetes word listed
  below;
- every `--flag` they give `neo4j-operator` is in its --help (run, render, top level);
- every CEL message of the CRDs is explained in troubleshooting.md (the message, or the
  constant start of its messageExpression), and README.md's count of CEL rules is right.

Each failure names the file, the line and what is missing.
"""
import json
import os
import re
import subprocess
import sys

import yaml

BIN, SRC = sys.argv[1], sys.argv[2]
DOCS = ["docs/operations.md", "docs/security.md", "docs/troubleshooting.md"]

# Fields that a concurrent branch of issue 13 adds to the CRD (h-cert: status.tls). Such an
# entry fails once the field exists, so that it is removed at the merge.
PENDING_FIELDS: dict = {}  # fields a doc names before the CRD has them (none now)

# CamelCase words of Kubernetes, Neo4j or the docs themselves, not the operator's reasons.
K8S_WORDS = {
    "CrashLoopBackOff", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
    "OOMKilled", "Issuer", "ClusterIssuer", "StatefulSet", "NetworkPolicy", "Secret",
    "ConfigMap", "ServiceAccount", "Certificate", "ServiceMonitor", "RoleBinding", "Role",
    "ClusterRole", "ClusterRoleBinding", "RuntimeDefault", "OnDelete", "ObjectMeta",
    "Neo4jCluster", "Neo4jBackup", "Deployment", "CronJob", "Job", "Lease", "Pod",
}

failures = []


def fail(msg):
    failures.append(msg)
    print(f"FAIL {msg}")


def load(rel):
    with open(os.path.join(SRC, rel), encoding="utf-8") as f:
        return f.read()


crds = {}
for name in ("neo4jclusters", "neo4jbackups"):
    crds[name] = yaml.safe_load(load(f"crds/{name}.yaml"))


def schema(crd):
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def resolve(node, parts):
    """Whether the dotted parts name a field below node ([] and [i] step into items)."""
    for p in parts:
        if "properties" not in node and isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]  # any key of a map, dots included
            continue
        m = re.fullmatch(r"([A-Za-z0-9_]+)((?:\[[^\]]*\])*)", p)
        if not m:
            return False
        name, idx = m.group(1), m.group(2)
        props = node.get("properties")
        if not props or name not in props:
            return False
        node = props[name]
        for _ in re.findall(r"\[[^\]]*\]", idx):
            if node.get("type") != "array":
                return False
            node = node.get("items", {})
    return True


def field_exists(path):
    parts = path.split(".")
    return any(resolve(schema(c), parts) for c in crds.values())


enums = set()


def collect_enums(node):
    if isinstance(node, dict):
        for v in node.get("enum", []):
            enums.add(str(v))
        for v in node.values():
            collect_enums(v)
    elif isinstance(node, list):
        for v in node:
            collect_enums(v)


for c in crds.values():
    collect_enums(schema(c))

literals = set()
for base in ("src", "operator"):
    for dirpath, _, files in os.walk(os.path.join(SRC, base)):
        for fn in files:
            if fn.endswith((".c", ".h")):
                text = open(os.path.join(dirpath, fn), encoding="utf-8").read()
                literals.update(re.findall(r'"((?:[^"\\\n]|\\.)*)"', text))
group_names = {s[1:] for s in literals if s.startswith("/")}  # N4J_GROUP "/rollout"
group_names |= {s.split("/", 1)[1] for s in literals if s.startswith("neo4j.graphops.io/")}

helps = ""
for args in (["--help"], ["run", "--help"], ["backup-retention", "--help"]):
    p = subprocess.run([BIN] + args, capture_output=True, text=True)
    helps += p.stdout + p.stderr
op_flags = set(re.findall(r"--[a-z][a-z-]*", helps))

for pending, why in PENDING_FIELDS.items():
    if field_exists(pending):
        fail(f"PENDING_FIELDS: {pending} exists in the CRD now ({why}): remove the entry")

checked = {"fields": 0, "patches": 0, "annotations": 0, "reasons": 0, "flags": 0}
for rel in DOCS:
    text = load(rel)
    in_code = False
    for no, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        where = f"{rel}:{no}"
        for m in re.finditer(r"(?<![\w./-])((?:spec|status)(?:\.[A-Za-z0-9_]+(?:\[[^\]\s]*\])*)+)", line):
            path = m.group(1)
            checked["fields"] += 1
            if path not in PENDING_FIELDS and not field_exists(path):
                fail(f"{where}: {path} is not a field of crds/*.yaml")
        for m in re.finditer(r"kubectl patch n4jc .*?-p '([^']*)'", line):
            checked["patches"] += 1
            try:
                doc = json.loads(m.group(1))
            except ValueError as e:
                fail(f"{where}: the patch is not JSON: {e}")
                continue

            def leaves(v, path):
                if isinstance(v, dict) and v:
                    for k, sub in v.items():
                        yield from leaves(sub, path + [k])
                else:
                    yield path

            for parts in leaves(doc, []):
                if not resolve(schema(crds["neo4jclusters"]), parts):
                    fail(f"{where}: patch field {'.'.join(parts)} is not in the Neo4jCluster CRD")
        for m in re.finditer(r"neo4j\.graphops\.io/([a-z][a-z0-9-]*)", line):
            checked["annotations"] += 1
            if m.group(1) not in group_names:
                fail(f"{where}: neo4j.graphops.io/{m.group(1)} is not spelled in src/")
        for m in re.finditer(r"`([A-Z][a-z]+(?:[A-Z0-9][a-z0-9]*)+|[A-Z][a-z]+)`", line):
            w = m.group(1)
            checked["reasons"] += 1
            if w not in literals and w not in enums and w not in K8S_WORDS:
                fail(f"{where}: `{w}` is neither a string of src/ nor a CRD enum value")
        flags = []
        if in_code and re.match(r"\s*neo4j-operator ", line):
            flags = re.findall(r"(?<![\w-])--[a-z][a-z-]*", line)
        flags += re.findall(r"`(?:neo4j-operator )?(?:run |render )?(--[a-z][a-z-]*)", line)
        for f in flags:
            checked["flags"] += 1
            if f not in op_flags:
                fail(f"{where}: neo4j-operator has no flag {f}")

trouble = load("docs/troubleshooting.md")
n_rules = 0
for c in crds.values():
    def rules(node):
        if isinstance(node, dict):
            yield from node.get("x-kubernetes-validations", [])
            for k, v in node.items():
                if k != "x-kubernetes-validations":
                    yield from rules(v)
        elif isinstance(node, list):
            for v in node:
                yield from rules(v)

    for r in rules(schema(c)):
        n_rules += 1
        wanted = [r["message"]]
        if "messageExpression" in r:
            first = re.match(r"'([^']*)'", r["messageExpression"])
            if first:
                wanted.append(first.group(1).rstrip())
        if not any(w in trouble for w in wanted):
            fail(f"docs/troubleshooting.md does not explain the CEL message {r['message']!r}")

m = re.search(r"(\d+) CEL rules", load("README.md").replace("\n", " "))
if not m or int(m.group(1)) != n_rules:
    fail(f"README.md counts {m.group(1) if m else 'no'} CEL rules; the CRDs have {n_rules}")

print(f"checked {checked} and {n_rules} CEL messages; {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
