#!/usr/bin/env python3
"""The node agent runs a backup-like Job's pod for real (Neo4j and operator images only), and
kube-controller-manager's Job controller reads the result from the pod status it reports.

- ok: an init container of the Neo4j image writes /scratch/x (emptyDir) and resolves a pod's
  DNS name (`peer.peers.<ns>.svc.cluster.local`, the agent's hosts file, no cluster DNS)
  into /scratch/peer, and the automounted token volume's namespace file (a projected
  service-account token from the TokenRequest API) into a claim's PV; then containers of the operator image: `neo4j-operator version` (the
  build's binary: its log equals the host binary's output), one writing both files to
  /dev/termination-log, one writing 5003 bytes to a custom terminationMessagePath. The Job
  completes; the pod is Succeeded with kubelet-shaped statuses and conditions; the messages
  are in the status (the long one cut to its last 4096 bytes).
- fail: an init container exits 3 after 100 log lines with FallbackToLogsOnError and an
  empty termination file: the Job fails, the message is the log's last 80 lines, the
  operator-image container never starts.
- deadline: a pod's activeDeadlineSeconds kills its running container: Failed, reason
  DeadlineExceeded, the Job fails.
- a Job pod with a busybox container stays kwok's (completed without running anything).
"""
import json
import os
import subprocess

from agentlib import agent_pod, cleanup, cond, pv_path_of
from envlib import check, done, kjson, kubectl, load_env, restricted_namespace, unique_name, wait_for

load_env()
NS = unique_name("agentjob")
restricted_namespace(NS)
NEO = "neo4j:5.26.12-enterprise"
OP = "ghcr.io/graphops/neo4j-operator:0.0.0-test"
SEC = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
POD_SEC = {"runAsNonRoot": True, "runAsUser": 7474, "runAsGroup": 7474, "fsGroup": 7474,
           "seccompProfile": {"type": "RuntimeDefault"}}
PEER = f"peer.peers.{NS}.svc.cluster.local"


def ctr(name, image, script=None, command=None, **kw):
    c = {"name": name, "image": image, "securityContext": SEC,
         "command": command or ["/bin/bash", "-c", script],
         "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}
    c.update(kw)
    return c


def job(name, containers, inits=(), **pod_kw):
    spec = {"restartPolicy": "Never", "securityContext": POD_SEC, "containers": list(containers),
            "initContainers": list(inits), "volumes": [{"name": "scratch", "emptyDir": {}}]}
    spec.update(pod_kw)
    doc = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": NS},
           "spec": {"backoffLimit": 0, "template": {"spec": spec}}}
    kubectl("apply", "-f", "-", input=json.dumps(doc), check=True)


def job_cond(name):
    j = kjson("-n", NS, "get", "job", name)
    return {c["type"]: c for c in j.get("status", {}).get("conditions") or [] if c["status"] == "True"}


def wait_job(name, ctype, timeout=120):
    """The Job's final condition (Complete or Failed) once it has one; checks it is ctype."""
    c = wait_for(f"Job {name} finished", lambda: job_cond(name).get("Complete") or job_cond(name).get("Failed"),
                 timeout=timeout)
    check(c["type"] == ctype, f"Job {name}: the Job controller marks it {ctype}: {c['type']} {c.get('reason')}")
    return c


def job_pod(name):
    items = kjson("-n", NS, "get", "pods", "-l", f"job-name={name}")["items"]
    return items[0] if items else None


def statuses(p, key):
    return {c["name"]: c for c in p["status"].get(key) or []}


# A pod the agent runs (a server image, any command) whose DNS name the Job pod resolves.
peer = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "peer", "namespace": NS},
        "spec": {"hostname": "peer", "subdomain": "peers", "securityContext": POD_SEC,
                 "containers": [ctr("neo4j", "neo4j:5.26.12-community", "sleep 600", volumeMounts=[])]}}
