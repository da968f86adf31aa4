package io.vqstream.operators;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vqstream.core.quantize.EmaStatistics;
import io.vqstream.core.quantize.ForwardOptions;
import io.vqstream.core.quantize.Mode;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Tensor;
import io.vqstream.operators.PipelineTestSupport.CollectSink;
import io.vqstream.operators.PipelineTestSupport.Collected;
import io.vqstream.operators.record.CodeRecord;
import io.vqstream.operators.record.CodebookSnapshot;
import io.vqstream.operators.record.ControlMessage;
import io.vqstream.operators.record.VectorRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code codebook.scope: shared} on a mini-cluster: one codebook for every key and subtask, order
 * per key, a control swap seen by every subtask, one EMA step per round over the statistics of all
 * subtasks, restore without double counting, and bit-identity with a single-key scope at p=1.
 */
class SharedScopeITCase {
    @RegisterExtension
    static final MiniClusterExtension CLUSTER = OperatorTestSupport.miniCluster(4);

    static final int DIM = PipelineTestSupport.DIM;
    static final Map<String, Object> VQ = Map.of("dim", DIM, "codebook_size", 32, "decay", 0.8);

    static QuantizeOperatorConfig.Builder frozen() {
        return QuantizeOperatorConfig.builder("VectorQuantize", VQ).scope(CodebookScope.SHARED).source(CodebookSource.INIT).seed(3)
                .batchSize(16).maxDelay(Duration.ofMillis(20));
    }

    /** Learning, batches closed by size only, rounds that wait for every subtask's full batch. */
    static QuantizeOperatorConfig learning(CodebookScope scope, Map<String, Object> args) {
        return QuantizeOperatorConfig.builder("VectorQuantize", args).scope(scope).source(CodebookSource.INIT).seed(3).learn(true)
                .batchSize(16).maxDelay(Duration.ZERO).publishEvery(1).roundTimeout(Duration.ofSeconds(30)).build();
    }

    // ------------------------------------------------------------------ plumbing

    /** Code records per run and subtask, in the order the sink saw them. */
    static final Map<String, Map<Integer, List<CodeRecord>>> ARRIVALS = new ConcurrentHashMap<>();

    static final class ArrivalSink implements Sink<CodeRecord> {
        private final String run;

        ArrivalSink(String run) {
            this.run = run;
        }

        @Override
        public SinkWriter<CodeRecord> createWriter(WriterInitContext context) {
            List<CodeRecord> mine = Collections.synchronizedList(new ArrayList<>());
            ARRIVALS.computeIfAbsent(run, k -> new ConcurrentHashMap<>()).put(context.getTaskInfo().getIndexOfThisSubtask(), mine);
            return new SinkWriter<>() {
                @Override
                public void write(CodeRecord element, Context ctx) {
                    mine.add(element);
                }

                @Override
                public void flush(boolean endOfInput) {}

                @Override
                public void close() {}
            };
        }
    }

    static DataStream<VectorRecord> vectors(StreamExecutionEnvironment env, GeneratorFunction<Long, VectorRecord> gen, long count,
                                            RateLimiterStrategy rate, int parallelism) {
        return env.fromSource(new DataGeneratorSource<>(gen, count, rate, VectorRecord.typeInfo()), WatermarkStrategy.noWatermarks(), "vectors")
                .uid("vectors").setParallelism(parallelism);
    }

    /** Record i of a single key named like the shared scope: the key scope's one key and the shared scope see the same stream. */
    static final class OneKey implements GeneratorFunction<Long, VectorRecord> {
        private final PipelineTestSupport.Vectors inner = new PipelineTestSupport.Vectors(1);

        @Override
        public VectorRecord map(Long i) {
            VectorRecord r = inner.map(i);
            return new VectorRecord(SharedScope.SCOPE_KEY, i, i, r.vector());
        }
    }

    static long[] nearest(Quantizer q, Params p, float[] v) {
        return q.forwardTokens(p, new Tensor(v.clone(), 1, 1, v.length), ForwardOptions.eval()).indices().data();
    }

    static Collected collect(String run, VqStreams.Quantized q) {
        q.codes().sinkTo(new CollectSink<>(run)).uid("codes-sink");
        q.codebooks().sinkTo(new CollectSink<>(run)).uid("codebooks-sink");
        q.deadLetters().sinkTo(new CollectSink<>(run)).uid("dead-sink");
        return PipelineTestSupport.run(run);
    }

