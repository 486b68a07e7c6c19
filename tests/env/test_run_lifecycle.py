#!/usr/bin/env python3
"""`neo4j-operator run` against the real apiserver, as the operator's own ServiceAccount:

  1. instance A takes the Lease (holderIdentity = its identity), logs "caches synced" and
     "workers started" in JSON lines;
  2. instance B, started next, syncs its caches but stays a follower (no "became leader",
     no workers);
  3. SIGTERM to A: exit 0 within a few seconds, every shutdown phase logged, the Lease
     released, and B takes over within ~3 s of A's exit (not the 15 s of an expiry);
  4. SIGTERM to B: exit 0, the Lease's holder empty; then C leads, the test takes the Lease
     away, and C exits 1 at once ("leader election lost"), leaving the Lease alone;
  5. what the handlers enqueue, seen in the debug log of a follower F (kept a follower by a
     Lease another holder keeps for an hour, so no reconciler acts on the test's objects):
     a Neo4jCluster on create and on a label change but not on a status-only change; the
     cluster owning a labelled ConfigMap; the instance of a claim; nothing for an unlabelled
     ConfigMap or for a Secret (Secrets are never watched);
  5b. D, whose first lists fail (fault proxy), leads before its caches sync and still starts
     its workers only after they have;
  6. the audit log, for the requests of A, B, C, D and F (told apart by the identity in their user
     agent): no list or watch of Secrets (DESIGN §8.16), no request refused (403), and every
     list/watch in the namespace given by --namespaces, one per watched kind.

The Lease name is unique to the run, so concurrent runs and other tests don't collide.
"""
import atexit
import json
import os
import signal
import subprocess
import threading
import time

from envlib import ROOT, check, done, kjson, kubectl, load_env, unique_name, wait_for

load_env()
BIN = os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default",
                                                         "neo4j-operator")
OP_KUBECONFIG = os.environ["TESTENV_OPERATOR_KUBECONFIG"]
AUDIT = os.environ["TESTENV_AUDIT_LOG"]
OP_USER = "system:serviceaccount:neo4j-system:neo4j-operator"
LEASE_NS = "neo4j-system"
NS = unique_name("run-lc")
NS2 = unique_name("run-lc-h")
LEASE = unique_name("run-lc-lease")
LEASE2 = unique_name("run-lc-held")
# What `run` watches: Neo4jClusters, Neo4jBackups and the owned kinds (the backups'
# CronJobs and Jobs too). Never secrets.
WATCHED = {"neo4jclusters", "neo4jbackups", "statefulsets", "services", "configmaps", "serviceaccounts",
           "poddisruptionbudgets", "networkpolicies", "pods", "persistentvolumeclaims", "jobs", "cronjobs"}

audit_start = os.path.getsize(AUDIT) if os.path.exists(AUDIT) else 0


def cleanup():
    # Also when a check raises: a failed run leaves nothing behind.
    kubectl("delete", "lease", "-n", LEASE_NS, LEASE, LEASE2, "--ignore-not-found",
            "--wait=false")
    kubectl("delete", "namespace", NS, NS2, "--ignore-not-found", "--wait=false")


atexit.register(cleanup)
kubectl("create", "namespace", NS, check=True)
kubectl("create", "namespace", NS2, check=True)


