#!/usr/bin/env python3
"""The backup stand-ins against the test environment's object-store emulators (S3 = moto,
Azure Blob = Azurite, GCS = fake-gcs-server): each emulator answers; backups (FULL then
DIFF) land in each store with the credentials Neo4j's SDKs read; inspect, check and
n4j-testbed-seed read them back (the seed with the server's file-based credentials); a
wrong key is refused by the store and the run fails with the store's message and without
the secret. Run by tests/env/test_backup_stores.py (hack/test-env env), or alone after
`eval "$(hack/test-env stores env)"`."""
import json
import os
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from standinlib import ROOT, BackupServer, admin, inspect, seed  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "hack", "testenv"))
sys.path.insert(0, os.path.join(ROOT, "hack", "testenv", "image", "lib"))
import n4j_store  # noqa: E402
import stores  # noqa: E402  (hack/testenv/stores.py: the readiness probe of test-env)

VARS = ("TESTENV_S3_ENDPOINT", "TESTENV_S3_KEY_ID", "TESTENV_S3_SECRET", "TESTENV_AZURE_ENDPOINT",
        "TESTENV_AZURE_ACCOUNT", "TESTENV_AZURE_KEY", "TESTENV_GCS_ENDPOINT")
T0, T1 = "2026-05-01T02:00:00Z", "2026-05-02T02:00:00Z"


