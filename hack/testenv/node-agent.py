#!/usr/bin/env python3
"""The test bed's node agent: plays the kubelet's part for Neo4j server containers.

kwok makes pods look Running; nothing runs in them. This agent watches the pods bound to
the kwok nodes and, for a container whose image is a Neo4j server image, really runs one
(hack/testenv/README.md, DESIGN.md §8.17):

  neo4j:<v>-community or neo4j:<v>   a real Neo4j 5.26 (hack/neo4j-testserver) at the pod IP
  neo4j:<v>-enterprise               a member of a cluster simulator (tests/sim), one
                                     simulator daemon per StatefulSet, at the pod IP

The container runs its rendered command for real: in a private mount namespace, chrooted
into a root made of the host's /usr, /etc, ... plus the pod's volumes at their mount paths
(ConfigMap, Secret, projected, emptyDir, and the hostPath of the PersistentVolume bound to
a claim), as the pod's runAsUser, with the pod's env resolved as the kubelet does. The image
itself is stood in by /startup (hack/testenv/image/): `tini` and `docker-entrypoint.sh`.

Probes (startup, liveness, readiness; tcpSocket and httpGet) run against the process with
the kubelet's semantics; restartCount, container states, CrashLoopBackOff, Events; Ready =
ContainersReady and every readiness gate (gates are never written here). Deletion: SIGTERM,
SIGKILL after the grace period, then the final delete. A node that loses its `type=kwok`
label (hack/test-env node down) or is not Ready loses its processes at once.

A Job's pod whose containers and init containers are all of Neo4j images or the operator
image (the backup Job) runs too, as a kubelet runs a restartPolicy Never pod: init containers
in order, then the containers, each once (the operator image runs --operator-bin at
/startup/bin/neo4j-operator), termination messages, phase Succeeded/Failed for the Job
controller, activeDeadlineSeconds.

Pods it manages are left alone by kwok's stages (kwok.yaml selects on the same images).

  node-agent.py run --run DIR --apiserver URL [--sim BIN] [--testserver DIR] [--operator-bin BIN]
  node-agent.py ctl SOCK COMMAND...       (pod kill|hang|resume|partition|heal NS/NAME, status)
  node-agent.py reap RUN_DIR              (kill container processes a dead agent left behind)
  node-agent.py exec SPEC                  (internal: the container's chroot and exec)
"""
import base64
import ctypes
import http.client
import ipaddress
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# The images this agent runs. The same rules are in kwok.yaml (jq), which keeps kwok's stages
# away from these pods: a server pod (no Job owns it, a container of a Neo4j image) and a Job
# pod all of whose containers and init containers are Neo4j or operator images (the backup
# Job); other Job pods stay kwok's (completed without running anything).
IMAGE_RE = re.compile(r'^(?:.*/)?neo4j:([0-9][0-9A-Za-z.]*?)(?:-(community|enterprise))?(?:@.*)?$')
OPERATOR_RE = re.compile(r'^(?:.*/)?neo4j-operator:[0-9A-Za-z._-]+(?:@.*)?$')
AGENT_POOL = ipaddress.ip_network("127.1.128.0/17")  # kwok has 127.1.0.0/17
IMAGE_PATH = "/startup/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BACKOFF_BASE, BACKOFF_CAP, BACKOFF_RESET = 10.0, 300.0, 600.0  # kubelet's
FS_GROUP_MODE = 0o2770


def now_rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t if t is not None else time.time()))


def log(msg, **kv):
    rec = {"ts": now_rfc3339(), "msg": msg}
    rec.update(kv)
    print(json.dumps(rec), flush=True)


def image_kind(image):
    """'community' | 'enterprise' | None for an image this agent runs."""
    m = IMAGE_RE.match(image or "")
    if not m:
        return None
    return m.group(2) or "community"


def image_version(image):
    m = IMAGE_RE.match(image or "")
    return m.group(1) if m else ""


def container_kind(image):
    """'community' | 'enterprise' (a Neo4j image) | 'operator' | None."""
    if OPERATOR_RE.match(image or ""):
        return "operator"
    return image_kind(image)


def job_owned(pod):
    return any(o.get("kind") == "Job" for o in pod["metadata"].get("ownerReferences") or [])


def managed_container(pod):
    """The index of the Neo4j server container of a pod this agent runs, else None."""
    if job_owned(pod):
        return None
    for i, c in enumerate(pod["spec"].get("containers") or []):
        if image_kind(c.get("image")):
            return i
    return None


def managed_job_pod(pod):
    """A Job's pod this agent runs: every container and init container is of a Neo4j or the
    operator image (a container it cannot run would make the pod's result a lie)."""
    cs = (pod["spec"].get("initContainers") or []) + (pod["spec"].get("containers") or [])
    return job_owned(pod) and bool(pod["spec"].get("containers")) and all(
        container_kind(c.get("image")) for c in cs)


