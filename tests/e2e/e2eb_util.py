"""Helpers of the e2e tests that run the operator binary against the test environment:
the operator as a child process under its own identity, the apiserver's audit log read
for that identity, the Neo4jCluster's status, and the cluster simulator's `dump`.

The operator under test (its contract):
    neo4j-operator run --kubeconfig $TESTENV_OPERATOR_KUBECONFIG --namespaces NS
        --leader-election-namespace neo4j-system --leader-election-id ID --log-format json
binary $N4J_OPERATOR_BIN (default build/default/neo4j-operator).
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "env"))
from envlib import (ROOT, check, kjson, kubectl, load_env, restricted_namespace,  # noqa: E402,F401
                    unique_name, wait_for)

OPERATOR_USER = "system:serviceaccount:neo4j-system:neo4j-operator"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
GROUP = "neo4j.graphops.io"


def operator_bin():
    return os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default", "neo4j-operator")


class Operator:
    """`neo4j-operator run` for one namespace, its stdout+stderr appended to one log file
    (every incarnation), started with a minimal environment: no KUBECONFIG (the admin's),
    only its own kubeconfig on the command line."""

    def __init__(self, ns, lease_id=None, extra_args=()):
        self.ns = ns
        self.lease_id = lease_id or unique_name("e2eb-le")
        self.extra = list(extra_args)
        logdir = os.environ.get("E2E_LOG_DIR") or os.path.join(ROOT, "build", "e2e-logs")
        os.makedirs(logdir, exist_ok=True)
        self.log_path = os.path.join(logdir, f"operator-{ns}.log")
        self.proc = None
        self.starts = 0
        open(self.log_path, "w").close()

    def argv(self):
        return [operator_bin(), "run", "--kubeconfig", os.environ["TESTENV_OPERATOR_KUBECONFIG"],
                "--namespaces", self.ns, "--leader-election-namespace", "neo4j-system",
                "--leader-election-id", self.lease_id, "--log-format", "json", *self.extra]

    def start(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
        for k in ("N4J_CHILD_WRAPPER", "ASAN_OPTIONS", "UBSAN_OPTIONS"):
            if k in os.environ:
                env[k] = os.environ[k]
        with open(self.log_path, "ab") as f:
            f.write(f"--- e2e: start #{self.starts} {time.strftime('%H:%M:%S')}\n".encode())
            self.proc = subprocess.Popen(self.argv(), stdout=f, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        self.starts += 1
        time.sleep(0.2)
        if self.proc.poll() is not None:
            raise RuntimeError(f"the operator exited at once ({self.proc.returncode}):\n{self.log_tail()}")
        return self.proc.pid

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        """SIGKILL and reap; the Lease it held is then deleted by the admin, as its expiry
        would let the next process take it over (leaseDuration later): the chaos is in the
        reconciler, not in waiting for leases."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.drop_lease()

    def stop(self, timeout=20):
        """SIGTERM (graceful: finishes its step, releases the Lease), SIGKILL after timeout."""
        if not self.alive():
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "killed"

    def restart(self):
        self.stop()
        return self.start()

    def drop_lease(self):
        kubectl("-n", "neo4j-system", "delete", "lease", self.lease_id, "--ignore-not-found", "--wait=false")

    def owns(self, ev):
        """Whether an audit event of the operator identity can be this instance's."""
        ref = ev.get("objectRef") or {}
        ns = ref.get("namespace")
        if ns is None or ns == "":
            return True
        if ns == self.ns:
            return True
        return is_lease(ev) and ref.get("name") in (None, self.lease_id)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def close(self):
        self.stop()
        self.drop_lease()


# ------------------------------------------------------------------ audit log ----
def audit_mark():
    """The audit log's current end: audit_since(mark) reads only what comes after."""
    try:
        return os.path.getsize(os.environ["TESTENV_AUDIT_LOG"])
    except FileNotFoundError:
        return 0


def audit_since(mark=0, user=OPERATOR_USER, path=None, op=None):
    """Audit events of `user` after byte offset `mark`, one per request (the final stage:
    ResponseComplete, or ResponseStarted for a watch still open, or Panic).

    With op (an Operator): only its requests, as far as the log can tell. Other operator
    processes of the same identity may run at the same time on a shared environment, so
    only requests in op's namespace, on op's Lease, or not namespaced at all count."""
    path = path or os.environ["TESTENV_AUDIT_LOG"]
    out = {}
    with open(path, "rb") as f:
        f.seek(mark)
        data = f.read()
    for line in data.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue  # a line cut at the mark or being written
        if user and (ev.get("user") or {}).get("username") != user:
            continue
        if op is not None and not op.owns(ev):
            continue
        prev = out.get(ev.get("auditID"))
        if prev is None or ev.get("stage") != "ResponseStarted":
            out[ev.get("auditID")] = ev
    return list(out.values())


def triple(ev):
    """(apiGroup, resource[/subresource], verb) of an audit event."""
    ref = ev.get("objectRef") or {}
    res = ref.get("resource", "")
    if ref.get("subresource"):
        res += "/" + ref["subresource"]
    return (ref.get("apiGroup", ""), res, ev.get("verb", ""))


def describe(ev):
    ref = ev.get("objectRef") or {}
    code = (ev.get("responseStatus") or {}).get("code")
    return (f"{ev.get('stageTimestamp', '')} {ev.get('verb')} {ref.get('apiGroup', '') or 'core'}/"
            f"{ref.get('resource', '')}{'/' + ref['subresource'] if ref.get('subresource') else ''} "
            f"{ref.get('namespace', '')}/{ref.get('name', '')} -> {code}")


def is_lease(ev):
    ref = ev.get("objectRef") or {}
    return ref.get("apiGroup") == "coordination.k8s.io" and ref.get("resource") == "leases"


# Requests with a create verb that store nothing: access and token reviews.
REVIEW_GROUPS = {"authorization.k8s.io", "authentication.k8s.io"}


def writes(events, leases=False):
    """Requests that change stored state (Leases only with leases=True)."""
    return [e for e in events if e.get("verb") in WRITE_VERBS and (leases or not is_lease(e))
            and (e.get("objectRef") or {}).get("apiGroup") not in REVIEW_GROUPS]


def lease_taken_after(mark, lease_id):
    """True once the operator wrote its Lease (create/update) after mark: it leads."""
    return any(is_lease(e) and (e.get("objectRef") or {}).get("name") == lease_id
               and e.get("verb") in ("create", "update")
               and (e.get("responseStatus") or {}).get("code", 0) < 300
               for e in audit_since(mark))


def wait_quiet(op, quiet_s=5.0, timeout=60):
    """Waits until op has made no write (Leases aside) for quiet_s; returns the audit mark
    taken then. Fails (raises) when it never stops writing: a hot loop."""
    deadline = time.monotonic() + timeout
    mark = audit_mark()
    last_write = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        w = writes(audit_since(mark, op=op))
        now = audit_mark()
        if w:
            last_write = time.monotonic()
            mark = now
        elif time.monotonic() - last_write >= quiet_s:
            return now
    raise RuntimeError(f"the operator kept writing for {timeout}s: " +
                       "; ".join(describe(e) for e in writes(audit_since(mark, op=op)))[:2000])


# ---------------------------------------------------------------- the cluster ----
def cluster_doc(ns, name, servers=3, edition="enterprise", version="5.26.12", **spec):
    """A small Neo4jCluster for the test bed: 1Gi on the testenv class, 2Gi of memory."""
    s = {"edition": edition, "version": version, "servers": servers,
         "resources": {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
         "storage": {"data": {"size": "1Gi", "storageClassName": "testenv"}}}
    if edition == "enterprise":
        s["acceptLicenseAgreement"] = "yes"
    s.update(spec)
    return {"apiVersion": f"{GROUP}/v1alpha1", "kind": "Neo4jCluster",
            "metadata": {"name": name, "namespace": ns}, "spec": s}


def apply_cr(doc, manager="e2e"):
    return kubectl("apply", "--server-side", f"--field-manager={manager}", "-f", "-",
                   input=json.dumps(doc), check=True)


def patch_cr(ns, name, spec):
    kubectl("-n", ns, "patch", "neo4jcluster", name, "--type=merge", "-p", json.dumps({"spec": spec}),
            check=True)


def get_cr(ns, name):
    p = kubectl("-n", ns, "get", "neo4jcluster", name, "-o", "json")
    return json.loads(p.stdout) if p.returncode == 0 else None


def condition(obj, ctype):
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


def ready_with(cr, n):
    """The CR is Ready for its current generation with n servers Enabled and Available."""
    if not cr:
        return False
    st = cr.get("status") or {}
    c = condition(cr, "Ready")
    gen = cr["metadata"].get("generation")
    # SHOW SERVERS lists a Dropped server forever (its id can never come back): the
    # cluster's servers are the others.
    servers = [s for s in st.get("servers") or [] if s.get("state") != "Dropped"]
    if not (c.get("status") == "True" and st.get("observedGeneration") == gen
            and c.get("observedGeneration", gen) == gen):
        return False
    if any("state" in s for s in servers):
        return len(servers) == n and all(s.get("state") == "Enabled" and s.get("health") == "Available"
                                         for s in servers)
    # Community: no SHOW SERVERS, so no server states; the count is readyServers.
    return st.get("readyServers") == f"{n}/{n}"


def wait_ready(ns, name, n, timeout=300, op=None):
    def ok():
        if op is not None and not op.alive():
            raise RuntimeError(f"the operator died:\n{op.log_tail()}")
        cr = get_cr(ns, name)
        return cr if ready_with(cr, n) else None
    try:
        return wait_for(f"{ns}/{name} Ready with {n} servers", ok, timeout=timeout)
    except RuntimeError:
        cr = get_cr(ns, name) or {}
        print("status:", json.dumps(cr.get("status"), indent=1)[:3000])
        if op is not None:
            print("operator log tail:\n" + op.log_tail())
        raise


# --------------------------------------------------------------- the simulator ----
def sim_socket(ns, sts):
    return os.path.join(os.environ["TESTENV_RUN"], "agent", "sim", f"{ns}_{sts}", "control.sock")


def sim_dump(ns, sts):
    """The simulator's state (tests/sim/README.md, `dump`), None while it has no daemon."""
    path = sim_socket(ns, sts)
    if not os.path.exists(path):
        return None
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(path)
        s.sendall(b"dump\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return json.loads(data)
    except (OSError, ValueError):
        return None
    finally:
        s.close()


def cleanup(ns, op=None):
    """Stops the operator, deletes the namespace and gives its volumes back (wiped)."""
    if op is not None:
        op.close()
    kubectl("delete", "ns", ns, "--wait=true", "--timeout=300s", timeout=320)
    subprocess.run([os.path.join(ROOT, "hack", "test-env"), "pv-recycle"], capture_output=True, timeout=120)