class Operator:
    """One `neo4j-operator run` process whose JSON log records are collected as they come."""

    def __init__(self, name, ns=NS, lease=LEASE, extra=(), kubeconfig=OP_KUBECONFIG):
        self.name = name
        env = {k: v for k, v in os.environ.items()
               if k not in ("KUBECONFIG", "WATCH_NAMESPACES", "LOG_LEVEL", "LOG_FORMAT")}
        env["POD_NAME"] = f"lc-{name}"
        self.p = subprocess.Popen(
            [BIN, "run", "--kubeconfig", kubeconfig, "--namespaces", ns,
             "--leader-election-namespace", LEASE_NS, "--leader-election-id", lease,
             "--workers", "2", "--metrics-bind-address", "127.0.0.1:0",
             "--health-probe-bind-address", "127.0.0.1:0", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=env, text=True)
        self.records, self.bad_lines = [], []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stderr:
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                with self.lock:
                    self.bad_lines.append(line)
                continue
            rec["_seen"] = time.monotonic()
            with self.lock:
                self.records.append(rec)

    def find(self, msg):
        with self.lock:
            return next((r for r in self.records if r.get("msg") == msg), None)

    def enqueues(self):
        with self.lock:
            return [r for r in self.records if r.get("msg") == "enqueue"]

    def wait_msg(self, msg, timeout):
        return wait_for(f"{self.name}: log record {msg!r}", lambda: self.find(msg),
                        timeout=timeout, interval=0.1)

    def identity(self):
        r = self.find("leader election")
        return r.get("identity") if r else None

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def dump(self):
        with self.lock:
            return "\n".join(json.dumps({k: v for k, v in r.items() if k != "_seen"})
                             for r in self.records[-30:])


def lease_holder():
    p = kubectl("get", "lease", "-n", LEASE_NS, LEASE, "-o", "json")
    if p.returncode != 0:
        return None
    return (json.loads(p.stdout).get("spec") or {}).get("holderIdentity") or ""


a = b = c = None
try:
    # 1. A leads.
    a = Operator("a")
    a.wait_msg("caches synced", 60)
    a.wait_msg("became leader", 30)
    a.wait_msg("workers started", 10)
    ida = a.identity()
    check(bool(ida) and ida.startswith("lc-a_"), f"A's identity is POD_NAME + suffix: {ida!r}")
    check(lease_holder() == ida, f"the Lease names A as holder ({lease_holder()!r} vs {ida!r})")
    check(not a.bad_lines, f"A logs JSON lines only: {a.bad_lines[:3]}")
    synced = a.find("caches synced")
    started = a.find("workers started")
    check(synced and started and synced["_seen"] <= started["_seen"],
          "A starts its workers only after its caches synced")
    check(synced and synced.get("informers") == len(WATCHED),
          f"one informer per watched kind in the one namespace: {synced}")

    # 2. B follows.
    b = Operator("b")
    b.wait_msg("caches synced", 60)
    time.sleep(5)  # two and a half retry periods: B would have taken a free Lease by now
    idb = b.identity()
    check(bool(idb) and idb != ida, f"B has its own identity: {idb!r}")
    check(b.find("became leader") is None, "B stays a follower while A holds the Lease")
    check(b.find("workers started") is None, "a follower runs no workers")
    check(lease_holder() == ida, "A still holds the Lease")

    # 3. SIGTERM A: graceful exit, Lease released, B takes over fast.
    t0 = time.monotonic()
    a.p.send_signal(signal.SIGTERM)
    try:
        rc = a.p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    a_exit = time.monotonic()
    a.t.join(timeout=5)
    check(rc == 0, f"A exits 0 on SIGTERM (got {rc})\n{a.dump()}")
    check(a_exit - t0 < 5, f"A exits within 5 s of SIGTERM ({a_exit - t0:.1f} s)")
    for msg in ("shutting down", "workers stopped", "lease released", "events flushed",
                "informers stopped", "stopped"):
        check(a.find(msg) is not None, f"A logs the shutdown phase {msg!r}")
    sd = a.find("shutting down")
    check(sd is not None and sd.get("signal") == "SIGTERM", f"the signal is named: {sd}")
    took = b.wait_msg("became leader", 25)  # an expired, unreleased Lease: ~17 s
    check(took["_seen"] - a_exit < 4,
          f"B takes over within ~3 s of A's exit ({took['_seen'] - a_exit:.1f} s): the "
          "Lease was released, not left to expire")
    b.wait_msg("workers started", 10)
    check(lease_holder() == idb, f"the Lease names B ({lease_holder()!r})")

    # 4. SIGTERM B: the Lease ends up free.
    b.p.send_signal(signal.SIGTERM)
    try:
        rc = b.p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"B exits 0 on SIGTERM (got {rc})\n{b.dump()}")
    check(lease_holder() == "", f"the released Lease has no holder ({lease_holder()!r})")

    # 4b. A leader whose Lease is taken away exits at once (1), without draining.
    c = Operator("c")
    c.wait_msg("workers started", 60)
    kubectl("patch", "lease", "-n", LEASE_NS, LEASE, "--type=merge", "-p", json.dumps(
        {"spec": {"holderIdentity": "thief", "leaseDurationSeconds": 3600,
                  "renewTime": time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())}}),
        check=True)
    t0 = time.monotonic()
    try:
        rc = c.p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    c.t.join(timeout=5)
    check(rc == 1, f"C exits 1 once it cannot renew the Lease (got {rc})\n{c.dump()}")
    check(time.monotonic() - t0 < 15, "within the renew deadline (10 s) plus a retry")
    check(c.find("leader election lost; exiting") is not None, "C logs why it exits")
    check(c.find("shutting down") is None, "no graceful shutdown once the Lease is lost")
    check(lease_holder() == "thief", "a lost Lease is not released (the thief keeps it)")
finally:
    for op in (a, b, c):
        if op:
            op.stop()


def now_micro():
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())


def apply(doc):
    return json.loads(kubectl("apply", "-o", "json", "-f", "-", input=json.dumps(doc),
                              check=True).stdout)


def rv_of(obj):
    return obj["metadata"]["resourceVersion"]


