"""A 3-server n4j-clustersim for the driver suites, with DNS-like advertised names.

The servers advertise s0.sim.test:PORT ... (`.test` never resolves in DNS) and bind
127.0.0.B+i:PORT; hosts() maps the names to those addresses for the drivers, each in its own
way (the Python driver's resolver=, the JVM's jdk.net.hosts.file). Stdlib only.
"""
import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

CACHE = os.environ.get("TESTENV_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
    "neo4j-operator-testenv")
# hack/install-deps puts the pinned official Python driver here (pip --target).
PYDRIVER_DIR = os.path.join(CACHE, "py")
PASSWORD = "sim-drivers-pw"


def free_port(ips):
    """A port free on every one of ips (the advertised port is the bound one)."""
    for _ in range(50):
        s = socket.socket()
        s.bind((ips[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for ip in ips[1:]:
            t = socket.socket()
            try:
                t.bind((ip, port))
            except OSError:
                ok = False
            finally:
                t.close()
        if ok:
            return port
    raise RuntimeError("no common free port on %s" % ips)


class Cluster:
    def __init__(self, sim_bin, first_ip, n=3, move_ms=200):
        self.dir = tempfile.mkdtemp(prefix="n4j-simdrv-")
        self.ips = ["127.0.0.%d" % (first_ip + i) for i in range(n)]
        self.port = free_port(self.ips)
        self.names = ["s%d" % i for i in range(n)]
        self.adv = ["s%d.sim.test:%d" % (i, self.port) for i in range(n)]
        self.bind = ["%s:%d" % (ip, self.port) for ip in self.ips]
        self.control_path = os.path.join(self.dir, "control.sock")
        pw = os.path.join(self.dir, "pw")
        with open(pw, "w") as f:
            f.write(PASSWORD + "\n")
        # backup ports picked by the kernel: runs of these suites may overlap on one IP
        args = [sim_bin, "--move-ms", str(move_ms), "--control", self.control_path,
                "--password-file", pw, "--backup-port", "0"]
        for i in range(n):
            args += ["--server", "%s=%s@%s" % (self.names[i], self.adv[i], self.bind[i])]
        # N4J_CHILD_WRAPPER (cmake/valgrind.cmake) runs the simulator under valgrind.
        args = shlex.split(os.environ.get("N4J_CHILD_WRAPPER", "")) + args
        self.log = open(os.path.join(self.dir, "sim.log"), "w+")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "READY":
            self.close()
            raise RuntimeError("simulator did not start: %r" % line)

    def hosts(self):
        """{host name: IP} for the advertised names."""
        return {"s%d.sim.test" % i: ip for i, ip in enumerate(self.ips)}

    def names_resolve(self):
        """The advertised names that the system resolver knows (none should: the drivers
        must reach the servers through their own mapping, or the suite proves nothing)."""
        known = []
        for h in self.hosts():
            try:
                socket.getaddrinfo(h, self.port)
                known.append(h)
            except OSError:
                pass
        return known

    def hosts_file(self):
        path = os.path.join(self.dir, "hosts")
        with open(path, "w") as f:
            for h, ip in self.hosts().items():
                f.write("%s %s\n" % (ip, h))
        return path

    def control(self, line):
        s = socket.socket(socket.AF_UNIX)
        s.connect(self.control_path)
        s.sendall((line + "\n").encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        s.close()
        return out.decode()

    def close(self):
        """Stops the simulator, removes its directory; returns what it logged."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        text = self.log.read()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
        return text


def sanitizer_report(log):
    """The first sanitizer or valgrind report in the simulator's log, or "" (the ASan build
    and valgrind run these suites too, and the simulator's stderr is not the test's)."""
    for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
        i = log.find(marker)
        if i >= 0:
            return log[max(0, i - 200):i + 2000]
    # valgrind reports memory errors as they happen (the simulator is stopped by SIGTERM,
    # so there is no leak summary to read).
    m = re.search(r"^==\d+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|"
                  r"Mismatched free|Source and destination overlap)", log, re.M)
    if m:
        return log[m.start():m.start() + 3000]
    return ""


class Checks:
    """Counts checks and prints the closing line ctest's log readers know."""

    def __init__(self, name):
        self.name, self.passed, self.failed = name, 0, []

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % what, flush=True)
        else:
            self.failed.append(what)
            print("FAIL %s %s" % (what, detail), flush=True)
        return cond

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, len(self.failed)))
        return 1 if self.failed else 0


def wait_until(fn, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()
