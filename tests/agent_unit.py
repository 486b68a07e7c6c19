#!/usr/bin/env python3
"""Pure parts of the test bed's node agent (hack/testenv/node-agent.py), no environment:

- the agent and kwok's stages agree on which pods the agent runs: the image rules in
  kwok.yaml's jq selectors are the agent's IMAGE_RE and OPERATOR_RE, image for image, and
  the selector itself (run with jq) leaves exactly the pods the agent runs (server pods,
  Job pods of Neo4j/operator images only) to it (a pod both touch, or neither, would be a
  pod with two kubelets or none);
- the kubelet's $(VAR) expansion; the image entrypoint's NEO4J_* -> setting conversion.
"""
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
spec = importlib.util.spec_from_file_location("agent", os.path.join(ROOT, "hack", "testenv", "node-agent.py"))
agent = importlib.util.module_from_spec(spec)
spec.loader.exec_module(agent)
failures = count = 0


def check(cond, what):
    global failures, count
    count += 1
    if not cond:
        failures += 1
        print("FAIL", what)


kwok = open(os.path.join(ROOT, "hack", "testenv", "kwok.yaml")).read()
rules = set(re.findall(r'test\("([^"]+)"\)', kwok))
stages = len(re.findall(r"^kind: Stage$", kwok, re.M))
selectors = re.findall(r"^    - jq: \{key: '(.*neo4j-operator:.*)', operator: In, values: \[\"false\"\]\}$", kwok, re.M)
check(len(rules) == 2, f"two image rules in kwok.yaml (Neo4j, operator): {rules}")
check(len(selectors) == stages and len(set(selectors)) == 1,
      f"every one of the {stages} pod stages skips the agent's pods, with the same selector: {len(selectors)}")
neo_rule = next((r for r in rules if "neo4j-operator" not in r), "$^")
op_rule = next((r for r in rules if "neo4j-operator" in r), "$^")
kwok_re, op_re = re.compile(neo_rule), re.compile(op_rule)
images = {
    "neo4j:5.26.12-community": "community", "neo4j:5.26.12-enterprise": "enterprise",
    "neo4j:5.26.12": "community", "neo4j:2025.10.1-enterprise": "enterprise",
    "docker.io/library/neo4j:5.26.0-enterprise": "enterprise",
    "registry.example/mirror/neo4j:5.26.3-community@sha256:ab": "community",
    "neo4j:latest": None, "neo4j/neo4j-admin:5.26": None, "busybox": None,
    "myneo4j:5.26.0": None, "neo4j:5.26.0-enterprise-ubi9": None, "neo4j:5.26-bullseye": None,
}
for img, kind in images.items():
    check(agent.image_kind(img) == kind, f"agent: {img} -> {agent.image_kind(img)}, want {kind}")
    check(bool(kwok_re.search(img)) == (kind is not None), f"kwok.yaml rule and the agent agree on {img}")
operator_images = {"ghcr.io/graphops/neo4j-operator:0.12.0": True, "neo4j-operator:dev": True,
                   "localhost:5000/x/neo4j-operator:1.0@sha256:ab": True, "neo4j-operator": False,
                   "my-neo4j-operator:1.0": False, "neo4j-operator-bundle:1.0": False, "neo4j:5.26.0": False}
for img, want in operator_images.items():
    check((agent.container_kind(img) == "operator") == want, f"agent: operator image {img}: {want}")
    check(bool(op_re.search(img)) == want, f"kwok.yaml operator rule and the agent agree on {img}")

JOB = [{"kind": "Job", "name": "b"}]
OP, NEO, EE = "ghcr.io/graphops/neo4j-operator:0.12.0", "neo4j:5.26.12-enterprise", "neo4j:5.26.0-enterprise"


def mkpod(owners, containers, inits=()):
    return {"metadata": {"ownerReferences": owners},
            "spec": {"containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(containers)],
                     "initContainers": [{"name": f"i{i}", "image": im} for i, im in enumerate(inits)]}}


pods = {  # name: (pod, the agent runs it)
    "backup Job pod (Neo4j init + operator)": (mkpod(JOB, [OP], [NEO]), True),
    "Job pod, one Neo4j container": (mkpod(JOB, [EE]), True),
    "Job pod with a busybox init container": (mkpod(JOB, [OP], ["busybox"]), False),
    "Job pod with a busybox sidecar": (mkpod(JOB, [NEO, "busybox"]), False),
    "Job pod of busybox": (mkpod(JOB, ["busybox"]), False),
    "StatefulSet pod, Neo4j second": (mkpod([{"kind": "StatefulSet", "name": "g"}], ["busybox", EE]), True),
    "bare pod of the operator image": (mkpod([], [OP]), False),
    "bare busybox pod": (mkpod([], ["busybox"]), False),
}
check(agent.managed_container(pods["StatefulSet pod, Neo4j second"][0]) == 1,
      "the neo4j container of a StatefulSet pod is the agent's")
