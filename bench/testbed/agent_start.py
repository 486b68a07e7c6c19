#!/usr/bin/env python3
"""Time from applying a rendered CR to all of its pods ContainersReady, on the test bed's
node agent (docs/performance.md, "Test bed: the node agent"): a standalone Community CR
(a real Neo4j 5.26 starting on a fresh volume) and a 3-server Enterprise CR (simulator
members forming a cluster), ROUNDS times each (default 3).

    hack/test-env up && python3 bench/testbed/agent_start.py [ROUNDS]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "env"))
import envlib  # noqa: E402
from agentlib import apply, cleanup, render, wait_containers_ready  # noqa: E402
from envlib import load_env, restricted_namespace  # noqa: E402

load_env()
envlib._done = True  # a benchmark, not a test: no checks


def small(cr):
    cr["spec"].pop("databases", None)
    cr["spec"].pop("aliases", None)
    cr["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


times = {}
for rnd in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    for cr, pods in (("standalone-community.yaml", ["graph-ce-0"]),
                     ("cluster-3.yaml", ["graph-0", "graph-1", "graph-2"])):
        ns = f"bench-agent-{rnd}-{len(pods)}"
        restricted_namespace(ns)
        _, objs = render(os.path.join(envlib.ROOT, "examples", cr), ns, small)
        t = time.monotonic()
        apply(objs, "bench-password-123")
        for p in pods:
            wait_containers_ready(ns, p, timeout=300)
        times.setdefault(cr, []).append(time.monotonic() - t)
        cleanup(ns)
for cr, ts in times.items():
    ts.sort()
    print(f"{cr}: applied -> all ContainersReady min {ts[0]:.1f} s, median {ts[len(ts) // 2]:.1f} s, "
          f"max {ts[-1]:.1f} s ({len(ts)} runs)")
