#!/usr/bin/env python3
"""status.tls on the real apiserver: the operator reads the TLS Secret the spec names (GET by
name) and shows its certificate's public fields, whatever Bolt says (the test bed's
simulator speaks plain Bolt, so the TLS cluster never becomes reachable: status.tls must not
wait for it). Certificates come from tests/controller/certgen.sh (the openssl command).

- A cluster whose Secret holds leaf.pem: status.tls = [{secretName, usages bolt/https/cluster/
  backup, notBefore 2025-01-01T00:00:00Z, notAfter 2030-12-31T23:59:59Z, the two DNS SANs}],
  and the CRD accepted it (the apiserver prunes fields the schema does not know).
- The Secret renewed with another certificate (renewed.pem): status.tls follows.
- One expiring in 7 days (soon.pem): expiringSoon, and exactly one Warning Event
  CertificateExpiring on the CR, however many reconciles follow.
- The Secret deleted: the entry goes (the metric with it).
- No byte of the Secret's data (key, certificate, CA) in the CR or any Event.
"""
import base64
import json
import os
import subprocess
import time

from e2elib import ROOT, check, events_of, get_cr, kubectl, plain, run, say, wait_for

NAME = "graph"
SECRET = "graph-tls"


def secret_doc(ns, d, crt):
    def b64(f):
        with open(os.path.join(d, f), "rb") as fh:
            return base64.b64encode(fh.read()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": SECRET, "namespace": ns},
            "data": {"tls.crt": b64(crt), "tls.key": b64("key.pem"), "ca.crt": b64("ca.pem")}}


def put_secret(ns, d, crt):
    kubectl("apply", "--server-side", "--field-manager=e2e", "--force-conflicts", "-f", "-",
            input=json.dumps(secret_doc(ns, d, crt)), check=True)


def tls_of(ns):
    cr = get_cr(ns, NAME) or {}
    return (cr.get("status") or {}).get("tls")


def wait_tls(ns, what, pred, timeout=120):
    def ok():
        t = tls_of(ns)
        return (t or True) if pred(t) else None  # None means "not yet" to wait_for
    return wait_for(what, ok, timeout=timeout, interval=0.5)


def expiring_events(ns):
    return [e for e in events_of(ns, "Neo4jCluster", NAME) if e.get("reason") == "CertificateExpiring"]


def body(t):
    ns = t.namespace("cert-tls")
    d = os.path.join(t.tmp, "certs")
    subprocess.run(["sh", os.path.join(ROOT, "tests", "controller", "certgen.sh"), d], check=True)
    put_secret(ns, d, "leaf.pem")
    op = t.operator([ns])
    op.start()
    t.cluster("cluster-3.yaml", ns, NAME, edits=plain(servers=1, tls={"secretName": SECRET}))

    tls = wait_tls(ns, "status.tls lists the leaf certificate",
                   lambda t: t and t[0].get("notAfter") == "2030-12-31T23:59:59Z")
    check(len(tls) == 1, f"one entry per TLS Secret: {tls}")
    e = tls[0]
    check(e.get("secretName") == SECRET and e.get("notBefore") == "2025-01-01T00:00:00Z",
          f"secretName and notBefore: {e}")
    check(e.get("usages") == ["bolt", "https", "cluster", "backup"], f"usages: {e.get('usages')}")
    check(e.get("dnsNames") == ["graph.db.svc", "*.graph-headless.db.svc.cluster.local"],
          f"the DNS SANs, not the IP nor the email one: {e.get('dnsNames')}")
    check("expiringSoon" not in e, f"not expiring: {e}")
    cr = get_cr(ns, NAME)
    avail = [c for c in cr["status"].get("conditions") or [] if c["type"] == "Available"]
    check(avail and avail[0]["status"] == "False",
          f"written while Neo4j is unreachable over TLS (Available {avail})")

    put_secret(ns, d, "renewed.pem")
    tls = wait_tls(ns, "status.tls follows the renewal",
                   lambda t: t and t[0].get("notAfter") == "2050-06-01T12:00:00Z")
    check(tls[0].get("dnsNames") == ["graph-renewed.db.svc"] and
          tls[0].get("notBefore") == "2026-06-01T12:00:00Z", f"the renewed certificate: {tls[0]}")
    check(not expiring_events(ns), "no CertificateExpiring so far")

    put_secret(ns, d, "soon.pem")
    tls = wait_tls(ns, "an expiring certificate is flagged",
                   lambda t: t and t[0].get("expiringSoon") is True)
    wait_for("a CertificateExpiring Event", lambda: expiring_events(ns) or None, timeout=60)
    # Several reconciles later (the cluster is not ready: it is looked at every few seconds).
    writes_before = op.log_text().count('"certificate expiring"')
    time.sleep(15)
    evs = expiring_events(ns)
    check(len(evs) == 1 and evs[0].get("count", 1) == 1 and evs[0].get("type") == "Warning",
          f"exactly one Warning CertificateExpiring: {[(x.get('type'), x.get('count'), x.get('message')) for x in evs]}")
    check(op.log_text().count('"certificate expiring"') == writes_before,
          "and no further log record of it")
    check(SECRET in evs[0].get("message", "") and tls[0]["notAfter"] in evs[0].get("message", ""),
          f"the Event names the Secret and notAfter: {evs[0].get('message')}")

    # No byte of the Secret anywhere in the CR or the Events.
    sec = secret_doc(ns, d, "soon.pem")["data"]
    pieces = [v[64:96] for v in sec.values()]
    with open(os.path.join(d, "key.pem")) as fh:
        key_body = fh.read().splitlines()[1]
    blob = json.dumps(get_cr(ns, NAME)) + json.dumps(events_of(ns, "Neo4jCluster", NAME))
    check(not any(p in blob for p in pieces + [key_body]) and "BEGIN" not in blob,
          "no byte of tls.key, tls.crt or ca.crt in the CR or its Events")

    kubectl("-n", ns, "delete", "secret", SECRET, check=True)
    wait_tls(ns, "the entry goes with the Secret", lambda t: not t)
    say("status.tls followed create, renewal, expiry and deletion")


run("tls_status", body)
