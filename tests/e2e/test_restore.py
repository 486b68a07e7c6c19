#!/usr/bin/env python3
"""Restore and seeding (DESIGN §5, issue 12): a disaster-recovery drill is one YAML.

- A 3-server cluster `graph` with a database `sales` is backed up once to S3 (moto) by a
  Neo4jBackup `nightly` (a Job: the neo4j-admin stand-in against the simulator's backup
  ports).
- examples/restore-from-backup.yaml (`graph-dr`, restore.backupRef: nightly): a new cluster
  reaches Ready with `sales` online on its servers, seeded from the backup's artifact
  (each hosting server ran the seed check with the credentials mounted as files from
  spec.seedStorage: the simulator's copy shows the artifact's last transaction);
  status.restore Succeeded, Restored True, a Restored Event.
- examples/restore-from-uri.yaml (`orders`, Neo4j 2025.10, restore.seedURI + restoreUntil):
  the same from a URI with a point in time.
- spec.restore on the running source cluster into its existing `sales` without replace:
  refused (Restored False, RestoreTargetExists, a Warning Event) and nothing changes (the
  database keeps its id). With replace: recreated once (a new id), and not again.
- No credential value in any server pod's environment: only file paths.
"""
import json
import os
import sys
import time

from e2elib import (ROOT, apply_cr, check, condition, example_doc, get_backup, get_cr, kjson, patch_cr, run,
                    say, sim_dump, unique_name, wait_for, wait_ready)

sys.path.insert(0, os.path.join(ROOT, "hack", "testenv", "image", "lib"))
import n4j_store  # noqa: E402

GROUP = "neo4j.graphops.io"


def backup(ns, name):
    return get_backup(ns, name)


def cond(obj, ctype):
    return condition(obj, ctype) or {}


def restore_status(ns, name):
    return ((get_cr(ns, name) or {}).get("status") or {}).get("restore") or {}


def database_id(ns, sts, db):
    d = sim_dump(ns, sts)
    for x in d.get("databases") or []:
        if isinstance(x, dict) and x.get("name") == db:
            return x.get("databaseId") or x.get("id") or x.get("uuid")
    return None


def small(cr):
    data = cr["spec"].setdefault("storage", {}).setdefault("data", {})
    data.update(storageClassName="testenv", size="1Gi")
    cr["spec"]["resources"] = {"requests": {"cpu": "100m", "memory": "2Gi"}, "limits": {"memory": "2Gi"}}
    cr["spec"].pop("memory", None)