kubectl("apply", "-f", "-", input=json.dumps(peer), check=True)
peer_ip = wait_for("peer pod IP", lambda: kjson("-n", NS, "get", "pod", "peer").get("status", {}).get("podIP"))

# The backup volume: a claim bound to one of the test bed's hostPath PVs.
pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "backups", "namespace": NS},
       "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "testenv",
                "resources": {"requests": {"storage": "1Gi"}}}}
kubectl("apply", "-f", "-", input=json.dumps(pvc), check=True)
BK = {"name": "backups", "mountPath": "/backups"}
SCRATCH = {"name": "scratch", "mountPath": "/scratch"}
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
job("ok", [ctr("version", OP, command=["neo4j-operator", "version"]),
           ctr("report", OP, "cat /scratch/x /scratch/peer > /dev/termination-log"),
           ctr("long", NEO, "head -c 5000 /dev/zero | tr '\\0' a > /scratch/m; printf END >> /scratch/m;"
                            "cat /scratch/m > /tmp/msg/long", terminationMessagePath="/tmp/msg/long")],
    [ctr("backup", NEO, f"echo hi > /scratch/x && getent hosts {PEER} > /scratch/peer && "
                        f"test -s {SA_DIR}/token && cat {SA_DIR}/namespace > /backups/artifact",
         volumeMounts=[SCRATCH, BK])],
    volumes=[{"name": "scratch", "emptyDir": {}}, {"name": "backups", "persistentVolumeClaim": {"claimName": "backups"}}])
job("fail", [ctr("retention", OP, command=["neo4j-operator", "version"])],
    [ctr("backup", NEO, "for i in $(seq 1 100); do echo line$i; done; echo boom >&2; exit 3",
         terminationMessagePolicy="FallbackToLogsOnError")])
job("deadline", [ctr("slow", NEO, "sleep 300")], [ctr("quick", NEO, "true")],
    activeDeadlineSeconds=6, terminationGracePeriodSeconds=2)
job("kwoks", [ctr("other", "busybox:1.36", "exit 0")])

# ---- ok
wait_job("ok", "Complete")
p = job_pod("ok")
st = p["status"]
check(st.get("phase") == "Succeeded", f"ok: pod Succeeded: {st.get('phase')}")
ip = st.get("podIP", "")
check(ip.startswith("127.1.") and int(ip.split(".")[2]) >= 128, f"ok: pod IP {ip} from the agent's pool")
init, mains = statuses(p, "initContainerStatuses"), statuses(p, "containerStatuses")
b = init.get("backup", {}).get("state", {}).get("terminated", {})
check(b.get("exitCode") == 0 and b.get("reason") == "Completed", f"ok: init container Completed: {b}")
for n in ("version", "report", "long"):
    t = mains.get(n, {}).get("state", {}).get("terminated", {})
    check(t.get("exitCode") == 0 and t.get("reason") == "Completed" and t.get("startedAt") and
          t.get("finishedAt") and t["startedAt"] >= b.get("finishedAt", "~"),
          f"ok: {n} ran after the init container and Completed: {t}")
msg = mains.get("report", {}).get("state", {}).get("terminated", {}).get("message", "")
lines = msg.splitlines()
check(len(lines) == 2 and lines[0] == "hi" and lines[1].split()[:2] == [peer_ip, PEER],
      f"ok: the termination message has the init container's file and the peer's address: {msg!r}")
long = mains.get("long", {}).get("state", {}).get("terminated", {}).get("message", "")
check(len(long) == 4096 and long.endswith("aaaEND"), f"ok: a custom path's 5003 bytes end as the last 4096: {len(long)}")
check(not mains.get("version", {}).get("state", {}).get("terminated", {}).get("message"),
      "ok: an empty termination file, exit 0: no message")
art = os.path.join(pv_path_of(NS, "backups"), "artifact")
check(os.path.exists(art) and open(art).read() == NS,
      "ok: the init container wrote the claim's PV (its hostPath), from the automounted token volume's namespace file")
