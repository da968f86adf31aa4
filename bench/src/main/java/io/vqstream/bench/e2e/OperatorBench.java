package io.vqstream.bench.e2e;

import io.vqstream.operators.CodebookSource;
import io.vqstream.operators.CodebookScope;
import io.vqstream.operators.QuantizeOperatorConfig;
import io.vqstream.operators.VqStreams;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code bench operator}: records/s through the keyed quantize operator
 * ({@link VqStreams#quantize}) on Flink's local mini-cluster. A rate-unlimited
 * {@link DataGeneratorSource} (fixed seed) sends {@code --keys} keys round-robin; a counting sink
 * after the operator notes when the last code arrives. The rate is records ÷ (last code at the
 * sink − first record generated), so JVM start, cluster start and job deployment are not in it;
 * key initialisation (one codebook per key from the quantizer's init) is, as in any fresh job.
 * One job per repetition; one JSON line per configuration with the median and every repetition.
 * A warm-up job (not reported) runs first, so that the first configuration does not pay for the JIT.
 */
@Command(name = "operator", mixinStandardHelpOptions = true, sortOptions = false, footer = E2eOptions.FOOTER,
        description = "Records/s through the keyed quantize operator on a mini-cluster, one JSON line per configuration (bench/README.md).")
public final class OperatorBench extends E2eOptions.Op {
    @Mixin
    E2eOptions.Shape shape;

    @Mixin
    E2eOptions.Quantizer quantizer;

    @Option(names = "--learn", paramLabel = "true|false", split = ",", arity = "1", defaultValue = "false,true",
            description = "Frozen (false) and/or learning (true) runs (default ${DEFAULT-VALUE}).")
    List<Boolean> learn;

    @Option(names = "--batch", split = ",", paramLabel = "N", defaultValue = "1,16,256", description = "Batch sizes (default ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Option(names = "--parallelism", split = ",", paramLabel = "P", defaultValue = "1,2", description = "Parallelisms (default ${DEFAULT-VALUE}).")
    List<Integer> parallelisms;

    @Option(names = "--records", paramLabel = "N", description = "Records per run (default: batch 1: max(200_000, 4 × keys), else max(400_000, 4 × batch × keys)).")
    Long records;

    @Option(names = "--reps", paramLabel = "R", defaultValue = "3", description = "Runs per configuration; the median is reported (default ${DEFAULT-VALUE}).")
    int reps;

    @Mixin
    E2eOptions.Job job;

    @Option(names = "--publish-every", paramLabel = "STEPS", defaultValue = "1", description = "Codebook snapshot every N learning steps, 0 for none (default ${DEFAULT-VALUE}).")
    int publishEvery;

    @Option(names = "--codebook-sink", paramLabel = "true|false", arity = "0..1", fallbackValue = "true", defaultValue = "false",
            description = "true: a discarding sink reads the codebooks stream, so the operator makes its snapshots (a job with a codebook"
                    + " topic or --codebooks-out); false: nothing reads it and the operator makes none (a job without) (default ${DEFAULT-VALUE}).")
    boolean codebookSink;

    @Option(names = "--warmup-records", paramLabel = "N", defaultValue = "100_000", description = "Records of the warm-up job per learn mode, 0 for none (default ${DEFAULT-VALUE}).")
    long warmupRecords;

    @Option(names = "--scope", paramLabel = "key|shared", defaultValue = "key", description = "Codebook scope: key or shared (default ${DEFAULT-VALUE}).")
    CodebookScope scope;

    /** Distinct vectors the generator cycles through (4 MiB at D=128): generation stays out of the measurement. */
    static final int POOL = 8192;

    static final AtomicLong FIRST = new AtomicLong(Long.MAX_VALUE);
    static final AtomicLong LAST = new AtomicLong(Long.MIN_VALUE);
    static final AtomicLong COUNT = new AtomicLong();
    /** When the sinks together had seen half of the records (the second half runs on initialised keys). */
    static final AtomicLong HALF = new AtomicLong(Long.MAX_VALUE);
    static volatile long halfMark;
    static final AtomicLong SEEN = new AtomicLong();

    @Override
    int run() throws Exception {
        int keys = shape.keys;
        int dim = shape.dim;
        String type = quantizer.type;
        Integer quantizers = quantizer.quantizers;
        int k = shape.codebookSize;
        Map<String, Object> args = new LinkedHashMap<>();
        args.put("dim", dim);
        args.put("codebook_size", k);
        if (quantizers != null) {
            args.put("num_quantizers", quantizers);
        }
        List<Boolean> learns = learn;
        List<Integer> pars = parallelisms;
        String backend = job.backend;
        long seed = job.seed;

        // warm-up: compiles the operator, the serializers and the kernels of both paths
        long warm = warmupRecords;
        if (warm > 0) {
            for (boolean l : learns) {
                long t0 = System.nanoTime();
                Run r = runOnce(type, args, l, 16, keys, pars.get(0), warm, backend, seed, publishEvery, scope, codebookSink);
                System.err.printf("warm-up (learn=%s, batch 16, %d records): %.0f records/s, job %.1f s%n", l, warm, r.recordsPerSecond(),
                        (System.nanoTime() - t0) / 1e9);
            }
        }
        for (int p : pars) {
            for (boolean l : learns) {
                for (int b : batches) {
                    long records = this.records != null ? this.records : defaultRecords(b, keys);
                    List<Double> rates = new ArrayList<>();
                    List<Double> secondHalf = new ArrayList<>();
                    List<Double> jobs = new ArrayList<>();
                    List<Double> loads = new ArrayList<>();
                    for (int rep = 0; rep < reps; rep++) {
                        loads.add(E2e.loadAverage());
                        long t0 = System.nanoTime();
                        Run r = runOnce(type, args, l, b, keys, p, records, backend, seed, publishEvery, scope, codebookSink);
                        jobs.add((System.nanoTime() - t0) / 1e9);
                        rates.add(r.recordsPerSecond());
                        secondHalf.add(r.secondHalfPerSecond());
                        System.err.printf("operator " + scope.configName() + " %s learn=%s batch=%d p=%d rep %d: %.0f records/s (%.2f s first-to-last), second half %.0f"
                                        + " records/s, job %.1f s%n",
                                type, l, b, p, rep + 1, r.recordsPerSecond(), r.seconds(), r.secondHalfPerSecond(), jobs.get(jobs.size() - 1));
                    }
                    Map<String, Object> json = new LinkedHashMap<>();
                    json.put("op", "operator");
                    json.put("quantizer", type);
                    json.put("dim", dim);
                    json.put("codebook_size", k);
                    json.put("learn", l);
                    json.put("scope", scope.configName());
                    json.put("batch", b);
                    json.put("keys", keys);
                    json.put("parallelism", p);
                    json.put("records", records);
                    json.put("records_per_s", E2e.round(E2e.median(rates), 0));
                    json.put("runs_records_per_s", rates.stream().map(x -> E2e.round(x, 0)).toList());
                    json.put("records_per_s_second_half", E2e.round(E2e.median(secondHalf), 0));
                    json.put("job_s_median", E2e.round(E2e.median(jobs), 2));
                    json.put("backend", backend);
                    json.put("publish_every", publishEvery);
                    json.put("codebook_sink", codebookSink);
                    json.put("load_1m", loads);
                    E2e.print(json);
                }
            }
        }
        return 0;
    }

    /**
     * At least four micro-batches per key, and 400 000 records (200 000 at batch 1, where learning
     * makes one EMA step per record): 10 s or more per run on this project's machine.
     */
    static long defaultRecords(int batch, int keys) {
        return batch == 1 ? Math.max(200_000L, 4L * keys) : Math.max(400_000L, 4L * batch * keys);
    }

    record Run(long records, long firstNanos, long lastNanos, long halfNanos) {
        double seconds() {
            return (lastNanos - firstNanos) / 1e9;
        }

        /** Records after the half-way mark at the sinks over the time they took: every key initialised by then. */
        double secondHalfPerSecond() {
            return (records - records / 2) / ((lastNanos - halfNanos) / 1e9);
        }

        double recordsPerSecond() {
            return records / seconds();
        }
    }

    static Run runOnce(String type, Map<String, Object> args, boolean learn, int batch, int keys, int parallelism, long records,
                       String backend, long seed, int publishEvery, CodebookScope scope, boolean codebookSink) throws Exception {
        FIRST.set(Long.MAX_VALUE);
        LAST.set(Long.MIN_VALUE);
        COUNT.set(0);
        SEEN.set(0);
        HALF.set(Long.MAX_VALUE);
        halfMark = records / 2;
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "hashmap");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(io.vqstream.jobs.EmbeddedTempDir.applyTo(conf));
        env.setParallelism(parallelism);
        int dim = (Integer) args.get("dim");
        DataGeneratorSource<VectorRecord> source = new DataGeneratorSource<>(new Generator(keys, dim, seed), records, VectorRecord.typeInfo());
        QuantizeOperatorConfig config = QuantizeOperatorConfig.builder(type, args).learn(learn).batchSize(batch).maxDelay(Duration.ZERO)
                .source(CodebookSource.INIT).backend(backend).seed(seed).publishEvery(publishEvery).scope(scope)
                .codebookSnapshots(codebookSink).build();
        VqStreams.Quantized q = VqStreams.quantize(env.fromSource(source, WatermarkStrategy.noWatermarks(), "vectors"), null, config,
                "vq-quantize");
        q.codes().sinkTo(new CountingSink()).name("count");
        if (codebookSink) {
            q.codebooks().sinkTo(new org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink<>()).name("codebooks");
        }
        env.execute("bench operator " + type + " learn=" + learn + " batch=" + batch + " p=" + parallelism);
        if (COUNT.get() != records) {
            throw new IllegalStateException("expected " + records + " codes at the sink, counted " + COUNT.get());
        }
        return new Run(records, FIRST.get(), LAST.get(), HALF.get());
    }

    /** Record i: key {@code key-(i mod keys)}, a vector from a fixed pool of Gaussian vectors. */
    static final class Generator implements GeneratorFunction<Long, VectorRecord> {
        private static final long serialVersionUID = 1L;
        private final int keys;
        private final int dim;
        private final long seed;
        private transient float[][] pool;
        private transient String[] keyNames;
        private transient boolean started;

        Generator(int keys, int dim, long seed) {
            this.keys = keys;
            this.dim = dim;
            this.seed = seed;
        }

        @Override
        public void open(SourceReaderContext readerContext) {
            pool = gaussianPool(seed, POOL, dim);
            keyNames = new String[keys];
            for (int i = 0; i < keys; i++) {
                keyNames[i] = "key-" + i;
            }
        }

        @Override
        public VectorRecord map(Long index) {
            if (!started) {
                started = true;
                FIRST.accumulateAndGet(System.nanoTime(), Math::min);
            }
            long i = index;
            int slot = (int) Long.remainderUnsigned(i * 0x9E3779B97F4A7C15L, POOL);
            return new VectorRecord(keyNames[(int) (i % keys)], i / keys, 0L, pool[slot].clone());
        }
    }

    static float[][] gaussianPool(long seed, int n, int dim) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[][] pool = new float[n][dim];
        for (float[] v : pool) {
            for (int d = 0; d < dim; d++) {
                v[d] = (float) rng.nextGaussian();
            }
        }
        return pool;
    }

    /** Counts codes and notes when the last one arrived (all writers of a job share the counters). */
    static final class CountingSink implements Sink<CodeRecord> {
        private static final long serialVersionUID = 1L;

        @Override
        public SinkWriter<CodeRecord> createWriter(WriterInitContext context) {
            return new SinkWriter<>() {
                private long count;
                private long last = Long.MIN_VALUE;

                private long unpublished;

                @Override
                public void write(CodeRecord element, Context context) {
                    count++;
                    last = System.nanoTime();
                    // the shared count in steps of 64, to keep the writers off one cache line
                    if (++unpublished == 64) {
                        if (SEEN.addAndGet(unpublished) >= halfMark) {
                            HALF.accumulateAndGet(last, Math::min);
                        }
                        unpublished = 0;
                    }
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {
                    if (unpublished > 0 && SEEN.addAndGet(unpublished) >= halfMark) {
                        HALF.accumulateAndGet(last, Math::min);
                    }
                    COUNT.addAndGet(count);
                    LAST.accumulateAndGet(last, Math::max);
                }
            };
        }
    }
}
