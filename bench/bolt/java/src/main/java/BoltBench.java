// The Java driver side of bench/bolt: the same two workloads as bench_bolt.c.
// Usage: BoltBench URI USER PASSWORD_FILE CONNECTS PULLS
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.logging.Level;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Config;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Logging;
import org.neo4j.driver.Record;
import org.neo4j.driver.Session;
import org.neo4j.driver.SessionConfig;

public class BoltBench {
    public static void main(String[] a) throws Exception {
        String uri = a[0], user = a[1];
        String pw = Files.readString(Path.of(a[2])).strip();
        int connects = Integer.parseInt(a[3]), pulls = Integer.parseInt(a[4]);
        Config cfg = Config.builder().withLogging(Logging.javaUtilLogging(Level.WARNING)).build();
        // connect + authenticate + RETURN 1 + close: a fresh driver (its own connection)
        // each time, after a warm-up so the JIT is not measured.
        Runnable once = () -> {
            try (Driver d = GraphDatabase.driver(uri, AuthTokens.basic(user, pw), cfg);
                 Session s = d.session(SessionConfig.forDatabase("neo4j"))) {
                s.run("RETURN 1").consume();
            }
        };
        for (int i = 0; i < Math.max(20, connects / 5); i++) once.run();
        long t0 = System.nanoTime();
        for (int i = 0; i < connects; i++) once.run();
        double connectMs = (System.nanoTime() - t0) / 1e6 / connects;
        // the same without the driver's own start-up and shutdown: one Driver whose pool
        // never reuses a connection (1 ms lifetime), so each run opens and authenticates
        Config fresh = Config.builder().withLogging(Logging.javaUtilLogging(Level.WARNING))
                .withMaxConnectionLifetime(1, java.util.concurrent.TimeUnit.MILLISECONDS).build();
        double freshMs;
        try (Driver d = GraphDatabase.driver(uri, AuthTokens.basic(user, pw), fresh)) {
            Runnable one = () -> {
                try (Session s = d.session(SessionConfig.forDatabase("neo4j"))) {
                    s.run("RETURN 1").consume();
                }
                try {
                    Thread.sleep(2); // outlive the 1 ms lifetime: the next run reconnects
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            };
            for (int i = 0; i < Math.max(20, connects / 5); i++) one.run();
            long t2 = System.nanoTime();
            for (int i = 0; i < connects; i++) one.run();
            freshMs = (System.nanoTime() - t2) / 1e6 / connects - 2.0;
        }
        // 10,000-row PULL on one open session
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
            System.out.printf("java connect_ms=%.3f connect_in_driver_ms=%.3f pull10k_ms=%.3f check=%d%n",
                    connectMs, freshMs, pullMs, sum);
        }
    }
}
