#!/usr/bin/env python3
"""Retention on two years of backups keeps exactly what each policy says (issue 12), on a
directory (a PVC's volume) and in each object-store emulator of hack/test-env (S3 = moto,
Azure Blob = Azurite, GCS = fake-gcs-server).

The backups are made by the test bed's `neo4j-admin database backup` stand-in against a fake
backup port, with N4J_TESTBED_NOW set per run: daily at 02:00 with a FULL every Sunday and
AUTO otherwise, thinned in the older months (CI time: one stand-in run costs 0.2-0.5 s and
reads every earlier artifact's header), with missed days (one a Sunday, so a chain spans two
weeks), two runs on some days, writes between runs (no empty differentials), and a third
database backed up only in the first months. The history is made once in a directory; each
target gets a copy of those bytes and the stand-in then makes the last runs directly in it
(so the newest chain is extended by the stand-in reading the store). Every policy runs on a
fresh copy: `neo4j-admin backup inspect --format=json --show-metadata --empty` as the backup
container runs it, then `neo4j-operator backup-retention --now=<the end of the two years>`.

What remains must be exactly what an independent model of docs/backup-restore.md
("Retention: the rules") keeps (written here from the docs, not from src/backup/retention.c),
chains closed, the newest chain whole, foreign objects untouched, and the report must count
what disappeared. Fails (never skips) when the emulators' variables are missing.
"""
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from envlib import ROOT, check, done, load_env

sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
sys.path.insert(0, os.path.join(ROOT, "hack", "testenv", "image", "lib"))
import n4j_store  # noqa: E402
from standinlib import BackupServer, admin  # noqa: E402
from stores_checks import with_env  # noqa: E402

UTC = datetime.timezone.utc
DBS = ("neo4j", "sales")  # what the Neo4jBackup backs up (--database)
LEGACY = "legacy"  # backed up in the first months, not named by --database: never touched
NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
START = datetime.date(2024, 12, 1)  # a Sunday: the first run is a FULL
END = datetime.date(2026, 11, 30)
MISSED = {datetime.date(2026, 10, 14), datetime.date(2026, 11, 8), datetime.date(2026, 11, 18)}
EXTRA = {datetime.date(2026, 11, 20), datetime.date(2026, 11, 27)}  # a second run at 14:30
IN_STORE = 3  # the last runs are made by the stand-in directly in each target

# name -> bytes: objects retention must never touch (not artifacts, or not listed by inspect)
FOREIGN = {
    "README.txt": b"backups of the nightly Neo4jBackup\n",
    "neo4j-2026-11-31T02-00-00.backup": b"no such date\n",
    "NEO4J-2025-01-05T02-00-00.backup": b"upper case\n",
    "neo4j-2025-01-05T02-00-00.backup.tmp": b"an upload in progress\n",
    "sales-2024-12-03T02-00-00.backup": b"named like a backup, but inspect does not list it\n",
    "old/neo4j-2025-01-05T02-00-00.backup": b"in a sub-folder\n",
}

# (label, backup-retention flags, the model's rules)
POLICIES = [
    ("keeplast", ["--keep-last=4"], dict(keep_last=4)),
    ("periods", ["--keep-last=0", "--daily=10", "--weekly=6", "--monthly=18"],
     dict(daily=10, weekly=6, monthly=18)),
    ("maxage", ["--keep-last=0", "--max-age=33d"], dict(max_age=33 * 86400)),
    ("combined", ["--keep-last=3", "--daily=7", "--weekly=8", "--monthly=30", "--max-age=52w"],
     dict(keep_last=3, daily=7, weekly=8, monthly=30, max_age=52 * 7 * 86400)),
    ("newest", ["--keep-last=1", "--max-age=1h"], dict(keep_last=1, max_age=3600)),
]


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def art_name(db, t):
    return f"{db}-{t.strftime('%Y-%m-%dT%H-%M-%S')}.backup"


