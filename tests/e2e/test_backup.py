#!/usr/bin/env python3
"""Backups (DESIGN §5, issue 12): the operator renders CronJobs and Jobs, the
controller-manager's CronJob and Job controllers run them, the node agent runs their pods
(the neo4j-admin stand-in against the simulator's backup ports, then the operator's own
`backup-retention`), and the operator reads the results into status.

One 3-server cluster, one operator, and at once:
- s3 (examples/backup-nightly-s3.yaml): schedule every minute, type FULL, keepLast 1 → the
  CronJob controller creates the Jobs; after two runs the bucket holds exactly the second
  run's artifacts (the first ones pruned, prunedCount says so), status.history lists both
  runs with artifacts and sizes equal to the objects', lastScheduleTime, lastSuccessfulTime,
  nextScheduleTime in the future, BackupHealthy True, BackupSucceeded Events, the CronJob's
  history limits bound the Jobs.
- pvc (examples/backup-once-pvc.yaml): a one-shot Job → artifacts on the claim's volume.
- azure: a one-shot Job → blobs in the Azure emulator.
- a wrong S3 secret: the Job fails → lastFailure (no secret in it), BackupHealthy False, a
  Warning BackupFailed Event.
- an overdue schedule (every minute, suspended): BackupHealthy turns False, reason Overdue.
- a Neo4jBackup of a Community cluster and of a missing cluster: refused (Scheduled False,
  reasons CommunityEdition / ClusterNotFound), no CronJob or Job.
- deleting the Neo4jBackups leaves the backup PVC and every object in the stores.
"""
import json
import os
import sys
import time

from e2elib import (ROOT, apply_cr, check, condition, example_doc, get_backup, kjson, kubectl, run, say,
                    unique_name, wait_for, wait_ready)

sys.path.insert(0, os.path.join(ROOT, "hack", "testenv", "image", "lib"))
import n4j_store  # noqa: E402

GROUP = "neo4j.graphops.io"
ARTIFACT_DBS = {"neo4j", "system", "sales"}


def backup_doc(example, ns, name=None, edits=None):
    def edit(cr):
        cr["spec"]["clusterRef"] = {"name": "graph"}
        pvc = cr["spec"].get("target", {}).get("pvc")
        if pvc:  # the test bed's PVs are 10Gi (TESTENV_PV_SIZE): the example's 50Gi never binds
            pvc["size"] = "1Gi"
        if edits:
            edits(cr)
    return example_doc(example, ns, name, edit)


def secret(ns, name, data):
    apply_cr({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
              "stringData": data})


def backup(ns, name):
    return get_backup(ns, name)


def cond(obj, ctype):
    return condition(obj, ctype) or {}


def succeeded_runs(b):
    return [h for h in ((b or {}).get("status") or {}).get("history") or [] if h.get("result") == "Succeeded"]


def events(ns, name, reason):
    return [e for e in kjson("-n", ns, "get", "events")["items"]
            if e["involvedObject"].get("name") == name and e.get("reason") == reason]


def artifact_names(store, prefix):
    return {k[len(prefix):]: size for k, size in store_list(store, prefix)}


def store_list(store, prefix):
    out = []
    for item in store.list(prefix):
        if isinstance(item, (tuple, list)):
            out.append((item[0], item[1]))
        elif isinstance(item, dict):
            out.append((item.get("name") or item.get("key"), item.get("size", item.get("sizeBytes"))))
        else:
            out.append((item, None))
    return out


