#!/usr/bin/env python3
"""/metrics, /healthz and /readyz of `neo4j-operator run` against the test environment.

The operators run under a ServiceAccount of the test's namespace (a token from
TokenRequest), so the test can take permissions away and give them back:

  1. A starts while its identity may list every watched kind but Neo4jBackups. Once the
     audit log shows the apiserver refusing that list (403) and granting the eleven others,
     caches cannot sync: /readyz is 503, /healthz 200, /metrics parses. RBAC is fixed (a
     RoleBinding to the operator's ClusterRole): /readyz turns 200 after "caches synced".
  2. /metrics parses with prometheus_client's text parser (the reference parser), and its
     families are exactly the contract's (issue 13), each with its type; Content-Type is
     the 0.0.4 text format's.
  3. The example cluster (examples/cluster-3.yaml) becomes Ready: neo4j_operator_cluster_ready
     1, three servers Enabled/Available, the condition samples, and the reconcile totals
     grow when a label change enqueues it.
  4. B, a second replica with the same Lease, is ready (200) but idle: its
     leader_election_master_status is 0, the cluster's key waits in its queue (depth >= 1)
     and its reconcile totals stay 0, while A's grow after a label change; B exports the
     per-cluster gauges from its cache too.
  5. SIGTERM to A: B takes over (master status 1) and reconciles.
  /healthz is 200 throughout; no value of the admin Secret, nor the operator's token,
  appears in any scrape; a replica whose metrics port is taken exits 1 naming it.
"""
import base64
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from e2elib import (GROUP, ROOT, Operator, apply_cr, audit_mark, audit_since,  # noqa: E402
                    check, cluster_doc, kjson, kubectl, run, say, unique_name, wait_for,
                    wait_ready)