def with_env(env, fn):
    """Runs fn with env applied to os.environ (the store library reads it there)."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return fn()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def no_secret(p, secret):
    return secret not in p.stdout and secret not in p.stderr


def chain(check, kind, uri, env, seed_env, srv):
    """FULL then DIFF into uri; inspect, check and seed read it back."""
    p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={uri}", "neo4j", env=env, now=T0)
    check(p.returncode == 0, f"{kind}: FULL backup to {uri}: {p.returncode} {p.stdout[-200:]} {p.stderr[-300:]}")
    srv.dbs["neo4j"][1] = 42
    p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={uri}", "--type=AUTO", "neo4j",
              env=env, now=T1)
    check(p.returncode == 0, f"{kind}: DIFF backup: {p.returncode} {p.stderr[-300:]}")
    rows, p = inspect(uri, env=env)
    got = [(r["name"], r["full"], r["lowestTx"], r["highestTx"]) for r in rows or []]
    check(got == [("neo4j-2026-05-02T02-00-00.backup", False, 13, 42),
                  ("neo4j-2026-05-01T02-00-00.backup", True, 1, 12)],
          f"{kind}: inspect reads the chain from the store: {got} {p.stderr[-200:]}")
    p = admin("database", "check", f"--from-path={uri}", "--temp-path=/tmp", "neo4j", env=env)
    check(p.returncode == 0, f"{kind}: check of the chain in the store: {p.stderr[-200:]}")
    p = seed(uri, "neo4j", env=seed_env)
    check(p.returncode == 0 and p.stdout.startswith("lastTx=42"),
          f"{kind}: seed found with the server's credentials: {p.stdout} {p.stderr}")
    p = seed(uri + "/neo4j-2026-05-01T02-00-00.backup", "restored", env=seed_env)
    check(p.returncode == 0 and p.stdout.startswith("lastTx=12"), f"{kind}: seed from one artifact: {p.stdout} {p.stderr}")
    p = seed(uri, "other", env=seed_env)
    check(p.returncode == 1 and "no backup of 'other'" in p.stderr, f"{kind}: seed not found: {p.stderr}")
    srv.dbs["neo4j"][1] = 12


def run_all(check):
    missing = [v for v in VARS if not os.environ.get(v)]
    check(not missing, f"hack/test-env env exports the object-store variables (missing: {missing})")
    if missing:
        return
    E = os.environ
    for kind, ep in (("s3", E["TESTENV_S3_ENDPOINT"]), ("azure", E["TESTENV_AZURE_ENDPOINT"]),
                     ("gcs", E["TESTENV_GCS_ENDPOINT"])):
        check(stores.ping(kind, ep), f"{kind} emulator answers at {ep}")
    run = uuid.uuid4().hex[:8]
    srv = BackupServer({"neo4j": ["id-neo4j", 12]})
    tmp = tempfile.mkdtemp(prefix="standin-stores-")
    try:
        # ---- S3 (moto, authentication on): the Job's env; the server's credentials file.
        region = E.get("TESTENV_S3_REGION", "us-east-1")
        s3 = {"AWS_ACCESS_KEY_ID": E["TESTENV_S3_KEY_ID"], "AWS_SECRET_ACCESS_KEY": E["TESTENV_S3_SECRET"],
              "AWS_REGION": region, "AWS_ENDPOINT_URL_S3": E["TESTENV_S3_ENDPOINT"]}
        bucket = f"bk-{run}"
        with_env(s3, lambda: n4j_store.S3Store(bucket).create_bucket())
        cred = os.path.join(tmp, "credentials")
        with open(cred, "w") as f:
            f.write(f"[default]\naws_access_key_id = {E['TESTENV_S3_KEY_ID']}\n"
                    f"aws_secret_access_key = {E['TESTENV_S3_SECRET']}\n")
        s3_server = {"AWS_SHARED_CREDENTIALS_FILE": cred, "AWS_REGION": region,
                     "AWS_ENDPOINT_URL_S3": E["TESTENV_S3_ENDPOINT"], "HOME": tmp}
        chain(check, "s3", f"s3://{bucket}/backups", s3, s3_server, srv)
        wrong = "wrong" + E["TESTENV_S3_SECRET"][5:]
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path=s3://{bucket}/backups", "neo4j",
                  env=dict(s3, AWS_SECRET_ACCESS_KEY=wrong), now="2026-05-03T02:00:00Z")
        check(p.returncode == 1 and "SignatureDoesNotMatch" in p.stderr and no_secret(p, wrong)
              and no_secret(p, E["TESTENV_S3_SECRET"]),
              f"s3: a wrong secret is refused by the store, no secret printed: {p.returncode} {p.stderr[-300:]!r}")
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path=s3://{bucket}/backups", "neo4j",
                  env=dict(s3, AWS_ACCESS_KEY_ID="AKIANOTAKEY000000000"), now="2026-05-03T02:00:00Z")
        check(p.returncode == 1 and "InvalidAccessKeyId" in p.stderr, f"s3: an unknown key id: {p.stderr[-200:]!r}")
        p = admin("backup", "inspect", f"s3://{bucket}/backups", "--format=json",
                  env={"AWS_REGION": region, "AWS_ENDPOINT_URL_S3": E["TESTENV_S3_ENDPOINT"], "HOME": tmp},
                  version="2025.10.1")
        check(p.returncode == 1 and "Unable to load credentials" in p.stderr, f"s3: no credentials: {p.stderr[-200:]!r}")
        bad = os.path.join(tmp, "credentials.bad")
        with open(bad, "w") as f:
            f.write(f"[default]\naws_access_key_id = {E['TESTENV_S3_KEY_ID']}\naws_secret_access_key = {wrong}\n")
        p = seed(f"s3://{bucket}/backups", "neo4j", env=dict(s3_server, AWS_SHARED_CREDENTIALS_FILE=bad))
        check(p.returncode == 1 and "SignatureDoesNotMatch" in p.stderr and no_secret(p, wrong),
              f"s3: seed with a wrong credentials file fails: {p.stderr[-200:]!r}")

        # ---- Azure Blob (Azurite, Shared Key).
        acct, key = E["TESTENV_AZURE_ACCOUNT"], E["TESTENV_AZURE_KEY"]
        az = {"AZURE_STORAGE_ACCOUNT_NAME": acct, "AZURE_STORAGE_ACCOUNT_KEY": key,
              "AZURE_STORAGE_BLOB_ENDPOINT": E["TESTENV_AZURE_ENDPOINT"]}
        cont = f"bk-{run}"
        with_env(az, lambda: n4j_store.AzureStore(acct, cont).create_container())
        chain(check, "azure", f"azb://{acct}/{cont}/backups", az, az, srv)
        import base64
        wrong_key = base64.b64encode(b"not the account key, 64 bytes long ......................").decode()
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path=azb://{acct}/{cont}/backups", "neo4j",
                  env=dict(az, AZURE_STORAGE_ACCOUNT_KEY=wrong_key), now="2026-05-03T02:00:00Z")
        check(p.returncode == 1 and ("AuthenticationFailed" in p.stderr or "AuthorizationFailure" in p.stderr)
              and no_secret(p, wrong_key)
              and no_secret(p, key), f"azure: a wrong key is refused by the store: {p.stderr[-300:]!r}")

        # ---- GCS (fake-gcs-server; the key file must be there and be a service-account key).
        sa = os.path.join(tmp, "credentials.json")
        with open(sa, "w") as f:
            json.dump({"type": "service_account", "project_id": "testbed", "client_email": "backup@testbed.iam",
                       "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}, f)
        gs = {"GOOGLE_APPLICATION_CREDENTIALS": sa, "STORAGE_EMULATOR_HOST": E["TESTENV_GCS_ENDPOINT"]}
        bucket = f"bk-{run}"
        with_env(gs, lambda: n4j_store.GCSStore(bucket).create_bucket())
        chain(check, "gcs", f"gs://{bucket}/backups", gs, gs, srv)
        p = seed(f"gs://{bucket}/backups", "neo4j", env=dict(gs, GOOGLE_APPLICATION_CREDENTIALS=sa + ".missing"))
        check(p.returncode == 1 and "Error reading credential file" in p.stderr,
              f"gcs: a missing key file fails the seed: {p.stderr[-200:]!r}")
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path=gs://{bucket}/backups", "neo4j",
                  env={"STORAGE_EMULATOR_HOST": E["TESTENV_GCS_ENDPOINT"]}, now="2026-05-03T02:00:00Z")
        check(p.returncode == 1 and "credentials were not found" in p.stderr, f"gcs: no key file: {p.stderr[-200:]!r}")
    finally:
        srv.close()
        import shutil
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    from standinlib import check, done
    run_all(check)
    done()
