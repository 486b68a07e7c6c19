#!/usr/bin/env python3
"""A rendered 3-server Enterprise CR really runs: the node agent starts one cluster-simulator
daemon for the StatefulSet and one member process per pod, at the pod IP, advertising the
pod's DNS name from the pod's own env.

- The three servers form a cluster (their readiness probe, /db/system/cluster/available,
  passes only then); SHOW SERVERS lists the pods' DNS names, Enabled and Available.
- The operator's Bolt cluster handle (tests/env/tools/agent_route.c) finds the leader and
  reaches every router of the ROUTE table through the resolver hook; so does the official
  Python driver with neo4j:// routing.
- A deleted pod comes back as the same server (server id on its volume); `pod kill` raises
  restartCount and the server is Available again; a node taken away kills its process and
  the server is shown Unavailable until the node is back.
"""
import os
import subprocess
import tempfile

from agentlib import (agent_pod, apply, cleanup, cond, cstatus, driver_module, fast_probes, pod, render, testenv,
                      use_pod_dns, wait_containers_ready)
from envlib import ROOT, check, done, kubectl, load_env, restricted_namespace, unique_name, wait_for

load_env()
neo4j = driver_module()
use_pod_dns()
NS = unique_name("agent-ee")
restricted_namespace(NS)
PASSWORD = "agent-test-" + os.urandom(6).hex()
PODS = [f"graph-{i}" for i in range(3)]


def edits(cr):
    cr["spec"].pop("databases", None)  # the operator creates those; not this test's subject
    cr["spec"].pop("aliases", None)
    cr["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


cr, objs = render(os.path.join(ROOT, "examples", "cluster-3.yaml"), NS, edits)
fast_probes(objs)
apply(objs, PASSWORD)

pods = {n: wait_containers_ready(NS, n, timeout=240) for n in PODS}
ips = {n: p["status"]["podIP"] for n, p in pods.items()}
check(len(set(ips.values())) == 3, f"three pod IPs: {ips}")
dns = {n: f"{n}.graph-headless.{NS}.svc.cluster.local:7687" for n in PODS}
hosts = open(os.environ["TESTENV_HOSTS"]).read()
check(all(f"{ips[n]}\t{dns[n][:-5]}" in hosts for n in PODS), "the hosts file maps each pod DNS name to its IP")
check(all(cond(p, "Ready").get("status") == "False" for p in pods.values()),
      "Ready waits for the operator's gate although the containers are ready")


def ip_of(name):
    """The pod's IP now: a re-created pod has another one."""
    return pod(NS, name)["status"]["podIP"]


def servers(ip):
    with neo4j.GraphDatabase.driver(f"bolt://{ip}:7687", auth=("neo4j", PASSWORD)) as d:
        recs, _, _ = d.execute_query("SHOW SERVERS YIELD serverId, address, state, health", database_="system")
        return {r["address"]: (r["serverId"], r["state"], r["health"]) for r in recs}


s0 = wait_for("3 servers Enabled and Available",
              lambda: (lambda s: s if len(s) == 3 and all(v[1:] == ("Enabled", "Available") for v in s.values())
                       else None)(servers(ip_of("graph-0"))), timeout=60)
check(sorted(s0) == sorted(dns.values()), f"SHOW SERVERS lists the pods' DNS names: {sorted(s0)}")
ids = {a: v[0] for a, v in s0.items()}

with tempfile.NamedTemporaryFile("w", delete=False) as f:
    f.write(PASSWORD + "\n")
    pwfile = f.name
os.chmod(pwfile, 0o600)
route_bin = os.environ.get("N4J_AGENT_ROUTE_BIN") or os.path.join(ROOT, "build", "default", "tests", "bolt",
                                                                  "agent_route")
r = subprocess.run([route_bin, os.environ["TESTENV_HOSTS"], pwfile, dns["graph-1"]], capture_output=True,
                   text=True, timeout=60)
print(r.stdout, r.stderr)
reached = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("reached ")]
check(r.returncode == 0 and sorted(reached) == sorted(dns.values()),
      f"the Bolt cluster handle reached every router through the resolver hook: {reached}")
check(any(ln.startswith("leader ") and ln.split()[1] in dns.values() for ln in r.stdout.splitlines()),
      "the system leader is one of the pods, by its DNS name")