# ------------------------------------------------------------------------ schedule ----
def schedule():
    """The runs, oldest first: dicts with time, type, dbs, and the servers' last tx ids."""
    runs, d, i = [], START, 0
    while d <= END:
        wd, week = d.weekday(), (d - START).days // 7
        if d < datetime.date(2025, 12, 1):  # first year: Sundays, every 4th week a Wednesday
            run = wd == 6 or (wd == 2 and week % 4 == 0)
        elif d < datetime.date(2026, 10, 1):  # then Sundays and Wednesdays
            run = wd in (6, 2)
        else:  # the last two months: every day
            run = True
        times = []
        if run and d not in MISSED:
            times.append(datetime.datetime(d.year, d.month, d.day, 2, 0, 0, tzinfo=UTC))
        if d in EXTRA:
            times.append(datetime.datetime(d.year, d.month, d.day, 14, 30, 0, tzinfo=UTC))
        for t in times:
            dbs = list(DBS) + ([LEGACY] if d < datetime.date(2025, 3, 1) and wd == 6 else [])
            # Writes between runs: every run sees new transactions, so no diff is empty.
            runs.append({"time": t, "type": "FULL" if wd == 6 else "AUTO", "dbs": dbs,
                         "tx": {"neo4j": 100 + 7 * i, "sales": 50 + 3 * i, LEGACY: 20 + i}})
            i += 1
        d += datetime.timedelta(days=1)
    return runs


def expected_artifacts(runs):
    """db -> [(name, time, full)] oldest first, as the documented AUTO/FULL behaviour gives
    them (FULL on Sundays; AUTO = a diff on the existing chain)."""
    out = {}
    for r in runs:
        for db in r["dbs"]:
            lst = out.setdefault(db, [])
            lst.append((art_name(db, r["time"]), r["time"], r["type"] == "FULL" or not lst))
    return out


def backup(srv, run, target, env=None):
    srv.dbs.update({db: [f"id-{db}", run["tx"][db]] for db in srv.dbs})
    p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={target}",
              f"--type={run['type']}", *run["dbs"], env=env, now=stamp(run["time"]))
    if p.returncode != 0:
        raise RuntimeError(f"stand-in backup at {stamp(run['time'])} to {target} failed: "
                           f"{p.stdout[-300:]} {p.stderr[-500:]}")


# --------------------------------------------------------------------------- model ----
def model_keep(arts, rules, now):
    """The names of ONE database's backups that docs/backup-restore.md says survive.
    arts: [(name, time, full)] in any order."""
    arts = sorted(arts, key=lambda a: (a[1], a[0]))
    # Chains: in time order a full starts a chain, a diff extends the latest one.
    chains = []
    for a in arts:
        if a[2] or not chains:
            chains.append([a])
        else:
            chains[-1].append(a)
    newest_first = arts[::-1]
    kl, daily, weekly, monthly = (rules.get(k, 0) for k in ("keep_last", "daily", "weekly", "monthly"))
    # 1. the kept set: the union of the count rules (all of them off: everything).
    if not (kl or daily or weekly or monthly):
        kept = {a[0] for a in arts}
    else:
        kept = {a[0] for a in newest_first[:kl]}
        for count, period in ((daily, lambda t: t.date()),
                              (weekly, lambda t: t.isocalendar()[:2]),  # ISO year and week
                              (monthly, lambda t: (t.year, t.month))):
            seen = []
            for a in newest_first:  # the newest backup of each of the `count` newest periods
                p = period(a[1])
                if p in seen:
                    continue
                if len(seen) == count:
                    break
                seen.append(p)
                kept.add(a[0])
    # 2. maxAge: out of the kept set when older than now - maxAge, except the newest backup.
    if rules.get("max_age"):
        cutoff = now - datetime.timedelta(seconds=rules["max_age"])
        kept = {n for n in kept
                if n == newest_first[0][0] or next(a for a in arts if a[0] == n)[1] >= cutoff}
    # 3. closure: a kept diff keeps every earlier link of its chain.
    for ch in chains:
        for i, a in enumerate(ch):
            if a[0] in kept and not a[2]:
                kept |= {b[0] for b in ch[:i]}
    # 4. the newest chain is never pruned.
    if chains:
        kept |= {a[0] for a in chains[-1]}
    return kept


# -------------------------------------------------------------------------- stores ----
class Dir:
    kind = "dir"

    def __init__(self, root):
        self.root = root
        self.env = {}

    def target(self, label):
        return os.path.join(self.root, label)

    def fill(self, label, objects):
        d = self.target(label)
        os.makedirs(d)
        for name, data in objects.items():
            os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        # Directories and symbolic links are never touched, even when named like a backup.
        os.mkdir(os.path.join(d, "neo4j-2024-12-08T03-00-00.backup"))
        os.symlink("README.txt", os.path.join(d, "sales-2024-12-08T03-00-00.backup"))

    def names(self, label):
        d, out = self.target(label), set()
        for top, dirs, files in os.walk(d):
            for n in files + [x for x in dirs if x.endswith(".backup")]:
                out.add(os.path.relpath(os.path.join(top, n), d))
        return out

    def read_all(self, label):
        d = self.target(label)
        out = {}
        for n in self.names(label):
            p = os.path.join(d, n)
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    out[n] = f.read()
        return out

    def extra_names(self):
        return {"neo4j-2024-12-08T03-00-00.backup", "sales-2024-12-08T03-00-00.backup"}