    // ------------------------------------------------------------------ frozen

    @Test
    void oneCodebookServesEveryKeyOnEverySubtaskAndKeepsEachKeysOrder() throws Exception {
        String run = "shared-frozen";
        int keys = 50;
        long count = 2000;
        QuantizeOperatorConfig config = frozen().build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        // the generator hands out one split per subtask on request: unthrottled, a fast first reader
        // can take both splits before the second reader asks, and subtask 1 would code nothing.
        // At 500 records/s per reader each split lasts 2 s, far longer than a reader's start.
        VqStreams.Quantized q = VqStreams.quantize(vectors(env, new PipelineTestSupport.Vectors(keys), count, RateLimiterStrategy.perSecond(1000), 2),
                null, config, "vq-quantize");
        q.codes().sinkTo(new ArrivalSink(run)).uid("arrivals");
        Collected got = collect(run, q);
        env.execute(run);

        Quantizer quantizer = config.createQuantizer();
        Params scope = SharedScope.initialCodebook(config, quantizer).params();
        assertEquals(count, got.codes.size(), "every record coded once");
        assertEquals(List.of(), got.deadLetters);
        PipelineTestSupport.Vectors gen = new PipelineTestSupport.Vectors(keys);
        for (long i = 0; i < count; i++) {
            VectorRecord r = gen.map(i);
            CodeRecord c = got.codes.get(r.key() + "/" + r.seq());
            // a key scope would give each key its own seeded codebook: these codes come from the one scope codebook
            assertArrayEquals(nearest(quantizer, scope, r.vector()), c.codes(), "code of " + r.key() + "/" + r.seq());
            assertEquals(1, c.codebookVersion());
            assertEquals(i, c.eventTime());
        }
        Map<Integer, List<CodeRecord>> arrivals = ARRIVALS.get(run);
        assertEquals(2, arrivals.size(), "both subtasks coded records");
        for (Map.Entry<Integer, List<CodeRecord>> e : arrivals.entrySet()) {
            assertTrue(e.getValue().size() > 0, "subtask " + e.getKey() + " coded records");
            Map<String, Long> lastSeq = new TreeMap<>();
            for (CodeRecord c : e.getValue()) {
                Long before = lastSeq.put(c.key(), c.seq());
                assertTrue(before == null || before < c.seq(), "order of key " + c.key() + " on subtask " + e.getKey());
            }
        }
        assertEquals(1, got.snapshots.size(), "subtask 0 published the scope's codebook once: " + got.snapshots.keySet());
        CodebookSnapshot s = got.snapshots.values().iterator().next();
        assertEquals(SharedScope.SCOPE_KEY, s.key());
        assertTrue(s.params().bitEquals(scope));
    }

    @Test
    void topkCandidatesComeWithSharedCodes() throws Exception {
        String run = "shared-topk";
        long count = 300;
        QuantizeOperatorConfig config = frozen().topk(3).build();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(1);
        Collected got = collect(run, VqStreams.quantize(vectors(env, new PipelineTestSupport.Vectors(9), count, RateLimiterStrategy.noOp(), 1),
                null, config, "vq-quantize"));
        env.execute(run);

        Params scope = SharedScope.initialCodebook(config, config.createQuantizer()).params();
        float[] e = scope.get("_codebook.embed").data();
        assertEquals(count, got.codes.size());
        PipelineTestSupport.Vectors gen = new PipelineTestSupport.Vectors(9);
        for (long i = 0; i < count; i++) {
            VectorRecord r = gen.map(i);
            CodeRecord c = got.codes.get(r.key() + "/" + r.seq());
            assertEquals(3, c.topkCodes().length, "output.topk reaches the shared scope's code records");
            assertEquals(c.codes()[0], c.topkCodes()[0], "the nearest candidate is the code");
            for (int j = 0; j < 3; j++) {
                int code = (int) c.topkCodes()[j];
                double s = 0;
                for (int d = 0; d < DIM; d++) {
                    double diff = (double) r.vector()[d] - e[code * DIM + d];
                    s += diff * diff;
                }
                assertEquals(Math.sqrt(s), c.topkDistances()[j], 1e-5 * Math.sqrt(s) + 1e-6);
                assertTrue(j == 0 || c.topkDistances()[j] >= c.topkDistances()[j - 1], "ascending");
            }
        }
    }

