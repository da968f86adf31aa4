package io.vqstream.bench.e2e;

import io.vqstream.operators.CodebookScope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench kafka-quantize}: vectors/s of the {@code quantize} command (Kafka vectors →
 * keyed quantize operator → Kafka codes), run in this JVM through {@code VqstreamCli.execute}
 * against a one-node broker on 127.0.0.1 in a child JVM. The input topic is filled with
 * {@code --vectors} JSON vectors ({@code --keys} keys round-robin) before the job starts; each run
 * reads it from the beginning with a fresh consumer group and writes a fresh output topic, whose
 * records the broker stamps with their append time. Before the measured runs, one run of
 * {@code --warmup-vectors} vectors on a topic of its own is left out (its rate is printed): the
 * JVM's first job runs while the JIT compiles the Kafka clients and the job's paths. Reported per
 * configuration (median of {@code --reps}):
 * <ul>
 *   <li>{@code vectors_per_s}: vectors ÷ (all codes readable on the output topic − job submitted),
 *       i.e. without JVM and mini-cluster start, with task deployment and the first checkpoint's
 *       wait under exactly-once (codes become readable with {@code read_committed} when the
 *       checkpoint after them completes);</li>
 *   <li>{@code vectors_per_s_flowing}: vectors ÷ (last code appended − first code appended), the
 *       rate while codes flow.</li>
 * </ul>
 */
@Command(name = "kafka-quantize", mixinStandardHelpOptions = true, sortOptions = false, footer = E2eOptions.FOOTER,
        description = "Vectors/s of the quantize command, Kafka vectors to Kafka codes, against a broker on 127.0.0.1 (bench/README.md).")
public final class KafkaQuantizeBench extends E2eOptions.Op {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    E2eOptions.Shape shape;

    @Option(names = "--vectors", paramLabel = "N", defaultValue = "200_000", description = "Vectors in the input topic (default ${DEFAULT-VALUE}).")
    long vectors;

    @Option(names = "--delivery", paramLabel = "DELIVERY", split = ",", defaultValue = "at-least-once,exactly-once", converter = E2eOptions.Deliveries.class,
            description = "Delivery guarantees: at-least-once and/or exactly-once (default ${DEFAULT-VALUE}).")
    List<String> deliveries;

    @Option(names = "--exactly-once", paramLabel = "true|false", arity = "0..1", fallbackValue = "true", defaultValue = "false",
            description = "Exactly-once only, as --delivery exactly-once (default ${DEFAULT-VALUE}).")
    boolean exactlyOnce;

