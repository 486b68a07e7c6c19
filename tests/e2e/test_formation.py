#!/usr/bin/env python3
"""Formation (DESIGN §4): a 3-server and a 5-server Enterprise cluster (simulator) and the
Community standalone (real Neo4j 5.26) become Ready under one operator process watching
their three namespaces.

- `kubectl wait --for=condition=Ready n4jc/graph` returns for both clusters.
- status (§1): observedGeneration, phase Ready, readyServers N/N, replicas N, every
  condition with the current observedGeneration (Ready/Available True; Degraded, Stalled,
  Reconciling, UpdatePending False), every server Enabled/Available with the serverId the
  simulator has, hosting as the simulator says, systemLeader = the simulator's leader,
  the declared database online with its topology.
- Readiness gate (§8.6): polled during formation, no pod has neo4j.graphops.io/server-ready
  True while its server is not Enabled (Free, or not yet joined).
- Community: Ready, one entry in status.servers, no cluster command (no ENABLE in the
  operator's log lines for its namespace).
- RBAC: the operator, under its own ServiceAccount, got no 403 from the apiserver.
"""
import os
import re

from e2elib import (Sampler, audit_mark, audit_since, brief, check, denied, expect_converged, gate_sample,
                    gate_violations, get_cr, kubectl_wait_ready, run, say, scoped, sim_dir, wait_cond, writes)

# The Cypher command, the step kind (n4j_step_kind_name) or a snake_case spelling of it; not
# "Enabled" (a server state) nor "enabled" (a spec field).
ENABLE = re.compile(r"\bENABLE\b|EnableServer|enable_server|ENABLE_SERVER")


def body(t):
    ns3, ns5, nsce = t.namespace("e2e-form3"), t.namespace("e2e-form5"), t.namespace("e2e-formce")
    mark = audit_mark()
    op = t.operator([ns3, ns5, nsce])
    op.start()
    t.cluster("cluster-3.yaml", ns3)
    t.cluster("cluster-3.yaml", ns5, edits=lambda cr: cr["spec"].update(servers=5))
    t.cluster("standalone-community.yaml", nsce)

    with Sampler(lambda: gate_sample(ns3, "graph")) as s3, Sampler(lambda: gate_sample(ns5, "graph")) as s5:
        for ns in (ns5, ns3):
            p = kubectl_wait_ready(ns, "graph", timeout=240)
            check(p.returncode == 0, f"kubectl wait --for=condition=Ready n4jc/graph -n {ns}: "
                  f"{p.stdout.strip()} {p.stderr.strip()}")
    for ns, s, n in ((ns3, s3, 3), (ns5, s5, 5)):
        say(f"{ns}: {len(s.samples)} gate samples, {len(s.errors)} failed polls")
        check(len(s.samples) >= 10, f"{ns}: the gate was sampled during formation ({len(s.samples)} samples)")
        v = gate_violations(s.samples)
        check(not v, f"{ns}: no pod had the server-ready gate True while its server was not Enabled: {v[:5]}")
        seen = {pn for _, smp in s.samples for pn, (g, st) in smp.items() if st is not None}
        check(len(seen) == n, f"{ns}: the sampler saw all {n} servers in the simulator: {sorted(seen)}")

    expect_converged(ns3, "graph", 3)
    expect_converged(ns5, "graph", 5)

    # A server of the 5 that joined after bootstrap was Free: the operator enabled it and said so.
    free5 = {pn for _, smp in s5.samples for pn, (g, st) in smp.items() if st == "Free"}
    say(f"{ns5}: servers seen Free during formation: {sorted(free5)}")
    if free5:
        check(any(ENABLE.search(ln) and ns5 in ln for ln in op.log_text().splitlines()),
              f"{ns5}: the operator's log names the ENABLE of the Free servers {sorted(free5)}")

    # Community: the real Neo4j, no cluster commands.
    cr = wait_cond(nsce, "graph-ce", "Ready", "True", timeout=180)
    st = cr.get("status") or {}
    check([s.get("pod") for s in st.get("servers") or []] == ["graph-ce-0"],
          f"Community: status.servers has the one server: {st.get('servers')}")
    expect_converged(nsce, "graph-ce", 1, sim=False)
    ce_lines = [ln for ln in op.log_text().splitlines() if nsce in ln]
    check(ce_lines, f"the operator logged something about {nsce}")
    enables = [ln for ln in ce_lines if ENABLE.search(ln)]
    check(not enables, f"Community: no cluster command (ENABLE) was sent: {enables[:3]}")
    check(not os.path.exists(sim_dir(nsce, "graph-ce")), "Community runs no simulator (a real Neo4j)")

    # The operator's own identity did the work, and RBAC never refused it.
    ev = scoped(audit_since(mark), (ns3, ns5, nsce), (op.lease_id,))
    mine = [e for e in writes(ev) if (e.get("objectRef") or {}).get("namespace") in (ns3, ns5, nsce)]
    check(any((e.get("objectRef") or {}).get("resource") == "statefulsets" for e in mine),
          f"the StatefulSets were written by the operator's ServiceAccount ({len(mine)} writes)")
    d = denied(ev)
    check(not d, f"no request of the operator was refused (403): {[brief(e) for e in d[:5]]}")
    check(get_cr(ns3, "graph") is not None and op.alive(), "the operator is still running")


run("formation", body)
