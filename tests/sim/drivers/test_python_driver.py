#!/usr/bin/env python3
"""n4j-clustersim through the official Neo4j Python driver (PyPI `neo4j`, pinned and installed
by hack/install-deps into $CACHE/py). Usage: test_python_driver.py PATH/TO/n4j-clustersim

The simulator must look like Neo4j 5.26 Enterprise to a client nobody here wrote: neo4j://
routing for system, neo4j and user databases with 1 and 3 primaries (writers, readers and
routers as Neo4j returns them), reads and writes on the right servers, FAILURE with the
right code / GQL status / description / message, dbms.components(), the SHOW commands the
operator uses, and a leader change followed after a NotALeader.
"""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import simcluster  # noqa: E402

sys.path.insert(0, simcluster.PYDRIVER_DIR)
try:
    import neo4j  # noqa: E402
    from neo4j import exceptions as nex  # noqa: E402
except ImportError as e:
    print("the official Python driver is missing from %s (run hack/install-deps): %s"
          % (simcluster.PYDRIVER_DIR, e))
    print("0 passed, 1 failed")
    sys.exit(1)

# gql_status & co. are a "preview" in 5.28: they work, the driver only warns.
warnings.simplefilter("ignore", neo4j.PreviewWarning)

# 127.0.0.91-93: this suite's own (test_sim uses .61+, the Java suite .94-96).
FIRST_IP = 91


def main():
    sim = sys.argv[1]
    C = simcluster.Checks("sim.driver_python (neo4j %s)" % neo4j.__version__)
    cl = simcluster.Cluster(sim, FIRST_IP)
    hosts = cl.hosts()
    ADVERTISED.update(zip(cl.bind, cl.adv))

    # The driver's resolver= is called for the initial address, and (5.28's pool) for every
    # router and for every reader/writer before DNS: the advertised names need nothing else.
    def resolver(addr):
        yield (hosts.get(addr.host, addr.host), addr.port)

    auth = ("neo4j", simcluster.PASSWORD)
    # Seed with a follower: routing must find the leader by itself.
    CLUSTER[0] = cl
    # Retries are the driver's (NotALeader), but a broken simulator must fail in seconds.
    drv = neo4j.GraphDatabase.driver("neo4j://%s" % cl.adv[1], auth=auth, resolver=resolver,
                                     max_transaction_retry_time=5)
    try:
        run(C, cl, drv, auth, resolver)
    except SimulatorDied:
        pass
    finally:
        drv.close()
        report = simcluster.sanitizer_report(cl.close())
    C.check(not report, "the simulator logged no sanitizer or valgrind report", report)
    return C.done()


CLUSTER = [None]

# bind "ip:port" -> advertised "sN.sim.test:port": a summary's server.address is the address
# the driver dialled (resolved), a routing table's the advertised one.
ADVERTISED = {}


def addr(a):
    s = "%s:%d" % (a.host, a.port)
    return ADVERTISED.get(s, s)


def table(drv, db):
    rt = drv._pool.routing_tables.get(db)  # the driver's own routing table (5.28 layout)
    if rt is None:
        return None
    return ({addr(a) for a in rt.routers}, {addr(a) for a in rt.readers},
            {addr(a) for a in rt.writers})


def sysq(drv, q, **params):
    recs, summ, keys = drv.execute_query(q, params, database_="system",
                                         routing_=neo4j.RoutingControl.READ)
    return recs, summ, keys


def expected_table(cl, drv, db):
    """What Neo4j 5.26 returns with default settings (dbms.routing.reads_on_writers_enabled
    = false, reads_on_primaries_enabled = true): WRITE = the writer, READ = every other
    online member hosting the database, or the writer itself when there is no other member;
    ROUTE = every server (each can route for every database)."""
    recs, _, _ = sysq(drv, "SHOW DATABASE $db YIELD address, writer, currentStatus", db=db)
    w = {r["address"] for r in recs if r["writer"]}
    rd = {r["address"] for r in recs if not r["writer"] and r["currentStatus"] == "online"}
    return set(cl.adv), rd or w, w


