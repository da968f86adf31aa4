package io.vqstream.jobs;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vqstream.connectors.kafka.EmbeddedKafkaExtension;
import io.vqstream.jobs.cluster.StandaloneCluster;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quantize job on a real standalone cluster ({@code vqstream cluster}: a JobManager and
 * TaskManagers as separate JVMs, the shaded job jar uploaded with each submission) against a
 * real Kafka broker: 3 TaskManagers x 2 slots, {@code quantize --exactly-once} at parallelism 4
 * over 50 keys x 400 records plus malformed records. After two completed checkpoints one
 * TaskManager gets SIGKILL and a replacement is started; the job recovers by its restart
 * strategy; it is then stopped with a savepoint and resubmitted from it at parallelism 2, which
 * reads the rest of the input.
 *
 * <p>Checked: with read_committed every (key, seq) is coded exactly once, every malformed record
 * is a dead letter exactly once, the codes and the final codebooks are bit-identical to a
 * failure-free embedded run over the same records, the TaskManagers ran the Vector API kernels,
 * a TaskManager's Prometheus endpoint serves the vqstream metrics, and {@code cluster stop}
 * leaves no process and only logs, checkpoints and savepoints behind.
 *
 * <p>Runs after {@code package} (it needs the job jar): {@code mvn -pl jobs surefire:test@cluster-itcase}.
 */
class StandaloneClusterRecoveryITCase {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int KEYS = 50;
    private static final int RECORDS_PER_KEY = 400;
    /** Input before the first submission, then while the kill happens, then after the rescale. */
    private static final int PHASE_A = 120;
    private static final int PHASE_B = 280;
    private static final int DIM = 8;
    private static final long T0 = System.currentTimeMillis();
    private static final String IN = "cr-vectors";
    private static final String CODES = "cr-codes";
    private static final String DEAD = "cr-dead";
    private static final String CODEBOOKS = "cr-codebooks";
    /**
     * A control topic (left empty): without one the job's control input is an empty source that
     * finishes at once, and a checkpoint or savepoint triggered while a restarted copy of it is
     * finishing can fail with "checkpoint request for unknown task".
     */
    private static final String CONTROL = "cr-control";

    @RegisterExtension
    static final EmbeddedKafkaExtension KAFKA = new EmbeddedKafkaExtension();

    @TempDir
    Path tmp;

    private Path clusterDir;

    @AfterEach
    void stopClusterLeftOver() throws Exception {
        if (clusterDir != null && Files.exists(clusterDir.resolve("cluster.properties"))) {
            StandaloneCluster.attach(clusterDir).stop();
        }
    }

    private static String key(int k) {
        return "key-" + k;
    }

    private static String vectorJson(int k, int seq) {
        StringBuilder v = new StringBuilder();
        for (int d = 0; d < DIM; d++) {
            double x = Math.sin(seq * 0.37 + k * 1.3 + d * 0.71) + 0.5 * Math.cos(seq * 0.05 * (d + 1) - k);
            v.append(d == 0 ? "" : ",").append((float) x);
        }
        return "{\"key\":\"" + key(k) + "\",\"seq\":" + seq + ",\"ts\":" + (T0 + seq) + ",\"vector\":[" + v + "]}";
    }

    /** Malformed input of a phase: broken JSON for some keys, a vector of the wrong dimension for others. */
    private static List<String> malformed(char phase) {
        List<String> bad = new ArrayList<>();
        for (int k = 0; k < KEYS; k += 10) {
            bad.add("{\"key\":\"" + key(k) + "\",\"seq\":\"broken-" + phase + k + "\",\"vector\":[1,2");
            bad.add("{\"key\":\"" + key(k + 5) + "\",\"seq\":" + (9000 + k) + ",\"vector\":[1.0,2.0,3.0],\"note\":\"" + phase + "\"}");
        }
        return bad;
    }

    private static String keyOf(String json) {
        int i = json.indexOf("\"key\":\"") + 7;
        return json.substring(i, json.indexOf('"', i));
    }

