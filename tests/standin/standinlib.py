"""Shared pieces of the tests of the test bed's backup stand-ins (hack/testenv/image/bin/
neo4j-admin, n4j-testbed-seed): a tiny backup-port server, runners, and the counters."""
import json
import os
import socket
import socketserver
import subprocess
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "hack", "testenv", "image", "bin")
ADMIN = os.path.join(BIN, "neo4j-admin")
SEED = os.path.join(BIN, "n4j-testbed-seed")
_fail = []
_count = [0]


def check(cond, what):
    _count[0] += 1
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        _fail.append(what)


def done():
    print(f"{_count[0] - len(_fail)} passed, {len(_fail)} failed", flush=True)
    sys.exit(1 if _fail or not _count[0] else 0)


class BackupServer:
    """The simulator's backup port as the stand-in sees it: `BACKUP <db> <fromTx>` ->
    `OK <dbId> <lastTx>` | `ERR <msg>`, `LIST` -> `DBS a,b`. dbs: name -> [dbId, lastTx]."""

    def __init__(self, dbs):
        self.dbs = dbs
        self.requests = []
        srv = self

        class H(socketserver.StreamRequestHandler):
            def handle(self):
                line = self.rfile.readline().decode().strip()
                srv.requests.append(line)
                w = line.split()
                if w == ["LIST"]:
                    ans = "DBS " + ",".join(sorted(srv.dbs))
                elif len(w) == 3 and w[0] == "BACKUP" and w[2].isdigit():
                    d = srv.dbs.get(w[1])
                    ans = f"OK {d[0]} {d[1]}" if d else f"ERR database {w[1]} is not hosted here"
                else:
                    ans = "ERR bad request"
                self.wfile.write((ans + "\n").encode())

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.addr = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def dead_addr():
    """An address nothing listens on."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"127.0.0.1:{port}"


def run(prog, *args, env=None, version="5.26.12", now=None):
    e = {k: v for k, v in os.environ.items()
         if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR"))}
    e["N4J_TESTBED_VERSION"] = version
    if now:
        e["N4J_TESTBED_NOW"] = now
    e.update(env or {})
    p = subprocess.run([prog, *args], capture_output=True, text=True, env=e, timeout=60)
    return p


def admin(*args, **kw):
    return run(ADMIN, *args, **kw)


def seed(*args, **kw):
    return run(SEED, *args, **kw)


def inspect(path, env=None, version="2025.10.1"):
    p = admin("backup", "inspect", path, "--format=json", "--empty", env=env, version=version)
    try:
        return json.loads(p.stdout), p
    except ValueError:
        return None, p