check(agent.managed_container(pods["Job pod, one Neo4j container"][0]) is None,
      "a Job's pod is never run as a server")
jq_ok = shutil.which("jq") is not None
check(jq_ok, "jq is installed (hack/install-deps): kwok.yaml's selector is evaluated with it")
for what, (p, want) in pods.items():
    mine = agent.managed_container(p) is not None or agent.managed_job_pod(p)
    check(mine == want, f"agent runs {what}: {mine}, want {want}")
    if jq_ok and selectors:
        r = subprocess.run(["jq", "-c", selectors[0]], input=json.dumps(p), capture_output=True, text=True)
        kwok_skips = r.stdout.strip() == "true"
        check(r.returncode == 0 and kwok_skips == want,
              f"kwok.yaml's selector on {what}: {r.stdout.strip() or r.stderr.strip()} (true = kwok leaves it)")

env = {"POD_NAME": "graph-0", "EMPTY": ""}
for raw, want in [("$(POD_NAME).h.ns.svc", "graph-0.h.ns.svc"), ("$$(POD_NAME)", "$(POD_NAME)"),
                  ("$(UNDEFINED)x", "$(UNDEFINED)x"), ("a$(EMPTY)b", "ab"), ("$(POD_NAME", "$(POD_NAME"),
                  ("$$$(POD_NAME)", "$graph-0"), ("plain", "plain")]:
    got = agent.expand(raw, env)
    check(got == want, f"expand({raw!r}) = {got!r}, want {want!r}")

# The entrypoint's conversion, as the image does it: NEO4J_ dropped, "__" -> "_", "_" -> ".".
ep = os.path.join(ROOT, "hack", "testenv", "image", "docker-entrypoint.sh")
conv = re.search(r"key=\$\(printf '%s' \"\$key\" \| sed '([^']+)'\)", open(ep).read())
check(conv is not None, "the entrypoint converts NEO4J_* names with sed")
if conv:
    for name, want in [("server_default__advertised__address", "server.default_advertised_address"),
                       ("dbms_cluster_minimum__initial__system__primaries__count",
                        "dbms.cluster.minimum_initial_system_primaries_count"),
                       ("server_memory_heap_max__size", "server.memory.heap.max_size")]:
        got = subprocess.run(["sed", conv.group(1)], input=name, capture_output=True, text=True).stdout.strip()
        check(got == want, f"NEO4J_{name} -> {got}, want {want}")

# Pod workers write the hosts file concurrently (three pods of a StatefulSet start at once):
# every write must land, none may fail (a shared temporary name made the loser's worker die).
import tempfile  # noqa: E402
import threading  # noqa: E402
import types  # noqa: E402

with tempfile.TemporaryDirectory() as tmp:
    pods = {str(i): types.SimpleNamespace(ip=f"127.1.128.{i + 1}", hostname=f"g-{i}", subdomain="g-headless",
                                          ns="ns") for i in range(3)}
    fake = types.SimpleNamespace(run_dir=tmp, lock=threading.RLock(), hosts_lock=threading.Lock(), pods=pods)
    errors = []

    def writer():
        for _ in range(200):
            try:
                agent.Agent.write_hosts(fake)
            except OSError as e:
                errors.append(e)

    ts = [threading.Thread(target=writer) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    lines = open(os.path.join(tmp, "hosts")).read().splitlines()
    check(not errors, f"concurrent hosts-file writes all succeed: {errors[:1]}")
    check(len(lines) == 3 and "127.1.128.1\tg-0.g-headless.ns.svc.cluster.local g-0.g-headless.ns.svc" in lines,
          f"the hosts file maps each pod's DNS names: {lines}")
    check(os.listdir(tmp) == ["hosts"], f"no temporary file left behind: {os.listdir(tmp)}")

# Events name the container by its place in the spec: spec.initContainers{backup} for an
# init container of a Job pod (kubectl describe groups them so).
sent = []
fake = types.SimpleNamespace(kube=types.SimpleNamespace(request=lambda m, path, body: sent.append(body)))
jp = {"metadata": {"name": "b-x", "namespace": "ns", "uid": "u"},
      "spec": {"nodeName": "n", "initContainers": [{"name": "backup"}], "containers": [{"name": "retention"}]}}
agent.Agent.event(fake, jp, "Normal", "Started", "Started container backup", "backup")
agent.Agent.event(fake, jp, "Normal", "Started", "Started container retention", "retention")
paths = [b["involvedObject"].get("fieldPath") for b in sent]
check(paths == ["spec.initContainers{backup}", "spec.containers{retention}"], f"event fieldPaths: {paths}")

print(f"{count - failures} passed, {failures} failed")
sys.exit(1 if failures else 0)