# 5. The handlers, through a follower's debug log.
kubectl("apply", "-f", "-", check=True, input=json.dumps({
    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
    "metadata": {"name": LEASE2, "namespace": LEASE_NS},
    "spec": {"holderIdentity": "someone-else", "leaseDurationSeconds": 3600,
             "acquireTime": now_micro(), "renewTime": now_micro()}}))
f = Operator("f", ns=NS2, lease=LEASE2, extra=("--log-level", "debug"))
try:
    f.wait_msg("caches synced", 60)
    LBL = {"app.kubernetes.io/managed-by": "neo4j-operator", "app.kubernetes.io/name": "neo4j",
           "app.kubernetes.io/instance": "hc"}

    def enq(pred, what, timeout=20):
        return wait_for(f"F enqueues {what}",
                        lambda: next((r for r in f.enqueues() if pred(r)), None),
                        timeout=timeout, interval=0.1)

    cr = apply({"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
                "metadata": {"name": "hc", "namespace": NS2},
                "spec": {"edition": "community", "version": "5.26.12", "servers": 1,
                         "resources": {"requests": {"cpu": "500m", "memory": "2Gi"},
                                       "limits": {"memory": "2Gi"}},
                         "storage": {"data": {"size": "1Gi"}}}})
    key = f"{NS2}/hc"
    enq(lambda r: r.get("kind") == "Neo4jCluster" and r.get("key") == key, "a new cluster")
    st = json.loads(kubectl("patch", "neo4jcluster", "hc", "-n", NS2, "--subresource=status",
                            "--type=merge", "-p", '{"status":{"observedGeneration":1}}',
                            "-o", "json", check=True).stdout)
    lb = json.loads(kubectl("patch", "neo4jcluster", "hc", "-n", NS2, "--type=merge", "-p",
                            '{"metadata":{"labels":{"run-lc":"changed"}}}', "-o", "json",
                            check=True).stdout)
    check(rv_of(st) != rv_of(lb), f"two writes, two resourceVersions ({rv_of(st)})")
    enq(lambda r: r.get("kind") == "Neo4jCluster" and r.get("resource_version") == rv_of(lb),
        "the cluster on a label change")
    # Events arrive in order: the status-only change came before the label change.
    check(not [r for r in f.enqueues() if r.get("resource_version") == rv_of(st)],
          "a status-only change of a Neo4jCluster enqueues nothing")

    owner = {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster", "name": "hc",
             "uid": cr["metadata"]["uid"], "controller": True}
    apply({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "owned", "namespace": NS2, "labels": dict(LBL),
                        "ownerReferences": [owner]}, "data": {"k": "v"}})
    apply({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "unlabelled", "namespace": NS2,
                        "labels": {"app.kubernetes.io/instance": "hc"}}})
    apply({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": "labelled-secret", "namespace": NS2, "labels": dict(LBL)},
           "stringData": {"k": "v"}})
    apply({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": "data-hc-0", "namespace": NS2,
                        "labels": {"app.kubernetes.io/name": "neo4j",
                                   "app.kubernetes.io/instance": "hc",
                                   "app.kubernetes.io/component": "server"}},
           "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "run-lc-none",
                    "resources": {"requests": {"storage": "1Gi"}}}})
    # Last: a labelled ConfigMap of another instance; once its key is in, the others are too.
    apply({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "marker", "namespace": NS2,
                        "labels": {**LBL, "app.kubernetes.io/instance": "marker"}}})
    enq(lambda r: r.get("object") == f"{NS2}/owned" and r.get("key") == key,
        "the owner of a labelled ConfigMap")
    enq(lambda r: r.get("kind") == "PersistentVolumeClaim" and r.get("key") == key,
        "the instance of a claim")
    enq(lambda r: r.get("key") == f"{NS2}/marker", "the instance of the marker ConfigMap")
    objs = {r.get("object") for r in f.enqueues()}
    check(f"{NS2}/unlabelled" not in objs, "an unlabelled ConfigMap is not cached")
    check(f"{NS2}/labelled-secret" not in objs, "a Secret, even labelled, is never watched")
    check(f.find("became leader") is None, "F stayed a follower")
    f.p.send_signal(signal.SIGTERM)
    check(f.p.wait(timeout=15) == 0, f"F exits 0 on SIGTERM\n{f.dump()}")
    check(f.find("leader election stopped") is not None,
          "a follower stops campaigning (it has no Lease to release)")
finally:
    f.stop()

# 5b. Workers wait for the caches even when the Lease comes first: D goes through the fault
# proxy of the kube tests, which refuses (403, not retried by the client) its first two
# lists of Neo4jClusters (the informer
# retries after 0.8-1.6 s, then 1.6-3.2 s), while it takes its own free Lease at once.
LEASE4 = unique_name("run-lc-sync")
kc = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"{NS}-proxy.kubeconfig")
proxy_bin = os.environ.get("FAULTPROXY_BIN") or os.path.join(
    os.path.dirname(BIN), "tests", "kube", "kube_faultproxy")
