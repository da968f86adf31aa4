package io.vqstream.jobs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.kafka.EmbeddedKafkaExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance scenario: the quantize job with {@code --exactly-once} as its own JVM (as
 * {@code bin/vqstream} starts it), killed with SIGKILL while input keeps coming, restarted with
 * {@code --restore-from DIR/<job-id>/chk-N}: a {@code read_committed} reader sees every input
 * exactly once, coded with the codebook version its key had reached (keyed state restored).
 * Then SIGTERM stops the restarted job within 10 s.
 */
class HardKillRecoveryITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> KEYS = List.of("k0", "k1", "k2", "k3");
    /** Rounds (one record per key) produced after the restarted job is up, so that it has input of its own. */
    private static final int ROUNDS_AFTER_RESTART = 100;
    private static final int MAX_ROUNDS = 20_000;
    private static final int BATCH = 10;
    private static final Pattern RUNNING = Pattern.compile("vqstream: job ([0-9a-f]{32}) running");
    /** The JVM options of bin/vqstream. */
    private static final List<String> JVM_OPTIONS = List.of(
            "-Xmx768m", "--add-modules=jdk.incubator.vector",
            "-Dorg.bytedeco.javacpp.maxPhysicalBytes=0", "-Dorg.bytedeco.javacpp.maxBytes=0",
            "--add-opens=java.base/java.lang=ALL-UNNAMED", "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED", "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED", "--add-opens=java.base/java.text=ALL-UNNAMED",
            "--add-opens=java.base/java.time=ALL-UNNAMED", "--add-opens=java.base/java.math=ALL-UNNAMED");

    /**
     * Event times near now: the codes carry them as Kafka record timestamps, and the broker's time
     * retention (7 days) would delete records stamped further in the past while the test reads them.
     */
    private static final long T0 = System.currentTimeMillis();

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @TempDir
    Path dir;

    private final List<Process> children = new ArrayList<>();

    @AfterEach
    void killLeftovers() throws Exception {
        for (Process p : children) {
            if (p.isAlive()) {
                ChildJvm.kill(p);
            }
        }
    }

    /** A child JVM running {@code vqstream args...}, its stdout and stderr going to {@code log}. */
    private Process vqstream(Path log, String... args) throws IOException {
        // a SIGKILLed child cannot remove its temp files: keep them where this test JVM keeps its own
        Process p = ChildJvm.start(JVM_OPTIONS, Path.of(System.getProperty("java.io.tmpdir")), log, args);
        children.add(p);
        return p;
    }

    /** Waits for the child to print its job id; fails with its log if it ends or takes too long. */
    private static String jobId(Process p, Path log) throws Exception {
        Await.until("the job running", Duration.ofSeconds(90), () -> {
            if (!p.isAlive()) {
                fail("vqstream ended with exit code " + p.exitValue() + " before its job ran:\n" + ChildJvm.tail(log));
            }
            return Files.exists(log) && RUNNING.matcher(Files.readString(log)).find();
        }, () -> ChildJvm.tail(log));
        return RUNNING.matcher(Files.readString(log)).results().findFirst().orElseThrow().group(1);
    }

    /** The newest complete checkpoint, DIR/<job-id>/chk-N with a _metadata file. */
    private static Optional<Path> newestCheckpoint(Path jobDir) throws IOException {
        if (!Files.isDirectory(jobDir)) {
            return Optional.empty();
        }
        try (Stream<Path> s = Files.list(jobDir)) {
            return s.filter(p -> p.getFileName().toString().matches("chk-\\d+") && Files.exists(p.resolve("_metadata")))
                    .max(Comparator.comparingLong(p -> Long.parseLong(p.getFileName().toString().substring(4))));
        }
    }

    private static int checkpointNumber(Path chk) {
        return Integer.parseInt(chk.getFileName().toString().substring(4));
    }

    private static ProducerRecord<byte[], byte[]> vector(String key, int seq) {
        double a = Math.sin(seq * 0.37 + key.hashCode());
        double b = Math.cos(seq * 0.11 - key.hashCode());
        String json = "{\"key\":\"" + key + "\",\"seq\":" + seq + ",\"ts\":" + (T0 + seq) + ",\"vector\":[" + a + "," + b
                + "," + (a * b) + "," + (a - b) + "]}";
        return new ProducerRecord<>("hk-vectors", key.getBytes(UTF_8), json.getBytes(UTF_8));
    }

    @Test
    void killedHardAndRestoredFromItsLastCheckpointLosesAndDuplicatesNothing() throws Exception {
        KAFKA.broker().createTopic("hk-vectors", 2);
        Path cfg = dir.resolve("learn.yaml");
        Files.writeString(cfg, """
                quantizer:
                  type: VectorQuantize
                  dim: 4
                  codebook_size: 16
                  decay: 0.9
                learn: true
                seed: 3
                batch:
                  size: 10
                  max-delay: 50ms
                """);
        Path checkpoints = dir.resolve("checkpoints");
        String[] common = {"quantize", "--config", cfg.toString(), "--bootstrap-servers", KAFKA.broker().bootstrapServers(),
            "--input-topic", "hk-vectors", "--output-topic", "hk-codes", "--dead-letter-topic", "hk-dead",
            "--exactly-once", "--checkpoint-dir", checkpoints.toString(), "--checkpoint-interval", "500"};

        // a first round of input is there before the job starts (it reads from the earliest offset)
        List<ProducerRecord<byte[], byte[]>> firstRound = new ArrayList<>();
        for (int seq = 0; seq < 20; seq++) {
            for (String k : KEYS) {
                firstRound.add(vector(k, seq));
            }
        }
        KAFKA.broker().produce(firstRound);

        Path log1 = dir.resolve("first.log");
        Process first = vqstream(log1, common);
        String jobId = jobId(first, log1);
        Path jobDir = checkpoints.resolve(jobId);

        // the rest comes continuously (a round every 20 ms), through the kill and the restart, until told to stop
        AtomicInteger produced = new AtomicInteger(20);
        AtomicInteger stopAt = new AtomicInteger(MAX_ROUNDS);
        AtomicReference<Throwable> producerError = new AtomicReference<>();
        Thread producer = new Thread(() -> {
            try {
                for (int seq = 20; seq < stopAt.get(); seq++) {
                    List<ProducerRecord<byte[], byte[]>> round = new ArrayList<>();
                    for (String k : KEYS) {
                        round.add(vector(k, seq));
                    }
                    KAFKA.broker().produce(round);
                    produced.set(seq + 1);
                    Thread.sleep(20);
                }
            } catch (Throwable t) {
                producerError.set(t);
            }
        }, "hk-producer");
        producer.setDaemon(true);
        producer.start();

        // kill once a few checkpoints are complete and some output is committed
        Await.until("three checkpoints and committed output", Duration.ofSeconds(120), () -> {
            assertTrue(first.isAlive(), "the job died:\n" + ChildJvm.tail(log1));
            Optional<Path> chk = newestCheckpoint(jobDir);
            return chk.isPresent() && checkpointNumber(chk.get()) >= 3 && !KAFKA.broker().readAll("hk-codes", true).isEmpty();
        }, () -> "checkpoints in " + jobDir + ":\n" + ChildJvm.tail(log1));
        ChildJvm.kill(first);
        int committedAtKill = KAFKA.broker().readAll("hk-codes", true).size();
        assertTrue(committedAtKill > 0, "committed before the kill: " + committedAtKill);

        Path restoreFrom = newestCheckpoint(jobDir).orElseThrow();
        Path log2 = dir.resolve("second.log");
        String[] restart = Stream.concat(Stream.of(common), Stream.of("--restore-from", restoreFrom.toString())).toArray(String[]::new);
        Process second = vqstream(log2, restart);
        jobId(second, log2);

        // input keeps coming for a while after the restart, then stops
        stopAt.set(produced.get() + ROUNDS_AFTER_RESTART);
        producer.join(TimeUnit.SECONDS.toMillis(120));
        assertTrue(producerError.get() == null, "producer: " + producerError.get());
        assertTrue(!producer.isAlive() && produced.get() < MAX_ROUNDS, "the producer stopped after " + produced.get() + " rounds");
        int rounds = produced.get();
        int total = rounds * KEYS.size();
        List<ConsumerRecord<byte[], byte[]>> codes = List.of();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline) {
            codes = KAFKA.broker().readAll("hk-codes", true);
            if (codes.size() >= total) {
                break;
            }
            assertTrue(second.isAlive(), "the restored job died:\n" + ChildJvm.tail(log2));
            Thread.sleep(250);
        }

        // every (key, seq) exactly once, with the codebook version its key had reached
        Map<String, Integer> seen = new HashMap<>();
        List<String> wrongVersion = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : codes) {
            JsonNode n = JSON.readTree(r.value());
            String key = n.get("key").asText();
            long seq = n.get("seq").asLong();
            assertEquals(key, new String(r.key(), UTF_8));
            seen.merge(key + "#" + seq, 1, Integer::sum);
            // one EMA step per 10 records of a key: a restart from scratch would start again at version 1
            long version = n.get("codebook_version").asLong();
            if (version != 1 + seq / BATCH) {
                wrongVersion.add(key + "#" + seq + " version " + version);
            }
            JsonNode c = n.get("codes");
            assertTrue(c.isArray() && c.size() == 1 && c.get(0).asLong() >= 0 && c.get(0).asLong() < 16, n.toString());
        }
        List<String> missing = new ArrayList<>();
        List<String> duplicated = new ArrayList<>();
        for (String k : KEYS) {
            for (int seq = 0; seq < rounds; seq++) {
                Integer count = seen.get(k + "#" + seq);
                if (count == null) {
                    missing.add(k + "#" + seq);
                } else if (count > 1) {
                    duplicated.add(k + "#" + seq + " x" + count);
                }
            }
        }
        String context = "restored from " + restoreFrom.getFileName() + ", " + committedAtKill + " records committed at the kill, "
                + codes.size() + " committed now (" + KAFKA.broker().readAll("hk-codes", false).size() + " written), "
                + missing.size() + " missing, " + duplicated.size() + " duplicated" + (missing.isEmpty() ? "" : ", e.g. " + missing.get(0))
                + (duplicated.isEmpty() ? "" : ", e.g. " + duplicated.get(0));
        assertTrue(missing.isEmpty() && duplicated.isEmpty(), context + "\nfirst run:\n" + ChildJvm.tail(log1) + "\nrestored run:\n" + ChildJvm.tail(log2));
        assertEquals(total, codes.size(), context);
        assertEquals(List.of(), wrongVersion.subList(0, Math.min(10, wrongVersion.size())), "keyed state restored: " + context);
        assertTrue(KAFKA.broker().readAll("hk-dead", true).isEmpty(), "no dead letters");

        // caught up, the job keeps running; SIGTERM stops it within 10 s
        assertTrue(second.isAlive(), ChildJvm.tail(log2));
        long t0 = System.nanoTime();
        second.destroy();
        boolean ended = second.waitFor(10, TimeUnit.SECONDS);
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(ended, "vqstream still running 10 s after SIGTERM:\n" + ChildJvm.tail(log2));
        assertTrue(Files.readString(log2).contains("vqstream: stopping job"), "stopped by its shutdown hook after " + millis + " ms:\n"
                + ChildJvm.tail(log2));
        assertNotNull(newestCheckpoint(checkpoints.resolve(RUNNING.matcher(Files.readString(log2)).results().findFirst()
                .orElseThrow().group(1))).orElse(null), "the restored job checkpoints into DIR/<its job id>");
    }
}
