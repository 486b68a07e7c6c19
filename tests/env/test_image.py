#!/usr/bin/env python3
"""hack/image builds an image whose root filesystem alone runs the operator (docs/image.md).

  1. hack/image (build/release, output in a scratch directory) writes an OCI layout, an OCI
     archive and a docker-archive; run twice, it gives the same manifest digest
     (reproducible: SOURCE_DATE_EPOCH mtimes, numeric owners, sorted entries);
  2. the layout is read here, not by a tool: oci-layout → index.json → manifest → config and
     layers, each blob's sha256 and size checked against its descriptor, the layers' diff_ids
     against their uncompressed content; the config runs /neo4j-operator run as 65532:65532
     with the org.opencontainers.image labels; skopeo reads both archives;
  3. the layers are unpacked into an empty directory (no shell, nothing of the host) and
     `chroot --userspec=65532:65532 ROOTFS /neo4j-operator version` prints the version of the
     image's label: the loader and every library it needs are in the image;
  4. `run` inside that root filesystem, as uid 65532 (read from /proc/PID/status), against the
     test apiserver with the operator identity's kubeconfig copied into the image's /tmp:
     caches synced, and a Neo4jBackup of a paused cluster gets its nextScheduleTime computed
     in Asia/Kathmandu (+05:45) and Asia/Calcutta (a tzdata symlink, +05:30) from the image's
     /usr/share/zoneinfo, the path src/controller/cron.c reads; then SIGTERM → exit 0.

Needs root (chroot); CI runs as root.
"""
import atexit
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request

from envlib import ROOT, check, done, kubectl, load_env, pod_templates, unique_name, wait_for

if os.geteuid() != 0:
    print("FAIL: env.image needs root: it runs the operator in the image's root filesystem with "
          "chroot(1) (CI runs as root); run it as root (sudo ctest -R env.image)", flush=True)
    sys.exit(1)
load_env()
NONROOT = 65532
NS = unique_name("image")
LEASE = unique_name("image-lease")
LEASE_NS = "neo4j-system"
TMP = tempfile.mkdtemp(prefix="env-image.")
HOST_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
_procs = []


def cleanup():
    for p in _procs:  # only what this test started, by PID
        if p.poll() is None:
            p.kill()
            p.wait()
    kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=false")
    kubectl("delete", "lease", "-n", LEASE_NS, LEASE, "--ignore-not-found", "--wait=false")
    shutil.rmtree(TMP, ignore_errors=True)


atexit.register(cleanup)


