"""Helpers for the tests that run against the real test environment (hack/test-env).

A test can be skipped (exit 77, ctest SKIP, `SKIP(test-env): <reason>`) only when
TESTENV_REQUIRED=0 and the environment is unavailable because a registry refused a pinned
component. With TESTENV_REQUIRED=1 (the default, as in CI) that is a failure, like any
other problem, and so is a test that ends without reaching done() or without one check.
"""
import atexit
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
REQUIRED = os.environ.get("TESTENV_REQUIRED", "1") != "0"
# PodSecurity level and version of the test namespaces: pinned to the apiserver's minor,
# so a newer policy version cannot change what passes without a change here.
PSA_LEVEL = "restricted"
PSA_VERSION = "v1.33"
_failures = []
_count = 0
_done = False


def skip(reason):
    """Skips the test (77), or fails it (1) when the environment is required."""
    if REQUIRED:
        print(f"FAIL: the test would be skipped ({reason}), but TESTENV_REQUIRED=1: a skipped "
              "env test is a failure (TESTENV_REQUIRED=0 allows skipping)", flush=True)
        sys.exit(1)
    print(f"SKIP(test-env): {reason}", flush=True)
    sys.exit(77)


def _ended_early():
    # A test that returns or exits before done() has not run all its checks: with the
    # environment up that is a failure, whatever the exit code would have been.
    if not _done:
        print("FAIL: the env test ended before done(): its remaining checks did not run",
              flush=True)
        sys.stdout.flush()
        os._exit(1)


def load_env():
    """Imports `hack/test-env env` into os.environ; skips (77) or fails as it says."""
    p = subprocess.run([os.path.join(ROOT, "hack", "test-env"), "env"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        print(f"hack/test-env env failed (exit {p.returncode}):\n{p.stdout}{p.stderr}")
        sys.exit(1)
    for line in p.stdout.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            os.environ[k] = shlex.split(v)[0] if v else ""
    status = os.environ.get("TESTENV_STATUS", "")
    if status == "unavailable":
        skip(os.environ.get("TESTENV_UNAVAILABLE_REASON", "a registry refused a pinned component"))
    if status != "ok":
        print(f"test environment is not up (TESTENV_STATUS={status!r}); run hack/test-env up")
        sys.exit(1)
    atexit.register(_ended_early)


def run(args, input=None, check=False, timeout=120):
    p = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


def kubectl(*args, input=None, check=False, timeout=120):
    return run(["kubectl", *args], input=input, check=check, timeout=timeout)


def kjson(*args, input=None):
    return json.loads(kubectl(*args, "-o", "json", input=input, check=True).stdout)


def operator(*args, input=None, check=False):
    binary = os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default",
                                                                "neo4j-operator")
    return run([binary, *args], input=input, check=check)


def wait_for(what, fn, timeout=120, interval=1.0):
    """Polls fn() until it returns a truthy value; fails the test with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (RuntimeError, json.JSONDecodeError, KeyError, IndexError) as e:
            last = e
        time.sleep(interval)
    raise RuntimeError(f"timed out after {timeout}s waiting for {what} (last: {last})")


def restricted_namespace(name):
    """A namespace whose PodSecurity enforce, warn and audit modes are all `restricted`
    (created if absent). Only Pods are refused by `enforce`: workloads get warnings, so
    their templates must also go through pods_admitted()."""
    labels = {}
    for mode in ("enforce", "warn", "audit"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = PSA_VERSION
    doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
    kubectl("apply", "-f", "-", input=json.dumps(doc), check=True)


def unique_name(prefix):
    """A name no other run (another worktree, another test) uses at the same time."""
    return f"{prefix}-{os.getpid()}-{int(time.time()) % 100000}"


def pod_templates(obj):
    """(path, template) of every pod template in a workload: StatefulSet, Deployment,
    DaemonSet, ReplicaSet and Job `spec.template`; CronJob `spec.jobTemplate.spec.template`."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        t = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
        return [("spec.jobTemplate.spec.template", t)] if t else []
    return [("spec.template", spec["template"])] if isinstance(spec.get("template"), dict) else []


def pod_name(obj):
    """The name its controller gives the first pod: `<sts>-0`, `<job>-<5 chars>`,
    `<cronjob>-<scheduled minute>-<5 chars>` (the name matters: it becomes the hostname)."""
    name = obj["metadata"]["name"]
    return {"StatefulSet": f"{name}-0", "Job": f"{name}-x7k2p",
            "CronJob": f"{name}-29410560-x7k2p"}.get(obj["kind"], f"{name}-x7k2p")


def pod_from_template(obj, template):
    """The Pod its controller would create from `template`: same metadata labels and
    annotations, same spec, and (StatefulSet) the volumes of its volumeClaimTemplates as the
    claims of ordinal 0, so that every volumeMount resolves."""
    name = obj["metadata"]["name"]
    meta = template.get("metadata") or {}
    spec = json.loads(json.dumps(template["spec"]))
    if obj["kind"] == "StatefulSet":
        vols = spec.setdefault("volumes", [])
        for vct in obj["spec"].get("volumeClaimTemplates", []):
            claim = vct["metadata"]["name"]
            vols.append({"name": claim, "persistentVolumeClaim": {"claimName": f"{claim}-{name}-0"}})
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": pod_name(obj),
                        "namespace": obj["metadata"]["namespace"],
                        "labels": meta.get("labels", {}),
                        "annotations": meta.get("annotations", {})},
           "spec": spec}
    return pod


def pods_admitted(name, items):
    """Dry-run-creates (server side) a Pod from every pod template in `items`, in the items'
    namespaces (restricted, see restricted_namespace). The ServiceAccounts the pods name must
    exist: the caller creates them. Returns [(what, kubectl result)] for the caller to judge."""
    out = []
    for obj in items:
        for path, template in pod_templates(obj):
            pod = pod_from_template(obj, template)
            p = kubectl("create", "--dry-run=server", "-o", "name", "-f", "-",
                        input=json.dumps(pod))
            out.append((f"{name}: Pod from {obj['kind']}/{obj['metadata']['name']} {path}", p))
    return out


def check(cond, what):
    global _count
    _count += 1
    if not cond:
        _failures.append(what)
        print("FAIL", what, flush=True)
    return cond


def done():
    global _done
    _done = True
    check(_count > 0, "the test ran at least one check")
    print(f"{_count - len(_failures)} passed, {len(_failures)} failed")
    sys.exit(1 if _failures else 0)


def inputs():
    """Every example and golden input (each a list of files rendered together)."""
    import glob
    ex = sorted(glob.glob(os.path.join(ROOT, "examples", "*.yaml")))
    out = [[f] for f in ex if not os.path.basename(f).startswith("backup-")]
    out += [[os.path.join(ROOT, "examples", "cluster-3.yaml"), f]
            for f in ex if os.path.basename(f).startswith("backup-")]
    out += [[f] for f in sorted(glob.glob(os.path.join(ROOT, "tests", "golden", "*.yaml")))
            if not f.endswith(".out.yaml")]
    return out
