#!/usr/bin/env python3
"""hack/run-deployment's pure parts (e2e.install and e2e.quickstart run the whole script):

- the bind-address flags move to distinct free 127.0.0.1 ports, in both `--flag=value`
  and `--flag value` forms; "0" (disabled) stays; --keep-ports keeps them; other args are
  untouched and in order;
- the container env: plain values (with $(VAR) of earlier ones, as the kubelet expands
  them), fieldRef metadata.name / metadata.namespace / spec.serviceAccountName; a Secret
  or ConfigMap reference, or envFrom, is refused (exit 1), never guessed.

    python3 tests/run_deployment_unit.py <repo root>
"""
import importlib.machinery
import importlib.util
import os
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "env"))
from envlib import check, done  # noqa: E402  one check/summary for every test script

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
path = os.path.join(ROOT, "hack", "run-deployment")
loader = importlib.machinery.SourceFileLoader("run_deployment", path)
spec = importlib.util.spec_from_loader("run_deployment", loader)
rd = importlib.util.module_from_spec(spec)
loader.exec_module(rd)




def refused(fn):
    try:
        fn()
    except SystemExit as e:
        return e.code == 1
    return False


args = ["run", "--leader-elect=true", "--metrics-bind-address=:8080", "--health-probe-bind-address", ":8081",
        "--log-level=info"]
out, mapped = rd.remap_ports(args, keep=False)
check(out[:2] == ["run", "--leader-elect=true"] and out[-1] == "--log-level=info" and len(out) == 5,
      f"other args untouched, in order: {out}")
m = [a.split("=", 1)[1] for a in out if a.startswith(rd.PORT_FLAGS)]
check(len(m) == 2 and all(x.startswith("127.0.0.1:") and int(x.split(":")[1]) > 0 for x in m) and m[0] != m[1],
      f"both bind addresses moved to distinct 127.0.0.1 ports: {m}")
check(mapped == {"--metrics-bind-address": (":8080", m[0]), "--health-probe-bind-address": (":8081", m[1])},
      f"the mapping is reported: {mapped}")
out, mapped = rd.remap_ports(["run", "--metrics-bind-address=0", "--health-probe-bind-address", "0"], keep=False)
check(out == ["run", "--metrics-bind-address=0", "--health-probe-bind-address=0"] and not mapped,
      f"'0' (disabled) stays: {out}")
out, mapped = rd.remap_ports(args, keep=True)
check(":8080" in out[2] and out[3] == "--health-probe-bind-address=:8081" and not mapped, f"--keep-ports: {out}")
check(refused(lambda: rd.remap_ports(["run", "--metrics-bind-address"], keep=False)), "a flag without value refused")

c = {"env": [{"name": "A", "value": "x"}, {"name": "B", "value": "$(A)-y"},
             {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
             {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
             {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}]}
env = rd.resolve_env(c, "op-local-1", "ops", "op-sa")
check(env == {"A": "x", "B": "x-y", "POD_NAME": "op-local-1", "POD_NAMESPACE": "ops", "SA": "op-sa"},
      f"env resolved: {env}")
check(refused(lambda: rd.resolve_env({"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]},
                                     "p", "n", "s")), "a secretKeyRef is refused")
check(refused(lambda: rd.resolve_env({"envFrom": [{"configMapRef": {"name": "c"}}]}, "p", "n", "s")),
      "envFrom is refused")

done()