def hack_image(out, *extra):
    env = dict(os.environ, IMAGE_JOBS=os.environ.get("IMAGE_JOBS", "2"))
    p = subprocess.run([os.path.join(ROOT, "hack", "image"), "--out", out, *extra],
                       capture_output=True, text=True, env=env, timeout=800)
    if p.returncode != 0:
        raise RuntimeError(f"hack/image failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p.stdout


# ---- 1. build, twice --------------------------------------------------------------------
out1, out2 = os.path.join(TMP, "out1"), os.path.join(TMP, "out2")
stdout = hack_image(out1)
print(stdout, end="", flush=True)
hack_image(out2, "--no-build", "--no-docker-archive")
summary = json.load(open(os.path.join(out1, "image.json")))
summary2 = json.load(open(os.path.join(out2, "image.json")))
check(summary["manifestDigest"] == summary2["manifestDigest"],
      f"two builds of the same binary give the same manifest digest: "
      f"{summary['manifestDigest']} vs {summary2['manifestDigest']}")
ref = summary["reference"]
version = ref.rsplit(":", 1)[1]
check(ref == f"ghcr.io/graphops/neo4j-operator:{version}", f"image reference {ref}")

# ---- 2. the OCI layout, read by hand ----------------------------------------------------
LAYOUT = os.path.join(out1, "oci")


def blob(desc, media_type=None):
    """The blob of a descriptor, after checking its digest and size."""
    algo, _, hexd = desc["digest"].partition(":")
    check(algo == "sha256" and len(hexd) == 64, f"descriptor digest {desc['digest']}")
    data = open(os.path.join(LAYOUT, "blobs", algo, hexd), "rb").read()
    check(hashlib.sha256(data).hexdigest() == hexd, f"blob {desc['digest']}: content has another sha256")
    check(len(data) == desc["size"], f"blob {desc['digest']}: {len(data)} bytes, descriptor says {desc['size']}")
    if media_type:
        check(desc.get("mediaType") == media_type, f"{desc['digest']}: mediaType {desc.get('mediaType')}")
    return data


layout_file = json.load(open(os.path.join(LAYOUT, "oci-layout")))
check(layout_file.get("imageLayoutVersion") == "1.0.0", f"oci-layout: {layout_file}")
index = json.load(open(os.path.join(LAYOUT, "index.json")))
check(index.get("schemaVersion") == 2 and len(index.get("manifests", [])) == 1,
      f"index.json: schemaVersion 2, one manifest: {index}")
mdesc = index["manifests"][0]
ann = mdesc.get("annotations", {})
check(ann.get("org.opencontainers.image.ref.name") == version, f"index ref.name is the tag: {ann}")
check(ann.get("io.containerd.image.name") == ref, f"index names {ref} for containerd: {ann}")
check(mdesc["digest"] == summary["manifestDigest"], "image.json names the index's manifest")
manifest = json.loads(blob(mdesc, "application/vnd.oci.image.manifest.v1+json"))
check(manifest.get("schemaVersion") == 2, "manifest schemaVersion 2")
config = json.loads(blob(manifest["config"], "application/vnd.oci.image.config.v1+json"))
layers = manifest["layers"]
check(len(layers) >= 1, "at least one layer")
cc = config.get("config", {})
check(config.get("os") == "linux", f"config os {config.get('os')}")
check(cc.get("User") == f"{NONROOT}:{NONROOT}", f"config User {cc.get('User')}")
check(cc.get("Entrypoint") == ["/neo4j-operator"], f"config Entrypoint {cc.get('Entrypoint')}")
check(cc.get("Cmd") == ["run"], f"config Cmd {cc.get('Cmd')}")
labels = cc.get("Labels") or {}
check(labels.get("org.opencontainers.image.version") == version, f"version label {labels}")
check(labels.get("org.opencontainers.image.source", "").startswith("https://"), f"source label {labels}")
check(bool(labels.get("org.opencontainers.image.licenses")), f"licenses label {labels}")
created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(summary["sourceDateEpoch"]))
check(config.get("created") == created and all(h.get("created") == created for h in config.get("history", [])),
      f"config and history dated SOURCE_DATE_EPOCH ({created}): {config.get('created')}")
diff_ids = config.get("rootfs", {}).get("diff_ids", [])
check(len(diff_ids) == len(layers), f"{len(diff_ids)} diff_ids for {len(layers)} layers")
layer_tars = []
for i, l in enumerate(layers):
    check(l.get("mediaType") == "application/vnd.oci.image.layer.v1.tar+gzip", f"layer {i} mediaType {l.get('mediaType')}")
    raw = gzip.decompress(blob(l))
    check(i < len(diff_ids) and diff_ids[i] == "sha256:" + hashlib.sha256(raw).hexdigest(),
          f"layer {i}: diff_id is the sha256 of its uncompressed tar")
    layer_tars.append(raw)
# Every blob is reachable from the index (no leftovers of umoci's intermediate configs).
reachable = {mdesc["digest"], manifest["config"]["digest"], *(l["digest"] for l in layers)}
present = {"sha256:" + n for n in os.listdir(os.path.join(LAYOUT, "blobs", "sha256"))}
check(present == reachable, f"blobs not referenced: {sorted(present - reachable)}")

for kind in ("oci-archive", "docker-archive"):
    path = summary["ociArchive"] if kind == "oci-archive" else summary["dockerArchive"]
    p = subprocess.run(["skopeo", "inspect", f"{kind}:{path}"], capture_output=True, text=True)
    ok = p.returncode == 0
    info = json.loads(p.stdout) if ok else {}
    check(ok and info.get("Labels", {}).get("org.opencontainers.image.version") == version,
          f"skopeo inspect {kind}: {p.stderr.strip()[:300]}")
    if kind == "oci-archive":
        check(info.get("Digest") == summary["manifestDigest"], f"the OCI archive holds the layout's manifest: {info.get('Digest')}")
    else:  # docker load reads the tag from manifest.json (skopeo inspect does not show it)
        with tarfile.open(path) as t:
            dm = json.load(t.extractfile("manifest.json"))
            dl = [hashlib.sha256(t.extractfile(n).read()).hexdigest() for n in dm[0]["Layers"]]
        check(len(dm) == 1 and dm[0].get("RepoTags") == [ref], f"the docker-archive is tagged {ref}: {dm}")
        check(["sha256:" + d for d in dl] == config["rootfs"]["diff_ids"],
              "the docker-archive holds the same layers")

