import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.QueryConfig;
import org.neo4j.driver.Record;
import org.neo4j.driver.RoutingControl;
import org.neo4j.driver.Session;
import org.neo4j.driver.SessionConfig;
import org.neo4j.driver.exceptions.GqlStatusErrorClassification;
import org.neo4j.driver.exceptions.Neo4jException;
import org.neo4j.driver.exceptions.SessionExpiredException;
import org.neo4j.driver.summary.QueryType;
import org.neo4j.driver.summary.ResultSummary;

/**
 * n4j-clustersim through the official Neo4j Java driver (tests/sim/drivers/test_java_driver.py
 * starts the simulator and runs this with -Djdk.net.hosts.file mapping the advertised names).
 * Args: PASSWORD CONTROL_SOCKET ADVERTISED0 ADVERTISED1 ADVERTISED2 (s0 leads system).
 * Prints one line per check and "sim.driver_java: N passed, M failed"; exit 1 on a failure.
 */
public final class SimDriverCheck {
  private static int passed;
  private static final List<String> failed = new ArrayList<>();
  private static String[] adv;
  private static String control;

  private static boolean check(boolean ok, String what, Object detail) {
    if (ok) {
      passed++;
      System.out.println("ok   " + what);
    } else {
      failed.add(what);
      System.out.println("FAIL " + what + " " + detail);
    }
    return ok;
  }