def run(C, cl, drv, auth, resolver):
    sid = None
    known = cl.names_resolve()
    C.check(not known, "the advertised names resolve only through the driver's resolver",
            repr(known))
    with guard(C, "neo4j:// driver connects through a follower seed"):
        drv.verify_connectivity()
        C.check(True, "neo4j:// driver connects through a follower seed")

    # -- dbms.components(): on the home database and on system
    with guard(C, 'dbms.components()'):
        for db in (None, "system"):
            recs, _, _ = drv.execute_query("CALL dbms.components()", database_=db,
                                           routing_=neo4j.RoutingControl.READ)
            got = [(r["name"], list(r["versions"]), r["edition"]) for r in recs]
            C.check(len(got) == 1 and got[0][0] == "Neo4j Kernel" and
                    len(got[0][1]) == 1 and got[0][1][0].startswith("5.26.") and
                    got[0][2] == "enterprise",
                    "CALL dbms.components() on %s" % (db or "the home database"), repr(got))
        recs, _, keys = sysq(drv, "CALL dbms.components() YIELD versions, edition "
                                  "RETURN edition")
        C.check(keys == ["edition"] and [r["edition"] for r in recs] == ["enterprise"],
                "CALL dbms.components() YIELD versions, edition RETURN edition",
                repr((keys, [dict(r) for r in recs])))

    # -- databases with 1 and 3 primaries, created through the routing driver (leader)
    with guard(C, 'databases with 1 and 3 primaries, created through the routing driver (leader)'):
        for name, p in (("one", 1), ("three", 3)):
            _, summ, _ = drv.execute_query(
                "CREATE DATABASE %s TOPOLOGY %d PRIMAR%s WAIT" % (name, p, "Y" if p == 1 else "IES"),
                database_="system")
            C.check(addr(summ.server.address) == cl.adv[0] and summ.database == "system" and
                    summ.query_type == "s",
                    "CREATE DATABASE %s (%d primaries) ran on the leader as a schema write" % (name, p),
                    "server %s db %s type %s" % (summ.server.address, summ.database, summ.query_type))

    # -- per database: routing table, writes to the writer, reads to readers
    for db in ("system", "neo4j", "one", "three", None):
        with guard(C, "database %s" % db):
            label = db or "the home database (neo4j)"
            with drv.session(database=db) as s:
                rsum = s.execute_read(lambda tx: tx.run(
                    "SHOW SERVERS" if db == "system" else "MATCH (n) RETURN count(n) AS c").consume())
            real = db or "neo4j"
            want = expected_table(cl, drv, real)
            got = table(drv, real)
            C.check(got is not None and all(got), "%s: routing table has routers, readers and "
                    "writers" % label, repr(got))
            C.check(got == want, "%s: routing table as Neo4j returns it" % label,
                    "got %r want %r" % (got, want))
            C.check(addr(rsum.server.address) in want[1] and rsum.database == real and
                    rsum.query_type == "r",
                    "%s: a read ran on a reader" % label,
                    "server %s db %s type %s" % (rsum.server.address, rsum.database,
                                                 rsum.query_type))
            q = ("CREATE ALIAS `probe-%s` IF NOT EXISTS FOR DATABASE neo4j" % real
                 if db == "system" else "CREATE (n:Probe {db: $db})")
            with drv.session(database=db) as s:
                wsum = s.execute_write(lambda tx: tx.run(q, db=real).consume())
            C.check(addr(wsum.server.address) in want[2] and wsum.database == real and
                    wsum.query_type == ("s" if db == "system" else "w"),
                    "%s: a write ran on the writer" % label,
                    "server %s db %s type %s" % (wsum.server.address, wsum.database,
                                                 wsum.query_type))
            if db not in ("system", None):
                C.check(wsum.counters.nodes_created == 1,
                        "%s: the write's counters (nodes created)" % label, repr(wsum.counters))
                recs, _, _ = drv.execute_query("MATCH (n) RETURN count(n) AS c", database_=db,
                                               routing_=neo4j.RoutingControl.READ)
                C.check(recs[0]["c"] == 1, "%s: a reader sees the writer's node" % label,
                        repr(recs))

    # -- SHOW commands as the operator uses them
    with guard(C, 'SHOW commands as the operator uses them'):
        recs, _, keys = sysq(drv, "SHOW SERVERS YIELD serverId, name, address, state, health, "
                                  "hosting, requestedHosting")
        C.check(sorted(r["address"] for r in recs) == sorted(cl.adv) and
                all(r["state"] == "Enabled" and r["health"] == "Available" for r in recs) and
                keys == ["serverId", "name", "address", "state", "health", "hosting",
                         "requestedHosting"],
                "SHOW SERVERS YIELD serverId, name, address, state, health, hosting, "
                "requestedHosting", repr([dict(r) for r in recs]))
        sid = recs[0]["serverId"]
        one, _, _ = sysq(drv, "SHOW SERVERS YIELD serverId, state, hosting WHERE serverId = $id",
                         id=sid)
        C.check(len(one) == 1 and one[0]["serverId"] == sid and "system" in one[0]["hosting"],
                "SHOW SERVERS ... WHERE serverId = $id", repr([dict(r) for r in one]))
        allc, _, keys = sysq(drv, "SHOW SERVERS YIELD *")
        C.check(len(allc) == 3 and {"serverId", "name", "address", "state", "health", "hosting",
                                    "requestedHosting", "tags", "modeConstraint"} <= set(keys),
                "SHOW SERVERS YIELD *", repr(keys))
        recs, _, _ = sysq(drv, "SHOW DATABASES YIELD name, address, currentStatus, "
                               "requestedStatus, statusMessage WHERE currentStatus <> "
                               "requestedStatus")
        C.check(recs == [], "SHOW DATABASES ... WHERE currentStatus <> requestedStatus: settled",
                repr([dict(r) for r in recs]))
        recs, _, keys = sysq(drv, "SHOW DATABASE system YIELD address, writer WHERE writer "
                                  "RETURN address")
        C.check(keys == ["address"] and [r["address"] for r in recs] == [cl.adv[0]],
                "SHOW DATABASE system YIELD address, writer WHERE writer RETURN address",
                repr([dict(r) for r in recs]))
        recs, _, _ = sysq(drv, "SHOW DATABASE three YIELD name, address, role, writer")
        C.check(len(recs) == 3 and sum(1 for r in recs if r["writer"]) == 1 and
                all(r["role"] == "primary" for r in recs),
                "SHOW DATABASE three: 3 primaries, one writer", repr([dict(r) for r in recs]))

    # -- FAILURE: code, GQL status, description, classification, message
    with guard(C, 'FAILURE'):
        def failure(fn):
            try:
                fn()
            except nex.Neo4jError as e:
                return e
            return None

        e = failure(lambda: drv.execute_query("RETRUN 1", database_="system"))
        C.check(isinstance(e, nex.CypherSyntaxError) and
                shows(e, "Neo.ClientError.Statement.SyntaxError", "42001",
                      "error: syntax error or access rule violation - invalid syntax", "RETRUN"),
                "syntax error: code, GQL status, description, classification, message",
                describe(e))
        e = failure(lambda: drv.execute_query("CREATE DATABASE neo4j", database_="system"))
        C.check(shows(e, "Neo.ClientError.Database.ExistingDatabaseFound", "42N11",
                      "error: syntax error or access rule violation - graph reference already "
                      "exists", "neo4j"),
                "refused admin command (CREATE DATABASE neo4j): ExistingDatabaseFound / 42N11",
                describe(e))
        e = failure(lambda: drv.execute_query("DROP SERVER $id", {"id": sid}, database_="system"))
        C.check(e is not None and e.code.startswith("Neo.ClientError.") and
                len(e.gql_status) == 5 and e.gql_status != "50N42" and e.message,
                "refused admin command (DROP SERVER of an Enabled server)", describe(e))
        e = failure(lambda: drv.execute_query("RETURN 1", database_="nosuchdb"))
        C.check(shows(e, "Neo.ClientError.Database.DatabaseNotFound", "22N51",
                      "error: data exception - graph reference not found", "nosuchdb"),
                "unknown database: DatabaseNotFound / 22N51", describe(e))
        # A write on a follower over bolt://: the server answers NotALeader, which this
        # driver turns into WriteServiceUnavailable on a direct connection (as against Neo4j).
        direct = neo4j.GraphDatabase.driver("bolt://%s" % cl.adv[1], auth=auth,
                                            resolver=resolver)
        try:
            with direct.session(database="system") as s:
                e = failure(lambda: s.run("CREATE DATABASE nolead").consume())
        except nex.DriverError as err:
            e = err
        finally:
            direct.close()
        C.check(isinstance(e, nex.WriteServiceUnavailable),
                "a write on a follower over bolt://: WriteServiceUnavailable", repr(e))

    # -- leader change: the driver's cached writer refuses, the driver re-routes and retries
    with guard(C, 'leader change'):
        before = table(drv, "system")
        C.check(before is not None and before[2] == {cl.adv[0]}, "system writer before: s0",
                repr(before))
        C.check(cl.control("leader s2").strip() == "ok", "control: leader s2")
        seen = []

        def work(tx):
            try:
                return tx.run("CREATE ALIAS `after-switch` IF NOT EXISTS FOR DATABASE neo4j"
                              ).consume()
            except nex.Neo4jError as err:
                seen.append(err)
                raise

        with drv.session(database="system") as s:
            summ = s.execute_write(work)
        C.check([e.code for e in seen] == ["Neo.ClientError.Cluster.NotALeader"] and
                addr(summ.server.address) == cl.adv[2],
                "after `leader s2` a write gets NotALeader once, then runs on s2",
                "errors %r server %s" % ([describe(e) for e in seen], summ.server.address))
        e = seen[0] if seen else None
        C.check(shows(e, "Neo.ClientError.Cluster.NotALeader", "08N07",
                      "error: connection exception - not the leader", "leader"),
                "NotALeader: GQL status 08N07, description, classification, message",
                describe(e))
        after = table(drv, "system")
        C.check(after is not None and after[2] == {cl.adv[2]} and
                after[1] == {cl.adv[0], cl.adv[1]},
                "the driver's routing table follows: writer s2, readers s0 s1", repr(after))