class Cloud:
    """One emulator: a fresh bucket/container; each label is a prefix in it."""

    def __init__(self, kind, env, make_store, uri):
        self.kind, self.env, self.make_store, self.uri = kind, env, make_store, uri

    def store(self):
        return with_env(self.env, self.make_store)

    def target(self, label):
        return self.uri + "/" + label

    def fill(self, label, objects):
        s = self.store()
        with_env(self.env, lambda: [s.put(f"{label}/{n}", d) for n, d in sorted(objects.items())])

    def names(self, label):
        s = self.store()
        return {k[len(label) + 1:] for k, _ in with_env(self.env, lambda: s.list(label + "/"))}

    def read_all(self, label):
        s = self.store()
        return {n: with_env(self.env, lambda: s.get(f"{label}/{n}")) for n in self.names(label)}

    def extra_names(self):
        return set()


def clouds(tmp, run_id):
    E = os.environ
    out = []
    s3 = {"AWS_ACCESS_KEY_ID": E["TESTENV_S3_KEY_ID"], "AWS_SECRET_ACCESS_KEY": E["TESTENV_S3_SECRET"],
          "AWS_REGION": E.get("TESTENV_S3_REGION") or "us-east-1",
          "AWS_ENDPOINT_URL_S3": E["TESTENV_S3_ENDPOINT"]}
    b = f"rt-{run_id}"
    out.append(Cloud("s3", s3, lambda: n4j_store.S3Store(b), f"s3://{b}"))
    acct = E["TESTENV_AZURE_ACCOUNT"]
    az = {"AZURE_STORAGE_ACCOUNT_NAME": acct, "AZURE_STORAGE_ACCOUNT_KEY": E["TESTENV_AZURE_KEY"],
          "AZURE_STORAGE_BLOB_ENDPOINT": E["TESTENV_AZURE_ENDPOINT"]}
    out.append(Cloud("azure", az, lambda: n4j_store.AzureStore(acct, b), f"azb://{acct}/{b}"))
    sa = os.path.join(tmp, "credentials.json")
    with open(sa, "w") as f:  # the stand-in checks the key file's shape; the emulator no token
        json.dump({"type": "service_account", "project_id": "testbed", "client_email": "backup@testbed.iam",
                   "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}, f)
    gs = {"GOOGLE_APPLICATION_CREDENTIALS": sa, "STORAGE_EMULATOR_HOST": E["TESTENV_GCS_ENDPOINT"]}
    out.append(Cloud("gcs", gs, lambda: n4j_store.GCSStore(b), f"gs://{b}"))
    return out


def create(c):
    s = c.store()
    with_env(c.env, s.create_container if c.kind == "azure" else s.create_bucket)


# --------------------------------------------------------------------------- check ----
def operator_bin():
    return os.environ.get("N4J_OPERATOR_BIN") or os.path.join(ROOT, "build", "default", "neo4j-operator")


def retention(store, label, flags, tmp, started):
    """inspect as the backup container runs it, then backup-retention: (process, report)."""
    target = store.target(label)
    p = admin("backup", "inspect", target, "--format=json", "--show-metadata", "--empty",
              env=store.env)
    if p.returncode != 0:
        raise RuntimeError(f"inspect of {target} failed: {p.stderr[-400:]}")
    ins = os.path.join(tmp, f"{store.kind}-{label}.inspect.json")
    with open(ins, "w") as f:
        f.write(p.stdout)
    st = os.path.join(tmp, f"{store.kind}-{label}.started")
    with open(st, "w") as f:
        f.write(f"{int(started.timestamp())}\n")
    rep = os.path.join(tmp, f"{store.kind}-{label}.report.json")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "AZURE_", "GOOGLE_", "STORAGE_EMULATOR"))}
    env.update(store.env)
    args = [operator_bin(), "backup-retention", f"--target={target}", f"--inspect={ins}",
            f"--started={st}", *flags, *[f"--database={d}" for d in DBS], f"--report={rep}",
            f"--now={stamp(NOW)}"]
    q = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    report = None
    try:
        with open(rep) as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    return q, report, json.loads(p.stdout)


