// The Java driver side of bench/bolt: the same workloads as bench_bolt.c.
// Usage: BoltBench URI USER PASSWORD_FILE CONNECTS PULLS STARTUPS
//   STARTUPS: runs of the driver start-up figure (a new Driver per round trip)
// Fetch size: all records in one PULL (-1), as the C client's n4j_bolt_query does; the
// driver's default (1000 per PULL) would add nine round trips to the 10,000-row PULL.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.ConnectionPoolMetrics;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Logging;
import org.neo4j.driver.Record;
import org.neo4j.driver.Session;
import org.neo4j.driver.SessionConfig;

public class BoltBench {
    static long created(Driver d) {
        long n = 0;
        for (ConnectionPoolMetrics m : d.metrics().connectionPoolMetrics()) n += m.created();
        return n;
    }

    public static void main(String[] a) throws Exception {
        String uri = a[0], user = a[1];
        String pw = Files.readString(Path.of(a[2])).strip();
        int connects = Integer.parseInt(a[3]), pulls = Integer.parseInt(a[4]);
        final long fetch = -1; // PULL {n: -1}, as n4j_bolt_query
        int startups = Integer.parseInt(a[5]);
        Config cfg = Config.builder().withLogging(Logging.javaUtilLogging(Level.WARNING))
                .withFetchSize(fetch).build();

        // connect + authenticate + RETURN 1 + close: one Driver whose pool never reuses a
        // connection (1 ms lifetime), so each run opens and authenticates a new one. Each
        // run is timed on its own; the pause that outlives the lifetime is outside the
        // timed window (nothing is subtracted). The pool's own counter proves that every
        // run opened a connection.
        Config fresh = Config.builder().withLogging(Logging.javaUtilLogging(Level.WARNING))
                .withFetchSize(fetch).withDriverMetrics()
                .withMaxConnectionLifetime(1, TimeUnit.MILLISECONDS).build();
        double connectMs;
        try (Driver d = GraphDatabase.driver(uri, AuthTokens.basic(user, pw), fresh)) {
            int warm = Math.max(20, connects / 5);
            long timed = 0;
            for (int i = 0; i < warm + connects; i++) {
                Thread.sleep(2); // the previous connection is now past its lifetime
                long t = System.nanoTime();
                try (Session s = d.session(SessionConfig.forDatabase("neo4j"))) {
                    s.run("RETURN 1").consume();
                }
                if (i >= warm) timed += System.nanoTime() - t;
            }
            connectMs = timed / 1e6 / connects;
            long made = created(d);
            if (made < warm + connects)
                throw new IllegalStateException("only " + made + " connections for "
                        + (warm + connects) + " runs: the pool reused some");
        }

        // Driver start-up: a new Driver (and its connection) per round trip, what a one-shot
        // Java tool pays. Not comparable with the C client, which has no driver to start.
        Runnable once = () -> {
            try (Driver d = GraphDatabase.driver(uri, AuthTokens.basic(user, pw), cfg);
                 Session s = d.session(SessionConfig.forDatabase("neo4j"))) {
                s.run("RETURN 1").consume();
            }
        };
        for (int i = 0; i < Math.max(5, startups / 5); i++) once.run();
        long t0 = System.nanoTime();
        for (int i = 0; i < startups; i++) once.run();
        double startupMs = (System.nanoTime() - t0) / 1e6 / startups;

        // 10,000-row PULL on one open session, FETCH records per PULL
        try (Driver d = GraphDatabase.driver(uri, AuthTokens.basic(user, pw), cfg);
             Session s = d.session(SessionConfig.forDatabase("neo4j"))) {
            String q = "UNWIND range(1, 10000) AS i RETURN i";
            for (int i = 0; i < Math.max(5, pulls / 4); i++) s.run(q).list();
            long t1 = System.nanoTime();
            long sum = 0;
            for (int i = 0; i < pulls; i++) {
                List<Record> rows = s.run(q).list();
                if (rows.size() != 10000) throw new IllegalStateException("rows " + rows.size());
                sum += rows.get(9999).get(0).asLong();
            }
            double pullMs = (System.nanoTime() - t1) / 1e6 / pulls;
            System.out.printf("java connect_ms=%.3f pull10k_ms=%.3f driver_startup_ms=%.3f fetch=%d check=%d%n",
                    connectMs, pullMs, startupMs, fetch, sum);
        }
    }
}
