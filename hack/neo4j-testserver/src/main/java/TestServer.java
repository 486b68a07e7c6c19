// Neo4j 5.26 Community, embedded, for the neo4j-operator test environment.
//
// Usage:
//   java ... TestServer --home DIR --bolt ADDR:PORT --password-file FILE
//                       [--tls-dir DIR [--tls-optional]] [--http ADDR:PORT]
//                       [--conf FILE] [--min-password-length N]
//
//   --home           database home (created if absent; reused if present)
//   --bolt           Bolt listen (and advertised) address, e.g. 127.0.0.1:26687
//                    or a kwok pod IP such as 127.1.0.7:7687
//   --password-file  the password of user "neo4j" (first line, trimmed);
//                    a file keeps it out of `ps`
//   --tls-dir        directory with private.key and public.crt (PEM): Bolt TLS,
//                    encryption REQUIRED (OPTIONAL with --tls-optional)
//   --http           also start the HTTP connector on ADDR:PORT; GET / answers 200
//                    with the discovery JSON without credentials (the probes' path)
//   --conf           a neo4j.conf (e.g. a pod's rendered one), validated as the real
//                    server does: server.config.strict_validation.enabled defaults to
//                    true, so a key this Community build does not declare (a typo, an
//                    Enterprise or plugin setting) or a key given twice ends the start
//                    with exit 1 and Neo4j's own message ("Unrecognized setting. No
//                    declared setting with name: KEY", "KEY declared multiple times")
//                    before READY. The flags above win over the file: listen and
//                    advertised addresses, auth, HTTPS off, page cache 64 MiB; the heap
//                    (server.memory.heap.*) is the JVM's, set by `run`.
//                    (tests/env/test_testserver_conf.py)
//   --initial-password  set the password only in a new store, before Bolt/HTTP listen
//                    (the image's set-initial-password); an existing store keeps its own
//
// Prints exactly "READY <addr>:<port>" (the --bolt value) on stdout once Bolt
// accepts TCP connections and the password is set. SIGTERM/SIGINT shut the DBMS
// down cleanly ("STOPPED" on stdout).
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import java.time.Duration;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.configuration.ssl.ClientAuth;
import org.neo4j.configuration.ssl.SslPolicyConfig;
import org.neo4j.configuration.ssl.SslPolicyScope;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.io.ByteUnit;

public final class TestServer {
    private static void usage(String msg) {
        System.err.println("TestServer: " + msg);
        System.err.println("usage: TestServer --home DIR --bolt ADDR:PORT --password-file FILE"
                + " [--tls-dir DIR [--tls-optional]] [--http ADDR:PORT] [--conf FILE]"
                + " [--min-password-length N] [--initial-password]");
        System.exit(2);
    }

    private static SocketAddress parseAddress(String flag, String v) {
        int i = v.lastIndexOf(':');
        if (i <= 0 || i == v.length() - 1) {
            usage(flag + " wants ADDR:PORT, got " + v);
        }
        try {
            return new SocketAddress(v.substring(0, i), Integer.parseInt(v.substring(i + 1)));
        } catch (NumberFormatException e) {
            usage(flag + ": bad port in " + v);
            return null;
        }
    }