    @Option(names = "--reps", paramLabel = "R", defaultValue = "3", description = "Runs per configuration; the median is reported (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "256", description = "Batch size (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--max-delay", paramLabel = "DURATION", defaultValue = "50ms", description = "Longest wait of a partial batch (default ${DEFAULT-VALUE}).")
    E2eOptions.DurationArg maxDelay;

    @Option(names = "--parallelism", split = ",", paramLabel = "P", defaultValue = "1",
            description = "Parallelisms, each with its own input topic of P partitions (default ${DEFAULT-VALUE}).")
    List<Integer> parallelisms;

    @Mixin
    E2eOptions.Job job;

    @Option(names = "--checkpoint-interval", paramLabel = "DURATION", description = "Checkpoint interval of the job (default: the job's, 10s under exactly-once, none otherwise).")
    E2eOptions.DurationArg checkpointInterval;

    @Option(names = "--learn", paramLabel = "true|false", arity = "0..1", fallbackValue = "true", defaultValue = "false",
            description = "Codebooks learn from the stream (default ${DEFAULT-VALUE}).")
    boolean learn;

    @Option(names = "--publish-every", paramLabel = "STEPS", defaultValue = "1",
            description = "With --learn: a codebook snapshot to the codebooks topic every N EMA steps, 0 for none (default ${DEFAULT-VALUE}, the job's default).")
    int publishEvery;

    @Option(names = "--timeout", paramLabel = "S", defaultValue = "900", description = "Seconds to wait for all codes of a run (default ${DEFAULT-VALUE}).")
    long timeout;

    @Option(names = "--scope", paramLabel = "key|shared", defaultValue = "key", description = "Codebook scope: key or shared (default ${DEFAULT-VALUE}).")
    CodebookScope scope;

    @Option(names = "--format", paramLabel = "json|binary", defaultValue = "json", converter = E2eOptions.Formats.class,
            description = "Record format of the input and output topics: json or binary (default ${DEFAULT-VALUE}).")
    String format;

    @Option(names = "--codebook", paramLabel = "file|init", defaultValue = "file", converter = E2eOptions.CodebookSources.class,
            description = "file: one frozen K×D codebook from a .npy, as a trained codebook is deployed; init: seeded per key or scope (default ${DEFAULT-VALUE}).")
    String codebook;

    @Option(names = "--kafka-property", paramLabel = "KEY=VALUE",
            description = "A Kafka client property for the job's sources and sinks (the config's kafka.properties), repeatable; e.g."
                    + " linger.ms=20 or max.partition.fetch.bytes=8388608 (default: none, the job's own defaults).")
    java.util.Map<String, String> kafkaProperties = new java.util.LinkedHashMap<>();

    @Option(names = "--peer", paramLabel = "true|false", arity = "0..1", fallbackValue = "true", defaultValue = "true",
            description = "After each run, the Python peer (bench/peer_kafka_quantize.py) on the same topic; only with --codebook file, --format json and no learning (default ${DEFAULT-VALUE}).")
    boolean runPeer;

    @Option(names = "--rate", paramLabel = "R", defaultValue = "0",
            description = "0: the input topic is filled before the job starts (throughput). R > 0: the vectors are written while the job runs, at R per"
                    + " second each stamped with its send time, after a warm-up of 2,000; reports the latency of codes (broker append time − send"
                    + " time) p50/p99/max; JSON only (default ${DEFAULT-VALUE}).")
    double rate;

    @Option(names = "--warmup-vectors", paramLabel = "N", defaultValue = "600_000",
            description = "Vectors of one job run before the measured ones, in the same JVM and against the same broker, not counted"
                    + " (its rate is printed): a long-running job's rate is its rate once the JIT has compiled the Kafka clients and the"
                    + " job's paths, which on two cores keeps the compiler busy through the JVM's first ~30 s. 0 for none (default ${DEFAULT-VALUE}).")
    long warmupVectors;

    static final String PYTHON = "/usr/bin/python3";

    /** bench/peer_kafka_quantize.py, found from the working directory (the repository root, as bin/vqstream runs). */
    static Path peerScript() {
        Path p = Path.of("bench", "peer_kafka_quantize.py").toAbsolutePath();
        if (!Files.isRegularFile(p)) {
            throw new IllegalStateException("the Python peer " + p + " is missing; run from the repository root or pass --peer false");
        }
        return p;
    }

    @Override
    int run() throws Exception {
        int keys = shape.keys;
        int dim = shape.dim;
        long n = vectors;
        int k = shape.codebookSize;
        List<String> deliveries = exactlyOnce ? List.of("exactly-once") : this.deliveries;
        String scope = this.scope.configName();
        String maxDelay = this.maxDelay.text();
        List<Integer> pars = parallelisms;
        String backend = job.backend;
        long seed = job.seed;
        String cpInterval = checkpointInterval != null ? checkpointInterval.text() : null;
        // the Python peer reads the same JSON topic with the same frozen codebook, after each of our runs
        boolean peer = runPeer && codebook.equals("file") && format.equals("json") && !learn && rate <= 0
                && Files.isExecutable(Path.of(PYTHON));
        if (rate > 0 && !format.equals("json")) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rate needs --format json (the latency is read from the codes' ts)");
        }
        long warm = rate > 0 ? Math.min(2_000, Math.max(1, n / 10)) : 0;

        Path work = Files.createTempDirectory("vq-bench-kafka-quantize");
        try (ChildBroker broker = ChildBroker.start("1g")) {
            String bs = broker.bootstrapServers();
            KafkaIo.Vectors vectors = new KafkaIo.Vectors(keys, dim, seed, format.equals("binary"));
            Path npy = null;
            if (codebook.equals("file")) {
                npy = work.resolve("codebook.npy");
                float[][] rows = OperatorBench.gaussianPool(seed + 1, k, dim);
                float[] flat = new float[k * dim];
                for (int j = 0; j < k; j++) {
                    System.arraycopy(rows[j], 0, flat, j * dim, dim);
                }
                io.vqstream.core.io.Npy.write(npy, new io.vqstream.core.tensor.Tensor(flat, k, dim));
            }
            int run = 0;
            if (warmupVectors > 0) {
                warmUpJob(work, bs, vectors, npy, scope, format, dim, k, backend, seed, cpInterval, pars.get(0), deliveries.get(0));
            }
            for (int p : pars) {
                String prefilled = "vectors-p" + p;
                if (rate <= 0) {
                    KafkaIo.createTopic(bs, prefilled, p, false);
                    double fill = KafkaIo.prefill(bs, prefilled, n, vectors);
                    System.err.printf("input topic %s (%d partitions): %d " + format + " vectors (~%d bytes each) written in %.1f s (%.0f/s)%n",
                            prefilled, p, n, vectors.averageBytes(), fill, n / fill);
                }
                for (String delivery : deliveries) {
                    boolean eo = delivery.equals("exactly-once");
                    List<Double> total = new ArrayList<>();
                    List<Double> flowing = new ArrayList<>();
                    List<Double> firstCode = new ArrayList<>();
                    List<Double> toSubmit = new ArrayList<>();
                    List<Double> loads = new ArrayList<>();
                    List<Double> peerTotal = new ArrayList<>();
                    List<Double> peerFlowing = new ArrayList<>();
                    String agree = null;
                    long counted = -1;
                    List<Double> p50 = new ArrayList<>();
                    List<Double> p99 = new ArrayList<>();
                    List<Double> max = new ArrayList<>();
                    List<Double> achieved = new ArrayList<>();
                    for (int rep = 0; rep < reps; rep++) {
                        run++;
                        String out = "codes-" + run;
                        // paced: each run reads its own topic, written while it runs
                        String input = rate > 0 ? "vectors-rate-" + run : prefilled;
                        if (rate > 0) {
                            KafkaIo.createTopic(bs, input, p, false);
                        }
                        KafkaIo.createTopic(bs, out, p, true);
                        Path cfg = work.resolve("quantize-" + run + ".yaml");
                        writeJobConfig(cfg, run, dim, k, backend, seed, cpInterval, scope, format, npy);
                        loads.add(E2e.loadAverage());
                        List<String> args = quantizeArgs(cfg, bs, input, out, "dead-letters-" + run, p,
                                eo ? work.resolve("checkpoints-" + run) : null);
                        try (KafkaIo.Counter counter = new KafkaIo.Counter(bs, out, eo)) {
                            long t0 = System.nanoTime();
                            try (CliJob job = CliJob.start(args.toArray(String[]::new))) {
                                job.client(180);
                                long submitted = job.submittedNanos();
                                if (rate > 0) {
                                    // the first codes of a job meet its start (kernel warm-up, first fetches): not the latency asked for
                                    KafkaIo.prefill(bs, input, warm, vectors);
                                    if (counter.awaitCount(warm, Duration.ofSeconds(timeout)) < 0) {
                                        throw new IllegalStateException("the warm-up codes did not arrive within " + timeout + " s");
                                    }
                                    counter.measureLatencyFrom(System.currentTimeMillis());
                                    achieved.add(KafkaIo.paced(bs, input, warm, n, rate, vectors));
                                }
                                long done = counter.awaitCount(n + warm, Duration.ofSeconds(timeout));
                                if (done < 0) {
                                    throw new IllegalStateException("only " + counter.count() + " of " + (n + warm) + " codes on " + out + " after "
                                            + timeout + " s");
                                }
                                if (rate > 0) {
                                    long[] lat = counter.latencies();
                                    p50.add((double) lat[lat.length / 2]);
                                    p99.add((double) lat[(int) Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)]);
                                    max.add((double) lat[lat.length - 1]);
                                    System.err.printf("kafka-quantize paced at %.0f/s (%.0f achieved): latency p50 %d ms, p99 %d ms, max %d ms over %d codes%n",
                                            rate, achieved.get(achieved.size() - 1), lat[lat.length / 2],
                                            lat[(int) Math.min(lat.length - 1, Math.ceil(lat.length * 0.99) - 1)], lat[lat.length - 1], lat.length);
                                }
                                double s = (done - submitted) / 1e9;
                                double span = (counter.maxTimestamp() - counter.minTimestamp()) / 1000.0;
                                total.add(n / s);
                                flowing.add(n / span);
                                firstCode.add((counter.firstSeenNanos() - submitted) / 1e9);
                                toSubmit.add((submitted - t0) / 1e9);
                                Thread.sleep(1000);
                                counted = counter.count();
                                System.err.printf("kafka-quantize " + scope + " " + format + " %s p=%d rep %d: %.0f vectors/s from submission (%.2f s), %.0f/s while flowing"
                                                + " (%.2f s of appends), first code readable %.2f s after submission; %d codes counted%n",
                                        delivery, p, rep + 1, n / s, s, n / span, span, firstCode.get(firstCode.size() - 1), counted);
                            }
                        } finally {
                            ChildBroker.deleteTree(work.resolve("checkpoints-" + run));
                        }
                        if (peer) {
                            String peerOut = "peer-codes-" + run;
                            KafkaIo.createTopic(bs, peerOut, p, true);
                            try (KafkaIo.Counter counter = new KafkaIo.Counter(bs, peerOut, eo)) {
                                List<String> cmd = new ArrayList<>(List.of(PYTHON, peerScript().toString(), bs, input, peerOut, npy.toString(),
                                        Long.toString(n), "--group", "peer-" + run));
                                if (eo) {
                                    cmd.add("--exactly-once");
                                }
                                long started = System.nanoTime();
                                Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
                                long done = counter.awaitCount(n, Duration.ofSeconds(timeout));
                                String line = new String(proc.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
                                proc.waitFor();
                                if (done < 0) {
                                    throw new IllegalStateException("the Python peer wrote only " + counter.count() + " of " + n + " codes");
                                }
                                double span = (counter.maxTimestamp() - counter.minTimestamp()) / 1000.0;
                                peerTotal.add(n / ((done - started) / 1e9));
                                peerFlowing.add(n / span);
                                System.err.printf("python peer %s rep %d: %.0f vectors/s from start (incl. interpreter and torch import), %.0f/s"
                                        + " while flowing; %s%n", delivery, rep + 1, peerTotal.get(peerTotal.size() - 1), n / span, line);
                                if (rep == 0) {
                                    Map<String, Long> ours = KafkaIo.jsonCodes(bs, out, n);
                                    Map<String, Long> theirs = KafkaIo.jsonCodes(bs, peerOut, n);
                                    long same = ours.entrySet().stream().filter(e -> e.getValue().equals(theirs.get(e.getKey()))).count();
                                    agree = same + " of " + ours.size();
                                }
                            }
                        }
                    }
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("op", "kafka-quantize");
                    json.put("quantizer", "VectorQuantize");
                    json.put("dim", dim);
                    json.put("codebook_size", k);
                    json.put("learn", learn);
                    if (learn) {
                        json.put("publish_every", publishEvery);
                    }
                    json.put("scope", scope);
                    json.put("format", format);
                    if (!kafkaProperties.isEmpty()) {
                        json.put("kafka_properties", kafkaProperties);
                    }
                    json.put("codebook", codebook);
                    json.put("delivery", delivery);
                    json.put("vectors", n);
                    json.put("keys", keys);
                    json.put("batch", batch);
                    json.put("max_delay", maxDelay);
                    json.put("parallelism", p);
                    json.put("checkpoint_interval", cpInterval != null ? cpInterval : (eo ? "10s (job default)" : "none"));
                    json.put("warmup_job_vectors", warmupVectors);
                    json.put("vectors_per_s", E2e.round(E2e.median(total), 0));
                    json.put("vectors_per_s_flowing", E2e.round(E2e.median(flowing), 0));
                    json.put("runs_vectors_per_s", total.stream().map(x -> E2e.round(x, 0)).toList());
                    json.put("runs_vectors_per_s_flowing", flowing.stream().map(x -> E2e.round(x, 0)).toList());
                    json.put("first_code_s_median", E2e.round(E2e.median(firstCode), 2));
                    json.put("command_to_submission_s_median", E2e.round(E2e.median(toSubmit), 2));
                    json.put("codes_counted_last_run", counted);
                    if (rate > 0) {
                        json.put("rate", rate);
                        json.put("rate_achieved", E2e.round(E2e.median(achieved), 0));
                        json.put("warmup_vectors", warm);
                        json.put("latency_p50_ms", E2e.median(p50));
                        json.put("latency_p99_ms", E2e.median(p99));
                        json.put("latency_max_ms", E2e.median(max));
                    }
                    json.put("backend", backend);
                    if (!peerFlowing.isEmpty()) {
                        double ours = E2e.median(flowing);
                        double theirs = E2e.median(peerFlowing);
                        json.put("peer", "python confluent-kafka + ujson + torch oneDNN, one batch per poll of 500");
                        json.put("peer_vectors_per_s", E2e.round(E2e.median(peerTotal), 0));
                        json.put("peer_vectors_per_s_flowing", E2e.round(theirs, 0));
                        json.put("ratio_flowing_vs_peer", E2e.round(ours / theirs, 2));
                        json.put("codes_equal_to_peer", agree);
                    }
                    json.put("load_1m", loads);
                    E2e.print(json);
                }
            }
        } finally {
            ChildBroker.deleteTree(work);
        }
        return 0;
    }

    /**
     * One unmeasured run of the same job on a topic of its own ({@code --warmup-vectors} vectors),
     * so that the measured runs meet compiled code, as a job that has been running for a while
     * does. Its rate is printed, as the JVM's first job, and left out of every median.
     */
    private void warmUpJob(Path work, String bs, KafkaIo.Vectors vectors, Path npy, String scope, String format, int dim, int k, String backend, long seed,
                           String cpInterval, int p, String delivery) throws Exception {
        String input = "vectors-warm-up";
        String out = "codes-warm-up";
        KafkaIo.createTopic(bs, input, p, false);
        KafkaIo.prefill(bs, input, warmupVectors, vectors);
        KafkaIo.createTopic(bs, out, p, true);
        boolean eo = delivery.equals("exactly-once");
        Path cfg = work.resolve("quantize-warm-up.yaml");
        Path checkpoints = eo ? work.resolve("checkpoints-warm-up") : null;
        try {
            writeJobConfig(cfg, 0, dim, k, backend, seed, cpInterval, scope, format, npy);
            List<String> args = quantizeArgs(cfg, bs, input, out, "dead-letters-warm-up", p, checkpoints);
            try (KafkaIo.Counter counter = new KafkaIo.Counter(bs, out, eo);
                 CliJob job = CliJob.start(args.toArray(String[]::new))) {
                job.client(180);
                if (counter.awaitCount(warmupVectors, Duration.ofSeconds(timeout)) < 0) {
                    throw new IllegalStateException("the warm-up job wrote only " + counter.count() + " of " + warmupVectors + " codes");
                }
                double span = (counter.maxTimestamp() - counter.minTimestamp()) / 1000.0;
                System.err.printf("kafka-quantize warm-up job (the JVM's first job, not counted): %d vectors, %.0f/s while flowing%n",
                        warmupVectors, warmupVectors / span);
            }
        } finally {
            Files.deleteIfExists(cfg);
            if (checkpoints != null) {
                ChildBroker.deleteTree(checkpoints);
            }
        }
    }

    /** The job's YAML for run {@code run} (0: the warm-up job), written to {@code cfg}. */
    private void writeJobConfig(Path cfg, int run, int dim, int k, String backend, long seed, String cpInterval, String scope, String format,
                                Path npy) throws java.io.IOException {
        Files.writeString(cfg, config(dim, k, learn, batch, maxDelay.text(), backend, seed, run, cpInterval, kafkaProperties)
                + "codebook:\n  scope: " + scope + "\n" + (npy != null ? "  file: " + npy + "\n" : "")
                + (learn ? "  publish-every: " + publishEvery + "\n" : "")
                + "input:\n  format: " + format + "\noutput:\n  format: " + format + "\n");
    }

    /** The quantize command's arguments; exactly-once when {@code checkpoints} is not null. */
    private static List<String> quantizeArgs(Path cfg, String bs, String input, String out, String deadLetters, int p, Path checkpoints) {
        List<String> args = new ArrayList<>(List.of("quantize", "--config", cfg.toString(), "--bootstrap-servers", bs,
                "--input-topic", input, "--output-topic", out, "--dead-letter-topic", deadLetters,
                "--parallelism", Integer.toString(p)));
        if (checkpoints != null) {
            // without a checkpoint directory the checkpoints go to the JobManager's memory, capped at 5 MiB:
            // 1 000 keys of K=1024, D=128 hold ~1 GB, so every checkpoint (and then the job) would fail
            args.addAll(List.of("--exactly-once", "--checkpoint-dir", checkpoints.toString()));
        }
        return args;
    }

    /** {@code kafka.properties} as the lines of the YAML's {@code kafka} section. */
    static String kafkaPropertiesYaml(java.util.Map<String, String> props) {
        if (props.isEmpty()) {
            return "";
        }
        StringBuilder b = new StringBuilder("  properties:\n");
        props.forEach((k, v) -> b.append("    \"").append(k).append("\": \"").append(v).append("\"\n"));
        return b.toString();
    }

    static String config(int dim, int k, boolean learn, int batch, String maxDelay, String backend, long seed, int run, String cpInterval,
                         java.util.Map<String, String> kafkaProperties) {
        return "quantizer:\n"
                + "  type: VectorQuantize\n"
                + "  dim: " + dim + "\n"
                + "  codebook_size: " + k + "\n"
                + "learn: " + learn + "\n"
                + "seed: " + seed + "\n"
                + "backend: " + backend + "\n"
                + "batch:\n"
                + "  size: " + batch + "\n"
                + "  max-delay: " + maxDelay + "\n"
                + "kafka:\n"
                + "  group-id: bench-" + run + "\n"
                + "  transactional-id-prefix: bench-" + run + "\n"
                + kafkaPropertiesYaml(kafkaProperties)
                + "job:\n"
                + "  name: bench-kafka-quantize-" + run + "\n"
                + (cpInterval != null ? "  checkpoint-interval: " + cpInterval + "\n" : "");
    }
}
