#!/usr/bin/env python3
"""The operator's own footprint and reaction time, against a running test environment.

Per run (RUNS, default 5), in a fresh namespace each:
  A. one 3-server Enterprise cluster: the operator started, the CR applied, Ready; then
     VmRSS of the operator (/proc/PID/status) sampled SAMPLES times, 0.5 s apart; the
     operator's delay from "the last server Available" to the CR's Ready; then an image
     roll (5.26.12 -> 5.26.13) and, per step, the delay from the re-created pod's
     ContainersReady to the deletion of the next pod.
  B. CLUSTERS clusters of SERVERS_EACH servers (default 10 x 1 Enterprise: each a
     simulator daemon + one member, what the 2-core test bed sustains next to the other
     tenants), all Ready; VmRSS sampled again.

Observation: one thread polls the simulator's `dump` of each StatefulSet (every 50 ms) and
the pods and Neo4jClusters straight from the apiserver (admin token, ~50 ms apart); a time
is the first poll that saw the event, so delays carry about one poll period of error.
"Last server Available" = the later of: every server Enabled, running and not partitioned
in the simulator; every pod ContainersReady (the kubelet's probes, 5 s period, are not the
operator's delay).

Needs PVs: 3 + CLUSTERS x SERVERS_EACH at once is avoided (A is deleted and its volumes
recycled before B), so max(3, CLUSTERS x SERVERS_EACH) free testenv PVs. Use an
environment of its own:

    TESTENV_RUN=$PWD/.testenv-bench TESTENV_PORT_BASE=28000 TESTENV_NEO4J=0 TESTENV_PVS=12 hack/test-env up
    TESTENV_RUN=$PWD/.testenv-bench TESTENV_PORT_BASE=28000 TESTENV_NEO4J=0 RUNS=5 python3 bench/operator_rss.py
    TESTENV_RUN=$PWD/.testenv-bench TESTENV_PORT_BASE=28000 TESTENV_NEO4J=0 hack/test-env down
"""
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from e2elib import (Test, get_cr, kubectl, load_env, patch_cr, plain, sim_try_dump,  # noqa: E402
                    wait_for, wait_ready)
import envlib  # noqa: E402  (on the path through e2elib)

RUNS = int(os.environ.get("RUNS", "5"))
SAMPLES = int(os.environ.get("SAMPLES", "10"))
CLUSTERS = int(os.environ.get("CLUSTERS", "10"))
SERVERS_EACH = int(os.environ.get("SERVERS_EACH", "1"))


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


ANON = []  # RssAnon samples (MB): the process's own heap and stacks, without library pages


def sample_rss(pid):
    out = []
    for _ in range(SAMPLES):
        out.append(rss_kb(pid) / 1024.0)
        ANON.append(rss_kb(pid, "RssAnon") / 1024.0)
        time.sleep(0.5)
    return out