  /** A group of checks: an exception in it is one failed check, and the rest still run. */
  private static void group(String what, Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      check(false, what + ": no exception", describe(e));
    }
  }

  private static String describe(Throwable e) {
    if (e == null) {
      return "no error";
    }
    if (e instanceof Neo4jException n) {
      return String.format("%s code=%s gql=%s desc=%s cls=%s msg=%s", e.getClass().getSimpleName(),
          n.code(), n.gqlStatus(), n.statusDescription(), n.classification(), n.getMessage());
    }
    return e.toString();
  }

  private static String controlCmd(String line) throws Exception {
    try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.connect(UnixDomainSocketAddress.of(control));
      ch.write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
      ByteBuffer buf = ByteBuffer.allocate(65536);
      while (ch.read(buf) > 0) {
        // read to EOF
      }
      return new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8).trim();
    }
  }

  private static String server(ResultSummary s) {
    return s.server().address();
  }

  private static List<Record> sys(Driver d, String q, Map<String, Object> params) {
    return d.executableQuery(q)
        .withParameters(params)
        .withConfig(QueryConfig.builder().withDatabase("system").withRouting(RoutingControl.READ).build())
        .execute()
        .records();
  }

  /**
   * What Neo4j 5.26 returns with default settings: WRITE = the writer, READ = the other online
   * members hosting the database, or the writer when there is no other member.
   */
  private static Set<String>[] expected(Driver d, String db) {
    Set<String> w = new HashSet<>();
    Set<String> r = new HashSet<>();
    for (Record rec : sys(d, "SHOW DATABASE $db YIELD address, writer, currentStatus", Map.of("db", db))) {
      if (rec.get("writer").asBoolean()) {
        w.add(rec.get("address").asString());
      } else if (rec.get("currentStatus").asString().equals("online")) {
        r.add(rec.get("address").asString());
      }
    }
    @SuppressWarnings("unchecked")
    Set<String>[] out = new Set[] {r.isEmpty() ? w : r, w};
    return out;
  }

  private static Neo4jException failure(Supplier<?> fn) {
    try {
      fn.get();
    } catch (Neo4jException e) {
      return e;
    }
    return null;
  }

  public static void main(String[] args) throws Exception {
    String password = args[0];
    control = args[1];
    adv = new String[] {args[2], args[3], args[4]};
    // Seed with a follower: routing must find the leader by itself. The JVM resolves every
    // advertised name (seed and routing table) through jdk.net.hosts.file: no resolver here.
    // Retries are the driver's (NotALeader), but a broken simulator must fail in seconds.
    Config cfg = Config.builder().withMaxTransactionRetryTime(5, TimeUnit.SECONDS).build();
    try (Driver d = GraphDatabase.driver("neo4j://" + adv[1], AuthTokens.basic("neo4j", password), cfg)) {
      run(d, password);
    }
    System.out.printf("sim.driver_java: %d passed, %d failed%n", passed, failed.size());
    System.exit(failed.isEmpty() ? 0 : 1);
  }

  private static void run(Driver d, String password) throws Exception {
    group("neo4j:// connects through a follower seed", () -> {
      d.verifyConnectivity();
      check(true, "neo4j:// driver connects through a follower seed", "");
    });

    group("dbms.components()", () -> {
      for (String db : new String[] {null, "system"}) {
        QueryConfig.Builder qc = QueryConfig.builder().withRouting(RoutingControl.READ);
        if (db != null) {
          qc.withDatabase(db);
        }
        List<Record> recs = d.executableQuery("CALL dbms.components()").withConfig(qc.build()).execute().records();
        boolean ok = recs.size() == 1
            && recs.get(0).get("name").asString().equals("Neo4j Kernel")
            && recs.get(0).get("versions").asList().size() == 1
            && recs.get(0).get("versions").get(0).asString().startsWith("5.26.")
            && recs.get(0).get("edition").asString().equals("enterprise");
        check(ok, "CALL dbms.components() on " + (db == null ? "the home database" : db), recs);
      }
    });

    group("create databases", () -> {
      for (int p : new int[] {1, 3}) {
        String name = p == 1 ? "one" : "three";
        ResultSummary s = d.executableQuery(String.format("CREATE DATABASE %s TOPOLOGY %d PRIMAR%s WAIT", name, p,
                p == 1 ? "Y" : "IES"))
            .withConfig(QueryConfig.builder().withDatabase("system").build())
            .execute()
            .summary();
        check(server(s).equals(adv[0]) && s.database().name().equals("system")
                && s.queryType() == QueryType.SCHEMA_WRITE && s.counters().systemUpdates() == 1,
            "CREATE DATABASE " + name + " ran on the leader as a schema write",
            server(s) + " " + s.database().name() + " " + s.queryType());
      }
    });

    for (String db : new String[] {"system", "neo4j", "one", "three", null}) {
      String real = db == null ? "neo4j" : db;
      String label = db == null ? "the home database (neo4j)" : db;
      group("database " + label, () -> {
        Set<String>[] want = expected(d, real);
        SessionConfig.Builder sc = SessionConfig.builder();
        if (db != null) {
          sc.withDatabase(db);
        }
        Set<String> readers = new HashSet<>();
        String readQ = db != null && db.equals("system") ? "SHOW SERVERS" : "MATCH (n) RETURN count(n) AS c";
        boolean meta = true;
        for (int i = 0; i < 6; i++) {
          try (Session s = d.session(sc.build())) {
            ResultSummary rs = s.executeRead(tx -> tx.run(readQ).consume());
            readers.add(server(rs));
            meta &= rs.database().name().equals(real) && rs.queryType() == QueryType.READ_ONLY;
          }
        }
        check(!readers.isEmpty() && readers.equals(want[0]),
            label + ": reads go to the readers Neo4j would return", "got " + readers + " want " + want[0]);
        check(meta, label + ": read summaries name the database and type r", "");
        String writeQ = db != null && db.equals("system")
            ? "CREATE ALIAS `jprobe-" + real + "` IF NOT EXISTS FOR DATABASE neo4j"
            : "CREATE (:Probe)";
        try (Session s = d.session(sc.build())) {
          ResultSummary ws = s.executeWrite(tx -> tx.run(writeQ).consume());
          boolean sys = real.equals("system");
          check(want[1].contains(server(ws)) && ws.database().name().equals(real)
                  && ws.queryType() == (sys ? QueryType.SCHEMA_WRITE : QueryType.WRITE_ONLY)
                  && (sys ? ws.counters().systemUpdates() == 1 : ws.counters().nodesCreated() == 1),
              label + ": a write ran on the writer with its counters",
              server(ws) + " " + ws.database().name() + " " + ws.queryType() + " want " + want[1]);
        }
      });
    }

    String[] sid = new String[1];
    group("SHOW commands", () -> {
      List<Record> recs = sys(d, "SHOW SERVERS YIELD serverId, name, address, state, health, hosting, requestedHosting",
          Map.of());
      Set<String> addrs = new HashSet<>();
      boolean ok = recs.size() == 3;
      for (Record r : recs) {
        addrs.add(r.get("address").asString());
        ok &= r.get("state").asString().equals("Enabled") && r.get("health").asString().equals("Available");
      }
      check(ok && addrs.equals(Set.of(adv)) && recs.get(0).keys().equals(
              List.of("serverId", "name", "address", "state", "health", "hosting", "requestedHosting")),
          "SHOW SERVERS YIELD serverId, name, address, state, health, hosting, requestedHosting", recs);
      sid[0] = recs.get(0).get("serverId").asString();
      List<Record> one = sys(d, "SHOW SERVERS YIELD serverId, state, hosting WHERE serverId = $id", Map.of("id", sid[0]));
      check(one.size() == 1 && one.get(0).get("serverId").asString().equals(sid[0]),
          "SHOW SERVERS ... WHERE serverId = $id", one);
      List<Record> unsettled = sys(d, "SHOW DATABASES YIELD name, address, currentStatus, requestedStatus, "
          + "statusMessage WHERE currentStatus <> requestedStatus", Map.of());
      check(unsettled.isEmpty(), "SHOW DATABASES ... WHERE currentStatus <> requestedStatus: settled", unsettled);
      List<Record> w = sys(d, "SHOW DATABASE system YIELD address, writer WHERE writer RETURN address", Map.of());
      check(w.size() == 1 && w.get(0).keys().equals(List.of("address")) && w.get(0).get("address").asString().equals(adv[0]),
          "SHOW DATABASE system YIELD address, writer WHERE writer RETURN address", w);
    });

    group("FAILURE", () -> {
      Neo4jException e = failure(() -> d.executableQuery("RETRUN 1")
          .withConfig(QueryConfig.builder().withDatabase("system").build()).execute());
      check(e != null && e.code().equals("Neo.ClientError.Statement.SyntaxError") && e.gqlStatus().equals("42001")
              && e.statusDescription().startsWith("error: syntax error or access rule violation - invalid syntax")
              && e.classification().orElse(null) == GqlStatusErrorClassification.CLIENT_ERROR
              && e.getMessage().contains("RETRUN"),
          "syntax error: code, GQL status, description, classification, message", describe(e));
      e = failure(() -> d.executableQuery("CREATE DATABASE neo4j")
          .withConfig(QueryConfig.builder().withDatabase("system").build()).execute());
      check(e != null && e.code().equals("Neo.ClientError.Database.ExistingDatabaseFound") && e.gqlStatus().equals("42N11")
              && e.statusDescription().startsWith("error: syntax error or access rule violation - graph reference already exists")
              && e.getMessage().contains("neo4j"),
          "refused admin command (CREATE DATABASE neo4j): ExistingDatabaseFound / 42N11", describe(e));
      e = failure(() -> d.executableQuery("RETURN 1")
          .withConfig(QueryConfig.builder().withDatabase("nosuchdb").build()).execute());
      check(e != null && e.code().equals("Neo.ClientError.Database.DatabaseNotFound") && e.gqlStatus().equals("22N51"),
          "unknown database: DatabaseNotFound / 22N51", describe(e));
      // A write on a follower over bolt://: the Java driver shows the server's NotALeader as is.
      try (Driver direct = GraphDatabase.driver("bolt://" + adv[1], AuthTokens.basic("neo4j", password));
          Session s = direct.session(SessionConfig.forDatabase("system"))) {
        e = failure(() -> s.run("CREATE DATABASE nolead").consume());
      }
      check(e != null && e.code().equals("Neo.ClientError.Cluster.NotALeader") && e.gqlStatus().equals("08N07")
              && e.statusDescription().startsWith("error: connection exception - not the leader")
              && e.classification().orElse(null) == GqlStatusErrorClassification.CLIENT_ERROR
              && e.getMessage().contains("leader"),
          "a write on a follower over bolt://: NotALeader / 08N07", describe(e));
    });

    group("leader change", () -> {
      try {
        check(controlCmd("leader s2").equals("ok"), "control: leader s2", "");
      } catch (Exception ex) {
        throw new RuntimeException(ex);
      }
      List<Throwable> seen = new ArrayList<>();
      try (Session s = d.session(SessionConfig.forDatabase("system"))) {
        ResultSummary rs = s.executeWrite(tx -> {
          try {
            return tx.run("CREATE ALIAS `jafter-switch` IF NOT EXISTS FOR DATABASE neo4j").consume();
          } catch (RuntimeException ex) {
            seen.add(ex);
            throw ex;
          }
        });
        check(seen.size() == 1 && server(rs).equals(adv[2]),
            "after `leader s2` a write fails once on s0, then runs on s2", seen + " " + server(rs));
      }
      // The routing driver turns the server's NotALeader (and only that, or
      // ForbiddenOnReadOnlyDatabase) into this SessionExpiredException, dropping the writer.
      Throwable first = seen.isEmpty() ? null : seen.get(0);
      check(first instanceof SessionExpiredException
              && first.getMessage().equals("Server at " + adv[0] + " no longer accepts writes"),
          "the failed attempt was NotALeader as the driver reports it", describe(first));
    });
  }
}