# ---- 3. unpack into an empty directory, run `version` --------------------------------------
ROOTFS = os.path.join(TMP, "rootfs")
os.mkdir(ROOTFS, 0o755)


def inside(path):
    real = os.path.realpath(os.path.join(ROOTFS, path))
    return real == ROOTFS or real.startswith(ROOTFS + "/")


owners = set()
mtimes = set()
for raw in layer_tars:
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for m in tar.getmembers():
            name = m.name.lstrip("./")
            if m.name.startswith("/") or ".." in m.name.split("/") or not inside(os.path.dirname(name)):
                check(False, f"layer entry {m.name!r} leaves the root filesystem")
                continue
            base = os.path.basename(name)
            if base.startswith(".wh."):  # whiteouts (a later layer deletes something)
                target = os.path.join(ROOTFS, os.path.dirname(name), base[len(".wh."):])
                if base == ".wh..wh..opq":
                    for e in os.listdir(os.path.dirname(target)):
                        shutil.rmtree(os.path.join(os.path.dirname(target), e), ignore_errors=True)
                elif os.path.isdir(target) and not os.path.islink(target):
                    shutil.rmtree(target)
                elif os.path.lexists(target):
                    os.unlink(target)
                continue
            if (m.uid, m.gid) != (0, 0):
                owners.add((name, m.uid, m.gid))
            mtimes.add(m.mtime)
            # Checked above; "fully_trusted" keeps /tmp's sticky bit and absolute symlinks
            # (Python's newer default filter would drop or refuse them).
            kw = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
            tar.extract(m, ROOTFS, numeric_owner=True, **kw)
check(owners == {("home/nonroot", NONROOT, NONROOT)}, f"only /home/nonroot is not root's: {sorted(owners)}")
check(mtimes == {summary["sourceDateEpoch"]}, f"every entry has mtime SOURCE_DATE_EPOCH: {sorted(mtimes)[:5]}")
check(not os.path.lexists(os.path.join(ROOTFS, "bin", "sh")), "no shell in the image")
for d in ("proc", "dev"):  # mount points, which a runtime creates when the image has none
    os.makedirs(os.path.join(ROOTFS, d), mode=0o755, exist_ok=True)
check(os.stat(os.path.join(ROOTFS, "tmp")).st_mode & 0o7777 == 0o1777, "/tmp is 1777")
passwd = open(os.path.join(ROOTFS, "etc", "passwd")).read()
check(f"nonroot:x:{NONROOT}:{NONROOT}:" in passwd, f"/etc/passwd names nonroot {NONROOT}")
bundle = os.path.join(ROOTFS, "etc", "ssl", "certs", "ca-certificates.crt")
check(os.path.isfile(bundle) and os.path.getsize(bundle) > 10000, "the CA bundle is in the image")


# What every OCI runtime adds to an image's root filesystem (runtime-spec config-linux.md,
# "Default Devices"; /proc mounted): the operator reads /proc/self, and libwebsockets
# /dev/urandom. Mounted in a mount namespace of the run's own, so nothing outlives it.
RUNTIME_MOUNTS = r"""set -e
mount -t proc proc "$0/proc"
mount -t tmpfs -o nosuid,mode=755 tmpfs "$0/dev"
for d in null zero full random urandom tty; do : >"$0/dev/$d"; mount --bind "/dev/$d" "$0/dev/$d"; done
exec chroot "--userspec=$1" --groups= "$0" "${@:2}"
"""


def chroot(*argv):
    # As a runtime would: the config's user, no supplementary groups, the image as root.
    # unshare, bash and chroot are the host's, run before the chroot; the exec chain keeps
    # the PID: the process Popen returns is the operator.
    return ["unshare", "--mount", "--propagation", "private", "--", "bash", "-c", RUNTIME_MOUNTS,
            ROOTFS, cc.get("User") or "0:0", *argv]


p = subprocess.run(chroot("/neo4j-operator", "version"), capture_output=True, text=True,
                   env=HOST_ENV, timeout=30)
check(p.returncode == 0 and p.stdout.startswith(f"neo4j-operator {version} "),
      f"`neo4j-operator version` in the image as {NONROOT}: rc {p.returncode}, {p.stdout!r} {p.stderr!r}")
# The backup Jobs' retention container runs this image with the command the renderer writes
# (a bare `neo4j-operator`): resolved, as a runtime does, through the image's PATH.
image_path = next((e.split("=", 1)[1] for e in cc.get("Env") or [] if e.startswith("PATH=")), None)
check(bool(image_path), f"the config sets PATH: {cc.get('Env')}")
rendered = subprocess.run([os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default", "neo4j-operator"),
                           "render", "-o", "json", "--operator-image", ref,
                           "-f", os.path.join(ROOT, "examples", "cluster-3.yaml"),
                           "-f", os.path.join(ROOT, "examples", "backup-once-pvc.yaml")],
                          capture_output=True, text=True, timeout=60)