    private static void waitForListener(SocketAddress a, long timeoutMillis) throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        IOException last = null;
        while (System.currentTimeMillis() < deadline) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(a.getHostname(), a.getPort()), 1000);
                return;
            } catch (IOException e) {
                last = e;
                Thread.sleep(100);
            }
        }
        throw new IOException("Bolt not accepting on " + a + " after " + timeoutMillis + " ms", last);
    }

    private static Path emptyDir(Path p) throws IOException {
        Files.createDirectories(p);
        return p;
    }

    public static void main(String[] argv) {
        try {
            run(argv);
        } catch (Throwable t) {
            System.err.println("TestServer: failed: " + t);
            t.printStackTrace();
            System.exit(1); // runs the shutdown hook; DBMS threads would keep the JVM alive
        }
    }

    private static void run(String[] argv) throws Exception {
        Map<String, String> o = new HashMap<>();
        List<String> valued = List.of("--home", "--bolt", "--password-file", "--tls-dir", "--http", "--conf",
                "--min-password-length");
        for (int i = 0; i < argv.length; i++) {
            String k = argv[i];
            if (k.equals("--tls-optional") || k.equals("--initial-password")) {
                o.put(k, "true");
            } else if (valued.contains(k) && i + 1 < argv.length) {
                o.put(k, argv[++i]);
            } else {
                usage("unknown or incomplete argument " + k);
            }
        }
        for (String req : List.of("--home", "--bolt", "--password-file")) {
            if (!o.containsKey(req)) {
                usage("missing " + req);
            }
        }
        Path home = Path.of(o.get("--home")).toAbsolutePath();
        String boltText = o.get("--bolt");
        SocketAddress bolt = parseAddress("--bolt", boltText);
        String password = Files.readAllLines(Path.of(o.get("--password-file"))).stream()
                .findFirst().orElse("").strip();
        if (password.isEmpty()) {
            usage("empty password file");
        }
        Files.createDirectories(home);

        DatabaseManagementServiceBuilder b = new DatabaseManagementServiceBuilder(home);
        if (o.containsKey("--conf")) {
            b.loadPropertiesFromFile(Path.of(o.get("--conf")));
        }
        b.setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.udc_enabled, false) // usage reporting is on by default
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(64))
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(bolt.getHostname()))
                .setConfig(GraphDatabaseSettings.default_advertised_address, new SocketAddress(bolt.getHostname()))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(HttpsConnector.enabled, false)
                // Fast SIGTERM: netty's 5 s quiet period dominated shutdown (internal settings).
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_timeout, Duration.ofSeconds(3));
        if (o.containsKey("--min-password-length")) {
            b.setConfig(GraphDatabaseSettings.auth_minimum_password_length,
                    Integer.parseInt(o.get("--min-password-length")));
        }
        if (o.containsKey("--http")) {
            SocketAddress http = parseAddress("--http", o.get("--http"));
            b.setConfig(HttpConnector.enabled, true)
                    .setConfig(HttpConnector.listen_address, http)
                    .setConfig(HttpConnector.advertised_address, http);
        } else {
            b.setConfig(HttpConnector.enabled, false);
        }
        if (o.containsKey("--tls-dir")) {
            Path dir = Path.of(o.get("--tls-dir")).toAbsolutePath();
            for (String f : List.of("private.key", "public.crt")) {
                if (!Files.isRegularFile(dir.resolve(f))) {
                    usage("--tls-dir " + dir + " lacks " + f);
                }
            }
            SslPolicyConfig p = SslPolicyConfig.forScope(SslPolicyScope.BOLT);
            Path trusted = Files.isDirectory(dir.resolve("trusted")) ? dir.resolve("trusted")
                    : emptyDir(home.resolve("tls/trusted"));
            Path revoked = Files.isDirectory(dir.resolve("revoked")) ? dir.resolve("revoked")
                    : emptyDir(home.resolve("tls/revoked"));
            b.setConfig(p.enabled, true)
                    .setConfig(p.base_directory, dir)
                    .setConfig(p.private_key, dir.resolve("private.key"))
                    .setConfig(p.public_certificate, dir.resolve("public.crt"))
                    .setConfig(p.trusted_dir, trusted)
                    .setConfig(p.revoked_dir, revoked)
                    .setConfig(p.client_auth, ClientAuth.NONE)
                    .setConfig(BoltConnector.encryption_level, o.containsKey("--tls-optional")
                            ? BoltConnector.EncryptionLevel.OPTIONAL
                            : BoltConnector.EncryptionLevel.REQUIRED);
        }

        // --initial-password: what the image's `neo4j-admin dbms set-initial-password` does. The
        // password is set only in a new store, before any connector listens (no client can
        // log in with the default one meanwhile), and an existing store keeps its own.
        boolean initialOnly = o.containsKey("--initial-password");
        boolean fresh = !Files.isDirectory(home.resolve("data/databases/system"));
        if (initialOnly && fresh) {
            b.setConfig(BoltConnector.enabled, false).setConfig(HttpConnector.enabled, false);
            DatabaseManagementService pre = b.build();
            try {
                pre.database("system").executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $p CHANGE NOT REQUIRED", Map.of("p", password));
            } finally {
                pre.shutdown();
            }
            b.setConfig(BoltConnector.enabled, true).setConfig(HttpConnector.enabled, o.containsKey("--http"));
        }
        DatabaseManagementService dbms = b.build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                dbms.shutdown();
                System.out.println("STOPPED");
            } catch (Throwable t) {
                System.err.println("TestServer: shutdown failed: " + t);
            }
            System.out.flush();
        }, "testserver-shutdown"));

        try {
            if (!initialOnly) {
                dbms.database("system").executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $p CHANGE NOT REQUIRED", Map.of("p", password));
            }
        } catch (RuntimeException e) {
            // A reused home already holds this password: Neo4j refuses "the same" password.
            String m = String.valueOf(e.getMessage());
            if (!m.contains("same")) {
                throw e;
            }
        }
        waitForListener(bolt, 60_000);
        System.out.println("READY " + boltText);
        System.out.flush();
        Thread.currentThread().join();
    }
}