CACHE = os.environ.get("TESTENV_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "neo4j-operator-testenv")
NAME = "graph"
SA = "metrics-op"
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Issue 13's contract (docs/monitoring/metrics.md lists the same names).
CONTRACT = {
    "controller_runtime_reconcile_total": "counter",
    "controller_runtime_reconcile_errors_total": "counter",
    "controller_runtime_terminal_reconcile_errors_total": "counter",
    "controller_runtime_reconcile_time_seconds": "histogram",
    "controller_runtime_max_concurrent_reconciles": "gauge",
    "controller_runtime_active_workers": "gauge",
    "workqueue_depth": "gauge",
    "workqueue_adds_total": "counter",
    "workqueue_retries_total": "counter",
    "workqueue_queue_duration_seconds": "histogram",
    "workqueue_work_duration_seconds": "histogram",
    "workqueue_unfinished_work_seconds": "gauge",
    "workqueue_longest_running_processor_seconds": "gauge",
    "rest_client_requests_total": "counter",
    "rest_client_request_duration_seconds": "histogram",
    "leader_election_master_status": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_virtual_memory_bytes": "gauge",
    "process_cpu_seconds_total": "counter",
    "process_open_fds": "gauge",
    "process_max_fds": "gauge",
    "process_start_time_seconds": "gauge",
    "neo4j_operator_build_info": "gauge",
    "neo4j_operator_cluster_ready": "gauge",
    "neo4j_operator_cluster_condition": "gauge",
    "neo4j_operator_cluster_servers": "gauge",
    "neo4j_operator_cluster_desired_servers": "gauge",
    "neo4j_operator_cluster_update_pending": "gauge",
    "neo4j_operator_certificate_expiry_timestamp_seconds": "gauge",
    "neo4j_operator_backup_last_success_timestamp_seconds": "gauge",
    "neo4j_operator_backup_next_schedule_timestamp_seconds": "gauge",
    "neo4j_operator_backup_healthy": "gauge",
    "neo4j_operator_steps_total": "counter",
    "neo4j_operator_rolling_pod_deletions_total": "counter",
    "neo4j_operator_bolt_errors_total": "counter",
}
WATCHED = {"neo4jclusters", "neo4jbackups", "statefulsets", "services", "configmaps",
           "serviceaccounts", "poddisruptionbudgets", "networkpolicies", "pods",
           "persistentvolumeclaims", "jobs", "cronjobs"}


DOC = os.path.join(ROOT, "docs", "monitoring", "metrics.md")
ROW = re.compile(r"^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)` \| (counter|gauge|histogram) \| ([^|]*)\|")


def documented():
    """{family: (type, {labels})} of docs/monitoring/metrics.md's table, or None without
    the file. The table's format is described in the file itself."""
    if not os.path.exists(DOC):
        return None
    out, inside = {}, False
    with open(DOC) as f:
        for ln in f:
            if "metrics-table:begin" in ln:
                inside = True
            elif "metrics-table:end" in ln:
                inside = False
            elif inside and (m := ROW.match(ln)):
                out[m.group(1)] = (m.group(2), set(re.findall(r"`([a-zA-Z_][a-zA-Z0-9_]*)`",
                                                             m.group(3))))
    return out


def parser():
    sys.path.insert(0, os.path.join(CACHE, "py"))
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as e:
        raise RuntimeError(f"prometheus_client is not in {CACHE}/py: run hack/install-deps ({e})")
    return text_string_to_metric_families


PARSE = None


def http(port, path):
    """(status, Content-Type, body) of GET 127.0.0.1:port/path."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type"), e.read().decode()


class Endpoints:
    """The ports an operator logged in its "serving metrics and health" record."""

    def __init__(self, op):
        self.op = op
        rec = wait_for(f"{op.log_path}: 'serving metrics and health'",
                       lambda: next((r for r in op.log_records()
                                     if r.get("msg") == "serving metrics and health"), None),
                       timeout=60, interval=0.2)
        self.metrics_port = rec["metrics_port"]
        self.health_port = rec["health_port"]
        self.scrapes = []

    def status(self, path):
        return http(self.health_port, path)[0]

    def healthy(self, when):
        s, _, body = http(self.health_port, "/healthz")
        check(s == 200, f"{self.op.log_path}: /healthz 200 {when} (got {s}: {body.strip()})")

    def scrape(self):
        """{(sample name, frozenset(labels)): value}, after checking the scrape parses."""
        s, ctype, text = http(self.metrics_port, "/metrics")
        if s != 200:
            raise RuntimeError(f"/metrics answered {s}")
        check(ctype == METRICS_TYPE, f"/metrics Content-Type {ctype!r}")
        self.scrapes.append(text)
        out = {}
        for fam in PARSE(text):
            for smp in fam.samples:
                out[(smp.name, frozenset(smp.labels.items()))] = smp.value
        return out


def value(samples, metric, /, **labels):
    return samples.get((metric, frozenset(labels.items())))


def total(samples, metric, /, **labels):
    """Sum of the samples of metric whose labels include these."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == metric and want <= set(ls))


def reconciles(samples):
    return total(samples, "controller_runtime_reconcile_total", controller="neo4jcluster")


def families(text):
    """{family: type} from the TYPE lines, and the names announced more than once."""
    seen, dup = {}, []
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            _, _, name, typ = ln.split(" ", 3)
            if name in seen:
                dup.append(name)
            seen[name] = typ
    return seen, dup


def kubeconfig(t, ns, token):
    """A kubeconfig for the ServiceAccount: the test bed's server and CA, the token."""
    view = json.loads(kubectl("config", "view", "--raw", "-o", "json", "--kubeconfig",
                              os.environ["TESTENV_OPERATOR_KUBECONFIG"], check=True).stdout)
    cluster = view["clusters"][0]
    cfg = {"apiVersion": "v1", "kind": "Config", "clusters": [cluster],
           "users": [{"name": SA, "user": {"token": token}}],
           "contexts": [{"name": SA, "context": {"cluster": cluster["name"], "user": SA,
                                                  "namespace": ns}}],
           "current-context": SA}
    path = os.path.join(t.tmp, "metrics-op.kubeconfig")
    with open(path, "w") as f:
        json.dump(cfg, f)
    os.chmod(path, 0o600)
    return path


def rbac_without_backup_lists(ns):
    """A Role with the operator ClusterRole's rules in ns, but no list/watch of
    Neo4jBackups; and the Lease rights (the Lease lives in ns)."""
    rules = []
    for r in kjson("get", "clusterrole", "neo4j-operator")["rules"]:
        r = {k: v for k, v in r.items() if k in ("apiGroups", "resources", "verbs", "resourceNames")}
        if "neo4jbackups" in r.get("resources", []) and {"list", "watch"} & set(r["verbs"]):
            r["resources"] = [x for x in r["resources"] if x != "neo4jbackups"]
            if not r["resources"]:
                continue
        rules.append(r)
    rules.append({"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
                  "verbs": ["get", "create", "update"]})
    docs = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "metrics-op-partial", "namespace": ns}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "metrics-op-partial", "namespace": ns},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "metrics-op-partial"},
         "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": ns}]},
    ]
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                 "items": docs}), check=True)


