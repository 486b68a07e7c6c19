#!/usr/bin/env python3
"""The pinned tools run and report their pinned versions: kubectl/apiserver v1.33.13,
helm v3.18.6 (built with its version ldflags: it knows Kubernetes 1.33), kustomize v5.7.1,
kwok v0.7.0."""
import json

from envlib import check, done, kubectl, load_env, run

load_env()
v = json.loads(kubectl("version", "-o", "json", check=True).stdout)
check(v["clientVersion"]["gitVersion"] == "v1.33.13", f"kubectl {v['clientVersion']['gitVersion']}")
check(v["serverVersion"]["gitVersion"] == "v1.33.13", f"apiserver {v['serverVersion']['gitVersion']}")
p = run(["helm", "version", "--short"])
check(p.returncode == 0 and p.stdout.startswith("v3.18.6"), f"helm version: {p.stdout}{p.stderr}")
p = run(["kustomize", "version"])
check(p.returncode == 0 and "v5.7.1" in p.stdout, f"kustomize version: {p.stdout}{p.stderr}")
p = run(["kwok", "--version"])
check(p.returncode == 0 and "0.7.0" in (p.stdout + p.stderr), f"kwok version: {p.stdout}{p.stderr}")
done()
