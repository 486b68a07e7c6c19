#!/usr/bin/env python3
"""A rendered standalone Community CR really runs: the node agent starts a real Neo4j 5.26 at
the pod IP with the ConfigMap's neo4j.conf, the Secret's password and its data on the bound
PersistentVolume.

- Ready waits for the readiness gate (set here; the operator sets it later), although the
  container is ready: kwok alone made such a pod's containers ready with nothing running.
- The official Python driver logs in at the pod IP with the Secret's password (a wrong one
  is refused) and writes a node; after the pod is deleted and recreated by the StatefulSet
  the node is still there; after its volume is wiped it is gone.
- An unknown setting in the config makes the container fail, visibly: terminated with a
  non-zero exit code, restarted with back-off, and an Event, as in a real cluster.
- A hung server (SIGSTOP) goes NotReady, then its liveness probe restarts it.
"""
import json
import os
import time

from agentlib import (agent_pod, apply, cleanup, cond, cstatus, driver_module, events, fast_probes, pod,
                      pv_path_of, render, set_gate, sts_of, testenv, wait_containers_ready)
from envlib import ROOT, check, done, kubectl, load_env, restricted_namespace, unique_name, wait_for

load_env()
neo4j = driver_module()
NS = unique_name("agent-ce")
restricted_namespace(NS)
PASSWORD = "agent-test-" + os.urandom(6).hex()
POD = "graph-ce-0"


def quick_failures(objs):
    """Rendered probes, shorter periods (agentlib.fast_probes) and thresholds that see a
    hang within seconds and kill it 3 s after."""
    c = fast_probes(objs)
    c["readinessProbe"]["failureThreshold"] = 2
    c["livenessProbe"]["failureThreshold"] = 6
    c["livenessProbe"]["terminationGracePeriodSeconds"] = 3
    c["startupProbe"]["failureThreshold"] = 120


