#!/usr/bin/env python3
"""Every object rendered from examples/ and tests/golden/ is accepted by the real apiserver
(`kubectl apply --dry-run=server`, strict field validation, no warning) in namespaces whose
PodSecurity enforce, warn and audit levels are all `restricted`. `enforce` refuses Pods
only, so a Pod built from every rendered pod template (StatefulSet, Job, CronJob) is also
dry-run-created there: a template that breaks `restricted` is refused, not just warned
about (tests/data/invalid/117-* shows the refusal, test_invalid.py). cert-manager and the
Prometheus operator are not installed here, so those two optional kinds are rendered off,
as the controller would.

The objects of each input go to namespaces of their own in this run
(env-render-<pid>-<time>-<input>-<namespace>), because their ServiceAccounts are created for
real (the ServiceAccount admission plugin refuses a Pod whose account does not exist) and
runs from other worktrees must not collide."""
import json
import os

from envlib import (PSA_LEVEL, check, done, inputs, kjson, kubectl, load_env, operator,
                    pod_templates, pods_admitted, restricted_namespace, unique_name, wait_for)

load_env()
prefix = unique_name("env-render")
made = set()
total = pods = 0
for i, files in enumerate(inputs()):
    args = ["render", "-o", "json", "--no-cert-manager", "--no-service-monitor"]
    for f in files:
        args += ["-f", f]
    p = operator(*args)
    if not check(p.returncode == 0, f"render {files[-1]}: {p.stderr}"):
        continue
    items = json.loads(p.stdout)["items"]
    for o in items:
        o["metadata"]["namespace"] = f"{prefix}-{i}-{o['metadata']['namespace']}"
    for ns in sorted({o["metadata"]["namespace"] for o in items} - made):
        restricted_namespace(ns)
        made.add(ns)
    lst = {"apiVersion": "v1", "kind": "List", "items": items}
    p = kubectl("apply", "--dry-run=server", "--validate=strict", "-f", "-", input=json.dumps(lst))
    name = os.path.basename(files[-1])
    check(p.returncode == 0, f"{name}: apiserver accepts all {len(items)} objects: {p.stderr}")
    check("Warning" not in p.stderr, f"{name}: no warnings (PodSecurity, deprecated fields): {p.stderr}")
    total += len(items)
    # Without their owner references: the owners do not exist here, and the garbage
    # collector would delete the accounts at once.
    sas = [dict(o, metadata={k: v for k, v in o["metadata"].items() if k != "ownerReferences"})
           for o in items if o["kind"] == "ServiceAccount"]
    if sas:
        kubectl("apply", "--server-side", "--field-manager=env-render", "-f", "-", check=True,
                input=json.dumps({"apiVersion": "v1", "kind": "List", "items": sas}))
    # The Priority admission plugin refuses a Pod whose PriorityClass does not exist. Left
    # in place: cluster-wide, and another run may be using it.
    for pc in sorted({t["spec"]["priorityClassName"] for o in items for _, t in pod_templates(o)
                      if t["spec"].get("priorityClassName")}):
        if kubectl("get", "priorityclass", pc).returncode != 0:
            kubectl("create", "priorityclass", pc, "--value=1000")
        wait_for(f"priorityclass {pc}", lambda: kjson("get", "priorityclass", pc))
    rendered = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in sas}
    for ns, sa in sorted({(o["metadata"]["namespace"], t["spec"].get("serviceAccountName", "default"))
                          for o in items for _, t in pod_templates(o)}):
        # A ServiceAccount the user names (a backup's workload identity) is the user's to
        # create, as here; the namespace's default one comes from the controller-manager.
        if sa != "default" and (ns, sa) not in rendered and kubectl("get", "sa", sa, "-n", ns).returncode:
            kubectl("create", "sa", sa, "-n", ns, check=True)
        wait_for(f"serviceaccount {ns}/{sa}", lambda: kjson("get", "sa", sa, "-n", ns), timeout=60)
    for what, p in pods_admitted(name, items):
        pods += 1
        check(p.returncode == 0 and "Warning" not in p.stderr,
              f"{what} is admitted under PodSecurity {PSA_LEVEL}: {p.stderr.strip()}")
print(f"{total} objects checked, {pods} pods built from their templates")
check(total > 200, "a meaningful number of objects was checked")
check(pods >= 40, f"a pod from every rendered template was checked ({pods})")
for ns in sorted(made):
    kubectl("delete", "ns", ns, "--wait=false")
done()