    /** The control stream installs codebook B for all keys while both subtasks are coding. */
    static final class InstallOnce implements GeneratorFunction<Long, ControlMessage> {
        private final byte[] params;

        InstallOnce(Params params) {
            this.params = io.vqstream.operators.SharedCodebook.paramsBytes(params);
        }

        @Override
        public ControlMessage map(Long i) {
            return ControlMessage.install(null, io.vqstream.operators.SharedCodebook.paramsFromBytes(params));
        }
    }

    @Test
    void aControlSwapReachesEverySubtask() throws Exception {
        String run = "shared-swap";
        int keys = 20;
        long count = 3000;
        QuantizeOperatorConfig config = frozen().build();
        Quantizer quantizer = config.createQuantizer();
        Params a = SharedScope.initialCodebook(config, quantizer).params();
        Params b = quantizer.initParams(99);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        // about 1.5 s of data per subtask; the install comes at the start
        DataStream<VectorRecord> in = vectors(env, new PipelineTestSupport.Vectors(keys), count, RateLimiterStrategy.perSecond(1000), 2);
        DataStream<ControlMessage> control = env.fromSource(new DataGeneratorSource<>(new InstallOnce(b), 1, ControlMessage.typeInfo()),
                WatermarkStrategy.noWatermarks(), "control").uid("control").setParallelism(1);
        VqStreams.Quantized q = VqStreams.quantize(in, control, config, "vq-quantize");
        q.codes().sinkTo(new ArrivalSink(run)).uid("arrivals");
        Collected got = collect(run, q);
        env.execute(run);

        assertEquals(count, got.codes.size());
        PipelineTestSupport.Vectors gen = new PipelineTestSupport.Vectors(keys);
        for (long i = 0; i < count; i++) {
            VectorRecord r = gen.map(i);
            CodeRecord c = got.codes.get(r.key() + "/" + r.seq());
            Params used = c.codebookVersion() == 1 ? a : b;
            assertTrue(c.codebookVersion() == 1 || c.codebookVersion() == 2, "version " + c.codebookVersion());
            assertArrayEquals(nearest(quantizer, used, r.vector()), c.codes(), "code of record " + i + " names its version");
        }
        for (Map.Entry<Integer, List<CodeRecord>> e : ARRIVALS.get(run).entrySet()) {
            List<CodeRecord> l = e.getValue();
            long v = 0;
            for (CodeRecord c : l) {
                assertTrue(c.codebookVersion() >= v, "versions never go back on subtask " + e.getKey());
                v = c.codebookVersion();
            }
            assertEquals(2, v, "subtask " + e.getKey() + " saw the install");
        }
        assertEquals(2, got.finalCodebooks().get(SharedScope.SCOPE_KEY).version());
        assertTrue(got.finalCodebooks().get(SharedScope.SCOPE_KEY).params().bitEquals(
                io.vqstream.core.io.QuantizerFiles.complete(quantizer, b, "test", "")));
    }

    // ------------------------------------------------------------------ learning

    static Collected runLearning(String run, CodebookScope scope, Map<String, Object> args, GeneratorFunction<Long, VectorRecord> gen,
                                 long count, int parallelism, Long failAt) throws Exception {
        Configuration conf = new Configuration();
        RateLimiterStrategy rate = RateLimiterStrategy.noOp();
        if (failAt != null) {
            conf.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(100));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
            conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
            rate = RateLimiterStrategy.perCheckpoint(64);
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        env.setMaxParallelism(128);
        DataStream<VectorRecord> in = vectors(env, gen, count, rate, parallelism);
        if (failAt != null) {
            in = in.map(new PipelineTestSupport.FailOnce(run, failAt), VectorRecord.typeInfo()).uid("fail-once");
        }
        Collected got = collect(run, VqStreams.quantize(in, null, learning(scope, args), "vq-quantize"));
        env.execute(run);
        assertEquals(List.of(), got.conflicts, run + ": replayed outputs differ");
        assertEquals(List.of(), got.deadLetters, run);
        assertEquals(count, got.codes.size(), run + ": every record coded");
        return got;
    }

    static final Map<String, Object> DEAD_CODES = Map.of("dim", DIM, "codebook_size", 32, "decay", 0.8, "threshold_ema_dead_code", 1.5);