def verify(store, label, flags, rules, before, expected, last_run, tmp):
    what = f"{store.kind} {label} ({' '.join(flags)})"
    q, report, inspected = retention(store, label, flags, tmp, last_run["time"])
    last = (q.stderr.strip().splitlines() or [""])[-1]
    check(q.returncode == 0, f"{what}: backup-retention exits 0: {q.returncode} {last[-400:]}")
    after = store.names(label)
    # The stand-in made what the schedule says: inspect lists exactly those, full as planned.
    listed = {(r["name"], r["full"]) for r in inspected}
    planned = {(a[0], a[2]) for db in expected for a in expected[db]}
    check(listed == planned, f"{what}: inspect lists the planned backups: missing "
          f"{sorted(planned - listed)[:4]}, unexpected {sorted(listed - planned)[:4]}")
    # Exactly the model's kept set remains, per database.
    gone = set()
    for db in DBS:
        arts = expected[db]
        keep = model_keep(arts, rules, NOW)
        mine = {a[0] for a in arts}
        left = after & mine
        gone |= mine - left
        check(left == keep, f"{what}: {db}: the backups left are the model's ({len(keep)} of "
              f"{len(arts)}): pruned but kept by the rules {sorted(keep - left)[:6]}, left but "
              f"not kept {sorted(left - keep)[:6]}")
        # Closure and the newest chain, checked on what is left (not through the model).
        broken, chains = [], []
        for a in arts:
            if a[2] or not chains:
                chains.append([])
            chains[-1].append(a)
        for ch in chains:
            for i, a in enumerate(ch):
                if a[0] in left and not a[2]:
                    broken += [b[0] for b in ch[:i] if b[0] not in left]
        check(not broken, f"{what}: {db}: no kept diff without its full and earlier links "
              f"(missing {sorted(set(broken))[:4]})")
        chain = chains[-1]
        check(all(a[0] in left for a in chain), f"{what}: {db}: the newest chain "
              f"({chain[0][0]}…, {len(chain)} links) is whole")
        check(0 < len(keep) < len(arts), f"{what}: {db}: the policy prunes some and keeps some "
              f"({len(keep)} of {len(arts)})")
    # Foreign objects and the legacy database's backups survive.
    foreign = set(FOREIGN) | store.extra_names() | {a[0] for a in expected[LEGACY]}
    check(foreign <= after, f"{what}: objects that are not this backup's survive "
          f"(gone: {sorted(foreign - after)})")
    # The report counts what disappeared; names as far as they fit in 4000 bytes.
    check(report is not None, f"{what}: a report was written")
    if report is not None:
        line = q.stdout.strip().splitlines()[-1] if q.stdout.strip() else ""
        check(json.loads(line or "null") == report, f"{what}: stdout carries the report")
        with open(os.path.join(tmp, f"{store.kind}-{label}.report.json"), "rb") as f:
            size = len(f.read())
        check(size <= 4000, f"{what}: the report has at most 4000 bytes ({size})")
        check(report.get("prunedCount") == len(gone) == len(before - after),
              f"{what}: prunedCount {report.get('prunedCount')} = what disappeared {len(gone)} "
              f"(all objects: {len(before - after)})")
        # "kept: how many backups of these databases remain" counts, like the docs' "backups
        # that inspect did not list", objects named as these databases' backups that inspect
        # did not list (here the one FOREIGN sales-… object; a symbolic link is not one).
        left = sum(len(after & {a[0] for a in expected[db]}) for db in DBS)
        check(report.get("kept") == left + 1,
              f"{what}: kept {report.get('kept')} = the backups of {DBS} left ({left}) + the "
              f"one named like a backup that inspect did not list")
        pruned = set(report.get("pruned", []))
        check(pruned == gone if not report.get("truncated") else pruned <= gone,
              f"{what}: the pruned names are what disappeared (truncated: "
              f"{report.get('truncated')}; {len(pruned)} names)")
        want = sorted(art_name(db, last_run["time"]) for db in DBS)
        got = sorted(a["name"] for a in report.get("artifacts", []))
        check(got == want and all(not a["full"] and a["sizeBytes"] > 0 for a in report["artifacts"]),
              f"{what}: the report's artifacts are the last run's ({got})")
        check(report.get("databases") == list(DBS), f"{what}: databases {report.get('databases')}")
    # Deleted oldest first (an interrupted run never leaves a diff without its full).
    order = [ln.split()[2] for ln in q.stderr.splitlines() if ln.startswith("backup-retention: deleting ")]
    times = [o[-26:-7] for o in order]
    check(times == sorted(times) and set(order) == gone,
          f"{what}: deletions logged oldest first, one per pruned backup ({len(order)})")