def ts(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timestamp() if s else None


class Watch(threading.Thread):
    """First-seen wall times of: sim all-available per StatefulSet, pod ContainersReady per
    pod uid, pod deletion per uid, CR Ready per (name, generation)."""

    def __init__(self, ns, sts_names):
        super().__init__(daemon=True)
        self.ns, self.sts = ns, list(sts_names)
        self.stop = threading.Event()
        self.sim_avail = {}      # sts -> time all its servers were first Enabled+running
        self.cready = {}         # uid -> (pod name, time ContainersReady first seen)
        self.deleted = {}        # uid -> (pod name, time deletion (timestamp or absence) first seen)
        self.ready = {}          # (cr, generation) -> time Ready=True first seen
        self.seen_uids = {}
        self.first_seen = {}     # uid -> time the pod was first seen
        self.lock = threading.Lock()

    def poll_sim(self):
        now = time.time()
        for s in self.sts:
            d = sim_try_dump(self.ns, s)
            if not d or not d.get("formed"):
                self.sim_avail.pop(s, None)
                continue
            live = [v for v in d["servers"] if v["state"] != "Dropped"]
            ok = live and all(v["state"] == "Enabled" and not v["stopped"] and not v["partitioned"]
                              for v in live)
            if not ok:
                self.sim_avail.pop(s, None)
            elif s not in self.sim_avail:
                self.sim_avail[s] = now

    def api(self, path):
        """GET on the apiserver with the admin token: ~10 ms, where a kubectl process costs
        several hundred on a busy machine (the poll period is the figures' resolution)."""
        if not hasattr(self, "ctx"):
            run = os.environ["TESTENV_RUN"]
            self.ctx = ssl.create_default_context(cafile=os.path.join(run, "pki", "ca.crt"))
            with open(os.path.join(run, "admin.token")) as f:
                self.token = f.read().strip()
            self.host = urllib.parse.urlparse(os.environ["TESTENV_APISERVER"]).netloc
        c = http.client.HTTPSConnection(self.host, context=self.ctx, timeout=5)
        try:
            c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
            r = c.getresponse()
            return json.loads(r.read()) if r.status == 200 else None
        finally:
            c.close()

    def poll_kube(self):
        try:
            pods = self.api(f"/api/v1/namespaces/{self.ns}/pods")
            crs = self.api(f"/apis/neo4j.graphops.io/v1alpha1/namespaces/{self.ns}/neo4jclusters")
        except (OSError, ValueError):
            return
        now = time.time()
        if pods is None or crs is None:
            return
        items = [dict(o, kind="Pod") for o in pods["items"]] + [dict(o, kind="Neo4jCluster") for o in crs["items"]]
        uids = set()
        with self.lock:
            for o in items:
                if o["kind"] == "Pod":
                    uid, name = o["metadata"]["uid"], o["metadata"]["name"]
                    uids.add(uid)
                    self.seen_uids[uid] = name
                    self.first_seen.setdefault(uid, now)
                    if o["metadata"].get("deletionTimestamp") and uid not in self.deleted:
                        self.deleted[uid] = (name, now)
                    cr = any(c["type"] == "ContainersReady" and c["status"] == "True"
                             for c in (o.get("status") or {}).get("conditions") or [])
                    if cr and uid not in self.cready:
                        self.cready[uid] = (name, now)
                elif o["kind"] == "Neo4jCluster":
                    gen = o["metadata"]["generation"]
                    c = [c for c in (o.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"]
                    if c and c[0]["status"] == "True" and (o["status"].get("observedGeneration") == gen):
                        self.ready.setdefault((o["metadata"]["name"], gen), (now, ts(c[0].get("lastTransitionTime"))))
            for uid, name in self.seen_uids.items():
                if uid not in uids and uid not in self.deleted:
                    self.deleted[uid] = (name, now)

    def run(self):
        last_kube = 0.0
        while not self.stop.is_set():
            self.poll_sim()
            if time.monotonic() - last_kube >= 0.05:
                self.poll_kube()
                last_kube = time.monotonic()
            time.sleep(0.05)


def rolled(ns, n, image_suffix):
    pods = json.loads(kubectl("-n", ns, "get", "pods", "-o", "json").stdout)["items"]
    return len(pods) == n and all(
        p["spec"]["containers"][0]["image"].endswith(image_suffix) and not p["metadata"].get("deletionTimestamp")
        and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
        for p in pods)


def run_once(i, results):
    t = Test(f"bench-rss{i}")
    ns = t.namespace(f"bench-rss{i}")
    op = t.operator([ns])
    w = Watch(ns, ["graph"])
    try:
        op.start()
        results["rss_start_mb"].append(rss_kb(op.pid) / 1024.0)
        w.start()
        t.cluster("cluster-3.yaml", ns, "graph", edits=plain(servers=3))
        wait_ready(ns, "graph", 3, timeout=300)
        time.sleep(1)
        gen = get_cr(ns, "graph")["metadata"]["generation"]
        with w.lock:
            t_ready, t_ready_ltt = w.ready[("graph", gen)]
            t_pods = max(t for _, t in w.cready.values())
        t_sim = w.sim_avail.get("graph")
        # The last server Available in the simulator (Neo4j's own view) -> Ready.
        results["formation_delay_s"].append(t_ready - t_sim)
        results["formation_ready_vs_pods_s"].append(t_ready - t_pods)
        print(f"run {i}: formation: Ready seen {t_ready - t_sim:.2f} s after every server was Available "
              f"in the simulator (lastTransitionTime {(t_ready_ltt or 0) - t_sim:+.1f} s, 1 s resolution); "
              f"the last pod ContainersReady at {t_pods - t_sim:+.2f} s", flush=True)
        rss = sample_rss(op.pid)
        results["rss_1cluster_mb"] += rss
        results["rss_anon_1cluster_mb"] += ANON[-SAMPLES:]
        print(f"run {i}: RSS with 1 cluster: {min(rss):.1f}/{statistics.median(rss):.1f}/{max(rss):.1f} MB",
              flush=True)

        # The roll: per step, the re-created pod's ContainersReady -> the next deletion.
        t_patch = time.time()
        patch_cr(ns, "graph", {"spec": {"version": "5.26.13"}})
        # Ready may stay True during a roll: done = every pod on the new image and Ready.
        wait_for("the roll done", lambda: rolled(ns, 3, ":5.26.13-enterprise"), timeout=300)
        wait_ready(ns, "graph", 3, timeout=60)
        time.sleep(1)
        with w.lock:
            dels = sorted((t, n) for u, (n, t) in w.deleted.items() if t >= t_patch)
            # ContainersReady of the pods created by the roll (not of the old ones).
            new_ready = sorted((t, n) for u, (n, t) in w.cready.items()
                               if w.first_seen.get(u, 0) >= t_patch)
        steps = []
        for k in range(1, len(dels)):
            # The re-created pod of the previous step: its ContainersReady (the kubelet's
            # readiness probe) against the next deletion; negative = deleted before it.
            prev_ready = [t for t, n in new_ready if n == dels[k - 1][1]]
            if prev_ready:
                steps.append(dels[k][0] - prev_ready[0])
        if dels:
            results["roll_first_delete_s"].append(dels[0][0] - t_patch)
        results["roll_step_delay_s"] += steps
        print(f"run {i}: roll: deletions {[(n, round(t - t_patch, 1)) for t, n in dels]}, "
              f"step delays {[round(s, 2) for s in steps]} s", flush=True)
        results["rss_after_roll_mb"].append(rss_kb(op.pid) / 1024.0)
    finally:
        w.stop.set()
        t.teardown()

    # B: many small clusters in one namespace, one operator.
    t = Test(f"bench-rssm{i}")
    ns = t.namespace(f"bench-rssm{i}")
    op = t.operator([ns])
    try:
        op.start()
        for k in range(CLUSTERS):
            # 2Gi: the smallest limit that holds the derived heap + page cache + 1Gi.
            t.cluster("cluster-3.yaml", ns, f"g{k}", edits=plain(servers=SERVERS_EACH, resources={
                "requests": {"cpu": "50m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}))
        t0 = time.monotonic()
        for k in range(CLUSTERS):
            wait_ready(ns, f"g{k}", SERVERS_EACH, timeout=600)
        results["many_all_ready_s"].append(time.monotonic() - t0)
        time.sleep(2)
        rss = sample_rss(op.pid)
        results[f"rss_{CLUSTERS}clusters_mb"] += rss
        results[f"rss_anon_{CLUSTERS}clusters_mb"] += ANON[-SAMPLES:]
        print(f"run {i}: RSS with {CLUSTERS} clusters x {SERVERS_EACH}: "
              f"{min(rss):.1f}/{statistics.median(rss):.1f}/{max(rss):.1f} MB", flush=True)
    finally:
        t.teardown()


def main():
    load_env()
    envlib._done = True  # a benchmark, not a test: no check counting at exit
    results = {k: [] for k in ("rss_start_mb", "rss_1cluster_mb", "rss_anon_1cluster_mb", "formation_delay_s", "formation_ready_vs_pods_s",
                               "roll_first_delete_s",
                               "roll_step_delay_s", "rss_after_roll_mb",
                               f"rss_{CLUSTERS}clusters_mb", f"rss_anon_{CLUSTERS}clusters_mb",
                               "many_all_ready_s")}
    for i in range(RUNS):
        run_once(i, results)
    print(f"\n{RUNS} runs; RSS: {SAMPLES} samples 0.5 s apart per run; {CLUSTERS} clusters x "
          f"{SERVERS_EACH} Enterprise server(s) for the many-cluster figure")
    print(f"{'figure':34} {'min':>9} {'median':>9} {'max':>9} {'n':>4}")
    for k, v in results.items():
        if v:
            print(f"{k:34} {min(v):9.2f} {statistics.median(v):9.2f} {max(v):9.2f} {len(v):4}")
    with open(os.environ.get("BENCH_OUT", "/tmp/operator_rss.json"), "w") as f:
        json.dump(results, f)
    rss1 = statistics.median(results["rss_1cluster_mb"])
    # The operator's own delays: from the last event it waits for (the pod's ContainersReady,
    # which trails the simulator's Available by up to one readiness-probe period) to its act.
    d = results["formation_ready_vs_pods_s"] + results["roll_step_delay_s"]
    print(f"\ngoals: RSS with 1 cluster {rss1:.1f} MB (<= 10: {'met' if rss1 <= 10 else 'NOT met'}); "
          f"operator delays max {max(d) if d else float('nan'):.2f} s (<= 2: "
          f"{'met' if d and max(d) <= 2 else 'NOT met'})")


if __name__ == "__main__":
    try:
        main()
    except subprocess.TimeoutExpired as e:
        print("timeout:", e)
        sys.exit(1)
