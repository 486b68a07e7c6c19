#!/usr/bin/env python3
"""The backup stand-ins on a local directory (no environment needed): neo4j-admin's
command line per Neo4j version, `database backup` against a fake backup port (FULL then
DIFF chain, an unreachable server skipped, globs from LIST, a database no server has),
`backup inspect` JSON, `database check` on a broken or damaged chain, aggregate, and
n4j-testbed-seed (found, --until, not found, bad chain)."""
import json
import os
import tempfile

from standinlib import BackupServer, admin, check, dead_addr, done, inspect, seed

T0, T1, T2, T3 = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z", "2026-03-01T12:00:00Z",
                  "2026-03-01T13:00:00Z")


def header(path):
    with open(path, "rb") as f:
        line = f.readline()
    return json.loads(line[len(b"NEO4J-TESTBED-BACKUP "):])


def flags(tmp):
    to = f"--to-path={tmp}/flags"
    # An option of 2025.04+ on 5.26, and one of 2025.11+ on 2025.10: refused as unknown.
    p = admin("database", "backup", "--prefer-diff-as-parent", to, "neo4j", version="5.26.12")
    check(p.returncode == 1 and "Unknown option: '--prefer-diff-as-parent'" in p.stderr,
          f"5.26 refuses --prefer-diff-as-parent: {p.returncode} {p.stderr[:120]!r}")
    p = admin("database", "backup", "--skip-recovery", to, "neo4j", version="2025.10.1")
    check(p.returncode == 1 and "Unknown option: '--skip-recovery'" in p.stderr,
          f"2025.10 refuses --skip-recovery (2025.11+): {p.stderr[:120]!r}")
    p = admin("database", "backup", "--foo=1", to, "neo4j", version="2025.10.1")
    check(p.returncode == 1 and "Unknown option: '--foo'" in p.stderr, f"unknown --foo: {p.stderr[:120]!r}")
    p = admin("database", "backup", "--compress=maybe", to, "neo4j")
    check(p.returncode == 1 and "'--compress'" in p.stderr, f"--compress=maybe refused: {p.stderr[:120]!r}")
    p = admin("database", "backup", "--type=INCREMENTAL", to, "neo4j")
    check(p.returncode == 1 and "--type" in p.stderr, f"--type=INCREMENTAL refused: {p.stderr[:120]!r}")
    p = admin("database", "backup", "--to-path", version="5.26.12")
    check(p.returncode == 1 and "Missing required parameter for option '--to-path'" in p.stderr,
          f"--to-path without a value: {p.stderr[:120]!r}")
    p = admin("backup", "aggregate", f"--from-path={tmp}", "neo4j", version="5.26.12")
    check(p.returncode == 1 and "Unmatched argument at index 1: 'aggregate'" in p.stderr,
          f"5.26 has no `backup aggregate`: {p.stderr[:120]!r}")
    p = admin("database", "check", "--from-path=/x", "a", "b")
    check(p.returncode == 1 and "Unmatched argument" in p.stderr, f"check takes one database: {p.stderr[:100]!r}")
    # The documented forms parse: --x=v, --x v, --b, --b=false, --b false, repeated --from.
    for v in ("5.26.12", "2025.10.1"):
        p = admin("database", "backup", "--help", "--compress", "--keep-failed=false", "--parallel-recovery",
                  "false", "--from", "a:1", "--from=b:2", "--to-path", "/x", "--type=AUTO",
                  "--include-metadata=all", "--pagecache=2G", "--temp-path=/tmp", "--expand-commands",
                  "--verbose", "*", version=v)
        check(p.returncode == 0, f"{v}: the rendered backup flags parse: {p.stderr[:200]!r}")
    p = admin("database", "backup", "--help", "--prefer-diff-as-parent", "--remote-address-resolution=true",
              version="2025.10.1")
    check(p.returncode == 0, f"2025.10 accepts --prefer-diff-as-parent, --remote-address-resolution: {p.stderr[:200]!r}")


