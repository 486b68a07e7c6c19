"""Harness of the end-to-end tests: the operator binary against the test environment.

The operator under test runs as a child process (its own process group) under its own
ServiceAccount token:

    neo4j-operator run --kubeconfig $TESTENV_OPERATOR_KUBECONFIG --namespaces NS[,NS2]
        --leader-election-namespace neo4j-system --leader-election-id ID --log-format json
        --metrics-bind-address 127.0.0.1:0 --health-probe-bind-address 127.0.0.1:0

(binary $N4J_OPERATOR_BIN, the upgrade test's $N4J_OPERATOR_NEXT_BIN). What the tests look
at: the Neo4jCluster's status and conditions (DESIGN §1), the pods and their readiness gate
(§8.6), the StatefulSet and claims, Events, the cluster simulator's `dump` of the
StatefulSet's daemon (tests/sim/README.md, "Control interface"), and the apiserver's audit
log for the operator's user (`system:serviceaccount:neo4j-system:neo4j-operator`).

A test is one `run(body)` call: body(t) gets a Test with the operator, namespaces and
helpers; on any failed check or exception the operator's log tail, every CR's status and
the pods are printed; the namespaces are deleted and the volumes recycled in any case.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "env"))
import envlib  # noqa: E402
from envlib import (ROOT, check, done, kjson, kubectl, load_env, operator,  # noqa: E402,F401
                    restricted_namespace, unique_name, wait_for)
from agentlib import GATE, testenv  # noqa: E402,F401

OPERATOR_USER = "system:serviceaccount:neo4j-system:neo4j-operator"
GROUP = "neo4j.graphops.io"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
LEADER_NS = "neo4j-system"
# Small enough for kwok's nodes (8 CPU, 32Gi each) to take 5 + 3 + 1 pods at once; 2Gi is
# the least memory limit from which the heap and page cache are derived (render refuses 1Gi).
SMALL = {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}


def operator_bin():
    return os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default", "neo4j-operator")


def next_bin():
    """The test build that claims another render version, or None when it was not built."""
    b = os.environ.get("N4J_OPERATOR_NEXT_BIN") or os.path.join(ROOT, "build", "default",
                                                                "neo4j-operator-next")
    return b if os.access(b, os.X_OK) else None


def now():
    return time.strftime("%H:%M:%S")


def say(*a):
    print(f"[{now()}]", *a, flush=True)


# ---- the operator process ----------------------------------------------------------------

class OperatorDied(Exception):
    """An operator the test expects to run has exited: waiting on would only time out.
    (Not a RuntimeError: envlib.wait_for retries those.)"""


_running = []  # Operators started and not deliberately stopped


def assert_operators_alive():
    for op in _running:
        rc = op.proc.poll()
        if rc is not None:
            _running.remove(op)
            raise OperatorDied(f"the operator (pid {op.proc.pid}) exited with {rc}; its log:\n{op.tail(30)}")

class Operator:
    """One `neo4j-operator run` process in its own process group; stdout and stderr go to
    `log_path` (appended across restarts, each start marked). Stopped by its PID only."""

    def __init__(self, tmp, namespaces, binary=None, lease_id=None, tag="operator", extra_args=()):
        self.namespaces = list(namespaces)
        self.binary = binary or operator_bin()
        self.lease_id = lease_id or unique_name("e2e-le")
        self.extra = list(extra_args)
        self.log_path = os.path.join(tmp, f"{tag}.log")
        self.proc = None
        self.starts = 0

    def argv(self):
        return [self.binary, "run", "--kubeconfig", os.environ["TESTENV_OPERATOR_KUBECONFIG"],
                "--namespaces", ",".join(self.namespaces),
                "--leader-election-namespace", LEADER_NS, "--leader-election-id", self.lease_id,
                "--log-format", "json",
                # Loopback and a free port each: several operators run at once, and the
                # test bed keeps to 127.0.0.0/8 (the ports are in the log's "serving" record).
                "--metrics-bind-address", "127.0.0.1:0",
                "--health-probe-bind-address", "127.0.0.1:0", *self.extra]

    def start(self, binary=None):
        if binary:
            self.binary = binary
        # A minimal environment: no KUBECONFIG (the admin's) nor anything else of the test's;
        # the operator gets its own kubeconfig on the command line only.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
        for k in ("N4J_CHILD_WRAPPER", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TMPDIR"):
            if k in os.environ:
                env[k] = os.environ[k]
        with open(self.log_path, "ab") as f:
            f.write(f"--- e2e: start #{self.starts} of {self.binary} at {now()}\n".encode())
            self.proc = subprocess.Popen(self.argv(), stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.starts += 1
        _running.append(self)
        say(f"operator started: pid {self.proc.pid}, {os.path.basename(self.binary)}, log {self.log_path}")
        return self.proc.pid

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig):
        # The process group is the one start_new_session made: its id is our child's PID.
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace=20):
        """SIGTERM (graceful: finishes its step, releases the Lease), then SIGKILL after
        `grace` seconds; returns the exit code."""
        if self in _running:
            _running.remove(self)
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                say(f"operator {self.proc.pid} ignored SIGTERM for {grace}s: SIGKILL")
                self._signal_group(signal.SIGKILL)
                self.proc.wait(10)
        rc = self.proc.returncode
        say(f"operator {self.proc.pid} stopped: exit {rc}")
        return rc

    def restart(self, binary=None):
        self.stop()
        return self.start(binary)

    def kill9(self):
        """SIGKILL and reap; the Lease it held is then deleted by the admin, as its expiry
        would let the next process take it over (leaseDuration later): a test that kills
        the operator looks at the reconciler, not at waiting for leases."""
        if self in _running:
            _running.remove(self)
        if self.proc is not None and self.proc.poll() is None:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(10)
        self.drop_lease()

    def drop_lease(self):
        kubectl("-n", LEADER_NS, "delete", "lease", self.lease_id, "--ignore-not-found", "--wait=false")

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_records(self):
        """The JSON log lines as dicts (other lines skipped)."""
        out = []
        for ln in self.log_text().splitlines():
            if ln.startswith("{"):
                try:
                    out.append(json.loads(ln))
                except json.JSONDecodeError:
                    pass
        return out

    def tail(self, n=80):
        return "\n".join(self.log_text().splitlines()[-n:])


# ---- the apiserver's audit log -------------------------------------------------------------

def audit_path():
    return os.environ["TESTENV_AUDIT_LOG"]


def audit_mark():
    """A position in the audit log: later calls read only what was logged after it."""
    try:
        return os.path.getsize(audit_path())
    except FileNotFoundError:
        return 0


def audit_since(mark, user=OPERATOR_USER):
    """The audit events logged after `mark` by `user` (None: everyone), one per request in
    the order first logged: its last stage (ResponseComplete, Panic), or ResponseStarted
    for a watch still open."""
    out = {}
    with open(audit_path(), "rb") as f:
        f.seek(mark)
        data = f.read()
    for ln in data.split(b"\n"):
        if not ln.strip():
            continue
        try:
            ev = json.loads(ln)
        except json.JSONDecodeError:
            continue  # a line cut at the mark or still being written at the end
        if user is not None and (ev.get("user") or {}).get("username") != user:
            continue
        key = ev.get("auditID")
        if key not in out or ev.get("stage") != "ResponseStarted":
            out[key] = ev
    return list(out.values())


def scoped(events, namespaces, lease_ids=(), cluster=False):
    """The events about the test's namespaces or its leader-election Leases: other
    operators (other tests, other worktrees) may share the apiserver and the identity.
    With cluster=True also the requests that name no namespace (cluster-scoped
    resources, lists across namespaces, discovery) and the Lease requests that name no
    Lease: they cannot be told apart by operator, so only a test that must see them
    (RBAC) takes them."""
    out = []
    for e in events:
        r = e.get("objectRef") or {}
        if r.get("namespace") in namespaces or (is_lease(e) and r.get("name") in lease_ids) \
                or (cluster and (not r.get("namespace") or (is_lease(e) and not r.get("name")))):
            out.append(e)
    return out


def is_lease(ev):
    r = ev.get("objectRef") or {}
    return r.get("apiGroup") == "coordination.k8s.io" and r.get("resource") == "leases"


def is_event(ev):
    return (ev.get("objectRef") or {}).get("resource") == "events"


# Requests with a create verb that store nothing: access and token reviews.
REVIEW_GROUPS = ("authorization.k8s.io", "authentication.k8s.io")


def writes(events, leases=False):
    """The requests that change stored state (Leases only with leases=True)."""
    return [e for e in events if e.get("verb") in WRITE_VERBS and (leases or not is_lease(e))
            and (e.get("objectRef") or {}).get("apiGroup") not in REVIEW_GROUPS]


def denied(events):
    return [e for e in events if (e.get("responseStatus") or {}).get("code") == 403]


def triple(ev):
    """(apiGroup, resource[/subresource], verb) of an audit event, as RBAC rules name it."""
    r = ev.get("objectRef") or {}
    res = r.get("resource", "") + ("/" + r["subresource"] if r.get("subresource") else "")
    return (r.get("apiGroup", ""), res, ev.get("verb", ""))


def brief(ev):
    r = ev.get("objectRef") or {}
    g, res, verb = triple(ev)
    return (f"{ev.get('stageTimestamp', '')} {verb} {g or 'core'}/{res} {r.get('namespace', '')}/"
            f"{r.get('name', '')} -> {(ev.get('responseStatus') or {}).get('code')}")


def lease_taken_after(mark, lease_id):
    """True once the operator wrote its Lease (create/update) after mark: it leads."""
    return any(is_lease(e) and (e.get("objectRef") or {}).get("name") == lease_id
               and e.get("verb") in ("create", "update")
               and (e.get("responseStatus") or {}).get("code", 0) < 300
               for e in audit_since(mark))


def wait_quiet(op, quiet_s=5.0, timeout=60):
    """Waits until op has made no write (Leases aside) in its namespaces for quiet_s;
    returns the audit mark taken then. Raises when it never stops writing: a hot loop."""
    def mine(m):
        return writes(scoped(audit_since(m), op.namespaces, (op.lease_id,)))
    deadline = time.monotonic() + timeout
    mark = audit_mark()
    last_write = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        w = mine(mark)
        end = audit_mark()
        if w:
            last_write = time.monotonic()
            mark = end
        elif time.monotonic() - last_write >= quiet_s:
            return end
    raise RuntimeError(f"the operator kept writing for {timeout}s: " + "; ".join(brief(e) for e in mine(mark))[:2000])


# ---- Neo4jCluster CRs ----------------------------------------------------------------------

def example_doc(example, ns, name=None, edits=None):
    """The CR of examples/<example> (either kind) as the apiserver would store it
    (`neo4j-operator defaults`), moved to ns and renamed; edits(cr) may change it."""
    path = example if os.path.isabs(example) else os.path.join(ROOT, "examples", example)
    cr = json.loads(operator("defaults", "-o", "json", "-f", path, check=True).stdout)
    if cr.get("kind") == "List":
        cr = cr["items"][0]
    cr["metadata"]["namespace"] = ns
    if name:
        cr["metadata"]["name"] = name
    if edits:
        edits(cr)
    return cr


def cluster_doc(example, ns, name=None, edits=None):
    """The CR of examples/<example> as the apiserver would store it (`neo4j-operator
    defaults`), moved to ns, with the test bed's StorageClass, 1Gi volumes and small
    resources; edits(cr) may change it further."""
    cr = example_doc(example, ns, name)
    data = cr["spec"].setdefault("storage", {}).setdefault("data", {})
    data["storageClassName"] = "testenv"
    data["size"] = "1Gi"
    cr["spec"]["resources"] = json.loads(json.dumps(SMALL))
    cr["spec"].pop("memory", None)  # derived from the limit
    if edits:
        edits(cr)
    return cr


def plain(**spec):
    """edits for cluster_doc: the example without its declared databases, aliases and
    topology (the CRD's defaults apply), then spec's fields set (servers=4, ...)."""
    def edit(cr):
        for k in ("databases", "aliases", "topology"):
            cr["spec"].pop(k, None)
        cr["spec"].update(spec)
    return edit


def apply_cr(cr):
    kubectl("apply", "--server-side", "--field-manager=e2e", "--force-conflicts", "-f", "-",
            input=json.dumps(cr), check=True)


def get_cr(ns, name):
    p = kubectl("-n", ns, "get", "neo4jclusters." + GROUP, name, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def patch_cr(ns, name, patch):
    """A JSON merge patch of the CR; returns its new metadata.generation."""
    p = kubectl("-n", ns, "patch", "neo4jclusters." + GROUP, name, "--type=merge", "-p", json.dumps(patch),
                "-o", "json", check=True)
    return json.loads(p.stdout)["metadata"]["generation"]


def get_backup(ns, name):
    p = kubectl("-n", ns, "get", "neo4jbackups." + GROUP, name, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def condition(cr, ctype):
    for c in ((cr or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def cond_is(cr, ctype, status, generation=None):
    """The condition has this status, for this generation (default: the CR's current)."""
    c = condition(cr, ctype)
    gen = generation if generation is not None else (cr or {}).get("metadata", {}).get("generation")
    return c is not None and c.get("status") == status and c.get("observedGeneration") == gen


def wait_cond(ns, name, ctype, status="True", timeout=180, generation=None, extra=None):
    """Waits until condition ctype has `status` with observedGeneration = the CR's
    generation (and status.observedGeneration too); extra(cr) may demand more."""
    def ok():
        assert_operators_alive()
        cr = get_cr(ns, name)
        if not cr:
            return None
        gen = generation if generation is not None else cr["metadata"]["generation"]
        if (cr.get("status") or {}).get("observedGeneration") != gen:
            return None
        if not cond_is(cr, ctype, status, gen):
            return None
        if extra and not extra(cr):
            return None
        return cr
    return wait_for(f"{ns}/{name} {ctype}={status}", ok, timeout=timeout, interval=0.5)


def servers_ready(cr, n):
    """status.servers lists n servers Enabled and Available (Dropped ones aside: SHOW
    SERVERS lists a Dropped server forever); Community, which has no server states,
    counts readyServers n/n."""
    st = cr.get("status") or {}
    servers = [s for s in st.get("servers") or [] if s.get("state") != "Dropped"]
    if any("state" in s for s in servers):
        return len(servers) == n and all(s.get("state") == "Enabled" and s.get("health") == "Available"
                                         for s in servers)
    return st.get("readyServers") == f"{n}/{n}"


def wait_ready(ns, name, n, timeout=300):
    """Waits until the CR is Ready for its current generation with n servers (servers_ready)."""
    return wait_cond(ns, name, "Ready", "True", timeout=timeout, extra=lambda cr: servers_ready(cr, n))


def kubectl_wait_ready(ns, name, timeout=240):
    """`kubectl wait --for=condition=Ready n4jc/NAME` as a user would run it (in slices of
    at most 20 s, so that an operator that died ends the wait)."""
    deadline = time.monotonic() + timeout
    while True:
        assert_operators_alive()
        left = max(1, min(20, int(deadline - time.monotonic())))
        p = kubectl("-n", ns, "wait", "--for=condition=Ready", f"n4jc/{name}", f"--timeout={left}s",
                    timeout=left + 30)
        if p.returncode == 0 or time.monotonic() >= deadline:
            return p


def events_of(ns, kind, name):
    return kjson("-n", ns, "get", "events", "--field-selector",
                 f"involvedObject.kind={kind},involvedObject.name={name}")["items"]


# ---- pods, StatefulSet, claims -------------------------------------------------------------

def pods(ns, instance):
    """{pod name: pod} of the cluster's pods (app.kubernetes.io/instance=instance)."""
    items = kjson("-n", ns, "get", "pods", "-l", f"app.kubernetes.io/instance={instance}")["items"]
    return {p["metadata"]["name"]: p for p in items}


def pod_cond(p, ctype):
    for c in ((p or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c.get("status")
    return None


def gate(p):
    return pod_cond(p, GATE)


def is_ready(p):
    return pod_cond(p, "Ready") == "True" and not p["metadata"].get("deletionTimestamp")


def sts(ns, name):
    p = kubectl("-n", ns, "get", "statefulset", name, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def sts_replicas(ns, name):
    s = sts(ns, name)
    return None if s is None else s["spec"].get("replicas")


def claim_exists(ns, claim):
    p = kubectl("-n", ns, "get", "pvc", claim, "-o", "name")
    return p.returncode == 0


# ---- the cluster simulator ---------------------------------------------------------------

def sim_dir(ns, sts_name):
    """The node agent's directory of the simulator daemon of one StatefulSet
    (hack/testenv/node-agent.py SimDaemon: <run>/agent/sim/<ns>_<sts>/)."""
    return os.path.join(os.environ["TESTENV_RUN"], "agent", "sim", f"{ns}_{sts_name}")


def sim_command(ns, sts_name, line, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(os.path.join(sim_dir(ns, sts_name), "control.sock"))
        s.sendall((line + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.decode().strip()
    finally:
        s.close()


def sim_dump(ns, sts_name):
    """The simulator's state as JSON: leader, formed, gen, servers[] (name, id, address,
    state, stopped, partitioned, member, connected, frozen, system_primary, hosting[]),
    databases[]."""
    reply = sim_command(ns, sts_name, "dump")
    if not reply.startswith("{"):
        raise RuntimeError(f"simulator dump of {ns}/{sts_name}: {reply!r}")
    return json.loads(reply)


def sim_try_dump(ns, sts_name):
    """sim_dump, or None while the StatefulSet has no simulator daemon (or it cannot answer):
    for pollers, to which a failed poll proves nothing."""
    try:
        return sim_dump(ns, sts_name)
    except (OSError, RuntimeError, ValueError):
        return None


def dump_servers(d):
    """{server name (= pod name): server} of a dump."""
    return {s["name"]: s for s in d.get("servers") or []}


def hosted(s):
    """The database names a dumped server hosts."""
    return sorted({h["db"] for h in s.get("hosting") or []})


# ---- sampling while something happens ------------------------------------------------------

class Sampler:
    """Calls fn() every `interval` seconds on a thread and keeps (time, value) samples;
    an exception is kept as the sample's error (a poll that fails proves nothing)."""

    def __init__(self, fn, interval=0.3):
        self.fn, self.interval = fn, interval
        self.samples, self.errors = [], []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            t = time.monotonic()
            try:
                self.samples.append((t, self.fn()))
            except Exception as e:  # noqa: BLE001 - a sample that failed is recorded, not fatal
                self.errors.append((t, repr(e)))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self.stop()

    def stop(self):
        self._stop.set()
        if self._t.is_alive():
            self._t.join(30)
        return self.samples


# ---- one test ------------------------------------------------------------------------------

class Test:
    """What a test body gets: its tmp dir, namespaces it made, the operators it started,
    and the clusters it created (for the diagnostics printed on failure)."""

    def __init__(self, tag):
        self.tag = tag
        base = os.environ.get("E2E_TMP") or os.path.join(ROOT, "build", "e2e-tmp")
        os.makedirs(base, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=f"{tag}-", dir=base)
        self.namespaces = []
        self.operators = []
        self.clusters = []  # (ns, name)
        say(f"e2e {tag}: logs under {self.tmp}")

    def namespace(self, prefix=None):
        ns = unique_name(prefix or f"e2e-{self.tag}")
        restricted_namespace(ns)
        self.namespaces.append(ns)
        return ns

    def operator(self, namespaces, binary=None, tag=None, extra_args=()):
        op = Operator(self.tmp, namespaces, binary=binary, tag=tag or f"operator{len(self.operators)}",
                      extra_args=extra_args)
        self.operators.append(op)
        return op

    def cluster(self, example, ns, name=None, edits=None):
        cr = cluster_doc(example, ns, name, edits)
        apply_cr(cr)
        self.clusters.append((ns, cr["metadata"]["name"]))
        say(f"applied Neo4jCluster {ns}/{cr['metadata']['name']}: servers {cr['spec'].get('servers')}")
        return cr

    def diagnose(self):
        print("=" * 30, "diagnostics", "=" * 30, flush=True)
        for op in self.operators:
            print(f"--- operator log {op.log_path} (last 80 lines; alive={op.alive()})")
            print(op.tail(80))
        for ns, name in self.clusters:
            cr = get_cr(ns, name)
            print(f"--- Neo4jCluster {ns}/{name} generation "
                  f"{(cr or {}).get('metadata', {}).get('generation')} status:")
            print(json.dumps((cr or {}).get("status"), indent=1))
            try:
                print(f"--- simulator dump {ns}/{name}:")
                print(json.dumps(sim_dump(ns, name)))
            except Exception as e:  # noqa: BLE001
                print(f"(no simulator dump: {e})")
        for ns in self.namespaces:
            print(f"--- pods of {ns}:")
            print(kubectl("-n", ns, "get", "pods", "-o", "wide").stdout)
            try:
                for n, p in pods_all(ns).items():
                    conds = {c["type"]: c["status"] for c in (p.get("status") or {}).get("conditions") or []}
                    print(f"  {n} uid={p['metadata']['uid'][:8]} phase={p['status'].get('phase')} {conds}")
            except Exception as e:  # noqa: BLE001
                print(f"(pods: {e})")
            print(f"--- events of {ns} (last 30):")
            print("\n".join(kubectl("-n", ns, "get", "events", "--sort-by=.lastTimestamp").stdout.splitlines()[-30:]))
        print("=" * 72, flush=True)

    def teardown(self):
        # CRs first, while the operator still runs (it may hold a finalizer on them).
        for ns, name in self.clusters:
            kubectl("-n", ns, "delete", "neo4jclusters." + GROUP, name, "--wait=true", "--timeout=60s", timeout=90)
        for op in self.operators:
            if op.alive():
                op.stop()
            op.drop_lease()
        for ns, name in self.clusters:
            cr = get_cr(ns, name)
            if cr and cr["metadata"].get("finalizers"):
                kubectl("-n", ns, "patch", "neo4jclusters." + GROUP, name, "--type=merge", "-p",
                        '{"metadata":{"finalizers":null}}')
        for ns in self.namespaces:
            kubectl("delete", "ns", ns, "--wait=false")
        for ns in self.namespaces:
            kubectl("wait", "--for=delete", f"ns/{ns}", "--timeout=240s", timeout=300)
        testenv("pv-recycle", check=False)


def pods_all(ns):
    return {p["metadata"]["name"]: p for p in kjson("-n", ns, "get", "pods")["items"]}


def _apply_manifests():
    """The CRDs and RBAC of this checkout, as `hack/test-env up` applies them: the tests
    judge this tree's operator against this tree's schema and permissions."""
    if os.environ.get("E2E_APPLY_MANIFESTS", "1") == "0":
        return
    for path in (os.path.join(ROOT, "crds"), os.path.join(ROOT, "manifests", "base", "rbac.yaml")):
        kubectl("apply", "--server-side", "--field-manager=testenv", "--force-conflicts", "-f", path, check=True)
    for crd in ("neo4jclusters", "neo4jbackups"):
        kubectl("wait", "--for=condition=Established", f"crd/{crd}.{GROUP}", "--timeout=60s", check=True)


def run(tag, body):
    """Runs body(t) as one test: environment loaded, manifests applied, diagnostics on
    failure, namespaces and volumes cleaned up; then envlib.done() (exit 0 or 1)."""
    load_env()
    if not os.access(operator_bin(), os.X_OK):
        print(f"FAIL: the operator binary {operator_bin()} is missing (N4J_OPERATOR_BIN)", flush=True)
        envlib._done = True
        sys.exit(1)
    _apply_manifests()
    t = Test(tag)
    started = time.monotonic()
    try:
        body(t)
    except Exception as e:  # noqa: BLE001 - a timeout or kubectl failure fails the test
        traceback.print_exc()
        check(False, f"the test body ended with {type(e).__name__}: {e}")
    finally:
        if envlib._failures:
            try:
                t.diagnose()
            except Exception:  # noqa: BLE001
                traceback.print_exc()
        try:
            t.teardown()
        except Exception:  # noqa: BLE001
            traceback.print_exc()
    say(f"e2e {tag}: {time.monotonic() - started:.0f} s")
    done()


# ---- shared judgements ---------------------------------------------------------------------

CONVERGED = {"Ready": "True", "Available": "True", "Degraded": "False", "Stalled": "False",
             "Reconciling": "False", "UpdatePending": "False"}
ALL_CONDITIONS = ("Ready", "Available", "Progressing", "Reconciling", "Degraded", "Stalled", "UpdatePending")


def status_problems(cr, n, dump=None):
    """What in a converged CR's status is wrong for n servers (and, with a simulator dump,
    what disagrees with the simulator); [] when nothing."""
    out = []
    name, gen = cr["metadata"]["name"], cr["metadata"]["generation"]
    st = cr.get("status") or {}
    if st.get("observedGeneration") != gen:
        out.append(f"status.observedGeneration {st.get('observedGeneration')} != generation {gen}")
    if st.get("phase") != "Ready":
        out.append(f"phase {st.get('phase')}")
    if st.get("readyServers") != f"{n}/{n}":
        out.append(f"readyServers {st.get('readyServers')!r}")
    if st.get("replicas") != n:
        out.append(f"status.replicas {st.get('replicas')}")
    for t in ALL_CONDITIONS:
        c = condition(cr, t)
        if c is None:
            out.append(f"condition {t} absent")
        elif c.get("observedGeneration") != gen:
            out.append(f"condition {t} observedGeneration {c.get('observedGeneration')} != {gen}")
        elif t in CONVERGED and c.get("status") != CONVERGED[t]:
            out.append(f"condition {t}={c.get('status')} ({c.get('reason')}: {c.get('message')})")
    want = {f"{name}-{i}" for i in range(n)}
    listed = {s.get("pod"): s for s in st.get("servers") or []}
    # SHOW SERVERS keeps Dropped servers (Neo4j does too): such an entry may stay, no other.
    servers = {p: s for p, s in listed.items() if not (p not in want and s.get("state") == "Dropped")}
    if set(servers) != want:
        out.append(f"status.servers pods {sorted(listed)} != {sorted(want)} (+ Dropped ones)")
    if st.get("systemLeader") not in want:
        out.append(f"systemLeader {st.get('systemLeader')!r} is not one of the pods")
    for d in st.get("databases") or []:
        if d.get("writer") not in want:
            out.append(f"database {d.get('name')}: writer {d.get('writer')!r} is not one of the pods")
    for p, s in servers.items():
        if (s.get("state"), s.get("health")) != ("Enabled", "Available"):
            out.append(f"server {p}: {s.get('state')}/{s.get('health')}")
    if dump is not None:
        ds = dump_servers(dump)
        for p, s in servers.items():
            d = ds.get(p)
            if d is None:
                out.append(f"server {p} is not in the simulator's dump")
                continue
            if s.get("serverId") != d["id"]:
                out.append(f"server {p}: serverId {s.get('serverId')} != the simulator's {d['id']}")
            # The dump keeps `system` apart (system_primary): compare the other databases.
            mine = sorted(set(s.get("hosting") or []) - {"system"})
            if mine != [x for x in hosted(d) if x != "system"]:
                out.append(f"server {p}: hosting {mine} != simulator {hosted(d)} (system aside)")
        if st.get("systemLeader") != dump.get("leader"):
            out.append(f"systemLeader {st.get('systemLeader')!r} != the simulator's leader {dump.get('leader')!r}")
        dbs = {d["name"]: d for d in st.get("databases") or []}
        declared = {d["name"] for d in cr["spec"].get("databases") or []}
        simdbs = {d["name"]: d for d in dump.get("databases") or []}
        for dn in sorted(declared - set(simdbs)):
            out.append(f"declared database {dn} does not exist in the simulator")
        for d in simdbs.values():
            if d["name"] not in declared:
                continue
            s = dbs.get(d["name"])
            if s is None:
                out.append(f"database {d['name']} missing from status.databases")
            elif (s.get("primaries"), s.get("secondaries", 0)) != (d["primaries"], d["secondaries"]):
                out.append(f"database {d['name']}: status {s.get('primaries')}/{s.get('secondaries')} "
                           f"!= simulator {d['primaries']}/{d['secondaries']}")
            elif s.get("status") != "online" or s.get("writer") not in want:
                out.append(f"database {d['name']}: status {s.get('status')!r}, writer {s.get('writer')!r}")
    return out


def pod_problems(ns, name, n):
    out = []
    ps = pods(ns, name)
    want = {f"{name}-{i}" for i in range(n)}
    if set(ps) != want:
        out.append(f"pods {sorted(ps)} != {sorted(want)}")
    for pn, p in ps.items():
        if gate(p) != "True" or not is_ready(p):
            out.append(f"pod {pn}: gate {gate(p)}, Ready {pod_cond(p, 'Ready')}")
    r = sts_replicas(ns, name)
    if r != n:
        out.append(f"StatefulSet replicas {r} != {n}")
    return out


def expect_converged(ns, name, n, sim=True, timeout=45):
    """Checks (one check each) that the cluster's status, pods and StatefulSet describe n
    Enabled/Available servers and, with sim, agree with the simulator. Status may lag the
    simulator by a reconcile: waits up to `timeout` s for agreement before judging."""
    last = {}

    def agree():
        assert_operators_alive()
        cr = get_cr(ns, name)
        if cr is None:
            last["status"] = [f"no Neo4jCluster {ns}/{name}"]
            return False
        last["status"] = status_problems(cr, n, sim_dump(ns, name) if sim else None)
        last["pods"] = pod_problems(ns, name, n)
        return not last["status"] and not last["pods"]
    try:
        wait_for(f"{ns}/{name} status agreeing with {n} servers", agree, timeout=timeout, interval=1)
    except RuntimeError as e:
        say(str(e))
    check(not last.get("status"), f"{ns}/{name}: status of {n} converged servers"
          f"{' = the simulator' if sim else ''}: {last.get('status')}")
    check(not last.get("pods"), f"{ns}/{name}: {n} pods Ready with the gate, StatefulSet replicas {n}: "
          f"{last.get('pods')}")


def gate_sample(ns, name):
    """Pods first, then the simulator: a gate True read before a dump that shows the server
    not Enabled was True while the server was not Enabled (Free never follows Enabled)."""
    ps = pods(ns, name)
    d = sim_try_dump(ns, name) or {}
    ds = dump_servers(d)
    # Before `system` bootstraps members show as Free and the simulator enables them itself
    # at formation (as Neo4j does): only a Free server of a formed cluster needs ENABLE.
    return {pn: (gate(p), (ds.get(pn) or {}).get("state") if d.get("formed") or pn not in ds else "Unformed")
            for pn, p in ps.items()}


def gate_violations(samples):
    """(time, pod, state) of every sample where a pod's gate was True while its server was
    not Enabled (Free, absent, Cordoned...)."""
    return [(t, pn, st) for t, v in samples for pn, (g, st) in v.items() if g == "True" and st != "Enabled"]


# ---- rolling changes -----------------------------------------------------------------------

def roll_sample(ns, name):
    """{"pods": {pod: (uid, ready, deleting, image)}, "leader": the simulator's leader}."""
    ps = pods(ns, name)
    leader = (sim_try_dump(ns, name) or {}).get("leader")
    return {"pods": {pn: (p["metadata"]["uid"], is_ready(p), bool(p["metadata"].get("deletionTimestamp")),
                          p["spec"]["containers"][0].get("image"))
                     for pn, p in ps.items()},
            "leader": leader}


def uids(ns, name):
    return {pn: p["metadata"]["uid"] for pn, p in pods(ns, name).items()}


class Roll:
    """What samples of roll_sample() say about a roll of pods that had uids `before`."""

    def __init__(self, samples, before):
        self.samples, self.before = samples, before

    def deletions(self):
        """[(time, pod, leader just before)] in order: the first sample where the pod was
        deleting, absent or another pod (uid) than before."""
        out, prev_leader, done_ = [], None, set()
        for t, s in self.samples:
            for pn, uid0 in self.before.items():
                if pn in done_:
                    continue
                cur = s["pods"].get(pn)
                if cur is None or cur[2] or cur[0] != uid0:
                    out.append((t, pn, prev_leader))
                    done_.add(pn)
            prev_leader = s["leader"]
        return out

    def uids_seen(self):
        """{pod: number of distinct pod uids seen, the one before included}."""
        seen = {pn: {u} for pn, u in self.before.items()}
        for _, s in self.samples:
            for pn, v in s["pods"].items():
                seen.setdefault(pn, set()).add(v[0])
        return {pn: len(u) for pn, u in seen.items()}

    def worst(self, since=None, until=None):
        """(most pods not Ready or absent at one sample, that sample's pods)."""
        best = (0, None)
        for t, s in self.samples:
            if (since is not None and t < since) or (until is not None and t > until):
                continue
            down = [pn for pn in self.before
                    if s["pods"].get(pn) is None or not s["pods"][pn][1] or s["pods"][pn][2]]
            if len(down) > best[0]:
                best = (len(down), down)
        return best
