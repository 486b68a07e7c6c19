#!/usr/bin/env python3
"""What Argo CD and Flux make of our CRs, through the real libraries (hack/gitops-check:
Argo CD's health Lua VM on gopher-lua, and kstatus from sigs.k8s.io/cli-utils).

    gitops_check.py lua ROOT       unit.gitops_lua: docs/gitops/argocd/health-*.lua on every
                                   fixture of tests/data/gitops (expected.json), the argocd-cm
                                   snippet holding exactly those scripts, and the VM behaving
                                   as Argo CD's (no string library, bad status -> Unknown)
    gitops_check.py kstatus ROOT   unit.gitops_kstatus: kstatus Compute on the same fixtures

Also imported by tests/e2e/test_gitops.py (binary(), judge()).
"""
import json
import os
import subprocess
import sys
import tempfile
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "env"))
from envlib import check, done  # noqa: E402  one check/summary for every test script

SCRIPTS = {"Neo4jCluster": "health-neo4jcluster.lua", "Neo4jBackup": "health-neo4jbackup.lua"}
CM_KEY = "resource.customizations.health.neo4j.graphops.io_{kind}"


def binary(root):
    """Path of gitops-check, built into the test-env cache when it is missing."""
    p = subprocess.run([os.path.join(root, "hack", "gitops-check", "build")], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"hack/gitops-check/build failed ({p.returncode}): {p.stderr[-2000:]}")
    return p.stdout.strip().splitlines()[-1]


def judge(root, mode, files, script=None, exe=None):
    """{file: {"status", "message"} or {"error"}} for each object file."""
    exe = exe or binary(root)
    argv = [exe, mode] + ([script] if script else []) + list(files)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    out = {}
    for line in p.stdout.splitlines():
        r = json.loads(line)
        out[r.pop("file")] = r
    if len(out) != len(files):
        raise RuntimeError(f"gitops-check {mode} answered {len(out)} of {len(files)} ({p.returncode}): {p.stderr}")
    return out


def judge_obj(root, mode, obj, exe=None):
    """One object (a dict): Lua with the script for its kind, or kstatus."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
    try:
        script = script_path(root, obj["kind"]) if mode == "lua" else None
        return judge(root, mode, [f.name], script, exe)[f.name]
    finally:
        os.unlink(f.name)


def script_path(root, kind):
    return os.path.join(root, "docs", "gitops", "argocd", SCRIPTS[kind])






def fixtures(root):
    d = os.path.join(root, "tests", "data", "gitops")
    with open(os.path.join(d, "expected.json")) as f:
        expected = json.load(f)
    files = sorted(n for n in os.listdir(d) if n.endswith(".json") and n != "expected.json")
    check(sorted(expected) == files,
          f"expected.json lists every fixture and only those: unlisted {sorted(set(files) - set(expected))}, "
          f"missing {sorted(set(expected) - set(files))}")
    objs = {}
    for n in files:
        with open(os.path.join(d, n)) as f:
            objs[n] = json.load(f)
    return d, expected, objs


def compare(mode, d, expected, results):
    for n, want in sorted(expected.items()):
        got = results.get(os.path.join(d, n))
        if got is None:
            continue
        check("error" not in got, f"{n}: {mode} ran without error: {got.get('error')}")
        check(got.get("status") == want[mode], f"{n}: {mode} says {got.get('status')!r} "
              f"({got.get('message')!r}), expected {want[mode]!r}")
        sub = want.get(mode + "_message")
        if sub:
            check(sub in (got.get("message") or ""), f"{n}: {mode} message {got.get('message')!r} contains {sub!r}")
        print(f"  {n:42} {mode:8} {got.get('status')}: {got.get('message')}")


def unit_lua(root, exe):
    d, expected, objs = fixtures(root)
    for kind, script in SCRIPTS.items():
        files = [os.path.join(d, n) for n, o in objs.items() if o.get("kind") == kind]
        check(files, f"fixtures of kind {kind} exist")
        compare("lua", d, {n: w for n, w in expected.items() if objs.get(n, {}).get("kind") == kind},
                judge(root, "lua", files, script_path(root, kind), exe))

    # The snippet users paste into argocd-cm carries exactly these scripts, under Argo CD's keys.
    import yaml
    with open(os.path.join(root, "docs", "gitops", "argocd", "argocd-cm.yaml")) as f:
        cm = yaml.safe_load(f)
    check(cm.get("kind") == "ConfigMap" and cm["metadata"]["name"] == "argocd-cm",
          "docs/gitops/argocd/argocd-cm.yaml is the argocd-cm ConfigMap")
    data = cm.get("data") or {}
    for kind, script in SCRIPTS.items():
        with open(script_path(root, kind)) as f:
            src = f.read()
        key = CM_KEY.format(kind=kind)
        check(data.get(key) == src, f"argocd-cm.yaml: {key} is {script} byte for byte "
              "(run hack/gitops-check/gen-argocd-cm)")
    check(sorted(data) == sorted(CM_KEY.format(kind=k) for k in SCRIPTS),
          f"argocd-cm.yaml holds the two health checks and nothing else: {sorted(data)}")

    # The VM is Argo CD's restricted one: these controls would pass on a stock Lua.
    ready = os.path.join(d, "cluster-ready.json")
    with tempfile.TemporaryDirectory() as tmp:
        def run_script(src):
            p = os.path.join(tmp, "s.lua")
            with open(p, "w") as f:
                f.write(src)
            return judge(root, "lua", [ready], p, exe)[ready]
        r = run_script('local s = string.format("%d", 1)\nreturn {status = "Healthy"}\n')
        check("error" in r, f"the VM has no string library (as Argo CD's without useOpenLibs): {r}")
        r = run_script('return {status = "Fine", message = "x"}\n')
        check(r.get("status") == "Unknown" and "invalid health status" in r.get("message", ""),
              f"a status Argo CD does not know becomes Unknown: {r}")
        r = run_script('return "Healthy"\n')
        check("error" in r, f"a script must return a table: {r}")
        r = run_script('local n = 0\nfor _, c in ipairs(obj.status.conditions) do n = n + 1 end\n'
                       'return {status = "Healthy", message = obj.metadata.name .. " " .. n .. " " .. '
                       'obj.metadata.generation}\n')
        check(r.get("status") == "Healthy" and r.get("message", "").endswith(
            f" {len(objs['cluster-ready.json']['status']['conditions'])} {objs['cluster-ready.json']['metadata']['generation']}"),
            f"the object is the global obj, lists are sequences, integers print as integers: {r}")


def unit_kstatus(root, exe):
    d, expected, objs = fixtures(root)
    compare("kstatus", d, expected, judge(root, "kstatus", [os.path.join(d, n) for n in objs], exe=exe))


def main():
    mode, root = sys.argv[1], os.path.abspath(sys.argv[2])
    exe = binary(root)
    {"lua": unit_lua, "kstatus": unit_kstatus}[mode](root, exe)
    done()


if __name__ == "__main__":
    main()