with neo4j.GraphDatabase.driver(f"neo4j://{dns['graph-2']}", auth=("neo4j", PASSWORD)) as d:
    recs, summary, _ = d.execute_query("SHOW SERVERS YIELD name", database_="system",
                                       routing_=neo4j.RoutingControl.READ)
    check(len(recs) == 3, "the Python driver routes by DNS names (neo4j://) to a reader")
    recs, summary, _ = d.execute_query("SHOW DATABASES YIELD name", database_="system",
                                       routing_=neo4j.RoutingControl.WRITE)
    leader = [ln.split()[1] for ln in r.stdout.splitlines() if ln.startswith("leader ")][0]
    leader_pod = leader.split(".")[0]
    check(len(recs) >= 2 and summary.server.address[0] == ips[leader_pod],
          f"and to the writer, the leader {leader_pod}: {summary.server.address}")

# A deleted pod comes back as the same server.
uid = pods["graph-1"]["metadata"]["uid"]
kubectl("-n", NS, "delete", "pod", "graph-1", "--wait=false", check=True)
p1 = wait_containers_ready(NS, "graph-1", not_uid=uid, timeout=120)
s1 = wait_for("graph-1 Available again", lambda: (lambda s: s if s.get(dns["graph-1"], ("",))[1:] ==
                                                  ("Enabled", "Available") else None)(servers(ip_of("graph-0"))),
              timeout=60)
check(s1[dns["graph-1"]][0] == ids[dns["graph-1"]], "the recreated pod is the same server (same id)")
check(len(s1) == 3, f"no new server appeared: {sorted(s1)}")

# pod kill: the process dies, the agent restarts it, restartCount goes up.
r0 = cstatus(pod(NS, "graph-2")).get("restartCount", 0)
testenv("pod", "kill", f"{NS}/graph-2")
p2 = wait_for("graph-2 restarted", lambda: (lambda q: q if cstatus(q).get("restartCount", 0) > r0 and
                                            cond(q, "ContainersReady").get("status") == "True" else None)(
    pod(NS, "graph-2")), timeout=120)
check(cstatus(p2)["lastState"]["terminated"]["exitCode"] == 137, "killed with SIGKILL (137)")
s2 = wait_for("graph-2 Available", lambda: (lambda s: s if s[dns["graph-2"]][1:] == ("Enabled", "Available")
                                            else None)(servers(ip_of("graph-0"))), timeout=60)
check(s2[dns["graph-2"]][0] == ids[dns["graph-2"]], "after the kill it is still the same server")

# partition: the member is cut off from its peers (Unavailable to them); heal brings it back.
testenv("pod", "partition", f"{NS}/graph-2")
wait_for("graph-2 Unavailable while partitioned",
         lambda: servers(ip_of("graph-0"))[dns["graph-2"]][2] == "Unavailable", timeout=30)
testenv("pod", "heal", f"{NS}/graph-2")
wait_for("graph-2 Available after heal", lambda: servers(ip_of("graph-0"))[dns["graph-2"]][2] == "Available",
         timeout=30)
check(True, "partition and heal reach the member through the agent")

# node down: the pod's process dies at once; up: it runs again.
node = pod(NS, "graph-0")["spec"]["nodeName"]


pid0 = agent_pod(NS, "graph-0")["pid"]
testenv("node", "down", node)
try:
    wait_for("graph-0's process gone", lambda: not os.path.exists(f"/proc/{pid0}"), timeout=30)
    check(agent_pod(NS, "graph-0")["nodeLost"] is True, "the agent reports the node lost")
    wait_for("graph-0 Unavailable", lambda: servers(ip_of("graph-1"))[dns["graph-0"]][2] == "Unavailable",
             timeout=30)
finally:
    testenv("node", "up", node)
wait_for("graph-0 running again", lambda: agent_pod(NS, "graph-0")["pid"] not in (None, pid0), timeout=90)
wait_for("graph-0 Available", lambda: servers(ip_of("graph-1"))[dns["graph-0"]][2] == "Available", timeout=90)
check(servers(ip_of("graph-1"))[dns["graph-0"]][0] == ids[dns["graph-0"]], "back as the same server after the node returned")

os.unlink(pwfile)
cleanup(NS)
done()