    /** Round {@code seq} of every key, plus that phase's malformed records at the round's start. */
    private static List<String> round(int seq, List<String> bad) {
        List<String> lines = new ArrayList<>(bad);
        for (int k = 0; k < KEYS; k++) {
            lines.add(vectorJson(k, seq));
        }
        return lines;
    }

    private static void produce(List<String> lines) throws Exception {
        List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
        for (String l : lines) {
            records.add(new ProducerRecord<>(IN, keyOf(l).getBytes(UTF_8), l.getBytes(UTF_8)));
        }
        KAFKA.broker().produce(records);
    }

    private static JsonNode rest(StandaloneCluster c, String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create("http://" + c.restAddress() + path)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), path + ": " + r.body());
        return JSON.readTree(r.body());
    }

    private static String httpGet(String url) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** {@link Await#until} that reports the job's state, checkpoint counts and latest exceptions when it times out. */
    private static void awaitJob(StandaloneCluster c, String jobId, String what, Duration timeout, Await.Condition check) throws Exception {
        try {
            Await.until(what, timeout, check);
        } catch (AssertionError e) {
            String state;
            try {
                JsonNode job = rest(c, "/jobs/" + jobId);
                StringBuilder b = new StringBuilder("job " + job.path("state").asText());
                for (JsonNode v : job.path("vertices")) {
                    b.append("\n  ").append(v.path("name").asText()).append(" p=").append(v.path("parallelism").asInt()).append(' ')
                            .append(v.path("tasks"));
                }
                b.append("\ncheckpoints ").append(rest(c, "/jobs/" + jobId + "/checkpoints").path("counts"));
                b.append("\nexceptions ").append(rest(c, "/jobs/" + jobId + "/exceptions").toString(), 0,
                        Math.min(3000, rest(c, "/jobs/" + jobId + "/exceptions").toString().length()));
                b.append("\ntaskmanagers ").append(c.taskManagerIds());
                state = b.toString();
            } catch (Exception x) {
                state = "(no job state: " + x + ")";
            }
            throw new AssertionError(e.getMessage() + "\n" + state + "\nlogs in " + c.dir().resolve("logs"), e);
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(f);
            }
        }
    }

    /** Whether the job is RUNNING and every subtask of it RUNNING or FINISHED (the empty control source ends at once). */
    private static boolean allRunning(StandaloneCluster c, String jobId) throws Exception {
        JsonNode job = rest(c, "/jobs/" + jobId);
        if (!"RUNNING".equals(job.path("state").asText())) {
            return false;
        }
        for (JsonNode v : job.path("vertices")) {
            JsonNode counts = v.path("tasks");
            if (counts.path("RUNNING").asInt() + counts.path("FINISHED").asInt() != v.path("parallelism").asInt()) {
                return false;
            }
        }
        return true;
    }

    /** The TaskManagers (resource ids) running a subtask of the job's vertex whose name contains {@code part}, or of any vertex. */
    private static Set<String> taskManagersOf(StandaloneCluster c, String jobId, String part) throws Exception {
        Set<String> tms = new LinkedHashSet<>();
        for (JsonNode v : rest(c, "/jobs/" + jobId).path("vertices")) {
            if (part != null && !v.path("name").asText().contains(part)) {
                continue;
            }
            for (JsonNode tm : rest(c, "/jobs/" + jobId + "/vertices/" + v.path("id").asText() + "/taskmanagers").path("taskmanagers")) {
                tms.add(tm.path("taskmanager-id").asText());
            }
        }
        return tms;
    }

    private static String checkpointSummary(StandaloneCluster c, String jobId) throws Exception {
        JsonNode cp = rest(c, "/jobs/" + jobId + "/checkpoints");
        List<String> rows = new ArrayList<>();
        for (JsonNode h : cp.path("history")) {
            if ("COMPLETED".equals(h.path("status").asText())) {
                rows.add((h.path("is_savepoint").asBoolean() ? "savepoint " : "chk-") + h.path("id").asText() + " "
                        + h.path("state_size").asLong() + " B full, " + h.path("checkpointed_size").asLong() + " B written, "
                        + h.path("end_to_end_duration").asLong() + " ms");
            }
        }
        return "completed " + cp.path("counts").path("completed").asInt() + ", failed " + cp.path("counts").path("failed").asInt()
                + ", restored " + cp.path("counts").path("restored").asInt() + ": " + String.join("; ", rows);
    }

    @Test
    void killedTaskManagerRecoversAndRescaledJobFinishesWithNothingLostOrDuplicated() throws Exception {
        Path jobJar = Path.of(System.getProperty("vqstream.job-jar", "target/vqstream-jobs.jar")).toAbsolutePath();
        assertTrue(Files.isRegularFile(jobJar), "the shaded job jar (mvn -pl jobs package) at " + jobJar);
        System.setProperty("vqstream.job-jar", jobJar.toString());

        Path cfg = tmp.resolve("quantize.yaml");
        Files.writeString(cfg, """
                quantizer:
                  type: VectorQuantize
                  dim: 8
                  codebook_size: 32
                  decay: 0.9
                learn: true
                seed: 11
                batch:
                  size: 20
                  max-delay: 50ms
                """);

        // the whole input, in the order each key's records reach Kafka
        List<String> phaseA = new ArrayList<>();
        List<String> phaseB = new ArrayList<>();
        List<String> phaseC = new ArrayList<>();
        for (int seq = 0; seq < RECORDS_PER_KEY; seq++) {
            List<String> target = seq < PHASE_A ? phaseA : seq < PHASE_B ? phaseB : phaseC;
            char phase = seq < PHASE_A ? 'a' : seq < PHASE_B ? 'b' : 'c';
            boolean first = seq == 0 || seq == PHASE_A || seq == PHASE_B;
            target.addAll(round(seq, first ? malformed(phase) : List.of()));
        }
        int malformedCount = 3 * malformed('a').size();
        int valid = KEYS * RECORDS_PER_KEY;

        // the failure-free reference: the same records on the embedded mini-cluster
        Path inputFile = tmp.resolve("input.jsonl");
        Files.write(inputFile, Stream.of(phaseA, phaseB, phaseC).flatMap(List::stream).toList(), UTF_8);
        Path refCodes = tmp.resolve("reference-codes.jsonl");
        Path refCodebooks = tmp.resolve("reference-codebooks");
        Path refDead = tmp.resolve("reference-dead.jsonl");
        Cli.succeed("quantize", "--config", cfg.toString(), "--input", inputFile.toString(), "--output", refCodes.toString(),
                "--codebooks-out", refCodebooks.toString(), "--dead-letters", refDead.toString());
        Map<String, JsonNode> reference = new HashMap<>();
        for (String l : Files.readAllLines(refCodes)) {
            JsonNode n = JSON.readTree(l);
            reference.put(n.get("key").asText() + "#" + n.get("seq").asLong(), n);
        }
        assertEquals(valid, reference.size(), "reference codes");
        assertEquals(malformedCount, Files.readAllLines(refDead).size(), "reference dead letters");

        KAFKA.broker().createTopic(IN, 4);
        KAFKA.broker().createTopic(CODES, 4);
        KAFKA.broker().createTopic(DEAD, 1);
        KAFKA.broker().createTopic(CODEBOOKS, 2);
        produce(phaseA);

        // the cluster: 3 TaskManagers x 2 slots, as `vqstream cluster start` starts it
        // under target/, so that its logs stay for a look after a failure
        clusterDir = Path.of("target", "cluster-itcase").toAbsolutePath();
        deleteTree(clusterDir);
        String started = Cli.succeed("cluster", "start", "--dir", clusterDir.toString(), "--taskmanagers", "3", "--slots", "2",
                "--port", "0");
        StandaloneCluster cluster = StandaloneCluster.attach(clusterDir);
        assertTrue(started.contains("REST http://" + cluster.restAddress()), started);
        for (StandaloneCluster.Member m : cluster.members()) {
            String line = m.name().equals("jobmanager") ? "jobmanager pid " + m.pid() : "taskmanager " + m.name().substring(12) + " pid " + m.pid();
            assertTrue(started.contains(line + "\n"), line + " in:\n" + started);
            assertTrue(m.alive(), m.name());
        }
        assertEquals(4, cluster.members().size());
        assertEquals(List.of("taskmanager-1", "taskmanager-2", "taskmanager-3"), cluster.taskManagerIds().stream().sorted().toList());

        String[] job = {"quantize", "--config", cfg.toString(), "--bootstrap-servers", KAFKA.broker().bootstrapServers(), "--input-topic", IN,
            "--output-topic", CODES, "--dead-letter-topic", DEAD, "--codebook-topic", CODEBOOKS, "--control-topic", CONTROL, "--exactly-once",
            "--checkpoint-interval", "1000", "--jobmanager", cluster.restAddress(), "--detached"};
        String jobId = Cli.succeed(Stream.concat(Stream.of(job), Stream.of("--parallelism", "4")).toArray(String[]::new)).trim();
        assertTrue(jobId.matches("[0-9a-f]{32}"), "job id printed: " + jobId);
        awaitJob(cluster, jobId, "the job running on the cluster", Duration.ofSeconds(120), () -> allRunning(cluster, jobId));

        // phase B comes in while the job runs: the first half before the kill, the rest after it
        AtomicInteger producedRounds = new AtomicInteger();
        java.util.concurrent.CountDownLatch afterKill = new java.util.concurrent.CountDownLatch(1);
        int roundsB = PHASE_B - PHASE_A;
        AtomicReference<Throwable> producerError = new AtomicReference<>();
        int roundSize = KEYS;
        Thread producer = new Thread(() -> {
            try {
                int i = 0;
                while (i < phaseB.size()) {
                    int n = i == 0 ? roundSize + malformed('b').size() : roundSize;
                    produce(phaseB.subList(i, i + n));
                    i += n;
                    if (producedRounds.incrementAndGet() == roundsB / 2) {
                        afterKill.await();
                    }
                    Thread.sleep(60);
                }
            } catch (Throwable t) {
                producerError.set(t);
            }
        }, "cr-producer");
        producer.setDaemon(true);
        producer.start();

        Await.until("two completed checkpoints", Duration.ofSeconds(120),
                () -> rest(cluster, "/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asInt() >= 2);
        Await.until("half of phase B produced", Duration.ofSeconds(60), () -> producedRounds.get() >= roundsB / 2);

        // SIGKILL a TaskManager that runs the quantizer, start a replacement
        Set<String> quantizing = taskManagersOf(cluster, jobId, "quantize");
        assertFalse(quantizing.isEmpty(), "the quantizer runs somewhere");
        StandaloneCluster.Member victim = cluster.member(quantizing.iterator().next());
        int checkpointsBeforeKill = rest(cluster, "/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asInt();
        ProcessHandle victimProcess = victim.process().orElseThrow();
        long killedAt = System.nanoTime();
        victimProcess.destroyForcibly();
        assertTrue(victimProcess.onExit().get(30, TimeUnit.SECONDS) != null && !victim.alive(), "killed " + victim);
        afterKill.countDown();
        // the replacement starts alongside: the recovery time below does not include its JVM start
        java.util.concurrent.CompletableFuture<String> replacement = java.util.concurrent.CompletableFuture.supplyAsync(
                () -> Cli.succeed("cluster", "start-taskmanager", "--dir", clusterDir.toString()));

        awaitJob(cluster, jobId, "the job restarted after the kill", Duration.ofSeconds(180),
                () -> rest(cluster, "/jobs/" + jobId + "/checkpoints").path("counts").path("restored").asInt() >= 1
                        && allRunning(cluster, jobId));
        long recoveredMs = (System.nanoTime() - killedAt) / 1_000_000;
        Await.until("a checkpoint after the recovery", Duration.ofSeconds(120),
                () -> rest(cluster, "/jobs/" + jobId + "/checkpoints").path("counts").path("completed").asInt() > checkpointsBeforeKill);
        long checkpointAfterKillMs = (System.nanoTime() - killedAt) / 1_000_000;
        String replaced = replacement.get(180, TimeUnit.SECONDS);
        assertTrue(replaced.startsWith("taskmanager 4 pid "), replaced);
        long replacedMs = (System.nanoTime() - killedAt) / 1_000_000;
        assertFalse(taskManagersOf(cluster, jobId, null).contains(victim.name()), "nothing runs on the killed TaskManager");
        producer.join(TimeUnit.SECONDS.toMillis(120));
        assertTrue(producerError.get() == null, "producer: " + producerError.get());
        String firstJobCheckpoints = checkpointSummary(cluster, jobId);

        // stop with a savepoint, resubmit from it at parallelism 2, give it the rest of the input
        Path savepoints = tmp.resolve("savepoints");
        String savepoint = Cli.succeed("cluster", "stop-job", jobId, "--savepoint", savepoints.toString(), "--dir", clusterDir.toString()).trim();
        assertTrue(Files.exists(Path.of(savepoint).resolve("_metadata")), "savepoint printed: " + savepoint);
        String jobId2 = Cli.succeed(Stream.concat(Stream.of(job), Stream.of("--parallelism", "2", "--restore-from", savepoint))
                .toArray(String[]::new)).trim();
        awaitJob(cluster, jobId2, "the rescaled job running", Duration.ofSeconds(120), () -> allRunning(cluster, jobId2));
        assertEquals(2, rest(cluster, "/jobs/" + jobId2).path("vertices").findValues("parallelism").stream()
                .mapToInt(JsonNode::asInt).max().orElse(0));
        produce(phaseC);

        List<ConsumerRecord<byte[], byte[]>> codes = new ArrayList<>();
        Await.until("every record coded and committed", Duration.ofSeconds(240), () -> {
            codes.clear();
            codes.addAll(KAFKA.broker().readAll(CODES, true));
            return codes.size() >= valid && KAFKA.broker().readAll(DEAD, true).size() >= malformedCount;
        });

        // the Prometheus endpoint of a TaskManager running the quantizer serves the vqstream metrics
        // attached again: `cluster start-taskmanager` recorded taskmanager-4 after `cluster` was read
        StandaloneCluster current = StandaloneCluster.attach(clusterDir);
        StandaloneCluster.Member metricsTm = current.member(taskManagersOf(cluster, jobId2, "quantize").iterator().next());
        String metrics = httpGet("http://localhost:" + metricsTm.metricsPort() + "/metrics");
        for (String m : List.of("codebookUsage", "perplexity", "batchSize", "batchLatencyMs", "backendTimeUs", "recordsQuantized")) {
            assertTrue(metrics.contains("flink_taskmanager_job_task_operator_vqstream_" + m), m + " on " + metricsTm.name());
        }
        String secondJobCheckpoints = checkpointSummary(cluster, jobId2);

        // every (key, seq) exactly once, with the reference's codes and codebook version
        Map<String, Integer> seen = new HashMap<>();
        List<String> differing = new ArrayList<>();
        for (ConsumerRecord<byte[], byte[]> r : codes) {
            JsonNode n = JSON.readTree(r.value());
            String id = n.get("key").asText() + "#" + n.get("seq").asLong();
            seen.merge(id, 1, Integer::sum);
            JsonNode ref = reference.get(id);
            if (ref == null || !ref.get("codes").equals(n.get("codes")) || !ref.get("codebook_version").equals(n.get("codebook_version"))) {
                differing.add(id + " " + n.get("codes") + " v" + n.get("codebook_version") + " vs " + ref);
            }
        }
        List<String> duplicated = seen.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
        assertEquals(List.of(), duplicated.subList(0, Math.min(5, duplicated.size())), duplicated.size() + " duplicated");
        assertEquals(valid, seen.size(), "every (key, seq) coded");
        assertEquals(valid, codes.size());
        assertEquals(List.of(), differing.subList(0, Math.min(5, differing.size())), differing.size() + " codes differ from the reference");

        // every malformed record a dead letter, exactly once
        Map<String, Integer> deadPayloads = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readAll(DEAD, true)) {
            deadPayloads.merge(JSON.readTree(r.value()).path("payload").asText(), 1, Integer::sum);
        }
        Map<String, Integer> expectedDead = new HashMap<>();
        for (char p : new char[] {'a', 'b', 'c'}) {
            malformed(p).forEach(l -> expectedDead.merge(l, 1, Integer::sum));
        }
        assertEquals(new TreeMap<>(expectedDead), new TreeMap<>(deadPayloads), "dead letters by payload");

        // the final codebook of every key: bit for bit the reference's last snapshot
        Map<String, ConsumerRecord<byte[], byte[]>> lastSnapshot = new HashMap<>();
        Map<String, Long> lastVersion = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> r : KAFKA.broker().readAll(CODEBOOKS, true)) {
            JsonNode meta = snapshotMetadata(r.value());
            String k = meta.path("key").asText();
            long v = Long.parseLong(meta.path("version").asText());
            if (v > lastVersion.getOrDefault(k, -1L)) {
                lastVersion.put(k, v);
                lastSnapshot.put(k, r);
            }
        }
        assertEquals(KEYS, lastSnapshot.size(), "a codebook per key");
        for (int k = 0; k < KEYS; k++) {
            String name = key(k);
            long version = lastVersion.get(name);
            Path refFile = refCodebooks.resolve(FileJobs.snapshotFileName(key(k), version));
            try (Stream<Path> files = Files.list(refCodebooks)) {
                long refLast = files.map(p -> p.getFileName().toString()).filter(f -> name.equals(io.vqstream.core.io.KeyFileNames.keyOf(f.substring(0, f.lastIndexOf('@')))))
                        .mapToLong(f -> Long.parseLong(f.substring(f.lastIndexOf('@') + 1, f.length() - ".safetensors".length()))).max().orElse(-1);
                assertEquals(refLast, version, "final codebook version of " + key(k));
            }
            assertArrayEquals(Files.readAllBytes(refFile), lastSnapshot.get(key(k)).value(), "final codebook of " + key(k));
        }

        // the TaskManagers ran the Vector API kernels
        boolean vectorApi = false;
        try (Stream<Path> logs = Files.list(clusterDir.resolve("logs"))) {
            for (Path log : logs.filter(p -> p.getFileName().toString().matches("taskmanager-\\d+\\.log")).toList()) {
                String text = Files.readString(log);
                assertFalse(text.contains("using plain loops"), log + " fell back to plain loops");
                vectorApi |= text.contains("vqstream jvm backend: Vector API") || text.contains("vqstream auto backend: jvm (Vector API");
            }
        }
        assertTrue(vectorApi, "a TaskManager log names the Vector API kernels");

        System.out.println("cluster recovery: job " + jobId + " all subtasks running again " + recoveredMs + " ms after SIGKILL of "
                + victim.name() + ", first checkpoint after it at " + checkpointAfterKillMs + " ms, replacement TaskManager registered at "
                + replacedMs + " ms");
        System.out.println("cluster recovery: checkpoints of the p=4 job: " + firstJobCheckpoints);
        System.out.println("cluster recovery: checkpoints of the p=2 job: " + secondJobCheckpoints);
        System.out.println("cluster recovery: rescaled 4 -> 2 from " + savepoint + ": " + valid + " records coded exactly once, "
                + malformedCount + " dead letters, " + KEYS + " final codebooks bit-identical to the embedded run");

        // cluster stop: no process left, nothing but logs, checkpoints and savepoints in its directory
        List<StandaloneCluster.Member> members = current.members();
        assertEquals(5, members.size(), "the JobManager and 4 TaskManagers");
        Cli.succeed("cluster", "stop", "--dir", clusterDir.toString());
        for (StandaloneCluster.Member m : members) {
            assertFalse(m.alive(), m.name() + " still running");
        }
        try (Stream<Path> left = Files.list(clusterDir)) {
            assertEquals(List.of("checkpoints", "logs", "savepoints"), left.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    /** The metadata of a codebook snapshot payload (key, version, ...: the safetensors header's {@code __metadata__}). */
    private static JsonNode snapshotMetadata(byte[] payload) throws IOException {
        long headerLength = java.nio.ByteBuffer.wrap(payload, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        return JSON.readTree(new String(payload, 8, (int) headerLength, UTF_8)).path("__metadata__");
    }
}
