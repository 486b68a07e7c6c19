#!/usr/bin/env python3
"""Neo4j itself judges the rendered Community neo4j.conf (issue 10, item 4).

The test server (hack/neo4j-testserver, Neo4j 5.26 Community embedded, as the node agent
runs it for community pods) is started in the foreground with `--conf`:
  - a conf with a setting Neo4j lacks: exit non-zero, Neo4j's own "Unrecognized setting"
    message naming it, no READY (strict validation, as the real server's default);
  - the conf of a rendered Enterprise CR: refused the same way (a Community server has no
    cluster settings);
  - the conf of the rendered examples/standalone-community.yaml with --http: READY, and
    `GET /` (the liveness and readiness probes' path) answers 200 with the discovery JSON
    of a 5.26 Community server, without credentials;
  - --home keeps the data: a node written over HTTP is there after a restart;
  - a SIGSTOPped server still completes TCP handshakes but answers no GET / (why the
    liveness probe is httpGet).
Address 127.0.0.61, ports the kernel hands out free.
"""
import base64
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from envlib import ROOT, check, done, load_env, operator

ADDR = "127.0.0.61"
UNRECOGNIZED = "Unrecognized setting. No declared setting with name: "

load_env()
RUN = os.environ.get("TESTENV_NEO4J_RUN") or os.path.join(ROOT, "hack", "neo4j-testserver", "run")


def free_port():
    with socket.socket() as s:
        s.bind((ADDR, 0))
        return s.getsockname()[1]


def rendered_conf(example):
    p = operator("render", "-o", "json", "-f", os.path.join(ROOT, "examples", example), check=True)
    for o in json.loads(p.stdout)["items"]:
        if o["kind"] == "ConfigMap" and "neo4j.conf" in o.get("data", {}):
            return o["data"]["neo4j.conf"]
    raise RuntimeError(f"no neo4j.conf rendered for {example}")