def backup_chain(tmp):
    d = f"{tmp}/pvc"
    srv = BackupServer({"neo4j": ["id-n", 10], "system": ["id-s", 4], "movies": ["id-m", 7]})
    dead = dead_addr()
    try:
        # The first --from is unreachable: reported, the next one backs up; Neo4j's exit code
        # is 1 when a server did not respond, even though the artifact was written.
        p = admin("database", "backup", f"--from={dead},{srv.addr}", f"--to-path={d}", "neo4j", now=T0)
        a0 = f"{d}/neo4j-2026-03-01T10-00-00.backup"
        check(os.path.exists(a0), f"FULL artifact written past an unreachable server: {p.stdout}{p.stderr}")
        check(p.returncode == 1 and f"Unable to connect to {dead}" in p.stderr,
              f"unreachable server reported, exit 1: {p.returncode} {p.stderr[:200]!r}")
        h = header(a0) if os.path.exists(a0) else {}
        check(h.get("full") is True and h.get("lowestTx") == 1 and h.get("highestTx") == 10
              and h.get("databaseId") == "id-n", f"FULL header: {h}")
        check(srv.requests[:1] == ["BACKUP neo4j 0"], f"FULL asks from tx 0: {srv.requests}")

        srv.dbs["neo4j"][1] = 25
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "--type=AUTO", "neo4j", now=T1)
        a1 = f"{d}/neo4j-2026-03-01T11-00-00.backup"
        check(p.returncode == 0 and os.path.exists(a1), f"AUTO backup: {p.returncode} {p.stderr}")
        h = header(a1) if os.path.exists(a1) else {}
        check(h.get("full") is False and h.get("lowestTx") == 11 and h.get("highestTx") == 25,
              f"AUTO after a FULL is a DIFF 11..25: {h}")
        check("BACKUP neo4j 11" in srv.requests, f"DIFF asks from tx 11: {srv.requests}")

        # A pattern: every server lists its databases; a database no server has fails the
        # run after the others are written.
        srv.dbs["neo4j"][1] = 30
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "--compress=false",
                  "n*", "system", "ghost", now=T2)
        names = sorted(os.listdir(d))
        check("neo4j-2026-03-01T12-00-00.backup" in names and "system-2026-03-01T12-00-00.backup" in names
              and not any(n.startswith("movies") for n in names), f"'n*' + system backed up: {names}")
        check(p.returncode == 1 and "ghost" in p.stderr, f"a database no server has fails the run: {p.stderr[-200:]!r}")
        check("LIST" in srv.requests, f"a pattern asks the servers for their databases: {srv.requests}")

        # No server reachable: nothing written, exit 1.
        p = admin("database", "backup", f"--from={dead}", f"--to-path={d}", "neo4j", now=T3)
        check(p.returncode == 1 and not os.path.exists(f"{d}/neo4j-2026-03-01T13-00-00.backup"),
              f"no server: exit 1, no artifact: {p.returncode}")
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "--type=DIFF", "movies", now=T3)
        check(p.returncode == 1 and not any(n.startswith("movies") for n in os.listdir(d)),
              f"DIFF without a chain fails: {p.stderr[:200]!r}")
        # Same db, same clock: the artifact exists, never overwritten.
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "neo4j", now=T2)
        check(p.returncode == 1 and "already exists" in p.stderr, f"no overwrite: {p.stderr[:200]!r}")
    finally:
        srv.close()
    return d


