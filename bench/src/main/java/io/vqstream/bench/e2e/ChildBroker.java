package io.vqstream.bench.e2e;

import io.vqstream.connectors.kafka.EmbeddedKafka;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A one-node Kafka broker ({@link EmbeddedKafka}: KRaft, combined broker and controller, on
 * 127.0.0.1) in a child JVM, so that the job's JVM holds the job only: its heap, direct buffers
 * and resident memory are what the reports show. The child's logs go to {@code broker.log} in its
 * own temporary directory, which is deleted when the broker stops. The child exits (and deletes
 * that directory) when its standard input closes, so it never outlives this JVM.
 */
final class ChildBroker implements AutoCloseable {
    private final Process process;
    private final Path dir;
    private final String bootstrapServers;

    private ChildBroker(Process process, Path dir, String bootstrapServers) {
        this.process = process;
        this.dir = dir;
        this.bootstrapServers = bootstrapServers;
    }

    /** Starts the broker child and waits (at most 120 s) until it accepts clients. */
    static ChildBroker start(String heap) throws Exception {
        Path dir = Files.createTempDirectory("vq-bench-broker");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        cmd.add("-Djava.io.tmpdir=" + dir);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(Main.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.redirectError(dir.resolve("broker.log").toFile());
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("BOOTSTRAP ")) {
                System.err.printf("kafka broker (child JVM, pid %d) at %s%n", p.pid(), line.substring(10));
                return new ChildBroker(p, dir, line.substring(10).trim());
            }
            if (System.nanoTime() > deadline) {
                break;
            }
        }
        p.destroyForcibly();
        String log = Files.exists(dir.resolve("broker.log")) ? Files.readString(dir.resolve("broker.log")) : "";
        deleteTree(dir);
        throw new IllegalStateException("the Kafka broker child did not start; its log ends with:\n"
                + log.substring(Math.max(0, log.length() - 3000)));
    }

    String bootstrapServers() {
        return bootstrapServers;
    }

    long pid() {
        return process.pid();
    }

    @Override
    public void close() throws Exception {
        try {
            process.getOutputStream().close();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        } finally {
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }

    /** The child: starts the broker, prints {@code BOOTSTRAP host:port}, runs until stdin closes. */
    public static final class Main {
        private Main() {}

        public static void main(String[] args) throws Exception {
            E2e.quietLogs();
            try (EmbeddedKafka kafka = EmbeddedKafka.start(Map.of(
                    // the brokers' default of one partition is what topics get unless the harness says otherwise
                    "log.retention.check.interval.ms", "60000"))) {
                System.out.println("BOOTSTRAP " + kafka.bootstrapServers());
                System.out.flush();
                while (System.in.read() != -1) {
                    // wait for the parent to close our stdin (or to die)
                }
            } finally {
                // the broker's data and log: this JVM's temporary directory, made for it by the parent
                deleteTree(Path.of(System.getProperty("java.io.tmpdir")));
            }
            System.exit(0);
        }
    }
}
