#!/usr/bin/env python3
"""kill -9 of the operator at random moments (DESIGN §3 "Level-triggered", §7.4): 20 kills,
from a seeded RNG (seed printed; E2E_CHAOS_SEED replays a run), spread over the formation
of a 3-server cluster, a scale 3 -> 4, a scale 4 -> 3 and an image roll (5.26.12 -> 5.26.13).
After each kill the operator is started again (its Lease deleted: the dead holder cannot
renew it, so this only skips leaseDuration). Every phase must converge: Ready with the
expected servers. Throughout, a monitor polls the cluster simulator's state and the pods:

- no server is DROPped while it still hosts a database copy (the previous observation of a
  server now Dropped shows it Deallocated with nothing hosted);
- no ordinal (pod name) is ever Enabled under two server ids (a wiped or re-created volume
  enabled as a new server next to, or instead of, the old one);
- no database ever has no copy left on a non-dropped server;
- during the roll, never two servers down at once: a pod absent, terminating or not
  ContainersReady, or a simulated server stopped, counts as down.

The bugs it catches: a step re-run after a crash that was already done (double ENABLE of a
re-created server, a second pod deleted before the first is back), a scale-in whose crash
between DEALLOCATE and DROP ends in a DROP of a server that got copies back, a roll that
loses track of the pod it deleted, an operator that never converges once restarted mid-step.
"""
import os
import random
import threading
import time

from e2elib import check, kjson, patch_cr, plain, run, say, sim_try_dump, wait_for, wait_ready

SEED = int(os.environ.get("E2E_CHAOS_SEED") or random.SystemRandom().randrange(1 << 30))
NAME = "graph"

# phase: (kills, window in s over which they are spread: about the phase's length)
PHASES = [("formation", 6, 25.0), ("scale 3->4", 4, 15.0), ("scale 4->3", 5, 20.0), ("roll", 5, 40.0)]
assert sum(p[1] for p in PHASES) == 20


class Monitor(threading.Thread):
    def __init__(self, ns):
        super().__init__(daemon=True)
        self.ns = ns
        self.stop = threading.Event()
        self.roll = threading.Event()
        self.violations = []
        self.last = {}           # server id -> (state, hosting) last seen
        self.enabled_ids = {}    # name -> {ids seen Enabled}
        self.max_down = 0
        self.polls = 0
        self.dbs = set()

    def bad(self, what):
        if what not in self.violations:
            self.violations.append(what)
            print("VIOLATION", what, flush=True)

    def check_dump(self, d):
        servers = d.get("servers") or []
        for s in servers:
            prev = self.last.get(s["id"])
            # The simulator refuses DROP unless Deallocated; what the operator must never
            # do is get there with copies still on the server. A server with nothing to
            # move goes Cordoned -> Deallocated -> Dropped between two polls.
            if s["state"] == "Dropped" and prev and prev[0] != "Dropped" and prev[1]:
                self.bad(f"server {s['name']} ({s['id']}) dropped from state {prev[0]} hosting {prev[1]}")
            if s["state"] == "Dropped" and s.get("hosting"):
                self.bad(f"server {s['name']} Dropped while hosting {s['hosting']}")
            if s["state"] == "Enabled":
                ids = self.enabled_ids.setdefault(s["name"], set())
                ids.add(s["id"])
                if len(ids) > 1:
                    self.bad(f"ordinal {s['name']} enabled under several server ids: {sorted(ids)}")
            self.last[s["id"]] = (s["state"], [h["db"] for h in s.get("hosting") or []])
        live = [s for s in servers if s["state"] != "Dropped"]
        hosted = {h["db"] for s in live for h in s.get("hosting") or []}
        for db in d.get("databases") or []:
            self.dbs.add(db["name"])
        for db in self.dbs & {x["name"] for x in d.get("databases") or []}:
            if d.get("formed") and db not in hosted:
                self.bad(f"database {db} has no copy on a live server")
        return sum(1 for s in live if s.get("stopped"))

    def pods_down(self):
        pods = {p["metadata"]["name"]: p for p in kjson("-n", self.ns, "get", "pods")["items"]}
        sts = kjson("-n", self.ns, "get", "statefulset", NAME)
        n = sts["spec"]["replicas"]
        down = []
        for k in range(n):
            p = pods.get(f"{NAME}-{k}")
            ok = p is not None and not p["metadata"].get("deletionTimestamp") and any(
                c["type"] == "ContainersReady" and c["status"] == "True"
                for c in (p.get("status") or {}).get("conditions") or [])
            if not ok:
                down.append(f"{NAME}-{k}")
        return down

    def run(self):
        while not self.stop.is_set():
            try:
                d = sim_try_dump(self.ns, NAME)
                stopped = self.check_dump(d) if d else 0
                if self.roll.is_set():
                    down = self.pods_down()
                    worst = max(len(down), stopped)
                    self.max_down = max(self.max_down, worst)
                    if worst > 1:
                        self.bad(f"two servers down at once during the roll: pods {down}, stopped {stopped}")
                self.polls += 1
            except Exception as e:  # noqa: BLE001  (a transient kubectl failure: poll again)
                print("monitor:", e, flush=True)
            time.sleep(0.25)