    @Test
    void learningAtParallelismOneIsBitIdenticalToASingleKeyScope() throws Exception {
        long count = 16 * 12 + 5;   // a partial batch at the end of input, too
        Collected key = runLearning("bit-key", CodebookScope.KEY, DEAD_CODES, new OneKey(), count, 1, null);
        Collected shared = runLearning("bit-shared", CodebookScope.SHARED, DEAD_CODES, new OneKey(), count, 1, null);
        PipelineTestSupport.assertSameResults(key, shared, "shared scope at p=1");
        assertEquals(13, shared.finalCodebooks().get(SharedScope.SCOPE_KEY).step(), "one step per batch");
    }

    /**
     * A lone subtask closes its rounds itself; a failure and restore from a checkpoint neither
     * loses nor repeats a round's step (the coordinator's own checkpoint is older than the codebook).
     */
    @Test
    void learningAloneRestoresWithoutLosingOrRepeatingAStep() throws Exception {
        long count = 16 * 40;
        Collected clean = runLearning("p1-clean", CodebookScope.SHARED, DEAD_CODES, new OneKey(), count, 1, null);
        Collected failed = runLearning("p1-failure", CodebookScope.SHARED, DEAD_CODES, new OneKey(), count, 1, 300L);
        assertEquals(1, PipelineTestSupport.FAILURES.get("p1-failure").get(), "the failure was injected");
        assertTrue(PipelineTestSupport.FIRST_AFTER_RESTART.get("p1-failure").get() > 0, "restored from a checkpoint");
        PipelineTestSupport.assertSameResults(clean, failed, "shared learning at p=1 with a failure");
        assertEquals(40, failed.finalCodebooks().get(SharedScope.SCOPE_KEY).step(), "one step per batch");
    }

    /**
     * With rounds that wait for both subtasks' full batches, round r is batch r of each half of the
     * input: the expected codebook is one EMA step per round over both halves' statistics.
     */
    static Params expectedTwoSubtaskCodebook(QuantizeOperatorConfig config, long count, int rounds) {
        Quantizer q = config.createQuantizer();
        Params p = SharedScope.initialCodebook(config, q).params().copy();
        PipelineTestSupport.Vectors gen = new PipelineTestSupport.Vectors(7);
        long half = count / 2;
        for (int r = 0; r < rounds; r++) {
            List<EmaStatistics> parts = new ArrayList<>();
            for (long start : new long[] {0, half}) {
                float[] x = new float[16 * DIM];
                for (int i = 0; i < 16; i++) {
                    System.arraycopy(gen.map(start + r * 16L + i).vector(), 0, x, i * DIM, DIM);
                }
                EmaStatistics s = new EmaStatistics();
                q.forwardTokens(p, new Tensor(x, 16, 1, DIM), ForwardOptions.builder().mode(Mode.TRAIN).emaStatistics(s).build());
                parts.add(s);
            }
            EmaStatistics.combine(parts).applyTo(q, p, SharedScope.random(config, r));
        }
        return p;
    }

    @Test
    void learningCombinesEverySubtaskInOneStepAndRestoresWithoutDoubleCounting() throws Exception {
        long count = 2 * 16 * 20;
        Map<String, Object> args = Map.of("dim", DIM, "codebook_size", 32, "decay", 0.8);
        Params expected = expectedTwoSubtaskCodebook(learning(CodebookScope.SHARED, args), count, 20);

        Collected clean = runLearning("p2-clean", CodebookScope.SHARED, args, new PipelineTestSupport.Vectors(7), count, 2, null);
        CodebookSnapshot last = clean.finalCodebooks().get(SharedScope.SCOPE_KEY);
        assertEquals(20, last.step(), "one step per round of two batches, not one per batch");
        assertTrue(last.params().bitEquals(expected), "the codebook is the rounds' combined steps");

        Collected failed = runLearning("p2-failure", CodebookScope.SHARED, args, new PipelineTestSupport.Vectors(7), count, 2, 400L);
        assertEquals(1, PipelineTestSupport.FAILURES.get("p2-failure").get(), "the failure was injected");
        assertTrue(PipelineTestSupport.FIRST_AFTER_RESTART.get("p2-failure").get() > 0, "restored from a checkpoint");
        PipelineTestSupport.assertSameResults(clean, failed, "shared learning with a failure");
    }
}