class guard:
    """An exception inside a group of checks is one failed check, and the rest still run."""

    def __init__(self, C, what):
        self.C, self.what = C, what

    def __enter__(self):
        return self

    def __exit__(self, typ, val, tb):
        if typ is not None:
            self.C.check(False, "%s: no exception" % self.what,
                         "%s: %s" % (typ.__name__, val))
        if CLUSTER[0].proc.poll() is not None:
            # A dead simulator would make every later group wait out the driver's retries.
            self.C.check(False, "the simulator is still running after %s" % self.what,
                         "exit status %s" % CLUSTER[0].proc.returncode)
            raise SimulatorDied()
        return True


class SimulatorDied(Exception):
    pass


def shows(e, code, gql, description, in_message):
    """The driver shows the server's FAILURE: code, GQL status, its description, the
    classification (a client error) and the message."""
    return (isinstance(e, nex.Neo4jError) and e.code == code and e.gql_status == gql and
            e.gql_status_description.startswith(description) and
            e.gql_classification == nex.GqlErrorClassification.CLIENT_ERROR and
            in_message in (e.message or ""))


def describe(e):
    if e is None:
        return "no error"
    return "code=%r gql=%r desc=%r cls=%r msg=%r" % (
        getattr(e, "code", None), getattr(e, "gql_status", None),
        getattr(e, "gql_status_description", None), getattr(e, "gql_classification", None),
        getattr(e, "message", None))


if __name__ == "__main__":
    sys.exit(main())
