#!/usr/bin/env python3
"""Restore from a URI (issue 12): a new cluster seeded from the S3 emulator, its bootstrap
`neo4j` included, then a restore
into databases that exist.

- Seeds: `neo4j-<time>.backup` and `sales-<time>.backup` (the stand-in's artifact format)
  under s3://<bucket>/graph/ in the S3 emulator; the servers read them with the shared
  credentials file of spec.seedStorage (mounted, never env values) and the emulator's
  endpoint, through the test bed's seed tool run by each hosting simulator member.
- A new cluster with spec.restore {seedURI, databases: [neo4j, sales]} becomes Ready;
  status.restore: phase Succeeded, both databases Succeeded, a 16-hex key, source = the
  URI; condition Restored True; Events SeedDatabase / RecreateDatabase (neo4j is the empty
  bootstrap database of a new cluster) and Restored; sales online with its declared
  topology (3 primaries).
- Another spec.restore without replace: refused (Restored False RestoreTargetExists,
  Stalled True, a Warning RestoreRefused), and nothing changes in Neo4j (the simulator's
  database ids stay).
"""
import json
import os
import subprocess
import sys
import time

from e2elib import (check, condition, events_of, get_cr, kubectl, kubectl_wait_ready, patch_cr,
                    run, say, sim_dump, wait_cond)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "hack", "testenv", "image", "lib"))


def store_env():
    return dict(os.environ,
                AWS_ACCESS_KEY_ID=os.environ["TESTENV_S3_KEY_ID"],
                AWS_SECRET_ACCESS_KEY=os.environ["TESTENV_S3_SECRET"],
                AWS_ENDPOINT_URL_S3=os.environ["TESTENV_S3_ENDPOINT"],
                AWS_REGION=os.environ.get("TESTENV_S3_REGION", "us-east-1"))


def put_seeds(bucket, prefix, dbs):
    """Full artifacts as the stand-in writes them, through its own store client."""
    code = r"""
import json, sys
import n4j_store as st
bucket, prefix, dbs = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
s = st.S3Store(bucket)
try:
    s.create_bucket()
except st.StoreError as e:
    if "BucketAlready" not in str(e):
        raise
for i, db in enumerate(dbs):
    h = {"database": db, "databaseId": "00000000-0000-4000-8000-00000000000%d" % (i + 1),
         "time": "2026-12-01T02:00:00Z", "full": True, "lowestTx": 1, "highestTx": 42,
         "compressed": False}
    s.put(prefix + db + "-2026-12-01T02-00-00.backup",
          st.MAGIC + json.dumps(h).encode() + b"\n" + b"x" * 420)
print(sorted(k for k, _ in s.list(prefix)))
"""
    env = store_env()
    env["PYTHONPATH"] = os.path.join(HERE, "..", "..", "hack", "testenv", "image", "lib")
    p = subprocess.run([sys.executable, "-c", code, bucket, prefix, ",".join(dbs)], env=env,
                       capture_output=True, text=True, timeout=60)
    check(p.returncode == 0, f"seeds uploaded to s3://{bucket}/{prefix}: {p.stdout.strip()} {p.stderr.strip()[-400:]}")


def reasons(ns):
    return [(e.get("type"), e.get("reason"), e.get("message", "")) for e in events_of(ns, "Neo4jCluster", "graph")]