class Server:
    """`run fg ARGS` in its own process group; output to a file (a full pipe must not
    stall the JVM)."""

    def __init__(self, tmp, name, args):
        self.log = os.path.join(tmp, name + ".log")
        self.out = open(self.log, "w")
        self.p = subprocess.Popen([RUN, "fg", *args], stdout=self.out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_ready_or_exit(self, timeout=180):
        """'ready' once READY is printed, else the exit code; None on a time-out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(l.startswith("READY ") for l in self.text().splitlines()):
                return "ready"
            rc = self.p.poll()
            if rc is not None:
                return rc
            time.sleep(0.25)
        return None

    def stop(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGTERM)  # our own child, by PID
            try:
                self.p.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.p.pid, signal.SIGKILL)
                self.p.wait(10)
        self.out.close()
        return self.p.returncode


def http(method, url, body=None, password=None, timeout=10):
    req = urllib.request.Request(url, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Accept", "application/json")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if password is not None:
        token = base64.b64encode(f"neo4j:{password}".encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, OSError, ValueError) as e:  # refused, reset, not JSON
        return f"no answer: {e}", None


def refused(tmp, name, conf_text, keys, password_file):
    """The server must refuse conf_text before it is READY, naming one of keys (Neo4j
    reports the first unknown key in its own order). Returns the key it named."""
    conf = os.path.join(tmp, name + ".conf")
    with open(conf, "w") as f:
        f.write(conf_text)
    s = Server(tmp, name, ["--home", os.path.join(tmp, "home-" + name),
                           "--bolt", f"{ADDR}:{free_port()}", "--password-file", password_file,
                           "--conf", conf])
    got = s.wait_ready_or_exit()
    s.stop()
    out = s.text()
    check(isinstance(got, int) and got != 0,
          f"{name}: the server must exit non-zero before READY, got {got!r}:\n{out[-2000:]}")
    m = re.search(re.escape(UNRECOGNIZED) + r"([^\s]+?)\.?\s", out)
    named = m.group(1) if m else None
    check(named in keys, f"{name}: Neo4j's '{UNRECOGNIZED}<one of {sorted(keys)}>' "
                         f"missing (named {named!r}):\n{out[-2000:]}")
    print(f"{name}: exit {got}: {m.group(0).strip() if m else '(no message)'}", flush=True)
    return named


def enterprise_only(path):
    """The settings tests/data marks Enterprise-only, as exact names."""
    out = set()
    for line in open(path, encoding="utf-8"):
        f = line.split()
        if f and not f[0].startswith("#") and "enterprise" in f[1:]:
            out.add(f[0])
    return out


with tempfile.TemporaryDirectory(prefix="n4j-tsconf-") as tmp:
    password = secrets.token_urlsafe(18)
    pw = os.path.join(tmp, "pw")
    with open(pw, "w") as f:
        f.write(password + "\n")
    os.chmod(pw, 0o600)

    community = rendered_conf("standalone-community.yaml")
    # A key Neo4j lacks, after a valid rendered conf: one unknown line spoils the whole file.
    refused(tmp, "unknown", community + "dbms.no_such_setting=true\n",
            {"dbms.no_such_setting"}, pw)
    # A Community server has no cluster settings: what it names must be a key of the conf
    # that tests/data marks Enterprise-only (Neo4j and the manual's label agree).
    enterprise = rendered_conf("cluster-3.yaml")
    ee_keys = {l.split("=", 1)[0] for l in enterprise.splitlines() if "=" in l}
    ee_only = enterprise_only(os.path.join(ROOT, "tests", "data", "neo4j-settings-5.26.txt"))
    refused(tmp, "enterprise-conf", enterprise, ee_keys & ee_only, pw)

    # The rendered Community conf starts cleanly, with the HTTP connector the probes use.
    conf = os.path.join(tmp, "community.conf")
    with open(conf, "w") as f:
        f.write(community)
    home = os.path.join(tmp, "home-community")
    bolt, web = f"{ADDR}:{free_port()}", f"{ADDR}:{free_port()}"
    args = ["--home", home, "--bolt", bolt, "--http", web, "--password-file", pw, "--conf", conf]
    marker = secrets.token_hex(8)
    s = Server(tmp, "community", args)
    got = s.wait_ready_or_exit()
    check(got == "ready", f"rendered Community conf: READY expected, got {got!r}:\n"
                          f"{s.text()[-3000:]}")
    check(f"READY {bolt}" in s.text().splitlines(), f"READY line names {bolt}: {s.text()[-500:]}")
    if got == "ready":
        for line in community.splitlines():
            print(f"  conf: {line}", flush=True)
        status, doc = http("GET", f"http://{web}/")
        check(status == 200, f"GET / without credentials: 200 expected, got {status}")
        doc = doc or {}
        print(f"GET / -> {status} {json.dumps(doc)}", flush=True)
        check(doc.get("neo4j_edition") == "community", f"discovery edition: {doc}")
        check(str(doc.get("neo4j_version", "")).startswith("5.26."), f"discovery version: {doc}")
        check(doc.get("bolt_direct") == f"bolt://{bolt}", f"discovery bolt_direct: {doc}")
        check("transaction" in doc, f"discovery lists the transaction endpoint: {doc}")
        # The API itself still needs credentials: "/" is open, the data is not.
        status, _ = http("POST", f"http://{web}/db/neo4j/tx/commit", {"statements": []})
        check(status == 401, f"tx endpoint without credentials: 401 expected, got {status}")
        status, r = http("POST", f"http://{web}/db/neo4j/tx/commit",
                         {"statements": [{"statement": "CREATE (:Probe {m: $m})",
                                          "parameters": {"m": marker}}]}, password)
        check(status == 200 and r and not r.get("errors"), f"write over HTTP: {status} {r}")
    rc = s.stop()
    check(rc in (0, 143) and "STOPPED" in s.text(), f"SIGTERM: exit {rc}, STOPPED printed")

    # --home: the same directory after a restart still holds the node.
    s = Server(tmp, "community-again", args)
    got = s.wait_ready_or_exit()
    check(got == "ready", f"restart on the same --home: READY expected, got {got!r}:\n"
                          f"{s.text()[-2000:]}")
    if got == "ready":
        status, r = http("POST", f"http://{web}/db/neo4j/tx/commit",
                         {"statements": [{"statement": "MATCH (p:Probe {m: $m}) RETURN count(p)",
                                          "parameters": {"m": marker}}]}, password)
        rows = (((r or {}).get("results") or [{}])[0].get("data") or [{}])
        count = (rows[0].get("row") or [None])[0] if rows else None
        check(status == 200 and count == 1, f"node kept across restart: {status} {r}")

        # Why liveness is httpGet, not tcpSocket: a stopped JVM still completes TCP
        # handshakes (the kernel does them), but answers no HTTP request.
        os.kill(s.p.pid, signal.SIGSTOP)  # `run fg` execs java: our child is the JVM
        try:
            host, port = bolt.rsplit(":", 1)
            try:
                with socket.create_connection((host, int(port)), timeout=3):
                    connected = True
            except OSError:
                connected = False
            check(connected, "a stopped JVM still accepts TCP connections (tcpSocket passes)")
            status, _ = http("GET", f"http://{web}/", timeout=3)
            check(status != 200, f"a stopped JVM answers no GET / (httpGet fails): {status}")
            print(f"SIGSTOP: TCP connect {'ok' if connected else 'refused'}, GET / {status}",
                  flush=True)
        finally:
            os.kill(s.p.pid, signal.SIGCONT)
        status, _ = http("GET", f"http://{web}/")
        check(status == 200, f"after SIGCONT, GET / answers again: {status}")
    s.stop()
done()