cr, objs = render(os.path.join(ROOT, "examples", "standalone-community.yaml"), NS)
quick_failures(objs)
rendered_liveness = [k for k in ("tcpSocket", "httpGet")
                     if k in sts_of(objs)["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]]
apply(objs, PASSWORD)

p = wait_containers_ready(NS, POD)
ip = p["status"]["podIP"]
check(ip.startswith("127.1.") and int(ip.split(".")[2]) >= 128,
      f"the pod IP {ip} is from the agent's half of the pod CIDR (127.1.128.0/17)")
check(cstatus(p).get("started") is True and "running" in cstatus(p).get("state", {}),
      "the container is started and running")
check(cond(p, "Ready").get("status") == "False" and cond(p, "Ready").get("reason") == "ReadinessGatesNotReady",
      f"Ready stays False until the gate is set: {cond(p, 'Ready')}")
time.sleep(2)
check(cond(pod(NS, POD), "Ready").get("status") == "False", "Ready is still False 2 s later (nobody set the gate)")
set_gate(NS, POD)
wait_for("Ready after the gate", lambda: cond(pod(NS, POD), "Ready").get("status") == "True", timeout=30)
check(True, "Ready = ContainersReady and the gate")
ev = {e["reason"] for e in events(NS, POD)}
check({"Pulled", "Created", "Started"} <= ev, f"kubelet events Pulled, Created, Started: {sorted(ev)}")

uri = f"bolt://{ip}:7687"
try:
    with neo4j.GraphDatabase.driver(uri, auth=("neo4j", "wrong-password-1")) as d:
        d.verify_connectivity()
    check(False, "a wrong password is refused")
except neo4j.exceptions.AuthError:
    check(True, "a wrong password is refused")

MARK = os.urandom(4).hex()
with neo4j.GraphDatabase.driver(uri, auth=("neo4j", PASSWORD)) as d:
    d.verify_connectivity()
    recs, _, _ = d.execute_query("CALL dbms.components() YIELD edition, versions RETURN edition, versions[0] AS v")
    check(recs[0]["edition"] == "community" and recs[0]["v"].startswith("5.26"),
          f"a real Neo4j 5.26 Community answers: {recs[0].data()}")
    d.execute_query("CREATE (:Marker {v: $v})", v=MARK)

pv = pv_path_of(NS, "data-" + POD)
check(any(f for _, _, fs in os.walk(pv) for f in fs), f"the server's files are on the PersistentVolume ({pv})")


def count(uri_):
    with neo4j.GraphDatabase.driver(uri_, auth=("neo4j", PASSWORD)) as d:
        recs, _, _ = d.execute_query("MATCH (m:Marker {v: $v}) RETURN count(m) AS n", v=MARK)
        return recs[0]["n"]


# Deleted and recreated by the StatefulSet: same claim, same volume, same data.
uid = p["metadata"]["uid"]
kubectl("-n", NS, "delete", "pod", POD, "--wait=false", check=True)
p2 = wait_containers_ready(NS, POD, not_uid=uid)
check(p2["metadata"]["uid"] != uid, "a new pod replaced the deleted one")
check(count(f"bolt://{p2['status']['podIP']}:7687") == 1, "the node written before is still there")
kill_ev = [e for e in events(NS, POD) if e["reason"] == "Killing" and e["involvedObject"]["uid"] == uid]
check(bool(kill_ev), "the deleted pod's container got a Killing event (SIGTERM)")

# Volume wiped: scale to 0, empty the PV, scale back.
kubectl("-n", NS, "scale", "statefulset", "graph-ce", "--replicas=0", check=True)
wait_for("the pod gone", lambda: pod(NS, POD) is None, timeout=120)
for root, dirs, files in os.walk(pv, topdown=False):
    for f in files:
        os.unlink(os.path.join(root, f))
    for dd in dirs:
        os.rmdir(os.path.join(root, dd))
kubectl("-n", NS, "scale", "statefulset", "graph-ce", "--replicas=1", check=True)
p3 = wait_containers_ready(NS, POD)
check(count(f"bolt://{p3['status']['podIP']}:7687") == 0, "after the volume is wiped the data is gone")

# A hung server: readiness fails (NotReady), then liveness restarts it.
set_gate(NS, POD)
wait_for("Ready", lambda: cond(pod(NS, POD), "Ready").get("status") == "True", timeout=30)
r0 = cstatus(pod(NS, POD)).get("restartCount")
testenv("pod", "hang", f"{NS}/{POD}")
wait_for("NotReady while hung", lambda: cond(pod(NS, POD), "Ready").get("status") == "False", timeout=30)
check(cond(pod(NS, POD), "ContainersReady").get("status") == "False", "a hung server's container is not ready")
check(rendered_liveness == ["httpGet"], f"the rendered liveness probe is httpGet (a hung JVM still accepts TCP): {rendered_liveness}")
p4 = wait_for("a restart by the liveness probe",
              lambda: (lambda q: q if cstatus(q).get("restartCount", 0) > r0 else None)(pod(NS, POD)), timeout=90)
last = cstatus(p4).get("lastState", {}).get("terminated", {})
check(last.get("exitCode") == 137, f"the hung process was killed after the probe's grace period: {last}")
msgs = [e["message"] for e in events(NS, POD) if e["reason"] in ("Unhealthy", "Killing")]
check(any("Liveness probe failed" in m for m in msgs) and any("failed liveness probe" in m for m in msgs),
      f"Unhealthy and Killing events name the liveness probe: {msgs[-4:]}")
wait_containers_ready(NS, POD)
check(True, "the restarted server is ready again")

# An unknown setting: the start fails as in a real pod (strict validation).
cm = f"{cr['metadata']['name']}-config"
conf = json.loads(kubectl("-n", NS, "get", "cm", cm, "-o", "json", check=True).stdout)["data"]["neo4j.conf"]
kubectl("-n", NS, "patch", "cm", cm, "--type=merge", "-p",
        json.dumps({"data": {"neo4j.conf": conf + "dbms.no_such_setting.really=1\n"}}), check=True)
uid = pod(NS, POD)["metadata"]["uid"]
kubectl("-n", NS, "delete", "pod", POD, "--wait=false", check=True)


def failed():
    q = pod(NS, POD)
    if not q or q["metadata"]["uid"] == uid:
        return None
    t = cstatus(q).get("lastState", {}).get("terminated") or cstatus(q).get("state", {}).get("terminated")
    return q if t and t.get("exitCode", 0) != 0 else None


p5 = wait_for("the container to fail on the unknown setting", failed, timeout=120)
t = cstatus(p5).get("lastState", {}).get("terminated") or cstatus(p5)["state"]["terminated"]
check(t["exitCode"] != 0, f"terminated with a non-zero exit code: {t}")
check(cond(p5, "ContainersReady").get("status") == "False", "never ready")
wait_for("BackOff event", lambda: any(e["reason"] == "BackOff" for e in events(NS, POD)), timeout=60)
check(True, "a BackOff event says the container keeps failing")
mine = agent_pod(NS, POD)
log = open(os.path.join(mine["dir"], "neo4j.log"), errors="replace").read() if mine else ""
check("dbms.no_such_setting.really" in log, "Neo4j's own error names the unknown setting in the container log")

cleanup(NS)
done()