# ------------------------------------------------------------------ the API ----
class Kube:
    def __init__(self, server, token_file, ca_file):
        u = urllib.parse.urlparse(server)
        self.host, self.port = u.hostname, u.port or 443
        self.token_file = token_file
        self.ctx = ssl.create_default_context(cafile=ca_file)

    def _conn(self, timeout):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def _headers(self, ctype=None):
        with open(self.token_file) as f:
            h = {"Authorization": "Bearer " + f.read().strip(), "Accept": "application/json",
                 "User-Agent": "testenv-node-agent"}
        if ctype:
            h["Content-Type"] = ctype
        return h

    def request(self, method, path, body=None, ctype="application/json", timeout=30):
        c = self._conn(timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            c.request(method, path, body=data, headers=self._headers(ctype if data else None))
            r = c.getresponse()
            raw = r.read()
            try:
                obj = json.loads(raw) if raw else {}
            except ValueError:
                obj = {"raw": raw[:200].decode(errors="replace")}
            return r.status, obj
        finally:
            c.close()

    def get(self, path):
        st, obj = self.request("GET", path)
        return obj if st == 200 else None

    def watch(self, path, rv, stop):
        """Yields watch events until the stream ends; raises on a non-200 answer."""
        sep = "&" if "?" in path else "?"
        c = self._conn(330)
        try:
            c.request("GET", f"{path}{sep}watch=1&allowWatchBookmarks=true&timeoutSeconds=300"
                      f"&resourceVersion={rv}", headers=self._headers())
            r = c.getresponse()
            if r.status != 200:
                raise RuntimeError(f"watch {path}: HTTP {r.status}")
            buf = b""
            while not stop.is_set():
                chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
                if not chunk:
                    return
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        finally:
            c.close()


class Informer(threading.Thread):
    """LIST + WATCH of one resource into a dict; calls on_change(obj, deleted)."""

    def __init__(self, kube, path, on_change, stop):
        super().__init__(daemon=True)
        self.kube, self.path, self.on_change, self.stop = kube, path, on_change, stop
        self.items = {}
        self.synced = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                lst = self.kube.get(self.path)
                if lst is None:
                    raise RuntimeError(f"list {self.path} failed")
                seen = {}
                for o in lst.get("items") or []:
                    seen[o["metadata"]["uid"]] = o
                for uid, o in list(self.items.items()):
                    if uid not in seen:
                        del self.items[uid]
                        self.on_change(o, True)
                for uid, o in seen.items():
                    self.items[uid] = o
                    self.on_change(o, False)
                self.synced.set()
                rv = lst["metadata"]["resourceVersion"]
                while not self.stop.is_set():
                    for ev in self.kube.watch(self.path, rv, self.stop):
                        t, o = ev.get("type"), ev.get("object") or {}
                        if t == "ERROR":
                            raise RuntimeError(f"watch error: {o.get('message')}")
                        rv = o.get("metadata", {}).get("resourceVersion", rv)
                        if t == "BOOKMARK":
                            continue
                        uid = o["metadata"]["uid"]
                        if t == "DELETED":
                            self.items.pop(uid, None)
                            self.on_change(o, True)
                        else:
                            self.items[uid] = o
                            self.on_change(o, False)
            except Exception as e:  # relist after any failure, as an informer does
                if not self.stop.is_set():
                    log("informer restart", path=self.path, error=str(e))
                    self.stop.wait(1)


# ------------------------------------------------------------- containers ----
def expand(value, env):
    """The kubelet's $(VAR) expansion: defined names expand, $$ is a literal $."""
    out, i = [], 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
        elif value.startswith("$(", i):
            j = value.find(")", i)
            name = value[i + 2:j] if j > 0 else None
            if name is not None and name in env:
                out.append(env[name])
                i = j + 1
            else:
                out.append(value[i:j + 1] if j > 0 else value[i:])
                i = j + 1 if j > 0 else len(value)
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


class ConfigError(Exception):
    """CreateContainerConfigError: the container cannot be created from this spec."""


def field_ref(pod, path):
    md, spec, st = pod["metadata"], pod["spec"], pod.get("status") or {}
    m = re.match(r"metadata\.(labels|annotations)\['(.+)'\]$", path)
    if m:
        return (md.get(m.group(1)) or {}).get(m.group(2), "")
    simple = {"metadata.name": md.get("name"), "metadata.namespace": md.get("namespace"),
              "metadata.uid": md.get("uid"), "spec.nodeName": spec.get("nodeName"),
              "spec.serviceAccountName": spec.get("serviceAccountName"),
              "status.podIP": st.get("podIP"), "status.hostIP": st.get("hostIP")}
    if path not in simple:
        raise ConfigError(f"unsupported fieldRef {path}")
    return simple[path] or ""


class Agent:
    def __init__(self, args):
        self.run_dir = args.run
        self.base = os.path.join(self.run_dir, "agent")
        os.makedirs(self.base, exist_ok=True)
        self.kube = Kube(args.apiserver, os.path.join(self.run_dir, "admin.token"),
                         os.path.join(self.run_dir, "pki", "ca.crt"))
        self.sim_bin = args.sim
        self.operator_bin = args.operator_bin
        self.testserver = args.testserver
        self.settings_dir = os.path.join(REPO, "tests", "data")
        self.stop = threading.Event()
        self.lock = threading.RLock()
        self.pods = {}  # uid -> PodRuntime
        self.sims = {}  # cluster key -> SimDaemon
        self.used_ips = {}
        self.ip_cursor = 0
        self.hosts_lock = threading.Lock()
        self.nodes = Informer(self.kube, "/api/v1/nodes", self._node_changed, self.stop)
        self.podinf = Informer(self.kube, "/api/v1/pods", self._pod_changed, self.stop)

    # ---- informers
    def _node_changed(self, node, deleted):
        with self.lock:
            for p in self.pods.values():
                if p.node == node["metadata"]["name"]:
                    p.wake()

    def _pod_changed(self, pod, deleted):
        uid = pod["metadata"]["uid"]
        with self.lock:
            p = self.pods.get(uid)
            if p is None:
                if deleted or not pod["spec"].get("nodeName"):
                    return
                idx = managed_container(pod)
                job = idx is None and managed_job_pod(pod)
                if (idx is None and not job) or not self._is_kwok_node(pod["spec"]["nodeName"]):
                    return
                # A finished Job pod stays finished (restartPolicy Never): an agent restarted
                # later must not run it again.
                if job and (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                    return
                p = PodRuntime(self, pod, idx, job=job)
                self.pods[uid] = p
                p.start()
            p.update(pod, deleted)

    def node(self, name):
        for n in list(self.nodes.items.values()):
            if n["metadata"]["name"] == name:
                return n
        return None

    def _is_kwok_node(self, name):
        n = self.node(name)
        return n is not None and (n["metadata"].get("annotations") or {}).get("kwok.x-k8s.io/node") == "fake"

    def node_up(self, name):
        n = self.node(name)
        if n is None or (n["metadata"].get("labels") or {}).get("type") != "kwok":
            return False
        for c in (n.get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready":
                return c.get("status") == "True"
        return False

    def node_ip(self, name):
        n = self.node(name)
        for a in ((n or {}).get("status") or {}).get("addresses") or []:
            if a.get("type") == "InternalIP":
                return a["address"]
        return "127.0.0.1"

    # ---- pod IPs: our half of the pod CIDR, never one a live pod holds
    def alloc_ip(self, uid, want=None):
        with self.lock:
            if want and ipaddress.ip_address(want) in AGENT_POOL and want not in self.used_ips:
                self.used_ips[want] = uid
                return want
            # Round robin from the last address given: a new pod rarely gets the address a
            # deleted one had a moment ago (clients still holding it would reach the wrong pod).
            hosts = AGENT_POOL.num_addresses - 2
            for k in range(hosts):
                h = AGENT_POOL.network_address + 1 + (self.ip_cursor + k) % hosts
                s = str(h)
                if s.endswith(".0") or s.endswith(".255") or s in self.used_ips:
                    continue
                self.used_ips[s] = uid
                self.ip_cursor = (self.ip_cursor + k + 1) % hosts
                return s
        raise RuntimeError("agent pod IP pool exhausted")

    def free_ip(self, ip):
        with self.lock:
            self.used_ips.pop(ip, None)

    def forget(self, uid):
        with self.lock:
            self.pods.pop(uid, None)
        self.write_hosts()

    # ---- DNS: a hosts file for the pods' DNS names (there is no cluster DNS here)
    def write_hosts(self):
        lines = []
        with self.lock:
            for p in self.pods.values():
                if p.ip and p.hostname and p.subdomain:
                    fq = f"{p.hostname}.{p.subdomain}.{p.ns}.svc"
                    lines.append(f"{p.ip}\t{fq}.cluster.local {fq}\n")
        path = os.path.join(self.run_dir, "hosts")
        # Pod workers call this concurrently: one writer at a time, each with its own file.
        with self.hosts_lock:
            tmp = f"{path}.{threading.get_ident()}.tmp"
            with open(tmp, "w") as f:
                f.writelines(sorted(lines))
            os.replace(tmp, path)

    def event(self, pod, etype, reason, message, container=None):
        md = pod["metadata"]
        t = now_rfc3339()
        ref = {"kind": "Pod", "apiVersion": "v1", "namespace": md["namespace"],
               "name": md["name"], "uid": md["uid"]}
        if container:  # names are unique across a pod's init containers and containers
            init = any(c.get("name") == container for c in pod["spec"].get("initContainers") or [])
            ref["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
        node = pod["spec"].get("nodeName", "")
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"generateName": md["name"] + ".", "namespace": md["namespace"]},
              "involvedObject": ref, "reason": reason, "message": message, "type": etype,
              "source": {"component": "kubelet", "host": node}, "firstTimestamp": t,
              "lastTimestamp": t, "count": 1, "reportingComponent": "kubelet",
              "reportingInstance": node}
        try:
            self.kube.request("POST", f"/api/v1/namespaces/{md['namespace']}/events", ev)
        except Exception as e:
            log("event failed", error=str(e))

    # ---- simulator daemons, one per StatefulSet
    def sim_for(self, key):
        with self.lock:
            d = self.sims.get(key)
            if d is None or not d.alive():
                d = SimDaemon(self, key)
                self.sims[key] = d
            return d

    def serve(self):
        sock_path = os.path.join(self.run_dir, "agent.sock")
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(sock_path)
        os.chmod(sock_path, 0o600)
        srv.listen(8)
        srv.settimeout(0.5)
        while not self.stop.is_set():
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            threading.Thread(target=self._ctl, args=(c,), daemon=True).start()
        srv.close()

    def _ctl(self, c):
        try:
            line = c.makefile().readline().split()
            reply = self.control(line)
        except Exception as e:
            reply = f"error: {e}"
        try:
            c.sendall((reply + "\n").encode())
        finally:
            c.close()

    def find_pod(self, ref):
        ns, _, name = ref.rpartition("/")
        ns = ns or "default"
        with self.lock:
            for p in self.pods.values():
                if p.ns == ns and p.name == name and not p.gone:
                    return p
        return None

    def control(self, words):
        if words[:1] == ["status"]:
            with self.lock:
                return json.dumps([p.describe() for p in self.pods.values()])
        if len(words) == 3 and words[0] == "pod":
            p = self.find_pod(words[2])
            if p is None:
                return f"error: no pod {words[2]} run by the node agent"
            return p.fault(words[1])
        return "error: usage: pod kill|hang|resume|partition|heal NS/NAME | status"

    def main(self):
        reap_leftovers(self.base)

        def term(*_):
            self.stop.set()
        signal.signal(signal.SIGTERM, term)
        signal.signal(signal.SIGINT, term)
        self.nodes.start()
        self.nodes.synced.wait(60)
        self.podinf.start()
        self.podinf.synced.wait(60)
        log("node agent ready", pool=str(AGENT_POOL))
        with open(os.path.join(self.base, "ready"), "w") as f:
            f.write("ready\n")
        self.serve()
        log("stopping: containers get SIGTERM, then SIGKILL after 5 s")
        with self.lock:
            pods = list(self.pods.values())
            sims = list(self.sims.values())
        for p in pods:
            p.shutdown()
        for d in sims:
            d.stop()


def _rv(obj):
    """resourceVersion as a number (etcd revisions), 0 when absent or not numeric."""
    try:
        return int(((obj or {}).get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


class SimDaemon:
    """One n4j-clustersim daemon (per StatefulSet); members join through its socket."""

    def __init__(self, agent, key):
        self.agent = agent
        self.dir = os.path.join(agent.base, "sim", key.replace("/", "_"))
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "control.sock")
        if not agent.sim_bin or not os.access(agent.sim_bin, os.X_OK):
            raise ConfigError(f"cluster simulator binary not built: {agent.sim_bin}")
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.logf = open(os.path.join(self.dir, "daemon.log"), "ab")
        self.proc = subprocess.Popen([agent.sim_bin, "--control", self.sock, "--move-ms", "2000"],
                                     stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        with open(os.path.join(self.dir, "pid"), "w") as f:
            f.write(f"{self.proc.pid}\n")
        for _ in range(100):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        log("simulator daemon started", cluster=key, pid=self.proc.pid)

    def alive(self):
        return self.proc.poll() is None

    def command(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(self.sock)
            s.sendall((line + "\n").encode())
            return s.makefile().readline().strip()
        finally:
            s.close()

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Probe:
    """One probe of one container incarnation, run on its own thread as the kubelet does."""

    def __init__(self, rt, kind, spec):
        self.rt, self.kind, self.spec = rt, kind, spec
        self.period = spec.get("periodSeconds", 10)
        self.timeout = spec.get("timeoutSeconds", 1)
        self.fail_th = spec.get("failureThreshold", 3)
        self.succ_th = spec.get("successThreshold", 1)
        self.delay = spec.get("initialDelaySeconds", 0)
        self.ok = None
        self.fails = self.succs = 0

    def port(self, p):
        if isinstance(p, int):
            return p
        for cp in self.rt.container.get("ports") or []:
            if cp.get("name") == p:
                return cp["containerPort"]
        raise ValueError(f"no container port named {p}")

    def check(self):
        s = self.spec
        host = None
        if "tcpSocket" in s:
            t = s["tcpSocket"]
            host = t.get("host") or self.rt.ip
            with socket.create_connection((host, self.port(t["port"])), timeout=self.timeout):
                return True, ""
        if "httpGet" in s:
            h = s["httpGet"]
            host = h.get("host") or self.rt.ip
            port = self.port(h["port"])
            if (h.get("scheme") or "HTTP").upper() == "HTTPS":
                c = http.client.HTTPSConnection(host, port, timeout=self.timeout,
                                                context=ssl._create_unverified_context())
            else:
                c = http.client.HTTPConnection(host, port, timeout=self.timeout)
            try:
                hdrs = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
                hdrs.setdefault("User-Agent", "kube-probe/1.33")
                c.request("GET", h.get("path") or "/", headers=hdrs)
                r = c.getresponse()
                r.read(10240)
                if 200 <= r.status < 400:
                    return True, ""
                return False, f"HTTP probe failed with statuscode: {r.status}"
            finally:
                c.close()
        return False, "probe handler not supported by the test-bed agent (only tcpSocket, httpGet)"

    def loop(self, gen):
        rt = self.rt
        if self.delay:
            rt.agent.stop.wait(self.delay)
        while rt.gen == gen and not rt.agent.stop.is_set() and not rt.gone:
            if self.kind != "startup" and not rt.started:
                time.sleep(0.2)
                continue
            try:
                ok, why = self.check()
            except (OSError, ValueError, http.client.HTTPException) as e:
                ok, why = False, self._describe(e)
            if rt.gen != gen:
                return
            if ok:
                self.succs += 1
                self.fails = 0
                if self.ok is not True and self.succs >= self.succ_th:
                    self.ok = True
                    rt.probe_result(self, True, "")
            else:
                self.fails += 1
                self.succs = 0
                if self.fails <= self.fail_th or self.fails % 10 == 0:  # the recorder aggregates
                    rt.agent.event(rt.pod, "Warning", "Unhealthy",
                                   f"{self.kind.capitalize()} probe failed: {why}", rt.cname)
                if self.fails >= self.fail_th and self.ok is not False:
                    self.ok = False
                    rt.probe_result(self, False, why)
                elif self.fails >= self.fail_th and self.kind != "readiness":
                    rt.probe_result(self, False, why)
            if self.kind == "startup" and self.ok:
                return
            rt.agent.stop.wait(self.period)

    def _describe(self, e):
        # The kubelet's wording (Go's net errors), so events read as in a real cluster.
        s = self.spec
        if "tcpSocket" in s:
            where = f"dial tcp {s['tcpSocket'].get('host') or self.rt.ip}:{self.port(s['tcpSocket']['port'])}"
        else:
            h = s.get("httpGet") or {}
            scheme = (h.get("scheme") or "HTTP").lower()
            where = f'Get "{scheme}://{h.get("host") or self.rt.ip}:{self.port(h.get("port", 0))}{h.get("path") or "/"}"'
        if isinstance(e, socket.timeout) or "timed out" in str(e):
            if "tcpSocket" in s:
                return f"{where}: i/o timeout"
            return f"{where}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
        if isinstance(e, ConnectionRefusedError):
            return f"{where}: connect: connection refused"
        return f"{where}: {e}"


DEADLINE_MSG = "Pod was active on the node longer than the specified deadline"  # the kubelet's
TERM_MSG_MAX, TERM_LOG_LINES, TERM_LOG_BYTES = 4096, 80, 2048  # the kubelet's limits


class PodRuntime(threading.Thread):
    """The kubelet's sync loop for one pod.

    A server pod: its Neo4j container (containers[idx]), restarted with back-off. A Job pod
    (job=True, restartPolicy Never): its init containers, then its containers, each run once
    through the same machinery (self.container is the current one, _select moves on), to
    phase Succeeded or Failed. The containers of a Job pod run one after another in spec order,
    where a kubelet starts them together."""

    def __init__(self, agent, pod, idx, job=False):
        super().__init__(daemon=True)
        self.agent, self.pod, self.idx, self.job = agent, pod, idx, job
        md = pod["metadata"]
        self.uid, self.ns, self.name = md["uid"], md["namespace"], md["name"]
        self.node = pod["spec"]["nodeName"]
        self.seq = []
        if job:
            self.seq = ([("init", c) for c in pod["spec"].get("initContainers") or []] +
                        [("main", c) for c in pod["spec"]["containers"]])
        self.step = 0
        self.results = {}  # Job pod: container name -> its terminated state (with message)
        self.final = None  # Job pod: "Succeeded" | "Failed" once done
        self.deadline_hit = False
        self.start_epoch = None
        self.term_file = None
        self.log_off = 0
        self.container = self.seq[0][1] if job else pod["spec"]["containers"][idx]
        self.cname = self.container["name"]
        self.kind = container_kind(self.container["image"])
        self.hostname = pod["spec"].get("hostname") or self.name
        self.subdomain = pod["spec"].get("subdomain")
        self.dir = os.path.join(agent.base, "pods", f"{self.ns}_{self.name}_{self.uid[:8]}")
        os.makedirs(self.dir, exist_ok=True)
        self.cv = threading.Condition()
        self.ip = (pod.get("status") or {}).get("podIP")
        if self.ip:
            self.ip = agent.alloc_ip(self.uid, self.ip)
        self.proc = None
        self.gen = 0
        # An agent restarted under a running pod carries its restart count on.
        self.restarts = next((c.get("restartCount", 0) for c in (pod.get("status") or {}).get(
            "containerStatuses") or [] if c.get("name") == self.container["name"]), 0)
        self.started = False
        self.ready = False
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.started_at = None
        self.next_start = 0.0
        self.backoff = 0.0
        self.terminating = None  # deadline of a SIGTERM sent
        self.kill_reason = None
        self.node_lost = False
        self.gone = False
        self.deleted = False
        self.hung = False
        self.reported = None
        self.cond_times = {}
        self.start_time = None
        self.sim = None
        self.logf = None
        self.last_error = None
        self._t0 = None

    def _select(self, step):
        """Job pod: the next container of the sequence becomes the current one."""
        self.step = step
        self.container = self.seq[step][1]
        self.cname = self.container["name"]
        self.kind = container_kind(self.container["image"])
        self.restarts = 0
        self.started = self.ready = False
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.started_at = None
        self.next_start = 0.0
        self.backoff = 0.0
        self.last_error = None
        self.term_file = None

    # ---- inputs
    def update(self, pod, deleted):
        with self.cv:
            if _rv(pod) >= _rv(self.pod):
                self.pod = pod
            if deleted:
                self.deleted = True
            self.cv.notify()

    def wake(self):
        with self.cv:
            self.cv.notify()

    def probe_result(self, probe, ok, why):
        if probe.kind == "startup" and ok:
            self.started = True
        elif probe.kind in ("liveness", "startup") and not ok:
            if self.terminating is None and self.proc is not None:
                self.agent.event(self.pod, "Normal", "Killing",
                                 f"Container {self.cname} failed {probe.kind} probe, will be restarted",
                                 self.cname)
                self.kill_reason = probe.kind
                grace = probe.spec.get("terminationGracePeriodSeconds",
                                       self.pod["spec"].get("terminationGracePeriodSeconds", 30))
                self._term(grace)
        elif probe.kind == "readiness":
            self.ready = ok
        self.wake()

    # ---- the loop
    def run(self):
        try:
            while True:
                with self.cv:
                    self.cv.wait(0.25)
                try:
                    if self.sync():
                        break
                except Exception:  # the kubelet's sync loop retries; so does this one
                    log("pod sync failed", pod=f"{self.ns}/{self.name}", trace=traceback.format_exc())
                    self.agent.stop.wait(1)
        finally:
            self._kill_now()
            if self.ip:
                self.agent.free_ip(self.ip)
            self.agent.forget(self.uid)

    def sync(self):
        """One pass; True when the pod is gone for good."""
        self._reap()
        if self.agent.stop.is_set():
            return True
        if self.deleted:
            self.gone = True
            return True
        md = self.pod["metadata"]
        if md.get("deletionTimestamp"):
            return self._terminate_pod()
        if not self.agent.node_up(self.node):
            if self.proc is not None:
                log("node down: container killed", pod=f"{self.ns}/{self.name}", node=self.node)
                self._kill_now()
                self.node_lost = True
            return False
        if self.node_lost:
            self.node_lost = False
            self.next_start = 0.0
        if not self.ip:
            self.ip = self.agent.alloc_ip(self.uid)
            self.start_time = now_rfc3339()
            self.agent.write_hosts()
        if self.start_epoch is None:
            self.start_epoch = time.time()
        if self.job:
            self._sync_job()
            self._report()
            return False
        if self.proc is None and self.terminating is None and time.time() >= self.next_start:
            self._start()
        elif self.proc is None and time.time() < self.next_start and self.last_state:
            self.state = {"waiting": {"reason": "CrashLoopBackOff",
                                      "message": f"back-off {int(self.backoff)}s restarting failed "
                                                 f"container={self.cname} pod={self.name}_{self.ns}({self.uid})"}}
        self._report()
        return False

    def _sync_job(self):
        """Job pod: the current container's end decides what runs next (restartPolicy Never)."""
        if self.final:
            return
        ads = self.pod["spec"].get("activeDeadlineSeconds")
        if ads is not None and not self.deadline_hit and time.time() >= self.start_epoch + ads:
            self.deadline_hit = True
            self.agent.event(self.pod, "Normal", "DeadlineExceeded", DEADLINE_MSG)
            if self.proc is not None:
                self.agent.event(self.pod, "Normal", "Killing", f"Stopping container {self.cname}", self.cname)
                self.kill_reason = "deadline"
                self._term(self.pod["spec"].get("terminationGracePeriodSeconds", 30))
        if self.proc is not None:
            return
        if "terminated" in self.state:
            term = dict(self.state["terminated"])
            msg = self._termination_message(term["exitCode"])
            if msg:
                term["message"] = msg
            self.results[self.cname] = term
            failed_init = self.seq[self.step][0] == "init" and term["exitCode"] != 0
            if failed_init or self.deadline_hit or self.step + 1 >= len(self.seq):
                self._finish()
                return
            self._select(self.step + 1)
        if self.deadline_hit:  # the current container never started
            self._finish()
            return
        if self.terminating is None and time.time() >= self.next_start:
            self._start()

    def _finish(self):
        mains = [c["name"] for k, c in self.seq if k == "main"]
        ok = not self.deadline_hit and all(self.results.get(n, {}).get("exitCode") == 0 for n in mains)
        self.final = "Succeeded" if ok else "Failed"
        self.started = self.ready = False
        log("job pod finished", pod=f"{self.ns}/{self.name}", phase=self.final,
            exitCodes={n: t["exitCode"] for n, t in self.results.items()})

    def _termination_message(self, code):
        """The kubelet's: the last 4096 bytes of the terminationMessagePath file; with
        FallbackToLogsOnError, an empty file and a non-zero exit, the container log's last 80
        lines, at most 2048 bytes of them."""
        data = b""
        if self.term_file:
            try:
                with open(self.term_file, "rb") as f:
                    f.seek(0, os.SEEK_END)
                    f.seek(max(0, f.tell() - TERM_MSG_MAX))
                    data = f.read()
            except FileNotFoundError:
                pass
        if not data and code != 0 and self.container.get("terminationMessagePolicy") == "FallbackToLogsOnError":
            try:
                with open(os.path.join(self.dir, f"{self.cname}.log"), "rb") as f:
                    f.seek(self.log_off)
                    lines = f.read().splitlines(keepends=True)
                data = b"".join(lines[-TERM_LOG_LINES:])[:TERM_LOG_BYTES]
            except FileNotFoundError:
                pass
        return data.decode(errors="replace")

    def _terminate_pod(self):
        if self.proc is not None and self.terminating is None:
            grace = md_grace = self.pod["metadata"].get("deletionGracePeriodSeconds")
            if md_grace is None:
                grace = self.pod["spec"].get("terminationGracePeriodSeconds", 30)
            self.agent.event(self.pod, "Normal", "Killing", f"Stopping container {self.cname}", self.cname)
            self.kill_reason = "delete"
            self._term(grace)
        if self.proc is not None:
            return False
        md = self.pod["metadata"]
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                "preconditions": {"uid": self.uid}}
        st, _ = self.agent.kube.request("DELETE", f"/api/v1/namespaces/{self.ns}/pods/{md['name']}", body)
        if st in (200, 202, 404, 409):
            self.gone = True
            return True
        return False

    def _term(self, grace):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
        self.terminating = time.time() + max(0, int(grace))

    def _kill_now(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
            self._exited(self.proc.returncode)

    def _reap(self):
        if self.proc is None:
            return
        rc = self.proc.poll()
        if rc is None:
            if self.terminating is not None and time.time() >= self.terminating:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            return
        self._exited(rc)

    def _exited(self, rc):
        code = 128 - rc if rc < 0 else rc
        self.gen += 1
        finished = now_rfc3339()
        reason = "Completed" if code == 0 else "Error"
        term = {"exitCode": code, "reason": reason, "startedAt": self.started_at, "finishedAt": finished,
                "containerID": self._cid()}
        if rc < 0:
            term["signal"] = -rc
        self.last_state = {"terminated": term}
        self.state = {"terminated": term}
        self.proc = None
        try:
            os.unlink(os.path.join(self.dir, "pid"))
        except FileNotFoundError:
            pass
        self.hung = False
        self.started = self.ready = False
        if self.logf:
            self.logf.close()
            self.logf = None
        ran = time.time() - (self._t0 or time.time())
        self.backoff = BACKOFF_BASE if ran > BACKOFF_RESET or not self.backoff else min(self.backoff * 2, BACKOFF_CAP)
        if self.job:
            self.next_start = float("inf")  # restartPolicy Never: _sync_job moves on
        elif self.kill_reason in ("liveness", "startup"):
            self.next_start = time.time()  # the kubelet restarts a probe-killed container at once
        else:
            self.next_start = time.time() + (self.backoff if code != 0 or not self.kill_reason else 0)
            if code != 0 and not self.kill_reason:
                self.agent.event(self.pod, "Warning", "BackOff",
                                 f"Back-off restarting failed container {self.cname} in pod "
                                 f"{self.name}_{self.ns}({self.uid})", self.cname)
        self.terminating = None
        self.kill_reason = None
        log("container exited", pod=f"{self.ns}/{self.name}", exitCode=code)

    def _cid(self):
        return f"testbed://{self.uid[:8]}-{self.gen}"

    # ---- start a container
    def _start(self):
        try:
            spec = self._container_spec()
        except ConfigError as e:
            msg = str(e)
            if msg != self.last_error:
                self.agent.event(self.pod, "Warning", "Failed", f"Error: {msg}", self.cname)
                self.last_error = msg
            self.state = {"waiting": {"reason": "CreateContainerConfigError", "message": msg}}
            self.next_start = time.time() + 2
            return
        self.last_error = None
        if self.restarts == 0 and not self.last_state:
            self.agent.event(self.pod, "Normal", "Pulled",
                             f'Container image "{self.container["image"]}" already present on machine',
                             self.cname)
        elif self.last_state:
            self.restarts += 1
        path = os.path.join(self.dir, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        os.chmod(path, 0o600)
        self.logf = open(os.path.join(self.dir, f"{self.cname}.log"), "ab")
        self.logf.write(f"--- {now_rfc3339()} start #{self.restarts}\n".encode())
        self.logf.flush()
        self.log_off = self.logf.tell()  # the termination message's log tail starts here
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--",
                                      sys.executable, os.path.abspath(__file__), "exec", path],
                                     stdout=self.logf, stderr=self.logf, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self._t0 = time.time()
        with open(os.path.join(self.dir, "pid"), "w") as f:
            f.write(f"{self.proc.pid}\n")
        self.started_at = now_rfc3339()
        self.state = {"running": {"startedAt": self.started_at}}
        self.gen += 1
        gen = self.gen
        self.agent.event(self.pod, "Normal", "Created", f"Created container {self.cname}", self.cname)
        self.agent.event(self.pod, "Normal", "Started", f"Started container {self.cname}", self.cname)
        self.started = "startupProbe" not in self.container
        self.ready = False
        has_ready = "readinessProbe" in self.container
        for kind in ("startup", "liveness", "readiness"):
            p = self.container.get(kind + "Probe")
            if p:
                threading.Thread(target=Probe(self, kind, p).loop, args=(gen,), daemon=True).start()
        if not has_ready:
            self.ready = True
        log("container started", pod=f"{self.ns}/{self.name}", ip=self.ip, pid=self.proc.pid,
            restarts=self.restarts)

    def _secret(self, name):
        return self.agent.kube.get(f"/api/v1/namespaces/{self.ns}/secrets/{name}")

    def _configmap(self, name):
        return self.agent.kube.get(f"/api/v1/namespaces/{self.ns}/configmaps/{name}")

    def _data(self, kind, name):
        """The data of a Secret (decoded) or a ConfigMap; None when it does not exist."""
        if kind == "secret":
            obj = self._secret(name)
            return None if obj is None else {k: base64.b64decode(v).decode()
                                             for k, v in (obj.get("data") or {}).items()}
        obj = self._configmap(name)
        return None if obj is None else dict(obj.get("data") or {})

    def _write_keys(self, dest, data, items, mode, binary, what, optional=False):
        if data is None:
            if optional:
                return
            raise ConfigError(f"{what} not found")
        keys = items if items else [{"key": k, "path": k} for k in data]
        for it in keys:
            if it["key"] not in data:
                if optional:
                    continue
                raise ConfigError(f"couldn't find key {it['key']} in {what}")
            raw = base64.b64decode(data[it["key"]]) if binary else data[it["key"]].encode()
            p = os.path.normpath(os.path.join(dest, it["path"]))
            if not p.startswith(dest + os.sep):
                raise ConfigError(f"{what}: path {it['path']} leaves the volume")
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(raw)
            os.chmod(p, it.get("mode", mode))

    def _volume(self, v, uid, fsgroup):
        """Host directory that backs volume v (filled for ConfigMap/Secret/projected)."""
        name = v["name"]
        vdir = os.path.join(self.dir, "volumes", name)
        if "emptyDir" in v:
            os.makedirs(vdir, exist_ok=True)
            self._own(vdir, uid, fsgroup)
            return vdir
        if "persistentVolumeClaim" in v:
            claim = v["persistentVolumeClaim"]["claimName"]
            pvc = self.agent.kube.get(f"/api/v1/namespaces/{self.ns}/persistentvolumeclaims/{claim}")
            if not pvc or (pvc.get("status") or {}).get("phase") != "Bound":
                raise ConfigError(f"persistentvolumeclaim \"{claim}\" not bound")
            pv = self.agent.kube.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
            path = ((pv or {}).get("spec") or {}).get("hostPath", {}).get("path")
            if not path:
                raise ConfigError(f"volume of claim {claim} is not a hostPath PV")
            os.makedirs(path, exist_ok=True)
            self._own(path, uid, fsgroup)
            return path
        if os.path.isdir(vdir):
            subprocess.run(["rm", "-rf", vdir], check=True)
        os.makedirs(vdir)
        srcs = []
        if "configMap" in v:
            srcs = [{"configMap": v["configMap"]}]
        elif "secret" in v:
            srcs = [{"secret": v["secret"]}]
        elif "projected" in v:
            srcs = v["projected"].get("sources") or []
        elif "downwardAPI" in v:
            srcs = [{"downwardAPI": v["downwardAPI"]}]
        else:
            raise ConfigError(f"volume {name}: type not supported by the test-bed agent")
        mode = (v.get("configMap") or v.get("secret") or v.get("projected") or v.get("downwardAPI")
                or {}).get("defaultMode", 0o644)
        for s in srcs:
            if "configMap" in s:
                c = s["configMap"]
                cm = self._configmap(c["name"])
                self._write_keys(vdir, (cm or {}).get("data") if cm else None, c.get("items"), mode, False,
                                 f'configmap "{c["name"]}"', c.get("optional", False))
            elif "secret" in s:
                c = s["secret"]
                name2 = c.get("secretName") or c.get("name")
                sec = self._secret(name2)
                self._write_keys(vdir, (sec or {}).get("data", {}) if sec else None, c.get("items"), mode, True,
                                 f'secret "{name2}"', c.get("optional", False))
            elif "downwardAPI" in s:
                pod = dict(self.pod, status=dict(self.pod.get("status") or {}, podIP=self.ip))
                for it in s["downwardAPI"].get("items") or []:
                    if "fieldRef" not in it:
                        raise ConfigError(f"volume {name}: downwardAPI {it.get('path')}: only fieldRef is supported "
                                          "by the test-bed agent")
                    val = field_ref(pod, it["fieldRef"]["fieldPath"])
                    self._write_keys(vdir, {it["path"]: val}, [dict(it, key=it["path"])], mode, False,
                                     f"volume {name} downwardAPI")
            elif "serviceAccountToken" in s:
                # A bound token from the TokenRequest API, as the kubelet gets it (workload
                # identity reads it; the kube-api-access volume of an automounted token).
                t = s["serviceAccountToken"]
                token = self._token(t.get("audience"), t.get("expirationSeconds", 3600))
                self._write_keys(vdir, {"token": token}, [{"key": "token", "path": t["path"]}], mode, False,
                                 f"volume {name} serviceAccountToken")
            else:
                raise ConfigError(f"volume {name}: projected source not supported by the test-bed agent")
        for root, dirs, files in os.walk(vdir):
            os.chown(root, 0, fsgroup if fsgroup is not None else 0)
            os.chmod(root, 0o755)
            for fn in files:
                os.chown(os.path.join(root, fn), 0, fsgroup if fsgroup is not None else 0)
        return vdir

    def _token(self, audience, expiration):
        sa = self.pod["spec"].get("serviceAccountName") or "default"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [audience] if audience else [], "expirationSeconds": expiration,
                         "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": self.name, "uid": self.uid}}}
        st, obj = self.agent.kube.request("POST", f"/api/v1/namespaces/{self.ns}/serviceaccounts/{sa}/token", body)
        token = ((obj or {}).get("status") or {}).get("token") if st in (200, 201) else None
        if not token:  # the answer's message only: it never holds a token when it failed
            raise ConfigError(f'failed to fetch token for serviceaccount "{sa}": HTTP {st} {obj.get("message", "")}')
        return token

    def _own(self, path, uid, fsgroup):
        # fsGroup, OnRootMismatch: the volume root belongs to the group, setgid, rwx for it.
        if fsgroup is not None:
            st = os.stat(path)
            if st.st_gid != fsgroup or (st.st_mode & 0o7777) != FS_GROUP_MODE:
                os.chown(path, uid if uid is not None else st.st_uid, fsgroup)
                os.chmod(path, FS_GROUP_MODE)
        elif uid is not None:
            os.chown(path, uid, -1)

    def _env(self):
        c, pod = self.container, self.pod
        env = {"PATH": IMAGE_PATH, "HOSTNAME": self.hostname, "HOME": "/var/lib/neo4j",
               "NEO4J_HOME": "/var/lib/neo4j", "NEO4J_EDITION": self.kind,
               "N4J_TESTBED_POD_IP": self.ip, "N4J_TESTBED_IMAGE": c["image"],
               "N4J_TESTBED_VERSION": image_version(c["image"])}
        if self.kind == "operator":  # not a Neo4j image: none of its NEO4J_* defaults
            env = {k: v for k, v in env.items() if not k.startswith("NEO4J_")}
            env.update(HOME="/", N4J_TESTBED_VERSION="")
        for ef in c.get("envFrom") or []:
            for kind, field in (("configmap", "configMapRef"), ("secret", "secretRef")):
                if field in ef:
                    d = self._data(kind, ef[field]["name"])
                    if d is None and not ef[field].get("optional"):
                        raise ConfigError(f'{kind} "{ef[field]["name"]}" not found')
                    for k, v in (d or {}).items():
                        env[ef.get("prefix", "") + k] = v
        pod_status_ip = dict(pod)
        pod_status_ip["status"] = dict(pod.get("status") or {}, podIP=self.ip,
                                       hostIP=self.agent.node_ip(self.node))
        for e in c.get("env") or []:
            if "valueFrom" in e:
                vf = e["valueFrom"]
                refs = [(k, f) for k, f in (("secret", "secretKeyRef"), ("configmap", "configMapKeyRef")) if f in vf]
                if "fieldRef" in vf:
                    env[e["name"]] = field_ref(pod_status_ip, vf["fieldRef"]["fieldPath"])
                elif refs:
                    kind, r = refs[0][0], vf[refs[0][1]]
                    d = self._data(kind, r["name"])
                    if d is None or r["key"] not in d:
                        if r.get("optional"):
                            continue
                        raise ConfigError(f'{kind} "{r["name"]}" key {r["key"]} not found')
                    env[e["name"]] = d[r["key"]]
                else:
                    raise ConfigError(f"env {e['name']}: valueFrom not supported by the test-bed agent")
            else:
                env[e["name"]] = expand(e.get("value", ""), env)
        return env

    def _container_spec(self):
        pod, c = self.pod, self.container
        psc, csc = pod["spec"].get("securityContext") or {}, c.get("securityContext") or {}
        uid = csc.get("runAsUser", psc.get("runAsUser", 7474))  # the image's user neo4j
        gid = csc.get("runAsGroup", psc.get("runAsGroup", 7474))
        fsgroup = psc.get("fsGroup")
        if (csc.get("runAsNonRoot", psc.get("runAsNonRoot")) and uid == 0):
            raise ConfigError("container has runAsNonRoot and image will run as root")
        if self.kind == "enterprise" and not self.job:
            key = self._cluster_key()
            self.sim = self.agent.sim_for(key)
        if self.kind == "operator":
            binary = os.path.realpath(self.agent.operator_bin or "")
            if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
                raise ConfigError(f"operator binary not built: {self.agent.operator_bin} (--operator-bin)")
        vols = {v["name"]: v for v in pod["spec"].get("volumes") or []}
        mounts = []
        for m in c.get("volumeMounts") or []:
            v = vols.get(m["name"])
            if v is None:
                raise ConfigError(f"volume {m['name']} not found in the pod")
            src = self._volume(v, uid, fsgroup)
            if m.get("subPath"):
                src = os.path.join(src, m["subPath"])
                os.makedirs(src, exist_ok=True)
            mounts.append({"src": src, "dst": m["mountPath"], "ro": bool(m.get("readOnly"))})
        img = os.path.join(HERE, "image")
        mounts.append({"src": img, "dst": "/startup", "ro": True})
        if self.job:
            mounts += self._job_mounts(uid, gid)
            if self.kind == "operator":  # over the image's placeholder of the same name
                mounts.append({"src": binary, "dst": "/startup/bin/neo4j-operator", "ro": True})
        elif self.kind == "community":
            if not os.path.isfile(os.path.join(self.agent.testserver, "classes", "TestServer.class")):
                raise ConfigError(f"Neo4j test server not built in {self.agent.testserver}")
            mounts.append({"src": self.agent.testserver, "dst": "/opt/testbed/neo4j", "ro": True})
        else:
            mounts.append({"src": os.path.dirname(self.agent.sim_bin), "dst": "/opt/testbed/sim-bin", "ro": True})
            mounts.append({"src": self.sim.dir, "dst": "/opt/testbed/sim", "ro": False})
        mounts.append({"src": self.agent.settings_dir, "dst": "/opt/testbed/settings", "ro": True})
        if self.kind == "operator":  # the operator image's entrypoint
            argv = list(c.get("command") or ["neo4j-operator"]) + list(c.get("args") or [])
        else:
            argv = list(c.get("command") or ["tini", "-g", "--", "/startup/docker-entrypoint.sh"])
            argv += list(c.get("args") or ([] if c.get("command") else ["neo4j"]))
        env = self._env()
        argv = [expand(a, env) for a in argv]
        groups = [g for g in [fsgroup] + list(psc.get("supplementalGroups") or []) if g is not None]
        tmp = os.path.join(self.dir, "tmp")
        os.makedirs(tmp, exist_ok=True)
        os.chmod(tmp, 0o1777)
        return {"root": os.path.join(self.dir, "root"), "tmp": tmp, "mounts": mounts, "argv": argv,
                "env": env, "uid": uid, "gid": gid, "groups": groups,
                "workdir": c.get("workingDir") or ("/" if self.kind == "operator" else "/var/lib/neo4j"),
                "no_new_privs": csc.get("allowPrivilegeEscalation") is False,
                # A Job pod's /dev is its own (the termination-log file is bound into it).
                "private_dev": self.job}

    def _job_mounts(self, uid, gid):
        """A Job pod container's /etc/hosts and termination-message file."""
        # /etc/hosts as the kubelet writes it, plus the pods' DNS names (no cluster DNS here),
        # as of this container's start.
        fq = f"{self.hostname}.{self.subdomain}.{self.ns}.svc.cluster.local" if self.subdomain else ""
        hosts = ["# Kubernetes-managed hosts file (test-bed node agent).\n", "127.0.0.1\tlocalhost\n",
                 "::1\tlocalhost ip6-localhost ip6-loopback\n", f"{self.ip}\t{fq} {self.hostname}\n".replace("\t ", "\t")]
        try:
            with open(os.path.join(self.agent.run_dir, "hosts")) as f:
                hosts += [ln for ln in f if ln.strip()]
        except FileNotFoundError:
            pass
        hpath = os.path.join(self.dir, "etc-hosts")
        with open(hpath, "w") as f:
            f.writelines(hosts)
        os.chmod(hpath, 0o644)
        # The kubelet creates the file empty for each container, mode 0666.
        tdir = os.path.join(self.dir, "termination")
        os.makedirs(tdir, exist_ok=True)
        self.term_file = os.path.join(tdir, self.cname)
        with open(self.term_file, "wb"):
            pass
        os.chown(self.term_file, uid, gid)
        os.chmod(self.term_file, 0o666)
        tpath = self.container.get("terminationMessagePath") or "/dev/termination-log"
        return [{"src": hpath, "dst": "/etc/hosts", "ro": True},
                {"src": self.term_file, "dst": tpath, "ro": False}]

    def _cluster_key(self):
        for o in self.pod["metadata"].get("ownerReferences") or []:
            if o.get("kind") == "StatefulSet":
                return f"{self.ns}/{o['name']}"
        return f"{self.ns}/{self.name}"

    # ---- status
    def _cond(self, ctype, status, reason=None, message=None):
        prev = self.cond_times.get(ctype)
        if prev is None or prev[0] != status:
            self.cond_times[ctype] = (status, now_rfc3339())
        # null, not absent: the status patch is a strategic merge, which would otherwise keep
        # the reason and message of the condition's previous state (False -> True).
        return {"type": ctype, "status": status, "lastTransitionTime": self.cond_times[ctype][1],
                "lastProbeTime": None, "reason": reason or None, "message": message or None}

    def _report(self):
        if self.node_lost or not self.ip:
            return
        if self.job:
            self._patch_status(self._job_status())
            return
        c = self.container
        ready = bool(self.proc is not None and self.started and self.ready)
        statuses = []
        for i, ci in enumerate(self.pod["spec"]["containers"]):
            if i == self.idx:
                statuses.append({"name": c["name"], "image": c["image"],
                                 "imageID": "testbed://" + c["image"], "containerID": self._cid(),
                                 "ready": ready, "started": bool(self.proc is not None and self.started),
                                 "restartCount": self.restarts, "state": self.state,
                                 "lastState": self.last_state})
            else:  # other containers: kwok's behaviour (nothing runs)
                statuses.append({"name": ci["name"], "image": ci["image"], "imageID": "testbed://" + ci["image"],
                                 "ready": True, "started": True, "restartCount": 0,
                                 "state": {"running": {"startedAt": self.start_time}}})
        gates = [g["conditionType"] for g in self.pod["spec"].get("readinessGates") or []]
        have = {x["type"]: x.get("status") for x in (self.pod.get("status") or {}).get("conditions") or []}
        gates_ok = all(have.get(g) == "True" for g in gates)
        conds = [self._cond("PodReadyToStartContainers", "True"), self._cond("Initialized", "True")]
        if ready:
            conds.append(self._cond("ContainersReady", "True"))
        else:
            conds.append(self._cond("ContainersReady", "False", "ContainersNotReady",
                                    f"containers with unready status: [{c['name']}]"))
        if ready and gates_ok:
            conds.append(self._cond("Ready", "True"))
        elif not ready:
            conds.append(self._cond("Ready", "False", "ContainersNotReady",
                                    f"containers with unready status: [{c['name']}]"))
        else:
            missing = [g for g in gates if have.get(g) != "True"]
            conds.append(self._cond("Ready", "False", "ReadinessGatesNotReady",
                                    f"corresponding condition of pod readiness gate \"{missing[0]}\" does not exist."
                                    if missing[0] not in have else
                                    f"the status of pod readiness gate \"{missing[0]}\" is not \"True\", "
                                    f"but {have.get(missing[0])}"))
        phase = "Running" if (self.proc is not None or self.last_state) else "Pending"
        hip = self.agent.node_ip(self.node)
        init = [{"name": ic["name"], "image": ic["image"], "imageID": "testbed://" + ic["image"], "ready": True,
                 "restartCount": 0, "started": False,
                 "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": self.start_time,
                                          "finishedAt": self.start_time}}}
                for ic in self.pod["spec"].get("initContainers") or []]
        status = {"phase": phase, "podIP": self.ip, "podIPs": [{"ip": self.ip}], "hostIP": hip,
                  "hostIPs": [{"ip": hip}], "startTime": self.start_time, "conditions": conds,
                  "containerStatuses": statuses}
        if init:
            status["initContainerStatuses"] = init
        self._patch_status(status)

    def _job_status(self):
        """A Job pod's status as the kubelet reports a restartPolicy Never pod."""
        inits = [c for k, c in self.seq if k == "init"]
        mains = [c for k, c in self.seq if k == "main"]
        running = None if self.final or self.proc is None else self.cname

        def entry(c, is_init):
            n = c["name"]
            e = {"name": n, "image": c["image"], "imageID": "testbed://" + c["image"], "restartCount": 0,
                 "started": n == running, "ready": n == running and not is_init}
            if n in self.results:
                t = self.results[n]
                e.update(state={"terminated": t}, containerID=t["containerID"], ready=is_init and t["exitCode"] == 0)
            elif n == self.cname and not self.final:
                e["state"] = self.state
                if n == running:
                    e["containerID"] = self._cid()
            else:  # not reached (yet, or ever: an init container failed, or the deadline)
                e["state"] = {"waiting": {"reason": "PodInitializing"}}
            return e

        not_init = [c["name"] for c in inits if self.results.get(c["name"], {}).get("exitCode") != 0]
        not_ready = [c["name"] for c in mains if c["name"] != running]
        if self.final:
            phase = self.final
        elif not not_init and (running or any(c["name"] in self.results for c in mains)):
            phase = "Running"
        else:
            phase = "Pending"
        conds = [self._cond("PodReadyToStartContainers", "False" if self.final else "True")]
        if not_init:
            conds.append(self._cond("Initialized", "False", "ContainersNotInitialized",
                                    f"containers with incomplete status: [{' '.join(not_init)}]"))
        else:
            conds.append(self._cond("Initialized", "True", "PodCompleted" if self.final == "Succeeded" else None))
        for t in ("ContainersReady", "Ready"):
            if self.final:
                conds.append(self._cond(t, "False", "PodCompleted"))
            elif not_ready:
                conds.append(self._cond(t, "False", "ContainersNotReady",
                                        f"containers with unready status: [{' '.join(not_ready)}]"))
            else:
                conds.append(self._cond(t, "True"))
        hip = self.agent.node_ip(self.node)
        status = {"phase": phase, "podIP": self.ip, "podIPs": [{"ip": self.ip}], "hostIP": hip,
                  "hostIPs": [{"ip": hip}], "startTime": self.start_time, "conditions": conds,
                  "containerStatuses": [entry(c, False) for c in mains]}
        if inits:
            status["initContainerStatuses"] = [entry(c, True) for c in inits]
        if self.final and self.deadline_hit:
            status.update(reason="DeadlineExceeded", message=DEADLINE_MSG)
        return status

    def _patch_status(self, status):
        cur = self.pod.get("status") or {}
        key = json.dumps(status, sort_keys=True)
        if key == self.reported and cur.get("podIP") == self.ip:
            return
        # The UID is a precondition: a pod re-created under the same name is not ours.
        st, obj = self.agent.kube.request("PATCH", f"/api/v1/namespaces/{self.ns}/pods/{self.name}/status",
                                          {"metadata": {"uid": self.uid}, "status": status},
                                          ctype="application/strategic-merge-patch+json")
        if st == 200:
            self.reported = key
            # The reply is the pod as of this patch: a watch event delivered meanwhile (the
            # operator's readiness gate) is newer and must not be replaced by it, or Ready is
            # never re-evaluated for that gate.
            if obj.get("metadata", {}).get("uid") == self.uid and _rv(obj) >= _rv(self.pod):
                self.pod = obj
        elif st not in (404, 409, 422):  # gone, or re-created (the UID check refused)
            log("status patch failed", pod=f"{self.ns}/{self.name}", code=st, body=str(obj)[:300])

    # ---- faults
    def fault(self, what):
        if what in ("kill", "hang", "resume") and self.proc is None:
            return f"error: {self.ns}/{self.name}: no running container"
        if what == "kill":
            os.killpg(self.proc.pid, signal.SIGKILL)
            return f"ok killed {self.proc.pid}"
        if what == "hang":
            os.killpg(self.proc.pid, signal.SIGSTOP)
            self.hung = True
            return f"ok stopped {self.proc.pid}"
        if what == "resume":
            os.killpg(self.proc.pid, signal.SIGCONT)
            self.hung = False
            return f"ok resumed {self.proc.pid}"
        if what in ("partition", "heal"):
            if self.kind != "enterprise" or self.sim is None:
                return (f"error: {self.ns}/{self.name} runs a standalone Community server: "
                        "it has no peers to be cut off from")
            r = self.sim.command(f"{what} {self.hostname}")
            return r if r.startswith("error") else f"ok {what} {self.hostname}: {r}"
        return f"error: unknown fault {what} (kill|hang|resume|partition|heal)"

    def describe(self):
        d = {"pod": f"{self.ns}/{self.name}", "uid": self.uid, "node": self.node, "ip": self.ip,
             "kind": self.kind, "pid": self.proc.pid if self.proc else None, "restarts": self.restarts,
             "started": self.started, "ready": self.ready, "hung": self.hung, "nodeLost": self.node_lost,
             "dir": self.dir}
        if self.job:
            d.update(job=True, container=self.cname, phase=self.final)
        return d

    def shutdown(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self._kill_now()


# ------------------------------------------------------------- exec (inside) ----
def container_exec(spec_path):
    """Runs inside `unshare --mount --propagation private`: build the root, chroot, exec."""
    with open(spec_path) as f:
        s = json.load(f)
    root = s["root"]
    os.makedirs(root, exist_ok=True)

    def bind(src, dst, ro, recursive=False):
        target = os.path.join(root, dst.lstrip("/"))
        if os.path.isdir(src):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.exists(target):
                open(target, "a").close()
        opts = ["--rbind" if recursive else "--bind"]
        if ro:
            opts += ["-o", "ro"]
        subprocess.run(["mount", *opts, src, target], check=True)

    for d in ("usr", "etc"):
        bind("/" + d, d, True)
    for d in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = "/" + d
        target = os.path.join(root, d)
        if os.path.islink(host):
            if not os.path.lexists(target):
                os.symlink(os.readlink(host), target)
        elif os.path.isdir(host):
            bind(host, d, True)
    bind("/proc", "proc", False)
    if s.get("private_dev"):
        # A tmpfs with the usual device nodes (bound from the host's), as a runtime gives a
        # container: files bound under /dev then stay this container's, not the host's.
        dev = os.path.join(root, "dev")
        os.makedirs(dev, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755,size=1m,nosuid", "tmpfs", dev], check=True)
        for node in ("null", "zero", "full", "random", "urandom", "tty"):
            if os.path.exists("/dev/" + node):
                bind("/dev/" + node, "dev/" + node, False)
        for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
            os.symlink(target, os.path.join(dev, name))
        os.makedirs(os.path.join(dev, "shm"))
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs",
                        os.path.join(dev, "shm")], check=True)
    else:
        bind("/dev", "dev", False, recursive=True)
    bind("/sys", "sys", True)
    bind(s["tmp"], "tmp", False)
    for m in s["mounts"]:
        bind(m["src"], m["dst"], m["ro"])
    for d in (s["workdir"],):
        os.makedirs(os.path.join(root, d.lstrip("/")), exist_ok=True)
    os.chroot(root)
    os.chdir(s["workdir"] if os.path.isdir(s["workdir"]) else "/")
    if s.get("no_new_privs"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    os.setgroups(s["groups"])
    os.setgid(s["gid"])
    os.setuid(s["uid"])
    os.umask(0o022)
    try:
        os.execvpe(s["argv"][0], s["argv"], s["env"])
    except OSError as e:
        print(f'exec: "{s["argv"][0]}": {e.strerror}', file=sys.stderr)
        os._exit(127)


def reap_leftovers(base):
    """Kills what an agent that died without cleaning up left running (by recorded PID,
    only while that PID still runs a test-bed server): at the agent's start, and from
    `hack/test-env down` after the agent is gone."""
    import glob
    for f in glob.glob(os.path.join(base, "pods", "*", "pid")) + glob.glob(os.path.join(base, "sim", "*", "pid")):
        try:
            pid = int(open(f).read().strip())
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ")
            try:  # a container (a Job pod's bash, ...) is chrooted into its pod's directory
                pods_dir = os.path.join(os.path.realpath(base), "pods") + os.sep
                in_pod = os.readlink(f"/proc/{pid}/root").startswith(pods_dir)
            except OSError:
                in_pod = False
            if b"TestServer" in cmd or b"n4j-clustersim" in cmd or b"node-agent.py exec" in cmd or in_pod:
                os.kill(pid, signal.SIGKILL)
                log("killed a leftover container process", pid=pid)
        except (OSError, ValueError):
            pass
        os.unlink(f)


def ctl(sock, words):
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(30)
    c.connect(sock)
    c.sendall((" ".join(words) + "\n").encode())
    reply = c.makefile().readline().strip()
    print(reply)
    return 1 if reply.startswith("error") else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "exec":
        container_exec(sys.argv[2])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "ctl":
        return ctl(sys.argv[2], sys.argv[3:])
    if len(sys.argv) == 3 and sys.argv[1] == "reap":
        reap_leftovers(os.path.join(sys.argv[2], "agent"))
        return 0
    import argparse
    ap = argparse.ArgumentParser(prog="node-agent.py")
    ap.add_argument("cmd", choices=["run"])
    ap.add_argument("--run", required=True)
    ap.add_argument("--apiserver", required=True)
    ap.add_argument("--sim", default="")
    ap.add_argument("--testserver", default=os.path.join(REPO, "hack", "neo4j-testserver", "target"))
    ap.add_argument("--operator-bin", default=os.path.join(REPO, "build", "default", "neo4j-operator"),
                    help="the binary a Job pod's container of the operator image runs")
    args = ap.parse_args()
    Agent(args).main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