check(not os.path.exists("/dev/termination-log"), "ok: the termination file was bound in the pod's own /dev, "
      "not created in the host's")
c = {x["type"]: x for x in st.get("conditions") or []}
check(c.get("Initialized", {}).get("status") == "True" and c.get("PodScheduled", {}).get("status") == "True" and
      c.get("Ready", {}).get("status") == "False" and c.get("Ready", {}).get("reason") == "PodCompleted" and
      c.get("ContainersReady", {}).get("reason") == "PodCompleted",
      f"ok: conditions as the kubelet's for a completed pod: {sorted((k, v['status']) for k, v in c.items())}")
mine = agent_pod(NS, p["metadata"]["name"])
binary = os.environ.get("N4J_OPERATOR_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build",
                                                            "default", "neo4j-operator")
want = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
vlog = os.path.join(mine["dir"], "version.log") if mine else ""
got = open(vlog).read() if vlog and os.path.exists(vlog) else ""
got = got.split("\n", 1)[1] if got.startswith("--- ") else got  # the agent's start marker
check(want and got == want, f"ok: `neo4j-operator version` ran the build's binary: {got!r} vs {want!r}")

# ---- fail
jf = wait_job("fail", "Failed")
check(jf.get("reason") == "BackoffLimitExceeded", f"fail: the Job fails: {jf}")
p = job_pod("fail")
check(p["status"].get("phase") == "Failed", f"fail: pod Failed: {p['status'].get('phase')}")
b = statuses(p, "initContainerStatuses").get("backup", {}).get("state", {}).get("terminated", {})
m = b.get("message", "")
check(b.get("exitCode") == 3 and b.get("reason") == "Error", f"fail: init container exit 3, Error: {b}")
check(m.startswith("line22\n") and m.endswith("line100\nboom\n") and m.count("\n") == 80,
      f"fail: FallbackToLogsOnError: the log's last 80 lines: {m[:20]!r}...{m[-20:]!r}")
r = statuses(p, "containerStatuses").get("retention", {})
check(r.get("state", {}).get("waiting", {}).get("reason") == "PodInitializing" and "containerID" not in r,
      f"fail: the container never started: {r}")
mine = agent_pod(NS, p["metadata"]["name"])
check(mine is not None and not os.path.exists(os.path.join(mine["dir"], "retention.log")),
      "fail: no log of the container (it never ran)")
check(cond(p, "Initialized").get("status") == "False", f"fail: Initialized False: {cond(p, 'Initialized')}")

# ---- deadline
jd = wait_job("deadline", "Failed", timeout=60)
p = job_pod("deadline")
st = p["status"]
check(st.get("phase") == "Failed" and st.get("reason") == "DeadlineExceeded",
      f"deadline: pod Failed, reason DeadlineExceeded: {st.get('phase')} {st.get('reason')}")
s = statuses(p, "containerStatuses").get("slow", {}).get("state", {}).get("terminated", {})
check(s.get("exitCode") in (137, 143) and s.get("reason") == "Error", f"deadline: the container was killed: {s}")
check(jd.get("reason") == "BackoffLimitExceeded", f"deadline: the Job fails: {jd}")
ini = cond(p, "Initialized")
check(ini.get("status") == "True" and "reason" not in ini and "message" not in ini,
      f"deadline: Initialized True, without the reason and message it had while False: {ini}")

# ---- a Job pod the agent cannot run stays kwok's
wait_job("kwoks", "Complete")
p = job_pod("kwoks")
ip = p["status"].get("podIP", "")
check(agent_pod(NS, p["metadata"]["name"]) is None and ip and int(ip.split(".")[2]) < 128,
      f"kwoks: a busybox Job pod is kwok's (IP {ip}, not the agent's)")

cleanup(NS)
done()