retention = None
for obj in (json.loads(rendered.stdout).get("items", []) if rendered.returncode == 0 else []):
    for _, template in pod_templates(obj):
        for c in template["spec"].get("containers", []):
            if c.get("name") == "retention" and c.get("image") == ref:
                retention = c
check(retention is not None, f"render names this image for the retention container: {rendered.stderr[:300]}")
if retention:
    cmd = retention["command"]
    p = subprocess.run(chroot(cmd[0], cmd[1], "--help"), capture_output=True, text=True, timeout=30,
                       env={"PATH": image_path or ""})
    check(p.returncode == 0 and "backup-retention" in p.stdout,
          f"`{cmd[0]} {cmd[1]} --help` through the image's PATH: rc {p.returncode} {p.stderr[:300]!r}")
# HTTPS from the image (libcurl + OpenSSL, as the retention container talks to S3): against
# the apiserver, whose test CA no public bundle holds, verification must run and refuse it.
# Without the image's CA bundle the error would be curl's "error setting certificate file".
inspect_file = os.path.join(ROOTFS, "tmp", "inspect.json")
with open(inspect_file, "w") as f:
    f.write("[]")
os.chmod(inspect_file, 0o644)
p = subprocess.run(chroot("/neo4j-operator", "backup-retention", "--target=s3://bucket/prefix",
                          "--inspect=/tmp/inspect.json", "--keep-last=1", "--database=neo4j",
                          "--report=/tmp/report.json"),
                   capture_output=True, text=True, timeout=60,
                   env=dict(HOST_ENV, AWS_ENDPOINT_URL_S3=os.environ["TESTENV_APISERVER"],
                            AWS_ACCESS_KEY_ID="image-test", AWS_SECRET_ACCESS_KEY="image-test",
                            AWS_REGION="us-east-1"))
check(p.returncode == 1 and "SSL certificate problem" in p.stderr,
      f"HTTPS in the image verifies against its CA bundle (unknown issuer refused): {p.stderr.strip()!r}")
help_text = subprocess.run(chroot("/neo4j-operator", "run", "--help"), capture_output=True, text=True,
                           env=HOST_ENV, timeout=30)
help_text = help_text.stdout + help_text.stderr

# ---- 4. `run` in the image against the apiserver ----------------------------------------
# A paused Enterprise cluster (the operator changes nothing for it) and two scheduled backups
# of it: the backup controller loads each spec.timeZone's TZif file and writes the next run.
kubectl("create", "namespace", NS, check=True)
cluster = {"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jCluster",
           "metadata": {"name": "graph", "namespace": NS},
           "spec": {"edition": "enterprise", "version": "5.26.12", "acceptLicenseAgreement": "yes",
                    "servers": 3, "paused": True}}
backups = {"kathmandu": ("Asia/Kathmandu", "21:15:00Z"),  # 03:00 at +05:45
           "calcutta": ("Asia/Calcutta", "21:30:00Z")}    # 03:00 at +05:30, via a symlink
docs = [cluster]
for name, (zone, _) in backups.items():
    docs.append({"apiVersion": "neo4j.graphops.io/v1alpha1", "kind": "Neo4jBackup",
                 "metadata": {"name": name, "namespace": NS},
                 "spec": {"clusterRef": {"name": "graph"}, "databases": ["*"],
                          "schedule": "0 3 * * *", "timeZone": zone,
                          "target": {"pvc": {"size": "1Gi"}}}})
kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}),
        check=True)

# The operator identity's kubeconfig (token, CA data inline) in the image's /tmp, its owner's.
kcfg = os.path.join(ROOTFS, "tmp", "kubeconfig")
shutil.copyfile(os.environ["TESTENV_OPERATOR_KUBECONFIG"], kcfg)
os.chown(kcfg, NONROOT, NONROOT)
os.chmod(kcfg, 0o600)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


health_port, metrics_port = free_port(), free_port()
argv = ["/neo4j-operator", "run", "--kubeconfig", "/tmp/kubeconfig", "--namespaces", NS,
        "--leader-election-namespace", LEASE_NS, "--leader-election-id", LEASE, "--workers", "2",
        "--metrics-bind-address", f"127.0.0.1:{metrics_port}",
        "--health-probe-bind-address", f"127.0.0.1:{health_port}"]