def inspect_and_check(tmp, d):
    rows, p = inspect(d, version="2025.10.1")
    check(rows is not None and p.returncode == 0, f"inspect --format=json: {p.stdout[:200]} {p.stderr[:200]}")
    rows = rows or []
    n = [r for r in rows if r["database"] == "neo4j"] if rows and "database" in rows[0] else []
    check([r["name"] for r in n] == ["neo4j-2026-03-01T12-00-00.backup", "neo4j-2026-03-01T11-00-00.backup",
                                     "neo4j-2026-03-01T10-00-00.backup"], f"inspect lists newest first: {n}")
    want = {"name", "database", "databaseId", "time", "full", "compressed", "lowestTx", "highestTx", "sizeBytes"}
    check(all(set(r) == want for r in rows), f"inspect fields: {[sorted(r) for r in rows[:1]]}")
    check(n and n[0]["compressed"] is False and n[0]["lowestTx"] == 26 and n[0]["highestTx"] == 30
          and n[0]["time"] == "2026-03-01T12:00:00Z", f"third link 26..30 uncompressed: {n[:1]}")
    check(all(r["sizeBytes"] == os.path.getsize(os.path.join(d, r["name"])) for r in rows), "sizeBytes = file size")
    # 5.26 shows the metadata only with --show-metadata (2025.07 made it the default).
    rows, p = inspect(d, version="5.26.12")
    check(rows and set(rows[0]) == {"name"}, f"5.26 without --show-metadata: names only: {rows[:1]}")
    p = admin("backup", "inspect", d, "--format=json", "--show-metadata", "--database=system",
              "--latest-backup", version="5.26.12")
    rows = json.loads(p.stdout or "[]")
    check(p.returncode == 0 and [r["name"] for r in rows] == ["system-2026-03-01T12-00-00.backup"]
          and "highestTx" in rows[0], f"5.26 --show-metadata --latest-backup --database: {rows}")

    p = admin("database", "check", f"--from-path={d}", f"--temp-path={tmp}", f"--report-path={tmp}/r1", "neo4j")
    check(p.returncode == 0, f"check of a whole chain passes: {p.stdout}{p.stderr}")
    # Break the chain (lose the middle diff): check fails with a report.
    import shutil
    b = f"{tmp}/broken"
    shutil.copytree(d, b)
    os.unlink(f"{b}/neo4j-2026-03-01T11-00-00.backup")
    p = admin("database", "check", f"--from-path={b}", f"--report-path={tmp}/r2", "neo4j")
    reps = os.listdir(f"{tmp}/r2") if os.path.isdir(f"{tmp}/r2") else []
    check(p.returncode == 1 and "missing 11..25" in p.stderr and len(reps) == 1,
          f"check of a broken chain fails with a report: {p.returncode} {p.stderr[:200]!r} {reps}")
    # A damaged payload.
    c = f"{tmp}/damaged"
    shutil.copytree(d, c)
    with open(f"{c}/neo4j-2026-03-01T10-00-00.backup", "r+b") as f:
        f.seek(-3, 2)
        f.write(b"XYZ")
    p = admin("database", "check", f"--from-path={c}", f"--report-path={tmp}/r3", "neo4j")
    check(p.returncode == 1 and "damaged" in p.stderr, f"check of a damaged artifact fails: {p.stderr[:200]!r}")

    # Seeds: the folder's newest chain, --until, another source database, absent, broken.
    p = seed(f"file://{d}", "neo4j")
    check(p.returncode == 0 and p.stdout.startswith("lastTx=30"), f"seed from the folder: {p.stdout} {p.stderr}")
    p = seed(f"file://{d}", "neo4j", "--until", "20")
    check(p.returncode == 0 and p.stdout.startswith("lastTx=19"), f"seed --until 20 stops before 20: {p.stdout}")
    p = seed(f"file://{d}", "neo4j", "--until=2026-03-01 10:30:00")
    check(p.returncode == 0 and p.stdout.startswith("lastTx=10"), f"seed --until a time: {p.stdout} {p.stderr}")
    p = seed(f"file://{d}/neo4j-2026-03-01T11-00-00.backup", "copy")
    check(p.returncode == 0 and p.stdout.startswith("lastTx=25"), f"seed from one diff artifact: {p.stdout} {p.stderr}")
    p = seed(f"file://{d}", "copy", "--source-db", "system")
    check(p.returncode == 0 and p.stdout.startswith("lastTx=4"), f"seed --source-db: {p.stdout} {p.stderr}")
    p = seed(f"file://{d}", "movies")
    check(p.returncode == 1 and "no backup of 'movies'" in p.stderr, f"seed absent: {p.stderr}")
    p = seed(f"file://{b}", "neo4j")
    check(p.returncode == 1 and "broken" in p.stderr, f"seed from a broken chain: {p.stderr}")
    p = seed(d, "neo4j")
    check(p.returncode == 1, f"a plain path is not a seed URI: {p.stderr}")

    # Aggregate (5.26 name), keeping nothing old: one full artifact 1..30.
    e = f"{tmp}/agg"
    shutil.copytree(d, e)
    p = admin("database", "aggregate-backup", f"--from-path={e}", "neo4j", version="5.26.12")
    left = sorted(x for x in os.listdir(e) if x.startswith("neo4j"))
    h = header(f"{e}/{left[-1]}") if left else {}
    check(p.returncode == 0 and left == ["neo4j-2026-03-01T12-00-00.backup"] and h.get("full")
          and h.get("lowestTx") == 1 and h.get("highestTx") == 30, f"aggregate: {left} {h} {p.stderr}")


def empty_backups(tmp):
    """No new transactions: an empty artifact (0..0), as Neo4j; inspect shows it only with
    --empty; the next DIFF continues from the last non-empty link."""
    d = f"{tmp}/empty"
    srv = BackupServer({"neo4j": ["id-n", 5]})
    try:
        admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "neo4j", now=T0)
        p = admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "neo4j", now=T1)
        h = header(f"{d}/neo4j-2026-03-01T11-00-00.backup") if p.returncode == 0 else {}
        check(h.get("full") is False and h.get("lowestTx") == 0 and h.get("highestTx") == 0,
              f"no new transactions: an empty artifact: {h} {p.stderr}")
        p = admin("backup", "inspect", d, "--format=json", version="2025.10.1")
        names = [r["name"] for r in json.loads(p.stdout or "[]")]
        check(names == ["neo4j-2026-03-01T10-00-00.backup"], f"inspect without --empty hides it: {names}")
        rows, _ = inspect(d)
        check(len(rows or []) == 2, f"inspect --empty lists it: {rows}")
        srv.dbs["neo4j"][1] = 9
        admin("database", "backup", f"--from={srv.addr}", f"--to-path={d}", "neo4j", now=T2)
        h = header(f"{d}/neo4j-2026-03-01T12-00-00.backup") if os.path.exists(f"{d}/neo4j-2026-03-01T12-00-00.backup") else {}
        check(h.get("lowestTx") == 6 and h.get("highestTx") == 9, f"the next DIFF follows the last non-empty link: {h}")
        p = admin("database", "check", f"--from-path={d}", f"--report-path={tmp}/r4", "neo4j")
        check(p.returncode == 0, f"a chain with an empty link checks: {p.stderr}")
    finally:
        srv.close()


with tempfile.TemporaryDirectory(prefix="standin-") as tmp:
    flags(tmp)
    empty_backups(tmp)
    d = backup_chain(tmp)
    inspect_and_check(tmp, d)
done()