d = None
proxy = subprocess.Popen([proxy_bin, os.environ["TESTENV_APISERVER"].rsplit(":", 1)[1],
                          os.path.join(os.environ["TESTENV_RUN"], "pki", "apiserver.crt"),
                          os.path.join(os.environ["TESTENV_RUN"], "pki", "apiserver.key"),
                          os.path.join(os.environ["TESTENV_RUN"], "pki", "ca.crt")],
                         stdout=subprocess.PIPE, text=True)
try:
    ready = proxy.stdout.readline().split()
    check(len(ready) == 3 and ready[0] == "READY", f"the fault proxy is up: {ready}")
    port, ctl = int(ready[1]), int(ready[2])
    import socket
    with socket.create_connection(("127.0.0.1", ctl)) as sk:
        sk.sendall(b"fail 403 2 -1 /neo4jclusters\n")
        check(sk.recv(64).startswith(b"ok"), "the proxy takes the fault")
    with open(OP_KUBECONFIG, encoding="utf-8") as src, open(kc, "w", encoding="utf-8") as dst:
        dst.write(src.read())
    cluster = kubectl("config", "view", "--kubeconfig", kc, "-o",
                      "jsonpath={.clusters[0].name}", check=True).stdout.strip()
    kubectl("config", "set-cluster", cluster, "--kubeconfig", kc,
            f"--server=https://127.0.0.1:{port}", check=True)
    d = Operator("d", lease=LEASE4, kubeconfig=kc)
    d.wait_msg("workers started", 60)
    d.wait_msg("caches synced", 60)
    led, synced = d.find("became leader"), d.find("caches synced")
    check(led and synced and led["_seen"] < synced["_seen"],
          "D led before its caches synced (the faults delayed the sync)")
    check(synced and d.find("workers started")["_seen"] >= synced["_seen"],
          "D started its workers only once its caches synced")
    d.p.send_signal(signal.SIGTERM)
    check(d.p.wait(timeout=15) == 0, f"D exits 0 on SIGTERM\n{d.dump()}")
finally:
    if d:
        d.stop()
    kubectl("delete", "lease", "-n", LEASE_NS, LEASE4, "--ignore-not-found", "--wait=false")
    if os.path.exists(kc):
        os.unlink(kc)
    proxy.terminate()
    proxy.wait()

# 6. The audit log: what A, B and F asked of the apiserver.
ns_of = {op.identity(): ns for op, ns in ((a, NS), (b, NS), (c, NS), (d, NS), (f, NS2))
         if op and op.identity()}
ids = list(ns_of)
entries = []
with open(AUDIT, encoding="utf-8", errors="replace") as f:
    f.seek(audit_start)
    for line in f:
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        ua = e.get("userAgent") or ""
        who = next((i for i in ids if f"({i})" in ua), None)
        if (e.get("user") or {}).get("username") == OP_USER and who:
            e["_ns"] = ns_of[who]
            entries.append(e)
check(len(entries) > 20, f"the audit log holds the operators' requests ({len(entries)})")
secret_reads = [(e["verb"], (e.get("objectRef") or {}).get("name")) for e in entries
                if (e.get("objectRef") or {}).get("resource") == "secrets" and
                (e["verb"] in ("list", "watch") or
                 (e["verb"] == "get" and not (e.get("objectRef") or {}).get("name")))]
check(not secret_reads, f"no list/watch of Secrets, only gets by name: {secret_reads[:5]}")
denied = [(e["verb"], e.get("requestURI")) for e in entries
          if (e.get("responseStatus") or {}).get("code") == 403]
check(not denied, f"no request refused (403): {denied[:5]}")
lw = [e for e in entries if e["verb"] in ("list", "watch")]
outside = sorted({(e["verb"], e["objectRef"].get("resource"), e["objectRef"].get("namespace"))
                  for e in lw if (e.get("objectRef") or {}).get("namespace") != e["_ns"]})
check(len(ids) == 5, f"five identities logged: {ids}")
check(not outside, f"--namespaces: every list/watch stays in the given one: {outside[:5]}")
listed = {(e.get("objectRef") or {}).get("resource") for e in lw if e["verb"] == "list"}
watched = {(e.get("objectRef") or {}).get("resource") for e in lw if e["verb"] == "watch"}
check(listed == WATCHED, f"lists exactly the watched kinds: {sorted(listed ^ WATCHED)}")
check(watched == WATCHED, f"watches exactly the watched kinds: {sorted(watched ^ WATCHED)}")
lease_writes = {e["verb"] for e in entries
                if (e.get("objectRef") or {}).get("resource") == "leases"}
check("update" in lease_writes, f"the Lease is written by update: {sorted(lease_writes)}")

done()
