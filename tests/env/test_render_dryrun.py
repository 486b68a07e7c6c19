#!/usr/bin/env python3
"""Every object rendered from examples/ and tests/golden/ is accepted by the real apiserver
(`kubectl apply --dry-run=server`, strict field validation) in namespaces that enforce the
PodSecurity `restricted` level. cert-manager and the Prometheus operator are not installed
here, so those two optional kinds are rendered off, as the controller would."""
import json
import os

from envlib import check, done, inputs, kubectl, load_env, operator, restricted_namespace

load_env()
total = 0
for files in inputs():
    args = ["render", "-o", "json", "--no-cert-manager", "--no-service-monitor"]
    for f in files:
        args += ["-f", f]
    p = operator(*args)
    if not check(p.returncode == 0, f"render {files[-1]}: {p.stderr}"):
        continue
    items = json.loads(p.stdout)["items"]
    for ns in sorted({o["metadata"]["namespace"] for o in items}):
        restricted_namespace(ns)
    lst = {"apiVersion": "v1", "kind": "List", "items": items}
    p = kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-", input=json.dumps(lst))
    name = os.path.basename(files[-1])
    check(p.returncode == 0, f"{name}: apiserver accepts all {len(items)} objects: {p.stderr}")
    check("Warning" not in p.stderr, f"{name}: no warnings (PodSecurity, deprecated fields): {p.stderr}")
    total += len(items)
print(f"{total} objects checked")
check(total > 200, "a meaningful number of objects was checked")
done()