def body(t):
    for v in ("TESTENV_S3_ENDPOINT", "TESTENV_S3_KEY_ID", "TESTENV_S3_SECRET"):
        check(os.environ.get(v), f"hack/test-env env exports {v}")
    ns = t.namespace("e2e-rs")
    op = t.operator([ns])
    op.start()
    key_id, secret_key = os.environ["TESTENV_S3_KEY_ID"], os.environ["TESTENV_S3_SECRET"]
    endpoint, region = os.environ["TESTENV_S3_ENDPOINT"], os.environ.get("TESTENV_S3_REGION", "us-east-1")
    os.environ.update(AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret_key, AWS_ENDPOINT_URL_S3=endpoint,
                      AWS_REGION=region)
    bucket = unique_name("rs")
    s3 = n4j_store.S3Store(bucket)
    s3.create_bucket()
    for name, data in (("backup-s3", {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret_key}),
                       ("seed-s3", {"credentials": f"[default]\naws_access_key_id = {key_id}\n"
                                                   f"aws_secret_access_key = {secret_key}\n"})):
        apply_cr({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": data})

    t.cluster("cluster-3.yaml", ns, "graph", edits=lambda cr: cr["spec"].update(
        servers=3, databases=[{"name": "sales", "topology": {"primaries": 3}}]))
    wait_ready(ns, "graph", 3, timeout=300)

    def to_s3(cr):
        cr["spec"].update(databases=["neo4j", "sales"], type="FULL")
        cr["spec"]["target"] = {"s3": {"uri": f"s3://{bucket}/graph", "credentialsSecretRef": {"name": "backup-s3"},
                                       "endpoint": endpoint, "region": region}}
        cr["spec"]["clusterRef"] = {"name": "graph"}
    apply_cr(example_doc("backup-once-pvc.yaml", ns, "nightly", to_s3))
    wait_for("nightly: the backup succeeded",
             lambda: any(h.get("result") == "Succeeded"
                         for h in (backup(ns, "nightly").get("status") or {}).get("history") or []), 240)
    run0 = backup(ns, "nightly")["status"]["history"][0]
    sales_art = [a for a in run0.get("artifacts") or [] if a["database"] == "sales"]
    check(sales_art, f"the backup wrote a sales artifact ({run0})")
    say(f"backup artifacts: {[a['name'] for a in run0.get('artifacts') or []]}")

    # A new cluster from the backup, by name.
    t.clusters.append((ns, "graph-dr"))
    apply_cr(example_doc("restore-from-backup.yaml", ns, "graph-dr", small))
    # A new cluster from a URI with a point in time (Neo4j 2025.x: seedRestoreUntil).
    until = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 3600))

    def from_uri(cr):
        small(cr)
        cr["spec"]["databases"] = [{"name": "sales", "topology": {"primaries": 3}}]
        cr["spec"]["seedStorage"].update(endpoint=endpoint, region=region)
        cr["spec"]["restore"] = {"seedURI": f"s3://{bucket}/graph/", "databases": ["sales"], "restoreUntil": until}
    t.clusters.append((ns, "orders"))
    apply_cr(example_doc("restore-from-uri.yaml", ns, "orders", from_uri))

    for name in ("graph-dr", "orders"):
        wait_ready(ns, name, 3, timeout=300)
        wait_for(f"{name}: status.restore.phase Succeeded",
                 lambda: restore_status(ns, name).get("phase") == "Succeeded", 180)
        rs = restore_status(ns, name)
        say(f"{name}: status.restore {rs}")
        check([d.get("name") for d in rs.get("databases") or []] == ["sales"] and
              all(d.get("phase") == "Succeeded" for d in rs["databases"]), f"{name}: sales restored ({rs})")
        check(rs.get("source", "").startswith(f"s3://{bucket}/graph"), f"{name}: source is the backup's URI ({rs})")
        c = cond(get_cr(ns, name), "Restored")
        check(c.get("status") == "True", f"{name}: Restored True ({c})")
        dbs = {d["name"]: d for d in (get_cr(ns, name)["status"].get("databases") or [])}
        check(dbs.get("sales", {}).get("status") == "online", f"{name}: sales online ({dbs.get('sales')})")
        ev = [e for e in kjson("-n", ns, "get", "events")["items"]
              if e["involvedObject"].get("name") == name and e.get("reason") in ("SeedDatabase", "Restored")]
        check({e["reason"] for e in ev} == {"SeedDatabase", "Restored"}, f"{name}: SeedDatabase and Restored Events")

    # Credentials reach the servers as files only.
    for p in kjson("-n", ns, "get", "pods", "-l", "app.kubernetes.io/instance=graph-dr")["items"]:
        for c in p["spec"]["containers"]:
            env = json.dumps(c.get("env") or [])
            check(secret_key not in env and key_id not in env, f"{p['metadata']['name']}: no key in env")
            check("AWS_SHARED_CREDENTIALS_FILE" in env, f"{p['metadata']['name']}: the credentials file path in env")

    # Into the running source cluster's existing `sales`: refused without replace.
    id0 = database_id(ns, "graph", "sales")
    say(f"graph: sales id before {id0}")
    patch_cr(ns, "graph", {"spec": {"seedStorage": {"credentialsSecretRef": {"name": "seed-s3"},
                                                    "endpoint": endpoint, "region": region},
                                    "restore": {"seedURI": f"s3://{bucket}/graph/", "databases": ["sales"]}}})
    wait_for("graph: Restored False, reason RestoreTargetExists",
             lambda: cond(get_cr(ns, "graph"), "Restored").get("reason") == "RestoreTargetExists", 120)
    check(cond(get_cr(ns, "graph"), "Restored").get("status") == "False", "graph: Restored False")
    check(any(e.get("type") == "Warning" and e["involvedObject"].get("name") == "graph"
              and e.get("reason") in ("RestoreRefused", "RestoreTargetExists")
              for e in kjson("-n", ns, "get", "events")["items"]), "graph: a Warning Event for the refusal")
    time.sleep(5)
    check(database_id(ns, "graph", "sales") == id0, "graph: the refused restore changed nothing (same id)")

    # With replace: recreated once.
    patch_cr(ns, "graph", {"spec": {"restore": {"replace": True}}})
    wait_for("graph: the replacing restore Succeeded",
             lambda: restore_status(ns, "graph").get("phase") == "Succeeded", 420)
    id1 = database_id(ns, "graph", "sales")
    check(id1 and id1 != id0, f"graph: sales was recreated (id {id0} -> {id1})")
    time.sleep(10)
    check(database_id(ns, "graph", "sales") == id1, "graph: recreated once, not again")


if __name__ == "__main__":
    run("restore", body)
