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


# The backup Secrets exactly as docs/api.md shows them: every key the rendered pod reads
# from the credentials Secret (secretKeyRef, projected volume items, the GCS key file)
# exists in the documented Secret, and an Azure Secret is taken whole (envFrom).
def documented_secrets():
    import re
    text = open(os.path.join(src, "docs", "api.md"), encoding="utf-8").read()
    out = {}
    for m in re.finditer(r"<!-- backup-secret: (\w+) -->\n```yaml\n(.*?)```", text, re.S):
        out[m.group(1)] = m.group(2)
    return out


def yaml_to_json(text):
    # A reader for the documented Secrets' simple shape (no PyYAML in the dependencies):
    # top-level keys, one nested level, `|` blocks. tests/env/test_backup_secret.py has
    # the apiserver parse the same text.
    doc, cur, block_key = {}, None, None
    for line in text.splitlines():
        if block_key is not None:
            if line.startswith("    "):
                doc[cur][block_key] += line[4:] + "\n"
                continue
            block_key = None
        if not line.strip():
            continue
        if not line.startswith(" "):
            k, _, v = line.partition(":")
            cur = k.strip()
            doc[cur] = v.strip() if v.strip() else {}
        else:
            k, _, v = line.strip().partition(":")
            if v.strip() == "|":
                block_key = k.strip()
                doc[cur][block_key] = ""
            else:
                doc[cur][k.strip()] = v.strip()
    return doc


def secret_reads(pod_spec, secret):
    """(kind, key) for every read of `secret` by the pod template."""
    reads = []
    containers = pod_spec.get("containers", []) + pod_spec.get("initContainers", [])
    for c in containers:
        for e in c.get("env", []):
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            # An optional key (AWS_SESSION_TOKEN) may be absent from the Secret.
            if ref and ref.get("name") == secret and not ref.get("optional"):
                reads.append(("secretKeyRef", ref["key"]))
        for e in c.get("envFrom", []):
            if e.get("secretRef", {}).get("name") == secret:
                reads.append(("envFrom", None))
    vols = {v["name"]: v for v in pod_spec.get("volumes", [])}
    for c in containers:
        for m in c.get("volumeMounts", []):
            sv = vols.get(m["name"], {}).get("secret")
            if sv and sv.get("secretName") == secret:
                items = sv.get("items")
                if not items:
                    reads.append(("whole volume", None))
                for it in items or []:
                    reads.append(("volume item", it["key"]))
                for e in c.get("env", []):
                    if e.get("name") == "GOOGLE_APPLICATION_CREDENTIALS":
                        rel = os.path.relpath(e["value"], m["mountPath"])
                        paths = {it["path"]: it["key"] for it in items or []}
                        reads.append(("key file", paths.get(rel, rel)))
    return reads


def pod_spec_of(obj):
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


backup_inputs = {
    "s3": [ex("cluster-3.yaml"), ex("backup-nightly-s3.yaml")],
    "gcs": [os.path.join(src, "tests", "golden", "28-backup-schedule-utc-gcs.yaml")],
    "azure": [os.path.join(src, "tests", "golden", "29-backup-azure.yaml")],
}
docs_secrets = documented_secrets()
check(sorted(docs_secrets) == sorted(backup_inputs),
      f"docs/api.md shows a backup Secret per cloud target: {sorted(docs_secrets)}")
for target, files in backup_inputs.items():
    if target not in docs_secrets:
        continue
    secret = yaml_to_json(docs_secrets[target])
    name = secret["metadata"]["name"]
    keys = set(secret.get("stringData", {})) | set(secret.get("data", {}))
    args = ["render", "-o", "json"]
    for f in files:
        args += ["-f", f]
    p = run(args)
    check(p.returncode == 0, f"{target}: renders: {p.stderr}")
    if p.returncode:
        continue
    jobs = [o for o in json.loads(p.stdout)["items"] if o["kind"] in ("Job", "CronJob")]
    check(len(jobs) == 1, f"{target}: one backup Job/CronJob")
    for j in jobs:
        reads = secret_reads(pod_spec_of(j), name)
        check(reads, f"{target}: the pod reads the documented Secret {name}")
        for kind, key in reads:
            if target == "azure":
                check(kind == "envFrom", f"azure: the Secret is taken whole, not by {kind}")
            else:
                check(key in keys, f"{target}: {kind} reads key {key!r}, which the documented "
                                   f"Secret {name} does not hold (it has {sorted(keys)})")

# C12 names every refused config key, in document order, and only those.
p = run(["render", "-f", "-"], stdin=text + "  config:\n    server.bolt.listen_address: \"x\"\n"
        "    db.transaction.timeout: \"60s\"\n    dbms.cluster.minimum_initial_system_primaries_count: \"3\"\n")
check(p.returncode == 2 and "spec.config: config keys owned by the operator are not allowed: "
      "server.bolt.listen_address, dbms.cluster.minimum_initial_system_primaries_count; use the "
      "dedicated spec fields" in p.stderr, f"C12 names the refused keys: {p.stderr}")

# An input with no custom resource is an error, as `kubectl apply` says "no objects passed
# to apply": printing nothing with exit 0 would let a typo'd path or an emptied file pass
# CI. Each case names the file.
no_cr = {
    "empty file": "",
    "only comments": "# nothing here\n# still nothing\n",
    "empty documents": "---\n---\n# c\n---\n",
    "only other kinds": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
}
for what, data in no_cr.items():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(data)
    for cmd in ("render", "defaults"):
        p = run([cmd, "-f", f.name])
        check(p.returncode == 2, f"{cmd} of {what}: exit {p.returncode}, want 2")
        check(f"{f.name}: no Neo4jCluster or Neo4jBackup in the input (no objects passed to "
              f"{cmd})" in p.stderr, f"{cmd} of {what} says so, naming the file: {p.stderr!r}")
        check(p.stdout == "", f"{cmd} of {what} prints no objects")
    os.unlink(f.name)
p = run(["render", "-f", "-"], stdin="# only a comment\n")
check(p.returncode == 2 and "-: no Neo4jCluster or Neo4jBackup" in p.stderr, "stdin without a CR")
# One file with a CR is enough: an empty second file does not fail the run.
with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
    f.write("# empty\n")
p = run(["render", "-f", ex("cluster-3.yaml"), "-f", f.name])
os.unlink(f.name)
check(p.returncode == 0 and p.stdout, f"a CR in one of the files renders: {p.stderr}")

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