def use_s3_env(key_id=None, secret_key=None):
    os.environ["AWS_ACCESS_KEY_ID"] = key_id or os.environ["TESTENV_S3_KEY_ID"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = secret_key or os.environ["TESTENV_S3_SECRET"]
    os.environ["AWS_ENDPOINT_URL_S3"] = os.environ["TESTENV_S3_ENDPOINT"]
    os.environ["AWS_REGION"] = os.environ.get("TESTENV_S3_REGION", "us-east-1")


def use_azure_env():
    os.environ["AZURE_STORAGE_ACCOUNT_NAME"] = os.environ["TESTENV_AZURE_ACCOUNT"]
    os.environ["AZURE_STORAGE_ACCOUNT_KEY"] = os.environ["TESTENV_AZURE_KEY"]
    os.environ["AZURE_STORAGE_BLOB_ENDPOINT"] = os.environ["TESTENV_AZURE_ENDPOINT"]


def body(t):
    for v in ("TESTENV_S3_ENDPOINT", "TESTENV_S3_KEY_ID", "TESTENV_S3_SECRET", "TESTENV_AZURE_ENDPOINT",
              "TESTENV_AZURE_ACCOUNT", "TESTENV_AZURE_KEY"):
        check(os.environ.get(v), f"hack/test-env env exports {v} (the object-store emulators run)")
    ns, nsce = t.namespace("e2e-bk"), t.namespace("e2e-bkce")
    op = t.operator([ns, nsce])
    op.start()
    t.cluster("cluster-3.yaml", ns, "graph", edits=lambda cr: cr["spec"].update(
        servers=3, databases=[{"name": "sales", "topology": {"primaries": 3}}]))
    t.cluster("standalone-community.yaml", nsce, "graph")

    bucket = unique_name("bk")
    use_s3_env()
    s3 = n4j_store.S3Store(bucket)
    s3.create_bucket()
    container = unique_name("bk")
    use_azure_env()
    az = n4j_store.AzureStore(os.environ["TESTENV_AZURE_ACCOUNT"], container)
    az.create_container()

    s3_region = os.environ.get("TESTENV_S3_REGION", "us-east-1")
    secret(ns, "backup-s3", {"AWS_ACCESS_KEY_ID": os.environ["TESTENV_S3_KEY_ID"],
                             "AWS_SECRET_ACCESS_KEY": os.environ["TESTENV_S3_SECRET"]})
    secret(ns, "backup-s3-wrong", {"AWS_ACCESS_KEY_ID": os.environ["TESTENV_S3_KEY_ID"],
                                   "AWS_SECRET_ACCESS_KEY": "not-the-secret-0123456789"})
    secret(ns, "backup-azure", {"AZURE_STORAGE_ACCOUNT_NAME": os.environ["TESTENV_AZURE_ACCOUNT"],
                                "AZURE_STORAGE_ACCOUNT_KEY": os.environ["TESTENV_AZURE_KEY"]})

    wait_ready(ns, "graph", 3, timeout=300)

    def s3_target(cr, secret_name="backup-s3", prefix="graph"):
        cr["spec"]["target"] = {"s3": {"uri": f"s3://{bucket}/{prefix}", "credentialsSecretRef": {"name": secret_name},
                                       "endpoint": os.environ["TESTENV_S3_ENDPOINT"], "region": s3_region}}

    def nightly(cr):
        s3_target(cr)
        cr["spec"].update(schedule="* * * * *", type="FULL", verify=True, retention={"keepLast": 1})
        cr["spec"].pop("timeZone", None)
        cr["spec"]["timeZone"] = "Europe/Berlin"

    def azure(cr):
        cr["spec"]["target"] = {"azure": {"uri": f"azb://{os.environ['TESTENV_AZURE_ACCOUNT']}/{container}/graph",
                                          "credentialsSecretRef": {"name": "backup-azure"},
                                          "endpoint": os.environ["TESTENV_AZURE_ENDPOINT"]}}
        cr["spec"]["databases"] = ["*"]

    def wrong(cr):
        s3_target(cr, "backup-s3-wrong", "wrong")

    def overdue(cr):
        cr["spec"].update(schedule="* * * * *", suspend=True)

    created = time.time()
    apply_cr(backup_doc("backup-nightly-s3.yaml", ns, "nightly", nightly))
    apply_cr(backup_doc("backup-once-pvc.yaml", ns, "once-pvc"))
    apply_cr(backup_doc("backup-once-pvc.yaml", ns, "once-azure", azure))
    apply_cr(backup_doc("backup-once-pvc.yaml", ns, "once-wrong", wrong))
    apply_cr(backup_doc("backup-nightly-s3.yaml", ns, "late", lambda cr: (s3_target(cr, prefix="late"), overdue(cr))))
    apply_cr(backup_doc("backup-once-pvc.yaml", nsce, "community"))
    apply_cr(backup_doc("backup-once-pvc.yaml", ns, "orphan", lambda cr: cr["spec"].update(clusterRef={"name": "nope"})))

    # Refusals: a condition with the reason, a Warning Event, and nothing rendered.
    for bns, name, reason in ((nsce, "community", "CommunityEdition"), (ns, "orphan", "ClusterNotFound")):
        wait_for(f"{bns}/{name}: Scheduled=False reason {reason}", lambda: cond(backup(bns, name), "Scheduled").get("reason") == reason, 60)
        c = cond(backup(bns, name), "Scheduled")
        check(c.get("status") == "False", f"{name}: Scheduled is False ({c})")
        check(events(bns, name, reason) or any(e["type"] == "Warning" for e in kjson(
            "-n", bns, "get", "events")["items"] if e["involvedObject"].get("name") == name),
            f"{name}: a Warning Event")
        jobs = [j["metadata"]["name"] for j in kjson("-n", bns, "get", "jobs,cronjobs")["items"]
                if j["metadata"]["name"].startswith(name)]
        check(not jobs, f"{name}: no CronJob or Job rendered ({jobs})")

    # One-shot PVC backup: artifacts on the claim's volume.
    wait_for("once-pvc: a succeeded run", lambda: succeeded_runs(backup(ns, "once-pvc")), 240)
    b = backup(ns, "once-pvc")
    run0 = succeeded_runs(b)[0]
    names = {a["name"] for a in run0.get("artifacts") or []}
    check({a["database"] for a in run0.get("artifacts") or []} == {"neo4j", "sales"},
          f"once-pvc: the run reports artifacts of neo4j and sales ({run0})")
    pvc = kjson("-n", ns, "get", "pvc", "once-pvc-backup")
    pv = kjson("get", "pv", pvc["spec"]["volumeName"])
    files = set(os.listdir(pv["spec"]["hostPath"]["path"]))
    check(names and names <= files, f"once-pvc: the reported artifacts {sorted(names)} are on the volume {sorted(files)}")
    for a in run0["artifacts"]:
        size = os.path.getsize(os.path.join(pv["spec"]["hostPath"]["path"], a["name"]))
        check(a["sizeBytes"] == size, f"once-pvc: {a['name']} size {a['sizeBytes']} == {size} on disk")
    check(cond(b, "BackupHealthy").get("status") == "True", f"once-pvc: BackupHealthy True ({cond(b, 'BackupHealthy')})")

    # Azure one-shot: every database of the cluster ("*" expanded), blobs in the emulator.
    wait_for("once-azure: a succeeded run", lambda: succeeded_runs(backup(ns, "once-azure")), 240)
    b = backup(ns, "once-azure")
    check(set((b["status"].get("databases") or [])) == ARTIFACT_DBS,
          f"once-azure: '*' expanded from the cluster's status to {b['status'].get('databases')}")
    use_azure_env()
    blobs = artifact_names(az, "graph/")
    reported = {a["name"]: a["sizeBytes"] for a in succeeded_runs(b)[0].get("artifacts") or []}
    check(reported and all(blobs.get(n) in (s, None) and n in blobs for n, s in reported.items()),
          f"once-azure: reported artifacts {reported} are blobs {blobs}")

    # The wrong credential fails the Job, and status, condition and Event say so.
    wait_for("once-wrong: lastFailure", lambda: (backup(ns, "once-wrong").get("status") or {}).get("lastFailure"), 240)
    b = backup(ns, "once-wrong")
    lf = b["status"]["lastFailure"]
    say(f"once-wrong: lastFailure {lf}")
    check(lf.get("reason") == "BackupFailed", f"once-wrong: reason BackupFailed ({lf})")
    check("not-the-secret" not in json.dumps(b["status"]), "once-wrong: the secret is not in status")
    hc = cond(b, "BackupHealthy")
    check(hc.get("status") == "False" and hc.get("reason") == "BackupFailed", f"once-wrong: BackupHealthy False ({hc})")
    check(events(ns, "once-wrong", "BackupFailed"), "once-wrong: a BackupFailed Event")
    use_s3_env()
    check(not artifact_names(s3, "wrong/"), "once-wrong: nothing was written with the wrong key")

    # The schedule: two runs by the CronJob controller; keepLast 1 with FULL prunes the first.
    wait_for("nightly: two succeeded runs", lambda: len(succeeded_runs(backup(ns, "nightly"))) >= 2, 260)
    b = backup(ns, "nightly")
    runs = succeeded_runs(b)
    st = b["status"]
    say(f"nightly: history {[(r['name'], r.get('prunedCount')) for r in runs]}")
    cj = kjson("-n", ns, "get", "cronjob", "nightly-backup")
    check(cj["spec"].get("timeZone") == "Europe/Berlin" and cj["spec"].get("concurrencyPolicy") == "Forbid",
          "nightly: the CronJob has the time zone and Forbid")
    owners = {j["metadata"]["name"]: [o["kind"] for o in j["metadata"].get("ownerReferences") or []]
              for j in kjson("-n", ns, "get", "jobs")["items"] if j["metadata"]["name"].startswith("nightly-")}
    check(all(r["name"] in owners and owners[r["name"]] == ["CronJob"] for r in runs[:2]),
          f"nightly: the runs are Jobs the CronJob created ({owners})")
    use_s3_env()
    objs = artifact_names(s3, "graph/")
    newest = {a["name"]: a["sizeBytes"] for a in runs[0]["artifacts"]}
    check(set(objs) == set(newest), f"nightly: the bucket holds exactly the newest run's artifacts "
          f"{sorted(newest)} (the older FULL chain pruned): {sorted(objs)}")
    check(all(objs[n] == s for n, s in newest.items()), f"nightly: reported sizes {newest} == stored {objs}")
    check(runs[0].get("prunedCount") == len(runs[1]["artifacts"]),
          f"nightly: prunedCount {runs[0].get('prunedCount')} == the older run's {len(runs[1]['artifacts'])} artifacts")
    check({a["database"] for a in runs[0]["artifacts"]} == ARTIFACT_DBS, "nightly: every database backed up")
    for k in ("lastScheduleTime", "lastSuccessfulTime", "nextScheduleTime"):
        check(st.get(k), f"nightly: status.{k} is set ({st.get(k)})")
    check(st.get("nextScheduleTime", "") > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5)),
          f"nightly: nextScheduleTime {st.get('nextScheduleTime')} is not in the past")
    check(cond(b, "BackupHealthy").get("status") == "True", f"nightly: BackupHealthy True ({cond(b, 'BackupHealthy')})")
    check(len(events(ns, "nightly", "BackupSucceeded")) >= 2, "nightly: a BackupSucceeded Event per run")
    check(cj["spec"].get("successfulJobsHistoryLimit") == 3 and cj["spec"].get("failedJobsHistoryLimit") == 3,
          "nightly: bounded Job history")
    check(len(st.get("history") or []) <= 20, "nightly: status.history is bounded")

    # Overdue: a suspended every-minute schedule misses its runs.
    wait_for("late: BackupHealthy False, reason Overdue", lambda: cond(backup(ns, "late"), "BackupHealthy").get("reason") == "Overdue", max(30, 200 - (time.time() - created)))
    check(cond(backup(ns, "late"), "BackupHealthy").get("status") == "False", "late: BackupHealthy False")

    # Deleting Neo4jBackups keeps what they wrote.
    before = set(artifact_names(s3, "graph/"))
    for name in ("nightly", "once-pvc"):
        p = kubectl("-n", ns, "delete", f"neo4jbackups.{GROUP}", name, "--wait=true", "--timeout=60s", timeout=90)
        check(p.returncode == 0, f"delete {name}: {p.stderr.strip()}")
    wait_for("the CronJob is garbage-collected", lambda: not [c for c in kjson("-n", ns, "get", "cronjobs")["items"]
                          if c["metadata"]["name"] == "nightly-backup"], 60)
    check(kubectl("-n", ns, "get", "pvc", "once-pvc-backup").returncode == 0, "the backup PVC stays")
    time.sleep(2)
    check(before <= set(artifact_names(s3, "graph/")), "the objects in the store stay")


if __name__ == "__main__":
    run("backup", body)
