package io.vqstream.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench soak}: the {@code quantize} command with learning on, checkpoints every
 * {@code --checkpoint-interval} (10 s) to a local directory, {@code --keys} keys, against a
 * one-node broker on 127.0.0.1 in a child JVM, for {@code --minutes}. A producer in this JVM
 * feeds JSON vectors at a steady {@code --rate}; a consumer counts the codes and measures each
 * code's latency (broker append time of the code − the vector's {@code ts}, set when it was
 * produced). The job runs in this JVM (through {@code VqstreamCli.execute}), so the memory figures
 * are the job's plus this harness's small producer and consumer.
 *
 * <p>Every {@code --report-every} seconds one JSON line: codes/s and vectors produced/s over the
 * interval, lag, latency p50/p99, the latest completed checkpoint (size, duration; from the
 * mini-cluster's REST API {@code /jobs/:id/checkpoints}), and memory (heap now and after the last
 * collection, non-heap, direct buffers, resident set, JavaCPP's bytes). After
 * {@code --warmup-seconds} and at the end, two forced collections and a snapshot ("start" and
 * "end"); the final line compares them.
 */
@Command(name = "soak", mixinStandardHelpOptions = true, sortOptions = false, footer = E2eOptions.FOOTER,
        description = "The quantize command learning for minutes against a broker on 127.0.0.1, with throughput, latency, checkpoint and memory reports (bench/README.md).")
public final class SoakBench extends E2eOptions.Op {
    @Mixin
    E2eOptions.Shape shape;

    @Mixin
    E2eOptions.Quantizer quantizer;

    @Option(names = "--minutes", paramLabel = "M", defaultValue = "10", description = "Length of the run (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "2000", description = "Vectors/s the producer sends (default ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--max-delay", paramLabel = "DURATION", defaultValue = "50ms", description = "Longest wait of a partial batch (default ${DEFAULT-VALUE}).")
    E2eOptions.DurationArg maxDelay;

    @Mixin
    E2eOptions.Job job;

    @Option(names = "--checkpoint-interval", paramLabel = "MS", defaultValue = "10_000", description = "Checkpoint interval in milliseconds (default ${DEFAULT-VALUE}).")
    long checkpointMillis;

    @Option(names = "--report-every", paramLabel = "S", defaultValue = "30", description = "Seconds between report lines (default ${DEFAULT-VALUE}).")
    int reportEvery;

    @Option(names = "--warmup-seconds", paramLabel = "S", defaultValue = "60", description = "Seconds before the start memory snapshot (default ${DEFAULT-VALUE}).")
    int warmupSeconds;

    @Option(names = "--parallelism", paramLabel = "P", defaultValue = "1", description = "Job parallelism (default ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--learn", paramLabel = "true|false", arity = "0..1", fallbackValue = "true", defaultValue = "true",
            description = "Codebooks learn from the stream (default ${DEFAULT-VALUE}).")
    boolean learn;

    @Option(names = "--publish-every", paramLabel = "STEPS", defaultValue = "0", description = "Codebook snapshot every N learning steps, 0 for none (default ${DEFAULT-VALUE}).")
    int publishEvery;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    int run() throws Exception {
        int keys = shape.keys;
        int dim = shape.dim;
        String type = quantizer.type;
        Integer quantizers = quantizer.quantizers;
        int k = shape.codebookSize;
        String maxDelay = this.maxDelay.text();
        String backend = job.backend;
        long seed = job.seed;
        long cpMillis = checkpointMillis;
        int warmup = warmupSeconds;
        int p = parallelism;

        Path work = Files.createTempDirectory("vq-bench-soak");
        Path cpDir = work.resolve("checkpoints");
        Path cfg = work.resolve("soak.yaml");
        Files.writeString(cfg, "quantizer:\n"
                + "  type: " + type + "\n"
                + "  dim: " + dim + "\n"
                + "  codebook_size: " + k + "\n"
                + (quantizers != null ? "  num_quantizers: " + quantizers + "\n" : "")
                + "learn: " + learn + "\n"
                + "seed: " + seed + "\n"
                + "backend: " + backend + "\n"
                + "batch:\n  size: " + batch + "\n  max-delay: " + maxDelay + "\n"
                + "codebook:\n  publish-every: " + publishEvery + "\n"
                + "kafka:\n  group-id: soak\n"
                + "job:\n  name: bench-soak\n");

        Map<String, Object> head = new LinkedHashMap<>();
        head.put("op", "soak");
        head.put("event", "config");
        head.put("quantizer", type);
        head.put("dim", dim);
        head.put("codebook_size", k);
        head.put("learn", learn);
        head.put("keys", keys);
        head.put("rate_target", rate);
        head.put("batch", batch);
        head.put("max_delay", maxDelay);
        head.put("backend", backend);
        head.put("checkpoint_interval_ms", cpMillis);
        head.put("parallelism", p);
        head.put("minutes", minutes);
        head.put("publish_every", publishEvery);
        head.put("memory_before_job", JvmMemory.afterGc());
        E2e.print(head);

        ChildBroker broker = ChildBroker.start("1g");
        Producer producer = null;
        LatencyCounter codes = null;
        CliJob job = null;
        try {
            String bs = broker.bootstrapServers();
            KafkaIo.createTopic(bs, "vectors", p, false);
            KafkaIo.createTopic(bs, "codes", p, true);
            job = CliJob.start("quantize", "--config", cfg.toString(), "--bootstrap-servers", bs, "--input-topic", "vectors",
                    "--output-topic", "codes", "--dead-letter-topic", "dead-letters", "--checkpoint-dir", cpDir.toString(),
                    "--checkpoint-interval", Long.toString(cpMillis), "--parallelism", Integer.toString(p));
            String jobId = job.client(180).getJobID().toHexString();
            codes = new LatencyCounter(bs, "codes");
            producer = new Producer(bs, "vectors", new KafkaIo.Vectors(keys, dim, seed), rate);
            long start = System.nanoTime();
            long end = start + (long) (minutes * 60e9);
            long nextReport = start + reportEvery * 1_000_000_000L;
            long warmAt = start + warmup * 1_000_000_000L;
            Map<String, Object> memStart = null;
            long startCodes = 0;
            long startProduced = 0;
            long startNanos = 0;
            long lagStart = 0;
            long lastCodes = 0;
            long lastProduced = 0;
            long lastNanos = start;
            List<Double> intervalRates = new ArrayList<>();
            List<Map<String, Object>> checkpoints = new ArrayList<>();
            HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
            while (true) {
                long now = System.nanoTime();
                if (memStart == null && now >= warmAt) {
                    boolean quiet = awaitNoCheckpoint(http, job.restPort(), jobId);
                    memStart = JvmMemory.afterGc();
                    memStart.put("checkpoint_in_progress", !quiet);
                    startCodes = codes.count();
                    startProduced = producer.sent();
                    startNanos = System.nanoTime();
                    lagStart = startProduced - startCodes;
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("op", "soak");
                    m.put("event", "start");
                    m.put("t_s", E2e.round((startNanos - start) / 1e9, 1));
                    m.put("lag", lagStart);
                    m.put("memory", memStart);
                    E2e.print(m);
                }
                if (now >= nextReport || now >= end) {
                    long c = codes.count();
                    long s = producer.sent();
                    double dt = (now - lastNanos) / 1e9;
                    double codesPerS = (c - lastCodes) / dt;
                    Map<String, Object> r = new LinkedHashMap<>();
                    r.put("op", "soak");
                    r.put("event", "report");
                    r.put("t_s", E2e.round((now - start) / 1e9, 1));
                    r.put("codes", c);
                    r.put("produced", s);
                    r.put("codes_per_s", E2e.round(codesPerS, 1));
                    r.put("produced_per_s", E2e.round((s - lastProduced) / dt, 1));
                    r.put("lag", s - c);
                    long[] lat = codes.drainLatencies();
                    if (lat.length > 0) {
                        Arrays.sort(lat);
                        r.put("latency_ms_p50", lat[lat.length / 2]);
                        r.put("latency_ms_p99", lat[(int) Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]);
                        r.put("latency_ms_max", lat[lat.length - 1]);
                    }
                    Map<String, Object> cp = checkpoints(http, job.restPort(), jobId);
                    r.put("checkpoints", cp);
                    checkpoints.add(cp);
                    r.put("memory", JvmMemory.snapshot());
                    r.put("load_1m", E2e.loadAverage());
                    E2e.print(r);
                    if (memStart != null && now > startNanos) {
                        intervalRates.add(codesPerS);
                    }
                    lastCodes = c;
                    lastProduced = s;
                    lastNanos = now;
                    nextReport += reportEvery * 1_000_000_000L;
                    if (now >= end) {
                        break;
                    }
                }
                Thread.sleep(100);
            }
            boolean quietEnd = awaitNoCheckpoint(http, job.restPort(), jobId);
            Map<String, Object> memEnd = JvmMemory.afterGc();
            memEnd.put("checkpoint_in_progress", !quietEnd);
            long endNanos = System.nanoTime();
            long endCodes = codes.count();
            long endProduced = producer.sent();
            Map<String, Object> fin = new LinkedHashMap<>();
            fin.put("op", "soak");
            fin.put("event", "summary");
            fin.put("backend", backend);
            fin.put("minutes", minutes);
            fin.put("rate_target", rate);
            if (memStart == null) {
                fin.put("note", "the run ended before --warmup-seconds: no start snapshot");
                E2e.print(fin);
                return 1;
            }
            double secs = (endNanos - startNanos) / 1e9;
            fin.put("measured_s", E2e.round(secs, 1));
            fin.put("produced_per_s", E2e.round((endProduced - startProduced) / secs, 1));
            fin.put("codes_per_s", E2e.round((endCodes - startCodes) / secs, 1));
            fin.put("codes_per_s_interval_min", E2e.round(intervalRates.stream().mapToDouble(x -> x).min().orElse(Double.NaN), 1));
            fin.put("codes_per_s_interval_max", E2e.round(intervalRates.stream().mapToDouble(x -> x).max().orElse(Double.NaN), 1));
            fin.put("lag_start", lagStart);
            fin.put("lag_end", endProduced - endCodes);
            fin.put("checkpoints_end", checkpoints.isEmpty() ? Map.of() : checkpoints.get(checkpoints.size() - 1));
            fin.put("memory_start", memStart);
            fin.put("memory_end", memEnd);
            Map<String, Object> delta = new LinkedHashMap<>();
            for (String key : List.of("heap_used_after_gc_mib", "non_heap_used_mib", "direct_mib", "mapped_mib", "rss_mib",
                    "rss_minus_heap_committed_mib", "javacpp_total_mib", "javacpp_physical_mib")) {
                if (memStart.get(key) instanceof Number a && memEnd.get(key) instanceof Number b) {
                    delta.put(key, E2e.round(b.doubleValue() - a.doubleValue(), 1));
                }
            }
            fin.put("delta_mib", delta);
            // flat: the retained heap, the direct buffers and JavaCPP's native bytes did not grow
            double heapStart = ((Number) memStart.get("heap_used_after_gc_mib")).doubleValue();
            boolean flat = (double) delta.get("heap_used_after_gc_mib") < Math.max(64, 0.05 * heapStart)
                    && (!delta.containsKey("direct_mib") || (double) delta.get("direct_mib") < 16)
                    && (!delta.containsKey("javacpp_total_mib") || (double) delta.get("javacpp_total_mib") < 16)
                    && (!delta.containsKey("rss_minus_heap_committed_mib") || (double) delta.get("rss_minus_heap_committed_mib") < 64);
            fin.put("memory_flat", flat);
            fin.put("flat_rule", "start vs end, each after two forced GCs: heap growth < max(64 MiB, 5% of start), direct buffers"
                    + " < 16 MiB, JavaCPP total < 16 MiB, resident memory outside the committed heap < 64 MiB");
            fin.put("load_1m", E2e.loadAverage());
            E2e.print(fin);
            return 0;
        } finally {
            if (producer != null) {
                producer.close();
            }
            if (job != null) {
                try {
                    job.close();
                } catch (Exception e) {
                    System.err.println("cancelling the soak job: " + e);
                }
            }
            if (codes != null) {
                codes.close();
            }
            broker.close();
            ChildBroker.deleteTree(work);
        }
    }

    /**
     * Waits (at most 30 s) for a moment without a checkpoint in progress: a running HashMap
     * snapshot keeps replaced state values alive, which would count as heap growth.
     */
    static boolean awaitNoCheckpoint(HttpClient http, int port, String jobId) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            Object n = checkpoints(http, port, jobId).get("in_progress");
            if (n instanceof Long l && l == 0) {
                return true;
            }
            Thread.sleep(100);
        }
        return false;
    }

    /** Counts, sizes and durations from {@code GET /jobs/:id/checkpoints}. */
    static Map<String, Object> checkpoints(HttpClient http, int port, String jobId) {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/jobs/" + jobId + "/checkpoints"))
                    .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
            JsonNode n = JSON.readTree(resp.body());
            JsonNode counts = n.path("counts");
            m.put("completed", counts.path("completed").asLong());
            m.put("failed", counts.path("failed").asLong());
            m.put("in_progress", counts.path("in_progress").asLong());
            JsonNode latest = n.path("latest").path("completed");
            if (!latest.isMissingNode() && !latest.isNull()) {
                m.put("latest_id", latest.path("id").asLong());
                m.put("latest_state_size_mib", E2e.round(latest.path("state_size").asLong() / JvmMemory.MIB, 1));
                m.put("latest_checkpointed_size_mib", E2e.round(latest.path("checkpointed_size").asLong() / JvmMemory.MIB, 1));
                m.put("latest_duration_ms", latest.path("end_to_end_duration").asLong());
            }
            JsonNode dur = n.path("summary").path("end_to_end_duration");
            if (!dur.isMissingNode()) {
                m.put("duration_ms_p50", dur.path("p50").asDouble());
                m.put("duration_ms_max", dur.path("max").asLong());
            }
            JsonNode failed = n.path("latest").path("failed");
            if (!failed.isMissingNode() && !failed.isNull()) {
                m.put("latest_failure", failed.path("failure_message").asText(""));
            }
        } catch (Exception e) {
            m.put("error", e.toString());
        }
        return m;
    }

    /** Sends JSON vectors at a steady rate (in 10 ms slices) until closed. */
    static final class Producer implements AutoCloseable {
        private final KafkaProducer<byte[], byte[]> producer;
        private final AtomicLong sent = new AtomicLong();
        private final AtomicLong failed = new AtomicLong();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        Producer(String bootstrap, String topic, KafkaIo.Vectors vectors, int rate) {
            producer = KafkaIo.producer(bootstrap);
            thread = new Thread(() -> {
                long t0 = System.nanoTime();
                long i = 0;
                while (!stop.get()) {
                    long due = (long) ((System.nanoTime() - t0) / 1e9 * rate);
                    long ts = System.currentTimeMillis();
                    for (; i < due && !stop.get(); i++) {
                        producer.send(vectors.record(topic, i, ts), (md, e) -> {
                            if (e != null) {
                                failed.incrementAndGet();
                            }
                        });
                        sent.incrementAndGet();
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "soak-producer");
            thread.setDaemon(true);
            thread.start();
        }

        long sent() {
            return sent.get() - failed.get();
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
            producer.close(Duration.ofSeconds(10));
        }
    }

    /** Counts codes and collects each one's latency: broker append time − the vector's ts. */
    static final class LatencyCounter implements AutoCloseable {
        private final AtomicLong count = new AtomicLong();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;
        private long[] latencies = new long[1 << 16];
        private int size;
        private volatile Throwable failure;

        LatencyCounter(String bootstrap, String topic) {
            thread = new Thread(() -> {
                try (KafkaConsumer<byte[], byte[]> c = KafkaIo.fromBeginning(bootstrap, topic, false)) {
                    while (!stop.get()) {
                        long n = 0;
                        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
                            n++;
                            long ts = tsField(r.value());
                            if (ts > 0) {
                                add(r.timestamp() - ts);
                            }
                        }
                        count.addAndGet(n);
                    }
                } catch (Throwable t) {
                    failure = t;
                }
            }, "soak-codes");
            thread.setDaemon(true);
            thread.start();
        }

        private synchronized void add(long ms) {
            if (size == latencies.length) {
                latencies = Arrays.copyOf(latencies, size * 2);
            }
            latencies[size++] = ms;
        }

        synchronized long[] drainLatencies() {
            long[] out = Arrays.copyOf(latencies, size);
            size = 0;
            if (latencies.length > 1 << 20) {
                latencies = new long[1 << 16];
            }
            return out;
        }

        long count() {
            if (failure != null) {
                throw new IllegalStateException("code consumer failed", failure);
            }
            return count.get();
        }

        /** The {@code "ts":} number of a JSON code record, or -1. */
        static long tsField(byte[] json) {
            for (int i = 0; i + 5 < json.length; i++) {
                if (json[i] == '"' && json[i + 1] == 't' && json[i + 2] == 's' && json[i + 3] == '"' && json[i + 4] == ':') {
                    long v = 0;
                    int j = i + 5;
                    boolean any = false;
                    while (j < json.length && json[j] >= '0' && json[j] <= '9') {
                        v = v * 10 + (json[j++] - '0');
                        any = true;
                    }
                    return any ? v : -1;
                }
            }
            return -1;
        }

        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
        }
    }
}
