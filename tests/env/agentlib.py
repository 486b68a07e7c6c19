"""Helpers for the tests of the node agent (hack/testenv/node-agent.py): rendered CRs applied
as the operator would, pods watched until the agent has really run them, the official Neo4j
Python driver pointed at pod IPs and pod DNS names."""
import json
import os
import socket
import subprocess
import sys
import time

from envlib import ROOT, kjson, kubectl, operator, wait_for

GATE = "neo4j.graphops.io/server-ready"


def driver_module():
    """The official `neo4j` Python driver that hack/install-deps put under the cache."""
    cache = os.environ.get("TESTENV_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "neo4j-operator-testenv")
    path = os.path.join(cache, "py")
    if path not in sys.path:
        sys.path.insert(0, path)
    import neo4j  # noqa: E402  (installed by hack/install-deps)
    return neo4j


_real_getaddrinfo = socket.getaddrinfo


def use_pod_dns():
    """Resolves the pods' DNS names from the agent's hosts file (the test bed has no cluster
    DNS): what a client inside the cluster would get from CoreDNS."""
    def lookup(host, *a, **kw):
        try:
            with open(os.environ["TESTENV_HOSTS"]) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 2 and host in parts[1:]:
                        host = parts[0]
                        break
        except FileNotFoundError:
            pass
        return _real_getaddrinfo(host, *a, **kw)
    socket.getaddrinfo = lookup


def render(cr_path, ns, edits=None):
    """The objects `neo4j-operator render` makes of cr_path, moved to namespace ns, with the
    test bed's StorageClass and small volumes; edits(doc) may change the CR first."""
    # `defaults` reads the YAML and prints the CR as JSON (the tests need no YAML library).
    cr = json.loads(operator("defaults", "-o", "json", "-f", cr_path, check=True).stdout)
    if cr.get("kind") == "List":
        cr = cr["items"][0]
    cr["metadata"]["namespace"] = ns
    data = cr["spec"].setdefault("storage", {}).setdefault("data", {})
    data["storageClassName"] = "testenv"
    data["size"] = "1Gi"
    if edits:
        edits(cr)
    p = operator("render", "-o", "json", "-f", "-", input=json.dumps(cr), check=True)
    out = json.loads(p.stdout)
    return cr, out["items"] if out.get("kind") == "List" else [out]


def apply(objs, password):
    """Creates the rendered objects as the operator will (no CR here: owner references go),
    with the admin Secret filled in (the operator generates it later)."""
    for d in objs:
        d["metadata"].pop("ownerReferences", None)
        if d["kind"] == "Secret" and d["metadata"]["name"].endswith("-admin"):
            d["stringData"] = {"password": password}
    kubectl("apply", "--server-side", "--field-manager=test", "-f", "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}), check=True)


def sts_of(objs):
    return next(d for d in objs if d["kind"] == "StatefulSet")


def pod(ns, name):
    p = kubectl("-n", ns, "get", "pod", name, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def cond(p, ctype):
    for c in (p or {}).get("status", {}).get("conditions") or []:
        if c["type"] == ctype:
            return c
    return {}


def cstatus(p, name="neo4j"):
    for c in (p or {}).get("status", {}).get("containerStatuses") or []:
        if c["name"] == name:
            return c
    return {}


def wait_containers_ready(ns, name, timeout=180, not_uid=None):
    def ok():
        p = pod(ns, name)
        if not p or (not_uid and p["metadata"]["uid"] == not_uid):
            return None
        return p if cond(p, "ContainersReady").get("status") == "True" else None
    return wait_for(f"{ns}/{name} ContainersReady", ok, timeout=timeout)


def set_gate(ns, name, status="True"):
    body = {"status": {"conditions": [{"type": GATE, "status": status,
                                       "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                           time.gmtime())}]}}
    kubectl("-n", ns, "patch", "pod", name, "--subresource=status", "--type=strategic", "-p",
            json.dumps(body), check=True)


def events(ns, name):
    return kjson("-n", ns, "get", "events", "--field-selector",
                 f"involvedObject.kind=Pod,involvedObject.name={name}")["items"]


def testenv(*args, check=True):
    p = subprocess.run([os.path.join(ROOT, "hack", "test-env"), *args], capture_output=True, text=True,
                       timeout=120)
    if check and p.returncode != 0:
        raise RuntimeError(f"hack/test-env {' '.join(args)}: {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def agent_pod(ns, name):
    """The node agent's view of a pod (pid, restarts, nodeLost, dir...), None if it runs none."""
    mine = [x for x in json.loads(testenv("agent-status").stdout) if x["pod"] == f"{ns}/{name}"]
    return mine[0] if mine else None


def fast_probes(objs):
    """The rendered probes (kinds, ports, paths) with 1 s periods and timeouts: tests wait for
    failures and restarts in seconds, not minutes."""
    c = sts_of(objs)["spec"]["template"]["spec"]["containers"][0]
    for k in ("readinessProbe", "livenessProbe", "startupProbe"):
        c[k].update({"periodSeconds": 1, "timeoutSeconds": 1})
    return c


def pv_path_of(ns, claim):
    pvc = kjson("-n", ns, "get", "pvc", claim)
    pv = kjson("get", "pv", pvc["spec"]["volumeName"])
    return pv["spec"]["hostPath"]["path"]



def cleanup(ns):
    """Deletes the namespace and gives its volumes back (wiped, Available) for later tests."""
    kubectl("delete", "ns", ns, "--wait=true", timeout=300)
    testenv("pv-recycle")