op = subprocess.Popen(chroot(*argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE, text=True, env=dict(HOST_ENV, POD_NAME="image-test"))
_procs.append(op)
records, bad = [], []
lock = threading.Lock()


def read_log():
    for line in op.stderr:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        with lock:
            (records if isinstance(rec, dict) else bad).append(rec if rec else line)


threading.Thread(target=read_log, daemon=True).start()


def logged(msg):
    with lock:
        return next((r for r in records if r.get("msg") == msg), None)


def log_tail():
    with lock:
        return "\n".join(json.dumps(r) for r in records[-20:]) + "".join(bad[-5:])


try:
    wait_for("the operator in the image logs 'caches synced'",
             lambda: logged("caches synced") or (op.poll() is not None and
                                                   RuntimeError(f"exited {op.returncode}")),
             timeout=90, interval=0.2)
    if not check(op.poll() is None and logged("caches synced"), f"caches synced in the image:\n{log_tail()}"):
        raise RuntimeError(f"the operator in the image did not start (exit {op.poll()})")
    # chroot(1) execs the operator: the PID is the operator's, confined and unprivileged.
    status = open(f"/proc/{op.pid}/status").read()
    uid = next(l.split()[1:] for l in status.splitlines() if l.startswith("Uid:"))
    gid = next(l.split()[1:] for l in status.splitlines() if l.startswith("Gid:"))
    groups = next(l.split()[1:] for l in status.splitlines() if l.startswith("Groups:"))
    print(f"operator PID {op.pid} in the image: Uid {uid} Gid {gid} Groups {groups}", flush=True)
    check(uid == [str(NONROOT)] * 4 and gid == [str(NONROOT)] * 4,
          f"the operator runs as {NONROOT}:{NONROOT}: Uid {uid} Gid {gid}")
    check(groups in ([], [str(NONROOT)]), f"no supplementary group of the host: {groups}")
    check(os.readlink(f"/proc/{op.pid}/root") == ROOTFS, f"its root is the image: {os.readlink(f'/proc/{op.pid}/root')}")
    check(os.readlink(f"/proc/{op.pid}/exe") == os.path.join(ROOTFS, "neo4j-operator"),
          f"it is the image's binary: {os.readlink(f'/proc/{op.pid}/exe')}")
    # The health server, once `run` serves it (DESIGN §9; "not served yet" until then).
    if "not served yet" not in help_text:
        def ready():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=2).status == 200
            except OSError:
                return False
        check(bool(wait_for("/readyz 200 from the image", ready, timeout=30, interval=0.5)),
              "/readyz answers 200")
        # process_* come from /proc/self: the families a runtime's /proc must feed.
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError as e:
            text = f"error: {e}"
        names = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"}
        check({"process_resident_memory_bytes", "process_open_fds", "neo4j_operator_build_info"} <= names,
              f"/metrics from the image has the process and build families: {text[:300]!r}")

    def judged(name):
        """The backup's status once the controller computed its next run or refused it."""
        p = kubectl("get", "neo4jbackup", "-n", NS, name, "-o", "json")
        st = json.loads(p.stdout).get("status", {}) if p.returncode == 0 else {}
        refused = any(c.get("reason") == "UnknownTimeZone" for c in st.get("conditions", []))
        return st if st.get("nextScheduleTime") or refused else None

    for name, (zone, hhmm) in backups.items():
        st = wait_for(f"{name}: status.nextScheduleTime", lambda: judged(name), timeout=60, interval=0.5)
        t = st.get("nextScheduleTime", "")
        print(f"{name}: timeZone {zone}, nextScheduleTime {t}", flush=True)
        check(t.endswith("T" + hhmm), f"{name}: 03:00 in {zone} is {hhmm[:5]} UTC, status says "
              f"{t or 'none'}; conditions {st.get('conditions')}")
    check(not any(r.get("msg") == "backup load failed" for r in records), "no backup failed to load")

    os.kill(op.pid, signal.SIGTERM)
    try:
        rc = op.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    check(rc == 0, f"SIGTERM: the operator exits 0 (got {rc}):\n{log_tail()}")
    check(not bad, f"the operator logs JSON lines only: {bad[:3]}")
except RuntimeError as e:
    check(False, f"{e}\n{log_tail()}")

size = summary["compressedBytes"]
print(f"image {ref}: {size} bytes compressed ({size / 1048576:.2f} MiB), "
      f"{summary['uncompressedLayerBytes']} bytes uncompressed", flush=True)
done()