def body(t):
    say(f"chaos seed: {SEED} (E2E_CHAOS_SEED={SEED} replays these kill moments)")
    rng = random.Random(SEED)
    ns = t.namespace("e2e-chaos")
    op = t.operator([ns])

    def chaos_phase(name, kills, window, expect, timeout):
        """Kills the operator `kills` times at sorted random moments within `window` seconds of
        the phase's start, restarting it each time (after 0-1 s), then waits for convergence."""
        t0 = time.monotonic()
        moments = sorted(rng.uniform(0.5, window) for _ in range(kills))
        print(f"{name}: kill at {', '.join(f'{m:.1f}' for m in moments)} s", flush=True)
        for m in moments:
            delay = t0 + m - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            op.kill9()
            time.sleep(rng.uniform(0, 1.0))
            op.start()
        t1 = time.monotonic()
        wait_ready(ns, NAME, expect, timeout=timeout)
        print(f"{name}: converged {time.monotonic() - t1:.1f} s after the last restart "
              f"({time.monotonic() - t0:.1f} s in all)", flush=True)
        return True

    def rolled(image_suffix):
        pods = kjson("-n", ns, "get", "pods", "-l", f"app.kubernetes.io/instance={NAME}")["items"]
        return len(pods) == 3 and all(
            p["spec"]["containers"][0]["image"].endswith(image_suffix) and not p["metadata"].get("deletionTimestamp")
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or [])
            for p in pods)

    def server_ids():
        """pod -> serverId of the cluster's servers in the status (Dropped ones aside)."""
        return {s["pod"]: s.get("serverId") for s in kjson("-n", ns, "get", "neo4jcluster", NAME)["status"]["servers"]
                if s.get("state") != "Dropped"}

    mon = Monitor(ns)
    t_start = time.monotonic()
    try:
        op.start()
        mon.start()
        t.cluster("cluster-3.yaml", ns, NAME, edits=plain(servers=3))
        check(chaos_phase("formation", PHASES[0][1], PHASES[0][2], 3, 240), "formation converges through 6 kills")
        ids0 = server_ids()

        patch_cr(ns, NAME, {"spec": {"servers": 4}})
        check(chaos_phase("scale 3->4", PHASES[1][1], PHASES[1][2], 4, 180), "scale 3->4 converges through 4 kills")

        patch_cr(ns, NAME, {"spec": {"servers": 3}})
        check(chaos_phase("scale 4->3", PHASES[2][1], PHASES[2][2], 3, 180), "scale 4->3 converges through 5 kills")
        sts = kjson("-n", ns, "get", "statefulset", NAME)
        check(sts["spec"]["replicas"] == 3, f"the StatefulSet is back to 3 replicas ({sts['spec']['replicas']})")
        d = sim_try_dump(ns, NAME) or {}
        dropped = [s["name"] for s in d.get("servers", []) if s["state"] == "Dropped"]
        check(dropped == [f"{NAME}-3"], f"exactly the 4th server was dropped: {dropped}")

        mon.roll.set()
        patch_cr(ns, NAME, {"spec": {"version": "5.26.13"}})
        check(chaos_phase("roll", PHASES[3][1], PHASES[3][2], 3, 300), "the roll converges through 5 kills")
        # Ready may stay True while a roll goes on: the roll is done when every pod runs the
        # new image and is Ready again.
        wait_for("every pod on 5.26.13 and Ready", lambda: rolled(":5.26.13-enterprise"), timeout=240)
        wait_ready(ns, NAME, 3, timeout=60)
        mon.roll.clear()
        pods = kjson("-n", ns, "get", "pods", "-l", f"app.kubernetes.io/instance={NAME}")["items"]
        images = sorted({p["spec"]["containers"][0]["image"] for p in pods})
        check(len(pods) == 3 and all(i.endswith(":5.26.13-enterprise") for i in images),
              f"every pod runs the new image: {images}")
        ids1 = server_ids()
        check(ids1 == ids0, f"the roll kept every server id: {ids0} -> {ids1}")
        mon.stop.set()
        mon.join(5)
        print(f"monitor: {mon.polls} polls, at most {mon.max_down} server(s) down at once in the roll", flush=True)
        check(mon.polls > 50, f"the monitor really polled ({mon.polls})")
        check(not mon.violations, f"no unsafe step: {mon.violations}")
        total = time.monotonic() - t_start
        print(f"chaos run: {total:.0f} s, {op.starts} operator starts", flush=True)
        check(op.starts == 21, f"20 kills, 21 starts ({op.starts})")
    finally:
        mon.stop.set()


run("chaos", body)