def run_kind(store, label_base, objects, runs, expected, srv, tmp):
    """The base history in the store, then every policy on its own fresh copy."""
    t0 = time.monotonic()
    store.fill(label_base, objects)
    for r in runs[-IN_STORE:]:
        backup(srv, r, store.target(label_base), env=store.env)
    base = store.read_all(label_base)
    print(f"{store.kind}: base of {len(base)} objects in {time.monotonic() - t0:.1f}s", flush=True)
    for label, flags, rules in POLICIES:
        t0 = time.monotonic()
        store.fill(label, base)
        before = store.names(label)
        verify(store, label, flags, rules, before, expected, runs[-1], tmp)
        print(f"{store.kind}: {label} checked in {time.monotonic() - t0:.1f}s", flush=True)


def model_docs_examples():
    """The model reproduces the examples of docs/backup-restore.md: November 2026, daily at
    02:00, a full every Sunday, now 2026-11-30 12:00 UTC."""
    arts = [(f"neo4j-2026-11-{d:02d}", datetime.datetime(2026, 11, d, 2, tzinfo=UTC),
             datetime.date(2026, 11, d).weekday() == 6) for d in range(1, 31)]
    now = datetime.datetime(2026, 11, 30, 12, tzinfo=UTC)
    days = lambda *r: {f"neo4j-2026-11-{d:02d}" for d in range(r[0], r[1] + 1)}  # noqa: E731
    for rules, want in ((dict(keep_last=1), days(29, 30)), (dict(keep_last=3), days(22, 30)),
                        (dict(keep_last=3, weekly=3), days(22, 30)),
                        (dict(keep_last=7, max_age=2 * 86400), days(29, 30)),
                        (dict(keep_last=1, max_age=3600), days(29, 30))):
        got = model_keep(arts, rules, now)
        check(got == want, f"the model gives the docs' example {rules}: {sorted(got)}")
    # monthly on fulls only: the newest of each of the last 12 months that have one
    fulls = [(f"neo4j-{y}-{m:02d}-{d:02d}", datetime.datetime(y, m, d, 2, tzinfo=UTC), True)
             for y in (2025, 2026) for m in range(1, 13) for d in (3, 17) if (y, m) <= (2026, 11)]
    got = model_keep(fulls, dict(monthly=12), now)
    want = {f"neo4j-{y}-{m:02d}-17" for y, m in [(2025, 12)] + [(2026, m) for m in range(1, 12)]}
    check(got == want, f"the model gives the docs' monthly example: {sorted(got)}")


def main():
    load_env()
    model_docs_examples()
    names = ("TESTENV_S3_ENDPOINT", "TESTENV_S3_KEY_ID", "TESTENV_S3_SECRET", "TESTENV_AZURE_ENDPOINT",
             "TESTENV_AZURE_ACCOUNT", "TESTENV_AZURE_KEY", "TESTENV_GCS_ENDPOINT")
    missing = [v for v in names if not os.environ.get(v)]
    check(not missing, f"hack/test-env env exports the object-store variables (missing: {missing})")
    check(os.access(operator_bin(), os.X_OK), f"the operator binary {operator_bin()} exists")
    runs = schedule()
    expected = expected_artifacts(runs)
    print(f"{len(runs)} runs from {stamp(runs[0]['time'])} to {stamp(runs[-1]['time'])}; "
          + ", ".join(f"{db}: {len(a)}" for db, a in expected.items()), flush=True)
    tmp = tempfile.mkdtemp(prefix="retention-stores-")
    srv = BackupServer({db: [f"id-{db}", 1] for db in (*DBS, LEGACY)})
    kinds = os.environ.get("N4J_RETENTION_KINDS")  # development only: fails the test
    check(not kinds, f"all target kinds checked (N4J_RETENTION_KINDS={kinds} limits them)")
    try:
        # The history, made once by the stand-in in a directory (all but the last runs).
        t0 = time.monotonic()
        master = os.path.join(tmp, "master")
        for r in runs[:-IN_STORE]:
            backup(srv, r, master)
        print(f"history: {len(runs) - IN_STORE} stand-in runs in {time.monotonic() - t0:.1f}s", flush=True)
        objects = dict(FOREIGN)
        for n in os.listdir(master):
            with open(os.path.join(master, n), "rb") as f:
                objects[n] = f.read()
        stores = [Dir(os.path.join(tmp, "pvc"))]
        if not missing:
            stores += clouds(tmp, uuid.uuid4().hex[:10])
        for s in stores:
            if kinds and s.kind not in kinds.split(","):
                continue
            try:
                if isinstance(s, Cloud):
                    create(s)
                run_kind(s, "base", objects, runs, expected, srv, tmp)
            except (RuntimeError, n4j_store.StoreError, OSError) as e:
                check(False, f"{s.kind}: {e}")
    finally:
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)
    done()


if __name__ == "__main__":
    main()
