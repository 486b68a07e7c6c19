#!/usr/bin/env python3
"""The backup Secrets exactly as docs/api.md shows them work with the rendered backups.

For each cloud target, the Secret block of docs/api.md ("Backup credentials") is applied
as it stands (only its namespace changed), the rendered backup CronJob is created
(server-side dry run, then for real), and the pod template as the apiserver stored it is
checked: every secretKeyRef and every projected volume item names a key the stored Secret
holds, and an Azure Secret is taken whole (envFrom). The old render read `access-key-id` /
`secret-access-key` from a Secret documented with AWS_* keys; this test fails on it.
"""
import json
import os
import re

from envlib import ROOT, check, done, kjson, kubectl, load_env, operator, restricted_namespace

load_env()
NS = "env-backup-secret"
restricted_namespace(NS)

text = open(os.path.join(ROOT, "docs", "api.md"), encoding="utf-8").read()
secrets = dict(re.findall(r"<!-- backup-secret: (\w+) -->\n```yaml\n(.*?)```", text, re.S))
inputs = {
    "s3": [os.path.join(ROOT, "examples", "cluster-3.yaml"),
           os.path.join(ROOT, "examples", "backup-nightly-s3.yaml")],
    "gcs": [os.path.join(ROOT, "tests", "golden", "28-backup-schedule-utc-gcs.yaml")],
    "azure": [os.path.join(ROOT, "tests", "golden", "29-backup-azure.yaml")],
}
check(sorted(secrets) == sorted(inputs), f"docs/api.md shows one Secret per target: {sorted(secrets)}")


def pod_spec(obj):
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


for target, files in inputs.items():
    if target not in secrets:
        continue
    doc = re.sub(r"(?m)^  namespace: .*$", f"  namespace: {NS}", secrets[target])
    p = kubectl("apply", "-f", "-", input=doc)
    if not check(p.returncode == 0, f"{target}: the documented Secret applies: {p.stderr}"):
        continue
    name = re.search(r"(?m)^  name: (\S+)$", doc).group(1)
    keys = set(kjson("get", "secret", name, "-n", NS).get("data", {}))
    check(keys, f"{target}: the stored Secret {name} has keys")

    args = ["render", "-o", "json"]
    for f in files:
        args += ["-f", f]
    p = operator(*args)
    if not check(p.returncode == 0, f"{target}: render: {p.stderr}"):
        continue
    jobs = [o for o in json.loads(p.stdout)["items"] if o["kind"] in ("Job", "CronJob")]
    check(len(jobs) == 1, f"{target}: one backup Job/CronJob rendered")
    for job in jobs:
        job["metadata"]["namespace"] = NS
        # No Neo4jBackup owner exists here: the garbage collector would delete the object.
        job["metadata"].pop("ownerReferences", None)
        body = json.dumps(job)
        p = kubectl("create", "--dry-run=server", "-f", "-", input=body)
        check(p.returncode == 0, f"{target}: server-side dry run accepts the {job['kind']}: {p.stderr}")
        kind, jname = job["kind"].lower(), job["metadata"]["name"]
        kubectl("delete", kind, jname, "-n", NS, "--ignore-not-found", "--wait=true")
        p = kubectl("create", "-f", "-", input=body)
        if not check(p.returncode == 0, f"{target}: create the {job['kind']}: {p.stderr}"):
            continue
        spec = pod_spec(kjson("get", kind, jname, "-n", NS))
        reads = 0
        # Both containers of the backup pod (init `backup`, `retention`) read the Secret.
        for c in spec.get("initContainers", []) + spec.get("containers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] == name and ref.get("optional"):
                    # Only a temporary-credentials session token may be absent.
                    check(ref["key"] == "AWS_SESSION_TOKEN",
                          f"{target}: {e['name']} is optional")
                    continue
                if ref and ref["name"] == name:
                    reads += 1
                    check(ref["key"] in keys, f"{target}: env {e['name']} reads key {ref['key']!r}; "
                                              f"the documented Secret has {sorted(keys)}")
            for e in c.get("envFrom", []):
                if e.get("secretRef", {}).get("name") == name:
                    reads += 1
                    check(target == "azure", f"{target}: Secret taken whole only for azure")
        for v in spec.get("volumes", []):
            sv = v.get("secret")
            if sv and sv.get("secretName") == name:
                reads += 1
                check(sv.get("items"), f"{target}: volume {v['name']} names the keys it needs")
                for it in sv.get("items", []):
                    check(it["key"] in keys, f"{target}: volume item reads key {it['key']!r}; "
                                             f"the documented Secret has {sorted(keys)}")
        check(reads > 0, f"{target}: the pod template reads the documented Secret {name}")
        kubectl("delete", kind, jname, "-n", NS, "--ignore-not-found", "--wait=false")
kubectl("delete", "namespace", NS, "--wait=false")
done()