def grant_all(ns):
    doc = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
           "metadata": {"name": "metrics-op-full", "namespace": ns},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "neo4j-operator"},
           "subjects": [{"kind": "ServiceAccount", "name": SA, "namespace": ns}]}
    kubectl("apply", "-f", "-", input=json.dumps(doc), check=True)


def lists_in(mark, user, ns):
    """{resource: set of response codes} of the user's list requests in ns since mark."""
    out = {}
    for ev in audit_since(mark, user=user):
        ref = ev.get("objectRef") or {}
        code = (ev.get("responseStatus") or {}).get("code")
        if ev.get("verb") == "list" and ref.get("namespace") == ns and code:
            out.setdefault(ref.get("resource"), set()).add(code)
    return out


def body(t):
    global PARSE
    PARSE = parser()
    ns = t.namespace("metrics")
    lease = unique_name("metrics-le")
    user = f"system:serviceaccount:{ns}:{SA}"
    kubectl("-n", ns, "create", "serviceaccount", SA, check=True)
    rbac_without_backup_lists(ns)
    token = kubectl("-n", ns, "create", "token", SA, "--duration=2h", check=True).stdout.strip()
    kc = kubeconfig(t, ns, token)

    def operator(tag):
        op = Operator(t.tmp, [ns], lease_id=lease, tag=tag,
                      extra_args=["--kubeconfig", kc, "--leader-election-namespace", ns,
                                  "--workers", "2"])
        t.operators.append(op)
        op.start()
        return op

    # 1. No list of Neo4jBackups: the caches cannot sync, /readyz says so.
    mark = audit_mark()
    a = operator("a")
    ea = Endpoints(a)

    def refused():
        got = lists_in(mark, user, ns)
        done = got.get("neo4jbackups") == {403} and all(
            got.get(r) == {200} for r in WATCHED - {"neo4jbackups"})
        return got if done else None
    got = wait_for("the apiserver refusing A's list of Neo4jBackups and granting the others",
                   refused, timeout=60, interval=0.5)
    say(f"lists by A: {got}")
    s = ea.status("/readyz")
    check(s == 503, f"/readyz is 503 while a cache cannot sync (got {s})")
    check(not any(r.get("msg") == "caches synced" for r in a.log_records()),
          "A has not logged 'caches synced' without the Neo4jBackup list")
    ea.healthy("before the caches synced")
    before = ea.scrape()
    check(value(before, "leader_election_master_status", name=lease) in (0, 1),
          "leader_election_master_status is exported before the caches sync")

    grant_all(ns)
    wait_for("A's /readyz 200 once RBAC allows the list", lambda: ea.status("/readyz") == 200,
             timeout=120, interval=0.5)
    check(any(r.get("msg") == "caches synced" for r in a.log_records()),
          "A logged 'caches synced' before /readyz turned 200")
    ea.healthy("after the caches synced")

    # 2. The families: exactly the documented ones (the contract's while the doc is
    # absent), each announced once, with its type and documented labels only.
    wait_for("A leads", lambda: value(ea.scrape(), "leader_election_master_status",
                                      name=lease) == 1, timeout=60, interval=0.5)
    text = ea.scrapes[-1]
    fams, dup = families(text)
    check(not dup, f"each family announced once: {dup}")
    doc = documented()
    if doc is not None:
        check({n: ty for n, (ty, _) in doc.items()} == CONTRACT,
              f"{DOC} lists the contract's families with their types: "
              f"{sorted(set(doc) ^ set(CONTRACT))}")
    want = {n: ty for n, (ty, _) in doc.items()} if doc is not None else CONTRACT
    missing = {n: ty for n, ty in want.items() if fams.get(n) != ty}
    check(not missing, f"every family with its type: missing or mistyped {missing} "
          f"(have {sorted(fams)})")
    extra = sorted(set(fams) - set(want))
    check(not extra, f"no family outside {'the doc' if doc is not None else 'the contract'}: "
          f"{extra}")
    if doc is not None:
        bad = set()
        for fam in PARSE(text):
            name = fam.name + "_total" if fam.name + "_total" in doc else fam.name
            allowed = doc.get(name, ("", set()))[1] | ({"le"} if fam.type == "histogram" else set())
            bad |= {(name, k) for smp in fam.samples for k in smp.labels if k not in allowed}
        check(not bad, f"only documented labels: {sorted(bad)}")
    smp = ea.scrape()
    check(value(smp, "controller_runtime_max_concurrent_reconciles",
                controller="neo4jcluster") == 2, "max_concurrent_reconciles = --workers 2")
    version, render = build_version()
    check(value(smp, "neo4j_operator_build_info", version=version, render_version=render) == 1,
          f"build_info{{version={version!r},render_version={render!r}}} 1")

    # 3. A Ready cluster.
    cr = cluster_doc("cluster-3.yaml", ns, NAME)
    apply_cr(cr)
    t.clusters.append((ns, NAME))
    wait_ready(ns, NAME, 3, timeout=300)
    key = {"namespace": ns, "name": NAME}
    smp = wait_for("A's cluster_ready 1", lambda: (lambda m: m if value(
        m, "neo4j_operator_cluster_ready", **key) == 1 else None)(ea.scrape()),
        timeout=30, interval=0.5)
    check(value(smp, "neo4j_operator_cluster_servers", state="Enabled", health="Available",
                **key) == 3, "three servers Enabled and Available")
    check(total(smp, "neo4j_operator_cluster_servers", **key) == 3, "three servers in all")
    check(value(smp, "neo4j_operator_cluster_desired_servers", **key) == 3, "desired servers 3")
    check(value(smp, "neo4j_operator_cluster_condition", condition="Ready", status="true",
                **key) == 1, "condition Ready true")
    check(value(smp, "neo4j_operator_cluster_update_pending", **key) == 0, "no update pending")
    check(total(smp, "neo4j_operator_steps_total") > 0, "steps were counted")
    check(total(smp, "rest_client_requests_total") > 0, "API requests were counted")
    check(total(smp, "workqueue_adds_total") > 0, "workqueue adds were counted")
    check(value(smp, "controller_runtime_reconcile_time_seconds_count",
                controller="neo4jcluster") > 0, "reconcile durations were observed")
    r0 = reconciles(smp)
    check(r0 > 0, f"A's neo4jcluster reconciles counted ({r0})")
    ea.healthy("with a Ready cluster")

    # 4. B follows: ready, idle, and exports the cluster's gauges from its cache.
    b = operator("b")
    eb = Endpoints(b)
    wait_for("B's /readyz 200 (followers are ready)", lambda: eb.status("/readyz") == 200,
             timeout=90, interval=0.5)
    sb = wait_for("B's cache has the Ready cluster", lambda: (lambda m: m if value(
        m, "neo4j_operator_cluster_ready", **key) == 1 else None)(eb.scrape()),
        timeout=30, interval=0.5)
    check(value(sb, "leader_election_master_status", name=lease) == 0,
          "B's leader_election_master_status is 0")
    ra = reconciles(ea.scrape())
    kubectl("-n", ns, "label", f"neo4jclusters.{GROUP}/{NAME}", "metrics-test=poke",
            "--overwrite", check=True)
    wait_for("A reconciles after the label change",
             lambda: reconciles(ea.scrape()) > ra, timeout=60, interval=0.5)
    # B's handlers queued the cluster's key as A's did (a key stays queued once, however
    # often it is added again); with no worker it stays there, unreconciled.
    sb = wait_for("the cluster's key waits in B's queue",
                  lambda: (lambda m: m if total(m, "workqueue_depth") >= 1 else None)(
                      eb.scrape()), timeout=60, interval=0.5)
    check(total(sb, "workqueue_adds_total") >= 1, "B's handlers added keys")
    check(total(sb, "controller_runtime_reconcile_total") == 0,
          f"B reconciled nothing: {total(sb, 'controller_runtime_reconcile_total')}")
    check(total(sb, "controller_runtime_active_workers") == 0, "B has no active worker")
    check(value(sb, "leader_election_master_status", name=lease) == 0, "B still follows")
    ea.healthy("with a follower")
    eb.healthy("as a follower")

    # A third replica told to bind A's metrics port exits 1 naming the address, as
    # controller-runtime does (a pod without its probe port would only be killed later).
    taken = f"127.0.0.1:{ea.metrics_port}"
    c = Operator(t.tmp, [ns], lease_id=lease, tag="c",
                 extra_args=["--kubeconfig", kc, "--leader-election-namespace", ns,
                             "--metrics-bind-address", taken])
    c.start()
    try:
        rc = c.proc.wait(60)
    except Exception:  # noqa: BLE001 - still running: the check below fails
        rc = None
    c.stop()
    failed = next((r for r in c.log_records() if r.get("msg") == "start-up failed"), {})
    check(rc == 1 and taken in failed.get("error", ""),
          f"an operator whose metrics port is taken exits 1 naming it (rc {rc}, {failed})")

    # 5. A goes: B takes over and works.
    forbidden = [token]
    sec = kjson("-n", ns, "get", "secret", f"{NAME}-admin")
    forbidden += [base64.b64decode(v).decode(errors="replace") for v in (sec.get("data") or {}).values()]
    ea.scrape()
    rc = a.stop()
    check(rc == 0, f"A exits 0 on SIGTERM ({rc})")
    wait_for("B leads (master status 1)", lambda: value(
        eb.scrape(), "leader_election_master_status", name=lease) == 1, timeout=30,
        interval=0.5)
    kubectl("-n", ns, "label", f"neo4jclusters.{GROUP}/{NAME}", "metrics-test=poke2",
            "--overwrite", check=True)
    wait_for("B reconciles once it leads", lambda: reconciles(eb.scrape()) > 0, timeout=60,
             interval=0.5)
    eb.healthy("as the new leader")

    # No secret in any scrape.
    leaked = [i for i, text in enumerate(ea.scrapes + eb.scrapes)
              if any(len(f) >= 8 and f in text for f in forbidden)]
    check(len(forbidden) >= 2 and not leaked,
          f"no admin Secret value nor token in /metrics ({len(forbidden)} values, "
          f"{len(ea.scrapes + eb.scrapes)} scrapes, leaked in {leaked})")


def build_version():
    """(version, render version) from `neo4j-operator version`: "neo4j-operator V (render R)"."""
    from envlib import operator as op
    words = op("version", check=True).stdout.replace("(", " ").replace(")", " ").split()
    return words[1], words[-1]


run("metrics", body)