def body(t):
    ns = t.namespace("e2e-rsuri")
    bucket = f"restore-{ns}"[:60]
    put_seeds(bucket, "graph/", ["neo4j", "sales"])
    ini = (f"[default]\naws_access_key_id = {os.environ['TESTENV_S3_KEY_ID']}\n"
           f"aws_secret_access_key = {os.environ['TESTENV_S3_SECRET']}\n")
    p = kubectl("-n", ns, "create", "secret", "generic", "seed-creds", f"--from-literal=credentials={ini}")
    check(p.returncode == 0, f"seed Secret created: {p.stderr.strip()}")
    uri = f"s3://{bucket}/graph/"
    op = t.operator([ns])
    op.start()

    def edits(cr):
        cr["spec"]["restore"] = {"seedURI": uri, "databases": ["neo4j", "sales"]}
        cr["spec"]["seedStorage"] = {"credentialsSecretRef": {"name": "seed-creds"},
                                     "endpoint": os.environ["TESTENV_S3_ENDPOINT"],
                                     "region": os.environ.get("TESTENV_S3_REGION", "us-east-1")}
    t.cluster("cluster-3.yaml", ns, edits=edits)
    p = kubectl_wait_ready(ns, "graph", timeout=300)
    check(p.returncode == 0, f"kubectl wait --for=condition=Ready: {p.stdout.strip()} {p.stderr.strip()}")
    cr = get_cr(ns, "graph")
    st = (cr.get("status") or {})
    r = st.get("restore") or {}
    say("status.restore:", json.dumps(r))
    check(r.get("phase") == "Succeeded", f"status.restore.phase Succeeded: {r.get('phase')}")
    check(r.get("source") == uri, f"status.restore.source is the URI: {r.get('source')}")
    key = r.get("key") or ""
    check(len(key) == 16 and all(c in "0123456789abcdef" for c in key), f"a 16-hex key: {key!r}")
    phases = {d.get("name"): d.get("phase") for d in r.get("databases") or []}
    check(phases == {"neo4j": "Succeeded", "sales": "Succeeded"}, f"every database Succeeded: {phases}")
    conds = {c["type"]: c for c in st.get("conditions") or []}
    check(conds.get("Restored", {}).get("status") == "True", f"Restored True: {conds.get('Restored')}")
    dbs = {d["name"]: d for d in st.get("databases") or []}
    check(dbs.get("sales", {}).get("status") == "online" and dbs.get("sales", {}).get("primaries") == 3,
          f"sales online with 3 primaries: {dbs.get('sales')}")
    ev = reasons(ns)
    seen = {x[1] for x in ev}
    check({"SeedDatabase", "RecreateDatabase", "Restored"} <= seen,
          f"Events SeedDatabase, RecreateDatabase, Restored: {sorted(seen)}")
    bad = [x for x in ev if x[0] == "Warning" and x[1] in ("StepFailed", "RestoreFailed", "RestoreRefused",
                                                            "RestoreTargetExists")]
    check(not bad, f"no failed step nor restore Warning: {bad}")
    before = {d.get("name"): d.get("id") for d in sim_dump(ns, "graph").get("databases") or []}
    say("simulator databases:", before)

    # Another restore into the databases that exist, without replace: refused, nothing sent.
    patch_cr(ns, "graph", {"spec": {"restore": {"seedURI": f"s3://{bucket}/other/"}}})
    ok = wait_cond(ns, "graph", "Restored", "False", timeout=60,
                   extra=lambda c: (condition(c, "Restored") or {}).get("reason") == "RestoreTargetExists")
    check(ok, "Restored False, reason RestoreTargetExists")
    cr = get_cr(ns, "graph")
    conds = {c["type"]: c for c in (cr.get("status") or {}).get("conditions") or []}
    check(conds.get("Stalled", {}).get("status") == "True", f"Stalled True: {conds.get('Stalled')}")
    check((cr["status"].get("restore") or {}).get("phase") == "Refused",
          f"status.restore.phase Refused: {cr['status'].get('restore')}")
    time.sleep(3)
    after = {d.get("name"): d.get("id") for d in sim_dump(ns, "graph").get("databases") or []}
    check(after == before, f"the databases are unchanged: {before} -> {after}")
    check(any(x[0] == "Warning" and x[1] == "RestoreRefused" for x in reasons(ns)),
          "a Warning RestoreRefused Event")


if __name__ == "__main__":
    run("restore_uri", body)
